"""Placement and cancellation: a new order through risk → match → settle, and orders
cancelled, each into the command's one list of what it made (``Engine.apply`` journals it).

A new order goes through (part 2 §8's order of checks, after ``order_params``):

0. (after PRICE_FILTER and LOT_SIZE, ``check_filters``) a market whose book is followed from
   elsewhere and has none in sync (a relay whose
   upstream was lost, a recording before its first snapshot: ``MarketData.halted``) takes no
   order: HTTP 503 ``-1001`` ``Internal error; unable to process your request. Please try
   again.`` (part 1 §8.1's 503 "failed, may retry at once"), as Binance answers while its
   engine cannot; an order would meet an empty book (a MARKET one expire unfilled, a LIMIT
   one rest through the market) where Binance's always has one;
1. the market: ``priceMatch`` priced from the book (-5041), PERCENT_PRICE against the mark
   (-4016 / -4024; a MARKET order whose best opposite price is already outside
   ``marketTakeBound``: -4131, COIN-M -4113), MIN_NOTIONAL unless reduce-only (-4164);
2. the account: ``positionSide`` not of the account's mode (-4061, ``position_modes.py``;
   hedge mode's closing orders are reduce-only), a duplicated open
   ``clientOrderId`` (-4116), MAX_NUM_ORDERS (-2025), a reduce-only order that cannot
   reduce (-2022), margin (-2019: the order's cost, part 3 §7.3, above the available
   balance);
3. matching (``matching.py``): a post-only order that would take (-5022) and a FOK order
   that cannot fill at once (-5021) are refused and not recorded (decision 8);
4. the order is made (its id the symbol's next), takes what it can, settles each fill
   (``contract.Contract.settle``: position, realized PnL, commission at the taker or maker
   rate, the wallet), and rests, or expires (MARKET, IOC);
5. the batch derived from what it made is journaled; only then is the answer made.

Resting orders fill as makers, as trades reach them (``resting.py``). Memory is
bounded by design: an account keeps its open orders and its last ``ORDERS_KEPT`` closed
orders and ``FILLS_KEPT`` fills per symbol in memory (the journal keeps all, and the
history reads answer from it by time, ``history.py``).
"""

from __future__ import annotations

from tickerplant.protocol.errors import refusal
from tickerplant.venue.book.arrival import arrival_mid_x2
from tickerplant.venue.book.matching import FOK_TEXT, GTX_TEXT, walk
from tickerplant.venue.domain.algo_order import AlgoOrder
from tickerplant.venue.domain.commands import Cancel, CancelAll, ExpireGoodTill, Place
from tickerplant.venue.domain.events import Made, OrderRow
from tickerplant.venue.domain.order_params import check_filters, refused
from tickerplant.venue.domain.orders import (
    Order,
    OrderStatus,
    Side,
    TimeInForce,
)
from tickerplant.venue.engine.algo_told import GOOD_TILL_PASSED, tell_algo
from tickerplant.venue.engine.resting import settle_matched, settle_pending
from tickerplant.venue.engine.self_trade import prevent
from tickerplant.venue.engine.settlement import settle
from tickerplant.venue.engine.state import EngineState
from tickerplant.venue.ledger.exposure import each_account
from tickerplant.venue.ledger.ledger import Ledger
from tickerplant.venue.ledger.position_modes import closing, of_mode
from tickerplant.venue.ledger.seat import Seat
from tickerplant.venue.risk.position_cap import check_position_cap
from tickerplant.venue.risk.reduce_only import closable, may_rest
from tickerplant.venue.risk.risk import check_market, price_matched

__all__ = [
    "HALTED", "accept", "cancel", "cancel_all", "expire_good_till", "place", "settle_taken", "take",
    "take_for",
]

HALTED = refusal(-1001, "Internal error; unable to process your request. Please try again.", 503)

# Read by every placement and cancel: an Enum member read from its class goes through CPython 3.11's
# ``EnumType.__getattr__`` hook (~80 ns), a module's name ~11 ns; so bound once here.
_GTX, _FOK, _IOC, _GTD = TimeInForce.GTX, TimeInForce.FOK, TimeInForce.IOC, TimeInForce.GTD
_CANCELED, _EXPIRED = OrderStatus.CANCELED, OrderStatus.EXPIRED
_EXPIRED_IN_MATCH = OrderStatus.EXPIRED_IN_MATCH
_new = tuple.__new__  # a resting placement's row, without the NamedTuple's generated Python __new__

Fill_ = tuple[int, int, int | None]  # a taker fill: price, quantity, its public trade id or None
Taken = tuple[list[Fill_], list[tuple[str, int, int, int, int]]]  # a taker's fills, the makers' matches


