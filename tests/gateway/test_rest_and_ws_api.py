"""REST and the WebSocket API over real sockets: tickerplant on loopback, stdlib HTTP and
the `websockets` client (spec §5–§7)."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

import pytest
import websockets
from conftest import StartServer
from rawws import RawWebSocket
from timing import SECONDS

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market


class Http:
    def __init__(self, status: int, headers: dict[str, str], body: Any) -> None:
        self.status, self.headers, self.body = status, headers, body


async def get(plant: Tickerplant, market: Market, path: str) -> Http:
    url = plant.url(market).replace("ws://", "http://") + path

    def fetch() -> Http:
        try:
            with urllib.request.urlopen(url, timeout=10 * SECONDS) as response:
                return Http(response.status, dict(response.headers), json.loads(response.read()))
        except urllib.error.HTTPError as error:
            return Http(error.code, dict(error.headers), json.loads(error.read()))

    return await asyncio.get_running_loop().run_in_executor(None, fetch)


async def test_ticker_book_equals_the_book_ticker_pushed_at_that_moment(start_server: StartServer) -> None:
    plant = await start_server()
    pushed: dict[int, dict[str, Any]] = {}
    async with (
        websockets.connect(plant.url(Market.UM) + "/ws/btcusdt@bookTicker", max_queue=None) as stream,
        websockets.connect(plant.url(Market.UM) + "/ws-fapi/v1") as api,
    ):
        for _ in range(5):
            message = json.loads(await stream.recv())
            pushed[message["u"]] = message
        await api.send(json.dumps({"id": "x", "method": "ticker.book", "params": {"symbol": "BTCUSDT"}}))
        result = json.loads(await api.recv())["result"]
        async with asyncio.timeout(5 * SECONDS):
            while result["lastUpdateId"] not in pushed:
                message = json.loads(await stream.recv())
                pushed[message["u"]] = message
    same = pushed[result["lastUpdateId"]]
    assert (result["bidPrice"], result["bidQty"], result["askPrice"], result["askQty"], result["time"]) == (
        same["b"], same["B"], same["a"], same["A"], same["T"]
    )  # fmt: skip


async def test_rest_endpoints_headers_and_shared_weight(start_server: StartServer) -> None:
    plant = await start_server(clock=ManualClock())  # the weights below all fall in one clock minute
    ping = await get(plant, Market.UM, "/fapi/v1/ping")
    assert (ping.status, ping.body) == (200, {})
    assert ping.headers["Content-Type"] == "application/json"
    assert ping.headers["X-MBX-USED-WEIGHT-1M"] == "1"
    assert ping.headers["Access-Control-Allow-Origin"] == "*", "a page on another origin reads REST"
    assert ping.headers["Access-Control-Allow-Methods"] == "GET, POST, PUT, DELETE, OPTIONS"  # part 1 §7.3
    info = await get(plant, Market.UM, "/fapi/v1/exchangeInfo")
    assert {s["symbol"] for s in info.body["symbols"]} >= {"BTCUSDT", "ETHUSDT"}
    async with websockets.connect(plant.url(Market.UM) + "/ws-fapi/v1") as api:  # the handshake costs 5
        await api.send('{"id":1,"method":"ticker.price","params":{"symbol":"BTCUSDT"}}')
        reply = json.loads(await api.recv())
    assert reply["rateLimits"][0]["count"] == 1 + 1 + 5 + 1
    price = await get(plant, Market.UM, "/fapi/v2/ticker/price?symbol=BTCUSDT")
    assert price.headers["X-MBX-USED-WEIGHT-1M"] == "9"
    assert price.body["symbol"] == "BTCUSDT" and float(price.body["price"]) > 0
    depth = await get(plant, Market.CM, "/dapi/v1/depth?symbol=BTCUSD_PERP&limit=5")
    assert depth.body["pair"] == "BTCUSD" and len(depth.body["bids"]) == 5
    assert depth.headers["X-MBX-USED-WEIGHT-1M"] == "2", "each market keeps its own budget"
    # REST's depth without a limit: the 500 levels at a weight of 1, as measured on Binance (§7.4);
    # the same in the WebSocket API costs its documented 10 (§6); a limit of 500 costs 10 on both
    depth = await get(plant, Market.CM, "/dapi/v1/depth?symbol=BTCUSD_PERP&limit=500")
    deepest = len(depth.body["bids"])
    for query, weight, levels in (("", 1, deepest), ("&limit=", 1, deepest), ("&limit=500", 10, deepest),
                                  ("&limit=5", 2, 5), ("&limit=7", 1, None)):  # fmt: skip
        used = int(depth.headers["X-MBX-USED-WEIGHT-1M"])
        depth = await get(plant, Market.CM, f"/dapi/v1/depth?symbol=BTCUSD_PERP{query}")
        shown = len(depth.body["bids"]) if depth.status == 200 else None
        assert (shown, int(depth.headers["X-MBX-USED-WEIGHT-1M"]) - used) == (levels, weight), query
    # COIN-M's tickers by pair, every contract of it: weighed as without a symbol (§7.5–§7.7)
    for path, weight in (("ticker/price", 2), ("ticker/bookTicker", 5), ("ticker/24hr", 40)):
        used = int(depth.headers["X-MBX-USED-WEIGHT-1M"])
        depth = await get(plant, Market.CM, f"/dapi/v1/{path}?pair=BTCUSD")
        assert (depth.status, int(depth.headers["X-MBX-USED-WEIGHT-1M"]) - used) == (200, weight), path
    async with websockets.connect(plant.url(Market.UM) + "/ws-fapi/v1") as api:
        counts = []
        for asked in ({"symbol": "BTCUSDT", "limit": 5}, {"symbol": "BTCUSDT"}):
            await api.send(json.dumps({"id": 1, "method": "depth", "params": asked}))
            counts.append(json.loads(await api.recv())["rateLimits"][0]["count"])
    assert counts[1] - counts[0] == 10
    spot = await get(plant, Market.UM, "/api/v3/ping")
    assert spot.body == {}
    missing = await get(plant, Market.UM, "/fapi/v1/noSuchEndpoint")
    assert (missing.status, missing.body["code"]) == (404, -5000)


async def test_rest_429_with_retry_after_then_418(start_server: StartServer) -> None:
    # On a clock that stands still: the weight window is the clock minute, and a real one
    # could roll over in the middle of the test.
    plant = await start_server(request_weight_per_min=3, clock=ManualClock())
    statuses = []
    for _ in range(8):
        answer = await get(plant, Market.UM, "/fapi/v1/ticker/bookTicker?symbol=BTCUSDT")  # weight 2
        statuses.append(answer.status)
        if answer.status == 429:
            assert answer.body["code"] == -1003 and "current limit of IP(127.0.0.1) is 3" in answer.body["msg"]
            assert 1 <= int(answer.headers["Retry-After"]) <= 60
        if answer.status == 418:
            assert "banned until" in answer.body["msg"] and int(answer.headers["Retry-After"]) >= 100
    assert statuses[:1] == [200] and 429 in statuses and statuses[-1] == 418
    refused = await RawWebSocket.connect(plant.listeners[Market.UM].port, "/ws-fapi/v1")
    assert refused.status == 418  # a banned IP cannot open the WebSocket API either
    await refused.close()


async def test_exchange_info_declares_the_weight_limit_the_server_keeps(start_server: StartServer) -> None:
    """A client sizes its throttle from ``exchangeInfo.rateLimits`` (spec §7.1): the
    REQUEST_WEIGHT it declares is ``--request-weight``'s, the one its 429 names; the order
    limits stay Binance's."""
    plant = await start_server(request_weight_per_min=300, clock=ManualClock())
    for market, prefix in ((Market.UM, "/fapi"), (Market.CM, "/dapi")):
        info = await get(plant, market, f"{prefix}/v1/exchangeInfo")
        limits = {(r["rateLimitType"], r["interval"], r["intervalNum"]): r["limit"] for r in info.body["rateLimits"]}
        orders = {("ORDERS", "MINUTE", 1): 1200} | ({("ORDERS", "SECOND", 10): 300} if market is Market.UM else {})
        assert limits == {("REQUEST_WEIGHT", "MINUTE", 1): 300, **orders}
    async with websockets.connect(plant.url(Market.UM) + "/ws-fapi/v1") as api:
        await api.send('{"id":1,"method":"time"}')
        (weight,) = json.loads(await api.recv())["rateLimits"]
    assert (weight["rateLimitType"], weight["limit"]) == ("REQUEST_WEIGHT", 300)


