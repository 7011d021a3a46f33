"""A kept-alive poller's repeated request (``gateway/rest_repeat.py``): answered without its
head parsed or routed, and byte for byte as routing answers it. Two servers on the same
manual clock and seed hold the same market: one is asked over one kept-alive connection
(the repeats), the other over a new connection per request (routed every time), and every
answer is compared whole, headers and weight included, through 200s, a refusal of the
parameters, 429s and the ban's 418s."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from conftest import StartServer
from picows import WSUpgradeResponseWithListener
from rawws import read_answer
from timing import SECONDS, eventually

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock
from tickerplant.gateway.front_door import FrontDoor
from tickerplant.gateway.http_head import http_date
from tickerplant.gateway.picows_server import LaterRoute, PartsResponse, plain_answer
from tickerplant.gateway.responses import rest_parts, rest_response
from tickerplant.gateway.rest_repeat import RestCall
from tickerplant.gateway.traffic import Traffic
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.plant.view import MarketView
from tickerplant.protocol.market_data import MarketData, Method
from tickerplant.protocol.request_weight import RequestWeight
from tickerplant.protocol.rest import RestAnswer, RestApi

T0 = 1_767_225_600_000
STILL = {"actions_per_s": 1e-9, "seed": 5}  # a market that does not move (nor its clock)

POLLS = [
    b"/fapi/v1/ticker/price?symbol=BTCUSDT",
    b"/fapi/v1/ticker/price",  # every symbol: no prepared answer, asked each time
    b"/fapi/v1/depth?symbol=BTCUSDT&limit=5",
    b"/fapi/v1/ticker/bookTicker?symbol=ETHUSDT",
    b"/fapi/v1/premiumIndex?symbol=BTCUSDT",
    b"/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=3",
    b"/fapi/v1/depth?symbol=NOPE",  # refused (-1121): routed each time, its weight charged each time
    b"/fapi/v1/depth?symbol=BTCUSDT&symbol=ETHUSDT",  # a repeated name (-1101): the same
    b"/fapi/v1/exchangeInfo",  # an answer too large to go whole with its head
]


def request(target: bytes) -> bytes:
    return b"GET %b HTTP/1.1\r\nHost: x\r\n\r\n" % target


@pytest.fixture
def repeats(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the requests answered by ``RestCall.again``: the test fails if none were."""
    counted = [0]
    again = RestCall.again

    def counting(self: RestCall, ip: str, started_ns: int) -> Any:
        counted[0] += 1
        return again(self, ip, started_ns)

    monkeypatch.setattr(RestCall, "again", counting)
    return counted


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The bytes the front doors have read so far: a test that wants a chunk read on its
    own waits until the server has read what came before it, then sends it."""
    read = [0]
    data_received = FrontDoor.data_received

    def counting(self: FrontDoor, data: bytes) -> None:
        read[0] += len(data)
        data_received(self, data)

    monkeypatch.setattr(FrontDoor, "data_received", counting)
    return read


async def each_its_own_read(writer: asyncio.StreamWriter, reads: list[int], *chunks: bytes) -> None:
    """Send ``chunks``, each once the server has read all before it: one read each."""
    for chunk in chunks:
        sent = reads[0] + len(chunk)
        writer.write(chunk)
        await eventually(lambda sent=sent: reads[0] >= sent)  # type: ignore[misc]


async def two_servers(start_server: StartServer, **config: Any) -> tuple[Tickerplant, Tickerplant]:
    clock = ManualClock()
    # (a turn's REST budget past any answer here: none waits in line, where it is routed)
    kept = await start_server(clock=clock, simulator=STILL, rest_turn_ms=1000.0, **config)
    fresh = await start_server(clock=clock, simulator=STILL, rest_turn_ms=1000.0, **config)
    return kept, fresh


async def ask_fresh(plant: Tickerplant, raw: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", plant.listeners[Market.UM].port)
    writer.write(raw)
    answer = await read_answer(reader)
    writer.close()
    return answer


async def test_each_repeat_is_answered_as_a_routed_request_is(start_server: StartServer, repeats: list[int]) -> None:
    kept, fresh = await two_servers(start_server)
    for target in POLLS:
        reader, writer = await asyncio.open_connection("127.0.0.1", kept.listeners[Market.UM].port)
        for _ in range(4):
            writer.write(request(target))
            repeated = await read_answer(reader)
            assert repeated == await ask_fresh(fresh, request(target)), target
        writer.close()
    # each answered target's second to fourth (the two refused are routed each time), but
    # perhaps the klines' second: when their first answer is made in pieces (a cold past),
    # the request after it is routed
    assert repeats[0] >= 3 * (len(POLLS) - 2) - 1


async def test_a_repeat_answers_the_market_as_it_is_at_that_moment(
    start_server: StartServer, repeats: list[int]
) -> None:
    """The market moves between two polls: each repeat answers what a routed request asked
    at the same moment answers (its weight apart), never the last answer again."""
    clock = ManualClock()
    plant = await start_server(clock=clock)
    port = plant.listeners[Market.UM].port
    for target in (b"/fapi/v1/ticker/price?symbol=BTCUSDT", b"/fapi/v1/depth?symbol=BTCUSDT&limit=5"):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        bodies = []
        for _ in range(6):
            clock.advance(2_000)
            bodies.append(await _bracketed(plant, reader, writer, request(target)))
        assert len(set(bodies)) > 1, target  # it did move
        writer.close()
    assert repeats[0] >= 2 * 5  # (each connection's first request routed)


async def _bracketed(
    plant: Tickerplant, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
) -> bytes:
    """The repeat's body, asked between two new connections' (the simulator catches up with
    the clock meanwhile): once those two are the same, the market held still around the
    repeat, whose body must be theirs."""
    async with asyncio.timeout(5 * SECONDS):
        while True:
            before = (await ask_fresh(plant, raw)).split(b"\r\n\r\n", 1)[1]
            writer.write(raw)
            body = (await read_answer(reader)).split(b"\r\n\r\n", 1)[1]
            after = (await ask_fresh(plant, raw)).split(b"\r\n\r\n", 1)[1]
            if before == after:
                assert body == before, raw
                return body


async def test_the_weight_is_charged_and_refused_on_a_repeat_as_on_any_request(
    start_server: StartServer, repeats: list[int]
) -> None:
    """depth limit 5 weighs 2: five 200s within 10 a minute, then 429s, then the ban's 418s
    (``ban_after_refusals``: 3), each with its Retry-After, the same from both servers."""
    kept, fresh = await two_servers(start_server, request_weight_per_min=10)
    raw = request(b"/fapi/v1/depth?symbol=BTCUSDT&limit=5")
    reader, writer = await asyncio.open_connection("127.0.0.1", kept.listeners[Market.UM].port)
    statuses = []
    for _ in range(10):
        writer.write(raw)
        answer = await read_answer(reader)
        assert answer == await ask_fresh(fresh, raw)
        statuses.append(int(answer.split(b" ", 2)[1]))
    writer.close()
    assert statuses == [200] * 5 + [429] * 3 + [418] * 2
    assert repeats[0] == 9


async def test_only_a_whole_request_alone_in_a_read_is_a_repeat(
    start_server: StartServer, repeats: list[int], reads: list[int]
) -> None:
    """Two requests in one read, one request in two reads, another request between and
    ``Connection: close`` are read and routed as any request is; the repeat after them is
    the last request's."""
    plant = await start_server(clock=ManualClock())
    reader, writer = await asyncio.open_connection("127.0.0.1", plant.listeners[Market.UM].port)
    ping, time = request(b"/fapi/v1/ping"), request(b"/fapi/v1/time")

    async def answered(*writes: bytes, count: int = 1) -> list[bytes]:
        await each_its_own_read(writer, reads, *writes)
        return [(await read_answer(reader)).split(b"\r\n\r\n", 1)[1] for _ in range(count)]

    assert await answered(ping) == [b"{}"]
    assert await answered(ping + ping, count=2) == [b"{}", b"{}"]  # one read, two requests
    assert await answered(ping[:10], ping[10:]) == [b"{}"]  # one request, two reads
    assert repeats[0] == 0
    assert await answered(ping) == [b"{}"]
    assert repeats[0] == 1
    assert (await answered(time))[0].startswith(b'{"serverTime":')  # not the last request's answer
    assert (await answered(time))[0].startswith(b'{"serverTime":')
    assert repeats[0] == 2
    close = time.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
    assert (await answered(close))[0].startswith(b'{"serverTime":')
    writer.write(close)  # after the close: nothing more is read
    assert await reader.read() == b""
    assert repeats[0] == 2
    writer.close()


