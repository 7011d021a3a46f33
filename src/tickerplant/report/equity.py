"""The equity curve of one account in one asset: its rows replayed in time order, the
positions rebuilt fill by fill with the venue's own arithmetic (``Contract.settle``) and
marked at the last price known of their symbol.

Definitions (docs/report.md, "What the figures mean"):

- **wallet** at a time: Σ of the asset's flows up to it: each fill's realized PnL less its
  commission, and the income rows (``TRANSFER``: the operator's deposits and withdrawals and
  the opening balance, ``FUNDING_FEE``, ``INSURANCE_CLEAR``, ``AUTO_EXCHANGE``). It is the
  wallet the venue keeps: its income history sums to it (``clearing/transfers.py``).
- **mark**: the last price of the symbol at or before the time among the account's own
  fills and the report's price points (every account's fills in the journal, the klines a
  server holds when the caller hands them in). The journal keeps no mark price, so between
  two prices a position's value stands still; before the first one it is worth its entry.
- **equity**: wallet + Σ unrealized PnL of the open positions at their marks (part 3 §7.5,
  each truncated toward zero to 1e-8 as the venue writes it).
- **adjusted equity**: equity less the transfers made in the range: the curve
  the return, the drawdown and the Sharpe ratio are measured on, so that a deposit is no
  gain and a withdrawal no loss.
- **drawdown** at a point: the highest adjusted equity so far (from the range's start) less
  the adjusted equity there, ≥ 0.
- **round trip**: a position of one symbol and position side from flat back to flat; a
  fill that flips it closes one trip and opens the next. Its PnL is its fills' realized PnL
  less their commissions (the flipping fill's commission is the closed trip's).

The range is ``[start_ms, end_ms]``: the rows before it make the state it starts from (the
equity at the start), a row at ``start_ms`` is in it. The curve has a point at the start,
one per millisecond in the range at which a row changed the equity or a mark (several rows
at one millisecond make one point, the last's: a row at ``start_ms`` replaces the start's),
and one at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import msgspec

from tickerplant.report.rows import PricePoint, RunRows
from tickerplant.venue.domain.contract import Contract, Position
from tickerplant.venue.domain.events import Income
from tickerplant.venue.domain.orders import Fill, PositionSide

__all__ = ["EquityPoint", "RoundTrip", "Walk", "walk"]

_FILL, _INCOME, _PRICE = 0, 1, 2  # at one millisecond: fills, then flows, then the other marks


class EquityPoint(msgspec.Struct, array_like=True, frozen=True):
    """One point of the curve (1e-8 of the asset): the JSON's ``[time, equity, adjusted,
    drawdown]``."""

    time_ms: int
    equity: int  # wallet + unrealized PnL at the marks
    adjusted: int  # equity less the transfers in the range
    drawdown: int  # the highest adjusted equity so far less this one


class RoundTrip(msgspec.Struct, frozen=True):
    """A position from flat to flat (or to its flip), closed in the range."""

    symbol: str
    position_side: str
    open_ms: int
    close_ms: int
    fills: int
    realized_pnl: int  # 1e-8
    commission: int  # 1e-8

    @property
    def net(self) -> int:
        return self.realized_pnl - self.commission


@dataclass(slots=True)
class _Trip:
    open_ms: int
    fills: int = 0
    realized_pnl: int = 0
    commission: int = 0


@dataclass(slots=True)
class Walk:
    """What replaying the rows gives: the curve, the state at both ends, the round trips."""

    points: list[EquityPoint] = field(default_factory=list)
    start_equity: int = 0
    start_unrealized: int = 0
    end_unrealized: int = 0
    transfers: int = 0  # Σ TRANSFER in the range
    trips: list[RoundTrip] = field(default_factory=list)
    marks: dict[str, int | Fraction] = field(default_factory=dict)  # each symbol's last price at the end


class _Book:
    """The account's positions and wallet as the rows are replayed."""

    def __init__(self, rows: RunRows) -> None:
        self.rows = rows
        self.wallet = 0
        self.positions: dict[tuple[str, PositionSide], Position] = {}
        self.marks: dict[str, int | Fraction] = {}  # price units (``PricePoint.price``)
        self.trips: dict[tuple[str, PositionSide], _Trip] = {}

    def unrealized(self) -> int:
        total = 0
        for (symbol, _), position in self.positions.items():
            if position.amt:
                contract = self.rows.contracts[symbol]
                mark = self.marks.get(symbol)
                price = position.entry if mark is None else Fraction(mark) / contract.price_one
                total += contract.unrealized_e8(position, price)
        return total

    def fill(self, fill: Fill, counted: bool, trips: list[RoundTrip]) -> None:
        """``fill`` settled into its position; a round trip it closes kept when ``counted``."""
        contract: Contract = self.rows.contracts[fill.symbol]
        key = (fill.symbol, fill.position_side)
        position = self.positions.setdefault(key, Position(side=fill.position_side, contract=contract))
        before = position.amt
        contract.settle(position, fill.side, fill.qty, fill.price, fill.time_ms, fill.maker)
        commission = fill.commission if fill.commission_asset == self.rows.asset else 0
        self.wallet += fill.realized_pnl - commission
        self.marks[fill.symbol] = fill.price
        trip = self.trips.get(key) or _Trip(fill.time_ms)
        trip.fills += 1
        trip.realized_pnl += fill.realized_pnl
        trip.commission += commission
        after = position.amt
        if before and (after == 0 or (after > 0) != (before > 0)):  # closed, or flipped
            if counted:
                trips.append(RoundTrip(
                    fill.symbol, fill.position_side.value, trip.open_ms, fill.time_ms, trip.fills,
                    trip.realized_pnl, trip.commission,
                ))  # fmt: skip
            trip = _Trip(fill.time_ms)
        if after:
            self.trips[key] = trip
        else:
            self.trips.pop(key, None)


