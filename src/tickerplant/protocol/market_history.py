"""The market-history answers of REST: recent trades, aggregate trades and continuous
klines (spec §7.8, §7.9), both markets, from a ``MarketView`` like every other answer.

- `GET /fapi/v1/aggTrades` / `/dapi/v1/aggTrades` (weight 20): `fromId`, `startTime`,
  `endTime` (inclusive), `limit` (default 500, at most 1,000). Binance refuses a time older
  than 2 days with -4166 (§7.9), and so do we. The docs' "window under 1 hour" is not what
  the live service applies (a 2 h window was answered, §7.9): any window is answered, its
  first `limit` aggregates, which is how ccxt pages (`startTime`, `endTime` = start + 1 h,
  then from the last id). What is older than the view's history
  (``market/trades/history.py``, the last 10,000 aggregates) is not answered.
- `GET /fapi/v1/trades` / `/dapi/v1/trades` (weight 5): the most recent `limit` trades.
  They are read from the aggregate stream every source sends: the simulator's aggregates
  are single fills, so each row is exactly one trade; an aggregate of several fills (a
  replay of Binance's aggTrades files, a recording, a relay) is one row whose `id` is its
  last trade id and whose `qty` is the aggregate's. `isRPITrade` is always false (the
  books hold no RPI orders).
- `GET /fapi/v1/historicalTrades` / `/dapi/v1/historicalTrades` (weight 200; security type
  MARKET_DATA: the listener checks `X-MBX-APIKEY`, ``gateway/server.py``): spec §7.9's table
  says 20, Binance's own SDK (18.0.1) and ccxt say 200 since the 2026-07-29 changelog, and
  the stricter is what code that works here needs on Binance. `trades`'
  rows, `limit` default 100, at most 500; with `fromId`, the first `limit` from the trade of
  that id on (the aggregate holding it, in a replay's multi-fill aggregates), from the past
  where it is older than the live start; without, the most recent. Binance answers the last
  month only; tickerplant answers what it holds (the view's ring and the past).
- `GET /fapi/v1/continuousKlines` / `/dapi/v1/continuousKlines` (`pair`, `contractType`,
  `interval`, `startTime`, `endTime`, `limit`; weight by `limit` as `klines`): the klines
  of the contract that is the pair's `contractType` now (``market/klines/streams.py``), as
  `klines` answers them; `1s` on USDⓈ-M only (§4.12). A contract type the catalogue has
  no contract of (`TRADIFI_PERPETUAL`, a pair without quarterlies) answers `[]`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.klines.candles import CONTINUOUS_INTERVALS_UM, INTERVALS
from tickerplant.market.klines.streams import CONTINUOUS_TYPES, ContinuousContracts
from tickerplant.market.payloads.builders import BASE_DECIMALS, quote_units
from tickerplant.market.trades.history import Aggregate, TradeHistory
from tickerplant.market.units import DAY_MS, fixed
from tickerplant.protocol.encoded_rows import EncodedRows, array
from tickerplant.protocol.errors import BAD_SYMBOL, RequestRefused, mandatory, not_valid, refusal
from tickerplant.protocol.kline_windows import kline_query, klines_weight
from tickerplant.protocol.later import Later, eventually
from tickerplant.protocol.market_data import MarketData, Method, required_symbol
from tickerplant.protocol.past_trades import PastTrades
from tickerplant.protocol.query_values import Params, int_param, text_param

__all__ = ["AGG_TRADES_WINDOW_MS", "HISTORICAL_TRADES_WEIGHT", "MarketHistory"]

AGG_TRADES_WINDOW_MS = 2 * DAY_MS  # how far back aggTrades answers (§7.9, live)
_TRADES_MAX = 1000
_HISTORICAL_DEFAULT, _HISTORICAL_MAX = 100, 500  # historicalTrades' limit (§7.9's doc page)
HISTORICAL_TRADES_WEIGHT = 200  # see the module's docstring
_TOO_OLD = refusal(-4166, "Search window is restricted to recent 2 days only.")
_encode_row = msgspec.json.Encoder().encode


def _limit(params: Params, default: int, most: int) -> int:
    limit = int_param(params, "limit")
    if limit is None:
        return default
    if not 1 <= limit <= most:
        raise not_valid("limit")
    return limit


class MarketHistory:
    """The answers of one market's history endpoints, over its view."""

    def __init__(self, data: MarketData) -> None:
        """Over ``data``'s view, its rows kept encoded and its past's trades (``past_trades.py``)."""
        self.view = view = data.view
        self._data = data
        self._past = None if data.past is None else data.past.trades_past
        self._rows = data.rows
        self.market = view.market
        self._um = view.market is Market.UM
        self._contracts = ContinuousContracts(v.inst for v in view.symbols.values())
        self._intervals = CONTINUOUS_INTERVALS_UM if self._um else INTERVALS
        self._types = {kind.upper() for kind in CONTINUOUS_TYPES[view.market]}
        self.methods: dict[str, Method] = {
            "aggTrades": Method(lambda params: 20, self.agg_trades),
            "trades": Method(lambda params: 5, self.trades),
            "historicalTrades": Method(lambda params: HISTORICAL_TRADES_WEIGHT, self.historical_trades),
            "continuousKlines": Method(klines_weight, self.continuous_klines),
        }

    # -- aggTrades (§7.9) ------------------------------------------------------------------

    def agg_trades(self, params: Params, now_ms: int) -> Any:
        view = required_symbol(self.view, params)
        from_id = int_param(params, "fromId")
        start, end = int_param(params, "startTime"), int_param(params, "endTime")
        limit = _limit(params, 500, _TRADES_MAX)
        if start is not None and end is not None and start > end:
            raise RequestRefused(-1023, "Start time is greater than end time.")
        oldest = now_ms - AGG_TRADES_WINDOW_MS
        if (start is not None and start < oldest) or (end is not None and end < oldest):
            raise _TOO_OLD()
        history = self.view.trades(view)
        inst = view.inst
        pd, qd = inst.price_decimals, inst.qty_decimals
        um = self._um

        def row(a: Aggregate) -> bytes:
            price, qty = fixed(a.price, pd), fixed(a.qty, qd)
            fields: dict[str, Any] = {"a": a.agg_id, "p": price, "q": qty}
            if um:
                fields["nq"] = qty  # no RPI trades: the normal quantity is all of it
            fields.update(f=a.first_id, l=a.last_id, T=a.time_ms, m=a.buyer_is_maker)
            return _encode_row(fields)

        past = self._past
        if past is not None and past.holds_trades(inst, from_id, start):

            def live(from_: int | None, start_: int | None, end_: int | None, limit_: int) -> list[Aggregate]:
                return history.rows(*history.span(from_, start_, end_, limit_))

            return array(*map(row, past.agg_trades(inst, from_id, start, end, limit, live)))
        lo, hi = history.span(from_id, start, end, limit)
        if past is not None and hi - lo < limit and from_id is None and start is None:
            if end is None:  # the latest
                return _spliced(past, inst, limit, history, lo, hi, self._rows, "aggTrades", row)
            # only endTime: the last `limit` up to it, the past's in front of the view's (§7.9)
            first = history.rows(lo, lo + 1)[0].agg_id if hi > lo else None
            older = past.agg_trades_until(inst, end, limit - (hi - lo), first)
            newer = bytes(_aggregate_rows(self._rows, history, "aggTrades", lo, hi, row))[1:-1]
            return array(*map(row, older), newer)
        return _aggregate_rows(self._rows, history, "aggTrades", lo, hi, row)

    # -- trades (§7.9) ---------------------------------------------------------------------

    def trades(self, params: Params, now_ms: int) -> Any:
        view = required_symbol(self.view, params)
        return self._latest_trades(view.inst, _limit(params, 500, _TRADES_MAX))

    def historical_trades(self, params: Params, now_ms: int) -> Any:
        view = required_symbol(self.view, params)
        limit = _limit(params, _HISTORICAL_DEFAULT, _HISTORICAL_MAX)
        from_id = int_param(params, "fromId")
        inst = view.inst
        if from_id is None:
            return self._latest_trades(inst, limit)
        history, row, past = self.view.trades(view), self._trade_row(inst), self._past
        if past is not None and past.holds_trades(inst, from_id, None, aggregates=False):

            def live(from_: int, limit_: int) -> list[Aggregate]:
                return history.rows(*history.from_trade(from_, limit_))

            return array(*map(row, past.trades(inst, from_id, limit, live)))
        lo, hi = history.from_trade(from_id, limit)
        return _aggregate_rows(self._rows, history, "trades", lo, hi, row)

    def _latest_trades(self, inst: Instrument, limit: int) -> msgspec.Raw | Later[msgspec.Raw]:
        view = self.view.symbol(inst.symbol)
        assert view is not None
        history = self.view.trades(view)
        lo, hi = history.latest_span(limit)
        row, past = self._trade_row(inst), self._past
        if past is not None and hi - lo < limit:
            return _spliced(past, inst, limit, history, lo, hi, self._rows, "trades", row)
        return _aggregate_rows(self._rows, history, "trades", lo, hi, row)

    def _trade_row(self, inst: Instrument) -> Callable[[Aggregate], bytes]:
        """A ``trades`` row (§7.9): an aggregate's last trade id, price, quantity, its
        quote (USDⓈ-M) or base (COIN-M) amount, time, side, and USDⓈ-M's ``isRPITrade``."""
        pd, qd = inst.price_decimals, inst.qty_decimals
        um = self._um
        quote_decimals = pd + qd if um else BASE_DECIMALS

        def row(a: Aggregate) -> bytes:
            fields: dict[str, Any] = {"id": a.last_id, "price": fixed(a.price, pd), "qty": fixed(a.qty, qd)}
            quote = fixed(quote_units(inst, a.price, a.qty), quote_decimals)
            fields["quoteQty" if um else "baseQty"] = quote
            fields.update(time=a.time_ms, isBuyerMaker=a.buyer_is_maker)
            if um:
                fields["isRPITrade"] = False
            return _encode_row(fields)

        return row

    # -- continuousKlines (§7.8, §4.12) ------------------------------------------------------

    def continuous_klines(self, params: Params, now_ms: int) -> Any:
        pair = text_param(params, "pair")
        if pair is None:
            raise mandatory("pair")
        pair = pair.upper()
        if pair not in self._contracts.pairs:
            raise BAD_SYMBOL()
        contract_type = text_param(params, "contractType")
        if contract_type is None:
            raise mandatory("contractType")
        if contract_type.upper() not in self._types:
            raise not_valid("contractType")
        q = kline_query(params, self._intervals, coin_m_now=None if self._um else now_ms)
        inst = self._contracts.contract(pair, contract_type, now_ms)
        if inst is None:
            return []
        view = self.view.symbol(inst.symbol)
        assert view is not None
        series = self.view.klines(view).series(q.interval)
        return self._data.spliced_klines(q, series, inst)