async def test_an_answer_made_in_pieces_on_a_repeat_is_made_in_turns(
    start_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``again`` may give a route to make in pieces (a cold past, ``protocol/later.py``):
    the front door makes it in turns as any such answer, then answers what follows."""
    plant = await start_server(clock=ManualClock())
    again = RestCall.again
    pieces = [0]

    def in_pieces(self: RestCall, ip: str, started_ns: int) -> Any:
        made = again(self, ip, started_ns)
        body = made if isinstance(made, bytes) else b"".join(made)  # type: ignore[arg-type]
        def step() -> bool:  # three pieces; made, it says so again (as RestLater.step)
            pieces[0] = min(pieces[0] + 1, 3)
            return pieces[0] == 3

        return LaterRoute(step, lambda: _routed(body))

    monkeypatch.setattr(RestCall, "again", in_pieces)
    reader, writer = await asyncio.open_connection("127.0.0.1", plant.listeners[Market.UM].port)
    target = request(b"/fapi/v1/ticker/price?symbol=BTCUSDT")
    writer.write(target)
    first = await read_answer(reader)
    writer.write(target)
    second = await read_answer(reader)
    assert pieces[0] == 3
    assert second.split(b"\r\n\r\n", 1)[1] == first.split(b"\r\n\r\n", 1)[1]
    assert b"X-MBX-USED-WEIGHT: 2\r\n" in second  # charged once, for the repeat
    writer.write(request(b"/fapi/v1/ping"))
    assert (await read_answer(reader)).endswith(b"\r\n\r\n{}")
    writer.close()


def _routed(whole: bytes) -> Any:
    """A routed answer whose bytes, as the front door writes them, are the answer's body
    and weight as ``again`` made them (its head made again by ``rest_response``)."""
    head, body = whole.split(b"\r\n\r\n", 1)
    used = int(head.split(b"X-MBX-USED-WEIGHT: ", 1)[1].split(b"\r\n", 1)[0])
    return rest_response(RestAnswer(200, (body,), used))


def test_a_call_with_an_api_key_check_is_never_repeated() -> None:
    """A keyed path's key is checked each time (``Listener.route``): its answer carries no
    ``again``, so the front door routes it every time; any other GET's carries its call."""
    instruments = catalogue(Market.UM, T0)
    rest = RestApi(Market.UM, MarketData(MarketView(Market.UM, instruments), cm_arrays=True), RequestWeight(), instruments)
    question = rest.question("/fapi/v1/ticker/price", "symbol=BTCUSDT")
    assert question is not None
    call = RestCall(rest, question, "/fapi/v1/ticker/price", Traffic(), ManualClock(T0))
    checked = call.routed("1.2.3.4", T0, T0 * 1_000_000, lambda: None)
    plain = call.routed("1.2.3.4", T0, T0 * 1_000_000, None)
    assert isinstance(checked, WSUpgradeResponseWithListener) and isinstance(plain, WSUpgradeResponseWithListener)
    assert cast(PartsResponse, checked.response).again is None
    assert cast(PartsResponse, plain.response).again is call


@pytest.mark.parametrize(
    "answer",
    [
        RestAnswer(200, (b'{"a":1}',), 3),
        RestAnswer(200, (b"x" * 5000,), 3),  # past JOINED_BELOW: the body apart
        RestAnswer(200, (b'{"lastUpdateId":1,', b'"bids":[],"asks":[]}'), 20),  # a depth answer's parts
        RestAnswer(400, (b'{"code":-1121,"msg":"Invalid symbol."}',), 2),
        RestAnswer(429, (b'{"code":-1003,"msg":"Too many requests"}',), 2401, 17),
        RestAnswer(200, (b"{}",), 1, None, b"X-MBX-ORDER-COUNT-10S: 1\r\n"),
    ],
)
@pytest.mark.parametrize("keep_alive", [True, False])
def test_rest_parts_are_the_bytes_of_the_routed_answer(answer: RestAnswer, keep_alive: bool) -> None:
    """``rest_parts`` (a repeat's bytes) writes what ``plain_answer`` writes of
    ``rest_response`` (a routed request's), for every kind of answer."""
    date = http_date(T0)
    routed = plain_answer(rest_response(answer), cast(Any, None), keep_alive, date)
    assert b"".join(rest_parts(answer, keep_alive, date)) == b"".join(routed)


async def test_a_get_with_a_body_is_never_answered_before_its_body(
    start_server: StartServer, repeats: list[int], reads: list[int]
) -> None:
    """A head that declares a body is not a repeat, though its bytes are the last head's:
    its body, read next, is the body, never a request of its own (smuggling), and a client
    that expects ``100 Continue`` gets it before the answer."""
    plant = await start_server(clock=ManualClock(), simulator=STILL)
    inner = request(b"/fapi/v1/time")
    head = b"GET /fapi/v1/ticker/price?symbol=BTCUSDT HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(inner)
    reader, writer = await asyncio.open_connection("127.0.0.1", plant.listeners[Market.UM].port)
    writer.write(head + inner)
    assert b'"symbol":"BTCUSDT"' in await read_answer(reader)
    for _ in range(2):
        await each_its_own_read(writer, reads, head, inner)  # the head alone, as the last one's was
        assert b'"symbol":"BTCUSDT"' in await read_answer(reader)
    writer.write(request(b"/fapi/v1/ping"))  # the next answer is this one's: nothing was smuggled
    assert (await read_answer(reader)).endswith(b"\r\n\r\n{}")
    continued = head.replace(b"\r\n\r\n", b"\r\nExpect: 100-continue\r\n\r\n")
    writer.write(continued + inner)
    await read_answer(reader)
    writer.write(continued)
    assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
    writer.write(inner)
    assert b'"symbol":"BTCUSDT"' in await read_answer(reader)
    writer.close()
    assert repeats[0] == 0


@pytest.mark.parametrize(
    ("first", "kept"),
    [
        (request(b"/fapi/v1/ticker/price?symbol=BTCUSDT"), True),
        (b"GET /fapi/v1/ping HTTP/1.1\r\nHost: x\r\nX-Pad: %b\r\n\r\n" % (b"p" * 1024), False),  # a long head
        (request(b"/fapi/v1/ping?" + b"&".join(b"p%d" % n for n in range(100))), False),  # a long query
        (request(b"/fapi/v1/ping").replace(b"\r\n\r\n", b"\r\nX-MBX-APIKEY: abc\r\n\r\n"), False),  # a key
        (request(b"/fapi/v1/depth?symbol=NOPE"), False),  # refused: a refused client keeps nothing
    ],
)
async def test_what_a_connection_keeps_to_answer_again_is_small(
    start_server: StartServer, repeats: list[int], first: bytes, kept: bool
) -> None:
    """A connection keeps its last request to answer it again only when that is small: a
    head of at most ``REPEATED_HEAD_BYTES``, a short query (its parameters the shared
    table's), no key, answered 200. The others are answered the same, routed each time."""
    plant = await start_server(clock=ManualClock(), simulator=STILL)
    reader, writer = await asyncio.open_connection("127.0.0.1", plant.listeners[Market.UM].port)
    answers = []
    for _ in range(3):
        writer.write(first)
        answers.append((await read_answer(reader)).split(b"\r\n", 1)[0])
    writer.close()
    assert len(set(answers)) == 1
    assert repeats[0] == (2 if kept else 0)


@pytest.mark.uvloop_only
async def test_a_repeated_poll_whose_answer_raises_is_answered_as_an_unknown_outcome(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A poll repeated on its kept-alive connection is answered past the router
    (``RestCall.again``): a bug met there (one put in on purpose, on the second answer) is
    answered 503 ``-1000`` and logged, as one met by the router, and the connection goes on
    (it was dropped unanswered)."""
    plant = await start_server(simulator=STILL)
    rest = plant.listeners[Market.UM].rest
    calls = 0

    def answer(params: object, now_ms: int) -> dict[str, object]:
        nonlocal calls
        calls += 1
        if calls >= 2:
            raise RuntimeError("a bug")
        return {}

    ping = b"GET /fapi/v1/ping HTTP/1.1\r\nHost: x\r\n\r\n"
    old = rest.routes["/fapi/v1/ping"]
    rest.routes["/fapi/v1/ping"] = Method(old.weight, answer)
    reader, writer = await asyncio.open_connection("127.0.0.1", plant.listeners[Market.UM].port)
    try:
        writer.write(ping)
        assert (await read_answer(reader)).startswith(b"HTTP/1.1 200 ")
        writer.write(ping)  # the same bytes again, alone: made again past the router
        again = await read_answer(reader)
        assert again.startswith(b"HTTP/1.1 503 ") and again.endswith(
            b'{"code":-1000,"msg":"Unknown error, please check your request or try again later."}'
        )
        assert b"Connection: close" not in again
        writer.write(b"GET /fapi/v1/time HTTP/1.1\r\nHost: x\r\n\r\n")  # the connection goes on
        assert (await read_answer(reader)).startswith(b"HTTP/1.1 200 ")
    finally:
        writer.close()
    raised = [r for r in caplog.records if "answering GET /fapi/v1/ping raised" in r.getMessage()]
    assert len(raised) == 1 and raised[0].exc_info is not None
