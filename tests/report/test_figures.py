"""The report's figures from hand-made journal rows, each figure worked by hand in the
comments (money in 1e-8 USDT or BTC; BTCUSDT prices in 0.01, quantities in 0.001;
BTCUSD_PERP prices in 0.1, quantities in contracts of 100 USD)."""

from __future__ import annotations

import math
from fractions import Fraction

import msgspec
import pytest

from tickerplant.market.instruments import Market, catalogue
from tickerplant.report.equity import EquityPoint
from tickerplant.report.figures import Figures, figures
from tickerplant.report.rows import PricePoint, RunRows
from tickerplant.report.statistics import DAY_MS, HOUR_MS, MINUTE_MS, YEAR_MS, period_for, sharpe
from tickerplant.venue.domain.contract import Contract
from tickerplant.venue.domain.events import Income
from tickerplant.venue.domain.orders import Fill, Order, OrderStatus, OrderType, Side, TimeInForce

USDT = 100_000_000  # one USDT in 1e-8
CONTRACTS = {i.symbol: Contract(i) for m in Market for i in catalogue(m, 0)}
BTC = "BTCUSDT"


def fill(time_ms: int, order_id: int, side: Side, price: int, qty: int, pnl: int, fee: int, sym: str = BTC,
         asset: str = "USDT") -> Fill:  # fmt: skip
    return Fill(1, sym, time_ms, order_id, side, price, qty, 0, pnl, fee, asset, False, time_ms)


def order(order_id: int, side: Side, mid_x2: int = 0, client_id: str = "bot") -> Order:
    return Order(
        1, BTC, order_id, client_id, side, OrderType.MARKET, TimeInForce.GTC, 0, 10, False, 0, 0, 0,
        OrderStatus.FILLED, arrival_mid_x2=mid_x2,
    )  # fmt: skip


def income(time_ms: int, kind: str, amount: int, symbol: str = BTC) -> Income:
    return Income(1, symbol, kind, "USDT", amount, time_ms, time_ms)


def a_run() -> RunRows:
    """10,000 USDT deposited; in [2000, 10000]: bought 0.010 at 60,000 (fee 0.30), marked at
    61,000 then 59,000, 0.60 of funding paid, sold at 60,500 (+5.00, fee 0.121); then 0.005
    bought at 60,000 (fee 0.15) and liquidated at 59,900 (−0.50, fee 0.14975, clearance 1.00);
    1,000 USDT more deposited at 9000."""
    return RunRows(
        account_id=1, asset="USDT", start_ms=2000, end_ms=10_000,
        fills=[
            fill(2000, 1, Side.BUY, 6_000_000, 10, 0, 30_000_000),
            fill(6000, 2, Side.SELL, 6_050_000, 10, 5 * USDT, 12_100_000),
            fill(7000, 3, Side.BUY, 6_000_000, 5, 0, 15_000_000),
            fill(8000, 4, Side.SELL, 5_990_000, 5, -50_000_000, 14_975_000),
        ],
        incomes=[
            income(1000, "TRANSFER", 10_000 * USDT, ""),
            income(4000, "FUNDING_FEE", -60_000_000),
            income(8000, "INSURANCE_CLEAR", -USDT),
            income(9000, "TRANSFER", 1_000 * USDT, ""),
        ],
        orders=[
            order(1, Side.BUY, 5_999_900 + 6_000_000),  # mid 59,999.50: a buy at 60,000 paid 0.50 a BTC
            order(2, Side.SELL, 2 * 6_049_900),  # mid 60,499.00: a sell at 60,500 gained 1.00 a BTC
            order(3, Side.BUY),  # no mid kept
            order(4, Side.SELL, client_id="autoclose-8000000001"),
        ],
        prices=[PricePoint(3000, BTC, 6_100_000), PricePoint(5000, BTC, 5_900_000)],
        contracts=CONTRACTS,
    )  # fmt: skip


