# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""A scripted strategy, by python-binance over real sockets against the
simulated market on a manual clock: buy with a limit order resting at the touch until the
simulated flow fills it (following the bid up, as a bot would), hold the position through a
funding time, close it at market. The wallet ends at its start plus the realized PnL, less
the fees, plus the funding, to the unit (1e-8), each computed from the public record: the
fills' prices and the commission rates, and the funding rate and mark price `fundingRate`
publishes for that time."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any

from conftest import StartServer
from test_venue_clients import Venue, closing, moving_market, python_binance, venue  # noqa: F401

from tickerplant.market.units import fixed

FUNDING = 1_794_988_800_000  # 2026-11-18 08:00 UTC, a funding time
T0 = FUNDING - 4 * 60_000  # four minutes before it
EIGHT = Decimal("0.00000001")


async def test_buy_at_the_touch_hold_through_funding_and_close(
    start_server: StartServer, venue: Venue, closing: list[Any]
) -> None:
    market = await moving_market(start_server, venue, closing, T0, seed=11)
    clock, client, engine, advance = market.clock, market.client, market.engine, market.advance
    inst = engine.instruments["BTCUSDT"]

    async def wallet() -> Decimal:
        rows = await client.futures_account_balance()
        return Decimal(next(r for r in rows if r["asset"] == "USDT")["balance"])

    start = await wallet()

    def best_bid() -> str:
        return fixed(next(engine.data.levels("BTCUSDT", True))[0], inst.price_decimals)

    order = await client.futures_create_order(
        symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTX", quantity="0.010", price=best_bid()
    )  # post-only: it rests at the touch, a maker
    for _ in range(200):  # the flow fills it, or the bid leaves it behind and it follows
        await advance(1_000)
        order = await client.futures_get_order(symbol="BTCUSDT", orderId=order["orderId"])
        if order["status"] == "FILLED":
            break
        bid = best_bid()
        if Decimal(bid) > Decimal(order["price"]):
            order = await client.futures_modify_order(
                symbol="BTCUSDT", orderId=order["orderId"], side="BUY", quantity="0.010", price=bid
            )
    assert order["status"] == "FILLED" and clock.now_ms() < FUNDING
    await advance(FUNDING - clock.now_ms() + 500)  # through the funding time
    funding_rows = await client.futures_income_history(incomeType="FUNDING_FEE")
    assert [(r["symbol"], r["time"]) for r in funding_rows] == [("BTCUSDT", FUNDING)]
    closed = await client.futures_create_order(
        symbol="BTCUSDT", side="SELL", type="MARKET", quantity="0.010", reduceOnly="true", newOrderRespType="RESULT"
    )
    assert closed["status"] == "FILLED"
    end = await wallet()
    trades = await client.futures_account_trades(symbol="BTCUSDT")
    rates = await client.futures_commission_rate(symbol="BTCUSDT")
    buys = [t for t in trades if t["side"] == "BUY"]
    sells = [t for t in trades if t["side"] == "SELL"]
    assert all(t["maker"] for t in buys) and not any(t["maker"] for t in sells)
    qty = Decimal("0.010")
    bought = sum(Decimal(t["price"]) * Decimal(t["qty"]) for t in buys)
    sold = sum(Decimal(t["price"]) * Decimal(t["qty"]) for t in sells)
    realized = sold - bought
    assert sum(Decimal(t["realizedPnl"]) for t in trades) == realized
    fees = sum(
        (Decimal(t["price"]) * Decimal(t["qty"]) * Decimal(rates["makerCommissionRate" if t["maker"] else "takerCommissionRate"])).quantize(EIGHT, ROUND_DOWN)
        for t in trades
    )  # fmt: skip  (the venue rounds a fee and a funding toward zero, to 1e-8)
    assert sum(Decimal(t["commission"]) for t in trades) == fees
    (published,) = await client.futures_funding_rate(symbol="BTCUSDT", startTime=FUNDING, endTime=FUNDING)
    funding = (-qty * Decimal(published["markPrice"]) * Decimal(published["fundingRate"])).quantize(EIGHT, ROUND_DOWN)
    assert Decimal(funding_rows[0]["income"]) == funding  # a long pays at a positive rate
    assert end == start + realized - fees + funding
