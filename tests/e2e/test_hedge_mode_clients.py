# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""Hedge mode over a real socket (part 2 §3.3, part 3 §4.6): ccxt sets it through USDⓈ-M
and COIN-M reads it back (one mode for both markets), opens a long and a short of one
symbol with ``hedged``, closes each as its ``reduceOnly`` is translated; python-binance's
``reduceOnly`` is refused in hedge mode as Binance refuses it; the user data stream and
every read say which side each order, fill and position is; the balance ends at the start
less the fees plus the realized PnL, to the unit; after a restart the two sides come back."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import aiohttp
import ccxt.pro as ccxtpro
import pytest
from binance.exceptions import BinanceAPIException
from test_ccxt import point
from test_ccxt_trading import SYMBOL, trader
from test_venue_clients import Venue, closing, plant, python_binance, venue  # noqa: F401
from test_venue_liquidation import leave, user_socket
from test_ws_api_trading import hmac_signed, http, raw  # noqa: F401

from tickerplant.app import Tickerplant
from tickerplant.market.instruments import Market
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.journal.sqlite_journal import SqliteJournal


def coin_trader(plant: Tickerplant, venue: Venue, made: list[Any]) -> Any:
    port = plant.listeners[Market.CM].port
    exchange = ccxtpro.binancecoinm({
        "apiKey": venue.alice_hmac.api_key, "secret": venue.alice_hmac.secret, "enableRateLimit": False,  # user settings (ccxt_hosts.py)
        "timeout": 5000,
    })  # fmt: skip
    made.append(exchange)
    local = f"http://127.0.0.1:{port}"
    return point(exchange, {"https://dapi.binance.com": local, "https://api.binance.com": local})


async def test_ccxt_trades_a_long_and_a_short_of_one_symbol(
    plant: Tickerplant, venue: Venue, closing: list[Any]
) -> None:
    exchange = trader(plant, venue.alice_hmac, closing)
    coins = coin_trader(plant, venue, closing)
    client = await python_binance(plant, closing, venue.alice_hmac)
    await exchange.load_markets()
    assert (await exchange.set_position_mode(True))["code"] == 200
    assert (await coins.fetch_position_mode())["hedged"] is True  # the CM migration: one mode
    assert (await client.futures_coin_get_position_mode())["dualSidePosition"] is True

    bought = await exchange.create_order(SYMBOL, "market", "buy", 0.5, params={"hedged": True})
    sold = await exchange.create_order(SYMBOL, "market", "sell", 0.2, params={"hedged": True})
    assert (bought["info"]["positionSide"], sold["info"]["positionSide"]) == ("LONG", "SHORT")
    assert bought["reduceOnly"] is False and sold["reduceOnly"] is False
    positions = await exchange.fetch_positions([SYMBOL])
    held = {p["side"]: (p["contracts"], p["hedged"]) for p in positions if p["contracts"]}
    assert held == {"long": (0.5, True), "short": (0.2, True)}

    with pytest.raises(BinanceAPIException) as refused:  # reduceOnly may not be sent (python-binance #947)
        await client.futures_create_order(
            symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.2", positionSide="SHORT", reduceOnly="true"
        )
    assert (refused.value.code, refused.value.message) == (-1106, "Parameter 'reduceOnly' sent when not required.")
    with pytest.raises(BinanceAPIException) as refused:
        await client.futures_create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.2")
    assert refused.value.code == -4061  # no positionSide: BOTH, not of a hedge account

    # ccxt's reduceOnly with hedged: the opposite side, reduceOnly removed; Binance marks it reduce-only
    closed = await exchange.create_order(SYMBOL, "market", "sell", 0.5, params={"hedged": True, "reduceOnly": True})
    assert (closed["info"]["positionSide"], closed["reduceOnly"]) == ("LONG", True)
    await client.futures_create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.2", positionSide="SHORT")
    assert not [p for p in await exchange.fetch_positions([SYMBOL]) if p["contracts"]]

    trades = await client.futures_account_trades(symbol="BTCUSDT")
    sides = {t["orderId"]: t["positionSide"] for t in trades}  # a market order takes several levels
    assert list(sides.values()) == ["LONG", "SHORT", "LONG", "SHORT"]
    opening = [t for t in trades if t["orderId"] in list(sides)[:2]]
    assert all(Decimal(t["realizedPnl"]) == 0 for t in opening)
    booked = sum(Decimal(t["realizedPnl"]) - Decimal(t["commission"]) for t in trades)
    usdt = next(r for r in await client.futures_account_balance() if r["asset"] == "USDT")
    assert Decimal(usdt["balance"]) == 10000 + booked  # to the unit: 8 decimals, exact
    assert (await exchange.set_position_mode(False))["code"] == 200  # flat: it may change back
    assert (await coins.fetch_position_mode())["hedged"] is False


async def test_the_user_stream_tells_each_side_and_a_restart_keeps_both(
    plant: Tickerplant, venue: Venue, closing: list[Any]
) -> None:
    exchange = trader(plant, venue.alice_hmac, closing)
    await exchange.load_markets()
    await exchange.set_position_mode(True)
    watched = exchange.watch_positions([SYMBOL])
    await exchange.create_order(SYMBOL, "market", "buy", 0.3, params={"positionSide": "LONG"})
    await exchange.create_order(SYMBOL, "market", "sell", 0.1, params={"positionSide": "SHORT"})
    seen: dict[str, float] = {}
    while len(seen) < 2:
        for position in await watched if not seen else await exchange.watch_positions([SYMBOL]):
            if position["contracts"]:
                seen[position["side"]] = position["contracts"]
    assert seen == {"long": 0.3, "short": 0.1}
    engine = plant.engines[Market.UM]  # what a restart reads: the journal, into a new engine
    journal = SqliteJournal(venue.path)
    again = Engine(Market.UM, list(engine.instruments.values()), engine.data, plant.accounts, journal)
    journal.load(again)
    ledger = again.ledger(venue.alice)
    assert ledger.hedge
    assert {p.side.value: p.amt for p in ledger.held("BTCUSDT")} == {"LONG": 300, "SHORT": -100}


