"""One symbol's simulated past, minute by minute: how many trades, at what prices and
sizes, which side took; and, only when asked, the trades of a minute themselves.

**Counts** are split top-down, exactly: a day's trade count (the symbol's rate at the
configured ``--sim-rate``, times the day's share of the weekly cycle and its volatility
multiplier, with a little noise) is split over its hours by their activity, and an hour's
over its minutes, every minute holding at least ``MIN_TRADES``. A day's trade ids start at
a fixed *stride* per day since the listing (``id_stride``: a round number at least eight
times the mean day count, which no day reaches), and run on without a gap within the day,
so an id is known without counting every trade since the listing: the ids skip from a
day's last to the next day's first at each midnight UTC.

**A minute** (``Minute``) is four *pin* trades, at its open (the first trade), at its high
and its low (in the order the path suggests) and at its close (the last), and a *body*:
the rest of its trades at ``_LEVELS`` prices between its low and high, in ``_CLASSES`` size
classes doubling from the symbol's base lot (a discrete power law: a class twice as large
is ``2 ** -_SIZE_TAIL`` as frequent). Each class trades at one of the prices (dealt round
from a random one) and each (price, class, side) cell holds a count of identical trades,
so the kline's volume, quote volume and taker-buy figures are sums over some eighteen
cells, exactly what the trades add up to, whatever the trade count. The taker side leans
with the minute's return.

**The trades** (``Minute.trades``) lay the cells out in time: the pins first, at the high's
and low's moments and last, the body in between, ordered along a random path from the open
through the extremes to the close by matching ranks, so the tape reads like a market and
its aggregate is the kline by construction.
"""

from __future__ import annotations

import itertools
import math
import random
from bisect import bisect_right
from collections.abc import Sequence
from typing import NamedTuple

from tickerplant.market.history.draws import mix, name_key, normal, split, stream
from tickerplant.market.history.path import AssetPath, Bar, Lru, hour_activity
from tickerplant.market.instruments import ContractType, Instrument, Market
from tickerplant.market.klines.candles import Kline
from tickerplant.market.units import DAY_MS, HOUR_MS, MINUTE_MS

__all__ = ["MIN_TRADES", "TRADES_PER_ACTION", "Minute", "PastTrade", "SymbolTape"]

MIN_TRADES = 4  # a minute's pins: its open, high, low and close are trades
# trades a minute per action a second of the symbol's share of --sim-rate: what the live
# simulator makes (about an eighth of actions take, sweeping a level or few)
# (measured: 60 simulated minutes of two seeds at 400 actions/s, the perpetuals' 8 to 12)
TRADES_PER_ACTION = 9.6
_TRADE_VALUE = 1_650.0  # the mean trade's value = _TRADE_VALUE * activity ** 0.55 (quote currency)
# A delivery contract's thin books split a taker order into more, smaller fills (measured:
# about 1.8 times the trades, a third of the size)
_DELIVERY_TRADES, _DELIVERY_SIZE = 1.8, 1 / 2.8
_LEVELS = 3
_CLASSES = 7
_SIZE_TAIL = 1.6
_CLASS_WEIGHTS = [2.0 ** (-_SIZE_TAIL * k) for k in range(_CLASSES)]
_CLASS_MEAN = sum(w * 2**k for k, w in enumerate(_CLASS_WEIGHTS)) / sum(_CLASS_WEIGHTS)
# the share of a side's trades in the classes up to k
_CLASS_CUMULATIVE = [sum(_CLASS_WEIGHTS[: k + 1]) / sum(_CLASS_WEIGHTS) for k in range(_CLASSES)]
_DAY_NOISE = 0.15
_COUNTS_KEPT = 4096  # day counts kept (a sixteenth as many days of hour counts, ...)
_YEAR_MS = 365 * DAY_MS
_BASIS_PER_YEAR = 0.05  # the quarterlies' contango, as the catalogue prices them
_STRIDE_MARGIN = 8  # a day's ids are room for this many mean days' trades


class PastTrade(NamedTuple):
    """One trade of the past, in the plant's units."""

    trade_id: int
    time_ms: int
    price: int  # price units
    qty: int  # quantity units
    buyer_is_maker: bool  # True: the seller took


class Minute(NamedTuple):
    """A minute's kline and what its trades are made of (see the module docstring)."""

    kline: Kline
    pins: tuple[tuple[int, int, bool], ...]  # (price units, qty units, buyer is maker), in order
    cells: tuple[tuple[int, int, int, bool], ...]  # (price units, qty units, count, buyer is maker)
    high_first: bool  # the high's pin comes before the low's
    key: int  # where its trades' draws come from


