"""One base asset's simulated price path, anchored to the calendar: days, then hours, then
minutes, each drawn on demand and conditioned on its parent's open, high, low and close.

The path is the log of the price over the asset's reference price (the catalogue's), so the
symbols of one asset (BTCUSDT, BTCUSD_PERP, the BTCUSD quarterlies) move together.

**Days.** ``day_log(d)``, the log-price at the start of UTC day ``d``, is a random-midpoint
tree over ``_SPAN`` days from ``_ROOT_DAY`` (2015-01-01), pinned to 0 at both ends: the
midpoint of an interval of ``s`` days is its ends' mean plus a normal draw keyed by the
node, of standard deviation ``sigma * sqrt(s) / 2`` (Brownian motion's bridge) up to
``_TAU_DAYS``, shrinking beyond it so the price reverts to its reference over a few months
(a long-run deviation of about ``sigma * sqrt(_TAU_DAYS / 2)``, ±20 % for BTC) rather than
wandering off by a factor of ten over years. A value costs one draw per level (15), with no
walk from the listing date: any day is as cheap as any other, and the same whenever asked.
A day's volatility multiplier ``day_vol(d)`` is a second such tree (in the log), so calm
and stormy weeks cluster.

**Within a day.** The day's open and close are ``day_log(d)`` and ``day_log(d + 1)``; its
high and low are drawn from the exact law of a Brownian bridge's extremes. Its 24 hours are
drawn conditioned on those four figures (``_children``): a Brownian path at the hour
boundaries with each hour's own volatility (the intraday and weekly cycle times a
log-normal mood), bent into a bridge from the day's open to its close; each hour's high and
low from the bridge law; then one monotone, piecewise-linear map of the log-price that
keeps the open and close and puts the highest high on the day's high and the lowest low on
its low. A monotone map keeps every hour's high above its open and close, so the hours
aggregate to exactly the day. An hour's sixty minutes are drawn from the hour the same way,
with log-normal minute volatilities: heavy tails in the minute returns, volatility
clustered by the shared hour and day.

Each node carries an activity figure alongside its prices (``Bar.activity``): how busy it
is relative to its siblings, larger where its volatility is, so volume follows |returns|.

Hours and minutes are kept in a bounded LRU (``_DAYS_KEPT`` days of hours, ``_HOURS_KEPT``
hours of minutes, ``_DAY_VALUES_KEPT`` days' opens and volatilities); anything dropped is
drawn again, identically, when asked.
"""

from __future__ import annotations

import math
import random
from collections import OrderedDict
from collections.abc import Callable, Generator, Hashable, Iterator, Sequence
from typing import Generic, NamedTuple, TypeVar

from tickerplant.market.history.draws import (
    bridge_high,
    bridge_low,
    gaussians,
    mix,
    name_key,
    normal,
    stream,
    uniform,
)  # fmt: skip

__all__ = ["AssetPath", "Bar", "Lru", "drained", "hour_activity"]

_new = tuple.__new__  # a Bar without its NamedTuple's generated Python __new__ (1,440 a cold day)

_ROOT_DAY = 16_436  # 2015-01-01, days since the epoch: before any listing
_SPAN = 1 << 14  # days the tree covers (to 2059)
_TAU_DAYS = 60.0  # beyond this span the price reverts rather than wanders
_VOL_SIGMA = 0.12  # the day volatility's log, per sqrt(day)
_VOL_TAU_DAYS = 16.0
_HOUR_MOOD = 0.45  # stdev of an hour's log-volatility about its cycle
MINUTE_MOOD = 0.55  # stdev of a minute's log-volatility about its hour's
RANGE_SD = 1.6  # a Brownian bridge's expected range, in standard deviations
_DAYS_KEPT = 64
# 32 days of an asset's hours of minutes (~12.6 kB an hour: at most ~9.7 MB an asset): a
# backtest's 30 days of klines, then its mark klines, read the same 720 hours twice in
# order, and at 512 the second pass drew every hour again (an LRU scanned in order past its
# size keeps none of what comes next): a fifth of the read's time
_HOURS_KEPT = 768
_DAY_VALUES_KEPT = 4096
_DAY_BLOCK = 32  # days whose opens and volatilities are drawn together

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Lru(Generic[K, V]):
    """At most ``size`` values, the least recently used dropped first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._held: OrderedDict[K, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._held)

    def __contains__(self, key: K) -> bool:
        return key in self._held

    def get(self, key: K, make: Callable[[], V]) -> V:
        held = self._held
        value = held.get(key)
        if value is None:
            value = held[key] = make()
            if len(held) > self.size:
                held.popitem(last=False)
        else:
            held.move_to_end(key)
        return value

    def clear(self) -> None:
        self._held.clear()

    def discard(self, key: K) -> None:
        """``key``'s value let go, if held."""
        self._held.pop(key, None)

    def put(self, key: K, value: V) -> None:
        """``value`` kept at ``key``, the most recently used."""
        held = self._held
        held[key] = value
        held.move_to_end(key)
        if len(held) > self.size:
            held.popitem(last=False)


