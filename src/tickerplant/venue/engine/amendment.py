"""Modify an open LIMIT order in place (``PUT …/v1/order``, trading spec part 2 §5): its
id, client id, side and time in force kept, its price and quantity changed, checked as a
new order's would be.

In part 1 §10's order, the parameters before the business (part 2 §5 names no order):

1. the parameters, read at the wire (``wire/order_entry.amend_order``): ``symbol``,
   ``orderId`` or ``origClientOrderId``, ``modifyId`` (a LONG, ``-1102``), then ``side``
   (``-1117``) and the new ``quantity`` and ``price`` (``order_params.parse_amended``:
   ``-1102``, ``-1100``, ``-1111``); then, first here, the filters a new order meets
   (``check_limit``: PRICE_FILTER, LOT_SIZE, with their codes);
2. the order: by ``orderId`` (which wins) or ``origClientOrderId``; one not open ``-2013``;
   not LIMIT ``-5025`` (COIN-M ``-4196``); ``side`` must be the order's (``-1117``); a
   USDⓈ-M ``reduceOnly=true`` on an order that is not reduce-only ``-5047`` (part 2 §5, since
   2026-09-15: a check alone); one modified ``MAX_MOVE_ORDER_LIMIT`` times already ``-5026``
   (COIN-M ``-4198``: exchangeInfo's ``maxMoveOrderLimit``, part 2 §5's "fewer than 10 000"
   read as that many taken); a ``priceMatch`` change priced by the book now (``-5041`` when
   it has no such level), its filters then; the same price and quantity ``-5027`` (COIN-M
   ``-4197``); a book followed from elsewhere with none in sync 503 ``-1001``
   (``placement.HALTED``); then
   PERCENT_PRICE and MIN_NOTIONAL (``risk.check_limit_market``; a notional too small is
   ``-5029`` here, not checked when ``reduceOnly=true`` was sent for a reduce-only order);
3. the margin the change adds (``-2019``): the order as it would rest, at its new price and
   quantity, against it as it rests (``Ledger.moved_cost``; part 2 §5 names no rule, so a
   modification is checked as the new order it becomes: a buy moved up towards the mark
   adds initial margin and open loss, not only an added quantity does);
4. then the change: a new quantity at or below what has filled, or a post-only order whose
   new price would take, *cancels* the order (``CANCELED``); otherwise it is re-queued
   behind what rests at its new price (it loses its place, part 2 §5) and, if the new price
   crosses the book, takes what it reaches first, as any taker.

Each change is kept as an ``orderAmendment`` row (its ``Amendment``; the order's ``count``, the
``modifyId`` sent; read by ``wire/amendments.py``). The user data stream gets
``ORDER_TRADE_UPDATE`` with ``x=AMENDMENT`` and the status kept (part 4 §3.1), then the
fills' events. A modification counts against the account's order limits (part 2 §5: 1 on
each window; charged at the wire). The change is journaled before the answer, as every
command is (``engine.Engine.apply``).
"""

from __future__ import annotations

from tickerplant.market.instruments import MAX_MOVE_ORDER_LIMIT, Market
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.book.matching import walk
from tickerplant.venue.domain.commands import Amend
from tickerplant.venue.domain.events import Made, OrderRow
from tickerplant.venue.domain.order_params import (
    check_limit,
    check_price,
    check_quantity,
    refused,
)
from tickerplant.venue.domain.orders import Amendment, Order, OrderStatus, TimeInForce
from tickerplant.venue.engine.placement import HALTED, settle_taken, take_for
from tickerplant.venue.engine.resting import settle_pending
from tickerplant.venue.engine.state import EngineState
from tickerplant.venue.risk.position_cap import check_position_cap
from tickerplant.venue.risk.reduce_only import fits
from tickerplant.venue.risk.risk import check_limit_market, matched_price

__all__ = ["modify"]

# Read by every move: an Enum member read from its class goes through CPython 3.11's
# ``EnumType.__getattr__`` hook (~80 ns), a module's name ~11 ns; so bound once here.
_UM, _GTX = Market.UM, TimeInForce.GTX
_CANCELED, _EXPIRED_IN_MATCH = OrderStatus.CANCELED, OrderStatus.EXPIRED_IN_MATCH
_new = tuple.__new__  # a move's rows, without their NamedTuples' generated Python __new__



