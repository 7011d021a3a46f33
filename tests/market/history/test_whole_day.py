"""A whole day of the simulated past drawn at once (``market/history/whole_day.py``): the
same random numbers as Python's generator, the same path to the bit, and for every symbol
of both markets the same hour klines, to the unit, as the minutes summed one by one."""

from __future__ import annotations

import math
import random
import threading

import pytest

from tickerplant.market.history import whole_day
from tickerplant.market.history.path import _TAU_DAYS, _VOL_SIGMA, _VOL_TAU_DAYS, AssetPath, Lru, _tree
from tickerplant.market.history.series import SimulatedPast, aggregate
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.units import DAY_MS, HOUR_MS

NOW = 1_795_000_000_000  # 2026-11-18T08:53:20Z
TODAY = NOW // DAY_MS
ROOT_DAY = 16_436  # the tree's day 0: 2015-01-01
INSTRUMENTS = [i for m in Market for i in catalogue(m, NOW)]


@pytest.mark.parametrize("key", [0, 7, (1 << 32) - 1, 1 << 32, 0xDEADBEEFCAFEBABE, (1 << 64) - 1])
def test_the_uniforms_are_pythons_random_stream(key: int) -> None:
    rng = random.Random(key)
    assert whole_day.uniforms(key, 1000).tolist() == [rng.random() for _ in range(1000)]


@pytest.mark.parametrize("asset", ["BTC", "DOGE", "WIF"])
def test_a_days_minutes_are_the_paths_own_to_the_bit(asset: str) -> None:
    path = AssetPath(11, asset, 0.03)
    for day in (TODAY - 2, TODAY - 400):
        opens, highs, lows, closes, activity = (a.tolist() for a in whole_day.minute_bars(path, day))
        for k in range(24):
            made = [(*bar,) for bar in path.minutes(day * 24 + k)]
            assert made == list(zip(opens[k], highs[k], lows[k], closes[k], activity[k], strict=True))


@pytest.mark.parametrize("index", range(len(INSTRUMENTS)), ids=[i.symbol for i in INSTRUMENTS])
def test_every_symbols_hours_are_its_minutes_summed(index: int) -> None:
    # a fresh past: nothing kept, so the minutes are made one by one
    inst = INSTRUMENTS[index]
    tape = SimulatedPast(INSTRUMENTS, 3, 400.0).tape(inst.symbol)
    day = max(TODAY - 2 - index * 5, inst.onboard_ms // DAY_MS + 1)  # a day it was listed all of
    drawn = tape.day_klines(day)
    assert drawn is not None
    for k, kline in enumerate(drawn):
        hour = day * 24 + k
        assert kline == aggregate(tape.klines(hour), hour * HOUR_MS, (hour + 1) * HOUR_MS - 1)


def test_quiet_minutes_whose_sides_depend_on_their_draw_are_placed_right() -> None:
    # ATOMUSDT has hundreds of minutes a day with one to three trades beyond the pins: each
    # one's number of sides (and so of draws) is known only from its own share's draw
    inst = next(i for i in INSTRUMENTS if i.symbol == "ATOMUSDT")
    tape = SimulatedPast(INSTRUMENTS, 1, 400.0).tape(inst.symbol)
    day = TODAY - 3
    small = [c for k in range(24) for c in tape.counts.minute_counts(day * 24 + k) if 5 <= c <= 7]
    assert len(small) > 100
    drawn = tape.day_klines(day)
    assert drawn is not None
    assert drawn == [aggregate(tape.klines(h), h * HOUR_MS, (h + 1) * HOUR_MS - 1) for h in range(day * 24, day * 24 + 24)]


def test_the_listing_day_is_made_from_its_minutes() -> None:
    inst = next(i for i in INSTRUMENTS if i.symbol == "BTCUSD_270326")
    tape = SimulatedPast(INSTRUMENTS, 1, 400.0).tape(inst.symbol)
    listing_day = inst.onboard_ms // DAY_MS
    assert tape.day_klines(listing_day) is None or listing_day * DAY_MS == inst.onboard_ms
    assert tape.day_klines(listing_day + 1) is not None


def test_a_cold_daily_kline_is_the_one_its_minutes_make() -> None:
    cold = SimulatedPast(INSTRUMENTS, 5, 400.0)
    warm = SimulatedPast(INSTRUMENTS, 5, 400.0)
    day = TODAY - 30
    for hour in range(day * 24, day * 24 + 24):  # the minutes made first: the hours sum them
        warm.klines("SOLUSDT", "1m", hour * HOUR_MS, None, 60, NOW)
    assert cold.klines("SOLUSDT", "1d", day * DAY_MS, None, 1, NOW) == warm.klines(
        "SOLUSDT", "1d", day * DAY_MS, None, 1, NOW
    )
    assert cold.cached()[1] == 24  # the day's hours are kept, drawn at once


def test_a_kept_store_put_to_stays_within_its_bound() -> None:
    kept: Lru[int, int] = Lru(3)
    for i in range(10):
        kept.put(i, i)
    assert len(kept) == 3
    assert kept.get(9, lambda: -1) == 9
    assert kept.get(0, lambda: -1) == -1


def test_a_days_open_and_volatility_are_the_same_asked_alone_or_with_their_block() -> None:
    # a day not kept brings its block (``day_log``/``day_vol``): the same values as one walk
    # down the tree for that day alone
    path = AssetPath(11, "ETH", 0.035)
    days = list(range(TODAY - 100, TODAY + 2))
    random.Random(4).shuffle(days)
    for day in days:
        path.keep_block(day)
        assert path.day_log(day) == _tree(path.key, path.sigma, _TAU_DAYS, day - ROOT_DAY)
        vol_key = path._vol_key
        shift = path._vol_shift
        assert path.day_vol(day) == math.exp(_tree(vol_key, _VOL_SIGMA, _VOL_TAU_DAYS, day - ROOT_DAY) - shift)


def test_threads_draw_their_own_streams() -> None:
    # each thread seeds and draws its own generator (a report or a replay's warm-up may read
    # the past off the loop's thread)
    wrong: list[int] = []

    def draw(base: int) -> None:
        for i in range(300):
            key = (base << 40) + i
            rng = random.Random(key)
            if whole_day.uniforms(key, 50).tolist() != [rng.random() for _ in range(50)]:
                wrong.append(key)

    threads = [threading.Thread(target=draw, args=(base,)) for base in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


def test_a_day_whose_figures_could_leave_an_int64_is_left_to_its_minutes(monkeypatch: pytest.MonkeyPatch) -> None:
    past = SimulatedPast(INSTRUMENTS, 3, 400.0)
    tape = past.tape("DOGEUSD_PERP")
    day = TODAY - 9
    shape = whole_day.Shape(
        tape.key, tape.reference_ticks, tape.inst.tick, tape.inst.step, tape.base_lots, tape.delivery_ms, 0.05,
        tape.quote_factor,
    )  # fmt: skip
    assert whole_day.hour_klines(tape.path, tape.counts, shape, day) is not None
    assert tape.quote_factor is not None
    huge = shape._replace(quote_factor=tape.quote_factor * 8)  # a numerator past 2**63

    def drawn(*_: object) -> None:
        raise AssertionError("a day refused is judged before anything is drawn")

    monkeypatch.setattr(whole_day, "minute_bars", drawn)
    assert whole_day.hour_klines(tape.path, tape.counts, huge, day) is None
