"""Market streams over real sockets: tickerplant on loopback, the `websockets` client and a
bare client for misbehaviour (spec §2, §3, §4.1, §4.2)."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
import websockets
from conftest import StartServer
from driven_clock import driven
from rawws import CLOSE, TEXT, Frame, RawWebSocket, close_code
from scripted_market import ScriptedMarket, book_ticker, publish
from timing import SECONDS, eventually

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market
from tickerplant.protocol.errors import CLOSE_FINISHED
from tickerplant.protocol.subscription_budget import NAME_COST

BOOK_TICKER_UM = ["e", "u", "s", "b", "B", "a", "A", "T", "E"]
BOOK_TICKER_CM = ["e", "u", "s", "ps", "b", "B", "a", "A", "T", "E"]
MINI_UM = ["e", "E", "s", "c", "o", "h", "l", "v", "q"]
MINI_CM = ["e", "E", "s", "ps", "c", "o", "h", "l", "v", "q"]


async def scripted_server(start_server: StartServer, **overrides: Any) -> Tickerplant:
    """A server whose streams carry only what the test publishes, on a clock that stands
    still unless the test moves it."""
    clock = ManualClock()
    return await start_server(clock=clock, source=ScriptedMarket(clock), **overrides)


async def next_text(ws: RawWebSocket) -> Any:
    return json.loads((await ws.recv_until(TEXT, timeout=5 * SECONDS)).payload)


def connect(uri: str, **kwargs: Any) -> Any:
    # An unbounded queue: the client keeps reading while it closes, so a fast stream does not
    # hold the server's close frame behind unread data until the close timeout.
    return websockets.connect(uri, max_queue=None, **kwargs)


def url(plant: Tickerplant, market: Market, path: str) -> str:
    return plant.url(market) + path


async def messages(ws: Any, count: int, timeout: float = 10 * SECONDS) -> list[Any]:
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
        got = await messages(ws, 2, timeout=20 * SECONDS)
    assert got[0]["stream"] == name and got[0]["data"]["s"] == quarterly[0].symbol


async def test_combined_stream_wraps_with_the_subscribed_name(start_server: StartServer) -> None:
    plant = await start_server()
    path = "/stream?streams=btcusd_perp@bookTicker/btcusd_perp@miniTicker"
    wanted = {"btcusd_perp@bookTicker", "btcusd_perp@miniTicker"}
    got: list[Any] = []
    # the miniTicker comes every 500 ms, the bookTicker on every change of the top
    async with connect(url(plant, Market.CM, path)) as ws, asyncio.timeout(10 * SECONDS):
        while {m["stream"] for m in got} != wanted:
            got += await messages(ws, 1)
            assert {m["stream"] for m in got} <= wanted
    for message in got:
        assert list(message) == ["stream", "data"]
        if message["stream"].endswith("miniTicker"):
            assert list(message["data"]) == MINI_CM
            assert message["data"]["e"] == "24hrMiniTicker"


async def test_mini_ticker_is_warm_from_the_first_push(start_server: StartServer) -> None:
    clock = ManualClock()  # a second's pushes: the market's seconds run as fast as it steps
    plant = await start_server(clock=clock)
    async with connect(url(plant, Market.UM, "/market/ws/btcusdt@miniTicker")) as ws, driven(plant, clock):
        (mini,) = await messages(ws, 1, timeout=5 * SECONDS)
    assert list(mini) == MINI_UM
    assert float(mini["v"]) > 0 and float(mini["q"]) > 0
    assert float(mini["l"]) <= float(mini["o"]) <= float(mini["h"])
    assert float(mini["l"]) <= float(mini["c"]) <= float(mini["h"])
    assert float(mini["h"]) > float(mini["l"])


async def test_all_mini_tickers_array(start_server: StartServer) -> None:
    clock = ManualClock()  # a second's pushes: the market's seconds run as fast as it steps
    plant = await start_server(clock=clock)
    symbols: set[str] = set()
    async with connect(url(plant, Market.UM, "/ws/!miniTicker@arr")) as ws, driven(plant, clock), \
            asyncio.timeout(10 * SECONDS):  # fmt: skip
        # one array a second, of the tickers that changed in it: many symbols in a few arrays
        while len(symbols) <= 10:
            (array,) = await messages(ws, 1)
            assert isinstance(array, list) and array
            assert all(list(item) == MINI_UM for item in array)
            symbols |= {item["s"] for item in array}


async def test_live_subscription_protocol(start_server: StartServer) -> None:
    plant = await scripted_server(start_server)
    ws = await RawWebSocket.connect(plant.listeners[Market.UM].port, "/ws")

    async def ask(request: dict[str, Any]) -> Any:
        ws.send_text(json.dumps(request))
        return await next_text(ws)

    assert await ask({"method": "SUBSCRIBE", "params": ["btcusdt@bookTicker"], "id": 1}) == {"result": None, "id": 1}
    publish(plant, Market.UM, "btcusdt@bookTicker", book_ticker("BTCUSDT", 1))
    assert (await next_text(ws))["u"] == 1
    assert await ask({"method": "SET_PROPERTY", "params": ["combined", True], "id": "a-uuid"}) == {
        "result": None,
        "id": "a-uuid",
    }
    publish(plant, Market.UM, "btcusdt@bookTicker", book_ticker("BTCUSDT", 2))
    combined = await next_text(ws)
    assert combined["stream"] == "btcusdt@bookTicker" and combined["data"]["u"] == 2
    assert await ask({"method": "LIST_SUBSCRIPTIONS", "id": 7}) == {"result": ["btcusdt@bookTicker"], "id": 7}
    assert await ask({"method": "UNSUBSCRIBE", "params": ["btcusdt@bookTicker"], "id": 8}) == {"result": None, "id": 8}
    assert await ask({"method": "GET_PROPERTY", "params": ["combined"], "id": 9}) == {"result": True, "id": 9}
    assert await ask({"method": "SUBSCRIBE", "params": ["ethusdt@bookTicker"], "id": 10}) == {"result": None, "id": 10}
    publish(plant, Market.UM, "btcusdt@bookTicker", book_ticker("BTCUSDT", 3))
    publish(plant, Market.UM, "ethusdt@bookTicker", book_ticker("ETHUSDT", 4))
    assert (await next_text(ws))["stream"] == "ethusdt@bookTicker"  # nothing more from btcusdt
    await ws.close()


async def test_ccxt_style_slot_path_and_errors_keep_the_connection(start_server: StartServer) -> None:
    plant = await scripted_server(start_server)
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
    plant = await scripted_server(start_server)
    caplog.set_level(logging.WARNING, logger="tickerplant.streams")
    ws = await RawWebSocket.connect(plant.listeners[Market.UM].port, "/ws")
    ws.send_text('{"method":"SUBSCRIBE","params":["BTCUSDT@bookTicker","ethusdt@bookTicker"],"id":1}')
    assert await next_text(ws) == {"result": None, "id": 1}
    publish(plant, Market.UM, "btcusdt@bookTicker", book_ticker("BTCUSDT", 1))
    publish(plant, Market.UM, "ethusdt@bookTicker", book_ticker("ETHUSDT", 2))
    assert (await next_text(ws))["s"] == "ETHUSDT"  # BTCUSDT's came first and was not delivered
    await ws.close()
    assert any("BTCUSDT@bookTicker" in r.getMessage() and "lowercase" in r.getMessage() for r in caplog.records)


async def test_lenient_case_delivers_uppercase(start_server: StartServer) -> None:
    plant = await scripted_server(start_server, lenient_case=True)
    ws = await RawWebSocket.connect(plant.listeners[Market.UM].port, "/stream?streams=BTCUSDT@bookTicker")
    publish(plant, Market.UM, "btcusdt@bookTicker", book_ticker("BTCUSDT", 1))
    message = await next_text(ws)
    assert message["stream"] == "BTCUSDT@bookTicker" and message["data"]["s"] == "BTCUSDT"
    await ws.close()


async def test_strict_routing(start_server: StartServer) -> None:
    plant = await scripted_server(start_server, strict_routing=True)
    port = plant.listeners[Market.UM].port
    unrouted = await RawWebSocket.connect(port, "/ws/btcusdt@miniTicker/btcusdt@bookTicker")
    routed = await RawWebSocket.connect(port, "/market/ws/btcusdt@miniTicker")
    mini = b'{"e":"24hrMiniTicker","s":"BTCUSDT"}'
    publish(plant, Market.UM, "btcusdt@miniTicker", mini)
    publish(plant, Market.UM, "btcusdt@bookTicker", book_ticker("BTCUSDT", 1))
    assert (await routed.recv_until(TEXT)).payload == mini
    # the market stream on the unrouted path is silent; the book stream is public
    assert (await next_text(unrouted))["e"] == "bookTicker"
    await unrouted.close()
    await routed.close()


async def test_trailing_slash_and_unknown_paths_are_refused(start_server: StartServer) -> None:
    plant = await scripted_server(start_server)
    for path, status in [("/ws/", 400), ("/stream/", 400), ("/nothing/here", 404)]:
        ws = await RawWebSocket.connect(plant.listeners[Market.UM].port, path)
        assert ws.status == status, path
        await ws.close()
    # COIN-M (dstream) has no routed paths, in the default (lenient) mode too (§2.2): a client
    # that works here on one works nowhere on Binance (``/private`` carries a listen key's
    # user data there too: trading part 4, Unresolved 13)
    for path in ("/public/ws/btcusd_perp@depth", "/market/stream"):
        ws = await RawWebSocket.connect(plant.listeners[Market.CM].port, path)
        assert ws.status == 404, path
        await ws.close()


async def test_stream_over_the_cap_gets_code_4_and_1008(start_server: StartServer) -> None:
    plant = await scripted_server(start_server, limits={"max_streams": 3})
    async with connect(url(plant, Market.UM, "/ws/btcusdt@bookTicker")) as ws:
        await ws.send('{"method":"SUBSCRIBE","params":["a@bookTicker","b@bookTicker"],"id":1}')
        await ws.send('{"method":"SUBSCRIBE","params":["c@bookTicker"],"id":2}')
        replies = []
        with pytest.raises(websockets.ConnectionClosed) as closed:
            async with asyncio.timeout(5 * SECONDS):
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
    plant = await scripted_server(start_server)
    async with connect(url(plant, Market.UM, "/ws")) as ws:
        await ws.send("hello, not json")
        reply = json.loads(await ws.recv())
        assert reply == {"error": {"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"}, "id": None}
        with pytest.raises(websockets.ConnectionClosed):
            async with asyncio.timeout(5 * SECONDS):
                await ws.recv()


async def fill_until(plant: Tickerplant, reader: RawWebSocket, done: Callable[[], bool]) -> None:
    """Publish 16 KiB book tickers, each read by ``reader`` (so it never falls behind),
    until ``done()``: a connection that does not read falls further behind each time."""
    update_id = 0
    async with asyncio.timeout(10 * SECONDS):
        while not done():
            update_id += 1
            payload = book_ticker("BTCUSDT", update_id, padding=16 * 1024)
            publish(plant, Market.UM, "btcusdt@bookTicker", payload)
            assert await reader.recv(timeout=5 * SECONDS) == Frame(TEXT, payload)


async def read_to_the_end(ws: RawWebSocket) -> list[Frame]:
    frames = []
    with pytest.raises((asyncio.IncompleteReadError, ConnectionResetError)):
        async with asyncio.timeout(10 * SECONDS):
            while True:
                frames.append(await ws.recv(timeout=5 * SECONDS))
    return frames


async def test_the_end_of_the_source_closes_each_stream_once_it_has_read_or_at_the_deadline(
    start_server: StartServer,
) -> None:
    plant = await scripted_server(start_server)
    clock = plant.clock
    assert isinstance(clock, ManualClock)
    surface = plant.listeners[Market.UM].streams
    assert surface is not None
    port = plant.listeners[Market.UM].port
    behind = await RawWebSocket.connect(port, "/ws/btcusdt@bookTicker", rcvbuf=4096)
    (behind_connection,) = surface.connections
    caught_up = await RawWebSocket.connect(port, "/ws/btcusdt@bookTicker")
    await fill_until(plant, caught_up, lambda: behind_connection.unsent_bytes() > 0)
    plant.finished(CLOSE_FINISHED.reason)
    assert close_code(await caught_up.recv_until(CLOSE, timeout=5 * SECONDS)) == CLOSE_FINISHED
    clock.advance(59_999)  # a reader that is behind gets 60 s of the clock
    for _ in range(3):
        await asyncio.sleep(0)
    assert not plant.done.is_set() and not behind_connection.closing
    clock.advance(1)
    async with asyncio.timeout(5 * SECONDS):
        await plant.done.wait()
    assert behind_connection.closing
    await behind.close()
    await caught_up.close()


async def test_the_names_subscriptions_hold_are_bounded_per_connection_and_per_process(
    start_server: StartServer,
) -> None:
    """A name is kept as sent (§3.4) and a message may be 1 MiB: per connection the names'
    bytes, per process every connection's names with what keeping each costs, are bounded
    (``protocol/subscription_budget.py``), each answered as stream 1025 is (§2.5)."""
    each = NAME_COST + len("btcusdt@bookTicker")  # every name here is 18 bytes
    plant = await scripted_server(start_server, limits={"subscription_bytes_total": 3 * each})
    port, budget = plant.listeners[Market.UM].port, plant.listeners[Market.UM].streams.subscription_budget
    first = await RawWebSocket.connect(port, "/ws/btcusdt@bookTicker")
    first.send_text('{"method":"SUBSCRIBE","params":["ethusdt@bookTicker"],"id":1}')
    assert await next_text(first) == {"result": None, "id": 1}
    assert budget.held == 2 * each
    assert budget.limit == 3 * each
    # a URL whose names pass the bound is refused before the upgrade, as too many in it are
    refused = await RawWebSocket.connect(port, "/stream?streams=xrpusdt@bookTicker/bnbusdt@bookTicker")
    assert refused.status == 400
    second = await RawWebSocket.connect(port, "/ws")
    second.send_text('{"method":"SUBSCRIBE","params":["xrpusdt@bookTicker","bnbusdt@bookTicker"],"id":2}')
    assert await next_text(second) == {"error": {"code": 4, "msg": "Too many subscriptions"}, "id": 2}
    assert close_code(await second.recv_until(CLOSE, timeout=5 * SECONDS)) == (1008, "Invalid request")
    third = await RawWebSocket.connect(port, "/ws")
    third.send_text('{"method":"SUBSCRIBE","params":["xrpusdt@bookTicker"],"id":3}')
    assert await next_text(third) == {"result": None, "id": 3}
    publish(plant, Market.UM, "btcusdt@bookTicker", book_ticker("BTCUSDT", 1))  # the others go on
    assert (await next_text(first))["s"] == "BTCUSDT"
    await first.close()
    await eventually(lambda: budget.held == each)  # its names given back once the server saw it close
    third.send_text('{"method":"SUBSCRIBE","params":["ethusdt@bookTicker","bnbusdt@bookTicker"],"id":4}')
    assert await next_text(third) == {"result": None, "id": 4}
    await third.close()
    # one connection's names: 128 bytes a stream it may hold (131,072 at 1024), however few
    roomy = await scripted_server(start_server)  # the process' bound at its default
    own = await RawWebSocket.connect(roomy.listeners[Market.UM].port, "/ws")
    own.send_text('{"method":"SUBSCRIBE","params":["%s"],"id":5}' % ("q" * 131_071))
    assert await next_text(own) == {"result": None, "id": 5}
    own.send_text('{"method":"SUBSCRIBE","params":["q","r"],"id":6}')
    assert await next_text(own) == {"error": {"code": 4, "msg": "Too many subscriptions"}, "id": 6}
    assert close_code(await own.recv_until(CLOSE, timeout=5 * SECONDS)) == (1008, "Invalid request")
