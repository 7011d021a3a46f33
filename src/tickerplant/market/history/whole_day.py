"""A whole day of one symbol's simulated past drawn at once, in arrays: its 24 hour klines,
the same to the unit as the hours summed from the minutes ``tape.SymbolTape.klines`` makes
one by one, for a fraction of the time (a cold daily kline, GET /fapi/v1/klines §7.8).

A coarse kline of a cold past (``1d``, ``1w``, ``1M``) reads every minute of its days: a
bot's first ``fetch_ohlcv(symbol, '1d')`` reads 720,000 of them. Made minute by minute in
Python that is ~15 ms a day, longer than a client's default timeout for 500 days. Here
the same draws are made with numpy, a day's 1,440 minutes in one array per figure:

- **The same random numbers.** Each hour's draws come from ``random.Random(key)``
  (``draws.stream``); numpy's legacy ``RandomState`` seeded with the key's 32-bit words
  runs the same Mersenne Twister from the same ``init_by_array`` and makes the same
  53-bit doubles, so a block of its uniforms *is* the stream's next ``random()`` values.
  The draws each minute takes are laid out in that block by the order ``minute.draw``
  takes them (a count of its own per minute: a Gaussian pair every other minute, one or
  two sides' turns).
- **The same arithmetic.** Every operation is the scalar code's own, in its order:
  IEEE-754 addition, multiplication, division and square root round the same in numpy as
  in Python. The functions that libm computes (``exp``, ``log``, ``cos``, ``sin``,
  ``tanh``, ``pow``) are Python's ``math`` over the arrays' values, since numpy's own
  versions may differ from libm in the last bit. Python's ``sum`` of a list of floats
  is Python's (it changed to a compensated sum in 3.12).

So the past stays one pure function: ``tests/market/history/test_whole_day.py`` checks the
figures against the minute-by-minute code for every kind of symbol. A day whose sums could
leave a 64-bit integer, or with unlisted minutes, is left to that code (``None``).
"""

from __future__ import annotations

import math
import threading
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from tickerplant.market.history.counts import MIN_TRADES, TradeCounts
from tickerplant.market.history.draws import mix, stream
from tickerplant.market.history.minute import CLASS_CUMULATIVE, CLASSES, LEVELS
from tickerplant.market.history.path import MINUTE_MOOD, RANGE_SD, AssetPath
from tickerplant.market.klines.candles import Kline
from tickerplant.market.units import HOUR_MS, MINUTE_MS, YEAR_MS

__all__ = ["Shape", "hour_klines", "minute_bars", "uniforms"]

_TWO_PI = 2.0 * math.pi
_PATH_DRAWS = 240  # an hour of the path: two sets of 60 Gaussians, 60 highs' and 60 lows' uniforms
_MINUTE_DRAWS = 16  # the most one minute's makings take (``minute.draw``)
_LIMIT = 1 << 63  # int64's bound: a day whose figures could reach it is left to the minutes

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
_threads = threading.local()  # a generator per thread: seeding and drawing are two calls
_BELOW_LAST = np.array(CLASS_CUMULATIVE[: CLASSES - 1])  # the last class takes the rest


class Shape(NamedTuple):
    """What of a symbol the day's figures need (``tape.SymbolTape`` gives it)."""

    key: int  # the tape's key: its hours' streams
    reference: float  # the asset's reference price, in ticks
    tick: int
    step: int
    base_lots: int
    delivery_ms: int | None  # a quarterly's delivery (its contango), None for a perpetual
    basis_per_year: float  # the contango
    quote_factor: int | None  # COIN-M: a trade's quote is (qty × this + price // 2) // price


