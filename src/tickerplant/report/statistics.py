"""The statistics trading tools print, each defined here once (docs/report.md copies these
definitions). Money is integers of 1e-8 of the report's asset; a ratio is a float, computed
from those integers at the end; a statistic that has nothing to be measured on is None.

- **return**: (adjusted equity at the end − equity at the start) / equity at the start
  (``equity.py`` defines both: transfers in the range are neither gain nor loss).
- **max drawdown**: the largest fall of the adjusted equity from its highest point so far
  in the range, in money, and as a share of that highest point (the largest such share,
  which need not be the largest fall's).
- **Sharpe ratio**: the mean over the sample standard deviation (n − 1) of the simple
  returns of the adjusted equity between consecutive period ends, sampled from the range's
  start, times √(periods in a 365-day year) (futures trade every day), with no risk-free
  rate. The period is a day when the range holds at least ``MIN_PERIODS`` of them, else an
  hour when it holds that many, else a minute. None with fewer than two returns, with no
  variation, or an equity not above zero at a period end.
- **trades**: the account's fills in the range; **orders filled**: the orders they belong to.
- **win rate**: the round trips closed in the range with a positive PnL net of commissions,
  over the round trips closed in the range (``equity.RoundTrip``). Per round trip, not per
  fill: a fill that opens a position has no outcome of its own.
- **turnover**: Σ |notional| of the fills in the range in the margin asset (part 3 §7.1:
  linear ``qty × price``, inverse ``qty × contractSize / price``), and that over the equity
  at the start.
- **slippage**: against the mid when the order arrived (``Order.arrival_mid_x2``, kept by
  the venue as the order was accepted, before it took anything): for each fill in the range
  of an order that has one, the cost ``side × (fill price − mid)`` valued as the contract
  values a price difference (``Contract.pnl`` of the fill's quantity opened at its price and
  marked at the mid, negated); the average is Σ cost / Σ |notional at the mid|, in basis
  points: positive is paid, negative (a maker's fill inside the spread) is gained. Orders
  the venue made (liquidations) and orders journaled before the mid was kept have none and
  are counted apart.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction

import msgspec

from tickerplant.market.units import DAY_MS, HOUR_MS, MINUTE_MS, YEAR_MS
from tickerplant.report.equity import EquityPoint, RoundTrip
from tickerplant.report.rows import RunRows
from tickerplant.venue.domain.contract import toward_zero
from tickerplant.venue.domain.orders import Fill, Order

__all__ = [
    "MIN_PERIODS", "PERIODS", "YEAR_MS", "Drawdown", "Slippage", "drawdown", "period_for", "sharpe",
    "slippage", "turnover", "win_rate",
]  # fmt: skip

PERIODS = (DAY_MS, HOUR_MS, MINUTE_MS)  # the Sharpe ratio's period: the longest that gives enough
MIN_PERIODS = 30  # returns enough for a period to be chosen


class Drawdown(msgspec.Struct, frozen=True):
    amount: int  # the largest fall from the highest adjusted equity so far, 1e-8
    ratio: float | None  # the largest fall as a share of its highest point; None: never above zero
    peak_ms: int | None  # the largest fall's highest point and its lowest
    trough_ms: int | None


class Slippage(msgspec.Struct, frozen=True):
    orders: int  # orders measured: with an arrival mid and a fill in the range
    unmeasured: int  # orders with a fill in the range and no arrival mid
    cost: int  # Σ cost, 1e-8: positive is paid
    bps: float | None  # Σ cost / Σ |notional at the mid| × 10^4


def drawdown(points: Sequence[EquityPoint], start_equity: int, start_ms: int) -> Drawdown:
    """Over the curve, its highest point so far starting from the equity at the start (a
    row at the start itself replaced the start's point: its fee is a fall all the same)."""
    peak = EquityPoint(start_ms, start_equity, start_equity, 0)
    worst, worst_peak, worst_trough, ratio = 0, None, None, None
    for p in points:
        if p.adjusted > peak.adjusted:
            peak = p
        fall = peak.adjusted - p.adjusted
        if fall > worst:
            worst, worst_peak, worst_trough = fall, peak.time_ms, p.time_ms
        if peak.adjusted > 0:
            share = fall / peak.adjusted
            ratio = share if ratio is None else max(ratio, share)
    return Drawdown(worst, ratio, worst_peak, worst_trough)


def period_for(span_ms: int) -> int:
    """The Sharpe ratio's period for a range of ``span_ms`` (the module's docstring)."""
    for period in PERIODS:
        if span_ms // period >= MIN_PERIODS:
            return period
    return PERIODS[-1]


def sampled(
    points: Sequence[EquityPoint], first: int, start_ms: int, end_ms: int, period_ms: int
) -> list[int]:
    """The equity at the start (``first``), then the adjusted equity at each period's end
    after it up to ``end_ms``: the last point at or before each (the curve is a step
    function)."""
    values: list[int] = [first]
    at, i, last = start_ms + period_ms, 0, first
    while at <= end_ms:
        while i < len(points) and points[i].time_ms <= at:
            last = points[i].adjusted
            i += 1
        values.append(last)
        at += period_ms
    return values


def sharpe(
    points: Sequence[EquityPoint], start_equity: int, start_ms: int, end_ms: int
) -> tuple[float | None, int]:
    """The annualized Sharpe ratio and the period it is over (the module's docstring)."""
    period = period_for(end_ms - start_ms)
    values = sampled(points, start_equity, start_ms, end_ms, period)
    if any(v <= 0 for v in values[:-1]) or len(values) < 3:
        return None, period
    returns = [(b - a) / a for a, b in itertools.pairwise(values)]
    mean = math.fsum(returns) / len(returns)
    variance = math.fsum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    if variance <= 0:
        return None, period
    return mean / math.sqrt(variance) * math.sqrt(YEAR_MS / period), period


def win_rate(trips: Sequence[RoundTrip]) -> tuple[int, float | None]:
    """The round trips won and the win rate (None: none closed)."""
    wins = sum(1 for trip in trips if trip.net > 0)
    return wins, (wins / len(trips) if trips else None)


def turnover(rows: RunRows, fills: Iterable[Fill]) -> dict[str, int]:
    """Σ |notional| of ``fills`` per symbol, 1e-8 of the margin asset."""
    per: dict[str, Fraction] = {}
    for fill in fills:
        contract = rows.contracts[fill.symbol]
        value = abs(contract.notional(fill.qty, contract.price(fill.price)))
        per[fill.symbol] = per.get(fill.symbol, Fraction(0)) + value
    return {symbol: toward_zero(value) for symbol, value in per.items()}


def slippage(rows: RunRows, fills: Iterable[Fill], orders: Mapping[tuple[str, int], Order]) -> Slippage:
    """Against the mid at each order's arrival (the module's docstring)."""
    cost, notional = Fraction(0), Fraction(0)
    measured: set[tuple[str, int]] = set()
    unmeasured: set[tuple[str, int]] = set()
    for fill in fills:
        key = (fill.symbol, fill.order_id)
        order = orders.get(key)
        if order is None or not order.arrival_mid_x2:
            unmeasured.add(key)
            continue
        measured.add(key)
        contract = rows.contracts[fill.symbol]
        mid = Fraction(order.arrival_mid_x2, 2 * contract.price_one)
        # opened at the fill's price, valued at the mid: what the fill gave away against it
        cost -= contract.pnl(fill.side.sign * fill.qty, contract.price(fill.price), mid)
        notional += abs(contract.notional(fill.qty, mid))
    bps = float(cost / notional * 10_000) if notional else None
    return Slippage(len(measured), len(unmeasured), toward_zero(cost), bps)
