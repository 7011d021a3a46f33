"""REST answers about mark prices and funding (spec §7.9), over a market view's mark state.

- ``GET /fapi/v1/premiumIndex`` (``symbol`` optional; weight 1 with it, 10 without): one
  object for a symbol, else an array of every symbol; keys ``symbol, markPrice,
  indexPrice, estimatedSettlePrice, lastFundingRate, interestRate, nextFundingTime,
  time``. COIN-M (``/dapi/v1/premiumIndex``) adds ``pair`` after ``symbol``, takes
  ``symbol`` or ``pair``, and always answers an array. A delivery contract's
  ``lastFundingRate`` and ``interestRate`` are ``""`` and its ``nextFundingTime`` 0.
- ``GET /fapi/v1/fundingRate`` (``symbol`` optional, ``startTime``, ``endTime``, ``limit``
  default 100, 1–1000; weight 1): rows ``symbol, fundingTime, fundingRate, markPrice``
  ascending in time (COIN-M rows have no ``markPrice``). With ``startTime``, the first
  ``limit`` events from it (up to ``endTime``); without, the last ``limit`` up to
  ``endTime`` or now. Each symbol's history holds its last 1,000 events
  (``market/derivatives/mark_state.py``).
- ``GET /fapi/v1/fundingInfo`` (weight 1): Binance lists the symbols whose cap, floor or
  interval was adjusted; every simulated perpetual funds every 8 hours within the same cap
  (``market/derivatives/mark_price.py``), so tickerplant lists every perpetual with it, ``disclaimer``
  false.
- ``GET /fapi/v1/assetIndex`` (USDⓈ-M, ``symbol`` optional: ``BTCUSD``; weight 1 with it, 10
  without): each margin asset's index and buffers (``market/payloads/asset_index.py``,
  what the venue's Multi-Assets mode values collateral with, at the same price: the
  perpetual's mark, else its book's mid): one object for a symbol, else an array; an asset
  with neither is left out (a symbol asked for then: ``[]``). ``time``: its mark's, else
  the request's.
- ``GET /fapi/v1/symbolAdlRisk`` (USDⓈ-M, ``symbol`` optional, weight 1; trading spec part 3
  §4.15): the symbol-level ADL risk rating, ``{"symbol", "adlRisk", "updateTime"}`` for a
  symbol, else an array of every symbol; "updated every 30 minutes", so ``updateTime`` is the
  last half hour's start. The rating measures the likelihood of auto-deleveraging, which
  tickerplant never does (its insurance fund takes every liquidation's shortfall, decision
  12): ``"low"`` for every symbol, in the doc's lower case (ccxt lower-cases it anyway).
- ``GET /fapi/v1/markPriceKlines`` and ``premiumIndexKlines`` (``symbol``) and
  ``indexPriceKlines`` (``pair``, on both markets), each with ``interval``, ``startTime``,
  ``endTime``, ``limit`` (default 500, 1–1500) and ``klines``' weight and errors (§7.8):
  12-element rows whose volume fields are ``"0"`` and whose count (index 8) is the number of
  samples in the interval. They come from the last 1,500 minutes of mark states
  (``market/klines/price_candles.py``, which says how the premium index is derived); a pair's index
  klines are those sampled with its perpetual's (or first contract's) mark states.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import msgspec

from tickerplant.market.derivatives.mark_price import DEFAULT_CAP, FUNDING_INTERVAL_MS
from tickerplant.market.derivatives.mark_streams import FundingEvent
from tickerplant.market.instruments import ContractType, Market
from tickerplant.market.klines.price_candles import PriceBar, PriceKind
from tickerplant.market.payloads.asset_index import (
    MARGIN_ASSETS,
    PRICED_BY,
    asset_index_row,
    asset_price,
    index_symbol,
)
from tickerplant.market.plant.view import MarketView, SymbolView
from tickerplant.market.units import HOUR_MS, fixed, mark_or_mid
from tickerplant.market.updates import MARK_DECIMALS
from tickerplant.protocol.encoded_rows import array
from tickerplant.protocol.errors import BAD_SYMBOL, RequestRefused, mandatory, not_valid
from tickerplant.protocol.kline_windows import kline_query, klines_weight
from tickerplant.protocol.later import Later, eventually
from tickerplant.protocol.market_data import MarketData, Method, required_symbol
from tickerplant.protocol.query_values import Params, int_param, optional_symbol, text_param

__all__ = ["FUNDING_LIMIT_MAX", "DerivativesData", "price_row"]

_encode_row = msgspec.json.Encoder().encode

FUNDING_LIMIT_MAX = 1_000
ADL_RISK_INTERVAL_MS = 30 * 60_000  # symbolAdlRisk: "updated every 30 minutes"
_FUNDING_LIMIT_DEFAULT = 100


class DerivativesData:
    """The mark-price and funding answers of one market, over its view (``MarketData``'s
    view, parameter readers and symbol selection)."""

    def __init__(self, data: MarketData) -> None:
        self._data = data
        self._view: MarketView = data.view
        self._cm = data.market is Market.CM
        self.methods: dict[str, Method] = {
            "premiumIndex": Method(self.premium_index_weight, self.premium_index),
            "fundingRate": Method(lambda params: 1, self.funding_rate),
            "fundingInfo": Method(lambda params: 1, self.funding_info),
            "markPriceKlines": Method(klines_weight, self._price_klines(PriceKind.MARK)),
            "indexPriceKlines": Method(klines_weight, self._price_klines(PriceKind.INDEX)),
            "premiumIndexKlines": Method(klines_weight, self._price_klines(PriceKind.PREMIUM)),
            "symbolAdlRisk": Method(lambda params: 1, self.adl_risk),
            "assetIndex": Method(lambda params: 1 if params.get("symbol") else 10, self.asset_index),
        }

    # -- premiumIndex --------------------------------------------------------------------

    def premium_index_weight(self, params: Params) -> int:
        return 1 if self._data.has_selection(params) else 10

    def premium_index(self, params: Params, now_ms: int) -> Any:
        views, single = self._data.selection(params)
        marks = self._view.marks
        rows = []
        for view in views:
            state = marks.mark(view.inst.symbol)
            if state is None:
                continue
            row: dict[str, Any] = {"symbol": state.s}
            if self._cm:
                row["pair"] = view.inst.pair
            row.update(
                markPrice=state.p, indexPrice=state.i, estimatedSettlePrice=state.P,
                lastFundingRate=state.r, interestRate=state.ir, nextFundingTime=state.T, time=state.t,
            )  # fmt: skip
            rows.append(row)
        return rows[0] if single and rows else rows

    # -- fundingRate ---------------------------------------------------------------------

    def funding_rate(self, params: Params, now_ms: int) -> Any:
        view = self._data.symbol(params, required=False)
        start, end = int_param(params, "startTime"), int_param(params, "endTime")
        limit = int_param(params, "limit")
        limit = _FUNDING_LIMIT_DEFAULT if limit is None else limit
        if not 1 <= limit <= FUNDING_LIMIT_MAX:
            raise not_valid("limit")
        if start is not None and end is not None and start > end:
            raise RequestRefused(-1023, "Start time is greater than end time.")
        marks = self._view.marks
        symbol = view.inst.symbol if view is not None else None
        past = self._data.past
        # every symbol's together: each funding time has one event per perpetual, so each
        # symbol's last (first) few past events are all the answer can take of them
        perpetuals = sum(v.inst.contract_type is ContractType.PERPETUAL for v in self._view.symbols.values())
        most = limit if symbol is not None else -(-limit // max(1, perpetuals)) + 1

        def history(name: str) -> list[FundingEvent]:
            """``name``'s events: the past's (as many as the answer can take) and the view's."""
            live = list(marks.funding(name))
            if past is None or not past.knows(name):
                return live
            first = live[0].T if live else None
            older = past.funding(name, start, end, most)
            return [f.event() for f in older if first is None or f.funding_ms < first] + live

        def answer() -> bytes:
            if symbol is not None:
                events: list[FundingEvent] = history(symbol)
            else:  # every symbol's, merged in time
                histories = (history(name) for name in self._view.symbols)
                events = list(heapq.merge(*histories, key=lambda e: (e.T, e.s)))
            if start is not None:
                chosen = [e for e in events if start <= e.T and (end is None or end >= e.T)][:limit]
            else:
                chosen = [e for e in events if end is None or end >= e.T][-limit:]
            if self._cm:
                return _encode_row([{"symbol": e.s, "fundingTime": e.T, "fundingRate": e.r} for e in chosen])
            return _encode_row(
                [{"symbol": e.s, "fundingTime": e.T, "fundingRate": e.r, "markPrice": e.p} for e in chosen]
            )

        # the same question over the same histories: the same answer (encoded_rows.py)
        kind = ("fundingRate", symbol, start, end, limit)
        rows = self._data.rows

        def finish() -> msgspec.Raw:
            return msgspec.Raw(rows.span(marks, kind, marks.funding_changes, answer))

        if past is None or rows.holds_span(marks, kind, marks.funding_changes):
            return finish()
        # the past's events not yet made, made one a piece (each ~2.4 ms; ~1,000 for every
        # symbol's), so that the first such answer shares the loop (protocol/later.py)
        names = [n for n in ([symbol] if symbol is not None else self._view.symbols) if past.knows(n)]
        pieces = (piece for name in names for piece in past.funding_pieces(name, start, end, most))
        return eventually(pieces, finish)

    # -- fundingInfo ---------------------------------------------------------------------

    def funding_info(self, params: Params, now_ms: int) -> Any:
        cap, floor = fixed(DEFAULT_CAP, MARK_DECIMALS), fixed(-DEFAULT_CAP, MARK_DECIMALS)
        return [
            {
                "symbol": view.inst.symbol,
                "adjustedFundingRateCap": cap,
                "adjustedFundingRateFloor": floor,
                "fundingIntervalHours": FUNDING_INTERVAL_MS // HOUR_MS,
                "disclaimer": False,
            }
            for view in self._view.symbols.values()
            if view.inst.contract_type is ContractType.PERPETUAL
        ]

    # -- assetIndex ----------------------------------------------------------------------

    def asset_index(self, params: Params, now_ms: int) -> Any:
        asked = optional_symbol(params)
        assets = list(MARGIN_ASSETS)
        if asked is not None:
            assets = [a for a in assets if index_symbol(a) == asked.upper()]
            if not assets:
                raise BAD_SYMBOL()
        marks, market = self._view.marks, self._view
        times: dict[str, int] = {}  # a marked coin's index time: its mark's

        def mark(symbol: str) -> Fraction | None:
            """A collateral coin's price as the venue reads it (``units.mark_or_mid``)."""
            state = marks.mark(symbol)
            if state is not None:
                times[symbol] = state.t
                return Fraction(state.p)
            view = market.symbol(symbol)
            return mark_or_mid(None, market.book(view).levels, view.inst.price_decimals) if view else None

        rows = []
        for asset in assets:
            index = asset_price(asset, mark)
            if index is not None:
                rows.append(asset_index_row(asset, index, times.get(PRICED_BY.get(asset, ""), now_ms)))
        return (rows[0] if rows else []) if asked is not None else rows

    # -- symbolAdlRisk ------------------------------------------------------------------

    def adl_risk(self, params: Params, now_ms: int) -> Any:
        view = self._data.symbol(params, required=False)
        views = [view] if view is not None else list(self._view.symbols.values())
        updated = now_ms - now_ms % ADL_RISK_INTERVAL_MS
        rows = [{"symbol": v.inst.symbol, "adlRisk": "low", "updateTime": updated} for v in views]
        return rows[0] if view is not None else rows

    # -- markPriceKlines, indexPriceKlines, premiumIndexKlines (§7.8) --------------------

    def _price_klines(self, kind: PriceKind) -> Callable[[Params, int], Any]:
        def answer(params: Params, now_ms: int) -> Any:
            return self.price_klines(kind, params, now_ms)

        return answer

    def _pair_contract(self, params: Params) -> SymbolView:
        """The contract whose samples give a pair's index: its perpetual, else its first."""
        pair = text_param(params, "pair")
        if pair is None:
            raise mandatory("pair")
        views = [v for v in self._view.symbols.values() if v.inst.pair == pair.upper()]
        if not views:
            raise BAD_SYMBOL()
        perpetual = [v for v in views if v.inst.contract_type is ContractType.PERPETUAL]
        return (perpetual or views)[0]

    def price_klines(
        self, kind: PriceKind, params: Params, now_ms: int
    ) -> msgspec.Raw | list[Any] | Later[msgspec.Raw]:
        index = kind is PriceKind.INDEX
        view = self._pair_contract(params) if index else required_symbol(self._view, params)
        q = kline_query(params, coin_m_now=None if view.inst.market is Market.UM else now_ms)
        bars = self._view.marks.bars(view.inst.symbol)
        past = self._data.past
        rows = self._data.rows

        def render(chosen: Sequence[PriceBar]) -> msgspec.Raw:
            """The view's bars, their rows kept by open time while a bar's values are the
            same (encoded_rows.py)."""
            if not chosen:
                return array()

            def encode(i: int) -> bytes:
                return _encode_row(price_row(chosen[i]))

            opens = [b.open_ms for b in chosen]
            return array(rows.valued(bars, (kind, q.interval), opens, chosen, encode))

        if past is not None and past.knows(view.inst.symbol):

            def live(start: int | None, end: int | None, limit: int) -> list[PriceBar]:
                return [] if bars is None else bars.query(kind, q.interval, start, end, limit)

            symbol, interval = view.inst.symbol, q.interval

            def spliced() -> msgspec.Raw:
                return past.price_klines(
                    symbol, kind, interval, q.start_ms, q.end_ms, q.limit, live, render, price_row
                )

            # the past's bars not yet made, a funding interval's minutes a piece (later.py)
            pieces = past.price_kline_pieces(symbol, kind, interval, q.start_ms, q.end_ms, q.limit)
            return eventually(pieces, spliced)
        if bars is None:
            return []
        return render(bars.query(kind, q.interval, q.start_ms, q.end_ms, q.limit))


def price_row(bar: PriceBar) -> list[int | str]:
    """One row of a price-kline answer (§7.8): no volumes; index 8 counts the samples."""
    return [
        bar.open_ms, fixed(bar.open, MARK_DECIMALS), fixed(bar.high, MARK_DECIMALS),
        fixed(bar.low, MARK_DECIMALS), fixed(bar.close, MARK_DECIMALS), "0", bar.close_ms, "0",
        bar.samples, "0", "0", "0",
    ]  # fmt: skip