def uniforms(key: int, n: int) -> Floats:
    """The first ``n`` values of ``random.Random(key).random()``, as an array."""
    generator: np.random.RandomState | None = getattr(_threads, "generator", None)
    if generator is None:
        generator = _threads.generator = np.random.RandomState()
    if key >> 32:  # numpy seeds an int (not an array) another way: give it the key's two words
        generator.seed(np.array([key & 0xFFFFFFFF, key >> 32], dtype=np.uint32))
    else:  # a key of one 32-bit word: carry Python's own state over
        state = stream(key).getstate()[1]
        generator.set_state(("MT19937", np.array(state[:624], dtype=np.uint32), state[624], 0, 0.0))
    return generator.random_sample(n)


def _each(function: object, values: Floats) -> Floats:
    """``function`` (a ``math`` one) of each value, as libm computes it."""
    out = np.fromiter(map(function, values.ravel().tolist()), dtype=np.float64, count=values.size)  # type: ignore[call-overload]
    return out.reshape(values.shape)


def _gaussian_pairs(first: Floats, second: Floats) -> tuple[Floats, Floats]:
    """``Random.gauss``'s pair from its two uniforms (CPython's Box-Muller): both values,
    ``0.0 +`` each as ``gauss`` returns it."""
    x2pi = first * _TWO_PI
    g2rad = np.sqrt(-2.0 * _each(math.log, 1.0 - second))
    return 0.0 + _each(math.cos, x2pi) * g2rad, 0.0 + _each(math.sin, x2pi) * g2rad


def _gaussians(u: Floats) -> Floats:
    """The Gaussians ``draws.gaussians`` makes of each row's uniforms (an even count)."""
    cosines, sines = _gaussian_pairs(u[:, 0::2], u[:, 1::2])
    out = np.empty(u.shape)
    out[:, 0::2], out[:, 1::2] = cosines, sines
    return out


def minute_bars(path: AssetPath, day: int) -> tuple[Floats, Floats, Floats, Floats, Floats]:
    """The log-price open, high, low, close and activity of ``day``'s minutes, (24, 60)
    arrays: ``AssetPath.minutes`` of its 24 hours, drawn as ``path._children`` draws them."""
    path.keep_block(day)
    hours = path.hours(day)
    u = np.stack([uniforms(mix(path.key, day * 24 + k, 60), _PATH_DRAWS) for k in range(24)])
    vols = _each(math.exp, MINUTE_MOOD * _gaussians(u[:, :60]))
    activity = np.array([[v**1.2 for v in row] for row in vols.tolist()])
    o = np.array([[b.open] for b in hours])
    h = np.array([[b.high] for b in hours])
    low = np.array([[b.low] for b in hours])
    c = np.array([[b.close] for b in hours])
    total, scale = c - o, (h - low) / RANGE_SD
    weight = np.array([[math.sqrt(sum(row)) or 1.0] for row in (vols * vols).tolist()])
    sds = scale * vols / weight
    zero = np.zeros((24, 1))
    points = np.cumsum(np.hstack([zero, sds * _gaussians(u[:, 60:120])]), axis=1)
    variances = np.cumsum(np.hstack([zero, sds * sds]), axis=1)
    end, whole = points[:, 60:], variances[:, 60:]
    whole = np.where(whole == 0.0, 1.0, whole)
    points[:, 1:60] -= (end - total) * variances[:, 1:60] / whole
    points[:, 60:] = total
    squares = np.array([[s**2 for s in row] for row in sds.tolist()])
    y0, d = points[:, :60], points[:, 1:] - points[:, :60]
    log_highs = _each(math.log, np.where(u[:, 120:180] == 0.0, 0.5, u[:, 120:180]))
    log_lows = _each(math.log, np.where(u[:, 180:240] == 0.0, 0.5, u[:, 180:240]))
    highs = y0 + (d + np.sqrt(d * d - 2.0 * squares * log_highs)) / 2.0
    lows = y0 + (d - np.sqrt(d * d - 2.0 * squares * log_lows)) / 2.0
    top, bottom = highs.max(axis=1, keepdims=True), lows.min(axis=1, keepdims=True)
    upper, lower = np.maximum(0.0, total), np.minimum(0.0, total)
    with np.errstate(divide="ignore", invalid="ignore"):
        up = np.where(top > upper, (h - o - upper) / (top - upper), 0.0)
        down = np.where(bottom < lower, (low - o - lower) / (bottom - lower), 0.0)

    def bend(x: Floats) -> Floats:
        below = np.where(x < lower, o + lower + (x - lower) * down, o + x)
        return np.where(x > upper, o + upper + (x - upper) * up, below)

    marks = bend(points)
    marks[:, :1], marks[:, 60:] = o, c
    rows = np.arange(24)
    his = np.maximum(np.maximum(bend(highs), marks[:, :60]), marks[:, 1:])
    los = np.minimum(np.minimum(bend(lows), marks[:, :60]), marks[:, 1:])
    his[rows, highs.argmax(axis=1)] = h[:, 0]
    los[rows, lows.argmin(axis=1)] = low[:, 0]
    return marks[:, :60], his, los, marks[:, 1:], activity


