"""The simulated past's draws and price path (``market/history/draws.py``, ``path.py``): a
pure function of the seed and the time, children that aggregate exactly to their parent,
caches that stay within their bounds."""

from __future__ import annotations

import itertools
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from tickerplant.market.history import draws
from tickerplant.market.history.path import AssetPath, Bar

DAY = 20_400  # 2025-11-08, days since the epoch


@given(
    total=st.integers(0, 10**9),
    weights=st.lists(st.floats(0.0, 100.0), min_size=1, max_size=60),
    floor=st.integers(0, 5),
)
def test_split_is_exact_and_keeps_the_floor(total: int, weights: list[float], floor: int) -> None:
    total += floor * len(weights)
    parts = draws.split(total, weights, floor)
    assert sum(parts) == total
    assert min(parts) >= floor


@given(y0=st.floats(-1, 1), y1=st.floats(-1, 1), variance=st.floats(1e-9, 1), u=st.floats(1e-12, 1 - 1e-12))
def test_a_bridge_reaches_beyond_its_ends(y0: float, y1: float, variance: float, u: float) -> None:
    assert draws.bridge_high(y0, y1, variance, u) >= max(y0, y1) - 1e-12
    assert draws.bridge_low(y0, y1, variance, u) <= min(y0, y1) + 1e-12


def test_keyed_draws_are_stable() -> None:
    """Fixed numbers: a change to the draws changes every past, so it shows here."""
    assert draws.name_key(7, "past", "BTC") == draws.name_key(7, "past", "BTC")
    assert draws.mix(1, 2, 3) == 652428288534806038
    assert abs(draws.normal(12345) - draws.normal(12345)) == 0.0
    assert draws.uniform(1) != draws.uniform(2)


def _aggregates_to(parent: Bar, children: list[Bar]) -> None:
    assert children[0].open == parent.open
    assert children[-1].close == parent.close
    assert max(c.high for c in children) == parent.high
    assert min(c.low for c in children) == parent.low
    for a, b in itertools.pairwise(children):
        assert a.close == b.open  # one path: an hour closes where the next opens
    for c in children:
        assert c.low <= min(c.open, c.close) <= max(c.open, c.close) <= c.high


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32), day=st.integers(17_000, 21_000), hour=st.integers(0, 23))
def test_hours_and_minutes_aggregate_to_their_parent(seed: int, day: int, hour: int) -> None:
    path = AssetPath(seed, "BTC", 0.025)
    hours = path.hours(day)
    assert len(hours) == 24
    _aggregates_to(path.day(day), hours)
    minutes = path.minutes(day * 24 + hour)
    assert len(minutes) == 60
    _aggregates_to(hours[hour], minutes)


def test_the_same_seed_draws_the_same_path_in_any_order() -> None:
    a, b = AssetPath(7, "ETH", 0.035), AssetPath(7, "ETH", 0.035)
    later = b.minutes((DAY + 300) * 24 + 5)  # b is asked about another time first
    assert b.minutes(DAY * 24 + 13) == a.minutes(DAY * 24 + 13)
    assert a.minutes((DAY + 300) * 24 + 5) == later
    assert AssetPath(8, "ETH", 0.035).day(DAY) != a.day(DAY)
    assert AssetPath(7, "BTC", 0.035).day(DAY) != a.day(DAY)


def test_the_price_reverts_to_its_reference_over_years() -> None:
    path = AssetPath(3, "BTC", 0.025)
    logs = [path.day_log(d) for d in range(17_000, 21_000, 10)]
    assert max(abs(x) for x in logs) < 1.2  # within a factor of e**1.2 of the reference
    assert max(logs) - min(logs) > 0.2  # and not pinned to it


def test_caches_stay_within_their_bounds() -> None:
    path = AssetPath(1, "SOL", 0.045)
    for day in range(DAY, DAY + 100):
        path.hours(day)
    for hour in range(DAY * 24, DAY * 24 + 900):
        path.minutes(hour)
    kept = path.cached()
    assert kept == (64, 768), kept


def test_gaussians_are_gauss_to_the_bit_and_leave_the_generator_as_it_would() -> None:
    """``draws.gaussians``: the values of as many ``Random.gauss()`` calls, and the generator's
    state after (a pair's second value held or not), whatever was held before."""
    for before in (0, 1, 2, 3):
        for n in (0, 1, 2, 5, 60):
            ours, theirs = random.Random(17), random.Random(17)
            for rng in (ours, theirs):
                for _ in range(before):
                    rng.gauss()
            assert draws.gaussians(ours, n) == [theirs.gauss() for _ in range(n)]
            assert ours.getstate() == theirs.getstate()
            assert [ours.gauss(), ours.random()] == [theirs.gauss(), theirs.random()]
