"""The history answers' past: what happened before the live market started, for a source
that has one (the simulator's, ``market/history``), spliced in front of what the market
view holds since.

The seam is an interval's *boundary*: the open time of the ``interval`` kline holding the
live start. Klines opened before it are the past's, whole and closed; the one at the
boundary and later are the view's. The plant warms the boundary kline with the past's
minutes of the warm start's window (``history_s``, a day at most); the past's part of it
before the window (a week's, a month's) is added here, made once (``PastAnswers._share``).
A price kline's boundary bar holds the live samples alone: its interval's past minutes
before the start are added the same way. Trades before the live start's minute are
the past's; the view's ring holds the live ones, whose ids (the trades' and the aggregate
trades' each) go on from the past's. `aggTrades` reads the past's aggregates, `trades` and
`historicalTrades` its trades, one row each.

Each splice keeps `GET /fapi/v1/klines`' and `aggTrades`' semantics (§7.8, §7.9): from a
start, the first ``limit`` in time order, past then live; up to an end (or the latest),
the last ``limit``, live then as much past as is missing.

The past never changes, so what a query takes from it is kept (``_ANSWERS_KEPT`` of each
kind, the least recently used dropped first): a klines query's past rows as their encoded
bytes, the latest trades before the live ones (the longest asked, sliced), funding events,
price bars. A client polling the latest 1,500 klines or 1,000 trades pays for the past
once; each answer after is the live part and a copy of bytes (the stall bursts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

import msgspec

from tickerplant.market.derivatives.open_interest import value_units
from tickerplant.market.history.counts import id_bases
from tickerplant.market.history.interest import PastInterest
from tickerplant.market.history.marks import PastFunding, PastMarks
from tickerplant.market.history.past_spec import PastSpec
from tickerplant.market.history.path import Lru
from tickerplant.market.history.series import SimulatedPast, aggregate
from tickerplant.market.history.tape import PastTrade
from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.klines.candles import Kline, KlineSeries, open_time
from tickerplant.market.klines.price_candles import PriceBar, PriceKind
from tickerplant.market.trades.history import Aggregate
from tickerplant.protocol.later import Pending

__all__ = ["PastAnswers", "past_answers"]

_encode_row = msgspec.json.Encoder().encode
_ANSWERS_KEPT = 512  # kept per kind of past answer
_RECENT_MOST = 1000  # `trades`' largest limit: the past's latest trades are kept this long
_ROWS_A_PIECE = 250  # past trades' rows encoded in one piece of an answer (later.py)


def _inner(raw: msgspec.Raw) -> bytes:
    """The rows of a JSON array answer, without its brackets."""
    return bytes(raw)[1:-1]


class PastAnswers:
    """One server's past (``past``), before the live start ``live_from_ms``."""

    def __init__(self, past: SimulatedPast, spec: PastSpec) -> None:
        self.past = past
        self.live_from_ms = live_from_ms = spec.live_from_ms
        # this server's numbering of the past's trades and aggregates (market/history/counts.py)
        self.trade_base, self.agg_base = id_bases(live_from_ms)
        self.until_ms = spec.until_ms  # the first live minute
        self.warm_ms = spec.warm_ms  # the first minute the warm start gave the plant's candles
        self.marks = PastMarks(past)
        self.interest_past = PastInterest(past, live_from_ms)
        self._kline_rows: Lru[tuple[object, ...], tuple[bytes, int]] = Lru(_ANSWERS_KEPT)
        self._bars: Lru[tuple[object, ...], list[PriceBar]] = Lru(_ANSWERS_KEPT)
        self._funding: Lru[tuple[object, ...], list[PastFunding]] = Lru(_ANSWERS_KEPT)
        self._recent_rows: Lru[tuple[str, str, int], list[bytes]] = Lru(_ANSWERS_KEPT)
        self._trades: Lru[tuple[object, ...], list[Aggregate]] = Lru(_ANSWERS_KEPT)
        self._warmed: Lru[tuple[object, ...], bool] = Lru(_ANSWERS_KEPT)  # kline questions made
        self._shares: Lru[tuple[object, ...], Kline | PriceBar | None] = Lru(_ANSWERS_KEPT)

    def knows(self, symbol: str) -> bool:
        return symbol in self.past.instruments

    def holds_trades(
        self, inst: Instrument, from_id: int | None, start_ms: int | None, aggregates: bool = True
    ) -> bool:
        """Whether an ``aggTrades`` query (``aggregates`` False: a ``historicalTrades``
        query, ``from_id`` a trade id) reaches back before the live start."""
        if not self.knows(inst.symbol):
            return False
        if from_id is not None:
            return from_id < self._first_live_id(inst, aggregates)
        return start_ms is not None and start_ms < self.until_ms

    # -- klines (§7.8) --------------------------------------------------------------------

    def klines(
        self,
        inst: Instrument,
        interval: str,
        start_ms: int | None,
        end_ms: int | None,
        limit: int,
        series: KlineSeries,
        render: Callable[[Sequence[Kline]], msgspec.Raw],
        row: Callable[[Kline], list[int | str]],
    ) -> msgspec.Raw:
        """The spliced answer: the past's klines (rows by ``row``) and the view's
        ``series`` (rendered by ``render``, which keeps its rows encoded). The view's kline
        at the boundary holds the past's minutes from the warm start's window on; the past's
        part before that (a week's, a month's: the window is a day at most) is added to it
        here (``_share``)."""
        boundary = open_time(interval, self.until_ms)
        symbol, past, until = inst.symbol, self.past, self.until_ms

        def rows(start: int | None, end: int | None, count: int) -> tuple[bytes, int]:
            """The past's klines as encoded rows, and how many."""
            made = past.klines(symbol, interval, start, end, count, until)
            return b",".join(_encode_row(row(k)) for k in made), len(made)

        if start_ms is not None:
            head, count = self._kline_rows.get(
                (symbol, interval, start_ms, end_ms, limit), lambda: rows(start_ms, end_ms, limit)
            )
            live: list[Kline] = []
            if count < limit and (end_ms is None or end_ms >= boundary):
                live = series.query(max(start_ms, boundary), end_ms, limit - count)
        else:
            live = [k for k in series.query(None, end_ms, limit) if k.open_ms >= boundary]
            head = b""
            if len(live) < limit:
                before = boundary - 1 if end_ms is None else min(end_ms, boundary - 1)
                wanted = limit - len(live)
                head, _ = self._kline_rows.get(
                    (symbol, interval, None, before, wanted), lambda: rows(None, before, wanted)
                )
        whole = b""  # the boundary kline with the past's part in front, written apart: it is no
        if live and live[0].open_ms == boundary:  # kline of the series, whose rows render keeps
            share = self._share(symbol, interval, boundary)
            if isinstance(share, Kline):
                whole = _encode_row(row(aggregate([share, live[0]], boundary, live[0].close_ms)))
                live = live[1:]
        return msgspec.Raw(b"[" + b",".join(p for p in (head, whole, _inner(render(live))) if p) + b"]")

    def _share(self, symbol: str, interval: str, boundary: int) -> Kline | PriceBar | None:
        """The past's part of ``interval``'s kline open at the live start that the plant's
        candle lacks: its minutes from ``boundary`` to the warm start's window (None: none)."""
        if boundary >= self.warm_ms:
            return None
        return self._shares.get(
            (symbol, interval), lambda: self.past.span(symbol, boundary, self.warm_ms)
        )

    def kline_pieces(
        self, inst: Instrument, interval: str, start_ms: int | None, end_ms: int | None, limit: int
    ) -> Iterator[Pending | None]:
        """What ``klines`` with these arguments reads of the past, made a piece at a time
        (``SimulatedPast.kline_pieces``): nothing when its rows are kept. Without a start,
        as if the view held none of the answer (the most the past can give)."""
        symbol, until = inst.symbol, self.until_ms
        boundary = open_time(interval, until)
        reaches = (start_ms is None or start_ms <= boundary) and (end_ms is None or end_ms >= boundary)
        if boundary < self.warm_ms and reaches:  # the boundary kline is answered: its share
            yield from self._once(
                ("share", symbol, interval), lambda: self.past.span_pieces(symbol, boundary, self.warm_ms)
            )
        if start_ms is not None:
            if (symbol, interval, start_ms, end_ms, limit) not in self._kline_rows:
                yield from self.past.kline_pieces(symbol, interval, start_ms, end_ms, limit, until)
            return
        before = boundary - 1 if end_ms is None else min(end_ms, boundary - 1)
        yield from self._once(
            ("klines", symbol, interval, before, limit),
            lambda: self.past.kline_pieces(symbol, interval, None, before, limit, until),
        )

    # -- markPriceKlines, indexPriceKlines, premiumIndexKlines (§7.8) ----------------------

    def price_kline_pieces(
        self, symbol: str, kind: PriceKind, interval: str, start_ms: int | None, end_ms: int | None,
        limit: int,
    ) -> Iterator[Pending | None]:  # fmt: skip
        """What ``price_klines`` with these arguments reads of the past, made a piece at a
        time (``PastMarks.kline_pieces``); without a start, as if the view held none of it."""
        until = self.until_ms
        boundary = open_time(interval, until)
        reaches = (start_ms is None or start_ms <= boundary) and (end_ms is None or end_ms >= boundary)
        if boundary < until and reaches:  # the boundary bar is answered: its share
            yield from self._once(
                ("share", symbol, kind, interval), lambda: self.marks.span_pieces(symbol, boundary, until)
            )
        if start_ms is None:
            end_ms = boundary - 1 if end_ms is None else min(end_ms, boundary - 1)
        yield from self._once(
            (kind, symbol, interval, start_ms, end_ms, limit),
            lambda: self.marks.kline_pieces(symbol, kind, interval, start_ms, end_ms, limit, until),
        )

    def _once(
        self, key: tuple[object, ...], pieces: Callable[[], Iterator[Pending | None]]
    ) -> Iterator[Pending | None]:
        """``pieces()`` the first time ``key`` is asked (a poll of the latest klines asks the
        same each time: going through its 1,500 open times again would cost a millisecond)."""
        if key in self._warmed:
            return
        yield from pieces()
        self._warmed.get(key, lambda: True)

    def price_klines(
        self,
        symbol: str,
        kind: PriceKind,
        interval: str,
        start_ms: int | None,
        end_ms: int | None,
        limit: int,
        live: Callable[[int | None, int | None, int], list[PriceBar]],
    ) -> list[PriceBar]:
        """The past's bars before the boundary, the view's (``live(start, end, limit)``)
        from it, spliced as ``klines`` (§7.8); the boundary's bar, whose samples start at the
        live start, with the past's minutes of its interval before it in front."""
        boundary = open_time(interval, self.until_ms)
        marks, until = self.marks, self.until_ms
        if start_ms is not None:
            older = self._bars.get(
                (symbol, kind, interval, start_ms, end_ms, limit),
                lambda: marks.klines(symbol, kind, interval, start_ms, end_ms, limit, until),
            )
            if len(older) < limit and (end_ms is None or end_ms >= boundary):
                later = live(max(start_ms, boundary), end_ms, limit - len(older))
                return older + self._whole_bar(symbol, kind, interval, boundary, later)
            return list(older)
        newer = self._whole_bar(
            symbol, kind, interval, boundary, [b for b in live(None, end_ms, limit) if b.open_ms >= boundary]
        )
        if len(newer) >= limit:
            return newer
        before = boundary - 1 if end_ms is None else min(end_ms, boundary - 1)
        wanted = limit - len(newer)
        return self._bars.get(
            (symbol, kind, interval, None, before, wanted),
            lambda: marks.klines(symbol, kind, interval, None, before, wanted, until),
        ) + newer

    def _whole_bar(
        self, symbol: str, kind: PriceKind, interval: str, boundary: int, bars: list[PriceBar]
    ) -> list[PriceBar]:
        """``bars`` (the view's, from ``boundary`` on), the first with the past's minutes of
        its interval before the live start in front, when it is the boundary's."""
        if not bars or bars[0].open_ms != boundary or boundary >= self.until_ms:
            return bars
        share = self._shares.get(
            (symbol, kind, interval), lambda: self.marks.span(symbol, kind, boundary, self.until_ms)
        )
        if not isinstance(share, PriceBar):
            return bars
        bar = bars[0]
        whole = PriceBar(
            boundary, bar.close_ms, share.open, max(share.high, bar.high), min(share.low, bar.low), bar.close,
            share.samples + bar.samples,
        )  # fmt: skip
        return [whole, *bars[1:]]

    def funding(
        self, symbol: str, start_ms: int | None, end_ms: int | None, limit: int
    ) -> list[PastFunding]:
        """``symbol``'s funding events before the live start (`fundingRate`, §7.9)."""
        return self._funding.get(
            (symbol, start_ms, end_ms, limit),
            lambda: self.marks.funding(symbol, start_ms, end_ms, limit, self.live_from_ms),
        )

    def funding_pieces(
        self, symbol: str, start_ms: int | None, end_ms: int | None, limit: int
    ) -> Iterator[Pending | None]:
        """What ``funding`` with these arguments reads, made a funding event a piece
        (``PastMarks.funding_pieces``): nothing when its answer is kept."""
        if (symbol, start_ms, end_ms, limit) not in self._funding:
            yield from self.marks.funding_pieces(symbol, start_ms, end_ms, limit, self.live_from_ms)

    # -- openInterestHist (§7.9) ---------------------------------------------------------

    def interest(
        self, inst: Instrument, period_ms: int, start_ms: int | None, end_ms: int, limit: int,
        joined: int | None,
    ) -> list[tuple[int, int, int]]:  # fmt: skip
        """The past's (time, quantity units, value units) on ``period_ms``'s grid before the
        live start: from ``start_ms`` the first ``limit`` up to ``end_ms``, else the last
        ``limit`` up to it; bent to the live market's first quantity ``joined``."""
        if start_ms is None:
            start_ms = end_ms - (limit - 1) * period_ms
            start_ms -= start_ms % period_ms
        else:
            end_ms = min(end_ms, start_ms + limit * period_ms)
        points = self.interest_past.points(inst.symbol, period_ms, start_ms, end_ms, joined)
        return [(t, qty, value_units(inst, qty, price)) for t, qty, price in points][:limit]

    # -- trades (§7.9) ------------------------------------------------------------------

    def agg_trades(
        self,
        inst: Instrument,
        from_id: int | None,
        start_ms: int | None,
        end_ms: int | None,
        limit: int,
        live: Callable[[int | None, int | None, int | None, int], list[Aggregate]],
    ) -> list[Aggregate]:
        """``aggTrades``: the past's from ``from_id`` or ``start_ms``, then the view's
        (``live(from_id, start, end, limit)``) for what is missing."""
        until = self.until_ms
        out: list[Aggregate] = []
        if self.holds_trades(inst, from_id, start_ms):
            symbol, past = inst.symbol, self.past
            raw_id = None if from_id is None else from_id - self.agg_base

            def made() -> list[Aggregate]:
                found = past.aggregates(symbol, raw_id, start_ms, end_ms, limit, until)
                return list(map(self.numbered, found))

            out = list(self._trades.get(("aggTrades", symbol, from_id, start_ms, end_ms, limit), made))
        if len(out) < limit and (end_ms is None or end_ms >= until):
            if out:
                out += live(out[-1].agg_id + 1, None, end_ms, limit - len(out))
            else:
                out = live(from_id, start_ms, end_ms, limit)
        return out

    def agg_trades_until(
        self, inst: Instrument, end_ms: int, count: int, first: int | None
    ) -> list[Aggregate]:
        """The past's last ``count`` aggregates at or before ``end_ms``, numbered: `aggTrades`
        with only `endTime`, in front of the view's up to it, whose first has the id ``first``
        (None: none; the view holds the past's last aggregate as its last price)."""
        if count <= 0 or not self.knows(inst.symbol):
            return []
        symbol, until = inst.symbol, self.until_ms
        before = None if first is None else first - self.agg_base

        def made() -> list[Aggregate]:
            return list(map(self.numbered, self.past.aggregates_until(symbol, count, end_ms, until, before)))

        return list(self._trades.get(("aggTradesUntil", symbol, end_ms, count, first), made))

    def trades(
        self, inst: Instrument, from_id: int, limit: int, live: Callable[[int, int], list[Aggregate]]
    ) -> list[Aggregate]:
        """``historicalTrades`` from the trade id ``from_id``: the past's trades (a row each,
        as one-trade aggregates), then the view's from the trade after them
        (``live(trade_id, limit)``) for what is missing."""
        symbol, past, raw_id = inst.symbol, self.past, from_id - self.trade_base

        def made() -> list[Aggregate]:
            found = past.trades(symbol, raw_id, None, None, limit, self.until_ms)
            return [self.numbered(_aggregate(t)) for t in found]

        out = list(self._trades.get(("trades", symbol, from_id, limit), made))
        if len(out) < limit:
            out += live(out[-1].last_id + 1 if out else from_id, limit - len(out))
        return out

    def recent_rows(
        self, inst: Instrument, count: int, first: int | None, kind: str, row: Callable[[Aggregate], bytes]
    ) -> bytes:
        """The encoded rows (``row``, one ``kind`` of answer: ``aggTrades`` the past's
        aggregates, else its trades) of the latest ``count`` of them before the id ``first``
        (None: before the live start): each row encoded once and kept with the longest run
        asked, so a poll costs a join."""
        if count <= 0 or not self.knows(inst.symbol):
            return b""
        first_id = first if first is not None else self._first_live_id(inst, kind == "aggTrades")

        def encoded() -> list[bytes]:
            return [row(a) for a in self._older(inst.symbol, first_id, kind)]

        rows = self._recent_rows.get((kind, inst.symbol, first_id), encoded)
        return b",".join(rows[max(0, len(rows) - count) :])

    def recent_pieces(
        self, inst: Instrument, count: int, first: int | None, kind: str, row: Callable[[Aggregate], bytes]
    ) -> Iterator[None]:
        """What ``recent_rows`` with these arguments makes, made in pieces (the trades laid
        out, then their rows a few hundred a piece: ~15 ms in all for 1,000 of a busy
        symbol), for an answer made in pieces (``protocol/later.py``); nothing when kept."""
        if count <= 0 or not self.knows(inst.symbol):
            return
        first_id = first if first is not None else self._first_live_id(inst, kind == "aggTrades")
        key = (kind, inst.symbol, first_id)
        if key in self._recent_rows:
            return
        older = self._older(inst.symbol, first_id, kind)
        yield
        rows: list[bytes] = []
        for i in range(0, len(older), _ROWS_A_PIECE):
            rows += [row(a) for a in older[i : i + _ROWS_A_PIECE]]
            yield
        self._recent_rows.get(key, lambda: rows)

    def _older(self, symbol: str, first_id: int, kind: str) -> list[Aggregate]:
        """The past's latest ``_RECENT_MOST`` aggregates (``kind`` aggTrades) or trades (as
        one-trade aggregates) before the id ``first_id``."""
        past, until = self.past, self.until_ms
        if kind == "aggTrades":
            older = past.last_aggregates(symbol, _RECENT_MOST, first_id - self.agg_base, until)
        else:
            trades = past.last_trades(symbol, _RECENT_MOST, first_id - self.trade_base, until)
            older = [_aggregate(t) for t in trades]
        return list(map(self.numbered, older))

    def numbered(self, a: Aggregate) -> Aggregate:
        """The past's aggregate ``a`` (or trade, as one) with this server's ids."""
        trade_base = self.trade_base
        return a._replace(agg_id=a.agg_id + self.agg_base, first_id=a.first_id + trade_base,
                          last_id=a.last_id + trade_base)  # fmt: skip

    def _first_live_id(self, inst: Instrument, aggregates: bool) -> int:
        """The live market's first aggregate id (``aggregates``), else its first trade id."""
        trade_id, agg_id = self.past.live_ids(inst.symbol, self.live_from_ms)
        return agg_id + self.agg_base if aggregates else trade_id + self.trade_base


def past_answers(
    instruments: Mapping[Market, Iterable[Instrument]], spec: PastSpec | None
) -> PastAnswers | None:
    """The answers of the past ``spec`` describes over every market's ``instruments``
    (one for all of a process' listeners, so they share its caches); None without a past."""
    if spec is None:
        return None
    listed = [inst for insts in instruments.values() for inst in insts]
    return PastAnswers(SimulatedPast.of(listed, spec), spec)


def _aggregate(t: PastTrade) -> Aggregate:
    """A past trade as a ``trades`` row reads it: an aggregate of it alone (§7.9)."""
    return Aggregate(t.agg_id, t.trade_id, t.trade_id, t.time_ms, t.price, t.qty, t.buyer_is_maker)