def _carry(shape: Shape, minutes: Ints) -> Floats | None:
    """A quarterly's contango at each of ``minutes`` (``SymbolTape.price``), None for a
    perpetual."""
    if shape.delivery_ms is None:
        return None
    left = np.maximum(0, shape.delivery_ms - minutes * MINUTE_MS)
    carry: Floats = 1.0 + shape.basis_per_year * left.astype(np.float64) / YEAR_MS
    return carry


def _prices(shape: Shape, day: int, bars: tuple[Floats, ...]) -> tuple[Ints, Ints, Ints, Ints]:
    """``SymbolTape.bar_prices`` of the minutes: each log-price on the symbol's tick grid."""
    o, h, low, c = bars[:4]
    ticks = []
    carry = _carry(shape, day * 1440 + np.arange(1440, dtype=np.int64).reshape(24, 60))
    opens = _each(math.exp, o)
    closes = np.hstack([opens[:, 1:], _each(math.exp, c[:, 59:])])  # a minute closes where the next opens
    for exps in (opens, _each(math.exp, h), _each(math.exp, low), closes):
        t = shape.reference * exps
        if carry is not None:
            t = t * carry
        ticks.append(np.maximum(1, np.rint(t).astype(np.int64)) * shape.tick)
    return ticks[0], ticks[1], ticks[2], ticks[3]


def _classes(n: Ints) -> Ints:
    """``minute._classes`` of each count: its trades per size class, (..., CLASSES)."""
    upto = np.rint(n[..., None] * _BELOW_LAST).astype(np.int64)
    out = np.empty((*n.shape, CLASSES), dtype=np.int64)
    out[..., 0] = upto[..., 0]
    out[..., 1:-1] = upto[..., 1:] - upto[..., :-1]
    out[..., -1] = n - upto[..., -1]
    return out


