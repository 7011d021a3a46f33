"""Open interest: what the plant tells the market views, and what a view keeps to answer
`openInterest` and `futures/data/openInterestHist` (spec §7.9).

The plant publishes a symbol's open interest on the internal stream
`<symbol>@openInterest` (no client can name it, as `@depthDiff`), at most once a second
per symbol (``InterestPacer``): an ``InterestNote`` of the time, the quantity (quantity
units; COIN-M contracts) and its value in units of 1e-8 (USDⓈ-M: the quote asset, qty ×
price; COIN-M: the base asset, contracts × contract size / price), counted at the price
the source gave (the mark price). A source's first note may carry a warm past.

A view keeps the latest note and a history of 5-minute points (``InterestHistory``): the
point at each 5-minute boundary is the first note at or after it, a boundary no note came
in carries the previous point forward, so the points are contiguous and a longer period's
are every k-th of them (Binance's periods 5m to 1d are all multiples of 5 minutes).
Bounded by design: at most ``MAX_POINTS`` + ``_SLACK`` points a symbol (30 days of 5
minutes, 8,640, plus a day kept until it is trimmed in one go), in three ``array('q')``s:
some 220 kB a symbol.
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.messages import StreamMessage
from tickerplant.market.units import DAY_MS, MINUTE_MS, SECOND_MS
from tickerplant.market.updates import OpenInterest

__all__ = [
    "MAX_POINTS",
    "PERIOD_MS",
    "InterestHistory",
    "InterestNote",
    "InterestPacer",
    "interest_note",
    "value_units",
]

PERIOD_MS = 5 * MINUTE_MS  # the history's grid
MAX_POINTS = 30 * DAY_MS // PERIOD_MS  # 8,640: Binance keeps a month of openInterestHist
_SLACK = DAY_MS // PERIOD_MS  # trimmed a day at a time
VALUE_DECIMALS = 8
_NEVER_MS = 1 << 62
_POW10: list[int] = [10**k for k in range(40)]


class InterestNote(msgspec.Struct, frozen=True, gc=False):
    """The payload of `<symbol>@openInterest` (internal)."""

    T: int  # time, ms
    oi: int  # quantity units held open on one side (COIN-M: contracts)
    v: int  # its value, units of 1e-8 (UM quote asset, CM base asset)
    h: list[tuple[int, int, int]] = []  # a warm past: (time, oi, v) ascending


_note = msgspec.json.Decoder(InterestNote)


def value_units(inst: Instrument, qty: int, price: int) -> int:
    """The value of ``qty`` at ``price`` in units of 1e-8 (see the module docstring)."""
    pd, qd = inst.price_decimals, inst.qty_decimals
    if inst.market is Market.UM:
        shift = VALUE_DECIMALS - pd - qd
        return qty * price * _POW10[shift] if shift >= 0 else qty * price // _POW10[-shift]
    return qty * inst.contract_size * _POW10[VALUE_DECIMALS + pd] // (max(1, price) * _POW10[qd])


def interest_note(inst: Instrument, update: OpenInterest) -> InterestNote:
    history = [(t, qty, value_units(inst, qty, price)) for t, qty, price in update.history]
    return InterestNote(update.time_ms, update.qty, value_units(inst, update.qty, update.price), history)


class InterestPacer:
    """The plant's side: each symbol's note at most once a second; a note that comes
    sooner waits for the tick that ends its second (only the latest is kept)."""

    __slots__ = ("_encode", "_next_ms", "_waiting", "next_tick_ms")

    def __init__(self, encode: Callable[[Any], bytes]) -> None:
        self._encode = encode
        self._next_ms: dict[str, int] = {}  # symbol -> when its next note may go
        self._waiting: dict[str, tuple[str, InterestNote]] = {}  # symbol -> (stream, note)
        self.next_tick_ms = _NEVER_MS

    def add(self, inst: Instrument, stream: str, update: OpenInterest, out: list[StreamMessage]) -> None:
        note = interest_note(inst, update)
        symbol = inst.symbol
        if update.history or update.time_ms >= self._next_ms.get(symbol, 0):
            self._waiting.pop(symbol, None)
            self._next_ms[symbol] = update.time_ms - update.time_ms % SECOND_MS + SECOND_MS
            out.append(StreamMessage(stream, self._encode(note)))
            return
        self._waiting[symbol] = (stream, note)
        self.next_tick_ms = min(self.next_tick_ms, self._next_ms[symbol])

    def tick(self, now_ms: int, out: list[StreamMessage]) -> None:
        if now_ms < self.next_tick_ms:
            return
        next_ms = _NEVER_MS
        for symbol, (stream, note) in list(self._waiting.items()):
            due_ms = self._next_ms[symbol]
            if due_ms <= now_ms:
                del self._waiting[symbol]
                self._next_ms[symbol] = now_ms - now_ms % SECOND_MS + SECOND_MS
                out.append(StreamMessage(stream, self._encode(note)))
            elif due_ms < next_ms:
                next_ms = due_ms
        self.next_tick_ms = next_ms


class InterestHistory:
    """A view's open interest of one symbol: the latest note and the 5-minute points."""

    __slots__ = ("_qtys", "_times", "_values", "latest")

    def __init__(self) -> None:
        self.latest: InterestNote | None = None
        self._times = array("q")
        self._qtys = array("q")
        self._values = array("q")

    def __len__(self) -> int:
        return len(self._times)

    def receive(self, payload: bytes) -> None:
        note = _note.decode(payload)
        for t, qty, value in note.h:
            self._point(t, qty, value)
        self._point(note.T, note.oi, note.v)
        if self.latest is None or note.T >= self.latest.T:
            self.latest = note

    def columns(self) -> tuple[list[int], list[int], list[int]]:
        """The 5-minute points: times, quantities and values, oldest first."""
        return self._times.tolist(), self._qtys.tolist(), self._values.tolist()

    def load(
        self, latest: InterestNote | None, times: Sequence[int], qtys: Sequence[int], values: Sequence[int]
    ) -> None:
        """Hold ``latest`` and the points (another history's ``columns()``) instead;
        ``ValueError`` unless the columns are of one length and the times ascend on the
        5-minute grid (the newest ``MAX_POINTS`` + a day kept)."""
        if not len(times) == len(qtys) == len(values):
            raise ValueError("open interest points of uneven columns")
        if any(t % PERIOD_MS for t in times) or any(b <= a for a, b in itertools.pairwise(times)):
            raise ValueError("open interest points off the 5-minute grid")
        keep = -(MAX_POINTS + _SLACK)
        self.latest = latest
        self._times, self._qtys, self._values = (array("q", rows[keep:]) for rows in (times, qtys, values))

    def first(self) -> tuple[int, int] | None:
        """The first point kept: (time, quantity units); None before any."""
        return (self._times[0], self._qtys[0]) if self._times else None

    def points(
        self, period_ms: int, start_ms: int | None, end_ms: int | None, limit: int
    ) -> list[tuple[int, int, int]]:
        """(time, qty units, value units) at the multiples of ``period_ms`` (a multiple of
        5 minutes) within [start, end], ascending: the first ``limit`` from ``start_ms``
        when it is given, else the last ``limit`` up to ``end_ms``."""
        times = self._times
        if not times:
            return []
        first, count, every = times[0], len(times), period_ms // PERIOD_MS
        lo = 0 if start_ms is None else max(0, -(-(start_ms - first) // PERIOD_MS))
        hi = count - 1 if end_ms is None else min(count - 1, (end_ms - first) // PERIOD_MS)
        lo += (-(first // PERIOD_MS + lo)) % every  # the first point on the period's grid
        if hi < lo:
            return []
        indexes = range(lo, hi + 1, every)
        indexes = indexes[:limit] if start_ms is not None else indexes[-limit:]
        return [(times[i], self._qtys[i], self._values[i]) for i in indexes]

    def _point(self, time_ms: int, qty: int, value: int) -> None:
        at = time_ms - time_ms % PERIOD_MS
        times = self._times
        if times:
            last = times[-1]
            if at <= last:
                return  # this boundary has its point: the first note at or after it
            # boundaries no note came in carry the previous point, a month of them at most
            missed = min((at - last) // PERIOD_MS - 1, MAX_POINTS)
            for k in range(missed, 0, -1):
                self._append(at - k * PERIOD_MS, self._qtys[-1], self._values[-1])
        self._append(at, qty, value)

    def _append(self, time_ms: int, qty: int, value: int) -> None:
        self._times.append(time_ms)
        self._qtys.append(qty)
        self._values.append(value)
        if len(self._times) > MAX_POINTS + _SLACK:
            drop = len(self._times) - MAX_POINTS
            del self._times[:drop], self._qtys[:drop], self._values[:drop]
