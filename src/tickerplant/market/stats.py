"""Rolling 24 h trade statistics: the figures behind miniTicker, ticker and REST 24hr.

Binance's 24 h statistics are a *rolling* window, "from 24 hours before the update to the
update, not over a UTC day" (spec §4.2): open is the first trade price still inside the
window, high and low the extremes of the trades inside it, close the last trade price.

The window is a deque of trades in arrival order. Volume sums are kept incrementally, in
integers, so they stay exact however long the plant runs. High and low come from two
monotonic deques (the classic sliding-window maximum): each trade enters and leaves each
deque at most once, so every operation is O(1) amortised, whatever the window holds.
"""

from __future__ import annotations

from collections import deque

from tickerplant.market.units import DAY_MS

__all__ = ["RollingWindow"]



class RollingWindow:
    """Statistics of the trades whose time lies in ``(now - window_ms, now]``.

    Trades are expected in non-decreasing time order, as a feed delivers them; equal
    times are fine. ``add`` evicts relative to the added trade's own time, so memory stays
    bounded even if nobody calls ``evict``; call ``evict(now_ms)`` before reading to age
    the window to the present when no trade has come for a while.
    """

    __slots__ = (
        "_close",
        "_count",
        "_last_id",
        "_last_qty",
        "_last_time_ms",
        "_maxima",
        "_minima",
        "_next_seq",
        "_quote_volume",
        "_trades",
        "_volume",
        "window_ms",
    )

    def __init__(self, window_ms: int = DAY_MS) -> None:
        if window_ms <= 0:
            raise ValueError("the window must be positive")
        self.window_ms = window_ms
        # (time_ms, first trade id, price, qty, quote, trades), oldest first; an aggregate
        # of several fills at one price is one entry
        self._trades: deque[tuple[int, int, int, int, int, int]] = deque()
        # (sequence number, price): prices strictly decreasing / increasing from the left, so
        # the left end is the window's high / low. A trade's sequence number is its position
        # in the order of arrival; the oldest trade in the window has sequence number
        # `_next_seq - len(_trades)`.
        self._maxima: deque[tuple[int, int]] = deque()
        self._minima: deque[tuple[int, int]] = deque()
        self._next_seq = 0
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
        self.evict(time_ms)
        seq = self._next_seq
        self._next_seq = seq + 1
        self._trades.append((time_ms, trade_id, price, qty, quote, trades))
        maxima = self._maxima
        while maxima and maxima[-1][1] <= price:
            maxima.pop()
        maxima.append((seq, price))
        minima = self._minima
        while minima and minima[-1][1] >= price:
            minima.pop()
        minima.append((seq, price))
        self._volume += qty
        self._quote_volume += quote
        self._count += trades
        self._close = price
        self._last_qty = qty
        self._last_id = trade_id + trades - 1
        self._last_time_ms = time_ms

    def evict(self, now_ms: int) -> bool:
        """Drop the trades at or before ``now_ms - window_ms``; True if any were dropped."""
        trades = self._trades
        cutoff = now_ms - self.window_ms
        if not trades or trades[0][0] > cutoff:
            return False
        maxima, minima = self._maxima, self._minima
        seq = self._next_seq - len(trades)
        while trades and trades[0][0] <= cutoff:
            _, _, _, qty, quote, n = trades.popleft()
            self._volume -= qty
            self._quote_volume -= quote
            self._count -= n
            if maxima[0][0] == seq:
                maxima.popleft()
            if minima[0][0] == seq:
                minima.popleft()
            seq += 1
        return True

    # --- the statistics ------------------------------------------------------------------
    # With the window empty, open, high and low collapse onto the last price, as Binance
    # shows a symbol without trades in 24 h: a flat line at the close (0 before any trade).

    @property
    def open(self) -> int:
        return self._trades[0][2] if self._trades else self._close

    @property
    def high(self) -> int:
        return self._maxima[0][1] if self._maxima else self._close

    @property
    def low(self) -> int:
        return self._minima[0][1] if self._minima else self._close

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
        return self._trades[0][1] if self._trades else -1

    @property
    def last_id(self) -> int:
        """Id of the last trade in the window; -1 when it is empty."""
        return self._last_id if self._trades else -1

    @property
    def open_time_ms(self) -> int:
        """Time of the first trade in the window; the last trade's time when it is empty."""
        return self._trades[0][0] if self._trades else self._last_time_ms

    def __len__(self) -> int:
        return len(self._trades)

    def __repr__(self) -> str:
        return (
            f"RollingWindow(o={self.open}, h={self.high}, l={self.low}, c={self.close}, "
            f"v={self.volume}, q={self.quote_volume}, n={self.count})"
        )
