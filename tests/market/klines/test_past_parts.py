"""``OwedParts``: the past's part of a candle that opened before the warm start's window, made
a budget of pieces at a time while the candle's pushes are held, a candle closing before then
not pushed, and nothing owed once a later candle opens. (Joined in front of the candle on the wire:
``tests/gateway/test_kline_past_part.py``.)"""

from __future__ import annotations

from collections.abc import Iterator

from tickerplant.market.klines.candles import Kline
from tickerplant.market.klines.past_parts import OwedParts

OPEN = 1_000_000
PAST = Kline(OPEN, OPEN + 59_999, 100, 120, 90, 110, 5, 500, 3, 2, 200, 7, 9)


class Source:
    def __init__(self, pieces: int) -> None:
        self.count = pieces
        self.made = 0

    def pieces(self, symbol: str, open_ms: int) -> Iterator[None]:
        assert (symbol, open_ms) == ("BTCUSDT", OPEN)
        for _ in range(self.count):
            self.made += 1
            yield

    def part(self, symbol: str, open_ms: int) -> Kline | None:
        return PAST


def test_the_push_is_held_until_the_part_is_made() -> None:
    source = Source(pieces=5)
    owed: OwedParts[Kline] = OwedParts(source, "BTCUSDT", {3: OPEN})
    assert owed.part(0, OPEN, False) == (False, None), "an interval owed nothing"
    assert owed.part(3, OPEN, False) == (True, None) and owed.making, "held: its part being made"
    assert owed.work(2) == 2 and owed.making and source.made == 2
    assert owed.part(3, OPEN, False) == (True, None), "still held"
    assert owed.work(4) == 3 and not owed.making and source.made == 5
    assert owed.part(3, OPEN, False) == (False, PAST)


def test_a_candle_closing_before_its_part_is_made_is_not_pushed() -> None:
    source = Source(pieces=50)
    owed: OwedParts[Kline] = OwedParts(source, "BTCUSDT", {3: OPEN})
    assert owed.part(3, OPEN, True) == (True, None), "held for good: its pushes were held from the start"
    assert source.made == 0, "nothing of the past made at once"
    assert owed.part(3, OPEN + 3_600_000, False) == (False, None) and not owed.open_ms, "the next is live"


def test_a_later_candle_is_wholly_live_and_nothing_is_owed() -> None:
    owed: OwedParts[Kline] = OwedParts(Source(pieces=1), "BTCUSDT", {3: OPEN})
    assert owed.part(3, OPEN, False) == (True, None)
    assert owed.part(3, OPEN + 3_600_000, False) == (False, None)
    assert not owed.open_ms and not owed.making
