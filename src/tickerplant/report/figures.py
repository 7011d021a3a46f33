"""The report's figures from the journal's rows: one record of integers (money in 1e-8 of
the report's asset, prices and quantities in each symbol's units) and the ratios computed
from them, the same record the HTML is drawn from and the JSON is written from.

The range is ``[start_ms, end_ms]``: a row at ``start_ms`` is in it; the rows before make
the positions and the wallet it starts from. ``equity.py`` defines the curve and round
trips, ``statistics.py`` each statistic. The flows are broken down so that they add up:

    net PnL = realized PnL − commission + funding + insurance clearance + other flows
              + (unrealized PnL at the end − unrealized PnL at the start)
            = adjusted equity at the end − equity at the start
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from tickerplant.report.equity import EquityPoint, RoundTrip, walk
from tickerplant.report.rows import LIQUIDATION_PREFIX, RunRows
from tickerplant.report.statistics import Drawdown, Slippage, drawdown, sharpe, slippage, turnover, win_rate
from tickerplant.venue.domain.orders import Fill

__all__ = ["FIGURES_VERSION", "Figures", "FillMark", "Flows", "Statistics", "SymbolFigures", "figures"]

FIGURES_VERSION = 1  # the JSON's ``version``: raised when a field changes meaning


class Flows(msgspec.Struct, frozen=True):
    """What moved the equity in the range (1e-8), adding up to ``net_pnl``."""

    realized_pnl: int
    commission: int  # paid: subtracted
    funding: int  # FUNDING_FEE, signed: received is positive
    insurance_clear: int  # INSURANCE_CLEAR: a liquidation's clearance fee, negative
    other: int  # AUTO_EXCHANGE and any other flow but a transfer
    unrealized_change: int  # unrealized PnL at the end less at the start
    net_pnl: int
    transfers: int  # deposits less withdrawals in the range: not PnL


class Liquidations(msgspec.Struct, frozen=True):
    """The venue's liquidation orders of the account (``autoclose-…``) filled in the range."""

    orders: int
    fills: int
    realized_pnl: int
    commission: int
    insurance_clear: int


class SymbolFigures(msgspec.Struct, frozen=True):
    symbol: str
    price_decimals: int
    qty_decimals: int
    fills: int
    bought: int  # quantity units
    sold: int
    turnover: int  # Σ |notional|, 1e-8
    realized_pnl: int
    commission: int
    funding: int
    insurance_clear: int
    liquidation_fills: int


class Statistics(msgspec.Struct, frozen=True):
    start_equity: int
    end_equity: int
    end_adjusted_equity: int
    return_ratio: float | None  # None: no equity at the start
    max_drawdown: Drawdown
    sharpe: float | None
    sharpe_period_ms: int
    trades: int  # fills
    orders_filled: int
    round_trips: int
    wins: int
    win_rate: float | None
    turnover: int  # 1e-8
    turnover_ratio: float | None  # turnover over the equity at the start
    slippage: Slippage


class FillMark(msgspec.Struct, frozen=True):
    """A fill in the range, as the price chart shows it."""

    time_ms: int
    symbol: str
    order_id: int
    side: str
    price: int  # price units
    qty: int  # quantity units
    maker: bool
    liquidation: bool
    realized_pnl: int
    commission: int


class Figures(msgspec.Struct, frozen=True):
    version: int
    account_id: int
    asset: str
    start_ms: int
    end_ms: int
    statistics: Statistics
    flows: Flows
    liquidations: Liquidations
    symbols: list[SymbolFigures]
    equity: list[EquityPoint]
    fills: list[FillMark]
    prices: dict[str, list[tuple[int, int]]]  # per symbol traded: [time, price units], the marks
    round_trips: list[RoundTrip]


def _flows(rows: RunRows, start_ms: int, end_ms: int, kind: str | None) -> dict[str, int]:
    """Σ the asset's income rows in the range per symbol, of ``kind`` (None: every kind but
    the ones the report names: ``TRANSFER``, ``FUNDING_FEE``, ``INSURANCE_CLEAR``)."""
    named = ("TRANSFER", "FUNDING_FEE", "INSURANCE_CLEAR")
    per: dict[str, int] = {}
    for i in rows.incomes:
        if (
            i.asset == rows.asset
            and start_ms <= i.time_ms <= end_ms
            and (i.kind == kind if kind is not None else i.kind not in named)
        ):
            per[i.symbol] = per.get(i.symbol, 0) + i.amount
    return per


def _commission(rows: RunRows, fill: Fill) -> int:
    return fill.commission if fill.commission_asset == rows.asset else 0


