"""An account's history as Binance keeps it: by time, not by rows (trading spec part 2
§6.2, §6.5, §6.8; part 3 §4.11).

- **Orders** (``GET order``, ``allOrders``): one CANCELED or EXPIRED without a fill is
  not found once made more than 3 days ago, any order once made more than 90 days ago
  (-2013 for ``GET order``; absent from ``allOrders``).
- **Trades** (``userTrades``): the past 3 months (90 days).
- **Modifications** (``orderAmendment``): the past 3 months.
- **Liquidations** (``forceOrders``): the 7 days before the end without a start, the past
  90 days at most; **isolated margin moved** (``positionMargin/history``): the past 30 days,
  a window of at most 30 (``-4165``).
- **Income**: USDⓈ-M keeps the past 3 months; COIN-M answers a window of at most a year.
- **Windows**: ``allOrders`` and ``userTrades`` answer at most 7 days (more is ``-4165
  "Maximum time interval is 7 days"``, COIN-M's ``-4088`` with a full stop: ``too_wide``, the
  overview's recommendation for an error Binance leaves open), the last 7 days when neither
  ``startTime``, ``endTime`` nor an id to start from is sent; a start alone takes the 7 days
  after it, an end alone the 7 before it.
  ``userTrades``'s ``fromId`` with a time is ``-1128`` (part 2 §6.8: "not with
  startTime/endTime"); ``income`` without a time answers the last 7 days.
- **Symbols**: one ``symbol``; on COIN-M a ``pair`` instead (its contracts'); USDⓈ-M's
  ``allOrders`` without either (part 2 §6.5, since 2026-08-25): every symbol's. More than
  one symbol answers the most recent by time, and an ``orderId`` to start from (an id is
  a symbol's) is ``-1128``. The COIN-M orders a linear ``allOrders`` without a symbol also
  returns, by a ccxt comment (part 5, Unresolved 5), are not added: one market's engine.
- **Limits**: ``allOrders`` and ``userTrades`` 500 by default, at most 1,000 (COIN-M's
  ``allOrders`` 50, at most 100, part 2 §6 COIN-M); ``income`` 100, at most 1,000.

Where the rows come from: the engine's ``history`` (the journal, ``reads.py``) when
it has one, else its memory (``KeptHistory``: the open orders and the last ``ORDERS_KEPT``
closed orders and ``FILLS_KEPT`` fills per account and symbol, ``kept.py``). ``GET order``
looks in memory first (every open order and the recent closed ones are there) and in the
journal after. Memory stays bounded however long an account trades; each read costs what
its ``limit`` allows (the journal's indexes, ``schema.py``), not what the
account's history holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from tickerplant.market.instruments import Market
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.domain.events import MarginMove
from tickerplant.venue.domain.order_params import (
    parse_int,
    parse_order_ref,
    parse_symbol,
    parse_time_range,
    refused,
)
from tickerplant.venue.domain.orders import Amendment, Fill, Order, OrderStatus
from tickerplant.venue.domain.recorded import Flow, History, Span, fill_tran_id
from tickerplant.venue.engine.state import EngineState

__all__ = [
    "WINDOW_MS", "KeptHistory", "amendments", "asked_open_orders", "flows", "liquidations", "margin_moves",
    "open_orders", "order", "orders", "trades", "window",
]

DAY_MS: Final = 24 * 3600_000
UNFILLED_ORDERS_MS: Final = 3 * DAY_MS  # a CANCELED/EXPIRED order without a fill, found this long
ORDERS_MS: Final = 90 * DAY_MS  # any order, found this long
TRADES_MS: Final = 90 * DAY_MS  # "past 3 months"
AMENDMENTS_MS: Final = 90 * DAY_MS  # orderAmendment: "3 months"
LIQUIDATIONS_MS: Final = 90 * DAY_MS  # forceOrders' lookback (part 2 §6's COIN-M row: 90 days)
MARGIN_MOVES_MS: Final = 30 * DAY_MS  # positionMargin/history: 30 days back, a window of 30
UM_INCOME_MS: Final = 90 * DAY_MS  # USDⓈ-M: "only the last 3 months"
CM_INCOME_WINDOW_MS: Final = 365 * DAY_MS  # COIN-M: a window of at most a year
WINDOW_MS: Final = 7 * DAY_MS  # allOrders', userTrades' and income's default; the first two's most

_CLOSED_UNFILLED = frozenset({OrderStatus.CANCELED, OrderStatus.EXPIRED})


def _source(engine: EngineState) -> History:
    return engine.history or KeptHistory(engine)


def visible(order: Order, now_ms: int) -> bool:
    """Whether Binance still finds ``order`` (part 2 §6.2)."""
    if order.time_ms < now_ms - ORDERS_MS:
        return False
    return not (
        order.status in _CLOSED_UNFILLED
        and not order.executed_qty
        and order.time_ms < now_ms - UNFILLED_ORDERS_MS
    )


def order(
    engine: EngineState, account_id: int, params: Mapping[str, str], now_ms: int, *, open_only: bool
) -> Order:
    """``GET order`` and ``openOrder`` (and the WebSocket API's ``order.status``): -2013 when
    Binance would not find it (an open order ``openOrder`` always finds: its windows are
    ``GET order``'s)."""
    symbol, order_id, client_id = parse_order_ref(params)
    symbol = engine.symbol(symbol).symbol
    found = engine.find(account_id, symbol, order_id, client_id)
    if found is None and not open_only and engine.history is not None:  # past the memory
        found = engine.history.order(account_id, symbol, order_id, client_id)
    if found is None or not (found.status.is_open if open_only else visible(found, now_ms)):
        raise refused(-2013, "Order does not exist.")
    return found


def window(market: Market, start: int | None, end: int | None, now_ms: int, most_ms: int) -> tuple[int, int]:
    """A read's time window: the last ``most_ms`` without either end, ``most_ms`` after a start
    alone or before an end alone, and ``too_wide`` for one wider (the module's docstring)."""
    if start is None and end is None:
        return now_ms - most_ms, now_ms
    if start is None:
        assert end is not None
        return end - most_ms, end
    if end is None:
        return start, start + most_ms
    if end - start > most_ms:
        raise too_wide(market, most_ms)
    return start, end


def too_wide(market: Market, most_ms: int) -> RequestRefused:
    """A window wider than ``most_ms``: INVALID_TIME_INTERVAL, USDⓈ-M's -4165 "Maximum time
    interval is %s days", COIN-M's -4088 with its full stop (part 1 §6.2's table, part 2
    §6.5's table of COIN-M's codes; the overview's recommendation 14)."""
    days = most_ms // DAY_MS
    if market is Market.UM:
        return refused(-4165, f"Maximum time interval is {days} days")
    return refused(-4088, f"Maximum time interval is {days} days.")


def _limit(params: Mapping[str, str], default: int, most: int) -> int:
    limit = parse_int(params, "limit")
    return default if limit is None or limit <= 0 else min(limit, most)


def _symbols(
    engine: EngineState, params: Mapping[str, str], *, with_ids: tuple[str, ...], every_um: bool = False
) -> list[str]:
    """The ``symbol`` asked, or on COIN-M every symbol of the ``pair`` asked (part 2 §11's
    COIN-M table: ``symbol`` xor ``pair``, and ``pair`` with none of ``with_ids``: -1128);
    ``every_um``: on USDⓈ-M without a ``symbol``, every symbol (``allOrders``, part 2 §6.5:
    ``symbol`` optional since 2026-08-25), under the ``pair`` rule's -1128."""
    symbol, pair = params.get("symbol"), params.get("pair")
    um = engine.market is Market.UM
    if symbol and pair and not um:  # ``symbol`` xor ``pair`` (part 2 §11; the code: the page's others')
        raise refused(-1128, "Combination of optional parameters invalid.")
    if symbol or (um and not every_um) or (not um and not pair):  # one symbol, named or missing
        return [engine.symbol(parse_symbol(params)).symbol]
    if any(params.get(name.lower()) for name in with_ids):
        raise refused(-1128, "Combination of optional parameters invalid.")
    if um or pair is None:  # USDⓈ-M's allOrders without a symbol (no pair read there)
        return list(engine.instruments)
    chosen = [s for s, inst in engine.instruments.items() if inst.pair == pair.upper()]
    if not chosen:
        raise refused(-1121, "Invalid symbol.")
    return chosen


def open_orders(engine: EngineState, account_id: int, symbol: str | None) -> list[Order]:
    """The account's open orders (on ``symbol``), its legacy conditional orders waiting for
    their price too (``algo/legacy.py``: kept, resting nowhere): symbol by symbol (as the
    account first held an order there), each symbol's by id."""
    ledger, listed = engine.ledger(account_id), engine.symbol(symbol).symbol if symbol else None
    found = {s: list(o.values()) for s, o in ledger.open_orders.items() if listed in (None, s)}
    for algo in engine.algos.legacy_on(account_id, listed):
        shown = engine.kept(account_id, algo.symbol).orders.get(algo.order_id)
        if shown is not None:  # (kept as its algo order is added: ``algo_told.tell_algo``)
            found.setdefault(algo.symbol, []).append(shown)
    return [o for orders in found.values() for o in sorted(orders, key=lambda o: o.order_id)]


def asked_open_orders(engine: EngineState, account_id: int, params: Mapping[str, str]) -> list[Order]:
    """``openOrders``: the account's open orders on the ``symbol`` asked, or on COIN-M on
    every symbol of the ``pair`` asked (part 2 §11's COIN-M table: ``symbol`` or ``pair``,
    read as ``allOrders`` reads them: both -1128, a pair not listed -1121), else on every
    symbol (``open_orders``' order)."""
    if engine.market is Market.CM and params.get("pair"):
        symbols = _symbols(engine, params, with_ids=())
        return [o for o in open_orders(engine, account_id, None) if o.symbol in symbols]
    return open_orders(engine, account_id, params.get("symbol") or None)


def orders(engine: EngineState, account_id: int, params: Mapping[str, str], now_ms: int) -> list[Order]:
    """``allOrders``: ascending by id, ids from ``orderId`` or else the most recent (a
    COIN-M ``pair``'s, or USDⓈ-M's without a ``symbol``: every symbol's, by time)."""
    symbols = _symbols(engine, params, with_ids=("orderId",), every_um=True)
    from_id = parse_int(params, "orderId")
    start, end = parse_time_range(params)
    if from_id is None or start is not None or end is not None:
        start, end = window(engine.market, start, end, now_ms, WINDOW_MS)
    limit = _limit(params, *((500, 1000) if engine.market is Market.UM else (50, 100)))
    span = Span(from_id, start, end, now_ms - ORDERS_MS, limit)
    unfilled_floor = now_ms - UNFILLED_ORDERS_MS
    found = [o for s in symbols for o in _source(engine).orders(account_id, s, span, unfilled_floor)]
    if len(symbols) > 1:  # the most recent of them all, by time
        found = sorted(found, key=lambda o: (o.time_ms, o.symbol, o.order_id))[-limit:]
    return found


def trades(engine: EngineState, account_id: int, params: Mapping[str, str], now_ms: int) -> list[Fill]:
    """``userTrades``: ascending by trade id, ids from ``fromId`` or else the most recent;
    an order's alone with ``orderId`` (a COIN-M ``pair``'s: every symbol's, by time)."""
    symbols = _symbols(engine, params, with_ids=("fromId", "orderId"))
    order_id, from_id = parse_int(params, "orderId"), parse_int(params, "fromId")
    start, end = parse_time_range(params)
    if from_id is not None and (start is not None or end is not None):
        raise refused(-1128, "Combination of optional parameters invalid.")
    if from_id is None and (order_id is None or start is not None or end is not None):
        start, end = window(engine.market, start, end, now_ms, WINDOW_MS)
    most = (500, 1000) if engine.market is Market.UM else (50, 1000)  # part 2 §11: COIN-M's default 50
    span = Span(from_id, start, end, now_ms - TRADES_MS, _limit(params, *most))
    found = [f for s in symbols for f in _source(engine).fills(account_id, s, span, order_id)]
    if len(symbols) > 1:  # the pair's most recent, by time
        found = sorted(found, key=lambda f: (f.time_ms, f.symbol, f.trade_id, f.order_id))[-span.limit :]
    return found


def flows(
    engine: EngineState, account_id: int, symbol: str | None, kind: str, start: int | None, end: int | None,
    limit: int, now_ms: int,
) -> list[Flow]:  # fmt: skip
    """``income``'s rows (``account_reads.income`` has parsed the request), oldest first."""
    if start is None and end is None:
        start = now_ms - WINDOW_MS
    if engine.market is Market.UM:
        start = max(start or 0, now_ms - UM_INCOME_MS)
    elif start is not None and end is not None and end - start > CM_INCOME_WINDOW_MS:
        raise too_wide(engine.market, CM_INCOME_WINDOW_MS)
    symbols = [engine.symbol(symbol).symbol] if symbol else list(engine.instruments)
    return _source(engine).flows(account_id, symbols, not symbol, kind, start or 0, end, limit)


def amendments(
    engine: EngineState, account_id: int, order: Order, start: int | None, end: int | None, limit: int,
    now_ms: int,
) -> list[Amendment]:
    """``orderAmendment``'s rows of ``order`` (found by ``order``): the past 3 months."""
    start = max(start or 0, now_ms - AMENDMENTS_MS)
    return _source(engine).amendments(account_id, order.symbol, order.order_id, start, end, limit)


def liquidations(
    engine: EngineState, account_id: int, symbol: str | None, start: int | None, end: int | None, limit: int,
    now_ms: int,
) -> list[Order]:  # fmt: skip
    """``forceOrders``' liquidation orders: without a start, the 7 days before the end (part
    2 §6.9); at most the past 90 days."""
    if start is None:
        start = (end if end is not None else now_ms) - WINDOW_MS
    start = max(start, now_ms - LIQUIDATIONS_MS)
    symbols = [engine.symbol(symbol).symbol] if symbol else list(engine.instruments)
    return _source(engine).liquidations(account_id, symbols, start, end, limit)


def margin_moves(
    engine: EngineState, account_id: int, symbol: str, kind: int | None, start: int | None, end: int | None,
    limit: int, now_ms: int,
) -> list[MarginMove]:  # fmt: skip
    """``positionMargin/history``: at most 30 days back, a window of at most 30 days (part 3
    §2's table)."""
    if start is not None and end is not None and end - start > MARGIN_MOVES_MS:
        raise too_wide(engine.market, MARGIN_MOVES_MS)
    start = max(start or 0, now_ms - MARGIN_MOVES_MS)
    return _source(engine).margin_moves(account_id, engine.symbol(symbol).symbol, kind, start, end, limit)


def _in(time_ms: int, span: Span) -> bool:
    return (
        time_ms >= span.floor_ms and (span.start_ms is None or time_ms >= span.start_ms)
        and (span.end_ms is None or time_ms <= span.end_ms)
    )  # fmt: skip


class KeptHistory:
    """``History`` over the engine's memory (its bounded recent tier, ``kept.py``): the
    answers of an engine with no journal open, and the oracle the journal's are held to."""

    def __init__(self, engine: EngineState) -> None:
        self._engine = engine

    def order(
        self, account_id: int, symbol: str, order_id: int | None, client_id: str | None
    ) -> Order | None:
        return self._engine.find(account_id, symbol, order_id, client_id)

    def orders(self, account_id: int, symbol: str, span: Span, unfilled_floor_ms: int) -> list[Order]:
        chosen = [
            o for o in self._engine.orders(account_id, symbol)
            if (span.from_id is None or o.order_id >= span.from_id) and _in(o.time_ms, span)
            and not (o.status in _CLOSED_UNFILLED and not o.executed_qty and o.time_ms < unfilled_floor_ms)
        ]  # fmt: skip
        if span.from_id is not None:
            return chosen[: span.limit]
        chosen.sort(key=lambda o: (o.time_ms, o.order_id))  # the most recent, by time
        return sorted(chosen[-span.limit :], key=lambda o: o.order_id)

    def fills(self, account_id: int, symbol: str, span: Span, order_id: int | None) -> list[Fill]:
        chosen = [
            f for f in self._engine.fills(account_id, symbol)
            if (order_id is None or f.order_id == order_id)
            and (span.from_id is None or f.trade_id >= span.from_id)
            and _in(f.time_ms, span)
        ]  # fmt: skip
        if span.from_id is not None:
            chosen.sort(key=lambda f: (f.trade_id, f.order_id))
            return chosen[: span.limit]
        chosen.sort(key=lambda f: (f.time_ms, f.trade_id, f.order_id))  # the most recent, by time
        return sorted(chosen[-span.limit :], key=lambda f: (f.trade_id, f.order_id))

    def amendments(
        self, account_id: int, symbol: str, order_id: int, start_ms: int, end_ms: int | None, limit: int
    ) -> list[Amendment]:
        chosen = [
            a for a in self._engine.kept(account_id, symbol).amendments
            if a.order_id == order_id and a.time_ms >= start_ms and (end_ms is None or a.time_ms <= end_ms)
        ]  # fmt: skip
        return chosen[-limit:]

    def liquidations(
        self, account_id: int, symbols: Sequence[str], start_ms: int, end_ms: int | None, limit: int
    ) -> list[Order]:
        chosen = [
            o for s in symbols for o in self._engine.orders(account_id, s)
            if o.client_order_id.startswith("autoclose-") and o.time_ms >= start_ms
            and (end_ms is None or o.time_ms <= end_ms)
        ]  # fmt: skip
        chosen.sort(key=lambda o: (o.time_ms, o.order_id))
        return chosen[-limit:]

    def margin_moves(
        self, account_id: int, symbol: str, kind: int | None, start_ms: int, end_ms: int | None, limit: int
    ) -> list[MarginMove]:
        chosen = [
            m for m in self._engine.ledger(account_id).margin_moves
            if m.symbol == symbol and (kind is None or m.kind == kind) and m.time_ms >= start_ms
            and (end_ms is None or m.time_ms <= end_ms)
        ]  # fmt: skip
        return chosen[:limit]

    def flows(
        self, account_id: int, symbols: Sequence[str], transfers: bool, kind: str, start_ms: int,
        end_ms: int | None, limit: int,
    ) -> list[Flow]:  # fmt: skip
        rows: list[tuple[tuple[int, int, int, str, int, int], Flow]] = []
        for s in symbols:
            for f in self._engine.fills(account_id, s):
                if f.time_ms < start_ms or (end_ms is not None and f.time_ms > end_ms):
                    continue
                for sub, (name, amount) in enumerate(
                    (("REALIZED_PNL", f.realized_pnl), ("COMMISSION", -f.commission))
                ):
                    if (kind and name != kind) or (name == "REALIZED_PNL" and not amount):
                        continue
                    tran_id = fill_tran_id(f.trade_id, f.maker)
                    flow = Flow(f.time_ms, f.symbol, name, f.commission_asset, amount, tran_id, f.trade_id)
                    rows.append(((f.time_ms, 0, f.trade_id, f.symbol, f.order_id, sub), flow))
        wanted = set(symbols)
        for i in self._engine.ledger(account_id).income:
            if (kind and i.kind != kind) or not (i.symbol in wanted or (transfers and not i.symbol)):
                continue
            if i.time_ms >= start_ms and (end_ms is None or i.time_ms <= end_ms):
                flow = Flow(i.time_ms, i.symbol, i.kind, i.asset, i.amount, i.tran_id, None)
                rows.append(((i.time_ms, 1, i.tran_id, i.symbol, 0, 0), flow))
        rows.sort(key=lambda row: row[0])
        return [flow for _, flow in rows[:limit]]
