"""An answer made in pieces (protocol/later.py, gateway/front_door.py) over real sockets:
the first `fundingRate` of every symbol makes a hundred past funding events, one a piece,
within the REST turns, so another client's requests are answered meanwhile (with one piece
or answer a turn, ``rest_turn_ms`` 0, every other turn); the answer is whole and in time
order, a request pipelined after it is answered after it, and asked again it is the same
bytes, at once. The past's klines and mark-price klines the same, an hour of minutes or a
funding interval a piece."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Hashable
from concurrent.futures import Future

import msgspec
import pytest
from conftest import StartServer
from rawws import read_answer
from timing import eventually

from tickerplant.clock import ManualClock
from tickerplant.config import SimulatorConfig
from tickerplant.feeds import Sink
from tickerplant.feeds.simulator.pump import SimulatedMarket
from tickerplant.market.derivatives.mark_price import FUNDING_INTERVAL_MS
from tickerplant.market.history.farming import Job, Recipe
from tickerplant.market.history.series import SimulatedPast
from tickerplant.market.instruments import Market
from tickerplant.market.klines.candles import Kline
from tickerplant.market.units import DAY_MS, MINUTE_MS, fixed
from tickerplant.protocol.later import Later
from tickerplant.protocol.rest import RestAnswer, RestLater

# how a cold answer is made in pieces, the same on either loop:
# on uvloop alone (tests/conftest.py); the listeners' own tests cover both loops
pytestmark = pytest.mark.uvloop_only

# the latest hundred fundings of every symbol: ~4 each, made cold a funding a piece (~100
# pieces, each another client's turn). A thousand (~40 each) checked the same and made ten
# times the fundings: 5 s of CPU.
FUNDING = b"GET /fapi/v1/fundingRate?limit=100 HTTP/1.1\r\nHost: x\r\n\r\n"
TIME = b"GET /fapi/v1/time HTTP/1.1\r\nHost: x\r\n\r\n"


def _body(answer: bytes) -> object:
    head, body = answer.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200 ")
    return msgspec.json.decode(body)


async def test_others_are_answered_while_a_cold_funding_history_is_made(start_server: StartServer) -> None:
    plant = await start_server(rest_turn_ms=0.0)
    listener = plant.listeners[Market.UM]
    turns = listener.rest_turns
    assert turns is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
    writer.write(FUNDING + TIME)  # pipelined: the time waits for the funding
    # a cold history of every symbol's fundings is seconds of work on a busy 2-core machine: its
    # answer may take longer than one request's usual wait (what is checked is the others' answers)
    funding_task = asyncio.ensure_future(read_answer(reader, within_s=30))
    other_reader, other_writer = await asyncio.open_connection("127.0.0.1", listener.port)
    answered_meanwhile = 0
    while not funding_task.done():
        other_writer.write(TIME)
        _body(await read_answer(other_reader))
        answered_meanwhile += 1 if not funding_task.done() else 0
    rows = _body(funding_task.result())
    after = _body(await read_answer(reader))
    assert isinstance(after, dict) and list(after) == ["serverTime"]
    assert answered_meanwhile >= 10  # the loop went on answering: the history took its turns
    assert isinstance(rows, list) and len(rows) == 100
    times = [row["fundingTime"] for row in rows]
    assert times == sorted(times)
    by_symbol = itertools.groupby(sorted(rows, key=lambda r: (r["symbol"], r["fundingTime"])), key=lambda r: r["symbol"])
    for _, events in by_symbol:
        spaced = [e["fundingTime"] for e in events]
        assert all(b - a == FUNDING_INTERVAL_MS for a, b in itertools.pairwise(spaced))
    writer.write(FUNDING)  # again: the same bytes, and made at once now
    assert _body(await read_answer(reader)) == rows
    begun = listener.rest.begin("/fapi/v1/fundingRate", "limit=100", "127.0.0.1", plant.clock.now_ms())
    assert isinstance(begun, RestAnswer) and msgspec.json.decode(begun.body) == rows
    for w in (writer, other_writer):
        w.close()


async def _meanwhile(port: int, request: bytes) -> tuple[object, int]:
    """``request``'s answer on one connection, and how many requests another connection
    had answered while it was made."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    answer = asyncio.ensure_future(read_answer(reader))
    other_reader, other_writer = await asyncio.open_connection("127.0.0.1", port)
    meanwhile = 0
    while not answer.done():
        other_writer.write(TIME)
        _body(await read_answer(other_reader))
        meanwhile += 1 if not answer.done() else 0
    for w in (writer, other_writer):
        w.close()
    return _body(answer.result()), meanwhile