def drained(pieces: Generator[object, None, V]) -> V:
    """What a thing made a piece at a time returns, every piece made at once."""
    while True:
        try:
            next(pieces)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


class Bar(NamedTuple):
    """A node of the path: log-prices over the reference, and how busy it is."""

    open: float
    high: float
    low: float
    close: float
    activity: float  # relative to its siblings; its children's counts are split by theirs


def hour_activity(hour_of_week: int) -> float:
    """The intraday and weekly cycle of activity, mean about 1: busiest around 15:00 UTC
    (Europe and America both open), quietest around 03:00; weekends at two thirds."""
    day, hour = divmod(hour_of_week, 24)
    weekend = day >= 5  # hour_of_week 0 is Monday 00:00 UTC
    return (1.0 + 0.45 * math.cos(2.0 * math.pi * (hour - 15) / 24.0)) * (0.66 if weekend else 1.12)


class AssetPath:
    """The price path of one base asset for one seed (see the module docstring)."""

    def __init__(self, seed: int, asset: str, daily_volatility: float) -> None:
        self.sigma = daily_volatility
        self.key = name_key(seed, "past", asset)
        self._vol_key = name_key(seed, "past-vol", asset)
        self._hours: Lru[int, list[Bar]] = Lru(_DAYS_KEPT)
        self._minutes: Lru[int, list[Bar]] = Lru(_HOURS_KEPT)
        self._logs: Lru[int, float] = Lru(_DAY_VALUES_KEPT)
        self._vols: Lru[int, float] = Lru(_DAY_VALUES_KEPT)
        # E[v**2] = 1 for the day multiplier: its log has about this stationary variance
        self._vol_shift = _VOL_SIGMA**2 * _VOL_TAU_DAYS / 2.0

    def forget_minutes(self) -> None:
        """Its hours' minutes let go (``SimulatedPast.forget_minutes``)."""
        self._minutes.clear()

    def cached(self) -> tuple[int, int]:
        """How many days of hours and hours of minutes are kept (each bounded)."""
        return len(self._hours), len(self._minutes)

    # -- days ---------------------------------------------------------------------------

    def day_log(self, day: int) -> float:
        """The log-price at 00:00 UTC of ``day`` (days since the epoch)."""
        return self._logs.get(day, lambda: _tree(self.key, self.sigma, _TAU_DAYS, day - _ROOT_DAY))

    def day_vol(self, day: int) -> float:
        """The volatility multiplier of ``day``; its square averages about 1."""
        def make() -> float:
            log_vol = _tree(self._vol_key, _VOL_SIGMA, _VOL_TAU_DAYS, day - _ROOT_DAY)
            return math.exp(log_vol - self._vol_shift)

        return self._vols.get(day, make)

    def keep_block(self, day: int) -> None:
        """The opens (to the next block's first) and volatilities of the ``_DAY_BLOCK`` days
        around ``day``, kept, each node of the trees drawn once: a cold day drawn whole
        (``whole_day``) is most often one of a row, and a day alone walks 15 levels of each
        tree twice. The same values as ``day_log`` and ``day_vol`` make one by one."""
        if day in self._logs and day + 1 in self._logs and day in self._vols:
            return
        first = day - day % _DAY_BLOCK
        at = first - _ROOT_DAY
        for i, value in enumerate(_tree_range(self.key, self.sigma, _TAU_DAYS, at, at + _DAY_BLOCK)):
            self._logs.put(first + i, value)
        for i, value in enumerate(self.day_vols(first, first + _DAY_BLOCK - 1)):
            self._vols.put(first + i, value)

    def day_vols(self, first: int, last: int) -> list[float]:
        """``day_vol`` of each day from ``first`` to ``last`` (inclusive), the same values,
        made in one pass of the tree (each node drawn once, not once per day under it): a
        tape's counts draw a block of days at once (``counts.TradeCounts``)."""
        logs = _tree_range(self._vol_key, _VOL_SIGMA, _VOL_TAU_DAYS, first - _ROOT_DAY, last - _ROOT_DAY)
        shift = self._vol_shift
        return [math.exp(log_vol - shift) for log_vol in logs]

    def day(self, day: int) -> Bar:
        """``day``'s bar: open and close from the tree, high and low from the bridge law."""
        o, c = self.day_log(day), self.day_log(day + 1)
        vol = self.day_vol(day)
        variance = (self.sigma * vol) ** 2
        key = mix(self.key, day, 7)
        h = bridge_high(o, c, variance, uniform(key))
        low = bridge_low(o, c, variance, uniform(mix(key, 1)))
        return Bar(o, h, low, c, vol)

    # -- hours and minutes -----------------------------------------------------------------

    def hours(self, day: int) -> list[Bar]:
        """The 24 hours of ``day``, aggregating exactly to ``day(day)``."""
        return self._hours.get(day, lambda: self._draw_hours(day))

    def minutes(self, hour: int) -> list[Bar]:
        """The 60 minutes of ``hour`` (hours since the epoch), aggregating to that hour."""
        return self._minutes.get(hour, lambda: self._draw_minutes(hour))

    def minute(self, minute: int) -> Bar:
        """One minute (minutes since the epoch)."""
        return self.minutes(minute // 60)[minute % 60]

    def minute_pieces(self, first: int, count: int) -> Iterator[None]:
        """The hours holding ``count`` minutes from ``first`` drawn, a cold hour a piece
        (~1 ms: a funding interval's marks read nine): it yields after each it drew."""
        for hour in range(first // 60, (first + count - 1) // 60 + 1):
            if hour not in self._minutes:
                self.minutes(hour)
                yield

    def _draw_hours(self, day: int) -> list[Bar]:
        rng = stream(mix(self.key, day, 24))
        first = (day - 4) % 7 * 24  # the epoch was a Thursday; hour 0 of the week a Monday
        cycle = [hour_activity(first + h) for h in range(24)]
        moods = [math.exp(_HOUR_MOOD * g) for g in gaussians(rng, 24)]
        vols = [math.sqrt(a) * m for a, m in zip(cycle, moods, strict=True)]
        activity = [a * m**1.2 for a, m in zip(cycle, moods, strict=True)]
        return _children(self.day(day), vols, activity, rng)

    def _draw_minutes(self, hour: int) -> list[Bar]:
        parent = self.hours(hour // 24)[hour % 24]
        rng = stream(mix(self.key, hour, 60))
        vols = [math.exp(MINUTE_MOOD * g) for g in gaussians(rng, 60)]
        return _children(parent, vols, [v**1.2 for v in vols], rng)


def _midpoint(key: int, sigma: float, tau: float, a: int, b: int, xa: float, xb: float) -> tuple[int, float]:
    """The random-midpoint tree's node between ``a`` and ``b`` (values ``xa``, ``xb``): its
    index and its value, drawn by the key, the index and the span alone."""
    m = (a + b) // 2
    s = float(b - a)
    sd = sigma * math.sqrt(min(s, tau)) / 2.0
    if s > tau:
        sd *= math.sqrt(tau / s)
    return m, (xa + xb) / 2.0 + sd * normal(mix(key, m, b - a))


def _tree(key: int, sigma: float, tau: float, index: int) -> float:
    """The random-midpoint tree's value at ``index`` in [0, _SPAN] (0 at both ends)."""
    if not 0 <= index <= _SPAN:
        return 0.0
    a, b, xa, xb = 0, _SPAN, 0.0, 0.0
    while b - a > 1:
        m, xm = _midpoint(key, sigma, tau, a, b, xa, xb)
        if index < m:
            b, xb = m, xm
        elif index > m:
            a, xa = m, xm
        else:
            return xm
    return xa if index == a else xb


def _tree_range(key: int, sigma: float, tau: float, lo: int, hi: int) -> list[float]:
    """``_tree``'s values at ``lo`` to ``hi`` (inclusive), computed exactly as it does them
    (the same draws, the same arithmetic in the same order), each node once."""
    out: list[float] = []

    def walk(a: int, b: int, xa: float, xb: float, lo: int, hi: int) -> None:
        # the indices of [lo, hi] within [a, b), which holds them (b's is the next node's a)
        if b - a <= 1:
            out.append(xa)  # lo == hi == a
            return
        m, xm = _midpoint(key, sigma, tau, a, b, xa, xb)
        if lo < m:
            walk(a, m, xa, xm, lo, min(hi, m - 1))
        if hi >= m:
            walk(m, b, xm, xb, max(lo, m), hi)

    inside_lo, inside_hi = max(lo, 0), min(hi, _SPAN)
    out.extend(0.0 for _ in range(lo, min(hi + 1, 0)))  # before the tree: 0, as _tree says
    if inside_lo <= inside_hi:
        walk(0, _SPAN, 0.0, 0.0, inside_lo, min(inside_hi, _SPAN - 1))
        if inside_hi == _SPAN:
            out.append(0.0)
    out.extend(0.0 for _ in range(max(lo, _SPAN + 1), hi + 1))
    return out


def _children(parent: Bar, vols: Sequence[float], activity: Sequence[float], rng: random.Random) -> list[Bar]:
    """``len(vols)`` consecutive bars that aggregate exactly to ``parent``: a bridge from its
    open to its close with the children's relative volatilities ``vols``, their extremes
    from the bridge law, then one monotone map onto the parent's high and low."""
    o, h, low, c = parent.open, parent.high, parent.low, parent.close
    n = len(vols)
    total = c - o
    scale = (h - low) / RANGE_SD
    weight = math.sqrt(sum(v * v for v in vols)) or 1.0
    sds = [scale * v / weight for v in vols]
    # the free path at the boundaries, then bent into the bridge that ends at `total`
    points = [0.0]
    variances = [0.0]
    for sd, g in zip(sds, gaussians(rng, n), strict=True):
        points.append(points[-1] + sd * g)
        variances.append(variances[-1] + sd * sd)
    end, whole = points[-1], variances[-1] or 1.0
    for i in range(1, n):
        points[i] -= (end - total) * variances[i] / whole
    points[-1] = total
    # each child's extremes by the bridge law (``bridge_high``, ``bridge_low``), written out
    # with the same arithmetic in the same order (a cold day draws 2,880): the highs' uniforms
    # first, then the lows'
    random_, log, sqrt = rng.random, math.log, math.sqrt
    squares = [sd**2 for sd in sds]
    steps = [(points[i], points[i + 1] - points[i], squares[i]) for i in range(n)]
    highs = [y0 + (d + sqrt(d * d - 2.0 * v * log(random_() or 0.5))) / 2.0 for y0, d, v in steps]
    lows = [y0 + (d - sqrt(d * d - 2.0 * v * log(random_() or 0.5))) / 2.0 for y0, d, v in steps]
    top, bottom = max(highs), min(lows)
    upper, lower = max(0.0, total), min(0.0, total)
    up = (h - o - upper) / (top - upper) if top > upper else 0.0
    down = (low - o - lower) / (bottom - lower) if bottom < lower else 0.0

    def bend(x: float) -> float:
        if x > upper:
            return o + upper + (x - upper) * up
        if x < lower:
            return o + lower + (x - lower) * down
        return o + x

    marks = [bend(x) for x in points]
    marks[0], marks[-1] = o, c
    i_top, i_bottom = highs.index(top), lows.index(bottom)
    bars = []
    for i in range(n):
        hi = h if i == i_top else max(bend(highs[i]), marks[i], marks[i + 1])
        lo = low if i == i_bottom else min(bend(lows[i]), marks[i], marks[i + 1])
        bars.append(_new(Bar, (marks[i], hi, lo, marks[i + 1], activity[i])))
    return bars
