"""The plant's bulk entry: a run of one symbol's recorded tops, trades or aggregates (the
rows of one public file over a stretch of replay time, ``feeds/replay/runs.py``) applied
at once, with the state and the payloads ``Plant.apply`` leaves and writes row by row.

Row by row, every recorded row costs a Python call or three and a payload built in its
own ``%``; here a run's payloads are one C-level ``map`` of the template over its columns
(``EventFrames.book_tickers`` …), and the window and the candles take a run's sums, a
grid step of the candles at a time (a step lies in one bucket of the window), from C-level
``sum``, ``max`` and ``min`` (``RollingWindow.add_sums``, ``KlineStreams.add_sums``). The
caller keeps the cadences: a run never crosses a tick of the plant (``next_tick_ms``), so
every periodic stream sees the state it would have seen row by row.

Each symbol's streams get the same payloads in the same order as ``Plant.apply`` row by
row (``tests/feeds/test_replay_runs.py`` plays files both ways); only the interleaving of
different streams within a run differs, which no connection sees (the fan-out joins a
batch's frames per stream). The diff the market views keep their books from
(`@depthDiff`) sums the run's changes as the row-by-row path sums a batch's.

A run whose recorded trade times step back (``T`` not the time it is played at) goes row
by row: the candles and the window count such a trade where its own time says.
"""

from __future__ import annotations

import functools
import itertools
import operator
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from typing import Any, cast

from tickerplant.market.klines.symbol_candles import SymbolCandles
from tickerplant.market.messages import ALL_BOOK_TICKER, StreamMessage
from tickerplant.market.payloads import builders
from tickerplant.market.plant.plant import Plant
from tickerplant.market.plant.symbol_state import SymbolState
from tickerplant.market.units import bytes_to_units
from tickerplant.market.updates import AggTrade, Trade

__all__ = ["apply_aggregates", "apply_tops", "apply_trades"]

# a message built as the tuple it is (no NamedTuple ``__new__`` frame per payload)
_message = cast(Callable[[tuple[str, bytes]], StreamMessage], functools.partial(tuple.__new__, StreamMessage))
_PLUS_ONE = (1).__add__


def _messages(stream: str, payloads_: list[bytes]) -> map[StreamMessage]:
    return map(_message, zip(itertools.repeat(stream), payloads_))


def apply_tops(
    plant: Plant, symbol: str, columns: tuple[list[Any], ...], out: list[StreamMessage], texts: bool = False
) -> list[bytes] | None:
    """Recorded bookTicker rows (``public_files.RowBlock`` columns: u, T, E, bid, bid qty,
    ask, ask qty): each is published with its recorded id and times, and the book becomes
    the last. Returns the payloads when the plant pushes `!bookTicker` as it goes (COIN-M)
    and somebody takes it: the caller puts them on it in time order across symbols.
    ``texts``: the prices and sizes are the texts the payloads write (``RowBlock.texts``)."""
    update_ids, times_ms, event_ms, bids, bid_qtys, asks, ask_qtys = columns
    state = plant.symbols[symbol]
    frames = state.frames
    write = frames.book_tickers_of_texts if texts else frames.book_tickers
    written = write(update_ids, bids, bid_qtys, asks, ask_qtys, times_ms, event_ms)
    out.extend(_messages(state.names.book_ticker, written))
    state.book_ticker = written[-1]
    last = len(update_ids) - 1
    top = (bids[last], bid_qtys[last], asks[last], ask_qtys[last])
    if texts:  # the one row whose units the plant keeps
        pd, qd = state.inst.price_decimals, state.inst.qty_decimals
        bid, bid_qty, ask, ask_qty = top
        top = (
            bytes_to_units(bid, pd), bytes_to_units(bid_qty, qd),
            bytes_to_units(ask, pd), bytes_to_units(ask_qty, qd),
        )  # fmt: skip
        if plant._depth_streams:  # the depth book takes every row's units
            bids, asks = [bytes_to_units(b, pd) for b in bids], [bytes_to_units(a, pd) for a in asks]
    # Without depth streams (a replay of public files) nothing reads a diff of tops: the
    # views answer depth from the last bookTicker (``MarketView.book``)
    if plant._depth_streams:
        _tops_into_depth(plant, state, update_ids, times_ms, bids, asks, top)
    state.top = top
    if plant._all_book_interval_ms:
        state.top_changed = True
    elif (wanted := plant.wanted) is None or ALL_BOOK_TICKER in wanted:
        return written
    return None