def _events(rows: RunRows, end_ms: int) -> list[tuple[int, int, int, object]]:
    """The rows that move the equity, in time order (``_FILL``, ``_INCOME``, ``_PRICE``)."""
    events: list[tuple[int, int, int, object]] = []
    for n, fill in enumerate(rows.fills):
        if fill.time_ms <= end_ms and rows.ours(fill.symbol):
            events.append((fill.time_ms, _FILL, n, fill))
    for n, income in enumerate(rows.incomes):
        if income.time_ms <= end_ms and income.asset == rows.asset:
            events.append((income.time_ms, _INCOME, n, income))
    for n, point in enumerate(rows.prices):
        if point.time_ms <= end_ms and rows.ours(point.symbol):
            events.append((point.time_ms, _PRICE, n, point))
    events.sort(key=lambda event: event[:3])
    return events


def walk(rows: RunRows) -> Walk:
    """The rows replayed (the module's docstring)."""
    start_ms, end_ms = rows.start_ms, rows.last_ms()
    book, out = _Book(rows), Walk()
    peak: int | None = None

    def point(time_ms: int) -> None:
        nonlocal peak
        equity = book.wallet + book.unrealized()
        adjusted = equity - out.transfers
        peak = adjusted if peak is None else max(peak, adjusted)
        made = EquityPoint(time_ms, equity, adjusted, peak - adjusted)
        if out.points and out.points[-1].time_ms == time_ms:
            out.points[-1] = made  # one point a millisecond: the last row's
        else:
            out.points.append(made)

    def start() -> None:
        out.start_unrealized = book.unrealized()
        out.start_equity = book.wallet + out.start_unrealized
        point(start_ms)

    started = False
    for time_ms, _kind, _, row in _events(rows, end_ms):
        if time_ms >= start_ms and not started:
            started = True
            start()
        if isinstance(row, Fill):
            book.fill(row, started, out.trips)
        elif isinstance(row, PricePoint):
            book.marks[row.symbol] = row.price
        elif isinstance(row, Income):
            book.wallet += row.amount
            if started and row.kind == "TRANSFER":
                out.transfers += row.amount
        if started:
            point(time_ms)
    if not started:
        start()
    out.end_unrealized = book.unrealized()
    if out.points[-1].time_ms < end_ms:
        point(end_ms)
    out.marks = dict(book.marks)
    return out