def figures(rows: RunRows) -> Figures:
    """Every figure of the report (the module's docstring)."""
    start_ms, end_ms = rows.start_ms, rows.last_ms()
    curve = walk(rows)
    fills = [f for f in rows.fills if start_ms <= f.time_ms <= end_ms and rows.ours(f.symbol)]
    orders = {(o.symbol, o.order_id): o for o in rows.orders}
    liquidated = {key for key, o in orders.items() if o.client_order_id.startswith(LIQUIDATION_PREFIX)}
    funding = _flows(rows, start_ms, end_ms, "FUNDING_FEE")
    clearing = _flows(rows, start_ms, end_ms, "INSURANCE_CLEAR")
    other = _flows(rows, start_ms, end_ms, None)
    volume = turnover(rows, fills)
    end = curve.points[-1]
    realized = sum(f.realized_pnl for f in fills)
    commission = sum(_commission(rows, f) for f in fills)
    flows = Flows(
        realized, commission, sum(funding.values()), sum(clearing.values()), sum(other.values()),
        curve.end_unrealized - curve.start_unrealized, end.adjusted - curve.start_equity, curve.transfers,
    )  # fmt: skip
    liquidation_fills = [f for f in fills if (f.symbol, f.order_id) in liquidated]
    liquidations = Liquidations(
        len({(f.symbol, f.order_id) for f in liquidation_fills}), len(liquidation_fills),
        sum(f.realized_pnl for f in liquidation_fills), sum(_commission(rows, f) for f in liquidation_fills),
        flows.insurance_clear,
    )  # fmt: skip
    marks = [
        FillMark(
            f.time_ms, f.symbol, f.order_id, f.side.value, f.price, f.qty, f.maker,
            (f.symbol, f.order_id) in liquidated, f.realized_pnl, _commission(rows, f),
        )
        for f in sorted(fills, key=lambda f: (f.time_ms, f.symbol, f.trade_id, f.order_id))
    ]  # fmt: skip
    traded = sorted({f.symbol for f in fills} | {s for s in funding if s} | {s for s in clearing if s})
    wins, rate = win_rate(curve.trips)
    start = curve.start_equity
    sharpe_ratio, period = sharpe(curve.points, start, start_ms, end_ms)
    statistics = Statistics(
        start, end.equity, end.adjusted, (end.adjusted - start) / start if start > 0 else None,
        drawdown(curve.points, start, start_ms), sharpe_ratio, period, len(fills),
        len({(f.symbol, f.order_id) for f in fills}), len(curve.trips), wins, rate, sum(volume.values()),
        sum(volume.values()) / start if start > 0 else None, slippage(rows, fills, orders),
    )  # fmt: skip
    return Figures(
        FIGURES_VERSION, rows.account_id, rows.asset, start_ms, end_ms, statistics, flows, liquidations,
        [_symbol(rows, s, fills, volume, funding, clearing, liquidated) for s in traded], curve.points, marks,
        _prices(rows, traded, start_ms, end_ms), curve.trips,
    )  # fmt: skip


def _symbol(
    rows: RunRows, symbol: str, fills: Sequence[Fill], volume: dict[str, int], funding: dict[str, int],
    clearing: dict[str, int], liquidated: set[tuple[str, int]],
) -> SymbolFigures:  # fmt: skip
    mine = [f for f in fills if f.symbol == symbol]
    inst = rows.contracts[symbol].inst
    return SymbolFigures(
        symbol, inst.price_decimals, inst.qty_decimals, len(mine),
        sum(f.qty for f in mine if f.side.sign > 0), sum(f.qty for f in mine if f.side.sign < 0),
        volume.get(symbol, 0), sum(f.realized_pnl for f in mine), sum(_commission(rows, f) for f in mine),
        funding.get(symbol, 0), clearing.get(symbol, 0),
        sum(1 for f in mine if (f.symbol, f.order_id) in liquidated),
    )  # fmt: skip


def _prices(
    rows: RunRows, symbols: Sequence[str], start_ms: int, end_ms: int
) -> dict[str, list[tuple[int, int]]]:
    """Each symbol's marks in the range (the account's fills and the price points), the
    last one before the range first, one a millisecond (the last)."""
    wanted = set(symbols)
    # drawn at a tick: a run's mark may fall between two
    points = [(p.time_ms, p.symbol, round(p.price)) for p in rows.prices if p.symbol in wanted]
    points += [(f.time_ms, f.symbol, f.price) for f in rows.fills if f.symbol in wanted]
    points.sort(key=lambda p: p[0])
    out: dict[str, list[tuple[int, int]]] = {symbol: [] for symbol in symbols}
    before: dict[str, tuple[int, int]] = {}
    for time_ms, symbol, price in points:
        if time_ms < start_ms:
            before[symbol] = (time_ms, price)
        elif time_ms <= end_ms:
            line = out[symbol]
            if line and line[-1][0] == time_ms:
                line[-1] = (time_ms, price)
            else:
                line.append((time_ms, price))
    for symbol, first in before.items():
        out[symbol].insert(0, first)
    return out
