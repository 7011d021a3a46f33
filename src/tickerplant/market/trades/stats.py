"""Rolling 24 h trade statistics: the figures behind miniTicker, ticker and REST 24hr.

Binance's 24 h statistics are a *rolling* window, "from 24 hours before the update to the
update, not over a UTC day" (spec §4.2), and the live window opens on a whole minute:
``O`` is the start of the minute 24 h ago and ``C`` is about ``E`` (spec §4.3, [CAP]).
So the window is kept as it is defined: per-minute buckets (open, high, low, volume,
quote volume, first trade id, count), the oldest being the minute 24 h ago and the
newest the minute still open. Its memory is bounded by design, whatever the trade rate:
at most ``window_ms / bucket_ms + 1`` buckets (1,441 for a day of minutes) per symbol.

Sums are kept incrementally, in integers, so they stay exact however long the plant runs.
High and low come from two monotonic deques over the buckets (the classic sliding-window
maximum; the open bucket's extreme may only grow, which pops dominated entries from the
back): each bucket enters and leaves each deque at most once, so every operation is O(1)
amortised.
"""

from __future__ import annotations

from collections import deque

from tickerplant.market.units import DAY_MS, MINUTE_MS

__all__ = ["RollingWindow"]


class _Bucket:
    """One bucket's trades (a minute, for a day window)."""

    __slots__ = ("count", "first_id", "high", "low", "open", "quote", "start_ms", "volume")

    def __init__(self, start_ms: int, first_id: int, price: int) -> None:
        self.start_ms = start_ms
        self.first_id = first_id
        self.open = self.high = self.low = price
        self.volume = self.quote = self.count = 0