def place(state: EngineState, command: Place, now_ms: int, out: Made) -> tuple[Order | None, Order | None]:
    """A new order through part 2 §8's checks (the module's docstring); (None, None) for a
    test order, which is validated only."""
    new = command.order
    symbol = new.inst.symbol
    listed = state.listings[symbol]  # its contract and filters: one lookup
    contract, f = listed.contract, listed.filters
    check_filters(f, new)
    if state.data.halted(symbol):  # no book in sync to meet (the module's docstring, 0.)
        raise HALTED()
    settle_pending(state, symbol, now_ms, out)  # the account's orders and position as the book has them
    seat = state.seat(command.account_id, symbol)  # what it touches of the account: one lookup
    ledger = seat.ledger
    mark = state.mark(symbol)
    price = price_matched(new, state.data.levels) if new.price_match != "NONE" else new.price
    if ledger.hedge and closing(new.position_side, new.side):  # reduce-only (position_modes.py)
        new = new._replace(reduce_only=True)
    limit = check_market(new, price, mark, contract, f, state.data.levels)
    position_side = of_mode(new.position_side, ledger.hedge)
    client_id, legacy = new.client_order_id, state.algos.legacy_waiting.get(command.account_id)
    # unique among the open orders: the legacy stops waiting too (a triggered one's order is
    # the one that holds its id now)
    if client_id is not None and (client_id in ledger.by_client_id or (legacy and client_id in legacy)):
        raise refused(-4116, "clientOrderId is duplicated")
    waiting = sum(1 for a in legacy.values() if a.symbol == symbol) if legacy else 0  # open orders too
    if len(ledger.open_orders.get(symbol, ())) + waiting >= f.max_num_orders:
        raise refused(-2025, "Reach max open order limit.")
    qty = new.qty
    if new.reduce_only:  # never beyond the position, its other reduce-only orders counted
        can = closable(ledger, symbol, position_side, new.side, others=may_rest(new))
        if not can or (qty > can and may_rest(new)):  # reduce_only.py
            raise refused(-2022, "ReduceOnly Order is rejected.")
        qty = min(qty, can)
    order = Order(
        command.account_id, symbol, new.order_id, new.client_order_id or "", new.side, new.type,
        new.time_in_force, price, new.qty, new.reduce_only, new.good_till_ms, now_ms, now_ms,
        price_match=new.price_match, stp_mode=new.stp_mode, position_side=position_side,
    )  # fmt: skip
    if new.trigger is not None:  # a legacy conditional order's: its time is when it was placed
        order.trigger, order.time_ms = new.trigger, new.trigger.placed_ms
    order.arrival_mid_x2 = arrival_mid_x2(state.data, symbol)  # before it takes: the report's slippage
    if not new.reduce_only:
        check_position_cap(seat, contract, order, qty, mark)  # -2027, before the margin's -2019
        state.check_margin(seat, contract, order, qty, mark)
    walked = walk(state.data.levels(symbol, new.side.is_sell), new.side, qty, limit)
    if new.time_in_force is _GTX and walked:
        raise refused(-5022, GTX_TEXT)
    if new.time_in_force is _FOK and sum(q for _, q in walked) < new.qty:
        raise refused(-5021, FOK_TEXT)
    if command.test:
        return None, None
    taken: Taken = ([], [])
    stopped = False
    if walked:
        taken, stopped = take_for(state, order, qty, limit, walked[-1][0], now_ms, out)
    return accept(state, seat, order, qty, taken, now_ms, out, stopped)


def take_for(
    state: EngineState, order: Order, qty: int, limit: int, deepest: int, now_ms: int, out: Made
) -> tuple[Taken, bool]:
    """``order`` taking (``deepest``: the last price its walk reaches): in the one book,
    where an account's orders may meet, self-trade prevention first; its fills and the
    resting orders' matches, not yet settled (``settle_taken``), and whether it stopped at
    its own resting order (it then expires in match)."""
    stopped = False
    if state.venue_market.meets_itself:
        limit, stopped = prevent(state, order, limit, deepest, now_ms, out)
    fills = state.venue_market.take(order.symbol, order.side, qty, limit, now_ms)
    return (fills, state.venue_market.matched()), stopped


def settle_taken(
    state: EngineState, seat: Seat[Ledger], order: Order, taken: Taken, now_ms: int, out: Made,
    will_rest: bool = False,
) -> None:  # fmt: skip
    """A taker's fills and the resting orders they met, trade by trade, each trade's maker
    side first (part 4 §4.3: an account's updates are its state after each trade, which
    differs by the order only where both sides are one account's, a self-trade); ``will_rest``:
    a new order whose remainder will rest (``settlement.settle``)."""
    fills, matched = taken
    if not fills and not matched:  # a placement that took nothing (most): nothing to settle
        return
    ids = {trade_id for _, _, trade_id in fills}
    makers = {match[2]: match for match in matched if match[2] in ids}  # a trade meets one maker
    if len(makers) < len(matched):  # the market's matches from before this order: first
        settle_matched(state, out, now_ms, [match for match in matched if match[2] not in makers])
    for price, filled, trade_id in fills:
        if trade_id in makers:
            settle_matched(state, out, now_ms, [makers[trade_id]])
        settle(state, seat, order, price, filled, False, now_ms, out, trade_id=trade_id, will_rest=will_rest)


