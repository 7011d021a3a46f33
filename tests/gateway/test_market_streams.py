"""Market streams over real sockets: tickerplant on loopback, the `websockets` client and a
bare client for misbehaviour (spec §2, §3, §4.1, §4.2)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from typing import Any

import pytest
import websockets
from conftest import StartServer
from rawws import CLOSE, PING, TEXT, RawWebSocket, close_code

from tickerplant.app import Tickerplant
from tickerplant.market.instruments import Market

BOOK_TICKER_UM = ["e", "u", "s", "b", "B", "a", "A", "T", "E"]
BOOK_TICKER_CM = ["e", "u", "s", "ps", "b", "B", "a", "A", "T", "E"]
MINI_UM = ["e", "E", "s", "c", "o", "h", "l", "v", "q"]
MINI_CM = ["e", "E", "s", "ps", "c", "o", "h", "l", "v", "q"]


def connect(uri: str, **kwargs: Any) -> Any:
    # An unbounded queue: the client keeps reading while it closes, so a fast stream does not
    # hold the server's close frame behind unread data until the close timeout.
    return websockets.connect(uri, max_queue=None, **kwargs)


def url(plant: Tickerplant, market: Market, path: str) -> str:
    return plant.url(market) + path


async def messages(ws: Any, count: int, timeout: float = 10.0) -> list[Any]:
    out = []
    async with asyncio.timeout(timeout):
        while len(out) < count:
            out.append(json.loads(await ws.recv()))
    return out


def assert_decimal(value: str, decimals: int) -> None:
    whole, _, frac = value.partition(".")
    assert whole.isdigit() and len(frac) == decimals and (not frac or frac.isdigit()), value


async def test_raw_book_ticker_stream(start_server: StartServer) -> None:
    plant = await start_server()
    async with connect(url(plant, Market.UM, "/ws/btcusdt@bookTicker")) as ws:
        got = await messages(ws, 20)
    for message in got:
        assert list(message) == BOOK_TICKER_UM
        assert message["e"] == "bookTicker" and message["s"] == "BTCUSDT"
        assert_decimal(message["b"], 2)
        assert_decimal(message["B"], 3)
        assert float(message["b"]) < float(message["a"])
        assert message["T"] <= message["E"]
    ids = [m["u"] for m in got]
    assert ids == sorted(set(ids)), "u must strictly increase"


async def test_each_book_ticker_reflects_a_change_of_the_top(start_server: StartServer) -> None:
    plant = await start_server()
    async with connect(url(plant, Market.UM, "/ws/ethusdt@bookTicker")) as ws:
        got = await messages(ws, 30)
    tops = [(m["b"], m["B"], m["a"], m["A"]) for m in got]
    assert all(a != b for a, b in itertools.pairwise(tops))


async def test_coin_m_all_book_ticker_is_real_time_with_pair(start_server: StartServer) -> None:
    plant = await start_server()
    symbols = {inst.symbol: inst for inst in plant.instruments[Market.CM]}
    async with connect(url(plant, Market.CM, "/ws/!bookTicker")) as ws:
        got = await messages(ws, 60)
    assert {m["s"] for m in got} > {"BTCUSD_PERP"} or len({m["s"] for m in got}) > 3
    for message in got:
        assert list(message) == BOOK_TICKER_CM
        inst = symbols[message["s"]]
        assert message["ps"] == inst.pair
        assert message["B"].isdigit()  # contracts
        assert_decimal(message["a"], inst.price_decimals)
    per_symbol: dict[str, list[int]] = {}
    for message in got:
        per_symbol.setdefault(message["s"], []).append(message["u"])
    assert all(ids == sorted(set(ids)) for ids in per_symbol.values())


async def test_quarterly_contracts_are_listed_and_stream(start_server: StartServer) -> None:
    plant = await start_server()
    quarterly = [i for i in plant.instruments[Market.CM] if not i.symbol.endswith("_PERP")]
    assert quarterly, "COIN-M lists delivery contracts"
    name = quarterly[0].symbol.lower() + "@bookTicker"
    async with connect(url(plant, Market.CM, f"/stream?streams={name}")) as ws:
        got = await messages(ws, 2, timeout=20)
    assert got[0]["stream"] == name and got[0]["data"]["s"] == quarterly[0].symbol


async def test_combined_stream_wraps_with_the_subscribed_name(start_server: StartServer) -> None:
    plant = await start_server()
    path = "/stream?streams=btcusd_perp@bookTicker/btcusd_perp@miniTicker"
    async with connect(url(plant, Market.CM, path)) as ws:
        got = await messages(ws, 40)
    streams = {m["stream"] for m in got}
    assert streams == {"btcusd_perp@bookTicker", "btcusd_perp@miniTicker"}
    for message in got:
        assert list(message) == ["stream", "data"]
        if message["stream"].endswith("miniTicker"):
            assert list(message["data"]) == MINI_CM
            assert message["data"]["e"] == "24hrMiniTicker"


async def test_mini_ticker_is_warm_from_the_first_push(start_server: StartServer) -> None:
    plant = await start_server()
    async with connect(url(plant, Market.UM, "/market/ws/btcusdt@miniTicker")) as ws:
        (mini,) = await messages(ws, 1, timeout=5)
    assert list(mini) == MINI_UM
    assert float(mini["v"]) > 0 and float(mini["q"]) > 0
    assert float(mini["l"]) <= float(mini["o"]) <= float(mini["h"])
    assert float(mini["l"]) <= float(mini["c"]) <= float(mini["h"])
    assert float(mini["h"]) > float(mini["l"])


async def test_all_mini_tickers_array(start_server: StartServer) -> None:
    plant = await start_server()
    async with connect(url(plant, Market.UM, "/ws/!miniTicker@arr")) as ws:
        (array,) = await messages(ws, 1, timeout=5)
    assert isinstance(array, list) and len(array) > 10
    assert all(list(item) == MINI_UM for item in array)


async def test_live_subscription_protocol(start_server: StartServer) -> None:
    plant = await start_server()
    async with connect(url(plant, Market.UM, "/ws")) as ws:
        await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@bookTicker"], "id": 1}))
        assert json.loads(await ws.recv()) == {"result": None, "id": 1}
        data = json.loads(await ws.recv())
        assert data["e"] == "bookTicker"
        await ws.send(json.dumps({"method": "SET_PROPERTY", "params": ["combined", True], "id": "a-uuid"}))
        seen_ack = False
        async with asyncio.timeout(5):
            while True:
                message = json.loads(await ws.recv())
                if message == {"result": None, "id": "a-uuid"}:
                    seen_ack = True
                elif seen_ack:
                    assert message["stream"] == "btcusdt@bookTicker"
                    break
        await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 7}))
        await ws.send(json.dumps({"method": "UNSUBSCRIBE", "params": ["btcusdt@bookTicker"], "id": 8}))
        replies = []
        async with asyncio.timeout(5):
            while len(replies) < 2:
                message = json.loads(await ws.recv())
                if "id" in message:
                    replies.append(message)
        assert replies == [{"result": ["btcusdt@bookTicker"], "id": 7}, {"result": None, "id": 8}]
        await ws.send(json.dumps({"method": "GET_PROPERTY", "params": ["combined"], "id": 9}))
        async with asyncio.timeout(5):
            while True:  # frames queued before the UNSUBSCRIBE may still arrive; then silence
                message = json.loads(await ws.recv())
                if message.get("id") == 9:
                    assert message == {"result": True, "id": 9}
                    break
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await ws.recv()


async def test_ccxt_style_slot_path_and_errors_keep_the_connection(start_server: StartServer) -> None:
    plant = await start_server()
    async with connect(url(plant, Market.UM, "/public/ws/0")) as ws:
        await ws.send('{"method":"SUBSCRIBE","params":["ethusdt@bookTicker"],"id":-3}')
        assert json.loads(await ws.recv()) == {
            "error": {"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"},
            "id": None,
        }
        await ws.send('{"method":"FOO","id":1}')
        reply = json.loads(await ws.recv())
        assert reply["error"]["code"] == 2 and "unknown variant `FOO`" in reply["error"]["msg"]
        await ws.send('{"method":"LIST_SUBSCRIPTIONS","id":2}')
        assert json.loads(await ws.recv()) == {"result": ["0"], "id": 2}


async def test_uppercase_is_acknowledged_silent_and_logged(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    plant = await start_server()
    caplog.set_level(logging.WARNING, logger="tickerplant.streams")
    async with connect(url(plant, Market.UM, "/ws")) as ws:
        await ws.send('{"method":"SUBSCRIBE","params":["BTCUSDT@bookTicker"],"id":1}')
        assert json.loads(await ws.recv()) == {"result": None, "id": 1}
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):
                await ws.recv()
    assert any("BTCUSDT@bookTicker" in r.getMessage() and "lowercase" in r.getMessage() for r in caplog.records)


async def test_lenient_case_delivers_uppercase(start_server: StartServer) -> None:
    plant = await start_server(lenient_case=True)
    async with connect(url(plant, Market.UM, "/stream?streams=BTCUSDT@bookTicker")) as ws:
        (message,) = await messages(ws, 1)
    assert message["stream"] == "BTCUSDT@bookTicker" and message["data"]["s"] == "BTCUSDT"


async def test_strict_routing(start_server: StartServer) -> None:
    plant = await start_server(strict_routing=True)
    async with connect(url(plant, Market.UM, "/ws/btcusdt@miniTicker")) as silent:
        async with connect(url(plant, Market.UM, "/market/ws/btcusdt@miniTicker")) as routed:
            (mini,) = await messages(routed, 1, timeout=5)
            assert mini["e"] == "24hrMiniTicker"
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await silent.recv()
    async with connect(url(plant, Market.UM, "/ws/btcusdt@bookTicker")) as public:
        assert (await messages(public, 1))[0]["e"] == "bookTicker"


async def test_trailing_slash_and_unknown_paths_are_refused(start_server: StartServer) -> None:
    plant = await start_server()
    for path, status in [("/ws/", 400), ("/stream/", 400), ("/nothing/here", 404)]:
        ws = await RawWebSocket.connect(plant.listeners[Market.UM].port, path)
        assert ws.status == status, path
        await ws.close()


async def test_server_pings_with_epoch_ms_and_answers_pings(start_server: StartServer) -> None:
    plant = await start_server(limits={"ping_interval_s": 0.2})
    ws = await RawWebSocket.connect(plant.listeners[Market.UM].port, "/ws")
    before = plant.clock.now_ms()
    ping = await ws.recv_until(PING, timeout=3)
    assert ping.payload.isdigit() and int(ping.payload) >= before
    ws.send(PING, b"hello")
    pong = await ws.recv_until(0xA)
    assert pong.payload == b"hello"
    await ws.close()


async def test_no_pong_closes(start_server: StartServer) -> None:
    plant = await start_server(limits={"ping_interval_s": 0.1, "pong_timeout_s": 0.5})
    ws = await RawWebSocket.connect(plant.listeners[Market.UM].port, "/ws")
    frame = await ws.recv_until(CLOSE, timeout=5)
    assert close_code(frame) == (1008, "No pong received in time")
    await ws.close()


async def test_unsolicited_pongs_keep_the_connection(start_server: StartServer) -> None:
    plant = await start_server(limits={"ping_interval_s": 10, "pong_timeout_s": 0.5})
    ws = await RawWebSocket.connect(plant.listeners[Market.UM].port, "/ws")
    for _ in range(8):
        ws.send(0xA, b"")
        await asyncio.sleep(0.15)
    ws.send_text('{"method":"LIST_SUBSCRIPTIONS","id":1}')
    reply = await ws.recv_until(TEXT)
    assert reply.payload == b'{"result":[],"id":1}'
    await ws.close()


async def test_connection_age_limit(start_server: StartServer) -> None:
    plant = await start_server(limits={"max_connection_age_s": 0.5})
    async with connect(url(plant, Market.CM, "/ws/!bookTicker")) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            async with asyncio.timeout(5):
                while True:
                    await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001


async def test_too_many_messages_close_1008(start_server: StartServer) -> None:
    plant = await start_server()
    async with connect(url(plant, Market.UM, "/ws")) as ws:
        for i in range(11):
            await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": i}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            async with asyncio.timeout(5):
                while True:
                    await ws.recv()
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "Too many requests")


async def test_stream_over_the_cap_gets_code_4_and_1008(start_server: StartServer) -> None:
    plant = await start_server(limits={"max_streams": 3})
    async with connect(url(plant, Market.UM, "/ws/btcusdt@bookTicker")) as ws:
        await ws.send('{"method":"SUBSCRIBE","params":["a@bookTicker","b@bookTicker"],"id":1}')
        await ws.send('{"method":"SUBSCRIBE","params":["c@bookTicker"],"id":2}')
        replies = []
        with pytest.raises(websockets.ConnectionClosed) as closed:
            async with asyncio.timeout(5):
                while True:
                    message = json.loads(await ws.recv())
                    if "id" in message:
                        replies.append(message)
    assert replies == [
        {"result": None, "id": 1},
        {"error": {"code": 4, "msg": "Too many subscriptions"}, "id": 2},
    ]
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "Invalid request")


async def test_invalid_json_gets_code_3_and_a_disconnect(start_server: StartServer) -> None:
    plant = await start_server()
    async with connect(url(plant, Market.UM, "/ws")) as ws:
        await ws.send("hello, not json")
        reply = json.loads(await ws.recv())
        assert reply == {"error": {"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"}, "id": None}
        with pytest.raises(websockets.ConnectionClosed):
            async with asyncio.timeout(5):
                await ws.recv()


async def test_a_slow_consumer_is_cut_off_and_others_go_on(start_server: StartServer) -> None:
    plant = await start_server(
        limits={"send_buffer_bytes": 64 * 1024, "slow_close_grace_s": 0.2},
        simulator={"actions_per_s": None},
    )
    port = plant.listeners[Market.CM].port
    streams = plant.listeners[Market.CM].streams
    assert streams is not None
    slow = await RawWebSocket.connect(port, "/ws/!bookTicker", rcvbuf=4096)
    async with connect(url(plant, Market.CM, "/ws/!bookTicker")) as healthy:
        await asyncio.sleep(0)
        assert (await messages(healthy, 1))[0]["e"] == "bookTicker"
        async with asyncio.timeout(20):
            while len(streams.connections) > 1:
                await healthy.recv()
        received = await messages(healthy, 200)
        assert all(m["e"] == "bookTicker" for m in received)
    await slow.close()


async def test_injected_fault_drop_aborts_without_a_close_frame(start_server: StartServer) -> None:
    plant = await start_server(faults={"drop_after_s": 0.3})
    ws = await RawWebSocket.connect(plant.listeners[Market.CM].port, "/ws/!bookTicker")
    frames = []
    with pytest.raises((asyncio.IncompleteReadError, ConnectionResetError)):
        async with asyncio.timeout(5):
            while True:
                frames.append(await ws.recv())
    assert frames and CLOSE not in {f.opcode for f in frames}
    await ws.close()


async def test_injected_fault_stall_goes_silent(start_server: StartServer) -> None:
    plant = await start_server(faults={"stall_after_s": 0.3})
    ws = await RawWebSocket.connect(plant.listeners[Market.CM].port, "/ws/!bookTicker")
    assert (await ws.recv()).opcode == TEXT
    await asyncio.sleep(0.5)
    with contextlib.suppress(TimeoutError):  # drain what was already in flight
        while True:
            await ws.recv(timeout=0.2)
    ws.send(PING, b"anyone?")
    with pytest.raises(TimeoutError):
        await ws.recv(timeout=0.5)
    await ws.close()