def _starts(body: Ints, lean: Floats, u: Floats) -> Ints:
    """Where each minute's draws start in its hour's block: ``minute.draw`` takes nine,
    then a Gaussian pair every other minute (``gauss`` keeps the second for the next),
    three levels, and a turn for each side that trades. A side's count is known from the
    minute's trades unless it has one to three beyond its pins: those minutes' shares are
    drawn here, in order, as ``draw`` draws them, each moving the minutes after it."""
    fresh = np.arange(60) % 2 == 0
    small = (body >= 1) & (body <= 3)
    taken = 12 + np.where(fresh, 2, 0) + np.where(body >= 4, 2, 0)  # the small ones' turns: below
    starts = np.zeros((24, 60), dtype=np.int64)
    starts[:, 1:] = np.cumsum(taken[:, :-1], axis=1)
    rows, minutes = np.nonzero(small)
    if not len(rows):
        return starts
    turns = [[0] * 60 for _ in range(24)]
    bodies, leans = body.tolist(), lean.tolist()  # read a value at a time: lists, not arrays
    row: list[float] = []
    base: list[int] = []
    shift, last_row, last, turned = 0, -1, -1, 0  # last: the small minute before, ``turned`` its turns
    for r, i in zip(rows.tolist(), minutes.tolist(), strict=True):  # row by row, in order
        if r != last_row:
            row, base = u[r].tolist(), starts[r].tolist()
            shift, last_row, last, turned = 0, r, -1, 0
        b = bodies[r][i]
        if b == 1:  # one trade: a share in [0.15, 0.85] rounds to 0 or 1 buys, one side's turn either way
            turns[r][i], last, turned = 1, i, 1
            shift += 1
            continue
        # an odd minute's pair is the one the minute before drew, before that one's turns
        pair_at = base[i] + shift if i % 2 == 0 else base[i - 1] + shift - (turned if last == i - 1 else 0)
        x2pi = row[pair_at + 9] * _TWO_PI
        g2rad = math.sqrt(-2.0 * math.log(1.0 - row[pair_at + 10]))
        z = math.cos(x2pi) * g2rad if i % 2 == 0 else math.sin(x2pi) * g2rad
        buys = round(b * min(0.85, max(0.15, 0.5 + 0.18 * leans[r][i] + 0.05 * (0.0 + z))))
        turned = (buys > 0) + (b - buys > 0)
        turns[r][i], last = turned, i
        shift += turned
    starts[:, 1:] += np.cumsum(np.array(turns, dtype=np.int64)[:, :-1], axis=1)
    return starts