def _tops_into_depth(
    plant: Plant,
    state: SymbolState,
    update_ids: list[int],
    times_ms: list[int],
    bids: list[int],
    asks: list[int],
    top: tuple[int, int, int, int],
) -> None:
    """A run of tops into the depth streams' book and the batch's diff: every price that
    was the top since the last diff and is no longer is gone (0); the new top is at its size."""
    gone_bids, gone_asks = dict.fromkeys(bids, 0), dict.fromkeys(asks, 0)
    old = state.top
    if old is not None:
        gone_bids[old[0]] = gone_asks[old[2]] = 0
    del gone_bids[top[0]]
    del gone_asks[top[2]]
    state.depth_bids.update(gone_bids)
    state.depth_asks.update(gone_asks)
    state.depth_bids[top[0]] = top[1]
    state.depth_asks[top[2]] = top[3]
    book = state.book
    for price in gone_bids:
        book.set_level(True, price, 0)
    for price in gone_asks:
        book.set_level(False, price, 0)
    book.set_level(True, top[0], top[1])
    book.set_level(False, top[2], top[3])
    last = len(update_ids) - 1
    book.last_update_id = update_ids[last]
    book.next_update_id = update_ids[last] + 1  # as Plant._top_into_depth: the next top's is at least that
    if not state.depth_gathered:
        state.depth_gathered = True
        plant._depth_dirty.append(state)
    state.depth_time_ms = times_ms[last]


def apply_trades(
    plant: Plant,
    symbol: str,
    times: list[int],
    columns: tuple[list[Any], ...],
    alone: bool,
    out: list[StreamMessage],
) -> None:
    """Recorded trades (columns: id, T, price, qty, buyer is maker) played at ``times``:
    into the window and the candles, each on `@trade` and, ``alone`` (no aggTrades file
    beside), as its own aggregate on `@aggTrade`."""
    trade_ids, times_ms, prices, qtys, makers = columns
    if times_ms != times:  # a trade time stepped back: row by row (see the docstring)
        candles = plant.symbols[symbol].candles
        for trade_id, time_ms, price, qty, maker, now_ms in zip(*columns, times, strict=True):
            _catch_up(plant, candles, now_ms)
            plant.apply(Trade(symbol, trade_id, time_ms, price, qty, maker, alone), now_ms, out)
        return
    state = plant.symbols[symbol]
    _into_state(plant, state, times_ms, trade_ids, trade_ids, prices, qtys, makers, None, out)
    names, frames = state.names, state.frames
    if (wanted := plant.wanted) is None or names.trade in wanted:
        out.extend(_messages(names.trade, frames.trades(times, times_ms, trade_ids, prices, qtys, makers)))
    if alone:
        written = frames.agg_trades(times, trade_ids, prices, qtys, trade_ids, trade_ids, times_ms, makers)
        out.extend(_messages(names.agg_trade, written))


