# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""ccxt's trading calls a bot makes, unchanged but for its base URLs (issue 33 item 11):
leverage, margin and position mode, limit, post-only, market, reduce-only and stop-loss
orders, edit, cancel, the reads (orders, trades, balance, positions, leverages, fees,
funding history), and ``watch_balance``/``watch_positions`` from the user data stream."""

from __future__ import annotations

import asyncio
from typing import Any

import ccxt.pro as ccxtpro
import pytest
from test_ccxt import point
from test_venue_clients import Key, Venue, closing, plant, venue  # noqa: F401
from timing import eventually

from tickerplant.app import Tickerplant
from tickerplant.market.instruments import Market

SYMBOL = "BTC/USDT:USDT"


def trader(plant: Tickerplant, key: Key, made: list[Any]) -> Any:
    port = plant.listeners[Market.UM].port
    exchange = ccxtpro.binanceusdm({
        "apiKey": key.api_key, "secret": key.secret, "enableRateLimit": False, "timeout": 5000,
        "options": {"fetchCurrencies": False},
    })  # fmt: skip
    made.append(exchange)
    return point(exchange, {
        "https://fapi.binance.com": f"http://127.0.0.1:{port}", "wss://fstream.binance.com": f"ws://127.0.0.1:{port}",
    })  # fmt: skip


async def test_a_bots_calls(plant: Tickerplant, venue: Venue, closing: list[Any]) -> None:
    exchange = trader(plant, venue.alice_hmac, closing)
    await exchange.load_markets()
    last = (await exchange.fetch_ticker(SYMBOL))["last"]
    assert (await exchange.set_leverage(10, SYMBOL))["leverage"] == 10
    assert (await exchange.set_margin_mode("isolated", SYMBOL))["code"] == 200
    assert (await exchange.set_margin_mode("cross", SYMBOL))["code"] == 200
    assert (await exchange.fetch_position_mode(SYMBOL))["hedged"] is False
    with pytest.raises(ccxtpro.OperationRejected, match="-4059"):  # already one-way, as Binance says
        await exchange.set_position_mode(False)

    resting = await exchange.create_order(SYMBOL, "limit", "buy", 0.01, round(last * 0.98, 1))
    post_only = await exchange.create_order(SYMBOL, "limit", "buy", 0.01, round(last * 0.97, 1), {"postOnly": True})
    assert (resting["status"], post_only["info"]["timeInForce"]) == ("open", "GTX")
    assert {o["id"] for o in await exchange.fetch_open_orders(SYMBOL)} == {resting["id"], post_only["id"]}
    edited = await exchange.edit_order(resting["id"], SYMBOL, "limit", "buy", 0.02, round(last * 0.975, 1))
    assert (edited["id"], edited["amount"]) == (resting["id"], 0.02)
    assert (await exchange.cancel_order(resting["id"], SYMBOL))["status"] == "canceled"
    await exchange.cancel_all_orders(SYMBOL)
    assert await exchange.fetch_open_orders(SYMBOL) == []

    bought = await exchange.create_order(SYMBOL, "market", "buy", 0.02)
    assert bought["status"] == "closed" and bought["filled"] == 0.02
    sold = await exchange.create_order(SYMBOL, "market", "sell", 0.01, None, {"reduceOnly": True})
    assert sold["reduceOnly"] is True
    stop = await exchange.create_order(SYMBOL, "market", "sell", 0.01, None,
                                       {"stopLossPrice": round(last * 0.9, 1), "reduceOnly": True})  # fmt: skip
    assert stop["info"]["orderType"] == "STOP_MARKET" and stop["info"]["algoStatus"] == "NEW"
    trades = await exchange.fetch_my_trades(SYMBOL)
    assert [t["order"] for t in trades] == [bought["id"]] * (len(trades) - 1) + [sold["id"]]
    (position,) = await exchange.fetch_positions([SYMBOL])
    assert (position["contracts"], position["side"]) == (0.01, "long")  # v3 carries no leverage, as Binance's
    balance = await exchange.fetch_balance()
    fees = sum(t["fee"]["cost"] for t in trades)
    assert balance["USDT"]["total"] == pytest.approx(10000 - fees + sum(float(t["info"]["realizedPnl"]) for t in trades))
    assert (await exchange.fetch_leverages([SYMBOL]))[SYMBOL]["longLeverage"] == 10
    assert (await exchange.fetch_trading_fee(SYMBOL))["taker"] == 0.0005
    assert await exchange.fetch_funding_history(SYMBOL) == []  # no funding time has passed


async def test_watch_balance_and_positions(plant: Tickerplant, venue: Venue, closing: list[Any]) -> None:
    um = plant.listeners[Market.UM]
    assert um.streams is not None
    exchange = trader(plant, venue.alice_hmac, closing)
    await exchange.load_markets()
    balance = asyncio.ensure_future(exchange.watch_balance())
    await eventually(lambda: len(um.streams.connections) == 1)  # authenticated, subscribed
    await exchange.create_order(SYMBOL, "market", "buy", 0.01)
    got = await balance
    assert got["info"]["e"] == "ACCOUNT_UPDATE" and got["USDT"]["total"] < 10000
    exchange.options["fetchPositionsSnapshot"] = False  # the stream's positions only
    positions = asyncio.ensure_future(exchange.watch_positions([SYMBOL]))
    for _ in range(5):  # it subscribes on the connection watch_balance opened: no I/O to wait for
        await asyncio.sleep(0)
    await exchange.create_order(SYMBOL, "market", "buy", 0.001)
    (position,) = await positions
    assert position["symbol"] == SYMBOL and position["contracts"] >= 0.011
