"""Binance's public files in a replay, played a stretch of replay time at a time: each
file's rows as columns (``public_files.blocks``), each stretch of one file applied to its
plant at once (``market/plant/runs.py``). Sans-I/O but for the blocks' iterators, which
read the files as they are consumed.

Row by row, every row was a tuple, an update, a step of ``heapq.merge`` and a few Python
calls through the replay core and the plant: most of a replay's time at ``--speed max``.
A stretch is played file by file instead of merged row by row, which changes nothing a
client or the market views can see:

- the plant's state of one symbol's tops, of its trades and of its aggregates are apart
  (a symbol's tops never touch its windows or candles), so each file's rows may go in at
  once;
- every stream's messages keep their order (one symbol's file writes it), and a
  connection never sees the order between two streams within a batch (the fan-out joins
  a batch's frames per stream); the one stream several files write as they go, COIN-M's
  real-time `!bookTicker`, is put in time order across symbols here;
- a stretch never crosses a tick that reads what the rows change (``Replayer.step`` cuts
  it at ``Plant.next_stop_ms``): a ticker, a kline or a batch of `!bookTicker` sees
  exactly the rows up to its time, as row by row. The ticks it may cross read nothing
  rows change (mark prices, liquidations, open interest: merged updates, which end a
  stretch), or write nothing and only settle the candles, which catch them up as their
  trades pass them (klines nobody takes: ``KlineStreams.catch_up``); they follow late,
  each at its own time, once the stretch is in.

``tests/feeds/test_replay_runs.py`` plays files both ways (``open_replay(...,
row_by_row=True)`` merges the rows as single updates) and holds every stream equal.
"""

from __future__ import annotations

import heapq
import itertools
import operator
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast

from tickerplant.feeds.replay.public_files import FileKind, RowBlock
from tickerplant.market.instruments import Market
from tickerplant.market.messages import ALL_BOOK_TICKER, StreamMessage
from tickerplant.market.plant.plant import Plant
from tickerplant.market.plant.runs import apply_aggregates, apply_tops, apply_trades

__all__ = ["NEVER_MS", "PublicRuns", "RowInput"]

NEVER_MS = 1 << 62  # the next row's time when none is left
_NEXT_MS = operator.attrgetter("next_ms")
_ITEM = cast(Callable[[list[Any], slice], list[Any]], operator.getitem)  # a column's slice


class RowInput:
    """One symbol's public files of one kind, chained in date order (``blocks``), and
    where the replay stands in them: the rows of the block at hand from ``pos`` on."""

    def __init__(
        self, blocks: Iterator[RowBlock], market: Market, symbol: str, kind: FileKind, alone: bool
    ) -> None:
        """``alone``: the symbol has no file of the other trade kind (``public_files.rows``)."""
        self.market, self.symbol, self.kind, self.alone = market, symbol, kind, alone
        self._blocks = blocks
        self.times: list[int] = []
        self.columns: tuple[list[Any], ...] = ()
        self.texts = False  # the block's prices and sizes are texts (``RowBlock.texts``)
        self.pos = 0
        self.next_ms = NEVER_MS  # the time of the next row; NEVER_MS when none is left
        self._load()

    def _load(self) -> None:
        """The next block, once the one at hand is played."""
        block = next(self._blocks, None)
        if block is None:
            self.times, self.columns, self.texts, self.pos, self.next_ms = [], (), False, 0, NEVER_MS
            return
        self.times, self.columns, self.texts = block
        self.pos = 0
        self.next_ms = self.times[0]

    def count(self, until_ms: int) -> int:
        """Rows of the block at hand up to ``until_ms``."""
        return bisect_right(self.times, until_ms, self.pos) - self.pos

    def take(self, until_ms: int) -> RowBlock:
        """The block's rows up to ``until_ms``, played: the next block is loaded when this
        one is done."""
        pos = self.pos
        end = bisect_right(self.times, until_ms, pos)
        taken = slice(pos, end)
        columns = tuple(map(_ITEM, self.columns, itertools.repeat(taken)))
        rows = RowBlock(self.times[taken], columns, self.texts)
        if end == len(self.times):
            self._load()
        else:
            self.pos, self.next_ms = end, self.times[end]
        return rows


class PublicRuns:
    """Every public file's ``RowInput`` of a replay, played into their plants."""

    def __init__(self, inputs: list[RowInput]) -> None:
        self.inputs = inputs
        self._waiting = sum(len(i.times) for i in inputs)  # rows of the blocks at hand, unplayed

    @property
    def next_ms(self) -> int:
        """When the next row is due; ``NEVER_MS`` when every row has been played."""
        return min(map(_NEXT_MS, self.inputs), default=NEVER_MS)

    def cut(self, first_ms: int, last_ms: int, budget: int) -> int:
        """The last millisecond up to ``last_ms`` whose rows (of the blocks at hand) come
        to at most ``budget``; ``first_ms`` however many its own are (a millisecond's rows
        are played together)."""
        if self._waiting <= budget:
            return last_ms  # whatever the stretch, it holds no more rows than that
        inputs = self.inputs
        if sum(i.count(last_ms) for i in inputs) <= budget:
            return last_ms
        lo, hi = first_ms, last_ms - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if sum(i.count(mid) for i in inputs) <= budget:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def play(
        self, until_ms: int, plants: Mapping[Market, Plant], outs: Mapping[Market, list[StreamMessage]]
    ) -> tuple[int, int]:
        """Each file's rows up to ``until_ms`` of the blocks at hand into its plant (call
        again while ``next_ms`` is still within: a block may end first). Returns (rows
        played, the time of the last)."""
        played = 0
        last_ms = -1
        real_time_tops: list[tuple[Market, list[int], int, list[bytes]]] = []
        for index, row_input in enumerate(self.inputs):
            if row_input.next_ms > until_ms:
                continue
            left = len(row_input.times) - row_input.pos
            times, columns, texts = row_input.take(until_ms)
            self._waiting += len(row_input.times) - row_input.pos - left  # a new block may come in
            played += len(times)
            last_ms = max(last_ms, times[-1])
            market, kind = row_input.market, row_input.kind
            plant, out = plants[market], outs[market]
            if kind is FileKind.BOOK_TICKER:
                written = apply_tops(plant, row_input.symbol, columns, out, texts)
                if written is not None:
                    real_time_tops.append((market, times, index, written))
            elif kind is FileKind.TRADES:
                apply_trades(plant, row_input.symbol, times, columns, row_input.alone, out)
            else:
                apply_aggregates(plant, row_input.symbol, times, columns, row_input.alone, out)
        if real_time_tops:
            _all_book_tickers(real_time_tops, outs)
        return played, last_ms


def _all_book_tickers(
    tops: list[tuple[Market, list[int], int, list[bytes]]], outs: Mapping[Market, list[StreamMessage]]
) -> None:
    """The real-time `!bookTicker` of several symbols' runs, in time order (ties by the
    files' order), as the rows came."""
    for market in {market for market, *_ in tops}:
        runs = [(times, index, written) for m, times, index, written in tops if m is market]
        if len(runs) == 1:
            ordered: Iterator[bytes] = iter(runs[0][2])
        else:
            merged = heapq.merge(*(zip(times, itertools.repeat(i), written) for times, i, written in runs))
            ordered = (payload for _, _, payload in merged)
        outs[market].extend(StreamMessage(ALL_BOOK_TICKER, payload) for payload in ordered)
