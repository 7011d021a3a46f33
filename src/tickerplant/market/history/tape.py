"""One symbol's simulated past, minute by minute: how many trades, at what prices and
sizes, which side took; and, only when asked, the trades of a minute themselves.

**Counts and ids** are ``counts.TradeCounts``': a minute's trades and aggregate trades,
and the ids of its first of each, contiguous per symbol from the listing.

**A minute** (``Minute``) is four *pin* trades and a *body* of cells, identical trades at
one price, size and side, drawn by ``minute.draw`` (its docstring tells how): so the kline's
volume, quote volume and taker-buy figures are sums over a few cells, exactly what the
trades add up to, whatever the trade count, and a kline alone (``SymbolTape.klines``) is made
without the cells.

**The trades** (``SymbolTape.trades``) lay the minute's aggregates out in time: each pin
alone, the body's trades of one price and side in runs (the minute's joins spread over its
groups, each keeping one run at least; a run is one taker order's fills at one price, at one
moment: one aggregate, spec §4.4), the pins first, at the high's and low's moments and last,
the runs in between, ordered along a random path from the open through the extremes to the
close by matching ranks, so the tape reads like a market and its sum is the kline by
construction.
"""

from __future__ import annotations

import itertools
import math
import operator
import random
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import NamedTuple, TypeVar

from tickerplant.market.history.counts import MIN_TRADES, TradeCounts
from tickerplant.market.history.draws import mix, name_key, split, stream
from tickerplant.market.history.minute import CLASS_MEAN, Makings, cells, draw
from tickerplant.market.history.path import AssetPath, drained
from tickerplant.market.instruments import ContractType, Instrument, Market
from tickerplant.market.klines.candles import Kline
from tickerplant.market.trades.history import Aggregate
from tickerplant.market.units import DAY_MS, HOUR_MS, MINUTE_MS, YEAR_MS

__all__ = ["MIN_TRADES", "TRADES_PER_ACTION", "Minute", "PastTrade", "Row", "SymbolTape"]

# trades a minute per action a second of the symbol's share of --sim-rate: what the live
# simulator makes (about an eighth of actions take, sweeping a level or few)
# (measured: 60 simulated minutes of two seeds at 400 actions/s, the perpetuals' 8 to 12)
TRADES_PER_ACTION = 9.6
_TRADE_VALUE = 1_650.0  # the mean trade's value = _TRADE_VALUE * activity ** 0.55 (quote currency)
# A delivery contract's thin books split a taker order into more, smaller fills (measured:
# about 1.8 times the trades, a third of the size)
_DELIVERY_TRADES, _DELIVERY_SIZE = 1.8, 1 / 2.8
BASIS_PER_YEAR = 0.05  # the quarterlies' contango, as the catalogue prices them


class PastTrade(NamedTuple):
    """One trade of the past, in the plant's units."""

    trade_id: int
    time_ms: int
    price: int  # price units
    qty: int  # quantity units
    buyer_is_maker: bool  # True: the seller took
    agg_id: int  # the aggregate trade it is part of


class Minute(NamedTuple):
    """A minute's kline and what its trades are made of (see the module docstring)."""

    kline: Kline
    pins: tuple[tuple[int, int, bool], ...]  # (price units, qty units, buyer is maker), in order
    cells: tuple[tuple[int, int, int, bool], ...]  # (price units, qty units, count, buyer is maker)
    high_first: bool  # the high's pin comes before the low's
    key: int  # where its trades' draws come from
    first_agg_id: int  # the id of its first aggregate trade
    joins: int  # its trades that join the aggregate of the trade before them


Row = TypeVar("Row", PastTrade, Aggregate)  # a trade or an aggregate trade, id first
_HOURS_KEPT = 4  # hours of minutes a tape keeps made
_MINUTES_A_PIECE = 15  # of a cold hour, made in one piece (``minute_pieces``: ~4 ms)
_TRADE_MINUTES_KEPT = 8  # minutes of trades a tape keeps laid out


