"""``OwedParts``: a candle that opened before the warm start's window, pushed with the past's
part in front; the part made a budget of pieces at a time, the push held meanwhile, made at
once when the candle closes, and nothing owed once a later candle opens."""

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


def live(open_ms: int = OPEN) -> Kline:
    return Kline(open_ms, open_ms + 3_599_999, 111, 130, 105, 125, 4, 480, 2, 1, 120, 10, 11)


def test_the_push_is_held_until_the_part_is_made_then_joined() -> None:
    source = Source(pieces=5)
    owed = OwedParts(source, "BTCUSDT", {3: OPEN})
    assert owed.joined(0, live(), False) == live(), "an interval owed nothing: as it is"
    assert owed.joined(3, live(), False) is None and owed.making, "held: its part being made"
    assert owed.work(2) == 2 and owed.making and source.made == 2
    assert owed.joined(3, live(), False) is None, "still held"
    assert owed.work(4) == 3 and not owed.making and source.made == 5
    whole = owed.joined(3, live(), False)
    assert whole == Kline(OPEN, OPEN + 3_599_999, 100, 130, 90, 125, 9, 980, 5, 3, 320, 7, 11)


def test_a_closing_candle_makes_its_part_at_once() -> None:
    source = Source(pieces=50)
    owed = OwedParts(source, "BTCUSDT", {3: OPEN})
    whole = owed.joined(3, live(), True)
    assert whole is not None and (whole.open, whole.volume, whole.first_id) == (100, 9, 7)
    assert source.made == 50 and not owed.making


def test_a_later_candle_is_wholly_live_and_nothing_is_owed() -> None:
    owed = OwedParts(Source(pieces=1), "BTCUSDT", {3: OPEN})
    later = live(OPEN + 3_600_000)
    assert owed.joined(3, later, False) is later
    assert not owed.open_ms and not owed.making
