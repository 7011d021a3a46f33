# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""The fault profile on the WebSocket API over a real socket (docs/faults.md): ccxt's
``create_order_ws`` meets the 503 "Unknown error…" whose order is placed, and a session
dropped without a close frame whose order is not; a reply held past the clients' timeouts
comes when the server's clock reaches it, its order placed at once."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import ccxt
import ccxt.pro as ccxtpro
from ccxt_hosts import point
from conftest import StartServer
from test_fault_clients import limit_below
from test_venue_clients import STILL, Venue, closing, python_binance, venue  # noqa: F401
from test_ws_api_trading import hmac_signed
from timing import eventually

from tickerplant.clock import ManualClock, SystemClock
from tickerplant.faults.profile import FaultKind
from tickerplant.market.instruments import Market

PROFILE = """
[[fault]]
kind = "unknown-error"
rate = 1
placed = 1
symbols = ["BTCUSDT"]

[[fault]]
kind = "session-drop"
rate = 1
symbols = ["SOLUSDT"]

[[fault]]
kind = "reply-delay"
rate = 1
delay_ms = 20000
symbols = ["LINKUSDT"]
"""


async def test_web_socket_api_faults(start_server: StartServer, venue: Venue, closing: list[Any]) -> None:
    clock = ManualClock(SystemClock().now_ms())
    plant = await start_server(
        clock=clock, simulator=STILL, venue_db=str(venue.path), faults={"profile_text": PROFILE}
    )
    port = plant.listeners[Market.UM].port
    local = f"http://127.0.0.1:{port}"
    exchange = ccxtpro.binanceusdm({"apiKey": venue.alice_hmac.api_key, "secret": venue.alice_hmac.secret})
    closing.append(exchange)
    hosts = {"https://fapi.binance.com": local, "https://api.binance.com": local,
             "wss://ws-fapi.binance.com": f"ws://127.0.0.1:{port}"}  # fmt: skip
    point(exchange, hosts)
    raised = {}

    def catch_up() -> None:  # ccxt stamps its requests by the system's clock
        clock.advance(max(0, SystemClock().now_ms() - clock.now_ms()))

    catch_up()
    await exchange.load_markets()
    catch_up()
    for symbol in ("BTCUSDT", "SOLUSDT"):
        quantity, price = limit_below(plant, symbol)
        market = f"{symbol[:-4]}/USDT:USDT"
        try:
            await exchange.create_order_ws(market, "limit", "buy", float(quantity), float(price))
        except ccxt.BaseError as error:
            raised[symbol] = type(error).__name__
    assert raised == {"BTCUSDT": "OperationFailed", "SOLUSDT": "NetworkError"}
    client = await python_binance(plant, closing, venue.alice_hmac)
    client.timestamp_offset = clock.now_ms() - int(time.time() * 1000)
    listed = {row["symbol"] for row in await client.futures_get_open_orders()}
    assert listed == {"BTCUSDT"}  # behind the unknown outcome; nothing behind the dropped session

    # a reply held 20 s of the server's clock: the order is placed at once, the reply waits
    quantity, price = limit_below(plant, "LINKUSDT")
    params = {"symbol": "LINKUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": quantity,
              "price": price}  # fmt: skip
    async with aiohttp.ClientSession() as http, http.ws_connect(f"ws://127.0.0.1:{port}/ws-fapi/v1") as ws:
        await ws.send_str(
            json.dumps(
                {"id": 1, "method": "order.place", "params": hmac_signed(plant, venue.alice_hmac, params)}
            )
        )
        faults = plant.listeners[Market.UM].faults
        assert faults is not None
        await eventually(lambda: FaultKind.REPLY_DELAY in faults.decider.record.counts)  # the request is in
        listed_now = await client.futures_get_open_orders(symbol="LINKUSDT")
        assert len(listed_now) == 1
        clock.advance(20_000)
        async with asyncio.timeout(5):
            reply = json.loads((await ws.receive()).data)
    assert reply["status"] == 200 and reply["result"]["orderId"] == listed_now[0]["orderId"]

    # a fault's reply to order.place lists what a refusal of the method lists (part 1 §8.4):
    # both ORDERS counters, as they stand after the order it placed, then the IP's weight
    quantity, price = limit_below(plant, "BTCUSDT")
    params = dict(params, symbol="BTCUSDT", quantity=quantity, price=price)
    async with aiohttp.ClientSession() as http, http.ws_connect(f"ws://127.0.0.1:{port}/ws-fapi/v1") as ws:
        await ws.send_str(json.dumps(
            {"id": 2, "method": "order.place", "params": hmac_signed(plant, venue.alice_hmac, params)}
        ))  # fmt: skip
        async with asyncio.timeout(5):
            reply = json.loads((await ws.receive()).data)
    assert (reply["status"], reply["error"]["code"]) == (503, -1000)
    limits = reply["rateLimits"]
    assert [(row["rateLimitType"], row["interval"], row["intervalNum"]) for row in limits] == [
        ("ORDERS", "SECOND", 10), ("ORDERS", "MINUTE", 1), ("REQUEST_WEIGHT", "MINUTE", 1)]  # fmt: skip
    assert limits[0]["count"] == 1  # the order it placed, counted (the others 20 s before, out of the 10 s)
