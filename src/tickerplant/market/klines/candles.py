"""Klines (candlesticks) built from trades, and their REST and stream shapes.

The stream payloads' structs are ``market/payloads/derived_events.py``'s ``Kline`` and
``ContinuousKline``; this module's ``Kline`` is the candle they are written from, by the
templates of ``market/klines/frames.py``.

Open times are aligned to UTC (spec §1.3): minutes, hours and days on multiples of their
length since the Unix epoch, which also puts `3d` on the epoch's 3-day grid as Binance
does; `1w` opens on Monday 00:00 UTC and `1M` on the 1st of the calendar month. A kline
closes one millisecond before the next one opens (§4.7).

Like Binance, an interval in which nothing traded has no kline at all: a series holds
only the intervals that saw trades, ascending, and the REST endpoint (§7.8) skips gaps.

All amounts are integers: prices in units of 10**-price_decimals, volumes in units of
10**-qty_decimals, and the "quote" figure exactly as the plant computes it per trade
(USDⓈ-M price*qty in 10**-(price_decimals+qty_decimals); COIN-M the base-asset volume
in 1e-8), so sums stay exact however many trades a kline holds.
"""

from __future__ import annotations

import itertools
import operator
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from tickerplant.market.klines.kline_ring import IntRing, KlineRing
from tickerplant.market.units import DAY_MS, HOUR_MS, MINUTE_MS, WEEK_MS

__all__ = [
    "BASE_DECIMALS",
    "CONTINUOUS_INTERVALS_UM",
    "INTERVALS",
    "Kline",
    "KlineColumns",
    "KlineRow",
    "KlineSeries",
    "close_time",
    "grid_runs",
    "open_time",
]

INTERVALS: Final[tuple[str, ...]] = (
    "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M",
)  # fmt: skip

# `1s` exists only for USDⓈ-M continuous klines, stream and REST (§1.3, §4.12): `klines`
# refuses it with -1120 live, and no `<symbol>@kline_1s` stream exists (§4.7).
CONTINUOUS_INTERVALS_UM: Final[tuple[str, ...]] = ("1s", *INTERVALS)

_MONDAY_MS = 4 * DAY_MS  # 1970-01-05, the first Monday after the epoch (a Thursday)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
BASE_DECIMALS = 8  # COIN-M base-asset volumes are written with 8 decimals (§7.8)

# Every interval but 1M has a fixed length (§1.3).
_LENGTH_MS: Final[dict[str, int]] = {
    "1s": 1000, "1m": MINUTE_MS, "3m": 3 * MINUTE_MS, "5m": 5 * MINUTE_MS, "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS, "1h": HOUR_MS, "2h": 2 * HOUR_MS, "4h": 4 * HOUR_MS,
    "6h": 6 * HOUR_MS, "8h": 8 * HOUR_MS, "12h": 12 * HOUR_MS, "1d": DAY_MS,
    "3d": 3 * DAY_MS, "1w": WEEK_MS,
}  # fmt: skip


def _month_start_ms(year: int, month: int) -> int:
    return (date(year, month, 1).toordinal() - _EPOCH_ORDINAL) * DAY_MS


