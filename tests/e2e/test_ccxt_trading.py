# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""ccxt's trading calls a bot makes, each class at its defaults (with its keys) and unchanged
but for its base URLs, ``sapi``'s and spot's included (overview decision 11): ``binanceusdm``,
``binance`` with ``defaultType`` swap, and ``binancecoinm``. Leverage, margin and position
mode, limit, post-only, market, reduce-only and stop-loss orders, edit, cancel, the reads
(orders, trades, balance, positions, leverages, fees, funding history), and
``watch_balance``/``watch_positions`` from the user data stream."""

from __future__ import annotations

import asyncio
import time
from fractions import Fraction
from typing import Any

import aiohttp
import ccxt.pro as ccxtpro
import pytest
from test_ccxt import point
from test_venue_clients import Key, Venue, closing, plant, venue  # noqa: F401
from timing import eventually

from tickerplant.app import Tickerplant
from tickerplant.market.derivatives.mark_price import next_funding_ms
from tickerplant.market.instruments import Market
from tickerplant.venue.auth.signing import hmac_hex

SYMBOL = "BTC/USDT:USDT"
COIN = "BTC/USD:BTC"


def trader(plant: Tickerplant, key: Key, made: list[Any], kind: str = "binanceusdm") -> Any:
    """``kind``: ``binanceusdm``, or ``binance`` as bots configure it for futures (freqtrade's
    ``defaultType`` swap, part 5 §2.6: an option a user sets, so it is set here), which loads
    spot, USDⓈ-M and COIN-M markets and the margin pairs."""
    um, cm = plant.listeners[Market.UM].port, plant.listeners[Market.CM].port
    # its keys and user settings only (ccxt_hosts.py)
    config: dict[str, Any] = {"apiKey": key.api_key, "secret": key.secret, "enableRateLimit": False, "timeout": 5000}
    if kind == "binance":
        config["options"] = {"defaultType": "swap"}
    exchange = getattr(ccxtpro, kind)(config)
    made.append(exchange)
    return point(exchange, {
        "https://fapi.binance.com": f"http://127.0.0.1:{um}", "wss://fstream.binance.com": f"ws://127.0.0.1:{um}",
        "https://dapi.binance.com": f"http://127.0.0.1:{cm}", "https://api.binance.com": f"http://127.0.0.1:{um}",
    })  # fmt: skip


@pytest.mark.parametrize("kind", ["binanceusdm", "binance"])
async def test_a_bots_calls(plant: Tickerplant, venue: Venue, closing: list[Any], kind: str) -> None:
    exchange = trader(plant, venue.alice_hmac, closing, kind)
    await exchange.load_markets()  # with its keys: the sapi calls too (part 5 §2.1.1)
    assert "USDT" in exchange.currencies and exchange.currencies["BTC"]["networks"] == {}
    assert exchange.markets[SYMBOL]["linear"] and (kind == "binance") == (COIN in exchange.markets)
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
    # the whole position's bracket: a stop and a take profit, each closePosition
    bracket = [await exchange.create_order(SYMBOL, "market", "sell", None, None, {name: price, "closePosition": True})
               for name, price in (("stopPrice", round(last * 0.85, 1)), ("takeProfitPrice", round(last * 1.2, 1)))]
    assert [(o["info"]["orderType"], o["info"]["closePosition"]) for o in bracket] == [
        ("STOP_MARKET", True), ("TAKE_PROFIT_MARKET", True)]  # fmt: skip
    trades = await exchange.fetch_my_trades(SYMBOL)
    assert [t["order"] for t in trades] == [bought["id"]] * (len(trades) - 1) + [sold["id"]]
    if kind == "binanceusdm":  # (``binance``'s swap type asks for a symbol itself: ArgumentsRequired)
        # without a symbol, every symbol's orders (USDⓈ-M allOrders: part 2 §6.5, since 2026-08-25)
        every = {o["id"]: o["status"] for o in await exchange.fetch_orders()}
        assert every == {resting["id"]: "canceled", post_only["id"]: "canceled", bought["id"]: "closed",
                         sold["id"]: "closed"}  # fmt: skip
    (position,) = await exchange.fetch_positions([SYMBOL])
    assert (position["contracts"], position["side"]) == (0.01, "long")  # v3 carries no leverage, as Binance's
    balance = await exchange.fetch_balance()
    assert (await exchange.fetch_leverages([SYMBOL]))[SYMBOL]["longLeverage"] == 10
    assert (await exchange.fetch_trading_fee(SYMBOL))["taker"] == 0.0005
    funded = await exchange.fetch_funding_history(SYMBOL)
    # no funding time has passed since the position opened: no funding, in the history or the
    # wallet; but for the run that meets one (the server's clock is the wall clock: one each
    # 8 h), whose funding is in both once charged
    met = [at for at in (next_funding_ms(bought["timestamp"]),) if at <= plant.clock.now_ms()]
    if met:
        async with asyncio.timeout(10):
            while not funded:
                funded = await exchange.fetch_funding_history(SYMBOL)
        balance = await exchange.fetch_balance()
    assert [f["timestamp"] for f in funded] == met
    fees = sum(t["fee"]["cost"] for t in trades)
    realized = sum(float(t["info"]["realizedPnl"]) for t in trades)
    assert balance["USDT"]["total"] == pytest.approx(10000 - fees + realized + sum(f["amount"] for f in funded))
    await _agrees(plant, venue.alice_hmac, "/fapi/v3/positionRisk", position["info"])


async def _agrees(plant: Tickerplant, key: Key, path: str, shown: dict[str, Any]) -> None:
    """The venue's own REST (signed by hand, not by the client) holds the position the
    client read."""
    market = Market.UM if path.startswith("/fapi") else Market.CM
    query = f"timestamp={int(time.time() * 1000)}"
    url = f"http://127.0.0.1:{plant.listeners[market].port}{path}?{query}&signature={hmac_hex(key.secret, query.encode())}"
    async with aiohttp.ClientSession() as session, session.get(url, headers={"X-MBX-APIKEY": key.api_key}) as got:
        rows = [r for r in await got.json() if r["symbol"] == shown["symbol"] and float(r["positionAmt"])]
    assert [(r["positionAmt"], r["entryPrice"]) for r in rows] == [(shown["positionAmt"], shown["entryPrice"])]


async def test_a_coin_m_bots_calls(plant: Tickerplant, venue: Venue, closing: list[Any]) -> None:
    exchange = trader(plant, venue.alice_hmac, closing, "binancecoinm")
    await exchange.load_markets()  # with its keys: the sapi calls too, on the COIN-M listener alike
    assert "BTC" in exchange.currencies and COIN in exchange.markets and SYMBOL not in exchange.markets
    last = (await exchange.fetch_ticker(COIN))["last"]
    assert (await exchange.set_leverage(5, COIN))["leverage"] == 5

    resting = await exchange.create_order(COIN, "limit", "buy", 2, round(last * 0.98, 1))
    assert resting["status"] == "open" and resting["clientOrderId"].startswith("x-xcKtGhcu")
    assert [o["id"] for o in await exchange.fetch_open_orders(COIN)] == [resting["id"]]
    assert (await exchange.cancel_order(resting["id"], COIN))["status"] == "canceled"

    bought = await exchange.create_order(COIN, "market", "buy", 3)
    assert bought["status"] == "closed" and bought["filled"] == 3
    # its average: the contracts-weighted harmonic mean of its fills' prices (part 2 §10), exactly
    fills = [t for t in await exchange.fetch_my_trades(COIN) if t["order"] == bought["id"]]
    harmonic = sum(Fraction(t["amount"]) for t in fills) / sum(Fraction(t["amount"]) / Fraction(t["info"]["price"])
                                                               for t in fills)  # fmt: skip
    average = (await exchange.fetch_order(bought["id"], COIN))["info"]["avgPrice"]
    assert 0 <= harmonic - Fraction(average) < Fraction(1, 10**5), average  # written to 5 decimals, down
    stop = await exchange.create_order(COIN, "market", "sell", 3, None,
                                       {"stopLossPrice": round(last * 0.9, 1), "reduceOnly": True})  # fmt: skip
    assert stop["info"]["orderType"] == "STOP_MARKET" and stop["info"]["algoStatus"] == "NEW"
    # the trigger orders read and cancelled as ccxt does for COIN-M (part 5 §2.1.9)
    assert (await exchange.fetch_order(stop["id"], COIN, {"trigger": True}))["status"] == "open"
    assert [o["id"] for o in await exchange.fetch_orders(COIN, None, None, {"trigger": True})] == [stop["id"]]
    await exchange.cancel_all_orders(COIN, {"trigger": True})
    assert await exchange.fetch_open_orders(COIN, None, None, {"trigger": True}) == []
    assert (await exchange.fetch_order(stop["id"], COIN, {"trigger": True}))["status"] == "canceled"
    (position,) = [p for p in await exchange.fetch_positions([COIN]) if p["contracts"]]
    assert (position["contracts"], position["side"]) == (3, "long")
    balance = await exchange.fetch_balance()
    assert 0 < balance["BTC"]["free"] < balance["BTC"]["total"] <= 1.5
    await _agrees(plant, venue.alice_hmac, "/dapi/v1/positionRisk", position["info"])


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
    # the stream's positions: the first ACCOUNT_UPDATE made ccxt's cache, so no REST snapshot
    positions = asyncio.ensure_future(exchange.watch_positions([SYMBOL]))
    for _ in range(5):  # it subscribes on the connection watch_balance opened: no I/O to wait for
        await asyncio.sleep(0)
    await exchange.create_order(SYMBOL, "market", "buy", 0.001)
    (position,) = await positions
    assert position["symbol"] == SYMBOL and position["contracts"] >= 0.011


async def test_a_coin_m_alt_trades_at_its_default_leverage(plant: Tickerplant, venue: Venue, closing: list[Any]) -> None:
    """COIN-M's brackets are in the coin (part 3 §4.9), and §6.2 gives BTCUSD_PERP's alone:
    another pair's ladder is BTC's scaled to the same value (``brackets.coin_scale``). With
    BTC's own, DOGE's cap at the default 20× was 50 DOGE (~$7): one 10 USD contract was
    refused -2027 whatever the wallet held."""
    venue.store.deposit(venue.alice, Market.CM, "DOGE", 100_000 * 10**8, int(time.time() * 1000))
    exchange = trader(plant, venue.alice_hmac, closing, "binancecoinm")
    await exchange.load_markets()
    doge = "DOGE/USD:DOGE"
    tiers = await exchange.fetch_market_leverage_tiers(doge)
    btc_tiers = await exchange.fetch_market_leverage_tiers(COIN)
    assert [t["maxLeverage"] for t in tiers] == [t["maxLeverage"] for t in btc_tiers]
    assert [t["maxNotional"] for t in tiers] == [t["maxNotional"] * 640_000 for t in btc_tiers]  # 90,000 / 0.14
    await eventually(lambda: plant.engines[Market.CM].data.mark("DOGEUSD_PERP") is not None)
    bought = await exchange.create_order(doge, "market", "buy", 3)  # at the default 20×: ~214 DOGE
    assert bought["status"] == "closed" and bought["filled"] == 3
    (position,) = [p for p in await exchange.fetch_positions([doge]) if p["contracts"]]
    assert (position["contracts"], position["leverage"]) == (3, 20)
    sold = await exchange.create_order(doge, "market", "sell", 3, None, {"reduceOnly": True})
    assert sold["filled"] == 3