_HOURS_KEPT = 4  # hours of minutes a tape keeps made
_TRADE_MINUTES_KEPT = 8  # minutes of trades a tape keeps laid out


class SymbolTape:
    """The past of one symbol (see the module docstring)."""

    def __init__(
        self, inst: Instrument, path: AssetPath, seed: int, trades_per_minute: float, reference: int,
        start_ms: int | None = None, id_rate: float | None = None,
    ) -> None:  # fmt: skip
        """``reference``: the asset's reference price in ``inst``'s price units (the
        perpetual's catalogue price); ``trades_per_minute``: the mean rate; ``start_ms``: no
        minute before it is served (None: from the listing). Ids count from the listing day
        whatever the start, so a minute's are the same however much of the past is served;
        ``id_rate``: the trades a minute a day's ids make room for (the mean rate if None)."""
        self.inst = inst
        self.path = path
        delivery = inst.contract_type is not ContractType.PERPETUAL
        self._delivery_ms = inst.delivery_ms if delivery else None
        self.rate = max(trades_per_minute * (_DELIVERY_TRADES if delivery else 1.0), float(MIN_TRADES))
        # the ids a day has room for: a power of ten past _STRIDE_MARGIN mean days
        room_rate = max(self.rate, id_rate or 0.0)
        self.id_stride: int = 10 ** math.ceil(math.log10(_STRIDE_MARGIN * 1440.0 * room_rate))
        self._key = name_key(seed, "tape", inst.symbol)
        self._hours: dict[int, list[Minute]] = {}  # the last hours whose minutes were made (a few)
        self._trades: dict[int, list[PastTrade]] = {}  # minute key -> its trades, the last few
        self._reference = reference / inst.tick  # in ticks
        self.first_minute = -(-max(inst.onboard_ms, start_ms or 0) // MINUTE_MS)  # the first served
        self._first_day = inst.onboard_ms // DAY_MS
        self._day_counts: Lru[int, int] = Lru(_COUNTS_KEPT)
        self._hour_counts: Lru[int, list[int]] = Lru(_COUNTS_KEPT // 16)
        self._minute_counts: Lru[int, list[int]] = Lru(_COUNTS_KEPT // 8)
        self._linear = inst.market is Market.UM
        lot_value = _lot_value(inst, reference)
        mean_lots = _TRADE_VALUE * max(inst.activity, 1e-6) ** 0.55 / lot_value
        if delivery:
            mean_lots *= _DELIVERY_SIZE
        self.base_lots = max(1, round(mean_lots / _CLASS_MEAN))

    def mean_trade_qty(self) -> float:
        """The mean size of its trades, in quantity units (the size classes' mean)."""
        return float(self.base_lots * _CLASS_MEAN * self.inst.step)

    # -- counts and ids ----------------------------------------------------------------

    def day_count(self, day: int) -> int:
        """Trades on ``day`` (days since the epoch)."""
        return self._day_counts.get(day, lambda: self._day_count(day))

    def _day_count(self, day: int) -> int:
        first = (day - 4) % 7 * 24
        cycle = sum(hour_activity(first + h) for h in range(24)) / 24.0
        noise = math.exp(_DAY_NOISE * normal(mix(self._key, day)) - _DAY_NOISE**2 / 2)
        mean = self.rate * 1440.0 * cycle * self.path.day_vol(day) * noise
        return min(self.id_stride, max(MIN_TRADES * 1440, round(mean)))

    def hour_counts(self, day: int) -> list[int]:
        """Trades in each hour of ``day``."""

        def make() -> list[int]:
            hours = self.path.hours(day)
            return split(self.day_count(day), [b.activity for b in hours], MIN_TRADES * 60)

        return self._hour_counts.get(day, make)

    def activity_at(self, time_ms: int) -> float:
        """How busy the hour holding ``time_ms`` is, as a multiple of ``rate``: its trades a
        minute over the mean. The live simulator trades at ``rate`` times this, so the live
        market goes on as busy as its past was (issue 30, item 2)."""
        hour = time_ms // HOUR_MS
        count: int = self.hour_counts(hour // 24)[hour % 24]
        return count / 60.0 / self.rate

    def minute_counts(self, hour: int) -> list[int]:
        """Trades in each minute of ``hour``."""

        def make() -> list[int]:
            total = self.hour_counts(hour // 24)[hour % 24]
            return split(total, [b.activity for b in self.path.minutes(hour)], MIN_TRADES)

        return self._minute_counts.get(hour, make)

    def first_id(self, minute: int) -> int:
        """The id of ``minute``'s first trade: the listing day's first is 1."""
        day, hour = minute // 1440, minute // 60
        ids = 1 + (day - self._first_day) * self.id_stride
        ids += sum(self.hour_counts(day)[: hour % 24])
        ids += sum(self.minute_counts(hour)[: minute % 60])
        return ids

    def live_first_id(self, time_ms: int) -> int:
        """The first trade id of a live market started at ``time_ms``: above the day's past
        ids, and further into the day's unused room by the time of day, so a market
        restarted later starts above every id an earlier one gave (one trading under the
        room's rate: ``_STRIDE_MARGIN`` - 1 mean days a day). The ids between the past's
        last and the live first are nobody's."""
        day = time_ms // DAY_MS
        count = self.day_count(day)
        room = self.id_stride - count
        return 1 + (day - self._first_day) * self.id_stride + count + (time_ms % DAY_MS) * room // DAY_MS

    def minute_at_id(self, trade_id: int) -> int:
        """The minute holding trade ``trade_id``; for an id in a day's unused room, or before
        the listing, the next minute that holds one."""
        day, offset = divmod(max(0, trade_id - 1), self.id_stride)
        day += self._first_day
        if offset >= self.day_count(day):
            return max(self.first_minute, (day + 1) * 1440)
        hour = day * 24
        for count in self.hour_counts(day):
            if offset < count:
                break
            offset -= count
            hour += 1
        minute = hour * 60
        for count in self.minute_counts(hour):
            if offset < count:
                break
            offset -= count
            minute += 1
        return max(minute, self.first_minute)

    # -- prices --------------------------------------------------------------------------

    def price(self, log_price: float, time_ms: int) -> int:
        """The symbol's price for the path's ``log_price`` at ``time_ms``, on its tick grid
        (the quarterlies carry their contango, shrinking to delivery)."""
        ticks = self._reference * math.exp(log_price)
        if self._delivery_ms is not None:
            ticks *= 1.0 + _BASIS_PER_YEAR * max(0, self._delivery_ms - time_ms) / _YEAR_MS
        return max(1, round(ticks)) * self.inst.tick

    # -- minutes -----------------------------------------------------------------------

    def minute(self, minute: int) -> Minute:
        """Minute ``minute`` (minutes since the epoch): its kline and its makings."""
        return self.minutes(minute // 60)[minute % 60]

    def minutes(self, hour: int) -> list[Minute]:
        """The 60 minutes of ``hour`` (hours since the epoch). The last few hours made are
        kept: a walk minute by minute (the latest trades, a warm start) makes each hour once."""
        kept = self._hours.get(hour)
        if kept is not None:
            return kept
        made = self._make_minutes(hour)
        if len(self._hours) >= _HOURS_KEPT:
            del self._hours[next(iter(self._hours))]
        self._hours[hour] = made
        return made

    def _make_minutes(self, hour: int) -> list[Minute]:
        counts = self.minute_counts(hour)
        bars = self.path.minutes(hour)
        trade_id = self.first_id(hour * 60)
        rng = stream(mix(self._key, hour, 60))  # one generator for the hour's minutes, in order
        out = []
        for i in range(60):
            out.append(self._minute(hour * 60 + i, bars[i], counts[i], trade_id, rng))
            trade_id += counts[i]
        return out

    def _minute(self, minute: int, bar: Bar, count: int, first_id: int, rng: random.Random) -> Minute:
        open_ms = minute * MINUTE_MS
        key = mix(self._key, minute)
        price = self.price
        o, h = price(bar[0], open_ms), price(bar[1], open_ms)
        lo, c = price(bar[2], open_ms), price(bar[3], open_ms)
        tick, step = self.inst.tick, self.inst.step
        lean = math.tanh((c - o) / max(h - lo, tick))  # a rising minute was bought
        random_ = rng.random
        high_first = random_() < 0.5 - 0.3 * lean
        base = self.base_lots
        weights = _CLASS_CUMULATIVE
        lots = [base << bisect_right(weights, random_() * 0.999999) for _ in range(4)]
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
        levels = [lo + round(span * (0.2 + 0.6 * random_())) * tick for _ in range(_LEVELS)]
        cells: list[tuple[int, int, int, bool]] = []
        fractions = _CLASS_CUMULATIVE
        for n, maker in ((buys, False), (body - buys, True)):
            if n <= 0:
                continue
            # each size class trades at one of the levels, classes dealt round from a random
            # one; its count the class's share of n (cumulative rounding: they sum to n)
            turn = int(random_() * _LEVELS)
            given = 0
            for k in range(_CLASSES):
                upto = round(n * fractions[k]) if k < _CLASSES - 1 else n
                if upto > given:
                    cells.append((levels[(k + turn) % _LEVELS], (base << k) * step, upto - given, maker))
                    given = upto
        kline = self._kline(open_ms, o, h, lo, c, pins, cells, count, first_id)
        return Minute(kline, pins, tuple(cells), high_first, key)

    def _kline(
        self, open_ms: int, o: int, h: int, lo: int, c: int,
        pins: Sequence[tuple[int, int, bool]], cells: Sequence[tuple[int, int, int, bool]],
        count: int, first_id: int,
    ) -> Kline:  # fmt: skip
        quote = None if self._linear else self._quote
        volume = value = buy_volume = buy_value = 0
        for p, q, maker in pins:
            v = p * q if quote is None else quote(p, q)
            volume += q
            value += v
            if not maker:
                buy_volume += q
                buy_value += v
        for p, q, n, maker in cells:
            v = (p * q if quote is None else quote(p, q)) * n
            volume += q * n
            value += v
            if not maker:
                buy_volume += q * n
                buy_value += v
        return Kline(
            open_ms, open_ms + MINUTE_MS - 1, o, h, lo, c, volume, value, count, buy_volume, buy_value,
            first_id, first_id + count - 1,
        )  # fmt: skip

    def _quote(self, price: int, qty: int) -> int:
        """The plant's quote figure of one trade (``payloads.builders.quote_units``)."""
        if self._linear:
            return price * qty
        inst = self.inst
        scale: int = 10 ** (inst.price_decimals + 8 - inst.qty_decimals)
        return (qty * inst.contract_size * scale + price // 2) // price

    # -- trades --------------------------------------------------------------------------

    def trades(self, minute: Minute) -> list[PastTrade]:
        """``minute``'s trades in time order; their aggregate is ``minute.kline``. The last
        few minutes laid out are kept (a warm start and a paging client ask for the same)."""
        kept = self._trades.get(minute.key)
        if kept is not None:
            return kept
        made = self._lay_out(minute)
        if len(self._trades) >= _TRADE_MINUTES_KEPT:
            del self._trades[next(iter(self._trades))]
        self._trades[minute.key] = made
        return made

    def _lay_out(self, minute: Minute) -> list[PastTrade]:
        k = minute.kline
        rng = stream(mix(minute.key, 1))
        body = [(p, q, m) for p, q, n, m in minute.cells for _ in range(n)]
        n = len(body) + MIN_TRADES
        times = sorted(k.open_ms + int(rng.random() * MINUTE_MS) for _ in range(n))
        # the path the body follows: open → first extreme → second extreme → close
        first_at, second_at = sorted((1 + int(rng.random() * (n - 2)), 1 + int(rng.random() * (n - 2))))
        if first_at == second_at:
            second_at = min(n - 2, first_at + 1) if first_at < n - 2 else first_at - 1
            first_at, second_at = min(first_at, second_at), max(first_at, second_at)
        pins = minute.pins
        order: list[tuple[int, int, bool] | None] = [None] * n
        order[0], order[first_at], order[second_at], order[-1] = pins
        anchors = ((0, pins[0][0]), (first_at, pins[1][0]), (second_at, pins[2][0]), (n - 1, pins[3][0]))
        slots = [i for i in range(n) if order[i] is None]
        latent = [_along(anchors, i) + rng.gauss() * (k.high - k.low) * 0.15 for i in slots]
        body.sort()
        ranked = sorted(range(len(slots)), key=latent.__getitem__)
        for rank, index in enumerate(ranked):
            order[slots[index]] = body[rank]
        out = []
        trade_id = k.first_id
        for t, trade in zip(times, order, strict=True):
            assert trade is not None
            out.append(PastTrade(trade_id, t, trade[0], trade[1], trade[2]))
            trade_id += 1
        return out


def _along(anchors: Sequence[tuple[int, int]], i: int) -> float:
    """The price the straight lines between ``anchors`` (position, price) give at ``i``."""
    for (i0, p0), (i1, p1) in itertools.pairwise(anchors):
        if i <= i1:
            return p0 + (p1 - p0) * (i - i0) / max(1, i1 - i0)
    return float(anchors[-1][1])


def _lot_value(inst: Instrument, reference: int) -> float:
    """What one lot is worth at the reference price, in the quote currency."""
    lot: float = inst.step / 10**inst.qty_decimals
    if inst.market is Market.UM:
        price: float = reference / 10**inst.price_decimals
        return price * lot
    return inst.contract_size * lot  # COIN-M: a contract is a fixed number of USD

