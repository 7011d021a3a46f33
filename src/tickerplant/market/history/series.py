"""The simulated past of a whole catalogue, as the REST answers want it: klines of every
interval and trades, from each symbol's listing to a given moment (the live start).

A minute's kline is the atom (``tape.SymbolTape``); every other interval is summed from the
minutes it holds (intervals under an hour), from hours (under a day) or from days, each
sum kept in a bounded LRU per level (``_MINUTE_HOURS_KEPT`` hours of minute klines,
``_HOURS_KEPT`` hour klines, ``_DAYS_KEPT`` day klines over all symbols), so an interval is
exactly the aggregate of the finer ones and of its trades, and a cold day costs its 1,440
minutes once: a cold hour's whole day is drawn at once (``whole_day``, the same figures as
its minutes summed), as an hour is most often asked for with the rest of its day. Nothing
is made at construction: start-up and idle memory do not depend on how long the past is.

Everything is a pure function of the seed, the catalogue's instruments, the trade rate and
the time asked about: not of when the server started, which only says up to where the past
is served (``until_ms``: the minute the live market starts in is live, not past).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import replace
from functools import partial

from tickerplant.market.history import farming
from tickerplant.market.history.farming import Drawn, Farm, Recipe, day_jobs
from tickerplant.market.history.past_spec import PastSpec
from tickerplant.market.history.path import AssetPath, Lru, drained
from tickerplant.market.history.tape import TRADES_PER_ACTION, Minute, PastTrade, Row, SymbolTape
from tickerplant.market.instruments import ContractType, Instrument, Market, catalogue
from tickerplant.market.klines.candles import Kline, close_time, open_time
from tickerplant.market.trades.history import Aggregate
from tickerplant.market.units import DAY_MS, HOUR_MS, MINUTE_MS

__all__ = ["SimulatedPast", "aggregate"]

_MINUTE_HOURS_KEPT = 256
_HOURS_KEPT = 8192
_DAYS_KEPT = 8192
_SUB_HOUR = frozenset({"1m", "3m", "5m", "15m", "30m"})
_SUB_DAY = frozenset({"1h", "2h", "4h", "6h", "8h", "12h"})
_DAYS_OR_MORE = frozenset({"1d", "3d", "1w", "1M"})
_DEFAULT_RATE = 400.0  # actions a second the rate is taken at when --sim-rate is max
_MAX_TRADE_MINUTES = 24 * 60  # minutes one trades answer looks through at most
_LAST_REACH = 2 * _MAX_TRADE_MINUTES  # back over two days at most (the window `aggTrades` answers, §7.9)


def aggregate(parts: Sequence[Kline], open_ms: int, close_ms: int) -> Kline:
    """One kline of ``parts`` (consecutive, ascending): the first's open, the extremes, the
    last's close, every sum."""
    first, last = parts[0], parts[-1]
    k = Kline(
        open_ms, close_ms, first.open, first.high, first.low, last.close, 0, 0, 0, 0, 0,
        first.first_id, last.last_id,
    )  # fmt: skip
    for p in parts:
        if p.high > k.high:
            k.high = p.high
        if p.low < k.low:
            k.low = p.low
        k.volume += p.volume
        k.quote += p.quote
        k.count += p.count
        k.taker_buy_volume += p.taker_buy_volume
        k.taker_buy_quote += p.taker_buy_quote
    return k


_PASTS_KEPT = 4
_PASTS: dict[tuple[object, ...], SimulatedPast] = {}


