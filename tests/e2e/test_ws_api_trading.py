# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""The WebSocket API's trading methods over a real socket (trading part 1 §8): python-binance's
``ws_futures_*`` (HMAC and Ed25519), Binance's modular SDK's ``websocket_api`` (RSA) and raw
frames, unchanged but for their URLs. A WebSocket order is the engine's like a REST one: REST
``openOrders`` lists it and the user data stream carries its events; one account's key or
session reaches none of another's orders; the failures come back as Binance frames them."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from binance import AsyncClient
from binance.ws.websocket_api import WebsocketAPI
from binance_common.configuration import ConfigurationWebSocketAPI
from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
    DerivativesTradingUsdsFutures,
)
from binance_sdk_derivatives_trading_usds_futures.websocket_api.models import (
    NewOrderSideEnum,
    NewOrderTimeInForceEnum,
    NewOrderTypeEnum,
)
from conftest import StartServer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from ports import free_port
from test_venue_clients import (  # noqa: F401
    STILL,
    Key,
    Venue,
    _private_pem,
    _public_pem,
    ccxt_usdm,
    closing,
    plant,
    python_binance,
    venue,
)  # fmt: skip
from timing import eventually

from tickerplant.app import Tickerplant
from tickerplant.market.instruments import Market
from tickerplant.market.units import fixed
from tickerplant.venue.auth.signing import hmac_hex

SECONDS = 1.0


def below_bid(plant: Tickerplant, market: Market, symbol: str, by: int) -> str:
    bid = next(plant.engines[market].data.levels(symbol, True))[0]
    return fixed(bid - by, plant.engines[market].instruments[symbol].price_decimals)


async def ws_client(plant: Tickerplant, made: list[Any], key: Key, *, pem: bool = False) -> AsyncClient:
    client = await python_binance(plant, made, key, pem=pem)
    client.ws_future = WebsocketAPI(url=f"ws://127.0.0.1:{plant.listeners[Market.UM].port}/ws-fapi/v1")
    return client


@pytest.fixture
async def sockets() -> AsyncIterator[list[WebsocketAPI]]:
    """python-binance's WS API connections, ended by closing their sockets (its read loop
    notices close() only between reads: test_python_binance's clients fixture)."""
    made: list[WebsocketAPI] = []
    yield made
    for api in made:
        closing = asyncio.ensure_future(api.close())
        await asyncio.sleep(0)
        if api.ws is not None:
            await api.ws.close()
        await asyncio.wait_for(closing, 15 * SECONDS)