def open_time(interval: str, t_ms: int) -> int:
    """The open time of the ``interval`` kline holding the instant ``t_ms`` (UTC)."""
    if interval == "1M":
        day = date.fromordinal(_EPOCH_ORDINAL + t_ms // DAY_MS)
        return _month_start_ms(day.year, day.month)
    length = _LENGTH_MS.get(interval)
    if length is None:
        raise ValueError(f"unknown kline interval {interval!r}")
    if interval == "1w":
        return t_ms - (t_ms - _MONDAY_MS) % WEEK_MS
    return t_ms - t_ms % length


def close_time(interval: str, open_ms: int) -> int:
    """The close time of the kline opened at ``open_ms``: the next open time minus 1 ms."""
    start = open_time(interval, open_ms)
    if interval == "1M":
        day = date.fromordinal(_EPOCH_ORDINAL + start // DAY_MS)
        year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
        return _month_start_ms(year, month) - 1
    return start + _LENGTH_MS[interval] - 1


# A trade (or an aggregate of consecutive fills) for ``add_rows``: time (ms), first trade id,
# price units, qty units, quote figure, buyer is maker, number of fills.
KlineRow = tuple[int, int, int, int, int, bool, int]
# KlineRows as columns: times, first trade ids, prices, qtys, quotes, buyer is maker, fills
KlineColumns = tuple[list[int], list[int], list[int], list[int], list[int], list[bool], list[int]]
# grid_runs' runs: the rows' sum as a Kline from the first row's time to the last's, and
# the slice [lo, hi) of the rows summed
GridRun = tuple["Kline", int, int]


@dataclass(slots=True)
class Kline:
    """One interval's trades, summed exactly; mutated in place while the interval is open."""

    open_ms: int  # kline open time
    close_ms: int  # kline close time: next open - 1
    open: int  # first trade price, price units
    high: int  # highest trade price
    low: int  # lowest trade price
    close: int  # latest trade price
    volume: int  # quantity units (base asset on USDⓈ-M, contracts on COIN-M)
    quote: int  # summed per-trade quote figure, as the plant computes it
    count: int  # number of trades
    taker_buy_volume: int  # volume of trades whose buyer was the taker
    taker_buy_quote: int  # quote figure of those trades
    first_id: int  # first trade id
    last_id: int  # last trade id

    def renumbered(self, base: int) -> Kline:
        """A copy whose trade ids are ``base`` higher (a warm start's numbering, counts.py);
        by position: ``dataclasses.replace`` took six times as long, 2,400 times a start."""
        return Kline(
            self.open_ms, self.close_ms, self.open, self.high, self.low, self.close, self.volume,
            self.quote, self.count, self.taker_buy_volume, self.taker_buy_quote,
            self.first_id + base, self.last_id + base,
        )  # fmt: skip

    def fold(self, part: Kline) -> None:
        """Add ``part``: trades that came after this kline's so far and fall inside it
        (a plant's pending candle, a view's run of a backlog, ``grid_runs``)."""
        if part.high > self.high:
            self.high = part.high
        if part.low < self.low:
            self.low = part.low
        self.close = part.close
        self.volume += part.volume
        self.quote += part.quote
        self.count += part.count
        self.taker_buy_volume += part.taker_buy_volume
        self.taker_buy_quote += part.taker_buy_quote
        self.last_id = part.last_id


class KlineSeries:
    """The klines of one symbol at one interval, ascending by open time, at most ``maxlen``.

    Bounded by design: ``maxlen`` (1,500, the most one `GET /fapi/v1/klines` returns, §7.8)
    klines, whatever the trade rate; a series reaches it after 1,500 intervals that saw
    trades (25 h at 1m, 62.5 days at 1h) and then drops its oldest kline for each new one.

    Trades are expected in time order, as a feed delivers them (equal times are fine); open
    and close are the first and last trade *to arrive*. A late trade for an earlier interval
    is still counted: into its kline's high, low, volumes, count and id range, or into a new
    kline in the gap, which is dropped at once if it is older than a full series holds.
    """

    __slots__ = ("_klines", "_length", "_opens", "_phase", "interval", "maxlen", "revisions")
    _klines: deque[Kline] | KlineRing[Kline]
    _opens: deque[int] | IntRing

    def __init__(self, interval: str, maxlen: int = 1500) -> None:
        open_time(interval, 0)  # rejects an unknown interval
        if maxlen <= 0:
            raise ValueError("maxlen must be positive")
        self.interval = interval
        self.maxlen = maxlen
        # a fixed length (0 for 1M) and where its grid starts: open_time without its lookups
        self._length = _LENGTH_MS.get(interval, 0)
        self._phase = _MONDAY_MS if interval == "1w" else 0
        # the klines, and their open times alongside for bisecting (evicted together); 1s's
        # (a kline a second) in preallocated integer columns (``kline_ring.py``)
        ring = interval == "1s"
        self._klines = KlineRing(maxlen, Kline) if ring else deque()
        self._opens = IntRing(maxlen) if ring else deque()
        # changes to a kline other than the latest (a late trade, a kline put in its place):
        # klines before the latest are unchanged while this is (protocol/encoded_rows.py)
        self.revisions = 0

    def __len__(self) -> int:
        return len(self._klines)

    def __iter__(self) -> Iterator[Kline]:
        return iter(self._klines)

    def latest(self) -> Kline | None:
        """The most recent kline (still open if no later trade came), or None if none."""
        return self._klines[-1] if self._klines else None

    def add(
        self, time_ms: int, trade_id: int, price: int, qty: int, quote: int, buyer_is_maker: bool,
        trades: int = 1,
    ) -> Kline:
        """Add one trade, or an aggregate of ``trades`` fills with consecutive ids from
        ``trade_id``; returns the kline it went into."""
        klines = self._klines
        if klines:
            k = klines[-1]
            # the hot path: the trade falls inside the latest kline, no calendar arithmetic
            if k.open_ms <= time_ms <= k.close_ms:
                if price > k.high:
                    k.high = price
                elif price < k.low:
                    k.low = price
                k.close = price
                k.volume += qty
                k.quote += quote
                k.count += trades
                if not buyer_is_maker:
                    k.taker_buy_volume += qty
                    k.taker_buy_quote += quote
                k.last_id = trade_id + trades - 1
                return k
            if time_ms < k.open_ms:
                return self._add_late(time_ms, trade_id, price, qty, quote, buyer_is_maker, trades)
        length = self._length
        if length:
            start = time_ms - (time_ms - self._phase) % length
            end = start + length - 1
        else:
            start = open_time(self.interval, time_ms)
            end = close_time(self.interval, start)
        taker_qty, taker_quote = (0, 0) if buyer_is_maker else (qty, quote)
        k = Kline(
            start, end, price, price, price, price, qty, quote, trades, taker_qty, taker_quote,
            trade_id, trade_id + trades - 1,
        )  # fmt: skip
        if len(klines) == self.maxlen:
            klines.popleft()
            self._opens.popleft()
        klines.append(k)
        self._opens.append(start)
        return k

    def put(self, k: Kline) -> None:
        """A whole kline (a replayed kline file's row) in its place by open time: after the
        latest, or replacing the one of the same open time, or between (bounded as ``add``)."""
        klines, opens = self._klines, self._opens
        self.revisions += 1
        if not opens or k.open_ms > opens[-1]:
            if len(klines) == self.maxlen:
                klines.popleft()
                opens.popleft()
            klines.append(k)
            opens.append(k.open_ms)
            return
        index = bisect_left(opens, k.open_ms)
        if opens[index] == k.open_ms:
            klines[index] = k
            return
        klines.insert(index, k)
        opens.insert(index, k.open_ms)
        if len(klines) > self.maxlen:
            klines.popleft()
            opens.popleft()

    def load(self, klines: Sequence[Kline]) -> None:
        """Hold the newest ``maxlen`` of ``klines`` instead: ascending on the grid, else ValueError."""
        opens = [k.open_ms for k in klines]
        grid = all(open_time(self.interval, t) == t for t in opens[:1] + opens[-1:])  # the ends: cheap
        if not grid or any(b <= a for a, b in itertools.pairwise(opens)):
            raise ValueError(f"{self.interval} klines whose open times do not ascend on its grid")
        kept, kept_opens = klines[-self.maxlen :], opens[-self.maxlen :]
        ring = isinstance(self._klines, KlineRing)
        self._klines = KlineRing(self.maxlen, Kline, kept) if ring else deque(kept)
        self._opens = IntRing(self.maxlen, kept_opens) if ring else deque(kept_opens)
        self.revisions += 1  # every kline may have changed (protocol/encoded_rows.py)

    def add_rows(self, rows: Iterable[KlineRow]) -> None:
        """``add`` each row in turn, the same klines; the common case (a trade inside the
        latest kline) inline, so that a backlog of trades costs a loop per series rather
        than a call per trade per series."""
        klines = self._klines
        k = klines[-1] if klines else None
        for time_ms, trade_id, price, qty, quote, buyer_is_maker, trades in rows:
            if k is not None and k.open_ms <= time_ms <= k.close_ms:
                if price > k.high:
                    k.high = price
                elif price < k.low:
                    k.low = price
                k.close = price
                k.volume += qty
                k.quote += quote
                k.count += trades
                if not buyer_is_maker:
                    k.taker_buy_volume += qty
                    k.taker_buy_quote += quote
                k.last_id = trade_id + trades - 1
                continue
            self.add(time_ms, trade_id, price, qty, quote, buyer_is_maker, trades)
            k = klines[-1]

    def add_runs(self, runs: Sequence[GridRun], columns: KlineColumns) -> None:
        """``add_rows`` of the columns' rows, the same klines, from ``grid_runs(columns,
        grid)`` (a grid whose steps never straddle one of this interval's klines): a run
        inside the latest kline is folded into it, a run after it opens the next with its
        sums; any other (a late trade) goes row by row."""
        klines = self._klines
        k = klines[-1] if klines else None
        for run, lo, hi in runs:
            if k is not None and k.open_ms <= run.open_ms and run.close_ms <= k.close_ms:
                k.fold(run)
            elif k is None or run.open_ms > k.close_ms:
                k = self.add(run.open_ms, run.first_id, run.open, 0, 0, True, 0)  # the kline, empty
                k.fold(run)
            else:
                self.add_rows(zip(*(column[lo:hi] for column in columns), strict=True))
                k = klines[-1]

    def _add_late(
        self, time_ms: int, trade_id: int, price: int, qty: int, quote: int, buyer_is_maker: bool,
        trades: int,
    ) -> Kline:
        klines, opens = self._klines, self._opens
        self.revisions += 1
        start = open_time(self.interval, time_ms)
        index = bisect_left(opens, start)
        if opens[index] != start:  # a gap (or before the first): the kline is new
            k = _new_kline(self.interval, start, trade_id, price, qty, quote, buyer_is_maker, trades)
            klines.insert(index, k)
            opens.insert(index, start)
            if len(klines) > self.maxlen:
                klines.popleft()
                opens.popleft()
            return k
        k = klines[index]
        k.high = max(k.high, price)
        k.low = min(k.low, price)
        k.volume += qty
        k.quote += quote
        k.count += trades
        if not buyer_is_maker:
            k.taker_buy_volume += qty
            k.taker_buy_quote += quote
        k.first_id = min(k.first_id, trade_id)
        k.last_id = max(k.last_id, trade_id + trades - 1)
        klines[index] = k  # (a ring keeps a closed kline in columns: its new values written there)
        return k

    def query(self, start_ms: int | None, end_ms: int | None, limit: int) -> list[Kline]:
        """Klines by open time, ascending, with `GET /fapi/v1/klines` semantics (§7.8).

        ``start_ms`` and ``end_ms`` are inclusive bounds on the open time. With a start,
        the first ``limit`` klines from it; otherwise the last ``limit`` up to the end (or
        the most recent ``limit`` when neither is given).
        """
        if limit <= 0:
            return []
        opens, klines = self._opens, self._klines
        lo = 0 if start_ms is None else bisect_left(opens, start_ms)
        hi = len(opens) if end_ms is None else bisect_right(opens, end_ms)
        if hi <= lo:
            return []
        if start_ms is None:
            lo = max(lo, hi - limit)
        else:
            hi = min(hi, lo + limit)
        if isinstance(klines, KlineRing):  # the 1s series' columns: its klines made as read
            return klines.span(lo, hi)
        if lo == 0 and hi == len(klines):
            return list(klines)
        # a deque indexes by walking blocks from the nearer end; one walk per kline returned
        return [klines[i] for i in range(lo, hi)]


def _new_kline(
    interval: str, start: int, trade_id: int, price: int, qty: int, quote: int, buyer_is_maker: bool,
    trades: int,
) -> Kline:
    taker_qty, taker_quote = (0, 0) if buyer_is_maker else (qty, quote)
    return Kline(
        start, close_time(interval, start), price, price, price, price, qty, quote, trades,
        taker_qty, taker_quote, trade_id, trade_id + trades - 1,
    )  # fmt: skip


def grid_runs(columns: KlineColumns, grid_ms: int) -> list[GridRun]:
    """The columns' rows cut into runs of consecutive rows in one step of a ``grid_ms``
    grid, in time order, each summed as a ``Kline`` from its first row's time to its
    last's (what ``Kline.fold`` adds to a kline holding it), with its rows' slice
    ``[lo, hi)``. A row earlier than the one before it starts a new run. A run's sums are
    C-level ``sum``, ``max`` and ``min`` over its slices, not a loop over its rows."""
    times, first_ids, prices, qtys, quotes, makers, counts = columns
    n = len(times)
    ends = [n]  # where a time steps back (a run ends there whatever the grid), and the end
    if times != sorted(times):
        ends[:0] = itertools.compress(range(1, n), map(operator.gt, times, itertools.islice(times, 1, None)))
    runs: list[GridRun] = []
    lo = 0
    for end in ends:  # the times from lo to end never step back
        while lo < end:
            first = times[lo]
            step_end = first - first % grid_ms + grid_ms
            hi = end if times[end - 1] < step_end else bisect_left(times, step_end, lo, end)
            part, last = slice(lo, hi), hi - 1
            run_prices, run_qtys, run_quotes = prices[part], qtys[part], quotes[part]
            takers = list(map(operator.not_, makers[part]))
            run = Kline(
                first, times[last], prices[lo], max(run_prices), min(run_prices), prices[last],
                sum(run_qtys), sum(run_quotes), sum(counts[part]),
                sum(itertools.compress(run_qtys, takers)), sum(itertools.compress(run_quotes, takers)),
                first_ids[lo], first_ids[last] + counts[last] - 1,
            )  # fmt: skip
            runs.append((run, lo, hi))
            lo = hi
    return runs