def take(
    state: EngineState, symbol: str, side: Side, qty: int, limit: int, now_ms: int, out: Made
) -> list[Fill_]:
    """A taker's fills, no level beyond ``limit``, in the market the venue's orders meet
    (``book/markets.py``); the resting orders it met there are settled into ``out``."""
    fills = state.venue_market.take(symbol, side, qty, limit, now_ms)
    settle_matched(state, out, now_ms)
    return fills


def accept(
    state: EngineState, seat: Seat[Ledger], order: Order, qty: int, taken: Taken, now_ms: int, out: Made,
    stopped: bool = False,  # by its own resting order (self_trade.py): it expires in match
) -> tuple[Order, Order]:  # fmt: skip
    symbol, ledger = order.symbol, seat.ledger
    if not order.order_id:  # (a legacy conditional order keeps the id it was placed with)
        order.order_id = state.next_order_id[symbol]
        state.next_order_id[symbol] += 1
    while not order.client_order_id or order.client_order_id in ledger.by_client_id:
        order.client_order_id = state.client_ids()
    seat.add(order)
    will_rest = not stopped and not order.type.is_market and order.time_in_force is not _IOC
    fills = taken[0]  # what of it will rest:
    left = (qty - sum(filled for _, filled, _ in fills) if fills else qty) if will_rest else 0
    new = state.order_update(seat, "NEW", order.status, order, None, now_ms, resting=max(left, 0))
    out.events.append(new)
    ack = new.order  # the order as accepted: the NEW event's copy, which nothing changes
    settle_taken(state, seat, order, taken, now_ms, out, left > 0)  # a remainder left to rest
    if order.status.is_open:
        if stopped:
            state.finish(seat, order, _EXPIRED_IN_MATCH, now_ms, out)
        elif (
            order.type.is_market
            or order.time_in_force is _IOC
            or order.executed_qty >= qty
        ):
            state.finish(seat, order, _EXPIRED, now_ms, out)  # the rest of an IOC, a MARKET
        else:
            state.hold(order, now_ms)
            ledger.opened(order, seat)
            state._resting.setdefault(symbol, {})[order.order_id] = order
            state.good_till.add(order)  # a GTD one ends at its date, a GTC one after a year (good_till.py)
            out.records.append(_new(OrderRow, (order.copy(),)))  # (one a resting placement)
            if order.reduce_only:
                state.trim(seat, order.position_side, now_ms, out)
    else:  # filled whole as it took
        state.finish(seat, order, order.status, now_ms, out)
    return order, ack


def cancel(state: EngineState, command: Cancel, now_ms: int, out: Made) -> Order:
    settle_pending(state, command.symbol, now_ms, out)  # filled meanwhile: -2011, its fill kept
    seat = state.seat(command.account_id, command.symbol)  # its orders and what they count in
    order_id = command.order_id  # by id: the kept order (``find``'s first rule), else by client id
    order = seat.orders.get(order_id) if order_id is not None else state.find(
        command.account_id, command.symbol, None, command.client_id
    )
    if order is None or not order.status.is_open:
        raise refused(-2011, "Unknown order sent.")
    state.finish(seat, order, _CANCELED, now_ms, out)
    return order


def cancel_all(state: EngineState, command: CancelAll, now_ms: int, out: Made) -> None:
    settle_pending(state, command.symbol, now_ms, out)
    seat = state.seat(command.account_id, command.symbol)
    for order in list(seat.ledger.open_orders.get(command.symbol, {}).values()):
        state.finish(seat, order, _CANCELED, now_ms, out)


def expire_good_till(state: EngineState, command: ExpireGoodTill, now_ms: int, out: Made) -> None:
    """``ExpireGoodTill`` (``good_till.py``): every resting GTD order whose date has come ends
    ``EXPIRED`` (``er`` ``"0"``), every GTC order a year old that nothing filled ``CANCELED``,
    and every GTD algo order still waiting for its trigger ``EXPIRED`` (``AlgoBook.expired``)."""

    def end(order: Order) -> None:
        settle_pending(state, order.symbol, now_ms, out)  # a fill the book made first is the order's
        if state.resting_order(order.symbol, order.order_id) is not order:
            return
        if order.time_in_force is _GTD:
            state.finish(state.seat(order.account_id, order.symbol), order, _EXPIRED, now_ms, out, expiry="0")
        elif not order.executed_qty:  # a partly filled one stays (the change log's exception)
            state.finish(state.seat(order.account_id, order.symbol), order, _CANCELED, now_ms, out)

    each_account(state.good_till.due(now_ms), end)  # one account's failure ends no other's orders

    def lapse(algo: AlgoOrder) -> None:  # a GTD algo order waiting for its trigger: EXPIRED, er "0"
        state.algos.close(algo, "EXPIRED", now_ms, GOOD_TILL_PASSED)
        tell_algo(state, algo, now_ms, out, expiry="0")  # (a resting GTD order's er)

    each_account(state.algos.expired(now_ms), lapse)
