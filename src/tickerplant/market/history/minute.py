"""A minute of the simulated past: its draws, its kline, and what its trades are made of.

A minute is four *pin* trades (its open, its high and its low in the order drawn, its
close) and a *body*: the rest of its trades, split between the sides by a share that leans
with the minute's return, each side's trades dealt over ``CLASSES`` size classes doubling
from the symbol's base lot (a discrete power law: a class twice as large is
``2 ** -_SIZE_TAIL`` as frequent; cumulative rounding, so the classes sum to the side's
count), each class at one of ``LEVELS`` prices between the minute's low and high (dealt
round from a random one, ``turn``). Each (price, class, side) is a *cell*: a count of
identical trades.

The kline's sums (volume, quote volume, the taker buy figures) depend on a side's count
and its ``turn`` alone besides the prices, so they come from a table of the class counts
(``_shares``) rather than from the cells: a coarse kline of a cold past (a day, a week, a
month of minutes, GET /fapi/v1/klines §7.8) is made without building the 1,440 minutes'
cells a day, and the cells, when the trades are asked for, are the same counts
(``cells``). One home for both: the draws are made once, here, in one order.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right as _bisect
from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple

from tickerplant.market.history.counts import MIN_TRADES
from tickerplant.market.klines.candles import Kline
from tickerplant.market.units import MINUTE_MS

__all__ = ["CLASS_MEAN", "Makings", "cells", "draw"]

LEVELS = 3
CLASSES = 7
_SIZE_TAIL = 1.6
_CLASS_WEIGHTS = [2.0 ** (-_SIZE_TAIL * k) for k in range(CLASSES)]
CLASS_MEAN = sum(w * 2**k for k, w in enumerate(_CLASS_WEIGHTS)) / sum(_CLASS_WEIGHTS)
# the share of a side's trades in the classes up to k
CLASS_CUMULATIVE = [sum(_CLASS_WEIGHTS[: k + 1]) / sum(_CLASS_WEIGHTS) for k in range(CLASSES)]

_tanh, _new = math.tanh, tuple.__new__
Pin = tuple[int, int, bool]  # (price units, qty units, buyer is maker)
Side = tuple[int, int, bool]  # a side's body: (its trades, its turn, buyer is maker)


class Makings(NamedTuple):
    """A minute's kline and the draws its trades are laid out from."""

    kline: Kline
    pins: tuple[Pin, Pin, Pin, Pin]  # open, first extreme, second extreme, close, in order
    levels: tuple[int, ...]  # the body's prices (price units)
    sides: tuple[Side, ...]  # the body's sides that trade: buyers taking first, then sellers
    high_first: bool  # the high's pin comes before the low's


@lru_cache(maxsize=16_384)  # a side's count: a few thousand at most in a busy minute
def _classes(n: int) -> tuple[int, ...]:
    """A side's ``n`` trades per size class (cumulative rounding: they sum to ``n``)."""
    out, given = [], 0
    for k in range(CLASSES):
        upto = max(given, round(n * CLASS_CUMULATIVE[k]) if k < CLASSES - 1 else n)
        out.append(upto - given)
        given = upto
    return tuple(out)


@lru_cache(maxsize=16_384)
def _shares(n: int, turn: int) -> tuple[int, int, int, int]:
    """A side of ``n`` trades dealt from level ``turn``, in base lots: its volume and the
    lots at each level (its quote volume is Σ level price × lots there, × the lot)."""
    at = [0, 0, 0]
    for k, count in enumerate(_classes(n)):
        at[(k + turn) % LEVELS] += count << k
    return at[0] + at[1] + at[2], at[0], at[1], at[2]


def cells(makings: Makings, base_lots: int, step: int) -> tuple[tuple[int, int, int, bool], ...]:
    """The body's cells: (price units, qty units, count, buyer is maker), a side's classes
    in order of size, buyers first."""
    out = []
    levels = makings.levels
    for n, turn, maker in makings.sides:
        for k, count in enumerate(_classes(n)):
            if count:
                out.append((levels[(k + turn) % LEVELS], (base_lots << k) * step, count, maker))
    return tuple(out)


