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

USDⓈ-M's `GET /futures/data/takerlongshortRatio` (python-binance's
``futures_taker_longshort_ratio``) takes the same parameters and answers the takers'
volumes of each closed period from the symbol's klines of that interval, so it agrees with
them to the unit: ``{"buySellRatio", "buyVol", "sellVol", "timestamp"}`` (the order of
Binance's page), ``buyVol`` the period's taker buy volume, ``sellVol`` the rest of its
volume, both with 4 decimals as Binance writes them, the ratio buy / sell rounded half up
to 4 decimals (``"0.0000"`` for a period with no taker sell), ``timestamp`` the period's
open. The periods still open are left out. A cold past is made in pieces, as the klines'
(``later.py``).

Not served: COIN-M's `takerBuySellVol`, and `basis` and `delivery-price` on both markets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from tickerplant.market.history.long_short import GRID_MS, LongShortRatios, ratio_text, ratio_units
from tickerplant.market.instruments import Market
from tickerplant.market.plant.view import MarketView
from tickerplant.market.units import DAY_MS, MINUTE_MS, fixed, to_units
from tickerplant.protocol.errors import BAD_SYMBOL, mandatory
from tickerplant.protocol.later import Later
from tickerplant.protocol.market_data import MarketData, Method, required_symbol
from tickerplant.protocol.open_interest import HIST_DAYS, HIST_PERIODS_MS, hist_window
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
    """The three ratios' REST routes on one market listener, and USDⓈ-M's takers' volumes."""
    answers = LongShortAnswers(data.view, data.past)
    routes = {path: Method(lambda params: 1, answers.of(kind)) for path, kind in _PATHS.items()}
    if data.market is Market.UM:
        takers = TakerVolumes(data.view, data.methods["klines"].answer)
        routes["/futures/data/takerlongshortRatio"] = Method(lambda params: 1, takers.answer)
    return routes


class TakerVolumes:
    """`takerlongshortRatio` (see the module's docstring), read from ``klines`` (the
    listener's `GET /fapi/v1/klines` answer: its parameters, its past made in pieces)."""

    def __init__(self, view: MarketView, klines: Callable[[Params, int], Any]) -> None:
        self.view = view
        self._klines = klines

    def answer(self, params: Params, now_ms: int) -> Any:
        inst = required_symbol(self.view, params).inst
        period_ms, limit, start, end = hist_window(params, now_ms)
        last = now_ms - period_ms if end is None else min(end, now_ms - period_ms)  # closed periods
        times = _grid(now_ms - HIST_DAYS * DAY_MS, start, last, period_ms, limit)
        if not times:
            return []
        interval = next(name for name, ms in HIST_PERIODS_MS.items() if ms == period_ms)
        asked = {"symbol": inst.symbol, "interval": interval, "startTime": str(times[0]),
                 "endTime": str(times[-1]), "limit": str(len(times))}  # fmt: skip
        qd = inst.qty_decimals

        def rows(made: Any) -> list[dict[str, Any]]:
            out = []
            for k in msgspec.json.decode(msgspec.json.encode(made)):
                volume, buys = to_units(k[5], qd), to_units(k[9], qd)
                sells = volume - buys
                out.append({"buySellRatio": fixed(ratio_units(buys, sells), 4), "buyVol": _four(buys, qd),
                            "sellVol": _four(sells, qd), "timestamp": k[0]})  # fmt: skip
            return out

        made = self._klines(asked, now_ms)
        return made.then(rows) if isinstance(made, Later) else rows(made)


def _grid(earliest: int, start: int | None, last: int, period_ms: int, limit: int) -> range:
    """The period's boundaries from the later of ``earliest`` and ``start`` to ``last``, at
    most ``limit`` of them: the first ones from a ``start``, else the last ones (the rules
    of `openInterestHist` and the klines)."""
    first = earliest if start is None else max(earliest, start)
    first += -first % period_ms
    last -= last % period_ms
    if last < first:
        return range(0)
    if (last - first) // period_ms >= limit:
        if start is not None:
            last = first + (limit - 1) * period_ms
        else:
            first = last - (limit - 1) * period_ms
    return range(first, last + 1, period_ms)


def _four(units: int, decimals: int) -> str:
    """A quantity of ``decimals`` written with 4 (Binance's `takerlongshortRatio`)."""
    if decimals <= 4:
        return fixed(units * 10 ** (4 - decimals), 4)
    return fixed(units // 10 ** (decimals - 4), 4)  # (no listed symbol has more than 3)


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
        period_ms, limit, start, end = hist_window(params, now_ms)
        ratios, past = self._ratios, self.past
        if ratios is None or past is None or not all(past.knows(s) for s in symbols):
            return []  # a source without the simulated market's figures
        listed = min(past.past.tape(s).first_minute for s in symbols) * MINUTE_MS  # or --history-start
        last = now_ms if end is None else min(end, now_ms)
        times = _grid(max(now_ms - HIST_DAYS * DAY_MS, listed), start, last, period_ms, limit)
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
