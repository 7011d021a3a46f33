"""Open interest over REST (spec §7.9): `GET /fapi/v1/openInterest`, `/dapi/v1/openInterest`,
and `GET /futures/data/openInterestHist` on both markets' hosts, as ccxt
(``fetch_open_interest``, ``fetch_open_interest_history``) and python-binance
(``futures_open_interest``, ``futures_open_interest_hist``, and the ``futures_coin_``
twins) call them.

- `openInterest` (``symbol``): ``{"openInterest","symbol","time"}``; COIN-M
  ``{"symbol","pair","openInterest","contractType","time"}``; the quantity at the step's
  precision (COIN-M contracts), ``time`` the time of the latest figure.
- `openInterestHist`: USDⓈ-M takes ``symbol``, COIN-M ``pair`` and ``contractType``
  (``ALL`` sums the pair's contracts); both ``period`` (5m, 15m, 30m, 1h, 2h, 4h, 6h, 12h,
  1d), ``limit`` (default 30, at most 500), ``startTime``/``endTime``. Rows ascending, at
  the period's boundaries: USDⓈ-M ``{"symbol","sumOpenInterest","sumOpenInterestValue",
  "timestamp"}``, COIN-M ``{"contractType","sumOpenInterest","sumOpenInterestValue","pair",
  "timestamp"}`` (the order of a 2026 answer ccxt quotes), sums with 8 decimals. Only the
  last 30 days are kept, as on Binance, which refuses a ``startTime`` before them with 400
  ``-1130`` ``parameter 'startTime' is invalid.`` (measured against the live API in 2026:
  30 days back answers, 35 days back is refused; ``hist_window``, every
  ``futures/data`` endpoint's). With ``startTime``, the first ``limit`` rows from it (as
  ccxt pages, sending both times); otherwise the last ``limit`` up to ``endTime`` (default
  now).

A source that carries no open interest (a replay, a relay) has none to give: `openInterest`
answers ``-1000`` saying so, `openInterestHist` an empty list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from tickerplant.market.derivatives.open_interest import PERIOD_MS, VALUE_DECIMALS
from tickerplant.market.instruments import ContractType, Market
from tickerplant.market.plant.view import MarketView, SymbolView
from tickerplant.market.units import DAY_MS, MINUTE_MS, fixed
from tickerplant.protocol.errors import BAD_SYMBOL, RequestRefused, mandatory, not_valid, refusal
from tickerplant.protocol.market_data import MarketData, Method, required_symbol
from tickerplant.protocol.past import PastAnswers
from tickerplant.protocol.query_values import Params, int_param, text_param

__all__ = [
    "CONTRACT_TYPES", "HIST_DAYS", "HIST_PERIODS_MS", "Klines", "OpenInterestAnswers", "hist_grid",
    "hist_times", "hist_window", "kline_rows", "open_interest_routes", "pair_contracts",
]  # fmt: skip

HIST_PERIODS_MS = {
    "5m": 5 * MINUTE_MS, "15m": 15 * MINUTE_MS, "30m": 30 * MINUTE_MS, "1h": 60 * MINUTE_MS,
    "2h": 120 * MINUTE_MS, "4h": 240 * MINUTE_MS, "6h": 360 * MINUTE_MS, "12h": 720 * MINUTE_MS,
    "1d": DAY_MS,
}  # fmt: skip
assert all(period % PERIOD_MS == 0 for period in HIST_PERIODS_MS.values())
_HIST_LIMIT, _HIST_DEFAULT = 500, 30
HIST_DAYS = 30  # what futures/data keeps: a startTime before it is refused
_OLD_START = refusal(-1130, "parameter 'startTime' is invalid.")
CONTRACT_TYPES = frozenset({t.value for t in ContractType} | {"ALL"})  # COIN-M histories'
Klines = Callable[[Params, int], Any]  # a listener's klines answer (a ``Later`` when made in pieces)
NO_INTEREST = refusal(-1000, "This source carries no open interest for the symbol.")


def hist_window(params: Params, now_ms: int) -> tuple[int, int, int | None, int | None]:
    """What every ``futures/data`` history reads: (``period`` in ms, ``limit``,
    ``startTime``, ``endTime``); -1102 for a period missing or unknown, -1130 for a limit
    outside 1-500 or a start before the last ``HIST_DAYS`` days, -1023 for a start after the
    end."""
    period = text_param(params, "period")
    if period is None or period not in HIST_PERIODS_MS:
        raise mandatory("period")
    limit = int_param(params, "limit")
    limit = _HIST_DEFAULT if limit is None else limit
    if not 1 <= limit <= _HIST_LIMIT:
        raise not_valid("limit")
    start, end = int_param(params, "startTime"), int_param(params, "endTime")
    if start is not None and end is not None and start > end:
        raise RequestRefused(-1023, "Start time is greater than end time.")
    if start is not None and start < now_ms - HIST_DAYS * DAY_MS:
        raise _OLD_START()
    return HIST_PERIODS_MS[period], limit, start, end


def hist_grid(earliest: int, start: int | None, last: int, period_ms: int, limit: int) -> range:
    """The period's boundaries from the later of ``earliest`` and ``start`` to ``last``, at
    most ``limit`` of them: the first ones from a ``start``, else the last ones (the rules
    of `openInterestHist` and the klines), for the histories read from the simulated
    market's draws or its klines (``long_short.py``, ``taker_volumes.py``, ``basis.py``)."""
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


