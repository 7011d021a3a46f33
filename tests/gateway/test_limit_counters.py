"""Every limit a client runs into is counted, once, in its listener's ``limit_counters``:
each is provoked here over a real socket and the counters are read after it."""

from __future__ import annotations

import asyncio
import errno
import os
import resource
from collections.abc import Callable

from conftest import StartServer
from rawws import CLOSE, CONTINUATION, FIN, PING, PONG, RSV1, TEXT, RawWebSocket, close_code, http_exchange
from scripted_market import ScriptedMarket, round_trip
from timing import eventually

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock
from tickerplant.gateway.message_assembly import MAX_MESSAGE_BYTES
from tickerplant.gateway.past_farm import FARM
from tickerplant.market.instruments import Market
from tickerplant.protocol.errors import CLOSE_SHUTDOWN, CLOSE_SLOW_CONSUMER, CloseReason
from tickerplant.protocol.limits import LIMITS, LimitCounters
from tickerplant.protocol.request_weight import RequestWeight

PING_PATH = b"GET /fapi/v1/ping HTTP/1.1\r\nHost: x\r\n\r\n"


def test_counters_start_at_zero_and_count_by_close_reason_and_status() -> None:
    counters = LimitCounters()
    assert counters.as_dict() == dict.fromkeys(LIMITS, 0)
    counters.closed(CLOSE_SLOW_CONSUMER)
    counters.closed(CloseReason(1002, "anything of ours"))
    counters.closed(CLOSE_SHUTDOWN)  # not a limit
    counters.head_refused(431)
    counters.head_refused(200)  # not a refusal
    assert {k: v for k, v in counters.as_dict().items() if v} == {
        "slow_consumer": 1, "protocol_error": 1, "header_fields_too_large": 1,
    }  # fmt: skip


def test_request_weight_counts_its_429s_and_418s() -> None:
    counters = LimitCounters()
    weight = RequestWeight(2, counters=counters)
    verdicts = [weight.charge("a", 1, 0).status for _ in range(7)]
    assert verdicts == [200, 200, 429, 429, 429, 418, 418]
    assert (counters.weight_refused, counters.weight_banned) == (3, 2)


class Scene:
    def __init__(self, plant: Tickerplant, clock: ManualClock) -> None:
        self.clock = clock
        self.listener = plant.listeners[Market.UM]
        self.port = self.listener.port
        self.expected = dict.fromkeys(LIMITS, 0)

    async def stream(self, path: str = "/ws") -> RawWebSocket:
        ws = await RawWebSocket.connect(self.port, path)
        assert ws.status == 101
        return ws

    def counted(self, *names: str, times: int = 1) -> None:
        for name in names:
            self.expected[name] += times
        assert self.listener.limit_counters.as_dict() == self.expected


async def closed_with(ws: RawWebSocket) -> int:
    code = close_code(await ws.recv_until(CLOSE))[0]
    await ws.close()
    return code


