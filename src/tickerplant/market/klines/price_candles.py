"""Mark-, index- and premium-index klines of one symbol, from its mark states (spec §7.8).

`GET /fapi/v1/markPriceKlines`, `indexPriceKlines` and `premiumIndexKlines` (and their
COIN-M `/dapi/v1/…` twins) answer candles of prices the plant samples, not of trades: each
`<symbol>@markState` note (about one a second, ``market/derivatives/mark_streams.py``) is one sample of
the mark price ``p``, the index price ``i`` and the premium index. A kline's open, high,
low and close are those of the samples in its interval and its count (row index 8) the
number of samples: 60 for a whole 1-minute kline at one sample a second, as Binance's are.

The premium index is Binance's, ``[max(0, impact bid − index) − max(0, index − impact
ask)] / index`` over the book (``market/derivatives/mark_price.py``), as the source computed it and the
note carries it (``pi``): the simulator's each second, and a replay's premiumIndexKlines
files' closes. A source that does not know it (the relay, a recording, a replay without
premium files) gives none, and the premium is derived from the note as ``(mark − index) /
index`` (``premium_units``, half up, in 1e-8), the premium the mark price carries over the
index: the mark price is a median of the funding-adjusted index, a moving-average basis and
the last price, so that figure follows the same premium, smoothed.

Bounded by design: the last ``MINUTES`` (1,500, the most one request returns) 1-minute
bars per symbol, in 14 arrays of 8-byte integers (minute open time, sample count, and open,
high, low and close of each of the three prices): 168 kB a symbol at full size, then
overwritten in place, so memory does not grow with time. A store starts with its first
``FIRST_MINUTES`` (an hour) and takes the rest of its size at once when they are outgrown:
a server that lives minutes (a test's) writes 7 kB a symbol instead of 168 kB, the zeroing
of which took ~3 ms of CPU of each start; one that runs for hours grows once, an hour in.
Other intervals are aggregated from the minutes on request, so a `1h` request sees at most
25 hours back and a `1d` one at most two bars; what is older than the ring is not answered.

Samples are expected in time order; one older than the newest minute held is dropped.
"""

from __future__ import annotations

import itertools
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from enum import IntEnum
from typing import NamedTuple

from tickerplant.market.klines.candles import close_time, open_time
from tickerplant.market.units import MINUTE_MS
from tickerplant.market.updates import MARK_DECIMALS

__all__ = ["FIRST_MINUTES", "MINUTES", "PriceBar", "PriceBars", "PriceKind", "premium_units"]

MINUTES = 1_500
FIRST_MINUTES = 60  # a store's minutes until it holds more (the module's docstring says why)
_ONE: int = 10**MARK_DECIMALS


class PriceKind(IntEnum):
    """Which price a kline is of; the value is its column block in the ring."""

    MARK = 0
    INDEX = 1
    PREMIUM = 2


class PriceBar(NamedTuple):
    open_ms: int
    close_ms: int
    open: int  # MARK_DECIMALS units (the premium index too)
    high: int
    low: int
    close: int
    samples: int  # samples in the interval


def premium_units(mark: int, index: int) -> int:
    """``(mark − index) / index`` in ``MARK_DECIMALS`` units, rounded half away from zero."""
    if index <= 0:
        return 0
    numerator = (mark - index) * _ONE
    quotient, remainder = divmod(abs(numerator), index)
    if 2 * remainder >= index:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


class _Column:
    """One array in logical order (0 the oldest minute), for bisecting."""

    __slots__ = ("_bars", "_values")

    def __init__(self, bars: PriceBars, values: array[int]) -> None:
        self._bars = bars
        self._values = values

    def __len__(self) -> int:
        return len(self._bars)

    def __getitem__(self, index: int) -> int:
        return self._values[self._bars.physical(index)]


