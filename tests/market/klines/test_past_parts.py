"""``OwedParts``: the past's part of a candle that opened before the warm start's window, made
a budget of pieces at a time while the candle's pushes are held, the soonest closing candle's
first (within a symbol and across symbols), a candle closing before then not pushed and its
part no longer made, nothing owed once a later candle opens, and the source let go once
nothing more can be asked of it. (Joined in front of the candle on the wire:
``tests/gateway/test_kline_past_part.py``.)"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from tickerplant.market.klines.candles import Kline
from tickerplant.market.klines.past_parts import OwedParts, made_parts, owed_piece

OPEN = 1_000_000
HOUR, DAY = 3_600_000, 86_400_000
PAST = Kline(OPEN, OPEN + 59_999, 100, 120, 90, 110, 5, 500, 3, 2, 200, 7, 9)


class Source:
    def __init__(self, pieces: int) -> None:
        self.count = pieces
        self.log: list[tuple[str, int]] = []  # (name, open) of each piece made, in order

    def made(self, name: str, open_ms: int) -> Generator[None, None, Kline | None]:
        for _ in range(self.count):
            self.log.append((name, open_ms))
            yield
        return PAST


class Counted:
    """A source that says how many pieces it made."""

    def __init__(self, pieces: int) -> None:
        self.count, self.pieces = pieces, 0

    def made(self, name: str, open_ms: int) -> Generator[None, None, Kline | None]:
        assert (name, open_ms) == ("BTCUSDT", OPEN)
        for _ in range(self.count):
            self.pieces += 1
            yield
        return PAST


def test_the_push_is_held_until_the_part_is_made() -> None:
    source = Counted(pieces=5)
    owed: OwedParts[Kline] = OwedParts(source, "BTCUSDT", {3: (OPEN, OPEN + HOUR - 1)})
    assert owed.part(0, OPEN, False) == (False, None), "an interval owed nothing"
    assert owed.part(3, OPEN, False) == (True, None) and owed.making, "held: its part being made"
    assert owed.work(2, OPEN) == (2, False) and owed.making and source.pieces == 2
    assert owed.part(3, OPEN, False) == (True, None), "still held"
    assert owed.work(4, OPEN) == (3, True) and not owed.making and source.pieces == 5
    assert owed.part(3, OPEN, False) == (False, PAST)
    assert owed.source is None, "every owed part made: the source and its caches let go"


def test_a_candle_closing_before_its_part_is_made_is_not_pushed_and_its_part_not_made() -> None:
    source = Counted(pieces=50)
    owed: OwedParts[Kline] = OwedParts(source, "BTCUSDT", {3: (OPEN, OPEN + HOUR - 1)})
    assert owed.part(3, OPEN, False) == (True, None) and owed.work(2, OPEN) == (2, False)
    assert owed.part(3, OPEN, True) == (True, None), "held for good: its pushes were held from the start"
    assert not owed.making and owed.work(4, OPEN) == (0, False) and source.pieces == 2, "its part no longer made"
    assert owed.part(3, OPEN + HOUR, False) == (False, None) and not owed.owed, "the next is live"


def test_a_later_candle_is_wholly_live_and_nothing_is_owed() -> None:
    owed: OwedParts[Kline] = OwedParts(Counted(pieces=1), "BTCUSDT", {3: (OPEN, OPEN + HOUR - 1)})
    assert owed.part(3, OPEN, False) == (True, None)
    assert owed.part(3, OPEN + HOUR, False) == (False, None)
    assert not owed.owed and not owed.making and owed.source is None


def test_the_soonest_closing_candles_part_is_made_first_across_symbols() -> None:
    """A month's part of the first symbol asked first does not hold a later symbol's hour:
    the hour's candle closes first, and its part is made first."""
    month_source, hour_source = Source(pieces=100), Source(pieces=3)
    month: OwedParts[Kline] = OwedParts(month_source, "AAAUSDT", {12: (OPEN, OPEN + 30 * DAY - 1)})
    mixed: OwedParts[Kline] = OwedParts(hour_source, "ZZZUSDT", {
        5: (OPEN, OPEN + HOUR - 1), 12: (OPEN, OPEN + 30 * DAY - 1),
    })  # fmt: skip
    assert month.part(12, OPEN, False) == (True, None)
    assert mixed.part(12, OPEN, False) == (True, None)  # asked before the hour's, closing after it
    assert mixed.part(5, OPEN, False) == (True, None)
    assert made_parts([month, mixed], OPEN, budget=4) == {mixed}  # the hour's 3 pieces, then one more
    assert mixed.part(5, OPEN, False) == (False, PAST) and mixed.part(12, OPEN, False) == (True, None)
    assert (len(month_source.log), len(hour_source.log)) == (0, 4)


def test_a_part_whose_candle_closed_unpushed_is_no_longer_made() -> None:
    """Nobody took the symbol's streams when its candle closed (no closing push asked for the
    part): the next work, a while after, drops it rather than make it ahead of live candles."""
    source = Counted(pieces=50)
    owed: OwedParts[Kline] = OwedParts(source, "BTCUSDT", {3: (OPEN, OPEN + HOUR - 1)})
    assert owed.part(3, OPEN, False) == (True, None) and owed.work(2, OPEN) == (2, False)
    assert owed.work(2, OPEN + HOUR + 5_000) == (0, False) and not owed.making and not owed.owed
    assert source.pieces == 2 and owed.source is None


class Streams:
    """An ``Owing``: the parts it owes, and the finished ones it was told of."""

    def __init__(self, *owed: OwedParts[Kline]) -> None:
        self.owed = list(owed)
        self.told: set[OwedParts[Any]] = set()

    def owing(self) -> list[OwedParts[Any]]:
        return [o for o in self.owed if o.making]

    def finished(self, parts: set[OwedParts[Any]]) -> None:
        self.told |= parts


def test_a_piece_at_a_time_the_soonest_closing_first_across_the_trade_and_price_candles() -> None:
    """``owed_piece``: one piece a call, so that a shell gives each its own loop turn
    (``Plant.tick_parts``, ``Dispatcher.ticks``); the soonest closing candle's first across
    both kinds of streams; each told of the parts finished, whoever owes them."""
    trades_source, prices_source = Source(pieces=3), Source(pieces=2)
    month: OwedParts[Kline] = OwedParts(trades_source, "BTCUSDT", {12: (OPEN, OPEN + 30 * DAY - 1)})
    hour: OwedParts[Kline] = OwedParts(prices_source, "BTCUSDT", {5: (OPEN, OPEN + HOUR - 1)})
    assert month.part(12, OPEN, False) == (True, None) and hour.part(5, OPEN, False) == (True, None)
    trades, prices = Streams(month), Streams(hour)
    made = []
    while owed_piece((trades, prices), OPEN):
        made.append((len(trades_source.log), len(prices_source.log)))
    # the price hour's first, a piece a call (the last call finds the month's part whole)
    assert made == [(0, 1), (0, 2), (1, 2), (2, 2), (3, 2), (3, 2)]
    assert trades.told == prices.told == {hour, month}
    assert not owed_piece((trades, prices), OPEN)  # nothing more owed