async def test_each_close_and_refusal_is_counted_once(start_server: StartServer) -> None:
    clock = ManualClock()
    plant = await start_server(
        clock=clock, source=ScriptedMarket(clock), request_weight_per_min=40,
        limits={"max_streams": 2, "max_connection_age_s": 1000.0, "pong_timeout_s": 600.0},
    )  # fmt: skip
    scene = Scene(plant, clock)
    cases: list[tuple[str, int, Callable[[RawWebSocket], None]]] = [
        ("too_many_requests", 1008, lambda ws: [ws.send(PING, b"") for _ in range(11)]),
        ("invalid_json", 1008, lambda ws: ws.send_text("not json")),
        (
            "too_many_subscriptions", 1008,
            lambda ws: ws.send_text('{"method":"SUBSCRIBE","params":["a@trade","b@trade","c@trade"],"id":1}'),
        ),
        ("protocol_error", 1002, lambda ws: ws.send(TEXT, b"{}", flags=FIN | RSV1)),
        ("invalid_utf8", 1007, lambda ws: ws.send(TEXT, b'"\xff"')),
        ("frame_refused", 1002, lambda ws: ws.writer.write(b"\x81\x02{}")),  # unmasked
        (
            "message_too_big", 1009,
            lambda ws: (ws.send(TEXT, bytes(MAX_MESSAGE_BYTES // 2 + 1), flags=0),
                        ws.send(CONTINUATION, bytes(MAX_MESSAGE_BYTES // 2 + 1), flags=FIN)),
        ),
    ]  # fmt: skip
    for name, code, provoke in cases:
        ws = await scene.stream()
        provoke(ws)
        assert await closed_with(ws) == code, name
        scene.counted(name)

    # HTTP refusals, before routing and at it
    heads = {
        "method_not_allowed": b"PATCH /ws HTTP/1.1\r\nHost: x\r\n\r\n",
        "bad_request_head": b"GET /ws HTTP/1.0\r\nHost: x\r\n\r\n",
        "http_version": b"GET /ws HTTP/2.0\r\nHost: x\r\n\r\n",
        "body_too_large": b"POST /fapi/v1/order HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n\r\n",
        "body_not_by_length": b"POST /fapi/v1/order HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "request_line_too_long": b"GET /" + b"a" * 17_000 + b" HTTP/1.1\r\n\r\n",
        "header_fields_too_large": b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 3000 + b"\r\n",
        "websocket_version": (
            b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"
        ),
        "url_too_many_streams": b"GET /stream?streams=a@trade/b@trade/c@trade HTTP/1.1\r\nHost: x\r\n\r\n",
    }
    for name, head in heads.items():
        answer = await http_exchange(scene.port, head)
        assert 400 <= answer.status < 506, name
        scene.counted(name)

    # time: a connection that never answers a ping, and one that does until it is too old
    silent, answering = await scene.stream(), await scene.stream()
    clock.advance(500_000)
    answering.send(PONG, b"")
    await round_trip(answering)
    clock.advance(100_000)  # 600 s without a pong
    assert await closed_with(silent) == 1008
    scene.counted("pong_timeout")
    clock.advance(400_000)  # 1,000 s old
    assert await closed_with(answering) == 1001
    scene.counted("max_age")

    # weight: 40 a minute; REST pings weigh 1, a WebSocket API handshake 5
    api = await scene.stream("/ws-fapi/v1")
    request = '{"id":%d,"method":"ping"}'
    for i in range(35):
        api.send_text(request % i)
    for _ in range(35):
        await api.recv_until(TEXT)
    scene.counted("weight_refused", times=0)  # 40 used, none refused
    api.send_text(request % 35)
    await api.recv_until(TEXT)
    scene.counted("weight_refused")  # 429
    assert (await http_exchange(scene.port, PING_PATH)).status == 429
    assert (await http_exchange(scene.port, PING_PATH)).status == 429
    scene.counted("weight_refused", times=2)
    api.send_text(request % 36)  # the fourth refusal: banned, and the connection closed
    assert await closed_with(api) == 1008
    scene.counted("weight_banned", "banned")
    assert (await http_exchange(scene.port, PING_PATH)).status == 418
    scene.counted("weight_banned")


def _eight_free() -> int:
    """The limit below which eight descriptor numbers are free: a new descriptor takes the
    lowest free number, and one at the limit or above fails. Counting the open ones was not
    enough: a pool's pipes an earlier test left open at numbers above the count (the past
    farm's, one a process) left room for every client and the server too."""
    taken, free, number = {int(fd) for fd in os.listdir("/proc/self/fd")}, 0, 0
    while free < 8:
        free += number not in taken
        number += 1
    return number


async def test_a_client_refused_for_want_of_descriptors_is_counted(start_server: StartServer) -> None:
    # The process's past farm (one a process, kept for the next long answer: gateway/past_farm.py)
    # stopped first, with its threads: an earlier test's pool, its pipes and its workers ending
    # meanwhile, moved this process's descriptors under the limit set below.
    await asyncio.to_thread(FARM.close)
    plant = await start_server()
    listener = plant.listeners[Market.UM]
    assert not listener.accepting_itself  # descriptors are plentiful: the loop's server accepts
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    held: list[RawWebSocket] = []
    refused = None
    # Clients and server share this process's descriptors: with the limit a few above
    # what is open, a client takes the last one and the server has none to accept it.
    limit = _eight_free()
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
    try:
        for _ in range(30):  # (eight numbers free: about six tries, more if others free some meanwhile)
            try:
                ws = await RawWebSocket.connect(listener.port, "/ws")
            except OSError as exc:  # the client had none left: one more, for the client alone
                assert exc.errno == errno.EMFILE
                limit += 1
                resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
                continue
            if ws.status != 101:
                refused = ws
                break
            held.append(ws)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert refused is not None and refused.status == 503
    assert listener.accepting_itself  # near the limit, with its reserve
    await refused.close()
    assert listener.limit_counters.out_of_files == 1
    for ws in held:
        await ws.close()
    ws = await RawWebSocket.connect(listener.port, "/ws")  # served again
    assert ws.status == 101
    await ws.close()
    # a descriptor well below the limit: the loop's own server accepts again
    await eventually(lambda: not listener.accepting_itself)
    ws = await RawWebSocket.connect(listener.port, "/ws")
    assert ws.status == 101 and not listener.accepting_itself
    await ws.close()
