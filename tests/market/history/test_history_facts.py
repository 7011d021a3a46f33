"""Stylized facts of the simulated past (``market/history``), measured on a week of BTCUSDT's
minutes and two months of its day and hour counts: heavy tails, no linear memory in returns,
volatility clustering, volume with |returns|, the intraday and the weekly cycle."""

from __future__ import annotations

import itertools
import math
import statistics

import pytest

from tickerplant.market.history.series import SimulatedPast
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.units import DAY_MS

NOW = 1_795_000_000_000
PAST = SimulatedPast([i for m in Market for i in catalogue(m, NOW)], seed=11, actions_per_s=400.0)


def _acf(x: list[float], lag: int) -> float:
    mean = statistics.fmean(x)
    var = sum((a - mean) ** 2 for a in x)
    return sum((x[i] - mean) * (x[i + lag] - mean) for i in range(len(x) - lag)) / var


@pytest.fixture(scope="module")
def week() -> tuple[list[float], list[int]]:
    """A week of BTCUSDT's minute returns and volumes: drawn once, by the worker that runs
    the tests that read it (at import, every xdist worker drew it while collecting)."""
    start = NOW - 8 * DAY_MS
    klines = []
    while len(klines) < 7 * 1440:
        klines += PAST.klines("BTCUSDT", "1m", start, None, 1500, NOW)
        start = klines[-1].close_ms + 1
    returns = [math.log(b.close / a.close) for a, b in itertools.pairwise(klines)]
    return returns, [k.volume for k in klines[1:]]


def test_minute_returns_have_heavy_tails(week: tuple[list[float], list[int]]) -> None:
    returns = week[0]
    mean, var = statistics.fmean(returns), statistics.pvariance(returns)
    kurtosis = sum((r - mean) ** 4 for r in returns) / len(returns) / var**2
    assert kurtosis > 6, kurtosis


def test_returns_have_no_linear_memory_but_their_size_clusters(week: tuple[list[float], list[int]]) -> None:
    returns = week[0]
    assert all(abs(_acf(returns, lag)) < 0.1 for lag in range(1, 6))
    sizes = [abs(r) for r in returns]
    assert all(_acf(sizes, lag) > 0.1 for lag in range(1, 6))


def test_volume_goes_with_the_size_of_returns(week: tuple[list[float], list[int]]) -> None:
    returns, volumes = week
    assert statistics.correlation([abs(r) for r in returns], [float(v) for v in volumes]) > 0.2


def test_activity_follows_the_day_and_the_week() -> None:
    tape = PAST.tape("BTCUSDT")
    first = NOW // DAY_MS - 56
    days = range(first, first + 56)
    hours = [tape.counts.hour_counts(d) for d in days]
    busy = statistics.fmean(h[i] for h in hours for i in range(13, 18))
    quiet = statistics.fmean(h[i] for h in hours for i in range(2, 6))
    assert busy > 1.5 * quiet
    weekend = statistics.fmean(tape.day_count(d) for d in days if (d + 3) % 7 >= 5)
    weekday = statistics.fmean(tape.day_count(d) for d in days if (d + 3) % 7 < 5)
    assert weekend < 0.8 * weekday
