"""Keep-alive, lifetime, message rate and injected faults over real sockets, on a manual
clock (spec §2.4, §2.5, §5.1): the test moves time, the server pings, closes or breaks at
once, and nothing waits for real time to pass."""

from __future__ import annotations

import asyncio
import json
import struct

import pytest
from conftest import StartServer
from rawws import CLOSE, PING, PONG, TEXT, Frame, RawWebSocket, close_code
from scripted_market import MINUTE, ScriptedMarket, book_ticker, publish, round_trip, silent
from timing import SECONDS, eventually

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock
from tickerplant.config import LimitsConfig
from tickerplant.gateway.connection import connection_rules
from tickerplant.market.instruments import Market
from tickerplant.protocol.errors import CLOSE_LIFETIME, CLOSE_PONG_TIMEOUT, CLOSE_TOO_MANY_REQUESTS
from tickerplant.protocol.limits import ConnectionRules

DAY = 24 * 60 * MINUTE


async def manual_server(start_server: StartServer, **overrides: object) -> tuple[Tickerplant, ManualClock]:
    clock = ManualClock()
    plant = await start_server(clock=clock, source=ScriptedMarket(clock), **overrides)
    return plant, clock


async def connect(plant: Tickerplant, path: str, market: Market = Market.UM) -> RawWebSocket:
    ws = await RawWebSocket.connect(plant.listeners[market].port, path)
    assert ws.status == 101, path
    return ws


def test_the_configured_defaults_are_the_documented_rules() -> None:
    assert connection_rules(LimitsConfig()) == ConnectionRules()


async def test_the_server_pings_every_3_minutes_with_epoch_ms_and_answers_pings(
    start_server: StartServer,
) -> None:
    plant, clock = await manual_server(start_server)
    ws = await connect(plant, "/ws")
    clock.advance(3 * MINUTE - 1)
    assert await round_trip(ws) == []  # no ping yet
    clock.advance(1)
    assert await ws.recv(timeout=5 * SECONDS) == Frame(PING, str(clock.now_ms()).encode())
    ws.send(PING, b"hello")
    assert await ws.recv(timeout=5 * SECONDS) == Frame(PONG, b"hello")
    await ws.close()


async def test_no_pong_for_10_minutes_closes_with_1008(start_server: StartServer) -> None:
    plant, clock = await manual_server(start_server)
    start = clock.now_ms()
    ws = await connect(plant, "/ws")
    clock.advance(10 * MINUTE)
    frames = []
    async with asyncio.timeout(5 * SECONDS):
        while not frames or frames[-1].opcode != CLOSE:
            frames.append(await ws.recv())
    pings = [int(f.payload) - start for f in frames if f.opcode == PING]
    assert pings == [3 * MINUTE, 6 * MINUTE, 9 * MINUTE]
    assert close_code(frames[-1]) == CLOSE_PONG_TIMEOUT
    await ws.close()


async def test_unsolicited_pongs_keep_the_connection(start_server: StartServer) -> None:
    plant, clock = await manual_server(start_server)
    ws = await connect(plant, "/ws")
    for _ in range(10):  # 90 minutes, never answering a ping, a pong every 9 minutes
        ws.send(PONG, b"")
        await round_trip(ws)
        clock.advance(9 * MINUTE)
    ws.send_text('{"method":"LIST_SUBSCRIPTIONS","id":1}')
    assert (await ws.recv_until(TEXT)).payload == b'{"result":[],"id":1}'
    await ws.close()


async def test_a_polite_connection_lives_24_hours_and_is_then_closed_with_1001(
    start_server: StartServer,
) -> None:
    plant, clock = await manual_server(start_server)
    ws = await connect(plant, "/ws", Market.CM)
    end = clock.now_ms() + DAY
    while clock.now_ms() < end:
        ws.send(PONG, b"")
        frames = await round_trip(ws)
        assert CLOSE not in {f.opcode for f in frames}
        clock.advance(min(9 * MINUTE, end - clock.now_ms()))
    assert close_code(await ws.recv_until(CLOSE)) == CLOSE_LIFETIME
    await ws.close()


