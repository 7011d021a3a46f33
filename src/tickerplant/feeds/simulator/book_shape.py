"""The shape of a deep simulated book: where its levels sit and how much rests on each.

A real futures book is dense near the touch (a level at every tick on the liquid
symbols), sparser further out, and holds more the further it is from the touch. Here:

**Spacing.** The gap from one level to the next one out is ``1 + int(Exp(d / D))`` ticks,
``d`` the level's distance from the touch in ticks, so about ``D * ln(1 + S / D)`` levels
lie within ``S`` ticks. Each instrument's ``D`` makes ``TARGET_LEVELS`` levels (or the
book's depth, if deeper) reach ``SPAN`` (0.5 %) of its price: BTCUSDT's 0.10 tick is about
a millionth of the price, so its first levels are a tick apart and those 1 % out (where
its built book ends) some thirty. Where the tick is so coarse that ``TARGET_LEVELS`` ticks
already span more than that (most altcoins), every tick holds a level, as on Binance. A
shallower book (a smaller ``levels``) is the first levels of the same profile: its touch
looks the same.

**Sizes.** The value resting per unit of relative distance ``x`` from the touch grows like
``x ** 0.25`` out to 1 % and is flat beyond, scaled so that the value expected within 1 % of
the touch, per side, is ``_DEPTH_VALUE * activity`` (BTCUSDT: some 300 BTC a side). A level
holds that density times the price span it covers (its gap), times a heavy-tailed noise of
mean 1: now and then a wall. The best level holds the queue: ``_TOUCH_VALUE * activity`` on
average (BTCUSDT: several BTC).

**Depth is kept lazily.** A book of ``levels`` levels a side is built with ``initial``
levels a side, a margin more. The simulator adds a level beyond the far end of a side
thinner than ``low`` (up to ``REFILL`` per action) and drops the farthest level of a side
deeper than ``high``: a bounded amount of work per action, never a rebuild, so the cost of
an action does not grow with the depth. The margin (150 levels at the default depth; 45 at
any depth up to 300) absorbs the sweeps and cancels between refills, so a side never
falls under ``levels``.

So a side's levels are bounded by design: ``high`` plus the few one action adds before
``keep_depth`` trims them (at most ``high + 2 * REFILL``; 1,350 at the default depth).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from tickerplant.feeds.simulator.order_flow import lot_value
from tickerplant.feeds.simulator.simulated_book import SimulatedBook
from tickerplant.market.instruments import Instrument
from tickerplant.market.messages import PARTIAL_DEPTH_LEVELS
from tickerplant.market.updates import Level

__all__ = ["MIN_LEVELS", "REFILL", "TARGET_LEVELS", "BookShape"]

TARGET_LEVELS = 1_000  # the default depth: a full limit=1000 answer (spec §4.11)
MIN_LEVELS = PARTIAL_DEPTH_LEVELS[-1]  # the least depth: partial depth (@depth20) stays full
REFILL = 4  # levels added (or dropped) per action at most, per side
# The margin over the depth, in steps of max(levels, _MARGIN_FLOOR) / 20 levels: a side is
# built 5 steps deeper, refilled under 3 steps deeper, trimmed over 7; a side whose far end
# is nearer than the profile puts the level 2 steps deeper, or further than 9, is too narrow
# or too wide for its count. At 1,000 levels: 1,250 built, kept within 1,150..1,350.
_MARGIN_FLOOR = 300
_LOW_STEPS, _INITIAL_STEPS, _HIGH_STEPS = 3, 5, 7
_REACH_STEPS = (2, 9)

SPAN = 0.005  # TARGET_LEVELS levels reach this far from the touch, as a fraction of the price
_VALUE_SPAN = 0.01  # the resting density grows like distance ** _GROWTH out to here
_GROWTH = 0.25
_DEPTH_VALUE = 900_000.0  # expected value within _VALUE_SPAN per side, per unit of activity
_TOUCH_VALUE = 15_000.0  # expected value at the touch, per unit of activity
_QUOTE_SHARE = 0.4  # a maker's quote, as a share of the touch value
_WALL_INDEX = 3.0  # tail index of the level-size noise
_NEG_INV_WALL = -1.0 / _WALL_INDEX


def _gap_scale_inverse(span_ticks: float, levels: int) -> float:
    """``1 / D`` such that ``D * ln(1 + span / D) == levels``; 0 (every tick) if none does."""
    if span_ticks <= levels:
        return 0.0
    lo, hi = 1e-9, 1.0
    while math.log1p(span_ticks * hi) / hi > levels:
        hi *= 2.0
    for _ in range(60):  # levels(D) falls as 1/D grows: bisect on 1/D
        mid = (lo + hi) / 2
        if math.log1p(span_ticks * mid) / mid > levels:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


class BookShape:
    """One instrument's book profile: gaps between levels and the quantity each holds."""

    __slots__ = (
        "_cap_ticks",
        "_lot_units",
        "_per_tick_lots",
        "_reach",
        "_reach_high",
        "_reach_low",
        "_span_high",
        "_span_low",
        "_touch_lots",
        "high",
        "initial",
        "inv_gap_scale",
        "levels",
        "low",
        "tick",
    )

    def __init__(self, inst: Instrument, levels: int = TARGET_LEVELS) -> None:
        if levels < MIN_LEVELS:
            raise ValueError(f"a simulated book holds at least {MIN_LEVELS} levels a side, not {levels}")
        self.tick = inst.tick
        self.levels = levels  # every side holds at least this many
        step = max(levels, _MARGIN_FLOOR) // 20
        self.low = levels + _LOW_STEPS * step  # a side thinner than this is refilled
        self.initial = levels + _INITIAL_STEPS * step  # levels a side at the start
        self.high = levels + _HIGH_STEPS * step  # a side deeper than this is trimmed
        tick_fraction = inst.tick / inst.initial_price
        self.inv_gap_scale = _gap_scale_inverse(SPAN / tick_fraction, max(levels, TARGET_LEVELS))
        lots_per_value = 1.0 / lot_value(inst)
        activity = max(inst.activity, 1e-6)
        # density(x) = a * x**g with a * _VALUE_SPAN**(1+g) / (1+g) = depth value; per tick of
        # distance d that is a * (d * tick_fraction)**g * tick_fraction
        a = _DEPTH_VALUE * activity * (1 + _GROWTH) / _VALUE_SPAN ** (1 + _GROWTH)
        self._per_tick_lots = a * tick_fraction ** (1 + _GROWTH) * lots_per_value
        self._cap_ticks = _VALUE_SPAN / tick_fraction
        self._touch_lots = _TOUCH_VALUE * activity * lots_per_value
        self._lot_units = inst.step
        self._reach_low = self.distance_of(levels + _REACH_STEPS[0] * step)
        self._reach = self.distance_of(self.initial)
        self._reach_high = self.distance_of(levels + _REACH_STEPS[1] * step)
        self._span_low = self._reach_low * self.tick  # the same in price units
        self._span_high = self._reach_high * self.tick

    def gap(self, distance: int, u: float) -> int:
        """Ticks from a level ``distance`` ticks from the touch to the next one out."""
        mean = distance * self.inv_gap_scale
        return 1 + int(-math.log(1.0 - u) * mean) if mean > 0 else 1

    def level_qty(self, distance: int, gap: int, u: float) -> int:
        """The quantity (units) resting at a level ``distance`` ticks out, covering ``gap``."""
        d = distance if distance < self._cap_ticks else self._cap_ticks
        noise = (_WALL_INDEX - 1) * ((1.0 - u) ** _NEG_INV_WALL - 1.0)  # mean 1
        lots = self._per_tick_lots * (d if d > 1 else 1) ** _GROWTH * gap * noise
        return (1 + int(lots)) * self._lot_units

    def touch_qty(self, u: float) -> int:
        """A queue at the best price (units): exponential around the touch value."""
        return (1 + int(-math.log(1.0 - u) * self._touch_lots)) * self._lot_units

    def quote_qty(self, u: float) -> int:
        """One maker's quote at or in front of the touch (units): a share of the queue."""
        return (1 + int(-math.log(1.0 - u) * self._touch_lots * _QUOTE_SHARE)) * self._lot_units

    def side(self, best: int, is_bid: bool, count: int, random: Callable[[], float]) -> list[Level]:
        """``count`` levels from ``best`` outward (fewer if bids reach a price of 0)."""
        return list(map(Level, *self.side_columns(best, is_bid, count, random)))

    def side_columns(
        self, best: int, is_bid: bool, count: int, random: Callable[[], float]
    ) -> tuple[list[int], list[int]]:
        """``side``'s prices and quantities, a list each, what a book is loaded from: every
        server's start builds both sides of every book, and a ``Level`` made a level was a
        good part of the time."""
        tick = self.tick
        sign = -1 if is_bid else 1
        gap_of, qty_of = self.gap, self.level_qty
        prices, qtys = [best], [self.touch_qty(random())]
        distance = 0
        while len(prices) < count:
            gap = gap_of(distance, random())
            distance += gap
            price = best + sign * distance * tick
            if price < tick:
                break
            prices.append(price)
            qtys.append(qty_of(distance, gap, random()))
        return prices, qtys

    def distance_of(self, index: float) -> float:
        """The distance (ticks) from the touch at which the profile puts level ``index``."""
        inv = self.inv_gap_scale
        return index if inv == 0 else math.expm1(index * inv) / inv

    def keep_depth(
        self, book: SimulatedBook, random: Callable[[], float], changed: tuple[list[int], list[int]]
    ) -> None:
        """One bounded step toward the profile for each side of ``book`` that strays from
        it; appends the prices it sets to ``changed`` (asks, bids). Levels only the venue's
        orders hold are not the simulator's to count or trim (``simulated_book.py``)."""
        least, most = self.low, self.high
        low, high = self._span_low, self._span_high
        count, first, last = book.own_span(True)
        if not (least <= count <= most and low <= last - first <= high):
            self._keep_side(book, True, random, changed[1])
        count, first, last = book.own_span(False)
        if not (least <= count <= most and low <= last - first <= high):
            self._keep_side(book, False, random, changed[0])

    def _keep_side(
        self, book: SimulatedBook, is_bid: bool, random: Callable[[], float], changed: list[int]
    ) -> None:
        """A short side grows (beyond its far end if that is near, else inside, where the
        profile wants levels); a long or too wide side loses its farthest levels; a side
        too narrow for its count (a trend packed it) moves a level from inside to beyond
        its far end."""
        prices = book.own_prices(is_bid)  # the live list while the venue holds nothing there
        count = len(prices)
        if not count:
            return
        best, far = (prices[-1], prices[0]) if is_bid else (prices[0], prices[-1])
        reach = abs(best - far) // self.tick
        least, most = self.low, self.high
        if count > most or (reach > self._reach_high and count > least):
            for _ in range(min(REFILL, max(1, count - most))):
                prices = book.own_prices(is_bid)
                far = prices[0] if is_bid else prices[-1]
                book.set_level(is_bid, far, 0)
                changed.append(far)
        elif count < least:
            for _ in range(min(REFILL, least - count)):
                if reach < self._reach:
                    level = self._beyond(far, best, is_bid, random(), random())
                else:
                    level = self._inside(best, is_bid, reach, random(), random())
                if level is None:
                    return  # bids down to one tick: no price left below
                side = book.bids if is_bid else book.asks
                book.set_level(is_bid, level.price, side.get(level.price, 0) + level.qty)
                changed.append(level.price)
                prices = book.own_prices(is_bid)
                far = prices[0] if is_bid else prices[-1]
                reach = abs(best - far) // self.tick
        elif reach < self._reach_low:
            level = self._beyond(far, best, is_bid, random(), random())
            if level is not None:
                thinned = prices[int(random() * (count - 1)) + (0 if is_bid else 1)]  # not the best
                book.set_level(is_bid, thinned, 0)
                book.set_level(is_bid, level.price, level.qty)
                changed.append(thinned)
                changed.append(level.price)

    def _beyond(self, far: int, best: int, is_bid: bool, u: float, v: float) -> Level | None:
        """A new level just beyond ``far``; None where bids would reach a price of 0."""
        distance = abs(best - far) // self.tick
        gap = self.gap(distance, u)
        price = far - gap * self.tick if is_bid else far + gap * self.tick
        if price < self.tick:
            return None
        return Level(price, self.level_qty(distance + gap, gap, v))

    def _inside(self, best: int, is_bid: bool, reach: int, u: float, v: float) -> Level:
        """A new level between the touch and ``reach`` ticks out, where the profile puts
        levels (it may land on one: then it adds to it)."""
        distance = min(reach, 1 + int(self.distance_of(u * self.initial)))
        gap = 1 + int(distance * self.inv_gap_scale)
        price = best - distance * self.tick if is_bid else best + distance * self.tick
        return Level(price, self.level_qty(distance, gap, v))