async def test_the_websocket_api_places_each_side_and_tells_the_modes(
    plant: Tickerplant, venue: Venue, closing: list[Any], http: aiohttp.ClientSession
) -> None:
    client = await python_binance(plant, closing, venue.alice_hmac)
    await client.futures_change_position_mode(dualSidePosition=True)
    ws = await raw(http, plant)
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.010", "positionSide": "LONG"}
    placed = await ws.call("order.place", hmac_signed(plant, venue.alice_hmac, order))
    assert (placed["status"], placed["result"]["positionSide"]) == (200, "LONG")
    refused = await ws.call("order.place", hmac_signed(plant, venue.alice_hmac, order | {"positionSide": "BOTH"}))
    assert (refused["status"], refused["error"]["code"]) == (400, -4061)
    positions = await ws.call("v2/account.position", hmac_signed(plant, venue.alice_hmac, {"symbol": "BTCUSDT"}))
    held = {p["positionSide"]: p["positionAmt"] for p in positions["result"]}
    assert held == {"LONG": "0.010"}  # v2/account.position: the sides that hold something


async def test_an_account_update_in_hedge_mode_shows_the_both_entry_and_the_changed_sides(
    plant: Tickerplant, venue: Venue, closing: list[Any]
) -> None:
    """Part 4 §3.4's push rules over the socket, python-binance at its defaults: a margin type
    change shows every side of its symbol (BOTH first) and no balance; a fill the BOTH entry
    and the side it changed, a cross side it did not change left out."""
    client = await python_binance(plant, closing, venue.alice_hmac)
    user = await user_socket(plant, client)
    await client.futures_change_position_mode(dualSidePosition="true")
    await client.futures_change_margin_type(symbol="ETHUSDT", marginType="ISOLATED")
    while (changed := await user.recv())["e"] != "ACCOUNT_UPDATE":
        pass
    assert changed["a"]["m"] == "MARGIN_TYPE_CHANGE" and changed["a"]["B"] == []
    assert [(r["s"], r["ps"], r["mt"]) for r in changed["a"]["P"]] == [
        ("ETHUSDT", "BOTH", "isolated"), ("ETHUSDT", "LONG", "isolated"), ("ETHUSDT", "SHORT", "isolated")]  # fmt: skip
    for side, held in (("BUY", "LONG"), ("SELL", "SHORT")):
        await client.futures_create_order(symbol="BTCUSDT", side=side, positionSide=held, type="MARKET", quantity="0.1")
        while (update := await user.recv())["e"] != "ACCOUNT_UPDATE":
            pass
        assert [(r["ps"], r["mt"]) for r in update["a"]["P"]] == [("BOTH", "cross"), (held, "cross")]
        both, moved = update["a"]["P"]
        assert both["pa"] == "0" and (Decimal(moved["pa"]) > 0) == (held == "LONG")  # its first fill's part
    await leave(user, client)


async def test_a_hedge_accounts_rows_count_each_open_order_once(plant: Tickerplant, venue: Venue, closing: list[Any]) -> None:
    """In hedge mode every order is ``LONG``'s or ``SHORT``'s: the ``BOTH`` row of the account
    reads shows none of them (it repeated the symbol's, so the rows summed counted each
    order twice); the side's row and the totals show it once, on both markets."""
    client = await python_binance(plant, closing, venue.alice_hmac)
    await client.futures_change_position_mode(dualSidePosition="true")
    try:
        await client.futures_create_order(symbol="BTCUSDT", side="SELL", positionSide="SHORT", type="LIMIT",
                                          timeInForce="GTC", quantity="0.010", price="99000")  # fmt: skip
        await client.futures_coin_create_order(symbol="BTCUSD_PERP", side="SELL", positionSide="SHORT", type="LIMIT",
                                               timeInForce="GTC", quantity="10", price="99000")  # fmt: skip
        um = await client.futures_account()  # v2
        rows = {r["positionSide"]: r for r in um["positions"] if r["symbol"] == "BTCUSDT"}
        assert Decimal(um["totalOpenOrderInitialMargin"]) > 0
        assert rows["SHORT"]["openOrderInitialMargin"] == um["totalOpenOrderInitialMargin"]
        assert (rows["BOTH"]["openOrderInitialMargin"], rows["BOTH"]["initialMargin"], rows["BOTH"]["askNotional"]) == ("0", "0", "0")
        assert sum(Decimal(r["openOrderInitialMargin"]) for r in rows.values()) == Decimal(um["totalOpenOrderInitialMargin"])
        cm = await client.futures_coin_account()
        (btc,) = [a for a in cm["assets"] if a["asset"] == "BTC"]
        coin_rows = [r for r in cm["positions"] if r["symbol"] == "BTCUSD_PERP"]
        assert sum(Decimal(r["openOrderInitialMargin"]) for r in coin_rows) == Decimal(btc["openOrderInitialMargin"]) > 0
    finally:
        await client.futures_cancel_all_open_orders(symbol="BTCUSDT")
        await client.futures_coin_cancel_all_open_orders(symbol="BTCUSD_PERP")
        await client.futures_change_position_mode(dualSidePosition="false")
