# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""Funding and liquidation of a leveraged position over a real socket, seen by python-binance
unchanged but for its base URLs: the test publishes the plant's internal notes on the bus
(`<symbol>@markState`, `<symbol>@fundingEvent`) as the simulator would, and reads the user
data stream (part 4 §4.3 items 5 and 8) and REST (positionRisk, income, forceOrders,
userTrades, balance), checking the wallet to the unit (1e-8)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import aiohttp
import msgspec
from binance import BinanceSocketManager
from test_venue_clients import Venue, closing, plant, python_binance, venue  # noqa: F401
from timing import eventually

from tickerplant.app import Tickerplant
from tickerplant.bus import StreamMessage
from tickerplant.market.derivatives.mark_streams import FundingEvent, MarkState
from tickerplant.market.instruments import Market
from tickerplant.market.units import fixed

EIGHT = Decimal("0.00000001")


def publish_mark(plant: Tickerplant, price: Decimal) -> None:
    now = plant.clock.now_ms()
    text = f"{price:.8f}"
    state = MarkState("BTCUSDT", now, text, text, text, "0.00010000", "0.00010000", now + 3_600_000)
    plant.bus.publish(Market.UM, [StreamMessage("btcusdt@markState", msgspec.json.encode(state))])


async def user_socket(plant: Tickerplant, client: Any) -> Any:
    um = plant.listeners[Market.UM]
    assert um.streams is not None
    sockets = BinanceSocketManager(client, max_queue_size=1000)
    sockets.FSTREAM_URL = f"ws://127.0.0.1:{um.port}/"
    user = sockets.futures_user_socket()
    await user.__aenter__()
    await eventually(lambda: len(um.streams.connections) == 1)
    return user


async def leave(user: Any, client: Any) -> None:
    """Close python-binance's user socket: its read loop sees that it is closing only when a
    frame comes (or after its 10 s receive timeout), so close it, then make one (a leverage
    change is an ACCOUNT_CONFIG_UPDATE)."""
    closing = asyncio.ensure_future(user.__aexit__(None, None, None))
    await asyncio.sleep(0)
    await client.futures_change_leverage(symbol="ETHUSDT", leverage=5)
    await closing


async def wallet(client: Any) -> Decimal:
    rows = await client.futures_account_balance()
    return Decimal(next(r for r in rows if r["asset"] == "USDT")["balance"])


async def test_a_funding_time_charges_the_position_notional_times_rate(
    plant: Tickerplant, venue: Venue, closing: list[Any]
) -> None:
    client = await python_binance(plant, closing, venue.alice_hmac)
    user = await user_socket(plant, client)
    await client.futures_create_order(symbol="BTCUSDT", side="SELL", type="MARKET", quantity="0.100")
    before = await wallet(client)
    while True:  # the sale's events, up to its last fill
        event = await user.recv()
        if event["e"] == "ORDER_TRADE_UPDATE" and event["o"]["X"] == "FILLED":
            break
    funding_ms = plant.clock.now_ms()
    funding = FundingEvent("BTCUSDT", funding_ms, "0.00037500", "61234.56000000", funding_ms)
    plant.bus.publish(Market.UM, [StreamMessage("btcusdt@fundingEvent", msgspec.json.encode(funding))])
    # a short receives at a positive rate: 0.1 × 61 234.56 × 0.000375 = 2.29629600
    update = await user.recv()
    assert update["e"] == "ACCOUNT_UPDATE" and list(update["a"]) == ["B", "P", "m", "S"]
    after = await wallet(client)
    assert after - before == Decimal("2.29629600")
    assert update["a"] == {"B": [{"a": "USDT", "wb": f"{after:.8f}", "cw": f"{after:.8f}", "bc": "2.296296"}],
                           "P": [], "m": "FUNDING_FEE", "S": "BTCUSDT"}  # fmt: skip
    rows = await client.futures_income_history(incomeType="FUNDING_FEE")
    assert [(r["symbol"], r["income"], r["asset"], r["time"], r["tradeId"]) for r in rows] == [
        ("BTCUSDT", "2.29629600", "USDT", funding_ms, "")]  # fmt: skip
    plant.bus.publish(Market.UM, [StreamMessage("btcusdt@fundingEvent", msgspec.json.encode(funding))])
    assert await wallet(client) == after  # the same funding once
    await leave(user, client)


