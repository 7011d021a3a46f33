"""The past's part of a candle open at the live start, on the kline streams.

The warm start gives the plant's candles the last ``history_s`` of the past (a day at most:
``feeds/simulator/pump.py``). A candle whose interval opened before that window (a week's,
a month's, and with a short window a day's) holds only the window's minutes and the live
trades, while REST's kline of the same interval adds the past's part before the window
(``protocol/past.PastAnswers._share``). The kline and continuous kline streams push the same
candle REST answers (spec §4.7, §4.12: the stream's `o`, `h`, `l`, `v`, `n`, `f` are the
interval's from its open), so each push of such a candle joins the past's part in front of it.

That part can be a month of the past, drawn day by day where no cache holds it (~150 ms a
symbol on one core), so it is made only for a candle somebody takes, a piece at a time
(``PastSource.pieces``, a day or an hour of the past each) at the plant's ticks, a few pieces
a tick: meanwhile that candle's pushes are held back (a subscriber's first push comes once it
is whole, about a second later), and the candle closing meanwhile makes it at once. Once the
candle closes its successor is wholly live, and nothing more is owed.

Bounded by design: per symbol, one part per interval, made once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from tickerplant.market.klines.candles import Kline

__all__ = ["OwedParts", "PastSource"]


class PastSource(Protocol):
    """The past's part of a candle: from its open to where the warm start's window begins."""

    def pieces(self, symbol: str, open_ms: int) -> Iterator[None]:
        """What ``part`` reads, made a piece at a time: it yields after each piece made."""
        ...

    def part(self, symbol: str, open_ms: int) -> Kline | None:
        """The past's trades from ``open_ms`` to the window, summed in one kline (its trade
        ids in the live numbering); None: the past has none there."""
        ...


class OwedParts:
    """One symbol's candles that lack the past's part (by interval index: the open time of
    the candle lacking it), and the parts made or being made."""

    __slots__ = ("_made", "_making", "open_ms", "source", "symbol")

    def __init__(self, source: PastSource, symbol: str, open_ms: dict[int, int]) -> None:
        self.source, self.symbol = source, symbol
        self.open_ms = open_ms  # emptied as each such candle closes: then nothing is owed
        self._made: dict[int, Kline | None] = {}
        self._making: dict[int, Iterator[None]] = {}

    @property
    def making(self) -> bool:
        """Whether a part somebody waits for is being made (``work``)."""
        return bool(self._making)

    def joined(self, index: int, k: Kline, closed: bool) -> Kline | None:
        """Candle ``k`` of interval ``index`` as pushed: with the past's part in front of it
        when it is the candle lacking it; None while that part is being made (the push is
        held: ``work`` makes it). A candle closing meanwhile has its part made at once."""
        open_ms = self.open_ms.get(index)
        if open_ms is None:
            return k
        if k.open_ms != open_ms:  # a later candle: wholly live, nothing owed any more
            del self.open_ms[index]
            self._made.pop(index, None)
            self._making.pop(index, None)
            return k
        if index not in self._made:
            pieces = self._making.get(index)
            if pieces is None:
                self._making[index] = pieces = self.source.pieces(self.symbol, open_ms)
            if not closed:
                return None
            for _ in pieces:  # closing now: its last push is whole
                pass
            self._finish(index)
        part = self._made[index]
        if part is None:
            return k
        whole = Kline(
            k.open_ms, k.close_ms, part.open, part.high, part.low, part.close, part.volume, part.quote,
            part.count, part.taker_buy_volume, part.taker_buy_quote, part.first_id, part.last_id,
        )  # fmt: skip
        whole.fold(k)  # the live candle's trades after the past's (Kline.fold)
        return whole

    def work(self, budget: int) -> int:
        """Make at most ``budget`` pieces of the parts being made; how many it made. A part
        whose pieces are all made is kept, and its candle's pushes go on at the next one."""
        used = 0
        for index, pieces in list(self._making.items()):
            while used < budget:
                if next(pieces, _DONE) is _DONE:
                    self._finish(index)
                    break
                used += 1
            if used >= budget:
                break
        return used

    def _finish(self, index: int) -> None:
        del self._making[index]
        self._made[index] = self.source.part(self.symbol, self.open_ms[index])


_DONE = object()
