# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""Isolated margin over a real socket (part 3 §4.5, §4.8, §7.8–§7.11): ccxt moves margin
in and out of an isolated position and reads the history; python-binance's position is
liquidated by the mark through its isolated liquidation price, and the account loses its
isolated wallet's worth at most, to the unit (1e-8), its cross wallet untouched."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from binance.exceptions import BinanceAPIException
from test_ccxt_trading import SYMBOL, trader
from test_venue_clients import Venue, closing, plant, python_binance, venue  # noqa: F401
from test_venue_liquidation import EIGHT, leave, publish_mark, user_socket

from tickerplant.app import Tickerplant
from tickerplant.market.instruments import Market


async def _risk(client: Any) -> dict[str, Any]:
    return next(p for p in await client.futures_position_information() if p["symbol"] == "BTCUSDT")


async def _usdt(client: Any) -> dict[str, Any]:
    return next(r for r in await client.futures_account_balance() if r["asset"] == "USDT")


async def test_ccxt_moves_margin_in_and_out_of_an_isolated_position(
    plant: Tickerplant, venue: Venue, closing: list[Any]
) -> None:
    exchange = trader(plant, venue.alice_hmac, closing)
    client = await python_binance(plant, closing, venue.alice_hmac)
    await exchange.load_markets()
    await exchange.set_margin_mode("isolated", SYMBOL)
    await exchange.set_leverage(10, SYMBOL)
    await exchange.create_order(SYMBOL, "market", "buy", 0.5)
    (trade,) = await client.futures_account_trades(symbol="BTCUSDT")
    price, commission = Decimal(trade["price"]), Decimal(trade["commission"])
    risk = await _risk(client)
    wallet = Decimal(risk["isolatedWallet"])
    # §7.8: initial margin at the fill price plus the open loss against the mark, less the fee
    initial = Decimal("0.5") * price / 10
    assert initial - commission <= wallet < initial - commission + Decimal("0.5") * price / 1000
    assert Decimal(risk["isolatedMargin"]) == wallet + Decimal(risk["unRealizedProfit"])
    usdt = await _usdt(client)
    assert Decimal(usdt["balance"]) == 10000 - commission
    assert Decimal(usdt["crossWalletBalance"]) == Decimal(usdt["balance"]) - wallet
    (position,) = await exchange.fetch_positions([SYMBOL])
    assert position["marginMode"] == "isolated" and position["contracts"] == 0.5

    added = await exchange.add_margin(SYMBOL, 100)
    assert (added["type"], added["amount"], added["status"]) == ("add", 100.0, "ok")
    reduced = await exchange.reduce_margin(SYMBOL, 40)
    assert (reduced["type"], reduced["amount"]) == ("reduce", 40.0)
    assert Decimal((await _risk(client))["isolatedWallet"]) == wallet + 60
    assert Decimal((await _usdt(client))["crossWalletBalance"]) == Decimal(usdt["crossWalletBalance"]) - 60
    history = await exchange.fetch_margin_adjustment_history(SYMBOL)
    # the opening fill's margin (a TRADE row), then the two moves (USER_ADJUST)
    assert [(h["type"], h["code"], h["info"]["deltaType"]) for h in history] == [
        ("add", "USDT", "TRADE"), ("add", "USDT", "USER_ADJUST"), ("reduce", "USDT", "USER_ADJUST")]  # fmt: skip
    assert [h["amount"] for h in history[1:]] == [100.0, 40.0]
    assert Decimal(history[0]["info"]["amount"]) == wallet + commission  # the wallet paid the fee from it
    # more than the position can spare: its margin may not fall below its initial margin
    with pytest.raises(BinanceAPIException) as refused:
        await client.futures_change_position_margin(symbol="BTCUSDT", amount="5000", type=2)
    assert (refused.value.code, refused.value.message) == (-4051, "Isolated balance insufficient.")

    await exchange.create_order(SYMBOL, "market", "sell", 0.5, params={"reduceOnly": True})
    trades = await client.futures_account_trades(symbol="BTCUSDT")
    booked = sum(Decimal(t["realizedPnl"]) - Decimal(t["commission"]) for t in trades)
    usdt = await _usdt(client)
    # closed: the isolated wallet is back in the cross wallet, the account's wallet its trades'
    assert Decimal(usdt["balance"]) == Decimal(usdt["crossWalletBalance"]) == 10000 + booked
    assert plant.engines[Market.UM].ledger(venue.alice).position("BTCUSDT").isolated_wallet == 0


