"""Modify an open LIMIT order in place (``PUT …/v1/order``, trading spec part 2 §5): its
id, client id, side and time in force kept, its price and quantity changed, checked as a
new order's would be.

In part 1 §10's order, the parameters before the business (part 2 §5 names no order):

1. the parameters: ``symbol``, ``orderId`` or ``origClientOrderId``, ``modifyId`` (a LONG,
   ``-1102``), then ``side`` (``-1117``) and the new ``quantity`` and ``price`` through
   the filters a new order meets (``order_params.parse_amended``: ``-1102``, ``-1100``,
   ``-1111``, PRICE_FILTER, LOT_SIZE, with their codes);
2. the order: by ``orderId`` (which wins) or ``origClientOrderId``; one not open ``-2013``;
   not LIMIT ``-5025`` (COIN-M ``-4196``); ``side`` must be the order's (``-1117``); then
   PERCENT_PRICE and MIN_NOTIONAL (``risk.check_market``; a notional too small is
   ``-5029`` here); the same price and quantity ``-5027`` (COIN-M ``-4197``);
3. the margin of any added quantity (``-2019``);
4. then the change: a new quantity at or below what has filled, or a post-only order whose
   new price would take, *cancels* the order (``CANCELED``); otherwise it is re-queued
   behind what rests at its new price (it loses its place, part 2 §5) and, if the new price
   crosses the book, takes what it reaches first, as any taker.

Each change is kept as an ``orderAmendment`` row (``record``; the order's ``count``, the
``modifyId`` sent). The user data stream gets ``ORDER_TRADE_UPDATE`` with ``x=AMENDMENT`` and the status kept
(part 4 §3.1), then the fills' events. A modification counts against the account's order
limits (part 2 §5: 1 on each window). The change is journaled before the answer, as every
command is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from tickerplant.market.instruments import Market
from tickerplant.market.units import fixed
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue import history
from tickerplant.venue.checks import Authorized, Security
from tickerplant.venue.engine import Engine
from tickerplant.venue.events import Batch, OrderUpdate
from tickerplant.venue.matching import walk
from tickerplant.venue.order_params import (
    NewOrder,
    parse_amended,
    parse_int,
    parse_order_ref,
    parse_time_range,
    refused,
)
from tickerplant.venue.orders import Amendment, Order, OrderStatus, OrderType, Side, TimeInForce
from tickerplant.venue.reduce_only import fits
from tickerplant.venue.resting import hold
from tickerplant.venue.risk import check_margin, check_market

__all__ = ["ROUTES", "amendments", "modify", "record"]

AMENDMENTS_LIMIT = 50, 100  # orderAmendment's rows: without `limit`, and at most (part 2 §5)


def modify(
    engine: Engine, account_id: int, params: Mapping[str, str], now_ms: int
) -> tuple[Order, list[tuple[str, int]]]:
    """The order after the change, and the account's order counts after it."""
    counts = engine.counts.charge(account_id, now_ms)
    symbol, order_id, client_id = parse_order_ref(params)
    parse_int(params, "modifyId")  # a LONG (part 2 §5): -1102 before anything changes
    inst = engine.symbol(symbol)
    um = inst.market is Market.UM
    f = engine.filters[inst.symbol]
    side, qty, price = parse_amended(params, inst, f)  # its time in force and goodTillDate kept
    order = engine.find(account_id, inst.symbol, order_id, client_id)  # then the order (§10 step 11)
    if order is None or not order.status.is_open:
        raise refused(-2013, "Order does not exist.")
    if order.type is not OrderType.LIMIT:
        raise refused(-5025 if um else -4196, "Only limit order is supported.")
    if side is not order.side:
        raise refused(-1117, "Invalid side.")
    if qty == order.orig_qty and price == order.price:
        raise refused(-5027 if um else -4197, "No need to modify the order.")
    contract, mark = engine.contracts[inst.symbol], engine.mark(inst.symbol)
    new = NewOrder(inst, side, OrderType.LIMIT, order.time_in_force, price, qty, False, None, False,
                   order.good_till_ms, "NONE", order.stp_mode)  # fmt: skip
    try:
        check_market(new, new.price, mark, contract, f, engine.data.levels)
    except RequestRefused as refusal:
        if refusal.code != -4164:
            raise
        least = f.min_notional
        raise refused(-5029, f"Order's notional must be no smaller than {least}") from None
    ledger = engine.ledger(account_id)
    opposite = engine.data.levels(inst.symbol, order.side is Side.SELL)
    fills = walk(opposite, order.side, new.qty - order.executed_qty, new.price)
    batch = Batch()
    if new.qty <= order.executed_qty or (order.time_in_force is TimeInForce.GTX and fills):
        engine.finish(ledger, order, OrderStatus.CANCELED, now_ms)  # the amendment cancels it (part 2 §5)
        batch.orders.append(order.copy())
        engine.journal.commit(batch)
        return order, counts
    added = new.qty - order.orig_qty
    if added > 0 and order.reduce_only and not fits(ledger, order, new.qty):  # reduce_only.py
        raise refused(-2022, "ReduceOnly Order is rejected.")
    if added > 0 and not order.reduce_only:
        check_margin(engine, ledger, contract, dataclasses.replace(order, price=new.price), added, mark)
    record(engine, order, new.price, new.qty, params, now_ms, batch)
    amended = OrderUpdate(now_ms, account_id, "AMENDMENT", order.status, order.copy(), None)
    engine.outbox.put(amended)
    if engine.book is not None:  # it leaves its place in the simulated book (part 2: re-queued)
        engine.book.withdraw(inst.symbol, order.order_id, now_ms)
    stopped = False
    if fills:  # what it crosses now, taken (in the one book: traded, its STP mode kept)
        left = new.qty - order.executed_qty
        taken, stopped = engine.take_for(order, left, new.price, fills[-1][0], now_ms, batch)
        for price, filled, trade_id in taken:
            engine.settle(ledger, order, price, filled, False, now_ms, batch, trade_id=trade_id)
    if stopped and order.status.is_open:  # by its own resting order (self_trade.py)
        engine.finish(ledger, order, OrderStatus.EXPIRED_IN_MATCH, now_ms)
    elif order.status.is_open:  # re-queued behind what rests at its price now
        hold(engine, order, now_ms)
    else:
        engine.finish(ledger, order, order.status, now_ms)
    batch.orders.append(order.copy())
    engine.journal.commit(batch)
    return order, counts


