"""The kline candles' warm start: a day of past trades into the plant's open candles
(``symbol_candles.SymbolCandles``) in one pass, nothing pushed.

Live, a trade goes into the symbol's *pending* candle, one grid step wide (1 s on USDⓈ-M,
1 min on COIN-M); when a trade starts the next step the pending candle is merged into every
interval's candle, and while warming every candle that closed before that trade is then
dropped (nobody was listening when it closed). Fed a day of history that way, each of
USDⓈ-M's ~60,000 grid steps costs 16 merges, almost all of them into candles dropped soon
after.

With the trades in time order the outcome follows without those merges: of interval i,
what is left at the end is the grid steps since the open of its interval that holds
``last``, the first trade of the last step begun (every earlier candle closed before some
step began after it, ``last`` at the latest), on top of its candle of before if that one is
still open at ``last``; the last step stays pending. So one pass gathers the steps exactly
as the pending candle does, and one walk back over them sums each interval's share: the
intervals by open time, latest first, each extending the sum of the one before, so every
step is summed once whatever the number of intervals.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from tickerplant.market.klines.candles import Kline, close_time, open_time
from tickerplant.market.klines.symbol_candles import SymbolCandles

__all__ = ["WarmTrade", "warm_candles", "warm_from_minutes"]

# A past trade: time (ms), trade id, price units, qty units, the plant's quote figure,
# buyer is maker.
WarmTrade = tuple[int, int, int, int, int, bool]


def warm_candles(sc: SymbolCandles, trades: Sequence[WarmTrade]) -> bool:
    """``trades`` into ``sc``'s candles, leaving the state the trade-by-trade warm start
    leaves; False, with ``sc`` untouched, if they are not in time order (or older than a
    candle ``sc`` has): the caller then takes them one by one."""
    if not trades:
        return True
    p = sc.pending
    previous = max((k.open_ms for k in (*sc.candles, p) if k is not None), default=trades[0][0])
    for trade in trades:
        if trade[0] < previous:
            return False
        previous = trade[0]
    # 1. the grid steps, exactly as the pending candle gathers them
    steps: list[Kline] = []
    last = 0
    grid = sc.grid_ms
    for time_ms, trade_id, price, qty, quote, buyer_is_maker in trades:
        if p is not None and time_ms <= p.close_ms:
            if price > p.high:
                p.high = price
            elif price < p.low:
                p.low = price
            p.close = price
            p.volume += qty
            p.quote += quote
            p.count += 1
            if not buyer_is_maker:
                p.taker_buy_volume += qty
                p.taker_buy_quote += quote
            p.last_id = trade_id
            continue
        if p is not None:
            steps.append(p)
        last = time_ms
        start = time_ms - time_ms % grid
        taker_qty, taker_quote = (0, 0) if buyer_is_maker else (qty, quote)
        p = Kline(
            start, start + grid - 1, price, price, price, price, qty, quote, 1, taker_qty,
            taker_quote, trade_id, trade_id,
        )  # fmt: skip
    sc.pending = p
    if not steps:
        return True  # every trade joined the pending step: nothing merged yet
    # 2. each interval's candle: the steps since its open at `last`, summed from the latest back
    sc.changed = True
    candles, intervals = sc.candles, sc.intervals
    opens = [open_time(interval, last) for interval in intervals]
    for index, summed in _sums_since(opens, steps):
        k = candles[index]
        if k is not None and k.close_ms < last:
            k = None  # closed before the last step began: dropped
        if summed is not None:
            if k is None:
                k = _opened(intervals[index], opens[index], summed)
            else:
                k.fold(summed)  # its trades after k's, as a pending candle is merged live
            if k.close_ms < sc.next_close_ms:
                sc.next_close_ms = k.close_ms
        candles[index] = k
    return True


def _sums_since(opens: list[int], rows: Sequence[Kline]) -> Iterator[tuple[int, Kline | None]]:
    """Each interval's index (``opens``: their open times) with the sum of ``rows``
    (ascending) since its open, None where none is: the latest open first, each sum extending
    the one before, so every row is summed once. A sum is good until the next is yielded."""
    summed: Kline | None = None
    j = len(rows)
    for index in sorted(range(len(opens)), key=opens.__getitem__, reverse=True):
        start = opens[index]
        while j and rows[j - 1].open_ms >= start:
            j -= 1
            summed = _before(rows[j], summed)
        yield index, summed


def _opened(interval: str, start: int, s: Kline) -> Kline:
    """A candle of ``interval`` open at ``start``, holding what ``s`` sums."""
    return Kline(
        start, close_time(interval, start), s.open, s.high, s.low, s.close, s.volume, s.quote, s.count,
        s.taker_buy_volume, s.taker_buy_quote, s.first_id, s.last_id,
    )  # fmt: skip


def _before(step: Kline, later: Kline | None) -> Kline:
    """``step`` followed by the steps ``later`` sums: a fresh candle the first time, then
    ``later`` itself, extended back."""
    if later is None:
        s = step
        return Kline(
            s.open_ms, s.close_ms, s.open, s.high, s.low, s.close, s.volume, s.quote, s.count,
            s.taker_buy_volume, s.taker_buy_quote, s.first_id, s.last_id,
        )  # fmt: skip
    later.open_ms = step.open_ms
    later.open = step.open
    later.first_id = step.first_id
    if step.high > later.high:
        later.high = step.high
    if step.low < later.low:
        later.low = step.low
    later.volume += step.volume
    later.quote += step.quote
    later.count += step.count
    later.taker_buy_volume += step.taker_buy_volume
    later.taker_buy_quote += step.taker_buy_quote
    return later



def warm_from_minutes(sc: SymbolCandles, minutes: Sequence[Kline], now_ms: int) -> list[tuple[str, Kline]]:
    """``sc``'s candles open at ``now_ms``, made of a past's closed minute klines (ascending,
    all before ``now_ms``'s minute): each interval's candle the sum of the minutes since its
    open, none where no minute falls in it (``1s``, a 1m candle). Nothing pending. Returns
    the candles made with their intervals, for the market views to learn (``@klineRow``).
    As ``warm_candles`` sums its steps: the intervals by open time, latest first, each
    extending the sum of the one before, so every minute is summed once (folded into each
    interval's candle in turn, a day's warm start summed a minute 15 times)."""
    sc.pending = None
    intervals = sc.intervals
    opens = [open_time(interval, now_ms) for interval in intervals]
    candles: list[Kline | None] = [None] * len(intervals)
    for index, summed in _sums_since(opens, minutes):
        if summed is not None:
            candles[index] = _opened(intervals[index], opens[index], summed)
    made: list[tuple[str, Kline]] = []
    for index, k in enumerate(candles):
        sc.candles[index] = k
        if k is not None:
            made.append((intervals[index], k))
            sc.changed = True
            if k.close_ms < sc.next_close_ms:
                sc.next_close_ms = k.close_ms
    return made