class Raw:
    """One WebSocket API connection sending raw frames."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.n = 0

    async def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self.n += 1
        request: dict[str, Any] = {"id": f"r{self.n}", "method": method}
        if params is not None:
            request["params"] = params
        await self.ws.send_str(json.dumps(request))
        reply: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.receive_str(), 10 * SECONDS))
        assert reply["id"] == request["id"]  # echoed, refusals too (clients match replies by id)
        return reply

    async def frame(self, text: str) -> dict[str, Any]:
        """A frame sent as written, and its reply."""
        await self.ws.send_str(text)
        reply: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.receive_str(), 10 * SECONDS))
        return reply


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def raw(http: aiohttp.ClientSession, plant: Tickerplant, market: Market = Market.UM) -> Raw:
    path = "ws-fapi" if market is Market.UM else "ws-dapi"
    return Raw(await http.ws_connect(f"ws://127.0.0.1:{plant.listeners[market].port}/{path}/v1"))


def hmac_signed(plant: Tickerplant, key: Key, params: dict[str, Any], *, skew_ms: int = 0) -> dict[str, Any]:
    params = {"apiKey": key.api_key, "timestamp": plant.clock.now_ms() + skew_ms, **params}
    payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    return params | {"signature": hmac_hex(key.secret, payload.encode())}


def ed_signed(plant: Tickerplant, key: Key, params: dict[str, Any]) -> dict[str, Any]:
    params = {"apiKey": key.api_key, "timestamp": plant.clock.now_ms(), **params}
    payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    private = load_pem_private_key(key.secret.encode(), None)
    signature = base64.b64encode(private.sign(payload.encode())).decode()  # type: ignore[call-arg,union-attr]
    return params | {"signature": signature}


async def test_python_binance_trades_over_the_ws_api(
    plant: Tickerplant, venue: Venue, closing: list[Any], sockets: list[WebsocketAPI], http: aiohttp.ClientSession
) -> None:
    client = await ws_client(plant, closing, venue.alice_hmac)
    sockets.append(client.ws_future)
    um = plant.listeners[Market.UM]
    assert um.streams is not None
    # the user data stream, its listen key from userDataStream.start on the same WS API
    listen_key = (await (await raw(http, plant)).call("userDataStream.start", {"apiKey": venue.alice_hmac.api_key}))
    user = await http.ws_connect(f"ws://127.0.0.1:{um.port}/private/ws?listenKey={listen_key['result']['listenKey']}")
    await eventually(lambda: len(um.streams.connections) == 1)

    price = below_bid(plant, Market.UM, "BTCUSDT", 50_000)
    placed = await client.ws_futures_create_order(
        symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.010", price=price
    )
    assert (placed["status"], placed["price"], placed["origQty"]) == ("NEW", price, "0.010")
    assert placed["clientOrderId"].startswith("x-Cb7ytekJ")
    event = json.loads(await asyncio.wait_for(user.receive_str(), 10 * SECONDS))
    assert event["e"] == "ORDER_TRADE_UPDATE"
    assert (event["o"]["x"], event["o"]["i"], event["o"]["c"]) == ("NEW", placed["orderId"], placed["clientOrderId"])
    # the same order over REST
    assert [o["orderId"] for o in await client.futures_get_open_orders(symbol="BTCUSDT")] == [placed["orderId"]]
    got = await client.ws_futures_get_order(symbol="BTCUSDT", orderId=placed["orderId"])
    assert (got["status"], got["time"]) == ("NEW", placed["updateTime"])
    status = await client.ws_futures_account_status()  # account.status: /fapi/v2/account
    assert status["feeTier"] == 0 and Decimal(status["totalOpenOrderInitialMargin"]) > 0
    # the WebSocket shapes (part 3 §4.2, part 1 §8.7): v2's positions end with breakEvenPrice,
    # v3's assets carry marginAvailable before updateTime; REST's do neither
    rest_v2 = await client.futures_account(version=2)
    assert [list(p)[-2:] for p in status["positions"]] == [["updateTime", "breakEvenPrice"]] * len(status["positions"])
    assert [{**p, "breakEvenPrice": None} for p in status["positions"]] == [
        {**p, "breakEvenPrice": None} for p in rest_v2["positions"]]  # fmt: skip
    v2 = await client.ws_futures_v2_account_status()  # v3's shape
    assert "feeTier" not in v2 and [p["symbol"] for p in v2["positions"]] == ["BTCUSDT"]
    assert [list(a)[-2:] for a in v2["assets"]] == [["marginAvailable", "updateTime"]] * len(v2["assets"])
    assert all(a["marginAvailable"] is True for a in v2["assets"])
    rest_v3 = await client.futures_account(version=3)
    assert all("marginAvailable" not in a for a in rest_v3["assets"])
    balances = await client.ws_futures_account_balance()
    assert balances[0]["asset"] == "USDT" and balances[0]["balance"] == "10000.00000000"
    assert (await client.ws_futures_v2_account_balance())[0]["asset"] == "USDT"
    assert [p["symbol"] for p in await client.ws_futures_v2_account_position()] == ["BTCUSDT"]
    assert any(p["symbol"] == "ETHUSDT" for p in await client.ws_futures_account_position())
    moved = below_bid(plant, Market.UM, "BTCUSDT", 60_000)
    edited = await client.ws_futures_edit_order(
        symbol="BTCUSDT", orderId=placed["orderId"], side="BUY", quantity="0.010", price=moved
    )  # order.modify: PUT /fapi/v1/order's twin
    assert (edited["status"], edited["price"], edited["orderId"]) == ("NEW", moved, placed["orderId"])
    event = json.loads(await asyncio.wait_for(user.receive_str(), 10 * SECONDS))
    assert (event["o"]["x"], event["o"]["p"]) == ("AMENDMENT", moved.rstrip("0").rstrip("."))
    cancelled = await client.ws_futures_cancel_order(symbol="BTCUSDT", origClientOrderId=placed["clientOrderId"])
    assert cancelled["status"] == "CANCELED"
    event = json.loads(await asyncio.wait_for(user.receive_str(), 10 * SECONDS))
    assert (event["o"]["x"], event["o"]["i"]) == ("CANCELED", placed["orderId"])
    assert await client.futures_get_open_orders() == []
    # a taker over the WS API fills and settles like a REST one
    bought = await client.ws_futures_create_order(
        symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.010", newOrderRespType="RESULT"
    )
    assert (bought["status"], bought["executedQty"]) == ("FILLED", "0.010")
    positions = [p for p in await client.futures_position_information() if p["symbol"] == "BTCUSDT"]
    assert positions[0]["positionAmt"] == "0.010"
    # reduceOnly=True: python-binance signs str(True), sends JSON true
    closed = await client.ws_futures_create_order(
        symbol="BTCUSDT", side="SELL", type="MARKET", quantity="0.010", reduceOnly=True, newOrderRespType="RESULT"
    )
    assert closed["status"] == "FILLED"
    await user.close()


async def test_python_binance_ed25519_and_its_encoded_signature(
    plant: Tickerplant, venue: Venue, closing: list[Any], sockets: list[WebsocketAPI]
) -> None:
    client = await ws_client(plant, closing, venue.alice_ed25519, pem=True)
    sockets.append(client.ws_future)
    rows = await client.ws_futures_account_balance()  # signature base64, then URL-encoded
    assert rows[0]["balance"] == "10000.00000000"


async def test_binance_sdk_websocket_api_with_rsa(plant: Tickerplant, venue: Venue) -> None:
    port = plant.listeners[Market.UM].port
    client = DerivativesTradingUsdsFutures(config_ws_api=ConfigurationWebSocketAPI(
        api_key=venue.alice_rsa.api_key, private_key=venue.alice_rsa.secret,
        stream_url=f"ws://127.0.0.1:{port}/ws-fapi/v1",
    ))  # fmt: skip
    api = client.websocket_api
    await api.create_connection()
    try:
        price = float(below_bid(plant, Market.UM, "ETHUSDT", 1000))
        response = await api.new_order(
            symbol="ETHUSDT", side=NewOrderSideEnum.BUY, type=NewOrderTypeEnum.LIMIT,
            time_in_force=NewOrderTimeInForceEnum.GTC, quantity=0.01, price=price,
        )  # fmt: skip
        placed = response.data().result
        assert placed.status == "NEW" and placed.orig_qty == "0.010"
        assert [(r.rateLimitType, r.interval, r.count) for r in response.rate_limits or []] == [
            ("ORDERS", "SECOND", 1), ("ORDERS", "MINUTE", 1), ("REQUEST_WEIGHT", "MINUTE", 5)]  # fmt: skip
        # (the IP's weight: the handshake's 5, the placement's 0)
        queried = (await api.query_order(symbol="ETHUSDT", order_id=placed.order_id)).data().result
        assert queried.status == "NEW"
        account = (await api.account_information()).data().result
        assert account.total_wallet_balance == "10000.00000000"
        stream = (await api.start_user_data_stream()).data().result
        assert len(stream.listen_key) == 64
        cancelled = (await api.cancel_order(symbol="ETHUSDT", order_id=placed.order_id)).data().result
        assert cancelled.status == "CANCELED"
    finally:
        await api.close_connection()


async def test_failures_in_the_ws_api_frame(
    plant: Tickerplant, venue: Venue, http: aiohttp.ClientSession
) -> None:
    ws = await raw(http, plant)
    params = {"symbol": "BTCUSDT", "orderId": 1}
    bad = await ws.call("order.status", hmac_signed(plant, venue.alice_hmac, params) | {"signature": "00" * 32})
    assert (bad["status"], bad["error"]) == (400, {"code": -1022, "msg": "Signature for this request is not valid."})
    assert bad["rateLimits"][0]["rateLimitType"] == "REQUEST_WEIGHT"
    stale = await ws.call("order.status", hmac_signed(plant, venue.alice_hmac, params, skew_ms=-30_000))
    assert stale["error"] == {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}
    unknown = await ws.call("order.status", hmac_signed(plant, Key("Z" * 64, "Z" * 64), params))
    assert (unknown["status"], unknown["error"]) == (
        401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."})  # fmt: skip
    missing = await ws.call("order.place", hmac_signed(plant, venue.alice_hmac, {
        "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "price": "1000.00"}))  # fmt: skip
    assert missing["error"] == {
        "code": -1102, "msg": "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed."}  # fmt: skip
    assert [r["rateLimitType"] for r in missing["rateLimits"]] == ["ORDERS", "ORDERS", "REQUEST_WEIGHT"]
    # session.logon takes Ed25519 keys only
    hmac_logon = await ws.call("session.logon", hmac_signed(plant, venue.alice_hmac, {}))
    assert hmac_logon["error"]["code"] == -1022
    rsa_logon = await ws.call("session.logon", hmac_signed(plant, venue.alice_rsa, {}))
    assert rsa_logon["error"]["code"] == -1022
    assert (await ws.call("session.status"))["result"]["apiKey"] is None
    await ws.ws.close()


async def test_a_session_and_the_walls_between_accounts(
    plant: Tickerplant, venue: Venue, http: aiohttp.ClientSession, closing: list[Any]
) -> None:
    alice = await raw(http, plant)
    logon = await alice.call("session.logon", ed_signed(plant, venue.alice_ed25519, {}))
    assert logon["status"] == 200 and logon["result"]["apiKey"] == venue.alice_ed25519.api_key
    assert logon["rateLimits"][0]["rateLimitType"] == "REQUEST_WEIGHT"
    price = below_bid(plant, Market.UM, "BTCUSDT", 60_000)
    placed = await alice.call("order.place", {
        "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": 0.010,
        "price": price, "timestamp": plant.clock.now_ms()})  # fmt: skip
    assert placed["status"] == 200, placed
    order_id = placed["result"]["orderId"]
    # bob's key, signing itself, or bob's own session: neither finds nor cancels alice's order
    bob = await raw(http, plant)
    ref = {"symbol": "BTCUSDT", "orderId": order_id}
    assert (await bob.call("order.status", hmac_signed(plant, venue.bob_hmac, ref)))["error"]["code"] == -2013
    assert (await bob.call("order.cancel", hmac_signed(plant, venue.bob_hmac, ref)))["error"]["code"] == -2011
    # nor bob's key on alice's logged-on connection
    assert (await alice.call("order.cancel", hmac_signed(plant, venue.bob_hmac, ref)))["error"]["code"] == -2011
    # alice's session reads it; REST lists it
    mine = await alice.call("order.status", ref | {"timestamp": plant.clock.now_ms()})
    assert mine["result"]["status"] == "NEW"
    rest = await python_binance(plant, closing, venue.alice_hmac)
    assert [o["orderId"] for o in await rest.futures_get_open_orders(symbol="BTCUSDT")] == [order_id]
    out = await alice.call("session.logout")
    assert out["result"]["apiKey"] is None
    after = await alice.call("order.cancel", ref | {"timestamp": plant.clock.now_ms()})
    assert after["error"]["code"] == -1102  # no apiKey now
    done = await alice.call("order.cancel", hmac_signed(plant, venue.alice_hmac, ref))
    assert done["result"]["status"] == "CANCELED"
    for ws in (alice, bob):
        await ws.ws.close()


async def test_coin_m_on_ws_dapi(plant: Tickerplant, venue: Venue, http: aiohttp.ClientSession) -> None:
    ws = await raw(http, plant, Market.CM)
    placed = await ws.call("order.place", hmac_signed(plant, venue.alice_hmac, {
        "symbol": "BTCUSD_PERP", "side": "BUY", "type": "MARKET", "quantity": "1", "newOrderRespType": "RESULT"}))  # fmt: skip
    assert placed["status"] == 200, placed
    assert (placed["result"]["status"], placed["result"]["pair"]) == ("FILLED", "BTCUSD")
    assert [r["interval"] for r in placed["rateLimits"]] == ["MINUTE", "MINUTE"]  # ORDERS 1m, then the weight
    # COIN-M's account.position takes `pair` and `marginAsset` (part 3 §2.3), not `symbol`
    positions = await ws.call("account.position", hmac_signed(plant, venue.alice_hmac, {"pair": "BTCUSD"}))
    assert {r["symbol"]: r["positionAmt"] for r in positions["result"]}["BTCUSD_PERP"] == "1"
    assert all(r["symbol"].startswith("BTCUSD_") for r in positions["result"])
    balance = await ws.call("account.balance", hmac_signed(plant, venue.alice_hmac, {}))
    assert "withdrawAvailable" in balance["result"][0]
    assert "feeTier" in (await ws.call("account.status", hmac_signed(plant, venue.alice_hmac, {})))["result"]
    v2 = await ws.call("v2/account.status", hmac_signed(plant, venue.alice_hmac, {}))
    assert v2["error"]["code"] == -1000  # no v2/ names on ws-dapi (§8.7)
    await ws.ws.close()


async def test_the_frames_binance_refuses(
    start_server: StartServer, venue: Venue, http: aiohttp.ClientSession
) -> None:
    """What a frame gets that Binance would refuse: a missing ``id`` (§8.3, mandatory; null is
    one), a name sent in two cases (decision 4, ``-1101`` as REST), a ``returnRateLimits``
    that is no boolean; ``rateLimits`` on the frame's own refusals (§8.4); ``algoOrder.*`` on
    ws-dapi (§8.7: none); a session whose account was disabled ends at its next request,
    ``session.status`` too (§8.6)."""
    plant = await start_server(simulator=STILL, venue_db=str(venue.path), admin_port=free_port())
    ws = await raw(http, plant)
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.010"}
    no_id = await ws.frame(json.dumps({"method": "order.place", "params": hmac_signed(plant, venue.alice_hmac, order)}))
    assert (no_id["id"], no_id["status"], no_id["error"]) == (None, 400, {
        "code": -1102, "msg": "Mandatory parameter 'id' was not sent, was empty/null, or malformed."})  # fmt: skip
    assert "rateLimits" in no_id
    status = await ws.frame(json.dumps({"id": None, "method": "account.balance",
                                        "params": hmac_signed(plant, venue.alice_hmac, {})}))  # fmt: skip
    assert (status["id"], status["status"]) == (None, 200)  # a null id is an id
    positions = await ws.call("account.position", hmac_signed(plant, venue.alice_hmac, {}))
    assert not [p for p in positions["result"] if Decimal(p["positionAmt"])]  # the order without id: not placed
    twice = await ws.call("order.status", hmac_signed(plant, venue.alice_hmac, {"symbol": "BTCUSDT", "SYMBOL": "X"}))
    assert twice["error"] == {"code": -1101, "msg": "Duplicate values for a parameter detected."}
    for shown, value in ((False, "False"), (True, "True"), (False, False), (False, "FALSE")):
        ticker = await ws.call("ticker.price", {"symbol": "BTCUSDT", "returnRateLimits": value})
        assert ticker["status"] == 200 and ("rateLimits" in ticker) is shown, (value, ticker)
        mine = await ws.call("account.balance", hmac_signed(plant, venue.alice_hmac, {"returnRateLimits": value}))
        assert mine["status"] == 200 and ("rateLimits" in mine) is shown, (value, mine)
    for method, params in (("ticker.price", {"symbol": "BTCUSDT"}), ("account.balance", {})):
        odd = await ws.call(method, hmac_signed(plant, venue.alice_hmac, params | {"returnRateLimits": "0"}))
        assert odd["error"] == {"code": -1130, "msg": "Data sent for parameter 'returnRateLimits' is not valid."}
        assert "rateLimits" in odd
    for text in ('{"id":7,"method":"account.foo","params":{}}', '{"id":8,"params":{}}',
                 '{"id":9,"method":"ticker.price","params":[1]}'):  # fmt: skip
        refused = await ws.frame(text)
        assert refused["status"] == 400 and refused["rateLimits"][0]["count"] > 0, refused
    hidden = await ws.frame('{"id":10,"method":"account.foo","params":{"returnRateLimits":false}}')
    assert hidden["error"]["code"] == -1000 and "rateLimits" not in hidden
    dapi = await raw(http, plant, Market.CM)
    algo = await dapi.call("algoOrder.place", hmac_signed(plant, venue.alice_hmac, {
        "algoType": "CONDITIONAL", "symbol": "BTCUSD_PERP", "side": "SELL", "type": "STOP_MARKET",
        "quantity": "1", "triggerPrice": "1000.0"}))  # fmt: skip
    assert algo["error"] == {"code": -1000, "msg": "Unknown method 'algoOrder.place'."}
    # bob logs on; the operator disables his account; his session.status is refused, and ended
    admin = plant.admin_url()
    assert admin is not None
    ed = Ed25519PrivateKey.generate()
    async with http.post(f"{admin}/api/accounts/{venue.bob}/keys", json={"publicKey": _public_pem(ed)}) as made:
        bob_ed = Key((await made.json())["apiKey"], _private_pem(ed))
    bob = await raw(http, plant)
    assert (await bob.call("session.status"))["result"]["apiKey"] is None
    assert (await bob.call("session.logon", ed_signed(plant, bob_ed, {})))["status"] == 200
    assert (await bob.call("session.status"))["result"]["apiKey"] == bob_ed.api_key
    async with http.post(f"{admin}/api/accounts/{venue.bob}/disable", json={}) as disabled:
        assert disabled.status == 200
    ended = await bob.frame('{"id":"ended","method":"session.status"}')
    assert (ended["id"], ended["status"], ended["error"]["code"]) == (None, 401, -2015)  # unsolicited: §8.6
    assert (await bob.call("session.status"))["result"]["apiKey"] is None
    for each in (ws, dapi, bob):
        await each.ws.close()


async def test_ccxt_pro_trades_over_the_ws_api(plant: Tickerplant, venue: Venue, closing: list[Any]) -> None:
    exchange = ccxt_usdm(plant, closing, venue.alice_hmac)
    exchange.urls["api"]["ws"]["ws-api"]["linear"] = f"ws://127.0.0.1:{plant.listeners[Market.UM].port}/ws-fapi/v1"
    await exchange.load_markets()
    below = float(below_bid(plant, Market.UM, "ETHUSDT", 1000))
    # keysorted params with returnRateLimits false and recvWindow, signed raw (part 5 §2.1.3)
    order = await exchange.create_order_ws("ETH/USDT:USDT", "limit", "buy", 0.01, below)
    assert order["status"] == "open" and order["clientOrderId"].startswith("x-cvBPrNm9")
    fetched = await exchange.fetch_order_ws(order["id"], "ETH/USDT:USDT")
    assert (fetched["status"], fetched["amount"], fetched["price"]) == ("open", 0.01, below)
    cancelled = await exchange.cancel_order_ws(order["id"], "ETH/USDT:USDT")
    assert cancelled["status"] == "canceled"
    market = await exchange.create_order_ws("ETH/USDT:USDT", "market", "sell", 0.02)
    assert market["amount"] == 0.02
    positions = await exchange.fetch_positions_ws(["ETH/USDT:USDT"])
    assert [(p["side"], p["contracts"]) for p in positions] == [("short", 0.02)]
    balance = await exchange.fetch_balance_ws()
    assert 0 < balance["USDT"]["free"] < balance["USDT"]["total"] < 10000


async def test_algo_orders_over_the_ws_api(plant: Tickerplant, venue: Venue, http: aiohttp.ClientSession) -> None:
    """``algoOrder.place`` and ``algoOrder.cancel`` (§8.7): the REST endpoints' twins, a
    number where the doc's example sends one (``"triggerprice": 120000``)."""
    ws = await raw(http, plant)
    below = below_bid(plant, Market.UM, "BTCUSDT", 500_000)
    placed = await ws.call("algoOrder.place", hmac_signed(plant, venue.alice_hmac, {
        "algoType": "CONDITIONAL", "symbol": "BTCUSDT", "side": "SELL", "type": "STOP_MARKET",
        "quantity": "0.010", "triggerprice": below, "reduceOnly": "true"}))  # fmt: skip
    assert placed["status"] == 200, placed
    assert (placed["result"]["algoStatus"], placed["result"]["orderType"]) == ("NEW", "STOP_MARKET")
    assert placed["rateLimits"][0]["rateLimitType"] == "ORDERS"
    algo_id = placed["result"]["algoId"]
    gone = await ws.call("algoOrder.cancel", hmac_signed(plant, venue.alice_hmac, {"algoId": algo_id}))
    assert gone["result"] == {"algoId": algo_id, "clientAlgoId": placed["result"]["clientAlgoId"], "code": "200",
                              "msg": "success"}  # fmt: skip
    again = await ws.call("algoOrder.cancel", hmac_signed(plant, venue.alice_hmac, {"algoId": algo_id}))
    assert again["error"]["code"] == -2011
    await ws.ws.close()


