"""The history answers' past: what happened before the live market started, for a source
that has one (the simulator's, ``market/history``), spliced in front of what the market
view holds since.

The seam is an interval's *boundary*: the open time of the ``interval`` kline holding the
live start. Klines opened before it are the past's, whole and closed; the one at the
boundary and later are the view's. The plant warms the boundary kline with the past's
minutes of the warm start's window (``history_s``, a day at most); the past's part of it
before the window (a week's, a month's) is added here, made once (``PastAnswers._share``).
A price kline's boundary bar holds the live samples alone: its interval's past minutes
before the start are added the same way. The past's trades are ``past_trades.py``'s
(``PastAnswers.trades_past``).

Each splice keeps `GET /fapi/v1/klines`' and `aggTrades`' semantics (§7.8, §7.9): from a
start, the first ``limit`` in time order, past then live; up to an end (or the latest),
the last ``limit``, live then as much past as is missing.

The past never changes, so what a query takes from it is kept (``ANSWERS_KEPT`` of each
kind, the least recently used dropped first): a klines or price klines query's past rows
as their encoded bytes, funding events. A client polling the latest 1,500 klines or mark
price klines pays for the past once; each answer after is the live part and a copy of
bytes (the stall bursts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

import msgspec

from tickerplant.market.derivatives.open_interest import value_units
from tickerplant.market.history.interest import PastInterest
from tickerplant.market.history.marks import PastFunding, PastMarks
from tickerplant.market.history.past_spec import PastSpec
from tickerplant.market.history.path import Lru
from tickerplant.market.history.series import SimulatedPast, aggregate
from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.klines.candles import Kline, KlineSeries, open_time
from tickerplant.market.klines.price_candles import PriceBar, PriceKind
from tickerplant.protocol.later import Pending
from tickerplant.protocol.past_trades import ANSWERS_KEPT, PastTrades

__all__ = ["PastAnswers", "past_answers"]

_encode_row = msgspec.json.Encoder().encode


def _inner(raw: msgspec.Raw) -> bytes:
    """The rows of a JSON array answer, without its brackets."""
    return bytes(raw)[1:-1]


class PastAnswers:
    """One server's past (``past``), before the live start ``live_from_ms``."""

    def __init__(self, past: SimulatedPast, spec: PastSpec) -> None:
        self.past = past
        self.live_from_ms = live_from_ms = spec.live_from_ms
        self.trades_past = PastTrades(past, spec)
        self.until_ms = spec.until_ms  # the first live minute
        self.warm_ms = spec.warm_ms  # the first minute the warm start gave the plant's candles
        self.marks = PastMarks(past)
        self.interest_past = PastInterest(past, live_from_ms)
        self._kline_rows: Lru[tuple[object, ...], tuple[bytes, int]] = Lru(ANSWERS_KEPT)
        self._bar_rows: Lru[tuple[object, ...], tuple[bytes, int]] = Lru(ANSWERS_KEPT)
        self._funding: Lru[tuple[object, ...], list[PastFunding]] = Lru(ANSWERS_KEPT)
        self._warmed: Lru[tuple[object, ...], bool] = Lru(ANSWERS_KEPT)  # kline questions made
        self._shares: Lru[tuple[object, ...], Kline | PriceBar | None] = Lru(ANSWERS_KEPT)

    def knows(self, symbol: str) -> bool:
        return symbol in self.past.instruments

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
        render: Callable[[Sequence[PriceBar]], msgspec.Raw],
        row: Callable[[PriceBar], list[int | str]],
    ) -> msgspec.Raw:
        """The past's bars before the boundary (rows by ``row``, kept encoded as ``klines``
        keeps its), the view's (``live(start, end, limit)``, rendered by ``render``) from it,
        spliced as ``klines`` (§7.8); the boundary's bar, whose samples start at the live
        start, with the past's minutes of its interval before it in front, written apart."""
        boundary = open_time(interval, self.until_ms)
        marks, until = self.marks, self.until_ms

        def rows(start: int | None, end: int | None, count: int) -> tuple[bytes, int]:
            """The past's bars as encoded rows, and how many."""
            made = marks.klines(symbol, kind, interval, start, end, count, until)
            return b",".join(_encode_row(row(bar)) for bar in made), len(made)

        if start_ms is not None:
            head, count = self._bar_rows.get(
                (symbol, kind, interval, start_ms, end_ms, limit), lambda: rows(start_ms, end_ms, limit)
            )
            newer: list[PriceBar] = []
            if count < limit and (end_ms is None or end_ms >= boundary):
                newer = live(max(start_ms, boundary), end_ms, limit - count)
        else:
            newer = [b for b in live(None, end_ms, limit) if b.open_ms >= boundary]
            head = b""
            if len(newer) < limit:
                before = boundary - 1 if end_ms is None else min(end_ms, boundary - 1)
                wanted = limit - len(newer)
                head, _ = self._bar_rows.get(
                    (symbol, kind, interval, None, before, wanted), lambda: rows(None, before, wanted)
                )
        whole = b""  # the boundary's bar with the past's part in front: no bar of the view's
        bar = self._whole_bar(symbol, kind, interval, boundary, newer[:1])
        if bar and bar[0] is not newer[0]:
            whole = _encode_row(row(bar[0]))
            newer = newer[1:]
        return msgspec.Raw(b"[" + b",".join(p for p in (head, whole, _inner(render(newer))) if p) + b"]")

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


def past_answers(
    instruments: Mapping[Market, Iterable[Instrument]], spec: PastSpec | None
) -> PastAnswers | None:
    """The answers of the past ``spec`` describes over every market's ``instruments``
    (one for all of a process' listeners, so they share its caches); None without a past."""
    if spec is None:
        return None
    listed = [inst for insts in instruments.values() for inst in insts]
    return PastAnswers(SimulatedPast.of(listed, spec), spec)

