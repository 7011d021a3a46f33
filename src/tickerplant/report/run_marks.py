"""The prices a run's report marks its positions at (docs/report.md, "Marks"). The journal
keeps no mark, so a report from it alone values a held position at the last fill: a bot
that held through a move would read a report whose equity, PnL and drawdown leave the move
out while its own account (``/fapi/v2/account``) has it. ``tickerplant run`` therefore
samples, as the market's messages pass its venue, each symbol's mark as the venue reads it
(``EngineState.mark``: the replay's mark price, else its book's mid), the price the
account's unrealized PnL is worked out at, at each of the symbol's trades and marks: the
first of every interval (a minute to begin with) and the last of all; and when the run
ends, every symbol's mark then (``at_end``): a mark that moved with no trade or mark message
since (the book's mid, without a replay's mark prices) is in the report's last point, so
that its equity at the end meets the account's.

Bounded by design: past ``most`` points the interval doubles and only the first point of
each new interval is kept, so a long run keeps an even, coarser sampling rather than
growing with it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction

from tickerplant.market.messages import StreamMessage
from tickerplant.report.rows import PricePoint
from tickerplant.venue.core.engine import Engine

__all__ = ["RunMarks"]

_FIRST_EVERY_MS = 60_000


class RunMarks:
    def __init__(self, engines: Iterable[Engine], most: int = 100_000) -> None:
        # a stream the marks are read at -> its engine, symbol and price units a price unit
        self._streams: dict[str, tuple[Engine, str, int]] = {}
        for engine in engines:
            for stream, symbol in (*engine.agg_trade_streams.items(), *engine.exposure.marks.items()):
                self._streams[stream] = (engine, symbol, 10 ** engine.instruments[symbol].price_decimals)
        self._most = max(2, most)
        self._every_ms = _FIRST_EVERY_MS
        self._kept: list[PricePoint] = []
        self._interval: dict[str, int] = {}  # symbol -> the interval its last kept point is in
        self._last: dict[str, PricePoint] = {}

    def heard(self, messages: Iterable[StreamMessage], now_ms: int) -> None:
        """The market's ``messages``, delivered at ``now_ms`` (the market's time)."""
        streams = self._streams
        heard = {found[1]: found for stream, _ in messages if (found := streams.get(stream)) is not None}
        for engine, symbol, scale in heard.values():  # each symbol's mark once a delivery: its last word
            price = _in_units(engine, symbol, scale)
            if price is None:
                continue
            point = PricePoint(now_ms, symbol, price)
            self._last[symbol] = point
            interval = now_ms // self._every_ms
            if self._interval.get(symbol) != interval:
                self._interval[symbol] = interval
                self._kept.append(point)
                if len(self._kept) > self._most:
                    self._coarser()

    def _coarser(self) -> None:
        """The interval doubled, and of the points kept only each symbol's first of each
        new interval: the sampling stays even, at half the points."""
        self._every_ms *= 2
        every, seen, kept = self._every_ms, set(), []
        for point in self._kept:
            bucket = (point.symbol, point.time_ms // every)
            if bucket not in seen:
                seen.add(bucket)
                kept.append(point)
        self._kept = kept
        self._interval = {point.symbol: point.time_ms // every for point in kept}  # the last's, each

    def at_end(self) -> dict[str, int | Fraction]:
        """Every symbol's mark as the venue reads it now, in price units (a symbol without a
        mark left out): the run's last word, read before its market closes."""
        found: dict[str, int | Fraction] = {}
        for engine, symbol, scale in self._streams.values():
            if (price := _in_units(engine, symbol, scale)) is not None:
                found[symbol] = price
        return found

    def points(
        self, end_ms: int | None = None, ended: Mapping[str, int | Fraction] | None = None
    ) -> list[PricePoint]:
        """What was sampled, in time order: the points kept and each symbol's last, up to
        ``end_ms`` (the run's end), where each symbol's mark at the end (``at_end``) is its
        last point."""
        heard = {*self._kept, *self._last.values()}
        if end_ms is not None:
            heard = {point for point in heard if point.time_ms <= end_ms}
            heard |= {PricePoint(end_ms, symbol, price) for symbol, price in (ended or {}).items()}
        return sorted(heard)


def _in_units(engine: Engine, symbol: str, scale: int) -> int | Fraction | None:
    """``symbol``'s mark as the venue reads it now (the account's uPnL is worked out at it), in
    price units: an int at a tick, else exact; None without one."""
    mark = engine.mark(symbol)
    if mark is None:
        return None
    exact = mark * scale
    return exact.numerator if exact.denominator == 1 else exact
