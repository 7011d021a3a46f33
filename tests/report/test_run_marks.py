"""``report/run_marks.py``: what a run samples to mark its report's positions at, taking
the time as an argument: the venue's mark at each trade and mark message, the first of an
interval and the last, bounded however long the run; and each symbol's mark when it ends."""

from __future__ import annotations

import itertools
from fractions import Fraction
from types import SimpleNamespace

from tickerplant.market.messages import StreamMessage
from tickerplant.report.rows import PricePoint
from tickerplant.report.run_marks import RunMarks


def engine(prices: dict[str, Fraction | None]) -> SimpleNamespace:
    return SimpleNamespace(
        agg_trade_streams={"btcusdt@aggTrade": "BTCUSDT"}, exposure=SimpleNamespace(marks={"btcusdt@markState": "BTCUSDT"}),
        instruments={"BTCUSDT": SimpleNamespace(price_decimals=2)}, mark=prices.get,
    )  # fmt: skip


def test_the_first_mark_of_each_minute_and_the_last_are_kept_in_price_units() -> None:
    prices: dict[str, Fraction | None] = {"BTCUSDT": None}
    marks = RunMarks([engine(prices)])  # type: ignore[list-item]
    trade, mark, other = (StreamMessage(s, b"{}") for s in ("btcusdt@aggTrade", "btcusdt@markState", "eth@x"))
    marks.heard([trade], 1_000)  # no mark yet: nothing
    prices["BTCUSDT"] = Fraction(4_200_005, 100)
    marks.heard([other], 2_000)
    marks.heard([trade], 3_000)
    marks.heard([mark], 30_000)  # the same minute: only kept as the last
    prices["BTCUSDT"] = Fraction(43_000)
    marks.heard([trade], 61_000)
    marks.heard([mark], 90_000)
    prices["BTCUSDT"] = Fraction(4_300_000_000_001, 10**8)  # a recording's 8 decimals: kept exact
    marks.heard([mark], 95_000)
    assert marks.points() == [
        PricePoint(3_000, "BTCUSDT", 4_200_005), PricePoint(61_000, "BTCUSDT", 4_300_000),
        PricePoint(95_000, "BTCUSDT", Fraction(4_300_000_000_001, 10**6)),
    ]  # fmt: skip
    assert type(marks.points()[0].price) is int  # a mark at a tick: its price units


def test_a_long_run_is_sampled_more_coarsely_rather_than_kept_whole() -> None:
    marks = RunMarks([engine({"BTCUSDT": Fraction(1)})], most=100)  # type: ignore[list-item]
    trade = StreamMessage("btcusdt@aggTrade", b"{}")
    for minute in range(10_000):
        marks.heard([trade], minute * 60_000)
    points = marks.points()
    assert len(points) <= 101 and points[-1].time_ms == 9_999 * 60_000  # the last is always there
    gaps = {b.time_ms - a.time_ms for a, b in itertools.pairwise(points[:-1])}  # the kept, the last apart
    assert len(gaps) == 1 and gaps.pop() > 60_000  # evenly, coarser


def test_each_symbols_mark_when_the_run_ends_is_its_last_point() -> None:
    prices: dict[str, Fraction | None] = {"BTCUSDT": Fraction(42_000)}
    marks = RunMarks([engine(prices)])  # type: ignore[list-item]
    marks.heard([StreamMessage("btcusdt@aggTrade", b"{}")], 1_000)
    prices["BTCUSDT"] = Fraction(4_206_505, 100)  # the book's mid moved: no trade nor mark since
    ended = marks.at_end()
    prices["BTCUSDT"] = Fraction(1)  # after the end: not read
    assert marks.points(5_000, ended) == [PricePoint(1_000, "BTCUSDT", 4_200_000), PricePoint(5_000, "BTCUSDT", 4_206_505)]
    # a replay that ended before the run did: nothing after its end, the end's mark at it
    assert marks.points(900, ended) == [PricePoint(900, "BTCUSDT", 4_206_505)]
