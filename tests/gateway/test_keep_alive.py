"""REST over kept-alive connections (``gateway/front_door.py``), as Binance's servers keep
them: one connection carries request after request, pipelined requests are answered in
order, every answer carries ``Date`` and both weight headers, and a connection ends when the
client asks, after ``KEEP_ALIVE_IDLE_MS`` idle, or when the listener stops; requests with
bodies, one after another: ``test_request_bodies.py``. A pooled client opens one connection for many calls, counted by the
listener itself (``Traffic.accepted["rest"]``; the third-party clients:
``tests/e2e/test_keep_alive_clients.py``)."""

from __future__ import annotations

import asyncio
import email.utils

import aiohttp
import msgspec
from conftest import StartServer
from rawws import closed_within, read_answer
from timing import SECONDS

from tickerplant.clock import ManualClock
from tickerplant.gateway.front_door import HEAD_TIMEOUT_MS, KEEP_ALIVE_IDLE_MS
from tickerplant.market.instruments import Market


def _fields(answer: bytes) -> dict[str, str]:
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return {k.lower(): v for k, _, v in (line.partition(": ") for line in head.split("\r\n")[1:])}


async def test_one_connection_carries_many_requests_each_with_binance_s_headers(start_server: StartServer) -> None:
    # on a clock that stands still: the weight grows through one minute, and a real one turning
    # among the requests started it again
    plant = await start_server(clock=ManualClock())
    listener = plant.listeners[Market.UM]
    base = f"http://127.0.0.1:{listener.port}"
    paths = ["/fapi/v1/ping", "/fapi/v1/time", "/fapi/v1/depth?symbol=BTCUSDT&limit=5", "/fapi/v1/depth?symbol=NOPE"]
    weights = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        for path in paths * 5:
            async with session.get(base + path) as response:
                body = await response.read()
                assert response.status == (400 if "NOPE" in path else 200), body
                headers = response.headers
                assert headers["X-MBX-USED-WEIGHT"] == headers["X-MBX-USED-WEIGHT-1M"]  # errors too
                assert headers["Connection"] == "keep-alive"
                date = email.utils.parsedate_to_datetime(headers["Date"])
                assert abs(date.timestamp() * 1000 - plant.clock.now_ms()) < 2000
                weights.append(int(headers["X-MBX-USED-WEIGHT"]))
    assert weights == sorted(weights) and len(set(weights)) == len(weights)  # charged each time
    assert listener.traffic.accepted["rest"] == 1


