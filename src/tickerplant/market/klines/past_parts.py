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
(``PastSource.made``, a day or an hour of the past each, folded into the part as it is made)
at the plant's ticks, ``PAST_PIECES_A_TICK`` pieces a tick over every symbol, the soonest
closing candle's first (``made_parts``), each piece on a loop turn of its own (``owed_piece``:
a request waits behind one piece, 5-25 ms, not a tick's): a plant that writes every stream
owes every interval of every symbol at once, and a 3-minute candle's few pieces do not wait
behind a month's.
Meanwhile that candle's pushes are held back (a subscriber's first push comes once it is
whole, a second or two later). Should the candle close before then (a subscription in its
interval's last seconds), it is not pushed at all, and its part no longer made, rather than
the loop held while a month of the past is made at once: its pushes were held from the start.
Once the candle closes its successor is wholly live, and nothing more is owed; once every
part owed is made or no longer owed, the source (and the past it caches) is let go.

The mark-price, index-price and premium-index candles (``price_streams.py``) have no warm
start at all: the candle open at the live start lacks the past's samples from its open to the
start, which REST's ``markPriceKlines``, ``indexPriceKlines`` and ``premiumIndexKlines`` add
(``PastAnswers._whole_bar``); their pushes join them in front the same way.

Bounded by design: per symbol (and per pair), one part per interval and kind, made once.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Sequence
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["PAST_PIECES_A_TICK", "OwedParts", "Owing", "PastSource", "made_parts", "owed_piece"]

# pieces of the held candles' past parts made at each of the streams' ticks (KLINE_PUSH_MS),
# the trade and the price candles' together, each on a loop turn of its own (``owed_piece``)
PAST_PIECES_A_TICK = 8
_PUSHED_WITHIN_MS = 1_000  # a candle's closing push comes at the first tick after its close

P = TypeVar("P")
P_co = TypeVar("P_co", covariant=True)


class PastSource(Protocol[P_co]):
    """The past's part of a candle: from its open to where the plant's candles begin (a
    trade kline's, ``Kline``; a mark, index or premium candle's, ``price_candles.PriceBar``)."""

    def made(self, name: str, open_ms: int) -> Generator[None, None, P_co | None]:
        """The past's part from ``open_ms`` on, in one candle (a trade kline's ids in the live
        numbering), made a piece at a time: it yields after each piece and returns the part
        (None: the past has none there)."""
        ...


class OwedParts(Generic[P]):
    """One symbol's (or pair's) candles that lack the past's part (by interval index: the
    open and close times of the candle lacking it), and the parts made or being made."""

    __slots__ = ("_made", "_making", "name", "owed", "source")

    def __init__(self, source: PastSource[P], name: str, owed: dict[int, tuple[int, int]]) -> None:
        self.source: PastSource[P] | None = source  # let go once nothing more can be asked of it
        self.name = name
        self.owed = owed  # emptied as each such candle closes (a dict look a push then)
        self._made: dict[int, P | None] = {}
        self._making: dict[int, Generator[None, None, P | None]] = {}

    @property
    def making(self) -> bool:
        """Whether a part somebody waits for is being made (``work``)."""
        return bool(self._making)

    @property
    def due_ms(self) -> int:
        """When the soonest candle whose part is being made closes: the parts are made
        soonest first (``work``), within a symbol and across them, so that a short candle's
        small part does not wait behind a month's and close unpushed."""
        return min(self.owed[index][1] for index in self._making)

    def part(self, index: int, open_ms: int, closed: bool) -> tuple[bool, P | None]:
        """(held, part) for the push of interval ``index``'s candle open at ``open_ms``: the
        past's part to put in front of it when it is the candle lacking one (None: none to
        put); held while that part is being made (``work`` makes it). A candle that closes
        before its part is made is not pushed at all (``closed``), and its part is no longer
        made."""
        owed = self.owed.get(index)
        if owed is None:
            return False, None
        if open_ms != owed[0] or (closed and index not in self._made):
            # a later candle, wholly live; or one closing before its part was made, never pushed
            # (its pushes were held), rather than the loop held for a month of the past at once
            self._forget(index)
            return open_ms == owed[0], None
        if index not in self._made:
            if index not in self._making and self.source is not None:
                self._making[index] = self.source.made(self.name, open_ms)
            return True, None
        return False, self._made[index]

    def work(self, budget: int, now_ms: int) -> tuple[int, bool]:
        """Make at most ``budget`` pieces of the parts being made, the soonest closing candle's
        first; how many it made, and whether a part was finished. A finished part is kept, and
        its candle's pushes go on at the next one. A part whose candle closed a while before
        ``now_ms`` unpushed (nobody took its streams then: no closing push asked for it) is no
        longer made."""
        used, finished = 0, False
        for index in [i for i in self._making if self.owed[i][1] + _PUSHED_WITHIN_MS < now_ms]:
            self._forget(index)
        for index in sorted(self._making, key=lambda index: self.owed[index][1]):
            pieces = self._making[index]
            while used < budget:
                try:
                    next(pieces)
                except StopIteration as done:
                    del self._making[index]
                    self._made[index] = done.value
                    self._let_go()
                    finished = True
                    break
                used += 1
            if used >= budget:
                break
        return used, finished

    def _forget(self, index: int) -> None:
        del self.owed[index]
        self._made.pop(index, None)
        self._making.pop(index, None)
        self._let_go()

    def _let_go(self) -> None:
        """The source (and what it keeps: the past's cached minutes) let go once every owed
        part is made or forgotten: nothing more will be asked of it."""
        if not self._making and all(index in self._made for index in self.owed):
            self.source = None


def made_parts(
    owners: Iterable[OwedParts[Any]], now_ms: int, budget: int = PAST_PIECES_A_TICK
) -> set[OwedParts[Any]]:
    """``budget`` pieces of the parts ``owners`` are making, the soonest closing candle's
    first across them all (``OwedParts.due_ms``); the owners a part was finished for, whose
    held pushes go now."""
    made: set[OwedParts[Any]] = set()
    for owed in sorted(owners, key=lambda owed: owed.due_ms):
        if budget <= 0:
            break
        used, finished = owed.work(budget, now_ms)
        budget -= used
        if finished:
            made.add(owed)
    return made


class Owing(Protocol):
    """Streams that push candles whose past parts are being made (``KlineStreams``,
    ``PriceKlineStreams``): a tick pushes the ones ``finished`` since the last."""

    def owing(self) -> list[OwedParts[Any]]: ...

    def finished(self, parts: set[OwedParts[Any]]) -> None: ...


def owed_piece(streams: Sequence[Owing], now_ms: int) -> bool:
    """One piece of the parts ``streams`` owe, the soonest closing candle's first across them
    all, the finished ones told to each; whether there was one to make. A piece is 5-25 ms
    of the past drawn (60 cold): a shell makes each on a loop turn of its own, so a request
    waits behind one piece at most, not a tick's (``Plant.tick_parts``)."""
    owners = [owed for owing in streams for owed in owing.owing()]
    if not owners:
        return False
    done = made_parts(owners, now_ms, 1)
    for owing in streams:
        owing.finished(done)
    return True
