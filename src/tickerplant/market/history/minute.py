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
from bisect import bisect_right
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
_CLASS_CUMULATIVE = [sum(_CLASS_WEIGHTS[: k + 1]) / sum(_CLASS_WEIGHTS) for k in range(CLASSES)]

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
        upto = max(given, round(n * _CLASS_CUMULATIVE[k]) if k < CLASSES - 1 else n)
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
    ``quote``: the quote figure of one trade (price, qty), None for price × qty."""
    o, h, lo, c = prices
    lean = math.tanh((c - o) / max(h - lo, tick))  # a rising minute was bought
    random_ = rng.random
    high_first = random_() < 0.5 - 0.3 * lean
    weights = _CLASS_CUMULATIVE
    lots = [base_lots << bisect_right(weights, random_() * 0.999999) for _ in range(4)]
    # buyer is maker (a seller took)? The open and close lean with the minute; the high
    # was mostly a buyer lifting the ask, the low a seller hitting the bid
    open_maker = random_() < 0.5 - 0.2 * lean
    high_maker, low_maker = random_() < 0.2, random_() < 0.8
    close_maker = random_() < 0.5 - 0.2 * lean
    first, second = (h, high_maker), (lo, low_maker)
    if not high_first:
        first, second = second, first
    pins = (
        (o, lots[0] * step, open_maker),
        (first[0], lots[1] * step, first[1]),
        (second[0], lots[2] * step, second[1]),
        (c, lots[3] * step, close_maker),
    )
    body = count - MIN_TRADES
    buy_share = min(0.85, max(0.15, 0.5 + 0.18 * lean + 0.05 * rng.gauss()))
    buys = round(body * buy_share)
    span = (h - lo) // tick
    levels = tuple(lo + round(span * (0.2 + 0.6 * random_())) * tick for _ in range(LEVELS))
    sides = []
    for n, maker in ((buys, False), (body - buys, True)):
        if n > 0:
            sides.append((n, int(random_() * LEVELS), maker))
    kline = _kline(open_ms, prices, pins, levels, sides, count, first_id, base_lots * step, quote)
    return Makings(kline, pins, levels, tuple(sides), high_first)


def _kline(
    open_ms: int, prices: tuple[int, int, int, int], pins: tuple[Pin, ...], levels: tuple[int, ...],
    sides: list[Side], count: int, first_id: int, lot: int, quote: Callable[[int, int], int] | None,
) -> Kline:  # fmt: skip
    """The kline the minute's trades add up to (``lot``: the base lot in quantity units)."""
    volume = value = buy_volume = buy_value = 0
    for p, q, maker in pins:
        v = p * q if quote is None else quote(p, q)
        volume += q
        value += v
        if not maker:
            buy_volume += q
            buy_value += v
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
    o, h, lo, c = prices
    return Kline(
        open_ms, open_ms + MINUTE_MS - 1, o, h, lo, c, volume, value, count, buy_volume, buy_value,
        first_id, first_id + count - 1,
    )  # fmt: skip