class SimulatedPast:
    """The past of ``instruments`` for ``seed`` at ``actions_per_s`` (None: ``max``)."""

    def __init__(
        self, instruments: Iterable[Instrument], seed: int, actions_per_s: float | None,
        history_start_ms: int | None = None,
    ) -> None:  # fmt: skip
        """``history_start_ms``: no past before it (None: from each symbol's listing)."""
        self.seed = seed
        self.history_start_ms = history_start_ms
        self.farm: Farm | None = None  # where a long answer's cold days are drawn (farming.py)
        self._in_flight = farming.InFlight()  # the farm's tasks not yet kept
        self.actions_per_s = _DEFAULT_RATE if actions_per_s is None else actions_per_s
        self.instruments = {inst.symbol: inst for inst in instruments}
        self.recipe: Recipe = (tuple(self.instruments.values()), seed, actions_per_s, history_start_ms)
        self._total_activity = sum(max(0.0, i.activity) for i in self.instruments.values()) or 1.0
        self._paths: dict[str, AssetPath] = {}
        self._tapes: dict[str, SymbolTape] = {}
        self._minute_klines: Lru[tuple[str, int], list[Kline]] = Lru(_MINUTE_HOURS_KEPT)
        self._hour_klines: Lru[tuple[str, int], Kline] = Lru(_HOURS_KEPT)
        self._day_klines: Lru[tuple[str, int], Kline] = Lru(_DAYS_KEPT)

    @classmethod
    def of(cls, instruments: Iterable[Instrument], spec: PastSpec) -> SimulatedPast:
        """The past of ``instruments`` under ``spec``: one object for equal arguments in a
        process (at most ``_PASTS_KEPT``), so that its bounded caches serve every server
        the process starts (tests start thousands; a past is a pure function of them).
        An instrument is read as the past reads it, its price the reference's (``_reference``):
        the listing the live market starts from (each price where the past ends, pump.py)
        has the source's past, warm from its warm start, not one of its own."""
        listed = tuple(instruments)
        read = tuple(replace(i, initial_price=_reference(i)) for i in listed)
        key = (read, spec.seed, spec.actions_per_s, spec.history_start_ms)
        found = _PASTS.get(key)
        if found is None:
            found = cls(listed, spec.seed, spec.actions_per_s, spec.history_start_ms)
            if len(_PASTS) >= _PASTS_KEPT:
                del _PASTS[next(iter(_PASTS))]
            _PASTS[key] = found
        return found

    def forget_minutes(self) -> None:
        """Every minute-level value kept let go (the paths' minutes, the tapes' minute counts,
        the minute klines), the days' and hours' kept: a farm's worker after each task, whose
        next draws the next days (``gateway/past_farm.draw``), not these minutes again."""
        for path in self._paths.values():
            path.forget_minutes()
        for tape in self._tapes.values():
            tape.counts.forget_minutes()
        self._minute_klines.clear()

    def tape(self, symbol: str) -> SymbolTape:
        tape = self._tapes.get(symbol)
        if tape is None:
            inst = self.instruments[symbol]
            path = self._paths.get(inst.base_asset)
            if path is None:
                path = AssetPath(self.seed, inst.base_asset, inst.daily_volatility)
                self._paths[inst.base_asset] = path
            share = max(0.0, inst.activity) / self._total_activity
            rate = TRADES_PER_ACTION * self.actions_per_s * share
            tape = SymbolTape(inst, path, self.seed, rate, _reference(inst), self.history_start_ms)
            self._tapes[symbol] = tape
        return tape

    def price_at(self, symbol: str, time_ms: int) -> int:
        """Where ``symbol``'s path is at ``time_ms``: the open of its minute (price units)."""
        tape = self.tape(symbol)
        return tape.price(tape.path.minute(time_ms // MINUTE_MS).open, time_ms - time_ms % MINUTE_MS)

    def first_trade_id(self, symbol: str, time_ms: int) -> int:
        """The id the past gives the first trade of ``time_ms``'s minute."""
        return self.tape(symbol).first_id(time_ms // MINUTE_MS)

    def live_ids(self, symbol: str, time_ms: int) -> tuple[int, int]:
        """The first trade id and aggregate trade id of a live market started at
        ``time_ms``: the next after the past's (``counts.TradeCounts.live_ids``)."""
        return self.tape(symbol).live_ids(time_ms)

    # -- klines --------------------------------------------------------------------------

    def klines(
        self, symbol: str, interval: str, start_ms: int | None, end_ms: int | None, limit: int, until_ms: int
    ) -> list[Kline]:
        """``symbol``'s klines of ``interval`` with `GET /fapi/v1/klines` semantics (§7.8:
        open times in [start, end], the first ``limit`` from the start, else the last up to
        the end), of the intervals wholly before ``until_ms`` and after the listing."""
        opens = self._kline_opens(symbol, interval, start_ms, end_ms, limit, until_ms)
        if interval == "1m":  # each hour's minutes looked up once (a warm start reads up to 1,440)
            hours = {hour: self._minutes(symbol, hour) for hour in dict.fromkeys(t // HOUR_MS for t in opens)}
            return [hours[t // HOUR_MS][t // MINUTE_MS % 60] for t in opens]
        return [self.kline(symbol, interval, t) for t in opens]

    def kline_pieces(
        self, symbol: str, interval: str, start_ms: int | None, end_ms: int | None, limit: int, until_ms: int
    ) -> Iterator[Drawn | None]:
        """What ``klines`` with these arguments reads, made a piece at a time (a day's hours,
        drawn whole, a few milliseconds; an hour of minutes, about one; a day's kline after
        its hours), for an answer made in pieces
        (``protocol/later.py``): it yields after each part it had to make. Parts past what
        the caches keep are not made here (the answer makes them, in one piece). A coarse
        answer's many cold days are drawn by ``farm`` first, each task yielded (``farming.py``)."""
        made = 0
        opens = self._kline_opens(symbol, interval, start_ms, end_ms, limit, until_ms)
        farm = self.farm
        if farm is not None and interval in _DAYS_OR_MORE:
            self._keep_farmed()
            cold = self._cold_days(symbol, interval, opens)
            for task in self._in_flight.ask(farm, self.recipe, (symbol,), cold, partial(day_jobs, symbol)):
                yield task  # until it is done (protocol/later.py); then what is done is kept
                self._keep_farmed()
        for t in opens:
            close_ms = close_time(interval, t)
            if interval in _SUB_HOUR:
                for hour in range(t // HOUR_MS, close_ms // HOUR_MS + 1):
                    if (symbol, hour) not in self._minute_klines and made < _MINUTE_HOURS_KEPT // 2:
                        made += 1
                        self._minutes(symbol, hour)
                        yield None
            elif interval == "1h" or interval in _SUB_DAY:
                for hour in self._listed(symbol, t, close_ms, HOUR_MS):
                    if (symbol, hour) not in self._hour_klines:
                        self._hour(symbol, hour)
                        yield None
            else:
                for day in self._listed(symbol, t, close_ms, DAY_MS):
                    if (symbol, day) in self._day_klines:
                        continue
                    for hour in self._listed(symbol, day * DAY_MS, (day + 1) * DAY_MS - 1, HOUR_MS):
                        if (symbol, hour) not in self._hour_klines:
                            self._hour(symbol, hour)
                            yield None
                    self._day(symbol, day)

    def _cold_days(self, symbol: str, interval: str, opens: list[int]) -> list[int]:
        """The listed days of the ``interval`` klines opened at ``opens`` whose kline is not kept."""
        days = self._day_klines
        return [
            day for t in opens for day in self._listed(symbol, t, close_time(interval, t), DAY_MS)
            if (symbol, day) not in days
        ]  # fmt: skip

    def _keep_farmed(self) -> None:
        """The days the farm's done tasks drew, kept (whoever asked for them)."""
        for (symbol,), drawn in self._in_flight.done():
            for kline in drawn:
                self._day_klines.put((symbol, kline.open_ms // DAY_MS), kline)

    def daily(self, symbol: str, days: list[int]) -> list[Kline]:
        """``symbol``'s kline of each of ``days`` (listed ones), what a farm's task draws."""
        return [self._day(symbol, day) for day in days]

    def _kline_opens(
        self, symbol: str, interval: str, start_ms: int | None, end_ms: int | None, limit: int, until_ms: int
    ) -> list[int]:
        """The open times ``klines`` answers, in time order."""
        if interval == "1s":
            return []  # the past is made of minutes: a second's kline is the live market's alone
        tape = self.tape(symbol)
        first = open_time(interval, tape.first_minute * MINUTE_MS)
        last = open_time(interval, until_ms) if until_ms > first else first
        # the intervals served: opens in [first, last), `last`'s interval holding until_ms
        out: list[int] = []
        step = 0 if interval == "1M" else close_time(interval, first) + 1 - first  # fixed: opens a range
        if start_ms is not None:
            t = open_time(interval, max(start_ms, first))
            if t < start_ms:
                t = close_time(interval, t) + 1
            stop = last if end_ms is None else min(last, end_ms + 1)
            if step:
                return list(range(t, stop, step)[: max(limit, 0)])
            while t < stop and len(out) < limit:
                out.append(t)
                t = close_time(interval, t) + 1
            return out
        if last <= first:
            return []
        t = open_time(interval, last - 1 if end_ms is None else min(end_ms, last - 1))
        if step:
            return list(range(t, first - 1, -step)[: max(limit, 0)])[::-1]
        while t >= first and len(out) < limit:
            out.append(t)
            t = open_time(interval, t - 1)
        out.reverse()
        return out

    def kline(self, symbol: str, interval: str, open_ms: int) -> Kline:
        """The ``interval`` kline opened at ``open_ms`` (listed minutes only)."""
        close_ms = close_time(interval, open_ms)
        if interval == "1m":
            return self._minutes(symbol, open_ms // HOUR_MS)[open_ms // MINUTE_MS % 60]
        if interval in _SUB_HOUR:
            minutes = self._minutes(symbol, open_ms // HOUR_MS)
            first = self.tape(symbol).first_minute * MINUTE_MS
            parts = [k for k in minutes if open_ms <= k.open_ms <= close_ms and k.open_ms >= first]
        elif interval == "1h":
            return self._hour(symbol, open_ms // HOUR_MS)
        elif interval in _SUB_DAY:
            parts = [self._hour(symbol, h) for h in self._listed(symbol, open_ms, close_ms, HOUR_MS)]
        elif interval == "1d":
            return self._day(symbol, open_ms // DAY_MS)
        else:
            parts = [self._day(symbol, d) for d in self._listed(symbol, open_ms, close_ms, DAY_MS)]
        return aggregate(parts, open_ms, close_ms)

    def span(self, symbol: str, start_ms: int, end_ms: int) -> Kline | None:
        """One kline of ``symbol``'s listed minutes opening in [``start_ms``, ``end_ms``)
        (minute-aligned), None when none is: the past's part of a kline the live market
        holds only the end of (``protocol/past.py``), summed from whole days, whole hours
        and minutes as the kline of an interval is, so it joins them exactly."""
        return drained(self.span_pieces(symbol, start_ms, end_ms))

    def span_pieces(self, symbol: str, start_ms: int, end_ms: int) -> Generator[None, None, Kline | None]:
        """``span``, made a piece at a time, as ``kline_pieces``: it yields after each hour of
        minutes or hour kline it had to make, and returns the span. Each part is read as it is
        made, not again at the end, where a bounded cache may have let it go."""
        parts: list[Kline] = []
        for t, length in self._span_parts(symbol, start_ms, end_ms):
            if length == MINUTE_MS:
                cold = (symbol, t // HOUR_MS) not in self._minute_klines
                parts.append(self._part(symbol, t, length))
                if cold:
                    yield
                continue
            day_start, day_end = (t, t + DAY_MS - 1) if length == DAY_MS else (t, t + HOUR_MS - 1)
            for hour in self._listed(symbol, day_start, day_end, HOUR_MS):
                if (symbol, hour) not in self._hour_klines:
                    self._hour(symbol, hour)
                    yield
            parts.append(self._part(symbol, t, length))
        return aggregate(parts, start_ms, end_ms - 1) if parts else None

    def _span_parts(self, symbol: str, start_ms: int, end_ms: int) -> Iterator[tuple[int, int]]:
        """(open, length) of the whole days, whole hours and minutes [start, end) holds, in
        time order, from the listing (the past's first minute) on."""
        t = max(start_ms, self.tape(symbol).first_minute * MINUTE_MS)
        while t < end_ms:
            length = next(n for n in (DAY_MS, HOUR_MS, MINUTE_MS) if t % n == 0 and t + n <= end_ms)
            yield t, length
            t += length

    def _part(self, symbol: str, t: int, length: int) -> Kline:
        if length == DAY_MS:
            return self._day(symbol, t // DAY_MS)
        if length == HOUR_MS:
            return self._hour(symbol, t // HOUR_MS)
        return self._minutes(symbol, t // HOUR_MS)[t // MINUTE_MS % 60]

    def _listed(self, symbol: str, open_ms: int, close_ms: int, length: int) -> range:
        first = self.tape(symbol).first_minute * MINUTE_MS // length
        return range(max(open_ms // length, first), close_ms // length + 1)

    def _minutes(self, symbol: str, hour: int) -> list[Kline]:
        tape = self.tape(symbol)
        return self._minute_klines.get((symbol, hour), lambda: tape.klines(hour))

    def _hour(self, symbol: str, hour: int) -> Kline:
        key = (symbol, hour)
        if key not in self._hour_klines and key not in self._minute_klines:
            day = hour // 24
            drawn = self.tape(symbol).day_klines(day)  # a cold hour: its whole day at once
            if drawn is not None:
                for k, kline in enumerate(drawn):
                    self._hour_klines.put((symbol, day * 24 + k), kline)
                return drawn[hour % 24]

        def make() -> Kline:
            first = self.tape(symbol).first_minute * MINUTE_MS
            parts = [k for k in self._minutes(symbol, hour) if k.open_ms >= first]
            return aggregate(parts, hour * HOUR_MS, (hour + 1) * HOUR_MS - 1)

        return self._hour_klines.get((symbol, hour), make)

    def _day(self, symbol: str, day: int) -> Kline:
        def make() -> Kline:
            hours = self._listed(symbol, day * DAY_MS, (day + 1) * DAY_MS - 1, HOUR_MS)
            return aggregate([self._hour(symbol, h) for h in hours], day * DAY_MS, (day + 1) * DAY_MS - 1)

        return self._day_klines.get((symbol, day), make)

    # -- trades --------------------------------------------------------------------------

    def trades(
        self, symbol: str, from_id: int | None, start_ms: int | None, end_ms: int | None, limit: int,
        until_ms: int,
    ) -> list[PastTrade]:  # fmt: skip
        """``symbol``'s trades with `GET /fapi/v1/aggTrades` semantics (§7.9): from the
        trade id ``from_id``, else from ``start_ms``, up to ``end_ms`` (inclusive) and
        ``limit``, before ``until_ms`` (the live start's minute)."""
        tape = self.tape(symbol)
        rows = self._walk(tape, from_id, False, start_ms, end_ms, limit, until_ms, tape.trades)
        return [t for t, _ in zip(rows, range(limit), strict=False)]

    def aggregates(
        self, symbol: str, from_id: int | None, start_ms: int | None, end_ms: int | None, limit: int,
        until_ms: int,
    ) -> list[Aggregate]:  # fmt: skip
        """``trades`` of the aggregate trades, ``from_id`` an aggregate id."""
        tape = self.tape(symbol)
        rows = self._walk(tape, from_id, True, start_ms, end_ms, limit, until_ms, tape.aggregates)
        return [a for a, _ in zip(rows, range(limit), strict=False)]

    def _walk(
        self, tape: SymbolTape, from_id: int | None, aggregates: bool, start_ms: int | None,
        end_ms: int | None, limit: int, until_ms: int, rows: Callable[[Minute], Sequence[Row]],
    ) -> Iterator[Row]:  # fmt: skip
        """The rows (``rows`` of each minute: trades or aggregates) from the id ``from_id``
        or from ``start_ms`` up to ``end_ms`` and before ``until_ms``'s minute."""
        until = until_ms // MINUTE_MS
        if until <= tape.first_minute:
            return
        if from_id is not None:
            minute = (tape.minute_at_agg_id if aggregates else tape.minute_at_id)(from_id, until - 1)
        else:
            minute = max(tape.first_minute, (start_ms or 0) // MINUTE_MS)
        floor_ms = start_ms or 0
        for m in range(minute, min(until, minute + _MAX_TRADE_MINUTES)):
            if end_ms is not None and m * MINUTE_MS > end_ms:
                return
            for row in rows(tape.minute(m)):
                if from_id is not None and row[0] < from_id:
                    continue
                if row.time_ms < floor_ms or (end_ms is not None and row.time_ms > end_ms):
                    continue
                yield row

    def last_trades(self, symbol: str, limit: int, before_id: int, until_ms: int) -> list[PastTrade]:
        """The last ``limit`` trades with ids under ``before_id`` and times before
        ``until_ms``'s minute, ascending."""
        return drained(self.last_trade_pieces(symbol, limit, before_id, until_ms))

    def last_aggregates(self, symbol: str, limit: int, before_id: int, until_ms: int) -> list[Aggregate]:
        """``last_trades`` of the aggregate trades, ``before_id`` an aggregate id."""
        return drained(self.last_aggregate_pieces(symbol, limit, before_id, until_ms))

    def last_trade_pieces(
        self, symbol: str, limit: int, before_id: int, until_ms: int
    ) -> Generator[None, None, list[PastTrade]]:
        """``last_trades`` made a minute a piece (``SymbolTape.last_rows``: ~1 ms a cold one)."""
        tape = self.tape(symbol)
        return tape.last_rows(limit, before_id, until_ms, tape.trades, None, _LAST_REACH)

    def last_aggregate_pieces(
        self, symbol: str, limit: int, before_id: int, until_ms: int
    ) -> Generator[None, None, list[Aggregate]]:
        """``last_aggregates`` made a minute a piece."""
        tape = self.tape(symbol)
        return tape.last_rows(limit, before_id, until_ms, tape.aggregates, None, _LAST_REACH)

    def aggregates_until(
        self, symbol: str, limit: int, end_ms: int, until_ms: int, before_id: int | None = None
    ) -> list[Aggregate]:
        """The last ``limit`` aggregate trades at or before ``end_ms``, before ``until_ms``'s
        minute and with ids under ``before_id``, ascending (`aggTrades` with only `endTime`)."""
        tape = self.tape(symbol)
        return drained(tape.last_rows(limit, before_id, until_ms, tape.aggregates, end_ms, _LAST_REACH))

    def cached(self) -> tuple[int, int, int]:
        """How many minute-hours, hour klines and day klines are kept (each bounded)."""
        return len(self._minute_klines), len(self._hour_klines), len(self._day_klines)


def _reference(inst: Instrument) -> int:
    """The asset's reference price in ``inst``'s price units: its market's perpetual's
    catalogue price, which no start moment changes (the quarterlies' own carry the contango
    of the day they were catalogued)."""
    return _catalogue_price(inst.market, inst.base_asset) or inst.initial_price


_PERPETUAL_PRICES: dict[tuple[Market, str], int] = {}


def _catalogue_price(market: Market, asset: str) -> int | None:
    if not _PERPETUAL_PRICES:
        for m in Market:
            for inst in catalogue(m, 0):
                if inst.contract_type is ContractType.PERPETUAL:
                    _PERPETUAL_PRICES[m, inst.base_asset] = inst.initial_price
    return _PERPETUAL_PRICES.get((market, asset))
