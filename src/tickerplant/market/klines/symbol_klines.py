"""One symbol's klines at every interval it keeps: a ``KlineSeries`` each, every trade fed
to them all (``candles.py``: the series, their bound, their grid)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import cast

from tickerplant.market.klines.candles import INTERVALS, KlineColumns, KlineRow, KlineSeries, grid_runs
from tickerplant.market.units import MINUTE_MS

__all__ = ["SymbolKlines"]


class SymbolKlines:
    """One KlineSeries per interval for one symbol; every trade feeds them all. At most
    ``maxlen`` klines per interval: 22,500 for the 15 intervals at the default 1,500."""

    __slots__ = ("_second", "_series")

    def __init__(self, intervals: Iterable[str] = INTERVALS, maxlen: int = 1500) -> None:
        self._series = {interval: KlineSeries(interval, maxlen) for interval in intervals}
        self._second = self._series.get("1s")  # the one interval whose klines open on whole seconds

    @property
    def intervals(self) -> tuple[str, ...]:
        return tuple(self._series)

    def keeps(self, interval: str) -> bool:
        """Whether this symbol keeps ``interval`` (``intervals`` without making the tuple)."""
        return interval in self._series

    def add(
        self, time_ms: int, trade_id: int, price: int, qty: int, quote: int, buyer_is_maker: bool,
        trades: int = 1,
    ) -> None:
        for series in self._series.values():
            series.add(time_ms, trade_id, price, qty, quote, buyer_is_maker, trades)

    def add_rows(self, rows: Sequence[KlineRow]) -> None:
        """``add`` each row in turn (``add_columns`` of their columns)."""
        if rows:
            self.add_columns(cast(KlineColumns, tuple(map(list, zip(*rows, strict=True)))))

    def add_columns(self, columns: KlineColumns) -> None:
        """``add`` each of the columns' rows in turn: the rows summed once per step of a
        grid (``grid_runs``), then one series at a time (``KlineSeries.add_runs``). Every
        interval but 1s opens on whole minutes (§4.7), so a minute's step never straddles
        one of their klines: they take the rows summed per minute, and 1s alone per second
        (a backlog of dense trades is then a fold or two per minute for 15 of the 16
        series, and a fold or a new kline per second for 1s)."""
        if not columns[0]:
            return
        minutes = grid_runs(columns, MINUTE_MS)
        second = self._second
        for series in self._series.values():
            if series is second:
                series.add_runs(grid_runs(columns, 1000), columns)
            else:
                series.add_runs(minutes, columns)

    def series(self, interval: str) -> KlineSeries:
        """The series of ``interval``; KeyError if this symbol does not keep it."""
        return self._series[interval]