def apply_aggregates(
    plant: Plant,
    symbol: str,
    times: list[int],
    columns: tuple[list[Any], ...],
    alone: bool,
    out: list[StreamMessage],
) -> None:
    """Recorded aggregates (columns: agg id, first and last trade id, T, price, qty, buyer
    is maker) played at ``times``: each on `@aggTrade` and, ``alone`` (no trades file
    beside), into the window and the candles as its fills."""
    agg_ids, first_ids, last_ids, times_ms, prices, qtys, makers = columns
    if alone and times_ms != times:  # a trade time stepped back: row by row
        candles = plant.symbols[symbol].candles
        for agg_id, first, last, time_ms, price, qty, maker, now_ms in zip(*columns, times, strict=True):
            _catch_up(plant, candles, now_ms)
            plant.apply(AggTrade(symbol, agg_id, first, last, time_ms, price, qty, maker, True), now_ms, out)
        return
    state = plant.symbols[symbol]
    if alone:
        fills = list(map(operator.sub, map(_PLUS_ONE, last_ids), first_ids))
        _into_state(plant, state, times_ms, first_ids, last_ids, prices, qtys, makers, fills, out)
    written = state.frames.agg_trades(times, agg_ids, prices, qtys, first_ids, last_ids, times_ms, makers)
    out.extend(_messages(state.names.agg_trade, written))


def _catch_up(plant: Plant, candles: SymbolCandles | None, played_ms: int) -> None:
    """Before a trade played at ``played_ms``, row by row: the candles caught up to the
    kline tick the run passed, as ``_into_state`` does."""
    if candles is not None and (passed := plant._klines.passed_tick_ms(played_ms)) is not None:
        plant._klines.catch_up(candles, passed)


def _into_state(
    plant: Plant,
    state: SymbolState,
    times_ms: list[int],
    first_ids: list[int],
    last_ids: list[int],
    prices: list[int],
    qtys: list[int],
    makers: list[bool],
    fills: list[int] | None,
    out: list[StreamMessage],
) -> None:
    """Trades in time order (``fills`` None: one fill each) into the window and the
    candles, a grid step of the candles at a time: the sums of a step are taken once for
    both (a step lies in one bucket of the window)."""
    quotes = builders.quotes_units(state.inst, prices, qtys)
    window, candles = state.window, state.candles
    step = window.bucket_ms if candles is None else candles.grid_ms
    if window.bucket_ms % step:
        raise ValueError("the candles' grid must divide the window's buckets")
    klines = plant._klines
    n = len(times_ms)
    # A run past a kline tick (nobody takes a kline stream: ``Plant.next_stop_ms``) goes in
    # in two parts, the candles caught up to the last tick it passes in between
    passed = None if candles is None else klines.passed_tick_ms(times_ms[-1])
    cut = n if passed is None else bisect_right(times_ms, passed)  # the rows up to that tick
    lo = 0
    while lo < n:
        if lo == cut and candles is not None and passed is not None:
            klines.catch_up(candles, passed)
        end = cut if lo < cut else n
        first_ms = times_ms[lo]
        step_ends = first_ms - first_ms % step + step
        hi = end if times_ms[end - 1] < step_ends else bisect_left(times_ms, step_ends, lo, end)
        if lo == 0 and hi == n:  # the common case: the whole run, no copies
            run_prices, run_qtys, run_quotes, run_makers = prices, qtys, quotes, makers
        else:
            part = slice(lo, hi)
            run_prices, run_qtys, run_quotes = prices[part], qtys[part], quotes[part]
            run_makers = makers[part]
        last = hi - 1
        high, low, close = max(run_prices), min(run_prices), prices[last]
        volume, quote = sum(run_qtys), sum(run_quotes)
        count = hi - lo if fills is None else sum(fills[lo:hi])
        window.add_sums(
            first_ms, times_ms[last], first_ids[lo], last_ids[last], prices[lo], high, low, close,
            qtys[last], volume, quote, count,
        )  # fmt: skip
        if candles is not None:
            takers = list(map(operator.not_, run_makers))
            taker_volume = sum(itertools.compress(run_qtys, takers))
            taker_quote = sum(itertools.compress(run_quotes, takers))
            klines.add_sums(
                candles, first_ms, first_ids[lo], last_ids[last], prices[lo], high, low, close, volume,
                quote, count, taker_volume, taker_quote, out,
            )  # fmt: skip
        lo = hi
    state.mini_changed = state.ticker_changed = True