class RollingWindow:
    """Statistics of the trades whose bucket starts at or after the bucket of
    ``now - window_ms``: for a day of minutes, the trades since the whole minute 24 h ago.

    Trades are expected in non-decreasing time order, as a feed delivers them (one that
    is older than the open bucket is counted in it). ``add`` evicts relative to the added
    trade's own time, so memory stays bounded even if nobody calls ``evict``; call
    ``evict(now_ms)`` before reading to age the window to the present when no trade has
    come for a while.
    """

    __slots__ = (
        "_buckets",
        "_close",
        "_count",
        "_last_id",
        "_last_qty",
        "_last_time_ms",
        "_maxima",
        "_minima",
        "_quote_volume",
        "_volume",
        "bucket_ms",
        "window_ms",
    )

    def __init__(self, window_ms: int = DAY_MS, bucket_ms: int = MINUTE_MS) -> None:
        if window_ms <= 0 or bucket_ms <= 0:
            raise ValueError("the window and its buckets must be positive")
        if window_ms % bucket_ms:
            raise ValueError("the window must be a whole number of buckets")
        self.window_ms = window_ms
        self.bucket_ms = bucket_ms
        self._buckets: deque[_Bucket] = deque()  # oldest first; the last one is open
        # (bucket start, price): prices strictly decreasing / increasing from the left, so
        # the left end is the window's high / low.
        self._maxima: deque[tuple[int, int]] = deque()
        self._minima: deque[tuple[int, int]] = deque()
        self._volume = 0
        self._quote_volume = 0
        self._count = 0
        # The last trade outlives the window: close and last qty stay when it empties.
        self._close = 0
        self._last_qty = 0
        self._last_id = -1
        self._last_time_ms = 0

    def add(self, time_ms: int, trade_id: int, price: int, qty: int, quote: int, trades: int = 1) -> None:
        """Add one trade, or an aggregate of ``trades`` fills with consecutive ids from
        ``trade_id``. ``quote`` is its quote-side amount in whatever integer unit the
        caller chose (quote asset on USDⓈ-M, base asset on COIN-M); it is only summed."""
        last_id = trade_id + trades - 1
        self.add_sums(time_ms, time_ms, trade_id, last_id, *(price,) * 4, qty, qty, quote, trades)

    def add_sums(
        self,
        first_ms: int,
        last_ms: int,
        first_id: int,
        last_id: int,
        open_price: int,
        high: int,
        low: int,
        close: int,
        last_qty: int,
        volume: int,
        quote: int,
        count: int,
    ) -> None:
        """Add a run of trades within one bucket, in time order, given as its sums:
        its first and last time and trade id, first, highest, lowest and last price, the
        last trade's qty, and the summed qty, quote and fills (the replay of public files,
        ``market/plant/runs.py``, sums a run with C-level ``max``, ``min`` and ``sum``)."""
        self.evict(last_ms)  # a bucket's trades all evict the same buckets
        buckets = self._buckets
        start = first_ms - first_ms % self.bucket_ms
        if buckets and buckets[-1].start_ms >= start:
            bucket = buckets[-1]
            if high > bucket.high:
                bucket.high = high
                self._raise_high(bucket.start_ms, high)
            if low < bucket.low:
                bucket.low = low
                self._lower_low(bucket.start_ms, low)
        else:
            bucket = _Bucket(start, first_id, open_price)
            bucket.high, bucket.low = high, low
            buckets.append(bucket)
            self._raise_high(start, high)
            self._lower_low(start, low)
        bucket.volume += volume
        bucket.quote += quote
        bucket.count += count
        self._volume += volume
        self._quote_volume += quote
        self._count += count
        self._close = close
        self._last_qty = last_qty
        self._last_id = last_id
        self._last_time_ms = last_ms

    def _raise_high(self, start_ms: int, high: int) -> None:
        maxima = self._maxima
        while maxima and maxima[-1][1] <= high:
            maxima.pop()
        maxima.append((start_ms, high))

    def _lower_low(self, start_ms: int, low: int) -> None:
        minima = self._minima
        while minima and minima[-1][1] >= low:
            minima.pop()
        minima.append((start_ms, low))

    def evict(self, now_ms: int) -> bool:
        """Drop the buckets before the bucket of ``now_ms - window_ms``; True if any were."""
        buckets = self._buckets
        since = now_ms - self.window_ms
        since -= since % self.bucket_ms
        if not buckets or buckets[0].start_ms >= since:
            return False
        maxima, minima = self._maxima, self._minima
        while buckets and buckets[0].start_ms < since:
            gone = buckets.popleft()
            self._volume -= gone.volume
            self._quote_volume -= gone.quote
            self._count -= gone.count
        while maxima and maxima[0][0] < since:
            maxima.popleft()
        while minima and minima[0][0] < since:
            minima.popleft()
        return True

    # --- the statistics ------------------------------------------------------------------
    # With the window empty, open, high and low collapse onto the last price, as Binance
    # shows a symbol without trades in 24 h: a flat line at the close (0 before any trade).

    @property
    def open(self) -> int:
        return self._buckets[0].open if self._buckets else self._close

    @property
    def high(self) -> int:
        return self._maxima[0][1] if self._buckets else self._close

    @property
    def low(self) -> int:
        return self._minima[0][1] if self._buckets else self._close

    @property
    def close(self) -> int:
        """The last trade price ever seen, inside the window or not; 0 before any trade."""
        return self._close

    @property
    def last_qty(self) -> int:
        return self._last_qty

    @property
    def last_time_ms(self) -> int:
        """Time of the last trade ever seen; 0 before any trade."""
        return self._last_time_ms

    @property
    def volume(self) -> int:
        return self._volume

    @property
    def quote_volume(self) -> int:
        return self._quote_volume

    @property
    def count(self) -> int:
        """Trades in the window (an aggregate counts its fills)."""
        return self._count

    @property
    def first_id(self) -> int:
        """Id of the first trade in the window; -1 when it is empty."""
        return self._buckets[0].first_id if self._buckets else -1

    @property
    def last_id(self) -> int:
        """Id of the last trade in the window; -1 when it is empty."""
        return self._last_id if self._buckets else -1

    @property
    def open_time_ms(self) -> int:
        """Start of the oldest bucket holding trades; the last trade's bucket when empty."""
        if self._buckets:
            return self._buckets[0].start_ms
        return self._last_time_ms - self._last_time_ms % self.bucket_ms

    def __len__(self) -> int:
        """Buckets held: at most ``window_ms / bucket_ms + 1``."""
        return len(self._buckets)

    def __repr__(self) -> str:
        return (
            f"RollingWindow(o={self.open}, h={self.high}, l={self.low}, c={self.close}, "
            f"v={self.volume}, q={self.quote_volume}, n={self.count})"
        )
