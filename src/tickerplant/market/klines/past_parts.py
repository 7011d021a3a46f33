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
is whole, a second or two later). Should the candle close before then (a subscription in its
interval's last seconds), it is not pushed at all, rather than the loop held while a month of
the past is made at once: its pushes were held from the start. Once the candle closes its
successor is wholly live, and nothing more is owed.

The mark-price, index-price and premium-index candles (``price_streams.py``) have no warm
start at all: the candle open at the live start lacks the past's samples from its open to the
start, which REST's ``markPriceKlines``, ``indexPriceKlines`` and ``premiumIndexKlines`` add
(``PastAnswers._whole_bar``); their pushes join them in front the same way.

Bounded by design: per symbol (and per pair), one part per interval and kind, made once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, Protocol, TypeVar

__all__ = ["OwedParts", "PastSource"]

P = TypeVar("P")
P_co = TypeVar("P_co", covariant=True)


class PastSource(Protocol[P_co]):
    """The past's part of a candle: from its open to where the plant's candles begin (a
    trade kline's, ``Kline``; a mark, index or premium candle's, ``price_candles.PriceBar``)."""

    def pieces(self, name: str, open_ms: int) -> Iterator[None]:
        """What ``part`` reads, made a piece at a time: it yields after each piece made."""
        ...

    def part(self, name: str, open_ms: int) -> P_co | None:
        """The past's part from ``open_ms`` on, in one candle (a trade kline's ids in the live
        numbering); None: the past has none there."""
        ...


class OwedParts(Generic[P]):
    """One symbol's (or pair's) candles that lack the past's part (by interval index: the
    open time of the candle lacking it), and the parts made or being made."""

    __slots__ = ("_made", "_making", "name", "open_ms", "source")

    def __init__(self, source: PastSource[P], name: str, open_ms: dict[int, int]) -> None:
        self.source, self.name = source, name
        self.open_ms = open_ms  # emptied as each such candle closes (a dict look a push then)
        self._made: dict[int, P | None] = {}
        self._making: dict[int, Iterator[None]] = {}

    @property
    def making(self) -> bool:
        """Whether a part somebody waits for is being made (``work``)."""
        return bool(self._making)

    def part(self, index: int, open_ms: int, closed: bool) -> tuple[bool, P | None]:
        """(held, part) for the push of interval ``index``'s candle open at ``open_ms``: the
        past's part to put in front of it when it is the candle lacking one (None: none to
        put); held while that part is being made (``work`` makes it). A candle that closes
        before its part is made is not pushed at all (``closed``)."""
        owed_ms = self.open_ms.get(index)
        if owed_ms is None:
            return False, None
        if open_ms != owed_ms:  # a later candle: wholly live, nothing owed any more
            del self.open_ms[index]
            self._made.pop(index, None)
            self._making.pop(index, None)
            return False, None
        if index not in self._made:
            if closed:  # closing before its part was made: never pushed (its pushes were held),
                return True, None  # rather than the loop held for a month of the past at once
            if index not in self._making:
                self._making[index] = self.source.pieces(self.name, open_ms)
            return True, None
        return False, self._made[index]

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
        self._made[index] = self.source.part(self.name, self.open_ms[index])


_DONE = object()