async def test_the_mark_through_the_liquidation_price_liquidates_the_position(
    plant: Tickerplant, venue: Venue, closing: list[Any]
) -> None:
    engine = plant.engines[Market.UM]
    inst = engine.instruments["BTCUSDT"]
    client = await python_binance(plant, closing, venue.alice_hmac)
    user = await user_socket(plant, client)
    await client.futures_change_leverage(symbol="BTCUSDT", leverage=50)
    await client.futures_create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.500")
    bid = next(engine.data.levels("BTCUSDT", True))[0]
    below = fixed(bid * 8 // 10 // inst.tick * inst.tick, inst.price_decimals)
    resting = await client.futures_create_order(
        symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.010", price=below
    )
    position = next(p for p in await client.futures_position_information() if p["symbol"] == "BTCUSDT")
    entry, size = Decimal(position["entryPrice"]), Decimal(position["positionAmt"])
    wb = await wallet(client)
    assert size == Decimal("0.5")
    # §7.10, one cross long, bracket 1 (MMR 0.4 %): LP = (WB − N × EP) / (N × MMR − N)
    liquidation = (wb - size * entry) / (size * Decimal("0.004") - size)
    assert liquidation > 0
    # the entry price is written truncated: the server's own figure is exact
    assert abs(Decimal(position["liquidationPrice"]) - liquidation) < Decimal("0.000001")
    seen = []
    while not (seen and seen[-1]["e"] == "ORDER_TRADE_UPDATE" and seen[-1]["o"]["x"] == "NEW"
               and seen[-1]["o"]["i"] == resting["orderId"]):  # fmt: skip
        seen.append(await user.recv())

    session = aiohttp.ClientSession()
    closing.append(session)
    public = await session.ws_connect(f"ws://127.0.0.1:{plant.listeners[Market.UM].port}/ws/btcusdt@forceOrder")
    await eventually(lambda: "btcusdt@forceOrder" in plant.demand)
    publish_mark(plant, (liquidation - 1).quantize(EIGHT))  # one dollar through it
    call = await user.recv()
    assert list(call) == ["e", "E", "cw", "p"] and call["e"] == "MARGIN_CALL"
    assert call["cw"] == f"{wb:.8f}" and call["p"][0]["s"] == "BTCUSDT" and call["p"][0]["mt"] == "CROSSED"
    expired = await user.recv()
    assert (expired["o"]["x"], expired["o"]["X"], expired["o"]["i"], expired["o"]["er"]) == (
        "EXPIRED", "EXPIRED", resting["orderId"], "5")  # fmt: skip
    new = await user.recv()
    o = new["o"]
    assert (o["x"], o["X"], o["o"], o["ot"], o["f"], o["S"], o["q"]) == (
        "NEW", "NEW", "LIQUIDATION", "LIQUIDATION", "IOC", "SELL", "0.5")  # fmt: skip
    assert o["c"].startswith("autoclose-") and o["c"][len("autoclose-"):].isdigit()
    # the bankruptcy price (§7.11), rounded up to the tick: the order's limit
    bankrupt = entry - wb / size
    assert Decimal(o["p"]) - bankrupt < Decimal(inst.tick) / 10**inst.price_decimals and Decimal(o["p"]) >= bankrupt
    fills = []
    while True:
        account = await user.recv()
        assert account["e"] == "ACCOUNT_UPDATE" and account["a"]["m"] in ("ORDER", "INSURANCE_CLEAR")
        if account["a"]["m"] == "INSURANCE_CLEAR":
            break
        fill = await user.recv()
        assert (fill["e"], fill["o"]["x"], fill["o"]["c"]) == ("ORDER_TRADE_UPDATE", "CALCULATED", o["c"])
        fills.append(fill["o"])
    assert fills[-1]["X"] == "FILLED" and fills[-1]["z"] == "0.5" and account["a"]["P"] == []

    trades = [t for t in await client.futures_account_trades(symbol="BTCUSDT") if t["orderId"] == o["i"]]
    assert [t["id"] for t in trades] == [f["t"] for f in fills]
    assert all(Decimal(t["price"]) >= bankrupt for t in trades)  # at the bankruptcy price or better
    after_fills = wb + sum(Decimal(t["realizedPnl"]) - Decimal(t["commission"]) for t in trades)
    notional = sum(Decimal(t["quoteQty"]) for t in trades)
    fee = min(after_fills, (notional * Decimal("0.0125")).quantize(EIGHT, rounding="ROUND_DOWN"))
    final = await wallet(client)
    assert final == after_fills - fee
    assert account["a"]["B"] == [{"a": "USDT", "wb": f"{final:.8f}", "cw": f"{final:.8f}",
                                  "bc": f"{-fee:.8f}".rstrip("0").rstrip(".")}]  # fmt: skip
    assert [p for p in await client.futures_position_information() if p["symbol"] == "BTCUSDT"] == []
    assert await client.futures_get_open_orders(symbol="BTCUSDT") == []
    forced = await client.futures_liquidation_orders(symbol="BTCUSDT")
    assert [(f["clientOrderId"], f["status"], f["type"], f["timeInForce"], f["executedQty"]) for f in forced] == [
        (o["c"], "FILLED", "LIMIT", "IOC", "0.500")]  # fmt: skip
    income = await client.futures_income_history(symbol="BTCUSDT", incomeType="INSURANCE_CLEAR")
    assert [(r["income"], r["info"]) for r in income] == [(f"{-fee:.8f}", "INSURANCE_CLEAR")]
    # the public liquidation stream, at the end of the order's second (spec §4.10)
    pushed = json.loads((await public.receive(timeout=10)).data)
    assert pushed["e"] == "forceOrder" and pushed["o"] == {
        "s": "BTCUSDT", "S": "SELL", "o": "LIMIT", "f": "IOC", "q": "0.500", "p": forced[0]["price"],
        "ap": fixed(int(Decimal(forced[0]["avgPrice"]) * 10**inst.price_decimals), inst.price_decimals),
        "X": "FILLED", "l": "0.500", "z": "0.500", "T": forced[0]["time"],
    }  # fmt: skip
    await public.close()
    await leave(user, client)




async def test_a_bankrupt_liquidation_sends_no_wallet_below_zero_and_reconciles(
    plant: Tickerplant, venue: Venue, closing: list[Any]
) -> None:
    """bob (42.125 USDT) goes long at 125× at the best ask; a funding takes his wallet down to
    0.002 USDT, so that his bankruptcy price is above every bid (the spread is a tick): the
    insurance fund takes his whole position at the order's price, which loses what is left
    but not the taker commission. The commission is what is left (part 3 §8), no wallet on
    his stream passes below zero, nothing is credited, and REST's income adds up."""
    engine = plant.engines[Market.UM]
    inst = engine.instruments["BTCUSDT"]
    bob = await python_binance(plant, closing, venue.bob_hmac)
    user = await user_socket(plant, bob)
    await bob.futures_change_leverage(symbol="BTCUSDT", leverage=125)
    ask = Decimal(next(engine.data.levels("BTCUSDT", False))[0]) / 10**inst.price_decimals
    quantity = (Decimal("42.125") * 100 / ask).quantize(Decimal("0.001"), rounding="ROUND_DOWN")
    await bob.futures_create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity=f"{quantity}")
    while (event := await user.recv())["e"] != "ORDER_TRADE_UPDATE" or event["o"]["X"] != "FILLED":
        pass
    position = next(p for p in await bob.futures_position_information() if p["symbol"] == "BTCUSDT")
    entry, size = Decimal(position["entryPrice"]), Decimal(position["positionAmt"])
    wb = await wallet(bob)
    assert size == quantity and 0 < wb < Decimal("42.125")
    # a funding at the capped rate (0.4 %, part 3 §9) at a mark that makes it take all but
    # 0.002 (notional × rate, §9)
    mark = ((wb - Decimal("0.002")) / (size * Decimal("0.004"))).quantize(EIGHT)
    now = plant.clock.now_ms()
    funding = FundingEvent("BTCUSDT", now, "0.00400000", f"{mark}", now)
    plant.bus.publish(Market.UM, [StreamMessage("btcusdt@fundingEvent", msgspec.json.encode(funding))])
    seen = [await user.recv()]
    assert seen[0]["a"]["m"] == "FUNDING_FEE"
    left = Decimal(seen[0]["a"]["B"][0]["wb"])
    assert Decimal("0.001") < left < Decimal("0.003")
    bid = Decimal(next(engine.data.levels("BTCUSDT", True))[0]) / 10**inst.price_decimals
    assert bid < entry - left / size  # §7.11: no one bids the bankruptcy price
    while not (seen[-1]["e"] == "ORDER_TRADE_UPDATE" and seen[-1]["o"]["X"] == "FILLED"):
        seen.append(await user.recv())
    await bob.futures_change_leverage(symbol="ETHUSDT", leverage=7)  # then whatever the liquidation sent after
    while seen[-1]["e"] != "ACCOUNT_CONFIG_UPDATE":
        seen.append(await user.recv())
    wallets = [(b["wb"], b["cw"]) for e in seen if e["e"] == "ACCOUNT_UPDATE" for b in e["a"]["B"]]
    assert all(Decimal(w) >= 0 and Decimal(c) >= 0 for w, c in wallets), wallets
    assert wallets[-1] == ("0.00000000", "0.00000000") and await wallet(bob) == 0
    (new,) = [e["o"] for e in seen if e["e"] == "ORDER_TRADE_UPDATE" and e["o"]["x"] == "NEW"]
    assert new["c"].startswith("autoclose-") and Decimal(new["p"]) >= entry - left / size  # up to the tick
    (fill,) = [e["o"] for e in seen if e["e"] == "ORDER_TRADE_UPDATE" and e["o"]["x"] == "CALCULATED"]
    assert (fill["L"], fill["z"]) == (new["p"], new["q"])  # the insurance fund took it all, at its price
    # its commission is what the fill left, short of the taker's 0.05 %
    assert Decimal(fill["n"]) == left + Decimal(fill["rp"]) < Decimal(fill["L"]) * size * Decimal("0.0005")

    trades = await bob.futures_account_trades(symbol="BTCUSDT")
    income = await bob.futures_income_history(limit=1000)
    assert "INSURANCE_CLEAR" not in {r["incomeType"] for r in income}  # nothing left to clear, nothing credited
    assert await wallet(bob) == sum(Decimal(r["income"]) for r in income)  # his opening TRANSFER included
    commissions = [Decimal(r["income"]) for r in income if r["incomeType"] == "COMMISSION"]
    assert sum(Decimal(t["commission"]) for t in trades) == -sum(commissions)
    await leave(user, bob)