class SymbolTape:
    """The past of one symbol (see the module docstring)."""

    def __init__(
        self, inst: Instrument, path: AssetPath, seed: int, trades_per_minute: float, reference: int,
        start_ms: int | None = None,
    ) -> None:  # fmt: skip
        """``reference``: the asset's reference price in ``inst``'s price units (the
        perpetual's catalogue price); ``trades_per_minute``: the mean rate; ``start_ms``: no
        minute before it is served (None: from the listing). Ids count from the listing day
        whatever the start, so a minute's are the same however much of the past is served."""
        self.inst = inst
        self.path = path
        delivery = inst.contract_type is not ContractType.PERPETUAL
        self.delivery_ms = inst.delivery_ms if delivery else None
        self.rate = max(trades_per_minute * (_DELIVERY_TRADES if delivery else 1.0), float(MIN_TRADES))
        self.key = name_key(seed, "tape", inst.symbol)
        self._hours: dict[int, list[Minute]] = {}  # the last hours whose minutes were made (a few)
        self._trades: dict[int, list[PastTrade]] = {}  # minute key -> its trades, the last few
        self.reference_ticks = reference / inst.tick  # in ticks
        self.first_minute = -(-max(inst.onboard_ms, start_ms or 0) // MINUTE_MS)  # the first served
        self.counts = TradeCounts(path, self.key, self.rate, inst.onboard_ms // DAY_MS)
        self._linear = inst.market is Market.UM
        # COIN-M: a trade's quote figure is (qty × this + price // 2) // price (``_quote``)
        scale = 10 ** (inst.price_decimals + 8 - inst.qty_decimals)
        self.quote_factor: int | None = None if self._linear else int(inst.contract_size) * scale
        lot_value = _lot_value(inst, reference)
        mean_lots = _TRADE_VALUE * max(inst.activity, 1e-6) ** 0.55 / lot_value
        if delivery:
            mean_lots *= _DELIVERY_SIZE
        self.base_lots = max(1, round(mean_lots / CLASS_MEAN))

    def mean_trade_qty(self) -> float:
        """The mean size of its trades, in quantity units (the size classes' mean)."""
        return float(self.base_lots * CLASS_MEAN * self.inst.step)

    # -- counts and ids (counts.py) ---------------------------------------------------------

    def day_count(self, day: int) -> int:
        """Trades on ``day`` (days since the epoch)."""
        return self.counts.day_count(day)

    def activity_at(self, time_ms: int) -> float:
        """How busy the hour holding ``time_ms`` is, as a multiple of ``rate``: its trades a
        minute over the mean. The live simulator trades at ``rate`` times this, so the live
        market goes on as busy as its past was."""
        hour = time_ms // HOUR_MS
        count: int = self.counts.hour_counts(hour // 24)[hour % 24]
        return count / 60.0 / self.rate

    def first_id(self, minute: int) -> int:
        """The id of ``minute``'s first trade: the listing day's first is 1."""
        return self.counts.first_ids(minute)[0]

    def live_ids(self, time_ms: int) -> tuple[int, int]:
        """The first trade id and aggregate id of a live market started at ``time_ms``:
        the next after the past's, which ends before its minute."""
        return self.counts.live_ids(time_ms)

    def minute_at_id(self, trade_id: int, last_minute: int) -> int:
        """The minute holding trade ``trade_id``, ``last_minute`` at most; for an id before
        the listing, the first minute served."""
        return max(self.counts.minute_at(trade_id, False, last_minute), self.first_minute)

    def minute_at_agg_id(self, agg_id: int, last_minute: int) -> int:
        """``minute_at_id`` for the aggregate ``agg_id``."""
        return max(self.counts.minute_at(agg_id, True, last_minute), self.first_minute)

    # -- prices --------------------------------------------------------------------------

    def price(self, log_price: float, time_ms: int) -> int:
        """The symbol's price for the path's ``log_price`` at ``time_ms``, on its tick grid
        (the quarterlies carry their contango, shrinking to delivery)."""
        ticks = self.reference_ticks * math.exp(log_price)
        if self.delivery_ms is not None:
            ticks *= 1.0 + BASIS_PER_YEAR * max(0, self.delivery_ms - time_ms) / YEAR_MS
        return max(1, round(ticks)) * self.inst.tick

    def bar_prices(self, first: int, count: int, scale: int = 1) -> list[tuple[int, int, int, int]]:
        """The open, high, low and close of ``count`` minutes from ``first`` (minutes since
        the epoch), each ``price`` × ``scale`` (a mark's units: ``price_to_mark``'s scale),
        a path's hour read once for its minutes (the past's marks read a funding interval's,
        the tape an hour's draws)."""
        reference, tick, delivery_ms = self.reference_ticks, self.inst.tick * scale, self.delivery_ms
        exp, path = math.exp, self.path
        out: list[tuple[int, int, int, int]] = []
        minute, end = first, first + count
        while minute < end:
            hour = minute // 60
            bars = path.minutes(hour)
            for bar in bars[minute - hour * 60 : min(60, end - hour * 60)]:
                o, h, lo, c = bar[0], bar[1], bar[2], bar[3]
                if delivery_ms is None:
                    out.append((
                        max(1, round(reference * exp(o))) * tick, max(1, round(reference * exp(h))) * tick,
                        max(1, round(reference * exp(lo))) * tick, max(1, round(reference * exp(c))) * tick,
                    ))  # fmt: skip
                else:  # as ``price``: the contango multiplies the price, in that order
                    carry = 1.0 + BASIS_PER_YEAR * max(0, delivery_ms - minute * MINUTE_MS) / YEAR_MS
                    p = [max(1, round(reference * exp(x) * carry)) * tick for x in (o, h, lo, c)]
                    out.append((p[0], p[1], p[2], p[3]))
                minute += 1
        return out

    # -- minutes -----------------------------------------------------------------------

    def minute(self, minute: int) -> Minute:
        """Minute ``minute`` (minutes since the epoch): its kline and its makings."""
        return self.minutes(minute // 60)[minute % 60]

    def minutes(self, hour: int) -> list[Minute]:
        """The 60 minutes of ``hour`` (hours since the epoch). The last few hours made are
        kept: a walk minute by minute (the latest trades, a warm start) makes each hour once."""
        return drained(self.minute_pieces(hour))

    def minute_pieces(self, hour: int) -> Generator[None, None, list[Minute]]:
        """``minutes``, made ``_MINUTES_A_PIECE`` minutes a piece (a cold hour is ~15 ms: its
        minutes are one stream of draws, in order)."""
        kept = self._hours.get(hour)
        if kept is not None:
            return kept
        made: list[Minute] = []
        for minute in self._make_minutes(hour):
            made.append(minute)
            if len(made) % _MINUTES_A_PIECE == 0 and len(made) < 60:
                yield
        if len(self._hours) >= _HOURS_KEPT:
            del self._hours[next(iter(self._hours))]
        self._hours[hour] = made
        return made

    def klines(self, hour: int) -> list[Kline]:
        """The 60 minute klines of ``hour``, without their trades' makings when the hour's
        minutes are not already made (a coarse kline of a cold past reads many hours)."""
        kept = self._hours.get(hour)
        if kept is not None:
            return [m.kline for m in kept]
        return [made.kline for made, _ in self._drawn(hour)]

    def day_klines(self, day: int) -> list[Kline] | None:
        """``day``'s 24 hour klines, each the sum of the minutes ``klines`` makes, drawn at
        once (``whole_day``: a cold day in a few milliseconds); None when a minute of the
        day is not served or its sums are too large for that (make it from the minutes)."""
        if day * 1440 < self.first_minute:
            return None
        # numpy (~15-20 MB and ~70-100 ms to import) is loaded by the first cold day a process
        # draws, not by every process that starts
        from tickerplant.market.history import whole_day

        inst = self.inst
        shape = whole_day.Shape(
            self.key, self.reference_ticks, inst.tick, inst.step, self.base_lots, self.delivery_ms,
            BASIS_PER_YEAR, self.quote_factor,
        )  # fmt: skip
        return whole_day.hour_klines(self.path, self.counts, shape, day)

    def _drawn(self, hour: int) -> Iterator[tuple[Makings, int]]:
        """Each minute of ``hour``'s draws and kline, with its first aggregate trade's id."""
        counts = self.counts.minute_counts(hour)
        joins = self.counts.minute_joins(hour)
        prices = self.bar_prices(hour * 60, 60)  # the hour's bars read once (``price`` each)
        trade_id, agg_id = self.counts.first_ids(hour * 60)
        rng = stream(mix(self.key, hour, 60))  # one generator for the hour's minutes, in order
        inst, quote = self.inst, None if self._linear else self._quote
        tick, step, base_lots = inst.tick, inst.step, self.base_lots
        for i in range(60):
            open_ms = (hour * 60 + i) * MINUTE_MS
            made = draw(open_ms, prices[i], counts[i], trade_id, base_lots, tick, step, rng, quote)
            yield made, agg_id
            trade_id += counts[i]
            agg_id += counts[i] - joins[i]

    def _make_minutes(self, hour: int) -> Iterator[Minute]:
        joins = self.counts.minute_joins(hour)
        base, step = self.base_lots, self.inst.step
        for i, (made, agg_id) in enumerate(self._drawn(hour)):
            key, body = mix(self.key, hour * 60 + i), cells(made, base, step)
            yield Minute(made.kline, made.pins, body, made.high_first, key, agg_id, joins[i])

    def _quote(self, price: int, qty: int) -> int:
        """The plant's quote figure of one trade (``payloads.builders.quote_units``)."""
        if self.quote_factor is None:
            return price * qty
        return (qty * self.quote_factor + price // 2) // price

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

    def aggregates(self, minute: Minute) -> list[Aggregate]:
        """``minute``'s aggregate trades in time order (spec §4.4: ``f`` to ``l`` its trades,
        ``q`` their sum)."""
        out: list[Aggregate] = []
        for agg_id, joined in itertools.groupby(self.trades(minute), key=_agg_id):
            fills = list(joined)
            first, qty = fills[0], sum(t.qty for t in fills)
            last_id = fills[-1].trade_id
            maker = first.buyer_is_maker
            out.append(Aggregate(agg_id, first.trade_id, last_id, first.time_ms, first.price, qty, maker))
        return out

    def last_rows(
        self, limit: int, before_id: int | None, until_ms: int, rows: Callable[[Minute], Sequence[Row]],
        end_ms: int | None, reach: int,
    ) -> Generator[None, None, list[Row]]:  # fmt: skip
        """The last ``limit`` rows (``rows`` of each minute: trades or aggregates) with ids
        under ``before_id`` (None: any), at or before ``end_ms`` (None: any) and before
        ``until_ms``'s minute, ascending; looked for back over ``reach`` minutes at most.
        Made a minute a piece: it yields after each minute it read."""
        last = until_ms // MINUTE_MS - 1
        if end_ms is not None:
            last = min(last, end_ms // MINUTE_MS)
        out: list[Row] = []
        minute = last
        while len(out) < limit and minute >= self.first_minute and last - minute < reach:
            hour = yield from self.minute_pieces(minute // 60)
            kept = [
                row for row in rows(hour[minute % 60])
                if (before_id is None or row[0] < before_id) and (end_ms is None or row.time_ms <= end_ms)
            ]  # fmt: skip
            if kept:
                out[:0] = kept[-(limit - len(out)) :]
            minute -= 1
            yield
        return out

    def _lay_out(self, minute: Minute) -> list[PastTrade]:
        k = minute.kline
        rng = stream(mix(minute.key, 1))
        runs = _runs(minute, rng)
        n = len(runs) + MIN_TRADES  # the minute's aggregates
        times = sorted(k.open_ms + int(rng.random() * MINUTE_MS) for _ in range(n))
        # the path the runs follow: open → first extreme → second extreme → close
        first_at, second_at = sorted((1 + int(rng.random() * (n - 2)), 1 + int(rng.random() * (n - 2))))
        if first_at == second_at:
            second_at = min(n - 2, first_at + 1) if first_at < n - 2 else first_at - 1
            first_at, second_at = min(first_at, second_at), max(first_at, second_at)
        pins = minute.pins
        order: list[list[tuple[int, int, bool]] | None] = [None] * n
        order[0], order[first_at], order[second_at], order[-1] = ([pin] for pin in pins)
        anchors = ((0, pins[0][0]), (first_at, pins[1][0]), (second_at, pins[2][0]), (n - 1, pins[3][0]))
        slots = [i for i in range(n) if order[i] is None]
        latent = [_along(anchors, i) + rng.gauss() * (k.high - k.low) * 0.15 for i in slots]
        runs.sort()
        ranked = sorted(range(len(slots)), key=latent.__getitem__)
        for rank, index in enumerate(ranked):
            order[slots[index]] = runs[rank]
        out = []
        trade_id, agg_id = k.first_id, minute.first_agg_id
        for t, run in zip(times, order, strict=True):
            assert run is not None
            for price, qty, maker in run:  # one aggregate: fills at one price, one moment
                out.append(PastTrade(trade_id, t, price, qty, maker, agg_id))
                trade_id += 1
            agg_id += 1
        return out


_agg_id = operator.attrgetter("agg_id")


def _runs(minute: Minute, rng: random.Random) -> list[list[tuple[int, int, bool]]]:
    """The body's aggregates: its trades grouped by price and side, each group cut into
    runs, as many in all as the body's trades less the minute's joins (at least one a
    group: ``counts.JOIN_FLOOR`` leaves room for six groups), the runs beyond one a group
    shared by the groups' sizes, their lengths drawn."""
    groups: dict[tuple[int, bool], list[tuple[int, int, bool]]] = {}
    for price, qty, count, maker in minute.cells:
        groups.setdefault((price, maker), []).extend([(price, qty, maker)] * count)
    if not groups:
        return []  # a minute of its pins alone
    sizes = [len(group) for group in groups.values()]
    extra = sum(sizes) - minute.joins - len(sizes)  # runs beyond one a group
    out: list[list[tuple[int, int, bool]]] = []
    for group, share in zip(groups.values(), split(extra, [size - 1 for size in sizes]), strict=True):
        at = 0
        for length in split(len(group), [0.1 + rng.random() for _ in range(1 + share)], 1):
            out.append(group[at : at + length])
            at += length
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