def test_the_equity_curve_marks_positions_between_fills() -> None:
    made = figures(a_run())
    assert msgspec.to_builtins(made.equity) == [
        # 2000: the start's 10,000 replaced by the buy's point: 10,000 − 0.30; drawdown 0.30
        [2000, 999_970_000_000, 999_970_000_000, 30_000_000],
        [3000, 1_000_970_000_000, 1_000_970_000_000, 0],  # marked at 61,000: +10.00 unrealized
        [4000, 1_000_910_000_000, 1_000_910_000_000, 60_000_000],  # funding −0.60
        [5000, 998_910_000_000, 998_910_000_000, 2_060_000_000],  # marked at 59,000: −10.00
        [6000, 1_000_397_900_000, 1_000_397_900_000, 572_100_000],  # sold: +5.00 − 0.121, flat
        [7000, 1_000_382_900_000, 1_000_382_900_000, 587_100_000],  # bought 0.005: −0.15
        [8000, 1_000_217_925_000, 1_000_217_925_000, 752_075_000],  # liquidated: −0.50 − 0.14975 − 1.00
        [9000, 1_100_217_925_000, 1_000_217_925_000, 752_075_000],  # a deposit: no gain
        [10_000, 1_100_217_925_000, 1_000_217_925_000, 752_075_000],  # the range's end
    ]  # fmt: skip


def test_a_mark_between_two_ticks_marks_a_held_position_exactly() -> None:
    """A run's mark as its venue read it (8 decimals on a recording): the position's unrealized
    PnL at it to the unit, as the account's own, not at the tick it rounds to: 0.010 bought at
    60,000 (fee 0.30), marked at 61,000.00456789: +10.0000456789, 1e-8 rounded down."""
    run = a_run()
    held = RunRows(
        account_id=1, asset="USDT", start_ms=2000, end_ms=3000, fills=run.fills[:1], incomes=run.incomes[:1],
        orders=run.orders[:1], prices=[PricePoint(3000, BTC, Fraction(6_100_000_456_789, 1_000_000))],
        contracts=CONTRACTS,
    )  # fmt: skip
    made = figures(held)
    assert made.statistics.end_equity == 10_000 * USDT - 30_000_000 + 1_000_004_567
    assert made.prices[BTC][-1] == (3000, 6_100_000)  # drawn at its tick


def test_the_flows_add_up_to_the_net_pnl() -> None:
    flows = figures(a_run()).flows
    assert msgspec.to_builtins(flows) == {
        "realized_pnl": 450_000_000, "commission": 72_075_000, "funding": -60_000_000,
        "insurance_clear": -USDT, "other": 0, "unrealized_change": 0, "net_pnl": 217_925_000,
        "transfers": 1_000 * USDT,
    }  # fmt: skip
    assert flows.net_pnl == (
        flows.realized_pnl - flows.commission + flows.funding + flows.insurance_clear + flows.other
        + flows.unrealized_change
    )  # fmt: skip


def test_the_statistics() -> None:
    made = figures(a_run())
    s = made.statistics
    assert (s.start_equity, s.end_equity, s.end_adjusted_equity) == (
        10_000 * USDT, 1_100_217_925_000, 1_000_217_925_000)  # fmt: skip
    assert s.return_ratio == 217_925_000 / (10_000 * USDT)
    # the largest fall: 10,009.70 at 3000 to 9,989.10 at 5000
    assert (s.max_drawdown.amount, s.max_drawdown.peak_ms, s.max_drawdown.trough_ms) == (
        2_060_000_000,
        3000,
        5000,
    )
    assert s.max_drawdown.ratio == 2_060_000_000 / 1_000_970_000_000
    assert (s.trades, s.orders_filled, s.round_trips, s.wins, s.win_rate) == (4, 4, 2, 1, 0.5)
    # 600 + 605 + 300 + 299.50 USDT traded, over 10,000
    assert (s.turnover, s.turnover_ratio) == (180_450_000_000, 0.18045)
    # order 1 paid 0.005 against 599.995 at the mid, order 2 gained 0.010 against 604.99
    assert (s.slippage.orders, s.slippage.unmeasured, s.slippage.cost) == (2, 2, -500_000)
    assert s.slippage.bps == pytest.approx(
        float(Fraction(-500_000, 59_999_500_000 + 60_499_000_000) * 10_000)
    )
    assert s.sharpe is None and s.sharpe_period_ms == MINUTE_MS  # 8 s: no minute's return


def test_round_trips_liquidations_and_each_symbol() -> None:
    made = figures(a_run())
    assert [(t.open_ms, t.close_ms, t.fills, t.realized_pnl, t.commission, t.net) for t in made.round_trips] == [
        (2000, 6000, 2, 5 * USDT, 42_100_000, 457_900_000),
        (7000, 8000, 2, -50_000_000, 29_975_000, -79_975_000),
    ]  # fmt: skip
    assert msgspec.to_builtins(made.liquidations) == {
        "orders": 1, "fills": 1, "realized_pnl": -50_000_000, "commission": 14_975_000, "insurance_clear": -USDT,
    }  # fmt: skip
    (btc,) = made.symbols
    assert (btc.symbol, btc.fills, btc.bought, btc.sold, btc.funding, btc.liquidation_fills) == (
        BTC, 4, 15, 15, -60_000_000, 1)  # fmt: skip
    assert [m.liquidation for m in made.fills] == [False, False, False, True]
    # the price chart: the marks and the fills' prices in the range
    assert made.prices == {BTC: [(2000, 6_000_000), (3000, 6_100_000), (5000, 5_900_000), (6000, 6_050_000),
                                 (7000, 6_000_000), (8000, 5_990_000)]}  # fmt: skip


