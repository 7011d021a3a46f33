"""A symbol's recent aggregate trades, for `GET /fapi/v1/aggTrades` and `GET /fapi/v1/trades`
(spec §7.9): a ring of the last ``capacity`` aggregates, oldest first.

Bounded by design: at most ``capacity`` aggregates (``CAPACITY``, 10,000) whatever the trade
rate, held as seven arrays of 8-byte integers (agg id, first and last trade id, time, price
and quantity units, buyer-is-maker): 560 kB a symbol at full size, then overwritten in
place, so a flood of trades costs no memory at all. A ring starts with its first
``FIRST_SLOTS`` (64) and takes the rest of its size at once when they are outgrown: a
server that lives seconds (a test's) writes 3.5 kB a symbol instead of 560 kB, the zeroing
of which took ~13 ms of CPU of each start; a busy one is at full size within seconds (at
`--sim-rate max` the quietest symbol trades several aggregates a second) and then never
grows. (Grown aggregate by aggregate, the rings filled for minutes at
`--sim-rate max`: growth a memory benchmark cannot tell from a leak.) At the
simulator's default rate a busy symbol's ring spans hours; at `--sim-rate max`, minutes.
Binance answers from 2 days back (§7.9); what is older than the ring is not answered.

Aggregates are expected in id and time order, as every source sends them; lookups by id
and by time are bisections.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import NamedTuple

__all__ = ["CAPACITY", "FIRST_SLOTS", "Aggregate", "TradeHistory"]

CAPACITY = 10_000
FIRST_SLOTS = 64  # a ring's slots until it holds more (the module's docstring says why)
_FIRST_ZEROS = bytes(8 * FIRST_SLOTS)


class Aggregate(NamedTuple):
    agg_id: int  # a
    first_id: int  # f: first trade id
    last_id: int  # l: last trade id
    time_ms: int  # T
    price: int  # price units
    qty: int  # quantity units (base asset on USDⓈ-M, contracts on COIN-M)
    buyer_is_maker: bool  # m


class _Column:
    """One field of the ring in logical order (0 the oldest), for bisecting."""

    __slots__ = ("_history", "_values")

    def __init__(self, history: TradeHistory, values: array[int]) -> None:
        self._history = history
        self._values = values

    def __len__(self) -> int:
        return len(self._history)

    def __getitem__(self, index: int) -> int:
        return self._values[self._history.physical(index)]


class TradeHistory:
    __slots__ = ("_count", "_fields", "_ids", "_lasts", "_start", "_times", "capacity")

    def __init__(self, capacity: int = CAPACITY) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        zeros = _FIRST_ZEROS if capacity >= FIRST_SLOTS else bytes(8 * capacity)
        self._fields: tuple[array[int], ...] = tuple(array("q", zeros) for _ in Aggregate._fields)
        self._count = 0  # aggregates held, up to capacity
        self._start = 0  # the physical index of the oldest aggregate once the ring is full
        self._ids = _Column(self, self._fields[0])
        self._lasts = _Column(self, self._fields[2])
        self._times = _Column(self, self._fields[3])

    def __len__(self) -> int:
        return self._count

    def _grow(self) -> None:
        """The arrays at full size, the aggregates held kept in place: their first slots are
        outgrown (the ring is still filling, so nothing has wrapped)."""
        zeros = bytes(8 * (self.capacity - len(self._fields[0])))
        for field in self._fields:
            field.frombytes(zeros)

    def physical(self, index: int) -> int:
        """The array index of the ``index``-th oldest aggregate."""
        return (self._start + index) % self.capacity

    def add(
        self, agg_id: int, first_id: int, last_id: int, time_ms: int, price: int, qty: int,
        buyer_is_maker: bool,
    ) -> None:
        """One aggregate, the newest (the fields of ``Aggregate``, positionally)."""
        ids, firsts, lasts, times, prices, qtys, makers = self._fields
        count = self._count
        if count < self.capacity:  # filling: the next free slot, the oldest still at 0
            at = count
            self._count = count + 1
            if at == len(ids):
                self._grow()
        else:  # full: over the oldest, which moves on
            at = self._start
            self._start = at + 1 if at + 1 < self.capacity else 0
        ids[at] = agg_id
        firsts[at] = first_id
        lasts[at] = last_id
        times[at] = time_ms
        prices[at] = price
        qtys[at] = qty
        makers[at] = buyer_is_maker

    def add_many(self, columns: Sequence[Sequence[int]]) -> None:
        """``add`` of each aggregate of ``columns`` (the fields of ``Aggregate``, a list
        each, oldest first) in turn, the same ring: the ones it keeps written a slice at a
        time (a view's backlog of aggregates, ``market/plant/view.py``)."""
        n = len(columns[0])
        capacity = self.capacity
        skip = max(0, n - capacity)  # older than the ring holds: overwritten anyway
        count, start = self._count, self._start
        at = count if count < capacity else start  # where the next one goes
        if len(self._fields[0]) < min(capacity, count + n - skip):  # its first slots outgrown
            self._grow()
        lo = skip
        while lo < n:
            room = capacity - at  # slots up to the array's end
            hi = min(n, lo + room)
            for field, column in zip(self._fields, columns, strict=True):
                field[at : at + hi - lo] = array("q", column[lo:hi])
            at += hi - lo
            lo = hi
            if at == capacity:
                at = 0
        kept = n - skip
        if count + kept <= capacity:
            self._count = count + kept
        else:
            self._count = capacity
            self._start = at  # the oldest follows the newest written

    def id_at(self, index: int) -> int:
        """The aggregate id of the ``index``-th oldest aggregate."""
        return self._fields[0][self.physical(index)]

    def columns(self, lo: int, hi: int) -> tuple[list[int], ...]:
        """The fields of the ``lo``-th to the ``hi``-th oldest aggregates (``hi``
        excluded), a list each in ``Aggregate``'s order: slices of the ring's arrays, at
        most two each, not a call per aggregate (answers of 1,000 rows, §7.9)."""
        count = hi - lo
        if count <= 0:
            return tuple([] for _ in self._fields)
        at = self.physical(lo)
        end = at + count
        if end <= self.capacity:
            return tuple(field[at:end].tolist() for field in self._fields)
        wrapped = end - self.capacity
        return tuple(field[at:].tolist() + field[:wrapped].tolist() for field in self._fields)

    def rows(self, lo: int, hi: int) -> list[Aggregate]:
        """The ``lo``-th to the ``hi``-th oldest aggregates (``hi`` excluded)."""
        ids, firsts, lasts, times, prices, qtys, makers = self.columns(lo, hi)
        return [
            Aggregate(a, f, last, t, p, q, bool(m))
            for a, f, last, t, p, q, m in zip(ids, firsts, lasts, times, prices, qtys, makers, strict=True)
        ]

    def latest_span(self, limit: int) -> tuple[int, int]:
        """Where the most recent ``limit`` aggregates are: ``rows``' ``lo, hi``."""
        n = len(self)
        return max(0, n - limit), n

    def held(self) -> list[list[int]]:
        """Every aggregate held as ``add_many`` takes them: the fields of ``Aggregate``, a
        list each (buyer-is-maker as 0 or 1), oldest first (a view's state, scaleout)."""
        return list(self.columns(0, len(self)))

    def latest(self, limit: int) -> list[Aggregate]:
        """The most recent ``limit`` aggregates, oldest first."""
        return self.rows(*self.latest_span(limit))

    def span(
        self, from_id: int | None, start_ms: int | None, end_ms: int | None, limit: int
    ) -> tuple[int, int]:
        """Where ``query``'s aggregates are: ``rows``' ``lo, hi`` (``hi <= lo``: none)."""
        if limit <= 0:
            return 0, 0
        n = len(self)
        lo = 0
        if from_id is not None:
            lo = bisect_left(self._ids, from_id)
        if start_ms is not None:
            lo = max(lo, bisect_left(self._times, start_ms))
        hi = n if end_ms is None else bisect_right(self._times, end_ms)
        if hi <= lo:
            return 0, 0
        if from_id is None and start_ms is None:
            lo = max(lo, hi - limit)
        else:
            hi = min(hi, lo + limit)
        return lo, hi

    def from_trade(self, trade_id: int, limit: int) -> tuple[int, int]:
        """Where the first ``limit`` aggregates from the one holding trade ``trade_id`` on are
        (``historicalTrades``' ``fromId``, §7.9): ``rows``' ``lo, hi``."""
        lo = bisect_left(self._lasts, trade_id)
        return lo, min(len(self), lo + max(0, limit))

    def query(
        self, from_id: int | None, start_ms: int | None, end_ms: int | None, limit: int
    ) -> list[Aggregate]:
        """Aggregates with `GET /fapi/v1/aggTrades` semantics (§7.9), ascending: from
        ``from_id`` (inclusive) and within ``start_ms``..``end_ms`` (inclusive) where given;
        the first ``limit`` of them, but with an end and neither an id nor a start, the last
        ``limit`` up to the end; with none of the three, the most recent ``limit``."""
        return self.rows(*self.span(from_id, start_ms, end_ms, limit))