def _quotes(shape: Shape, price: Ints, qty: Ints) -> Ints:
    """Each trade's quote figure (``SymbolTape._quote``)."""
    if shape.quote_factor is None:
        return price * qty
    return (qty * shape.quote_factor + price // 2) // price


def _fits(path: AssetPath, counts: TradeCounts, shape: Shape, day: int) -> bool:
    """Whether every figure ``day``'s arrays hold stays inside an int64: a trade's quote (or
    its numerator, COIN-M) at most the largest size at the day's extreme prices, times the
    busiest hour's trades. Judged before anything is drawn, from the day's bar (its high and
    low are its minutes' extremes, ``path._children``, within a tick) and its hours' counts."""
    bar, most = path.day(day), max(counts.hour_counts(day))
    carry = _carry(shape, np.array([day * 1440, day * 1440 + 1439]))  # it shrinks through the day
    first_carry, last_carry = (1.0, 1.0) if carry is None else carry.tolist()
    high = (round(shape.reference * math.exp(bar.high) * first_carry) + 1) * shape.tick
    low = max(1, round(shape.reference * math.exp(bar.low) * last_carry) - 1) * shape.tick
    largest_qty = (shape.base_lots * shape.step) << (CLASSES - 1)
    if shape.quote_factor is None:
        return high * largest_qty * most < _LIMIT
    numerator = largest_qty * shape.quote_factor + high
    return max(numerator, (numerator // low + 1) * most, largest_qty * most) < _LIMIT


def hour_klines(path: AssetPath, counts: TradeCounts, shape: Shape, day: int) -> list[Kline] | None:
    """``day``'s 24 hour klines (every minute of it listed), or None when its figures could
    leave 64-bit integers (``_fits``: the caller makes it minute by minute then)."""
    if not _fits(path, counts, shape, day):
        return None
    bars = minute_bars(path, day)
    activity = bars[4].tolist()
    trades = np.array([counts.split_hour(day * 24 + k, activity[k]) for k in range(24)], dtype=np.int64)
    o, h, lo, c = _prices(shape, day, bars)
    tick, step, base_lots = shape.tick, shape.step, shape.base_lots
    lot = base_lots * step
    lean = _each(math.tanh, (c - o) / np.maximum(h - lo, tick))
    body = trades - MIN_TRADES
    u = np.stack([uniforms(mix(shape.key, day * 24 + k, 60), 60 * _MINUTE_DRAWS) for k in range(24)])
    starts = _starts(body, lean, u)

    flat, base = u.ravel(), starts + (np.arange(24) * (60 * _MINUTE_DRAWS))[:, None]

    def at(offset: Ints | int) -> Floats:  # each minute's draw ``offset`` from its start
        found: Floats = flat[base + offset]
        return found

    high_first = at(0) < 0.5 - 0.3 * lean
    weights = np.array(CLASS_CUMULATIVE)
    q0, q1, q2, q3 = (
        (base_lots << np.searchsorted(weights, at(1 + k) * 0.999999, side="right")) * step for k in range(4)
    )
    open_maker, high_maker, low_maker = at(5) < 0.5 - 0.2 * lean, at(6) < 0.2, at(7) < 0.8
    close_maker = at(8) < 0.5 - 0.2 * lean
    p1, m1 = np.where(high_first, h, lo), np.where(high_first, high_maker, low_maker)
    p2, m2 = np.where(high_first, lo, h), np.where(high_first, low_maker, high_maker)
    gauss = np.empty((24, 60))
    gauss[:, 0::2], gauss[:, 1::2] = _gaussian_pairs(at(9)[:, 0::2], at(10)[:, 0::2])
    share = np.minimum(0.85, np.maximum(0.15, 0.5 + 0.18 * lean + 0.05 * gauss))
    buys = np.rint(body * share).astype(np.int64)
    sells = body - buys
    after_gauss = np.where(np.arange(60) % 2 == 0, 2, 0)
    span = (h - lo) // tick
    draws = [at(9 + after_gauss + j) for j in range(LEVELS)]
    levels = np.stack([lo + np.rint(span * (0.2 + 0.6 * d)).astype(np.int64) * tick for d in draws], axis=-1)
    first_turn = (at(12 + after_gauss) * LEVELS).astype(np.int64)
    second_turn = (at(13 + after_gauss) * LEVELS).astype(np.int64)
    buy_turn, sell_turn = first_turn, np.where((buys > 0) & (sells > 0), second_turn, first_turn)
    pins = [(o, q0, open_maker), (p1, q1, m1), (p2, q2, m2), (c, q3, close_maker)]
    values = [_quotes(shape, p, q) for p, q, _ in pins]
    volume, value = q0 + q1 + q2 + q3, values[0] + values[1] + values[2] + values[3]
    bought = [~m for _, _, m in pins]  # a buyer took the pin
    buy_volume = q0 * bought[0] + q1 * bought[1] + q2 * bought[2] + q3 * bought[3]
    buy_value = values[0] * bought[0] + values[1] * bought[1] + values[2] * bought[2] + values[3] * bought[3]
    classes = np.arange(CLASSES)
    for n, turn, taker_bought in ((buys, buy_turn, True), (sells, sell_turn, False)):
        per_class = _classes(n)
        where = (classes + turn[..., None]) % LEVELS  # each class's level
        q = (per_class << classes).sum(axis=-1) * lot
        prices = np.take_along_axis(levels, where, axis=-1)
        v = (_quotes(shape, prices, lot << classes) * per_class).sum(axis=-1)
        volume, value = volume + q, value + v
        if taker_bought:
            buy_volume, buy_value = buy_volume + q, buy_value + v
    first_id = counts.day_first_id(day)
    out = []
    for k, (kc, kv, kq, kbv, kbq, ko, kh, kl, kcl) in enumerate(zip(
        trades.sum(axis=1).tolist(), volume.sum(axis=1).tolist(), value.sum(axis=1).tolist(),
        buy_volume.sum(axis=1).tolist(), buy_value.sum(axis=1).tolist(), o[:, 0].tolist(),
        h.max(axis=1).tolist(), lo.min(axis=1).tolist(), c[:, 59].tolist(), strict=True,
    )):  # fmt: skip
        open_ms = (day * 24 + k) * HOUR_MS
        close_ms, last_id = open_ms + HOUR_MS - 1, first_id + kc - 1
        out.append(Kline(open_ms, close_ms, ko, kh, kl, kcl, kv, kq, kc, kbv, kbq, first_id, last_id))
        first_id += kc
    return out