async def test_pipelined_requests_are_answered_in_the_order_sent(start_server: StartServer) -> None:
    plant = await start_server()
    reader, writer = await asyncio.open_connection("127.0.0.1", plant.listeners[Market.UM].port)
    targets = ["/fapi/v1/time", "/fapi/v1/depth?symbol=NOPE", "/fapi/v1/ping", "/fapi/v1/depth?symbol=ETHUSDT&limit=5"]
    writer.write(b"".join(b"GET %b HTTP/1.1\r\nHost: x\r\n\r\n" % t.encode() for t in targets))  # one write
    bodies = [msgspec.json.decode((await read_answer(reader)).split(b"\r\n\r\n", 1)[1]) for _ in targets]
    assert list(bodies[0]) == ["serverTime"]
    assert bodies[1] == {"code": -1121, "msg": "Invalid symbol."}
    assert bodies[2] == {}
    assert list(bodies[3])[:2] == ["lastUpdateId", "E"] and len(bodies[3]["bids"]) == 5
    # and the connection goes on
    writer.write(b"GET /fapi/v1/ping HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (await read_answer(reader)).endswith(b"\r\n\r\n{}")
    writer.close()


async def test_connection_close_and_a_chunked_body_end_the_connection_after_the_answer(
    start_server: StartServer,
) -> None:
    """The answer, then the end of the connection, never a reset under the answer: what the
    client sent after (a body, a request) is read and dropped, not answered."""
    plant = await start_server()
    port = plant.listeners[Market.UM].port
    cases = [
        (b"Connection: close\r\n", b"\r\n\r\n{}"),
        (b"Transfer-Encoding: chunked\r\n", b"\r\n\r\nTransfer-Encoding not supported; send Content-Length\n"),
    ]
    for extra, ending in cases:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /fapi/v1/ping HTTP/1.1\r\nHost: x\r\n%b\r\nabcdGET /fapi/v1/time HTTP/1.1\r\n\r\n" % extra)
        answer = await read_answer(reader)
        assert answer.endswith(ending) and _fields(answer)["connection"] == "close"
        assert await closed_within(reader, 5 * SECONDS)
        writer.close()


async def test_an_idle_connection_is_closed_after_the_keep_alive_timeout(start_server: StartServer) -> None:
    clock = ManualClock()
    plant = await start_server(clock=clock)
    port = plant.listeners[Market.UM].port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /fapi/v1/ping HTTP/1.1\r\nHost: x\r\n\r\n")  # the first within HEAD_TIMEOUT_MS
    assert (await read_answer(reader)).endswith(b"{}")
    for _ in range(3):  # each request starts the wait again
        clock.advance(KEEP_ALIVE_IDLE_MS - 1)
        writer.write(b"GET /fapi/v1/ping HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await read_answer(reader)).endswith(b"{}")
    clock.advance(KEEP_ALIVE_IDLE_MS - 1)
    assert not await closed_within(reader, 0.05 * SECONDS)
    # a head begun has HEAD_TIMEOUT_MS from then, not the idle wait: it comes in one write
    # behind a whole request, whose answer says the server has read both
    writer.write(b"GET /fapi/v1/ping HTTP/1.1\r\nHost: x\r\n\r\nGET /fapi/v1/ping HTTP/1.1\r\n")
    assert (await read_answer(reader)).endswith(b"{}")
    clock.advance(HEAD_TIMEOUT_MS - 1)
    assert not await closed_within(reader, 0.05 * SECONDS)
    clock.advance(1)
    assert await closed_within(reader, 5 * SECONDS)
    counters = plant.listeners[Market.UM].limit_counters
    assert counters.head_timeout == 1  # a head begun and late: counted
    writer.close()
    idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", port)
    idle_writer.write(b"GET /fapi/v1/ping HTTP/1.1\r\nHost: x\r\n\r\n")
    await read_answer(idle_reader)
    clock.advance(KEEP_ALIVE_IDLE_MS)
    assert await closed_within(idle_reader, 5 * SECONDS)
    assert counters.head_timeout == 1  # an idle kept-alive connection is no refusal
    idle_writer.close()


async def test_a_stopping_listener_closes_its_idle_connections(start_server: StartServer) -> None:
    plant = await start_server()
    reader, writer = await asyncio.open_connection("127.0.0.1", plant.listeners[Market.UM].port)
    writer.write(b"GET /fapi/v1/ping HTTP/1.1\r\nHost: x\r\n\r\n")
    await read_answer(reader)
    await plant.listeners[Market.UM].close()
    assert await closed_within(reader, 5 * SECONDS)
    writer.close()


async def test_an_upgrade_after_rest_requests_on_the_same_connection_is_a_websocket(start_server: StartServer) -> None:
    plant = await start_server()
    reader, writer = await asyncio.open_connection("127.0.0.1", plant.listeners[Market.UM].port)
    writer.write(b"GET /fapi/v1/ping HTTP/1.1\r\nHost: x\r\n\r\n")
    await read_answer(reader)
    writer.write(
        b"GET /ws/btcusdt@bookTicker HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    async with asyncio.timeout(5 * SECONDS):
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101 ")
        frame = await reader.readexactly(2)  # a text frame of the stream, unmasked
    assert frame[0] == 0x81
    writer.close()