async def test_a_symbol_sent_empty_is_refused_not_taken_for_every_symbol(start_server: StartServer) -> None:
    """§8.1: -1105 "Parameter 'symbol' was empty." is ``symbol=``'s, where `symbol` is
    optional (without it the answer is every symbol's: an empty one is not that); where it
    is mandatory, -1102's "was empty/null"."""
    plant = await start_server(clock=ManualClock())
    empty = {"code": -1105, "msg": "Parameter 'symbol' was empty."}
    for market, prefix in ((Market.UM, "/fapi"), (Market.CM, "/dapi")):
        for path in ("ticker/price", "ticker/bookTicker", "ticker/24hr", "premiumIndex", "fundingRate"):
            answer = await get(plant, market, f"{prefix}/v1/{path}?symbol=")
            assert (answer.status, answer.body) == (400, empty), path
        answer = await get(plant, market, f"{prefix}/v1/depth?symbol=")
        assert (answer.status, answer.body["code"]) == (400, -1102)
    for path in ("assetIndex", "indexInfo"):
        assert (await get(plant, Market.UM, f"/fapi/v1/{path}?symbol=")).body == empty, path
    async with websockets.connect(plant.url(Market.UM) + "/ws-fapi/v1") as api:
        await api.send('{"id":1,"method":"ticker.price","params":{"symbol":""}}')
        reply = json.loads(await api.recv())
    assert (reply["status"], reply["error"]) == (400, empty)


async def test_ws_api_ban_closes_the_connection(start_server: StartServer) -> None:
    plant = await start_server(request_weight_per_min=12, clock=ManualClock())
    async with websockets.connect(plant.url(Market.UM) + "/ws-fapi/v1") as api:
        statuses = []
        with pytest.raises(websockets.ConnectionClosed) as closed:
            for i in range(20):
                await api.send(json.dumps({"id": i, "method": "ticker.book", "params": {"symbol": "ETHUSDT"}}))
                statuses.append(json.loads(await api.recv())["status"])
    assert statuses[:3] == [200, 200, 200] and 429 in statuses and statuses[-1] == 418
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_the_coin_m_ws_api_answers_no_market_data(start_server: StartServer) -> None:
    """COIN-M's WebSocket API has no market-data method (trading part 1 §8.7: Binance documents
    none, its COIN-M SDK has none): each is an unknown method there, as on Binance, where a
    bot asking one would be refused; COIN-M's market data is REST's and the streams'."""
    plant = await start_server()
    async with websockets.connect(plant.url(Market.CM) + "/ws-dapi/v1") as api:
        for method in ("depth", "ticker.book", "ticker.price"):
            await api.send(json.dumps({"id": "q", "method": method, "params": {"symbol": "BTCUSD_PERP"}}))
            reply = json.loads(await api.recv())
            assert (reply["status"], reply["error"]) == (400, {"code": -1000, "msg": f"Unknown method '{method}'."})