def modify(engine: EngineState, command: Amend, now_ms: int, out: Made) -> Order:
    """The order after the change (see the module's docstring); what changed into ``out``."""
    listed = engine.listings[command.symbol]  # its instrument, contract and filters: one lookup
    f, contract = listed.filters, listed.contract
    side, qty, price = command.side, command.qty, command.price  # its time in force and goodTillDate kept
    match = command.price_match
    if match == "NONE":  # a price sent: its filters before the order is looked for (part 1 §10)
        check_price(f, price)  # PRICE_FILTER, LOT_SIZE (``check_limit``'s two, called straight)
        check_quantity(f, False, qty)
    settle_pending(engine, command.symbol, now_ms, out)  # filled meanwhile: -2013, its fill kept
    # what it touches of the account, found once: its kept orders, its sums, its ledger
    seat = engine.seat(command.account_id, command.symbol)
    order_id = command.order_id  # by id: the kept order (``find``'s first rule), else by client id
    order = seat.orders.get(order_id) if order_id is not None else engine.find(
        command.account_id, command.symbol, None, command.client_id
    )
    if order is None or not order.status.is_open:  # then the order (part 1 §10 step 11)
        raise refused(-2013, "Order does not exist.")
    if not order.type.is_limit:
        raise refused(-5025 if engine.market is _UM else -4196, "Only limit order is supported.")
    if side is not order.side:
        raise refused(-1117, "Invalid side.")
    if command.reduce_only and not order.reduce_only:  # USDⓈ-M's check alone (``Amend``)
        raise refused(-5047, "The original order is not a reduce-only order.")
    if order.amendments >= MAX_MOVE_ORDER_LIMIT:  # exchangeInfo's maxMoveOrderLimit (part 2 §5)
        raise refused(-5026 if engine.market is _UM else -4198, "Exceed maximum modify order limit.")
    if engine.data.halted(command.symbol):  # no book in sync to re-queue in or take from
        raise HALTED()
    if match != "NONE":  # priced by the book now, the order found (-5041 after -2013): a level's price
        price = matched_price(command.symbol, side.is_buy, match, engine.data.levels)
        check_limit(f, price, qty)
    if qty == order.orig_qty and price == order.price and match == order.price_match:
        raise refused(-5027 if engine.market is _UM else -4197, "No need to modify the order.")
    symbol = listed.symbol
    mark = engine.mark(symbol)
    try:  # as the LIMIT order it becomes; reduce-only (no MIN_NOTIONAL) when it says so and is
        check_limit_market(contract, f, side.is_buy, price, qty, mark, command.reduce_only)
    except RequestRefused as refusal:
        if refusal.code != -4164:
            raise
        least = f.min_notional
        raise refused(-5029, f"Order's notional must be no smaller than {least}") from None
    ledger = seat.ledger
    opposite = engine.data.levels(symbol, side.is_sell)
    fills = walk(opposite, side, qty - order.executed_qty, price)
    if qty <= order.executed_qty or (fills and order.time_in_force is _GTX):
        engine.finish(seat, order, _CANCELED, now_ms, out)  # the amendment cancels it (§5)
        return order
    added = qty - order.orig_qty
    if added > 0 and order.reduce_only and not fits(ledger, order, qty):  # reduce_only.py
        raise refused(-2022, "ReduceOnly Order is rejected.")
    if not order.reduce_only and mark is not None:  # as the new order it becomes (no mark: nothing to weigh)
        check_position_cap(seat, contract, order, added, mark)  # -2027 for a quantity raised
        # -2019: decision 7's open-order margin with the order at its new place, against its old
        if (cost := ledger.moved_cost(contract, mark, order, qty - order.executed_qty, price, seat)) > 0:
            engine.weigh(ledger, contract, cost)
    order.price_match = match  # as the modification says: a mode, or NONE with a price sent
    # the change made: the order's new price and quantity, and its ``orderAmendment`` row
    amendment_id = engine.next_amendment_id[symbol]
    engine.next_amendment_id[symbol] = amendment_id + 1
    amendment: Amendment = _new(Amendment, (
        order.account_id, symbol, amendment_id, order.order_id, order.client_order_id, now_ms, order.price,
        price, order.orig_qty, qty, order.amendments + 1, command.modify_id,
    ))  # fmt: skip
    order.price, order.orig_qty, order.update_ms = price, qty, now_ms
    ledger.touch(order, seat)  # its open-order margin changed
    order.amendments += 1
    seat.amendments.append(amendment)
    out.records.append(amendment)
    if not fills:  # re-queued behind what rests at its price now: its event and its row, one copy
        engine.requeue(order, now_ms)  # one operation of the market (part 2: it loses its place)
        update = engine.order_update(seat, "AMENDMENT", order.status, order, None, now_ms,
                                     modify_id=command.modify_id)  # fmt: skip
        out.events.append(update)
        out.records.append(_new(OrderRow, (update.order,)))
        return order
    engine.venue_market.withdraw(order, now_ms)  # it leaves its place, then takes
    out.events.append(engine.order_update(seat, "AMENDMENT", order.status, order, None, now_ms,
                                          modify_id=command.modify_id))  # fmt: skip
    # what it crosses now, taken (in the one book: traded, its STP mode kept)
    left = qty - order.executed_qty
    taken, stopped = take_for(engine, order, left, price, fills[-1][0], now_ms, out)
    settle_taken(engine, seat, order, taken, now_ms, out)
    if stopped and order.status.is_open:  # by its own resting order (self_trade.py)
        engine.finish(seat, order, _EXPIRED_IN_MATCH, now_ms, out)
    elif order.status.is_open:  # re-queued behind what rests at its price now
        engine.hold(order, now_ms)
        out.records.append(OrderRow(order.copy()))
    else:
        engine.finish(seat, order, order.status, now_ms, out)
    return order