def hist_times(params: Params, now_ms: int, *, closed_only: bool, begins_ms: int = 0) -> tuple[range, str]:
    """A history's times (``hist_grid`` over ``hist_window``'s parameters, from the last
    ``HIST_DAYS`` days or ``begins_ms`` if later: where the symbol's past begins) and the
    kline interval of its ``period``; ``closed_only``: the periods already closed (their open
    times: a history read from the klines), else every boundary up to now."""
    period_ms, limit, start, end = hist_window(params, now_ms)
    last = now_ms if end is None else min(end, now_ms)
    if closed_only:
        last = min(last, now_ms - period_ms)
    times = hist_grid(max(now_ms - HIST_DAYS * DAY_MS, begins_ms), start, last, period_ms, limit)
    interval = next(name for name, ms in HIST_PERIODS_MS.items() if ms == period_ms)
    return times, interval


def kline_rows(made: Any) -> list[list[Any]]:
    """A ``Klines`` answer (its rows kept encoded, or rows) as rows."""
    rows: list[list[Any]] = msgspec.json.decode(msgspec.json.encode(made))
    return rows


def pair_contracts(view: MarketView, params: Params, types: frozenset[str]) -> tuple[list[SymbolView], str]:
    """A COIN-M history's contracts: ``pair``'s of ``contractType`` (``ALL``: all of them, if
    ``types`` has it) and the type as sent, in capitals; -1102 for either missing or a type
    not in ``types``, -1121 for a pair with no such contract."""
    pair = text_param(params, "pair")
    if pair is None:
        raise mandatory("pair")
    contract = text_param(params, "contractType")
    if contract is None or contract.upper() not in types:
        raise mandatory("contractType")
    contract = contract.upper()
    found = [
        v for v in view.symbols.values()
        if v.inst.pair == pair.upper() and contract in ("ALL", v.inst.contract_type.value)
    ]  # fmt: skip
    if not found:
        raise BAD_SYMBOL()
    return found, contract


def open_interest_routes(prefix: str, data: MarketData) -> dict[str, Method]:
    """The REST routes of open interest on one market listener (``prefix`` /fapi or /dapi)."""
    answers = OpenInterestAnswers(data.view, data.past)
    return {
        f"{prefix}/v1/openInterest": Method(lambda params: 1, answers.open_interest),
        "/futures/data/openInterestHist": Method(lambda params: 1, answers.history),
    }


class OpenInterestAnswers:
    """The answers, over a market view's ``open_interest`` (``market/derivatives/open_interest.py``)
    and, before the live start, the simulated past's (``market/history/interest.py``)."""

    def __init__(self, view: MarketView, past: PastAnswers | None = None) -> None:
        self.view = view
        self.past = past
        self._cm = view.market is Market.CM

    def _points(
        self, view: SymbolView, period_ms: int, start: int | None, end: int | None, limit: int, now_ms: int
    ) -> list[tuple[int, int, int]]:
        """``view``'s points, with the past's spliced before its first (``klines``' rules)."""
        live = view.open_interest.points(period_ms, start, end, limit)
        past = self.past
        if past is None or not past.knows(view.inst.symbol):
            return live
        first = view.open_interest.first()  # (time, qty) of the live market's first point
        boundary = past.live_from_ms if first is None else first[0]
        joined = None if first is None else first[1]
        live = [p for p in live if p[0] >= boundary]
        if start is not None:
            if start >= boundary:
                return live
            last = min(now_ms if end is None else end, boundary - 1)
            return (past.interest(view.inst, period_ms, start, last, limit, joined) + live)[:limit]
        if len(live) >= limit:
            return live
        before = boundary - 1 if end is None else min(end, boundary - 1)
        return past.interest(view.inst, period_ms, None, before, limit - len(live), joined) + live

    def open_interest(self, params: Params, now_ms: int) -> Any:
        view = required_symbol(self.view, params)
        note = view.open_interest.latest
        if note is None:
            raise NO_INTEREST()
        inst = view.inst
        qty = fixed(note.oi, inst.qty_decimals)
        if self._cm:
            return {
                "symbol": inst.symbol, "pair": inst.pair, "openInterest": qty,
                "contractType": inst.contract_type.value, "time": note.T,
            }  # fmt: skip
        return {"openInterest": qty, "symbol": inst.symbol, "time": note.T}

    def history(self, params: Params, now_ms: int) -> Any:
        if self._cm:
            views, contract = pair_contracts(self.view, params, CONTRACT_TYPES)
        else:
            views = [required_symbol(self.view, params)]
        period_ms, limit, start, end = hist_window(params, now_ms)
        earliest = now_ms - HIST_DAYS * DAY_MS
        # (time, qty units, value units) summed over the views at each time
        sums: dict[int, list[int]] = {}
        for view in views:
            for t, qty, value in self._points(view, period_ms, start, end, limit, now_ms):
                if t >= earliest:
                    row = sums.setdefault(t, [0, 0])
                    row[0] += qty
                    row[1] += value
        times = sorted(sums)
        times = times[:limit] if start is not None else times[-limit:]
        qd = views[0].inst.qty_decimals
        rows = []
        for t in times:
            qty, value = sums[t]
            total = fixed(qty * 10 ** (VALUE_DECIMALS - qd), VALUE_DECIMALS)
            worth = fixed(value, VALUE_DECIMALS)
            if self._cm:
                rows.append({
                    "contractType": contract, "sumOpenInterest": total, "sumOpenInterestValue": worth,
                    "pair": views[0].inst.pair, "timestamp": t,
                })  # fmt: skip
            else:
                rows.append({
                    "symbol": views[0].inst.symbol, "sumOpenInterest": total,
                    "sumOpenInterestValue": worth, "timestamp": t,
                })  # fmt: skip
        return rows
