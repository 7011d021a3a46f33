"""The long/short ratios over REST, on both markets' hosts: `GET
/futures/data/globalLongShortAccountRatio`, `topLongShortAccountRatio` and
`topLongShortPositionRatio`, as ccxt (``fetch_long_short_ratio_history``: the global
accounts') and python-binance (``futures_global_longshort_ratio``,
``futures_top_longshort_account_ratio``, ``futures_top_longshort_position_ratio``; its sync
``Client`` also has the ``futures_coin_`` twins) call them.

Parameters as `openInterestHist`'s (``open_interest.py``): USDⓈ-M ``symbol``, COIN-M
``pair``; ``period`` (5m … 1d), ``limit`` (default 30, at most 500), ``startTime`` /
``endTime``; only the last 30 days, as on Binance (an older ``startTime``: ``-1130``,
``open_interest.hist_window``); with ``startTime`` the first ``limit``
points from it, else the last ``limit`` up to ``endTime`` (default now). A point stands at
each of the period's boundaries since the symbol's past begins (its listing, or
``--history-start``), up to now.

Rows, ascending (the key order of the 2024 captures ccxt quotes): USDⓈ-M ``{"symbol",
"longAccount", "longShortRatio", "shortAccount", "timestamp"}`` for all three; COIN-M
``{"longAccount", "longShortRatio", "shortAccount", "pair", "timestamp"}``, the positions'
ratio with ``longPosition`` / ``shortPosition`` in place of the accounts (COIN-M's page;
its order inferred from the accounts'). The figures are keyed draws of the simulated market
(``market/history/long_short.py``). A replay or a relay carries none: an empty list, as
`openInterestHist` answers there.

The takers' volumes (``taker_volumes.py``) and the basis (``basis.py``) are read from the
klines instead. Not served: `delivery-price`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tickerplant.market.history.long_short import GRID_MS, LongShortRatios, ratio_text
from tickerplant.market.instruments import Market
from tickerplant.market.plant.view import MarketView
from tickerplant.market.units import MINUTE_MS
from tickerplant.protocol.errors import BAD_SYMBOL, mandatory
from tickerplant.protocol.market_data import MarketData, Method, required_symbol
from tickerplant.protocol.open_interest import HIST_PERIODS_MS, hist_times, hist_window
from tickerplant.protocol.past import PastAnswers
from tickerplant.protocol.query_values import Params, text_param

__all__ = ["long_short_routes"]

_PATHS = {
    "/futures/data/globalLongShortAccountRatio": "global-account",
    "/futures/data/topLongShortAccountRatio": "top-account",
    "/futures/data/topLongShortPositionRatio": "top-position",
}
assert all(period % GRID_MS == 0 for period in HIST_PERIODS_MS.values())


def long_short_routes(data: MarketData) -> dict[str, Method]:
    """The three ratios' REST routes on one market listener."""
    answers = LongShortAnswers(data.view, data.past)
    return {path: Method(lambda params: 1, answers.of(kind)) for path, kind in _PATHS.items()}


class LongShortAnswers:
    """The three ratios of one listener's market, over its view (the symbols and pairs it
    lists) and the simulated past (the seed, and where each symbol's past begins)."""

    def __init__(self, view: MarketView, past: PastAnswers | None) -> None:
        self.view = view
        self.past = past
        self._cm = view.market is Market.CM
        self._ratios = None if past is None else LongShortRatios(past.past.seed)

    def of(self, kind: str) -> Callable[[Params, int], list[dict[str, Any]]]:
        """The answer of the ratio ``kind`` (``market/history/long_short.KINDS``)."""

        def answer(params: Params, now_ms: int) -> list[dict[str, Any]]:
            return self.rows(kind, params, now_ms)

        return answer

    def rows(self, kind: str, params: Params, now_ms: int) -> list[dict[str, Any]]:
        if self._cm:
            pair = text_param(params, "pair")
            if pair is None:
                raise mandatory("pair")
            name = pair.upper()
            symbols = [v.inst.symbol for v in self.view.symbols.values() if v.inst.pair == name]
            if not symbols:
                raise BAD_SYMBOL()
        else:
            name = required_symbol(self.view, params).inst.symbol
            symbols = [name]
        hist_window(params, now_ms)  # its refusals before a source's empty answer
        ratios, past = self._ratios, self.past
        if ratios is None or past is None or not all(past.knows(s) for s in symbols):
            return []  # a source without the simulated market's figures
        listed = min(past.past.tape(s).first_minute for s in symbols) * MINUTE_MS  # or --history-start
        times, _ = hist_times(params, now_ms, closed_only=False, begins_ms=listed)
        rows = []
        for t, long_units in zip(times, ratios.longs(kind, name, times), strict=True):
            longs, shorts, ratio = ratio_text(long_units)
            if not self._cm:
                rows.append({"symbol": name, "longAccount": longs, "longShortRatio": ratio,
                             "shortAccount": shorts, "timestamp": t})  # fmt: skip
            elif kind == "top-position":
                rows.append({"longPosition": longs, "longShortRatio": ratio, "shortPosition": shorts,
                             "pair": name, "timestamp": t})  # fmt: skip
            else:
                rows.append({"longAccount": longs, "longShortRatio": ratio, "shortAccount": shorts,
                             "pair": name, "timestamp": t})  # fmt: skip
        return rows