def _spliced(
    past: PastTrades, inst: Instrument, limit: int, history: TradeHistory, lo: int, hi: int,
    rows: EncodedRows, kind: str, row: Callable[[Aggregate], bytes],
) -> msgspec.Raw | Later[msgspec.Raw]:
    """The latest ``limit``: the past's trades before the view's ``lo``-th to ``hi``-th,
    each side's rows kept encoded (``PastTrades.recent_rows``, ``_aggregate_rows``)."""
    oldest = history.rows(lo, lo + 1)[0] if hi > lo else None  # what the past ends before
    first = None if oldest is None else oldest.agg_id if kind == "aggTrades" else oldest.first_id
    count = limit - (hi - lo)

    def answer() -> msgspec.Raw:
        head = past.recent_rows(inst, count, first, kind, row)
        tail = bytes(_aggregate_rows(rows, history, kind, lo, hi, row))[1:-1]
        return msgspec.Raw(b"[" + b",".join(p for p in (head, tail) if p) + b"]")

    # the past's rows not yet made, a few hundred a piece (protocol/later.py)
    return eventually(past.recent_pieces(inst, count, first, kind, row), answer)


def _aggregate_rows(
    rows: EncodedRows, history: TradeHistory, kind: str, lo: int, hi: int,
    row: Callable[[Aggregate], bytes],
) -> msgspec.Raw:
    """The answer of the ``lo``-th to ``hi``-th oldest aggregates of ``history``: joined
    once per span (its first and last id say it: an aggregate never changes), each row
    kept by aggregate id where the time is the one kept (its columns are read as slices,
    an ``Aggregate`` is made only for a row not kept)."""
    if hi <= lo:
        return array()

    def join() -> bytes:
        columns = history.columns(lo, hi)

        def encode(i: int) -> bytes:
            a, f, last, t, p, q, m = (column[i] for column in columns)
            return row(Aggregate(a, f, last, t, p, q, bool(m)))

        return rows.valued(history, kind, columns[0], columns[3], encode)

    return array(rows.span(history, kind, (history.id_at(lo), history.id_at(hi - 1), hi - lo), join))
