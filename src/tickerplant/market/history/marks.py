"""The simulated past's mark prices, index prices, premium indexes and funding, from the
same prices as its trades and by the live plant's formulas (``derivatives/mark_price.py``).

**The basis.** Each pair's perpetual trades at a premium ``b`` over its index: the sum of a
fast part (±2 bp, a keyed normal every ``_FAST_KNOT_MS``, linear between), a slow part
(±3 bp, every ``_SLOW_KNOT_MS``) and, on about one day in five, an *episode*: hours of a
premium of 0.05 % to 0.3 %, mostly positive (a crowded long). So most funding intervals'
average premium lies within the clamp and the funding rate is the 0.01 % baseline, and an
episode moves it away, as on Binance. ``b`` is a pure function of the pair and the minute.

**Per minute**, from the pair's perpetual's minute (its open, high, low and close, the
trades' prices): the index closes at ``close / (1 + b)`` and opens where the previous
minute's index closed (the path is one: a minute opens at the last one's close); its high
and low lie half as far out as the trades'. A symbol's premium index at each of the four
points is its own price over the index, minus one (``premium_units``); its mark price is
``mark_price(index, rate, time to funding, 30-minute basis, price)`` at each point, with
the rate the funding formula over the interval's premiums so far (one sample a minute,
time-weighted as Binance weights them) and the basis the mean of (close − index) over the
last 30 minutes. A bar's high and low are the highest and lowest of its four points; it
counts 60 samples (one a second, as the live market samples).

**Funding** at 00:00, 08:00 and 16:00 UTC: the rate over the interval's 480 minute
samples, the mark price at the close of its last minute.

A funding interval's minutes are made together and kept in a bounded LRU
(``_INTERVALS_KEPT`` intervals over all symbols), funding events in another
(``_FUNDINGS_KEPT``), klines' bars in a third (``_BARS_KEPT``); a funding is made from the
interval's closes alone (about 2.4 ms). What an answer reads can be made a piece at a time
first (``kline_pieces``, ``funding_pieces``: ``protocol/later.py``).
"""

from __future__ import annotations

from array import array
from collections.abc import Generator, Iterator
from functools import partial
from typing import NamedTuple

from tickerplant.market.derivatives.mark_price import (
    FUNDING_INTERVAL_MS,
    PremiumAverage,
    funding_rate,
    mark_price,
    price_to_mark,
)
from tickerplant.market.derivatives.mark_streams import FundingEvent
from tickerplant.market.history import farming
from tickerplant.market.history.draws import knotted, mix, name_key, uniform
from tickerplant.market.history.farming import Drawn
from tickerplant.market.history.path import Lru, drained
from tickerplant.market.history.series import SimulatedPast
from tickerplant.market.instruments import ContractType, Instrument, Market
from tickerplant.market.klines.candles import close_time, open_time
from tickerplant.market.klines.price_candles import PriceBar, PriceKind, premium_units
from tickerplant.market.units import DAY_MS, HOUR_MS, MINUTE_MS, fixed
from tickerplant.market.updates import MARK_DECIMALS

__all__ = ["PastFunding", "PastMarks"]

_FAST_KNOT_MS, _FAST_SD = 10 * MINUTE_MS, 2e-4
_SLOW_KNOT_MS, _SLOW_SD = 6 * HOUR_MS, 3e-4
_EPISODE_CHANCE = 0.2  # of a day holding an episode
_EPISODE_LEVEL = (5e-4, 3e-3)
_BASIS_MINUTES = 30
_INTERVAL_MINUTES = FUNDING_INTERVAL_MS // MINUTE_MS
_KEPT_A_PIECE = 16  # kept intervals folded as one piece of ``span_made`` (~0.1 ms each)
_INTERVALS_KEPT = 512
_FUNDINGS_KEPT = 16_384
_BARS_KEPT = 16_384  # klines' bars over all symbols, kinds and intervals (~100 B each)
_SAMPLES = 60  # a minute's samples, one a second