class PriceBars:
    """A ring of the last ``capacity`` 1-minute bars of a symbol's three sampled prices."""

    __slots__ = ("_count", "_counts", "_opens", "_prices", "_start", "_times", "capacity")

    def __init__(self, capacity: int = MINUTES) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        zeros = bytes(8 * min(capacity, FIRST_MINUTES))
        self._opens = array("q", zeros)  # minute open time, ms
        self._counts = array("q", zeros)  # samples in the minute
        # per PriceKind, four arrays: open, high, low, close
        self._prices = tuple(array("q", zeros) for _ in range(4 * len(PriceKind)))
        self._count = 0  # minutes held, up to capacity
        self._start = 0  # the physical index of the oldest minute once the ring is full
        self._times = _Column(self, self._opens)

    def __len__(self) -> int:
        return self._count

    def _grow(self) -> None:
        """The arrays at full size, the minutes held kept in place: their first slots are
        outgrown (the ring is still filling, so nothing has wrapped)."""
        zeros = bytes(8 * (self.capacity - len(self._opens)))
        for column in (self._opens, self._counts, *self._prices):
            column.frombytes(zeros)

    def physical(self, index: int) -> int:
        """The array index of the ``index``-th oldest minute."""
        return (self._start + index) % self.capacity

    def columns(self) -> list[list[int]]:
        """Every minute held, oldest first, a list per column: open times, sample counts,
        then open, high, low and close of each ``PriceKind`` in turn (``load`` takes them)."""
        n, start = self._count, self._start
        arrays = (self._opens, self._counts, *self._prices)
        return [(column[start:] + column[:start])[:n].tolist() for column in arrays]

    def load(self, columns: Sequence[Sequence[int]]) -> None:
        """Hold the minutes ``columns`` (another ring's ``columns()``) instead, the newest
        ``capacity`` of them; ``ValueError`` unless there are 14 columns of one length whose
        minutes ascend."""
        if len(columns) != 2 + 4 * len(PriceKind) or len({len(column) for column in columns}) > 1:
            raise ValueError("price bars of uneven columns")
        opens = columns[0]
        if any(later <= earlier for earlier, later in itertools.pairwise(opens)):
            raise ValueError("price bars whose minutes do not ascend")
        kept = [column[-self.capacity :] for column in columns]
        n = len(kept[0])
        if n > len(self._opens):
            self._grow()
        for array_, column in zip((self._opens, self._counts, *self._prices), kept, strict=True):
            array_[:n] = array("q", column)
        self._count, self._start = n, 0

    def add(self, time_ms: int, mark: int, index: int, premium: int) -> None:
        """One sample taken at ``time_ms``; prices in ``MARK_DECIMALS`` units."""
        minute = time_ms - time_ms % MINUTE_MS
        prices = self._prices
        count = self._count
        if count:
            newest = self.physical(count - 1)
            newest_open = self._opens[newest]
            if minute == newest_open:
                self._counts[newest] += 1
                for block, value in enumerate((mark, index, premium)):
                    base = 4 * block
                    if value > prices[base + 1][newest]:
                        prices[base + 1][newest] = value
                    if value < prices[base + 2][newest]:
                        prices[base + 2][newest] = value
                    prices[base + 3][newest] = value
                return
            if minute < newest_open:
                return  # late: its minute has gone by
        if count < self.capacity:
            at = count
            self._count = count + 1
            if at == len(self._opens):
                self._grow()
        else:  # full: over the oldest, which moves on
            at = self._start
            self._start = at + 1 if at + 1 < self.capacity else 0
        self._opens[at] = minute
        self._counts[at] = 1
        for block, value in enumerate((mark, index, premium)):
            for column in prices[4 * block : 4 * block + 4]:
                column[at] = value

    def query(
        self, kind: PriceKind, interval: str, start_ms: int | None, end_ms: int | None, limit: int
    ) -> list[PriceBar]:
        """``kind``'s klines of ``interval`` with `GET /fapi/v1/klines` semantics (§7.8):
        ascending by open time, ``start_ms``/``end_ms`` inclusive bounds on the open time;
        with a start, the first ``limit`` from it, otherwise the last ``limit`` up to the
        end. A kline aggregates the minutes of its interval that the ring holds."""
        if limit <= 0 or not self._count:
            return []
        lo = 0 if start_ms is None else bisect_left(self._times, open_time(interval, start_ms))
        hi = self._count
        if end_ms is not None:
            hi = bisect_right(self._times, close_time(interval, open_time(interval, end_ms)))
        o, h, low, c = self._prices[4 * kind : 4 * kind + 4]
        opens, counts = self._opens, self._counts
        bars: list[PriceBar] = []
        current: list[int] | None = None  # open_ms, close_ms, open, high, low, close, count
        for i in range(lo, hi):
            at = self.physical(i)
            minute = opens[at]
            if current is None or minute > current[1]:
                if current is not None:
                    bars.append(PriceBar(*current))
                begin = open_time(interval, minute)
                current = [begin, close_time(interval, begin), o[at], h[at], low[at], c[at], counts[at]]
                continue
            current[3] = max(current[3], h[at])
            current[4] = min(current[4], low[at])
            current[5] = c[at]
            current[6] += counts[at]
        if current is not None:
            bars.append(PriceBar(*current))
        bars = [
            b for b in bars
            if (start_ms is None or b.open_ms >= start_ms) and (end_ms is None or b.open_ms <= end_ms)
        ]  # fmt: skip
        return bars[:limit] if start_ms is not None else bars[-limit:]
