"""Mark-, index- and premium-index klines (market/klines/price_candles.py): 1-minute bars of the
sampled prices, and every interval aggregated from them, checked against a direct
computation over the samples of each interval."""

from __future__ import annotations

import random

import msgspec
import pytest

from tickerplant.market.derivatives.mark_state import MarkStateView
from tickerplant.market.derivatives.mark_streams import MarkState, internal_names
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.klines.candles import INTERVALS, close_time, open_time
from tickerplant.market.klines.price_candles import MINUTES, PriceBar, PriceBars, PriceKind, premium_units
from tickerplant.market.units import MINUTE_MS, fixed

T0 = 1_767_225_600_000  # 2026-01-01T00:00Z


def samples(seconds: int, seed: int = 7) -> list[tuple[int, int, int, int]]:
    """(time, mark, index, premium) once a second, a random walk."""
    rng = random.Random(seed)
    mark, index = 9_000_000_000_000, 9_000_000_000_000
    out = []
    for s in range(seconds):
        mark += rng.randint(-50_000_000, 50_000_000)
        index += rng.randint(-50_000_000, 50_000_000)
        out.append((T0 + s * 1000 + rng.randint(0, 999), mark, index, premium_units(mark, index)))
    return out


def direct(rows: list[tuple[int, int, int, int]], kind: PriceKind, interval: str) -> list[PriceBar]:
    """Each interval's OHLC and count computed straight from its samples."""
    grouped: dict[int, list[int]] = {}
    for row in rows:
        grouped.setdefault(open_time(interval, row[0]), []).append(row[1 + kind])
    return [
        PriceBar(start, close_time(interval, start), v[0], max(v), min(v), v[-1], len(v))
        for start, v in sorted(grouped.items())
    ]


def test_premium_is_mark_over_index_less_one_half_up() -> None:
    assert premium_units(101, 100) == 1_000_000
    assert premium_units(99, 100) == -1_000_000
    assert premium_units(3, 3) == 0
    assert premium_units(200_000_001, 300_000_000) == -33_333_333  # -0.333333330, half up away
    assert premium_units(1, 0) == 0


@pytest.mark.parametrize("interval", INTERVALS)
@pytest.mark.parametrize("kind", list(PriceKind))
def test_every_interval_equals_a_direct_computation(interval: str, kind: PriceKind) -> None:
    rows = samples(3 * 3600 + 17)  # three hours and a bit: partial first and last bars
    bars = PriceBars()
    for row in rows:
        bars.add(*row)
    assert len(bars) == 3 * 60 + 1
    assert bars.query(kind, interval, None, None, 1500) == direct(rows, kind, interval)


def test_a_whole_minute_counts_sixty_samples() -> None:
    bars = PriceBars()
    for row in samples(120):
        bars.add(*row)
    assert [b.samples for b in bars.query(PriceKind.MARK, "1m", None, None, 10)] == [60, 60]


def test_start_end_and_limit_select_as_klines_do() -> None:
    rows = samples(30 * 60)
    bars = PriceBars()
    for row in rows:
        bars.add(*row)
    every = direct(rows, PriceKind.INDEX, "1m")
    q = bars.query
    assert q(PriceKind.INDEX, "1m", None, None, 5) == every[-5:]
    assert q(PriceKind.INDEX, "1m", T0 + 10 * MINUTE_MS, None, 3) == every[10:13]
    assert q(PriceKind.INDEX, "1m", T0 + 10 * MINUTE_MS + 1, None, 3) == every[11:14]  # open >= start
    assert q(PriceKind.INDEX, "1m", None, T0 + 10 * MINUTE_MS, 4) == every[7:11]
    assert q(PriceKind.INDEX, "1m", T0, T0 + 2 * MINUTE_MS, 500) == every[:3]
    assert q(PriceKind.INDEX, "5m", T0 + 60_000, None, 500) == direct(rows, PriceKind.INDEX, "5m")[1:]
    assert q(PriceKind.INDEX, "1m", T0 + 31 * MINUTE_MS, None, 5) == []


def test_the_ring_keeps_the_last_minutes_and_never_grows() -> None:
    bars = PriceBars(capacity=10)
    for minute in range(25):
        bars.add(T0 + minute * MINUTE_MS, minute, minute, 0)
    assert len(bars) == 10
    got = bars.query(PriceKind.MARK, "1m", None, None, 1500)
    assert [b.open for b in got] == list(range(15, 25))
    assert [b.open_ms for b in bars.query(PriceKind.MARK, "5m", None, None, 1500)] == [
        T0 + 15 * MINUTE_MS,
        T0 + 20 * MINUTE_MS,
    ]
    bars.add(T0, 99, 99, 99)  # older than the newest minute: dropped
    assert bars.query(PriceKind.MARK, "1m", None, None, 1)[0].close == 24
    assert PriceBars().capacity == MINUTES == 1500


def test_the_view_samples_each_mark_state() -> None:
    instruments = catalogue(Market.UM, T0)
    view = MarkStateView(instruments)
    stream, _ = internal_names("BTCUSDT")
    rows = samples(180)
    for t, mark, index, _premium in rows:
        state = MarkState(
            "BTCUSDT", t, fixed(mark, 8), fixed(index, 8), fixed(index, 8), "0.00010000", "0.00010000", 0
        )
        view.receive(stream, msgspec.json.encode(state))
    bars = view.bars("BTCUSDT")
    assert bars is not None
    for kind in PriceKind:
        assert bars.query(kind, "1m", None, None, 500) == direct(rows, kind, "1m")
    empty = view.bars("ETHUSDT")
    assert empty is not None and len(empty) == 0