async def test_more_than_10_messages_in_a_second_close_with_1008(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    plant, clock = await manual_server(start_server)
    ws = await connect(plant, "/ws")

    async def ask(first_id: int, count: int) -> list[int]:
        for i in range(first_id, first_id + count):
            ws.send_text(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": i}))
        return [json.loads((await ws.recv_until(TEXT)).payload)["id"] for _ in range(count)]

    assert await ask(0, 10) == list(range(10))  # ten at one instant are allowed
    clock.advance(1000)
    assert await ask(10, 10) == list(range(10, 20))  # a second later, ten more
    ws.send_text('{"method":"LIST_SUBSCRIPTIONS","id":20}')  # the eleventh of that second
    assert close_code(await ws.recv_until(CLOSE)) == CLOSE_TOO_MANY_REQUESTS
    await ws.close()
    # the log says it too: a library may swallow the close (Binance's SDK goes silent)
    said = [r.getMessage() for r in caplog.records if "Too many requests" in r.getMessage()]
    assert len(said) == 1 and "more than 10 messages in a second" in said[0], said


async def test_a_close_waits_for_the_clients_close_frame_and_what_it_sent_meanwhile_costs_no_reply(
    start_server: StartServer,
) -> None:
    """The server closes the socket at the client's close frame (RFC 6455 §7.1.1), dropping
    what the client sent after its close: closed at once, those frames would meet a closed
    socket, and its reset drops what the client had not read yet, the replies and the close
    frame (a 1006, where Binance's client reads the ones answered, then 1008, spec §2.5). A
    client that reads the close frame and never answers it is aborted after the close
    timeout."""
    plant, clock = await manual_server(start_server)
    listener = plant.listeners[Market.UM]
    open_ = listener.streams.connections
    ws, mute = await connect(plant, "/ws"), await connect(plant, "/ws")
    for i in range(11):
        ws.send_text(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": i}))
    await eventually(lambda: listener.limit_counters.too_many_requests == 1)
    for i in range(11, 14):  # written before the client read the close frame: they cross it
        ws.send_text(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": i}))
    await ws.writer.drain()
    assert [json.loads((await ws.recv_until(TEXT)).payload)["id"] for _ in range(10)] == list(range(10))
    assert close_code(await ws.recv_until(CLOSE)) == CLOSE_TOO_MANY_REQUESTS
    assert len(open_) == 2  # the socket open still, for the client's close frame
    ws.send(CLOSE, struct.pack("!H", 1000))
    assert await ws.reader.read() == b""  # then closed, in order
    await eventually(lambda: len(open_) == 1)
    for i in range(11):
        mute.send_text(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": i}))
    assert close_code(await mute.recv_until(CLOSE)) == CLOSE_TOO_MANY_REQUESTS
    timeout_ms = round(LimitsConfig().close_timeout_s * 1000)
    clock.advance(timeout_ms - 1)
    await asyncio.sleep(0)
    assert len(open_) == 1  # waited for
    clock.advance(timeout_ms + 1)  # a look that found everything taken, then one that found no close
    await eventually(lambda: not open_)  # aborted
    await ws.close()
    await mute.close()


async def test_ws_api_keep_alive_rules(start_server: StartServer) -> None:
    plant, clock = await manual_server(start_server)
    ws = await connect(plant, "/ws-fapi/v1?returnRateLimits=false")
    ws.send_text('{"id":7,"method":"ticker.price","params":{"symbol":"BTCUSDT"}}')
    reply = json.loads((await ws.recv_until(TEXT)).payload)
    assert reply["id"] == 7 and "rateLimits" not in reply
    clock.advance(10 * MINUTE)
    frames = []
    async with asyncio.timeout(5 * SECONDS):
        while not frames or frames[-1].opcode != CLOSE:
            frames.append(await ws.recv())
    assert [f.opcode for f in frames] == [PING, PING, PING, CLOSE]
    assert close_code(frames[-1]) == CLOSE_PONG_TIMEOUT
    await ws.close()


async def test_injected_fault_drop_aborts_without_a_close_frame(start_server: StartServer) -> None:
    plant, clock = await manual_server(start_server, faults={"drop_after_s": 0.3})
    ws = await connect(plant, "/ws/btcusd_perp@bookTicker", Market.CM)
    publish(plant, Market.CM, "btcusd_perp@bookTicker", book_ticker("BTCUSD_PERP", 1))
    assert (await ws.recv(timeout=5 * SECONDS)).opcode == TEXT
    clock.advance(299)
    assert await round_trip(ws) == []  # still connected
    clock.advance(1)
    frames = []
    with pytest.raises((asyncio.IncompleteReadError, ConnectionResetError)):
        async with asyncio.timeout(5 * SECONDS):
            while True:
                frames.append(await ws.recv())
    assert frames == []  # no close frame: the TCP stream just ends
    await ws.close()


async def test_injected_fault_stall_goes_silent(start_server: StartServer) -> None:
    plant, clock = await manual_server(start_server, faults={"stall_after_s": 0.3})
    stalled = await connect(plant, "/ws/btcusd_perp@bookTicker", Market.CM)
    clock.advance(300)
    live = await connect(plant, "/ws/btcusd_perp@bookTicker", Market.CM)  # stalls 300 ms from now
    stalled.send(PING, b"anyone?")
    payload = book_ticker("BTCUSD_PERP", 1)
    publish(plant, Market.CM, "btcusd_perp@bookTicker", payload)
    assert await live.recv(timeout=5 * SECONDS) == Frame(TEXT, payload)  # the same flush as the stalled
    await round_trip(live)  # and the server has read what the stalled one sent before
    assert await silent(stalled)  # no data, no pong
    await stalled.close()
    await live.close()