class PastFunding(NamedTuple):
    symbol: str
    funding_ms: int
    rate: int  # mark units (1e-8)
    mark: int  # mark units

    def event(self) -> FundingEvent:
        """This funding as the live ones are told (``mark_streams.FundingEvent``, its rate and
        mark as text, told at its time): a `fundingRate` row's, and what the venue settles a
        missed one by."""
        rate, mark = fixed(self.rate, MARK_DECIMALS), fixed(self.mark, MARK_DECIMALS)
        return FundingEvent(self.symbol, self.funding_ms, rate, mark, self.funding_ms)


# one funding interval's minutes of one symbol, by ``PriceKind`` (mark, index, premium): each
# an array of the minutes' (open, high, low, close) in turn, mark units, 8 bytes a value. (As
# a tuple of tuples of ints a minute took ~650 bytes, and the 512 intervals kept ~160 MB: a
# farm's worker that had drawn one symbol's daily mark klines held that much.)
_Interval = tuple["array[int]", "array[int]", "array[int]"]


class PastMarks:
    """Mark, index and premium klines and funding events of ``past``'s symbols."""

    def __init__(self, past: SimulatedPast) -> None:
        self.past = past
        self._intervals: Lru[tuple[str, int], _Interval] = Lru(_INTERVALS_KEPT)
        self._basis_keys: dict[tuple[Market, str], int] = {}
        self._fundings: Lru[tuple[str, int], PastFunding] = Lru(_FUNDINGS_KEPT)
        self._bars: Lru[tuple[str, PriceKind, str, int], PriceBar] = Lru(_BARS_KEPT)
        self._in_flight = farming.InFlight()  # the past's farm's tasks of bars not yet kept
        perpetuals = {
            (i.market, i.pair): i.symbol
            for i in past.instruments.values()
            if i.contract_type is ContractType.PERPETUAL
        }
        self._reference = {
            i.symbol: perpetuals.get((i.market, i.pair), i.symbol) for i in past.instruments.values()
        }

    def forget_minutes(self) -> None:
        """The funding intervals' minutes kept, let go (``SimulatedPast.forget_minutes``)."""
        self._intervals.clear()

    def reference(self, symbol: str) -> str:
        """The contract whose prices give ``symbol``'s pair's index: its perpetual."""
        return self._reference[symbol]

    # -- the basis -------------------------------------------------------------------------

    def basis(self, inst: Instrument, first_ms: int, count: int) -> list[float]:
        """The perpetual's premium over its pair's index at ``count`` minutes from
        ``first_ms`` (a whole minute), one a minute."""
        key = self._basis_keys.get((inst.market, inst.pair))
        if key is None:
            key = name_key(self.past.seed, "basis", inst.market.value, inst.pair)
            self._basis_keys[inst.market, inst.pair] = key
        times = range(first_ms, first_ms + count * MINUTE_MS, MINUTE_MS)
        fast = knotted(key, 1, times, _FAST_KNOT_MS)
        slow = knotted(key, 2, times, _SLOW_KNOT_MS)
        out = [_FAST_SD * f + _SLOW_SD * s for f, s in zip(fast, slow, strict=True)]
        for day in range(first_ms // DAY_MS, times[-1] // DAY_MS + 1):
            if uniform(mix(key, 3, day)) >= _EPISODE_CHANCE:
                continue
            start = day * DAY_MS + int(uniform(mix(key, 4, day)) * 16) * HOUR_MS
            length = (4 + int(uniform(mix(key, 5, day)) * 12)) * HOUR_MS
            low, high = _EPISODE_LEVEL
            level = low + (high - low) * uniform(mix(key, 6, day))
            level = level if uniform(mix(key, 7, day)) < 0.7 else -level
            for i, t in enumerate(times):
                if start <= t < start + length:
                    out[i] += level
        return out

    # -- minutes -----------------------------------------------------------------------

    def minute_bars(self, symbol: str, kind: PriceKind, first_ms: int, last_ms: int) -> list[PriceBar]:
        """``symbol``'s 1-minute ``kind`` bars opening in [first_ms, last_ms], listed ones."""
        tape = self.past.tape(symbol)
        start = max(first_ms, tape.first_minute * MINUTE_MS)
        start += -start % MINUTE_MS
        out: list[PriceBar] = []
        t = start
        while t <= last_ms:
            interval = t // FUNDING_INTERVAL_MS
            values = self._interval(symbol, interval)[kind]
            end = min(last_ms, (interval + 1) * FUNDING_INTERVAL_MS - 1)
            i = 4 * ((t - interval * FUNDING_INTERVAL_MS) // MINUTE_MS)
            while t <= end:
                o, h, low, c = values[i : i + 4]
                out.append(PriceBar(t, t + MINUTE_MS - 1, o, h, low, c, _SAMPLES))
                t += MINUTE_MS
                i += 4
        return out

    def span(self, symbol: str, kind: PriceKind, start_ms: int, end_ms: int) -> PriceBar | None:
        """One ``kind`` bar of the listed minutes opening in [``start_ms``, ``end_ms``), None
        when none is: the past's part of a bar the live market holds only the end of
        (``protocol/past.py``)."""
        return drained(self.span_made(symbol, kind, start_ms, end_ms))

    def span_made(
        self, symbol: str, kind: PriceKind, start_ms: int, end_ms: int
    ) -> Generator[None, None, PriceBar | None]:
        """``span``, a funding interval's minutes a piece: it yields after each it had to make
        (and after every ``_KEPT_A_PIECE`` kept ones, each a fold of its minutes), and returns
        the bar. Each interval's minutes are read as they are made, folded into the bar, not
        again at the end, where the bounded cache may have let them go."""
        first_ms = max(start_ms, self.past.tape(symbol).first_minute * MINUTE_MS)
        first_ms += -first_ms % MINUTE_MS
        last_ms = end_ms - 1
        opened = high = low = close = count = kept = 0
        for n in range(first_ms // FUNDING_INTERVAL_MS, last_ms // FUNDING_INTERVAL_MS + 1):
            cold = (symbol, n) not in self._intervals
            begin = n * FUNDING_INTERVAL_MS
            low_i = (max(first_ms, begin) - begin) // MINUTE_MS
            high_i = (min(last_ms, begin + FUNDING_INTERVAL_MS - 1) - begin) // MINUTE_MS
            values = self._interval(symbol, n)[kind]
            for i in range(4 * low_i, 4 * high_i + 4, 4):
                o, h, lo, c = values[i : i + 4]
                if not count:
                    opened, high, low = o, h, lo
                elif h > high:
                    high = h
                if lo < low:
                    low = lo
                close = c
                count += 1
            kept = 0 if cold else kept + 1
            if cold or kept == _KEPT_A_PIECE:
                kept = 0
                yield
        return PriceBar(start_ms, last_ms, opened, high, low, close, _SAMPLES * count) if count else None

    def span_pieces(self, symbol: str, start_ms: int, end_ms: int) -> Iterator[None]:
        """What ``span`` reads, made a funding interval's minutes a piece, as ``kline_pieces``."""
        first_ms = max(start_ms, self.past.tape(symbol).first_minute * MINUTE_MS)
        if first_ms >= end_ms:
            return
        for n in range(first_ms // FUNDING_INTERVAL_MS, (end_ms - 1) // FUNDING_INTERVAL_MS + 1):
            if (symbol, n) not in self._intervals:
                yield from self._interval_paths(symbol, n)
                self._interval(symbol, n)
                yield

    def klines(
        self, symbol: str, kind: PriceKind, interval: str, start_ms: int | None, end_ms: int | None,
        limit: int, until_ms: int,
    ) -> list[PriceBar]:  # fmt: skip
        """``kind``'s klines of ``interval`` with `klines` semantics (§7.8), of the intervals
        wholly before ``until_ms`` and after the listing."""
        opens = self._kline_opens(symbol, interval, start_ms, end_ms, limit, until_ms)
        return [self._bar(symbol, kind, interval, t) for t in opens]

    def kline_pieces(
        self, symbol: str, kind: PriceKind, interval: str, start_ms: int | None, end_ms: int | None,
        limit: int, until_ms: int,
    ) -> Iterator[Drawn | None]:  # fmt: skip
        """What ``klines`` with these arguments reads, made a funding interval's minutes a
        piece (a few milliseconds each), for an answer made in pieces (``protocol/later.py``):
        it yields after each interval it had to make, and keeps each bar made. The bars of a
        long answer are made by the past's farm first, each task yielded (``farming.py``)."""
        opens = self._kline_opens(symbol, interval, start_ms, end_ms, limit, until_ms)
        farm = self.past.farm
        if farm is not None:
            self._keep_farmed()
            cold = [t for t in opens if (symbol, kind, interval, t) not in self._bars]
            bar_ms = close_time(interval, opens[0]) + 1 - opens[0] if opens else MINUTE_MS
            jobs = partial(farming.bar_jobs, symbol, kind, interval, bar_ms)
            for task in self._in_flight.ask(farm, self.past.recipe, (symbol, kind, interval), cold, jobs):
                yield task  # until it is done (protocol/later.py); then what is done is kept
                self._keep_farmed()
        for t in opens:
            if (symbol, kind, interval, t) in self._bars:
                continue
            first_ms = max(t, self.past.tape(symbol).first_minute * MINUTE_MS)
            last_ms = close_time(interval, t)
            for n in range(first_ms // FUNDING_INTERVAL_MS, last_ms // FUNDING_INTERVAL_MS + 1):
                if (symbol, n) not in self._intervals:
                    yield from self._interval_paths(symbol, n)
                    self._interval(symbol, n)
                    yield None
            self._bar(symbol, kind, interval, t)

    def _keep_farmed(self) -> None:
        """The bars the farm's done tasks made, kept (whoever asked for them)."""
        for (symbol, kind, interval), made in self._in_flight.done():
            for bar in made:
                self._bars.put((symbol, kind, interval, bar.open_ms), bar)

    def bars(self, symbol: str, kind: PriceKind, interval: str, opens: list[int]) -> list[PriceBar]:
        """The ``interval`` bars opened at ``opens``: what a farm's task makes."""
        return [self._bar(symbol, kind, interval, t) for t in opens]

    def _bar(self, symbol: str, kind: PriceKind, interval: str, open_ms: int) -> PriceBar:
        """The ``interval`` bar opened at ``open_ms``: its minutes' aggregate, kept."""

        def make() -> PriceBar:
            end = close_time(interval, open_ms)
            bars = self.minute_bars(symbol, kind, open_ms, end)
            high, low = max(b.high for b in bars), min(b.low for b in bars)
            return PriceBar(open_ms, end, bars[0].open, high, low, bars[-1].close, _SAMPLES * len(bars))

        return self._bars.get((symbol, kind, interval, open_ms), make)

    def _kline_opens(
        self, symbol: str, interval: str, start_ms: int | None, end_ms: int | None, limit: int, until_ms: int
    ) -> list[int]:
        """The open times ``klines`` answers, in time order."""
        first = open_time(interval, self.past.tape(symbol).first_minute * MINUTE_MS)
        last = open_time(interval, until_ms)
        opens: list[int] = []
        if start_ms is not None:
            t = open_time(interval, max(start_ms, first))
            if t < start_ms:
                t = close_time(interval, t) + 1
            while t < last and (end_ms is None or t <= end_ms) and len(opens) < limit:
                opens.append(t)
                t = close_time(interval, t) + 1
        elif last > first:
            t = open_time(interval, last - 1 if end_ms is None else min(end_ms, last - 1))
            while t >= first and len(opens) < limit:
                opens.append(t)
                t = open_time(interval, t - 1)
            opens.reverse()
        return opens

    # -- funding -----------------------------------------------------------------------

    def funding(
        self, symbol: str, start_ms: int | None, end_ms: int | None, limit: int, until_ms: int
    ) -> list[PastFunding]:
        """A perpetual's funding events with `fundingRate` semantics (§7.9): from a start the
        first ``limit``, else the last up to the end; at or before ``until_ms`` (its interval
        wholly before it), after the listing."""
        indexes = self._funding_indexes(symbol, start_ms, end_ms, limit, until_ms)
        return [self._funding(symbol, n) for n in indexes]

    def funding_pieces(
        self, symbol: str, start_ms: int | None, end_ms: int | None, limit: int, until_ms: int
    ) -> Iterator[None]:
        """What ``funding`` with these arguments reads, made one event a piece (about 2.4 ms
        each), for an answer made in pieces (``protocol/later.py``): it yields after each
        event it had to make, none for an event kept."""
        for n in self._funding_indexes(symbol, start_ms, end_ms, limit, until_ms):
            if (symbol, n) not in self._fundings:
                self._funding(symbol, n)
                yield

    def _funding_indexes(
        self, symbol: str, start_ms: int | None, end_ms: int | None, limit: int, until_ms: int
    ) -> range:
        """The funding times (in intervals since the epoch) ``funding`` answers."""
        inst = self.past.instruments[symbol]
        if inst.contract_type is not ContractType.PERPETUAL:
            return range(0)
        tape = self.past.tape(symbol)
        # the first funding that ends an interval wholly listed
        first = -(-tape.first_minute * MINUTE_MS // FUNDING_INTERVAL_MS) + 1
        last = until_ms // FUNDING_INTERVAL_MS  # the last funding at or before until_ms
        if end_ms is not None:
            last = min(last, end_ms // FUNDING_INTERVAL_MS)
        if start_ms is not None:
            lo = max(first, -(-start_ms // FUNDING_INTERVAL_MS))
            return range(lo, min(last, lo + limit - 1) + 1)
        return range(max(first, last - limit + 1), last + 1)

    def _funding(self, symbol: str, n: int) -> PastFunding:
        """The funding at ``n`` × 8 h, kept."""
        return self._fundings.get((symbol, n), lambda: self._make_funding(symbol, n))

    def _make_funding(self, symbol: str, n: int) -> PastFunding:
        """The funding at the end of interval ``n - 1`` (at ``n`` × 8 h): what the interval's
        minutes give (``_make_interval``), from their closes alone, as a funding needs no
        more (a perpetual is its own index's reference)."""
        past = self.past
        inst, tape = past.instruments[symbol], past.tape(symbol)
        decimals = inst.price_decimals
        end = n * FUNDING_INTERVAL_MS
        first = (end - FUNDING_INTERVAL_MS) // MINUTE_MS - _BASIS_MINUTES
        minutes = range(first, end // MINUTE_MS)
        path, price = tape.path, tape.price
        closes = [price_to_mark(price(path.minute(m).close, m * MINUTE_MS), decimals) for m in minutes]
        basis = self.basis(inst, first * MINUTE_MS, len(minutes))
        indexes = [max(1, round(c / (1.0 + b))) for c, b in zip(closes, basis, strict=True)]
        average = PremiumAverage()
        for k in range(_BASIS_MINUTES, len(minutes)):
            average.add(premium_units(closes[k], indexes[k]))
        rate = funding_rate(average.average())
        last = zip(closes[-_BASIS_MINUTES:], indexes[-_BASIS_MINUTES:], strict=True)
        basis_average = sum(c - i for c, i in last) // _BASIS_MINUTES
        mark = mark_price(indexes[-1], rate, 0, basis_average, closes[-1])
        return PastFunding(symbol, end, rate, mark)

    # -- one funding interval's minutes ---------------------------------------------------

    def _interval_paths(self, symbol: str, n: int) -> Iterator[None]:
        """The paths' minutes ``_make_interval`` reads (its own and its index's), drawn an
        hour a piece before it: a cold interval was one piece of 10-25 ms, half of it these."""
        first, past = n * _INTERVAL_MINUTES - _BASIS_MINUTES, self.past
        paths = {id(t.path): t.path for t in (past.tape(symbol), past.tape(self.reference(symbol)))}
        for path in paths.values():
            yield from path.minute_pieces(first, _BASIS_MINUTES + _INTERVAL_MINUTES)

    def _interval(self, symbol: str, n: int) -> _Interval:
        return self._intervals.get((symbol, n), lambda: self._make_interval(symbol, n))

    def _make_interval(self, symbol: str, n: int) -> _Interval:
        past = self.past
        inst = past.instruments[symbol]
        tape, ref = past.tape(symbol), past.tape(self.reference(symbol))
        decimals = inst.price_decimals
        perpetual = inst.contract_type is ContractType.PERPETUAL
        begin = n * FUNDING_INTERVAL_MS
        until_funding_end = begin + FUNDING_INTERVAL_MS

        first_minute = begin // MINUTE_MS - _BASIS_MINUTES  # the basis average's 30 before
        count = _BASIS_MINUTES + _INTERVAL_MINUTES
        scale = 10 ** (MARK_DECIMALS - decimals)  # ``price_to_mark``'s: the minutes in mark units
        refs = ref.bar_prices(first_minute, count, scale)
        owns = refs if tape is ref else tape.bar_prices(first_minute, count, scale)
        basis = self.basis(inst, first_minute * MINUTE_MS, count)
        index_closes = [max(1, round(r[3] / (1.0 + b))) for r, b in zip(refs, basis, strict=True)]
        bases = [o[3] - i for o, i in zip(owns, index_closes, strict=True)]
        average = PremiumAverage()
        window = sum(bases[1 : _BASIS_MINUTES + 1])  # the 30 minutes' basis to the first's close
        marks, indexes, premiums = out = array("q"), array("q"), array("q")
        premium, mark = premium_units, mark_price
        for k in range(_BASIS_MINUTES, count):
            if k > _BASIS_MINUTES:
                window += bases[k] - bases[k - _BASIS_MINUTES]
            ro, rh, rl, rc = refs[k]
            index_open, index_c = index_closes[k - 1], index_closes[k]
            half = 0.5 * index_c / max(rc, 1)
            index_h = max(index_open, index_c) + max(0, round((rh - max(ro, rc)) * half))
            index_l = min(index_open, index_c) - max(0, round((min(ro, rc) - rl) * half))
            po, ph, pl, pc = owns[k]
            p_o, p_h, p_l = premium(po, index_open), premium(ph, index_h), premium(pl, index_l)
            p_c = premium(pc, index_c)
            average.add(p_c)
            rate = funding_rate(average.average()) if perpetual else None
            basis_mean = window // _BASIS_MINUTES  # the last 30 minutes' basis, averaged
            until = until_funding_end - (first_minute + k + 1) * MINUTE_MS
            m_o = mark(index_open, rate, until, basis_mean, po)
            m_h = mark(index_h, rate, until, basis_mean, ph)
            m_l, m_c = mark(index_l, rate, until, basis_mean, pl), mark(index_c, rate, until, basis_mean, pc)
            marks.extend((m_o, max(m_o, m_h, m_l, m_c), min(m_o, m_h, m_l, m_c), m_c))
            indexes.extend((index_open, index_h, index_l, index_c))
            premiums.extend((p_o, max(p_o, p_h, p_l, p_c), min(p_o, p_h, p_l, p_c), p_c))
        return out