async def test_the_mark_through_an_isolated_liquidation_price_costs_the_isolated_wallet(
    plant: Tickerplant, venue: Venue, closing: list[Any]
) -> None:
    client = await python_binance(plant, closing, venue.alice_hmac)
    user = await user_socket(plant, client)
    await client.futures_change_margin_type(symbol="BTCUSDT", marginType="ISOLATED")
    await client.futures_change_leverage(symbol="BTCUSDT", leverage=50)
    await client.futures_create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.500")
    risk = await _risk(client)
    entry, size, wallet = Decimal(risk["entryPrice"]), Decimal(risk["positionAmt"]), Decimal(risk["isolatedWallet"])
    wb = Decimal((await _usdt(client))["balance"])
    cross = wb - wallet
    # §7.10 isolated: WB = the isolated wallet, no other position (bracket 1, MMR 0.4 %)
    liquidation = (wallet - size * entry) / (size * Decimal("0.004") - size)
    assert abs(Decimal(risk["liquidationPrice"]) - liquidation) < Decimal("0.000001")
    opened = await user.recv()
    while not (opened["e"] == "ACCOUNT_UPDATE" and opened["a"]["P"][0]["pa"] == "0.5"):
        opened = await user.recv()
    assert opened["a"]["P"][0]["mt"] == "isolated" and opened["a"]["P"][0]["iw"] == f"{wallet:.8f}"
    assert opened["a"]["B"][0]["cw"] == f"{cross:.8f}"
    while (seen := await user.recv())["e"] != "ORDER_TRADE_UPDATE" or seen["o"]["X"] != "FILLED":
        pass

    publish_mark(plant, (liquidation - 1).quantize(EIGHT))
    call = await user.recv()
    assert list(call) == ["e", "E", "p"] and call["e"] == "MARGIN_CALL"  # no cw: an isolated call
    assert (call["p"][0]["mt"], call["p"][0]["iw"]) == ("ISOLATED", f"{wallet:.8f}")
    new = await user.recv()
    o = new["o"]
    assert (o["x"], o["o"], o["S"], o["q"]) == ("NEW", "LIQUIDATION", "SELL", "0.5")
    assert Decimal(o["p"]) >= entry - wallet / size  # the bankruptcy price on its wallet alone
    while True:
        account = await user.recv()
        if account["a"]["m"] == "INSURANCE_CLEAR":
            break
        assert account["a"]["P"][0]["mt"] == "isolated"
        await user.recv()
    trades = [t for t in await client.futures_account_trades(symbol="BTCUSDT") if t["orderId"] == o["i"]]
    left = wallet + sum(Decimal(t["realizedPnl"]) - Decimal(t["commission"]) for t in trades)
    fee = min(left, (sum(Decimal(t["quoteQty"]) for t in trades) * Decimal("0.0125")).quantize(EIGHT, "ROUND_DOWN"))
    usdt = await _usdt(client)
    assert Decimal(usdt["balance"]) == Decimal(usdt["crossWalletBalance"]) == cross + left - fee
    assert Decimal(usdt["balance"]) >= cross  # never more than the isolated wallet
    assert account["a"]["B"][0]["wb"] == f"{cross + left - fee:.8f}"
    assert plant.engines[Market.UM].ledger(venue.alice).position("BTCUSDT").isolated_wallet == 0
    await leave(user, client)