def test_a_position_held_into_the_range_starts_it_with_its_unrealized_pnl() -> None:
    """COIN-M: 10 BTCUSD_PERP contracts (1,000 USD) bought at 50,000 before the range, marked
    at 62,500 in it: 1,000 × (1/50,000 − 1/62,500) = 0.004 BTC unrealized; a fill before
    the range is no trade of it, and its round trip, still open, none either."""
    perp = "BTCUSD_PERP"
    rows = RunRows(
        account_id=1, asset="BTC", start_ms=5000, end_ms=9000,
        fills=[fill(1000, 1, Side.BUY, 500_000, 10, 0, 100_000, perp, "BTC"),
               fill(2000, 2, Side.BUY, 6_000_000, 10, 0, 30_000_000)],  # USDT's: not this report's
        incomes=[Income(1, "", "TRANSFER", "BTC", USDT, 500, 500)],
        orders=[], prices=[PricePoint(6000, perp, 625_000)], contracts=CONTRACTS,
    )  # fmt: skip
    made = figures(rows)
    assert msgspec.to_builtins(made.equity) == [
        [5000, 99_900_000, 99_900_000, 0],  # 1 BTC less the fee, the position at its entry
        [6000, 100_300_000, 100_300_000, 0],  # + 0.004 BTC
        [9000, 100_300_000, 100_300_000, 0],
    ]
    assert (made.flows.unrealized_change, made.flows.net_pnl, made.statistics.trades) == (400_000, 400_000, 0)
    assert made.round_trips == [] and made.symbols == []


def test_the_figures_are_json_of_integers() -> None:
    made = figures(a_run())
    again = msgspec.json.decode(msgspec.json.encode(made), type=Figures)
    assert again == made
    assert msgspec.json.decode(msgspec.json.encode(made))["equity"][1] == [
        3000,
        1_000_970_000_000,
        1_000_970_000_000,
        0,
    ]


def test_the_sharpe_period_is_the_longest_that_gives_thirty_returns() -> None:
    assert (period_for(30 * DAY_MS), period_for(30 * DAY_MS - 1)) == (DAY_MS, HOUR_MS)
    assert (period_for(30 * HOUR_MS), period_for(30 * HOUR_MS - 1)) == (HOUR_MS, MINUTE_MS)
    assert period_for(1000) == MINUTE_MS


def test_the_sharpe_ratio_of_three_minutes() -> None:
    """Returns +10 %, −10 %, +10 %: mean 1/30, sample variance 1/75, over minutes: a year
    holds 525,600 of them. The equity between minute ends does not count."""
    points = [EquityPoint(t, v, v, 0) for t, v in (
        (0, 1_000_000), (30_000, 5_000_000), (60_000, 1_100_000), (120_000, 990_000), (180_000, 1_089_000))]  # fmt: skip
    ratio, period = sharpe(points, 1_000_000, 0, 200_000)
    assert period == MINUTE_MS
    assert ratio == pytest.approx((1 / 30) / math.sqrt(1 / 75) * math.sqrt(YEAR_MS / MINUTE_MS))
    flat = [EquityPoint(0, 10, 10, 0)]
    assert sharpe(flat, 10, 0, 200_000) == (None, MINUTE_MS)  # no variation


def test_a_fill_at_the_start_falls_from_the_equity_the_range_starts_with() -> None:
    """The range starts at its first fill (the default): the fill's point replaces the
    start's, and its fee is the drawdown all the same."""
    rows = RunRows(
        account_id=1, asset="USDT", start_ms=2000, end_ms=2000,
        fills=[fill(2000, 1, Side.BUY, 6_000_000, 10, 0, 30_000_000)],
        incomes=[income(1000, "TRANSFER", 10_000 * USDT, "")], orders=[], prices=[], contracts=CONTRACTS,
    )  # fmt: skip
    s = figures(rows).statistics
    assert (s.start_equity, s.max_drawdown.amount, s.max_drawdown.peak_ms, s.max_drawdown.trough_ms) == (
        10_000 * USDT, 30_000_000, 2000, 2000)  # fmt: skip