def record(
    engine: Engine, order: Order, price: int, qty: int, params: Mapping[str, str], now_ms: int, batch: Batch
) -> None:
    """The change made: the order's new price and quantity, and its ``orderAmendment`` row."""
    amendment = Amendment(
        order.account_id, order.symbol, engine.next_amendment_id[order.symbol], order.order_id,
        order.client_order_id, now_ms, order.price, price, order.orig_qty, qty, order.amendments + 1,
        parse_int(params, "modifyId"),  # checked by ``modify`` first
    )  # fmt: skip
    engine.next_amendment_id[order.symbol] += 1
    order.price, order.orig_qty, order.update_ms = price, qty, now_ms
    engine.ledger(order.account_id).touch(order)  # its open-order margin changed
    order.amendments += 1
    engine.kept(order.account_id, order.symbol).amendments.append(amendment)
    batch.amendments.append(amendment)


def _trimmed(units: int, decimals: int) -> str:
    text = fixed(units, decimals)
    return text.rstrip("0").rstrip(".") if "." in text else text


def amendments(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    """``GET …/orderAmendment`` (part 2 §5): one order's modifications, oldest first, the
    last ``limit`` (50, at most 100) within ``startTime``/``endTime`` (inclusive); prices and
    quantities as the doc writes them, trailing zeros trimmed; ``modifyId`` when one was sent.
    The past 3 months of them, from the journal (``history.py``)."""
    params = authorized.params
    account_id = authorized.account.account_id
    order = history.order(engine, account_id, params, now_ms, open_only=False)
    inst = engine.instruments[order.symbol]
    start, end = parse_time_range(params)
    limit = min(parse_int(params, "limit") or AMENDMENTS_LIMIT[0], AMENDMENTS_LIMIT[1])
    pd, qd = inst.price_decimals, inst.qty_decimals
    rows = []
    for a in history.amendments(engine, account_id, order, start, end, limit, now_ms):
        change: dict[str, Any] = {
            "price": {"before": _trimmed(a.price_before, pd), "after": _trimmed(a.price_after, pd)},
            "origQty": {"before": _trimmed(a.qty_before, qd), "after": _trimmed(a.qty_after, qd)},
            "count": a.nth,
        }
        if a.modify_id is not None:
            change["modifyId"] = a.modify_id
        rows.append({"amendmentId": a.amendment_id, "symbol": inst.symbol, "pair": inst.pair,
                     "orderId": a.order_id, "clientOrderId": a.client_order_id, "time": a.time_ms,
                     "amendment": change})  # fmt: skip
    return rows


_AMENDMENTS = {("GET", "/v1/orderAmendment"): (Security.USER_DATA, 1, amendments)}  # part 1 §7
ROUTES = {Market.UM: _AMENDMENTS, Market.CM: _AMENDMENTS}  # (method, path after /fapi or /dapi)
