"""Modify an open LIMIT order in place (``PUT …/v1/order``, trading spec part 2 §5): its
id, client id, side and time in force kept, its price and quantity changed, checked as a
new order's would be.

In part 2 §5's order:

1. the order: by ``orderId`` (which wins) or ``origClientOrderId``; one not open ``-2013``;
   not LIMIT ``-5025`` (COIN-M ``-4196``); ``side`` must be the order's (``-1117``);
2. the new ``price`` and ``quantity`` through the filters a new order meets
   (``order_params.parse_new_order``: PRICE_FILTER, LOT_SIZE, with their codes), then
   PERCENT_PRICE and MIN_NOTIONAL (``risk.check_market``; a notional too small is
   ``-5029`` here); the same price and quantity ``-5027`` (COIN-M ``-4197``);
3. the margin of any added quantity (``-2019``);
4. then the change: a new quantity at or below what has filled, or a post-only order whose
   new price would take, *cancels* the order (``CANCELED``); otherwise it is re-queued
   behind what rests at its new price (it loses its place, part 2 §5) and, if the new price
   crosses the book, takes what it reaches first, as any taker.

The user data stream gets ``ORDER_TRADE_UPDATE`` with ``x=AMENDMENT`` and the status kept
(part 4 §3.1), then the fills' events. A modification counts against the account's order
limits (part 2 §5: 1 on each window). The change is journaled before the answer, as every
command is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from tickerplant.market.instruments import Market
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.engine import Engine
from tickerplant.venue.events import Batch, OrderUpdate
from tickerplant.venue.matching import walk
from tickerplant.venue.order_params import parse_new_order, parse_order_ref, refused
from tickerplant.venue.orders import Order, OrderStatus, OrderType, Side, TimeInForce
from tickerplant.venue.resting import hold
from tickerplant.venue.risk import check_market

__all__ = ["modify"]


def modify(
    engine: Engine, account_id: int, params: Mapping[str, str], now_ms: int
) -> tuple[Order, list[tuple[str, int]]]:
    """The order after the change, and the account's order counts after it."""
    counts = engine.counts.charge(account_id, now_ms)
    symbol, order_id, client_id = parse_order_ref(params)
    inst = engine.symbol(symbol)
    um = inst.market is Market.UM
    order = engine.find(account_id, inst.symbol, order_id, client_id)
    if order is None or not order.status.is_open:
        raise refused(-2013, "Order does not exist.")
    if order.type is not OrderType.LIMIT:
        raise refused(-5025 if um else -4196, "Only limit order is supported.")
    asked = {
        "symbol": inst.symbol, "side": params.get("side", ""), "type": "LIMIT",
        "timeinforce": order.time_in_force.value, "quantity": params.get("quantity", ""),
        "price": params.get("price", ""), "goodtilldate": str(order.good_till_ms or ""),
    }  # fmt: skip
    if order.time_in_force is TimeInForce.GTD:
        asked["goodtilldate"] = str(max(order.good_till_ms, now_ms + 700_000))  # its own, kept below
    new = parse_new_order(asked, engine.instruments, engine.filters, now_ms)
    if new.side is not order.side:
        raise refused(-1117, "Invalid side.")
    if new.qty == order.orig_qty and new.price == order.price:
        raise refused(-5027 if um else -4197, "No need to modify the order.")
    contract, mark = engine.contracts[inst.symbol], engine.mark(inst.symbol)
    try:
        check_market(new, new.price, mark, contract, engine.filters[inst.symbol], engine.data.levels)
    except RequestRefused as refusal:
        if refusal.code != -4164:
            raise
        least = engine.filters[inst.symbol].min_notional
        raise refused(-5029, f"Order's notional must be no smaller than {least}") from None
    ledger = engine.ledger(account_id)
    opposite = engine.data.levels(inst.symbol, order.side is Side.SELL)
    fills = walk(opposite, order.side, new.qty - order.executed_qty, new.price)
    batch = Batch()
    if new.qty <= order.executed_qty or (order.time_in_force is TimeInForce.GTX and fills):
        engine.finish(ledger, order, OrderStatus.CANCELED, now_ms)  # the amendment cancels it (part 2 §5)
        batch.orders.append(dataclasses.replace(order))
        engine.journal.commit(batch)
        return order, counts
    added = new.qty - order.orig_qty
    if added > 0 and not order.reduce_only:
        engine.check_margin(ledger, contract, dataclasses.replace(order, price=new.price), added, mark)
    order.price, order.orig_qty, order.update_ms = new.price, new.qty, now_ms
    amended = OrderUpdate(now_ms, account_id, "AMENDMENT", order.status, dataclasses.replace(order), None)
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
    batch.orders.append(dataclasses.replace(order))
    engine.journal.commit(batch)
    return order, counts