# days no other test asks about (the past's minutes are kept per process), and the latest
START = 1_684_328_400_000  # 2023-05-17 13:00 UTC
COLD_KLINES = [
    "/fapi/v1/klines?symbol=LINKUSDT&interval=1m&limit=1500&startTime={start}",
    "/fapi/v1/markPriceKlines?symbol=BTCUSDT&interval=1h&limit=100",
    "/fapi/v1/premiumIndexKlines?symbol=ETHUSDT&interval=1h&limit=200&startTime={start}",
]


async def test_a_piece_that_raises_is_answered_as_an_unknown_outcome_and_the_line_goes_on(
    start_server: StartServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug met while an answer is made in pieces (here one put in on purpose) is answered as
    one met by a route (``guarded_route``): 503 ``-1000``, logged with its traceback, and the
    request pipelined behind it answered."""
    plant = await start_server(rest_turn_ms=0.0)

    steps = itertools.count()
    step = Later.step

    def broken(self: Later[object]) -> bool:  # the first piece (made by the route itself), then a bug
        if next(steps):
            raise RuntimeError("a bug")
        return step(self)

    monkeypatch.setattr(Later, "step", broken)
    reader, writer = await asyncio.open_connection("127.0.0.1", plant.listeners[Market.UM].port)
    writer.write(FUNDING + TIME)
    answer = await read_answer(reader)
    assert answer.startswith(b"HTTP/1.1 503 ")
    assert msgspec.json.decode(answer.split(b"\r\n\r\n", 1)[1]) == {
        "code": -1000, "msg": "Unknown error, please check your request or try again later."
    }  # fmt: skip
    assert list(_body(await read_answer(reader))) == ["serverTime"]  # type: ignore[arg-type]
    raised = [r for r in caplog.records if "answering GET /fapi/v1/fundingRate raised" in r.getMessage()]
    assert len(raised) == 1 and raised[0].exc_info is not None
    writer.close()


@pytest.mark.parametrize("target", COLD_KLINES)
async def test_others_are_answered_while_cold_past_klines_are_made(start_server: StartServer, target: str) -> None:
    plant = await start_server(rest_turn_ms=0.0)
    port = plant.listeners[Market.UM].port
    # each loop's run its own days: what one made is kept for the other in this process
    start = START + (10 * DAY_MS if "uvloop" in type(asyncio.get_running_loop()).__module__ else 0)
    target = target.format(start=start)
    rows, meanwhile = await _meanwhile(port, b"GET %b HTTP/1.1\r\nHost: x\r\n\r\n" % target.encode())
    assert meanwhile >= 3
    assert isinstance(rows, list) and len(rows) == int(target.split("limit=")[1].split("&")[0])
    step = 60 * MINUTE_MS if "interval=1h" in target else MINUTE_MS
    opens = [row[0] for row in rows]
    assert opens == list(range(opens[0], opens[0] + step * len(opens), step))


async def test_the_latest_past_trades_are_encoded_in_pieces(start_server: StartServer) -> None:
    plant = await start_server(rest_turn_ms=0.0)
    listener = plant.listeners[Market.UM]
    begun = listener.rest.begin("/fapi/v1/trades", "symbol=BTCUSDT&limit=1000", "127.0.0.1", plant.clock.now_ms())
    assert isinstance(begun, RestLater)  # the past's part is not made yet
    steps = 1
    while not begun.step():
        steps += 1
    assert steps >= 3  # laid out, then its rows 250 a piece
    assert begun.answer is not None
    rows = msgspec.json.decode(begun.answer.body)
    assert isinstance(rows, list) and len(rows) == 1000
    ids = [row["id"] for row in rows]
    assert ids == list(range(ids[0], ids[0] + 1000))


class _LateWarm(SimulatedMarket):
    """The simulator, its warm start (at the source task's first turn) a little after its
    prepare, as on a loaded machine: here across a minute's end."""

    def warm(self, sink: Sink) -> None:
        assert isinstance(self._clock, ManualClock)
        self._clock.advance(40)
        super().warm(sink)


async def test_trades_are_contiguous_when_a_minute_ends_between_the_past_s_cut_and_the_warm_start(
    start_server: StartServer,
) -> None:
    clock = ManualClock(START + 10 * MINUTE_MS - 20)  # 20 ms before a minute's end
    config = SimulatorConfig(actions_per_s=400.0, history_s=3600.0, book_levels=20)
    plant = await start_server(clock=clock, source=_LateWarm(config, clock))
    source = plant.source
    assert isinstance(source, SimulatedMarket)
    await eventually(lambda: source.stepped_ms >= clock.now_ms())
    listener = plant.listeners[Market.UM]
    begun = listener.rest.begin("/fapi/v1/trades", "symbol=BTCUSDT&limit=1000", "127.0.0.1", clock.now_ms())
    if isinstance(begun, RestLater):  # the past's part made in pieces
        while not begun.step():
            pass
    made = begun.answer if isinstance(begun, RestLater) else begun
    assert isinstance(made, RestAnswer)
    ids = [row["id"] for row in msgspec.json.decode(made.body)]
    assert ids == list(range(ids[0], ids[0] + 1000))  # the past's, then the live, no gap


class _HeldFarm:
    """A farm whose tasks the test finishes, from another thread as a worker's end comes:
    each draws its days from the recipe's past here, at ``release``. (Drawn as it was handed
    out, a task's 64 days took ~0.7 s of the server's loop before ``draw`` returned: on a loaded
    machine the test's five-second wait for the tasks ran out before they were all out.)"""

    def __init__(self) -> None:
        self.tasks: list[tuple[Future[list[Kline]], Recipe, str, list[int]]] = []
        self.groups: list[Hashable] = []  # each task's turn (``farming.Turns``)

    def draw(self, recipe: Recipe, job: Job, group: Hashable = 0) -> Future[list[Kline]]:
        self.groups.append(group)
        what, symbol, days = job
        assert what == "days"
        task: Future[list[Kline]] = Future()
        self.tasks.append((task, recipe, symbol, days))
        return task

    def release(self) -> None:
        for task, recipe, symbol, days in self.tasks:
            drawn = SimulatedPast(*recipe).daily(symbol, days)
            threading.Thread(target=task.set_result, args=(drawn,)).start()


async def test_a_coarse_answer_drawn_elsewhere_waits_in_line_and_the_loop_answers_the_others(
    start_server: StartServer,
) -> None:
    # 1w of a quarterly listed 145 days ago: its cold days go to the farm, and its connection
    # waits, reading and answering nothing more, until the last task is done
    plant = await start_server(clock=ManualClock(1_795_000_000_000), simulator={"seed": 47})
    listener = plant.listeners[Market.CM]
    farm = _HeldFarm()
    assert listener.archive is not None
    listener.archive.past.past.farm = farm  # the server's past (one for both listeners)
    reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
    weekly = b"GET /dapi/v1/klines?symbol=BTCUSD_261225&interval=1w HTTP/1.1\r\nHost: x\r\n\r\n"
    writer.write(weekly + TIME.replace(b"/fapi/", b"/dapi/"))  # pipelined: the time waits
    answer = asyncio.ensure_future(read_answer(reader, within_s=30))
    await eventually(lambda: len(farm.tasks) >= 3)
    assert set(farm.groups) == {"127.0.0.1"}  # its tasks take their turns as its client's
    other_reader, other_writer = await asyncio.open_connection("127.0.0.1", listener.port)
    for _ in range(20):  # the loop is free: another connection is answered, again and again
        other_writer.write(TIME.replace(b"/fapi/", b"/dapi/"))
        _body(await read_answer(other_reader))
    assert not answer.done()
    farm.release()
    weeks = _body(await answer)
    assert isinstance(weeks, list) and len(weeks) == 22  # 21 past weeks and the live one
    after = _body(await read_answer(reader))
    assert isinstance(after, dict) and list(after) == ["serverTime"]
    past = SimulatedPast(*listener.archive.past.past.recipe)  # the same past, without a farm
    for row in weeks[:-1]:
        kline = past.kline("BTCUSD_261225", "1w", row[0])
        assert row[1:5] == [fixed(p, 1) for p in (kline.open, kline.high, kline.low, kline.close)]
    for w in (writer, other_writer):
        w.close()


async def test_an_answer_whose_first_step_hands_out_its_tasks_hands_them_out_as_its_clients(
    start_server: StartServer,
) -> None:
    """A page of the past that ends before the live start hands out its cold days at the
    answer's first step, made as the request is routed (``protocol/later.eventually``), not at
    a later one the front door takes: its tasks are its client's too (``farming.asked``)."""
    now = 1_795_000_000_000
    plant = await start_server(clock=ManualClock(now), simulator={"seed": 67})  # a past of its own: none kept
    listener = plant.listeners[Market.CM]
    farm = _HeldFarm()
    assert listener.archive is not None
    listener.archive.past.past.farm = farm
    reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
    end = now - now % DAY_MS - 2 * DAY_MS  # two days before the live start: the past alone
    for symbol in ("BTCUSD_261225", "ETHUSD_261225"):
        page = b"GET /dapi/v1/klines?symbol=%s&interval=1d&endTime=%d&limit=200 HTTP/1.1\r\nHost: x\r\n\r\n"
        writer.write(page % (symbol.encode(), end))
        answer = asyncio.ensure_future(read_answer(reader, within_s=30))
        await eventually(lambda: bool(farm.tasks))
        assert set(farm.groups) == {"127.0.0.1"}
        farm.release()
        rows = _body(await answer)
        assert isinstance(rows, list) and rows and rows[-1][0] <= end
        farm.tasks.clear()
    writer.close()