async def test_a_revoked_sessions_next_reply_is_unsolicited_with_a_null_id(
    start_server: StartServer, venue: Venue, http: aiohttp.ClientSession
) -> None:
    """A session whose key the operator revokes, or whose account the operator disables,
    while the server runs (admin API): the next request ends the session and is answered
    ``{"id": null, "status": 401, "error": {"code": -2015, …}}`` (part 1 §8.6; §8.4: null
    for unsolicited errors), as Binance answers it."""
    plant = await start_server(simulator=STILL, venue_db=str(venue.path), admin_port=free_port())
    admin = plant.admin_url()
    assert admin is not None
    alice = await raw(http, plant)
    assert (await alice.call("session.logon", ed_signed(plant, venue.alice_ed25519, {})))["status"] == 200
    async with http.post(f"{admin}/api/keys/{venue.alice_ed25519.api_key}/revoke", json={}) as revoked:
        assert revoked.status == 200
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.010"}
    after = await alice.frame(json.dumps(
        {"id": "after-revoke-1", "method": "order.place", "params": order | {"timestamp": plant.clock.now_ms()}}))
    assert (after["id"], after["status"], after["error"]) == (
        None, 401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."})  # fmt: skip
    assert (await alice.call("session.status"))["result"]["apiKey"] is None  # the session ended
    # bob's account disabled under his logged-on session
    ed = Ed25519PrivateKey.generate()
    async with http.post(f"{admin}/api/accounts/{venue.bob}/keys", json={"publicKey": _public_pem(ed)}) as made:
        bob_ed = Key((await made.json())["apiKey"], _private_pem(ed))
    bob = await raw(http, plant)
    assert (await bob.call("session.logon", ed_signed(plant, bob_ed, {})))["status"] == 200
    async with http.post(f"{admin}/api/accounts/{venue.bob}/disable", json={}) as disabled:
        assert disabled.status == 200
    now = plant.clock.now_ms()
    balance = await bob.frame(f'{{"id":42,"method":"account.balance","params":{{"timestamp":{now}}}}}')
    assert (balance["id"], balance["status"], balance["error"]["code"]) == (None, 401, -2015)
    for ws in (alice, bob):
        await ws.ws.close()


async def test_every_other_refusal_echoes_a_readable_id(
    start_server: StartServer, venue: Venue, http: aiohttp.ClientSession
) -> None:
    """A frame whose ``params`` is not an object: the refusal carries the request's id, so a
    client matching replies by id gets its answer; an id that is not one (§8.3): null."""
    plant = await start_server(simulator=STILL, venue_db=str(venue.path), admin_port=free_port())
    bob = await raw(http, plant)
    bad = {"code": -1130, "msg": "Data sent for parameter 'params' is not valid."}
    for text, request_id in (('{"id":1,"method":"order.status","params":[1]}', 1),
                             ('{"id":"s","method":"order.place","params":"symbol=BTCUSDT"}', "s")):  # fmt: skip
        refused = await bob.frame(text)
        assert (refused["id"], refused["status"], refused["error"]) == (request_id, 400, bad)
        assert refused["rateLimits"][0]["rateLimitType"] == "REQUEST_WEIGHT"  # shown unless hidden (§8.4)
    unreadable = await bob.frame('{"id":{"a":1},"method":"order.status","params":{}}')
    assert unreadable["id"] is None and unreadable["error"]["code"] == -1130
    await bob.ws.close()


async def test_the_signatures_name_in_any_case_and_a_stray_one_on_a_session(
    plant: Tickerplant, venue: Venue, http: aiohttp.ClientSession
) -> None:
    """Overview decision 4: parameter names match whatever their case, so ``Signature`` is the
    signature (left out of the payload it signs, as REST's is: it was signed over and never
    verified, -1022); and a method that reads no signature (``userDataStream.ping``, part 4)
    on a logged-on session ignores a stray one, as REST's listen-key calls do (decision 10),
    where it took the request off the session (-1102 ``apiKey``)."""
    for market in Market:
        ws = await raw(http, plant, market)
        for name in ("signature", "Signature", "SIGNATURE"):
            signed = hmac_signed(plant, venue.alice_hmac, {})
            signed[name] = signed.pop("signature")
            reply = await ws.call("account.balance", signed)
            assert reply["status"] == 200, (market, name, reply)
        await ws.ws.close()
    ws = await raw(http, plant)
    assert (await ws.call("session.logon", ed_signed(plant, venue.alice_ed25519, {})))["status"] == 200
    started = await ws.call("userDataStream.start")
    assert started["status"] == 200, started
    for extra in ({}, {"signature": "x"}):
        pinged = await ws.call("userDataStream.ping", {"timestamp": plant.clock.now_ms()} | extra)
        assert pinged["status"] == 200, (extra, pinged)
    stray = await ws.call("order.status", {"symbol": "BTCUSDT", "orderId": 1, "timestamp": plant.clock.now_ms(),
                                           "signature": "x"})  # fmt: skip
    assert stray["error"]["code"] == -1102  # a signed method's signature is read: not the session's then
    await ws.ws.close()