def draw(
    open_ms: int, prices: tuple[int, int, int, int], count: int, first_id: int, base_lots: int, tick: int,
    step: int, rng: random.Random, quote: Callable[[int, int], int] | None,
) -> Makings:  # fmt: skip
    """A minute opened at ``open_ms`` with ``prices`` (open, high, low, close) and ``count``
    trades from ``first_id``, drawn from ``rng`` (an hour's stream, in minute order);
    ``quote``: the quote figure of one trade (price, qty), None for price × qty.

    Written out draw by draw (a cold daily kline makes 1,440 of these): the high's or the
    low's pin first, the four pins' size classes, their takers, the body's buy share, its
    three levels, then each side's turn."""
    o, h, lo, c = prices
    lean = _tanh((c - o) / max(h - lo, tick))  # a rising minute was bought
    random_ = rng.random
    high_first = random_() < 0.5 - 0.3 * lean
    weights = CLASS_CUMULATIVE
    q0 = (base_lots << _bisect(weights, random_() * 0.999999)) * step
    q1 = (base_lots << _bisect(weights, random_() * 0.999999)) * step
    q2 = (base_lots << _bisect(weights, random_() * 0.999999)) * step
    q3 = (base_lots << _bisect(weights, random_() * 0.999999)) * step
    # buyer is maker (a seller took)? The open and close lean with the minute; the high
    # was mostly a buyer lifting the ask, the low a seller hitting the bid
    open_maker = random_() < 0.5 - 0.2 * lean
    high_maker, low_maker = random_() < 0.2, random_() < 0.8
    close_maker = random_() < 0.5 - 0.2 * lean
    if high_first:
        p1, m1, p2, m2 = h, high_maker, lo, low_maker
    else:
        p1, m1, p2, m2 = lo, low_maker, h, high_maker
    pins = ((o, q0, open_maker), (p1, q1, m1), (p2, q2, m2), (c, q3, close_maker))
    body = count - MIN_TRADES
    buy_share = min(0.85, max(0.15, 0.5 + 0.18 * lean + 0.05 * rng.gauss()))
    buys = round(body * buy_share)
    span = (h - lo) // tick
    levels = (
        lo + round(span * (0.2 + 0.6 * random_())) * tick,
        lo + round(span * (0.2 + 0.6 * random_())) * tick,
        lo + round(span * (0.2 + 0.6 * random_())) * tick,
    )
    sells = body - buys
    if buys > 0 and sells > 0:  # the common case: both sides trade, each dealt from a turn
        buy_turn = int(random_() * LEVELS)
        sides: tuple[Side, ...] = ((buys, buy_turn, False), (sells, int(random_() * LEVELS), True))
    elif buys > 0:
        sides = ((buys, int(random_() * LEVELS), False),)
    elif sells > 0:
        sides = ((sells, int(random_() * LEVELS), True),)
    else:
        sides = ()
    # the kline: the pins' figures, then each side's from its class counts (``_shares``)
    if quote is None:
        v0, v1, v2, v3 = o * q0, p1 * q1, p2 * q2, c * q3
    else:
        v0, v1, v2, v3 = quote(o, q0), quote(p1, q1), quote(p2, q2), quote(c, q3)
    volume, value = q0 + q1 + q2 + q3, v0 + v1 + v2 + v3
    # the pins a buyer took (``not`` a maker: 1)
    buy_volume = q0 * (not open_maker) + q1 * (not m1) + q2 * (not m2) + q3 * (not close_maker)
    buy_value = v0 * (not open_maker) + v1 * (not m1) + v2 * (not m2) + v3 * (not close_maker)
    lot = base_lots * step
    for n, turn, maker in sides:
        lots, at_0, at_1, at_2 = _shares(n, turn)
        q = lots * lot
        if quote is None:  # Σ price × qty, a level at a time
            v = (levels[0] * at_0 + levels[1] * at_1 + levels[2] * at_2) * lot
        else:  # COIN-M's figure rounds per trade: a class at a time
            v = sum(quote(levels[(k + turn) % LEVELS], lot << k) * m for k, m in enumerate(_classes(n)) if m)
        volume += q
        value += v
        if not maker:
            buy_volume += q
            buy_value += v
    kline = Kline(
        open_ms, open_ms + MINUTE_MS - 1, o, h, lo, c, volume, value, count, buy_volume, buy_value,
        first_id, first_id + count - 1,
    )  # fmt: skip
    return _new(Makings, (kline, pins, levels, sides, high_first))
