"""The market's deliveries to the algo orders (trading spec part 2 §4, part 4 §4.3 item 10):
the ``AlgoTriggers`` step over the engine's state, into what the command made (``Made``)
(``Engine.apply`` commits it). Sans-I/O: the market's messages and the time come in as
arguments.

Prices: each trade of the delivery in turn from the ``@aggTrade`` messages, on the symbols
an order waits on (the ``CONTRACT_PRICE`` working type; ``AlgoBook.note``,
``AlgoBook.trade_prices``: else the last trade, decoded only when read), the engine's mark
(``MARK_PRICE``).
The waiting orders of every symbol are checked (marks move on their own), but for a symbol
whose book is followed from elsewhere and has none in sync (a relay's upstream lost: the
child could meet no book, ``placement.HALTED``): they wait for it; a trailing stop
that activated, or whose best price moved, is journaled (no event: Binance sends none), or
a restart would trail from where it was placed.

A trigger: ``ALGO_UPDATE`` ``TRIGGERING``; the child placed through ``placement.place`` (not
counted against the account's order limits) with the algo's ``clientAlgoId`` as its
``clientOrderId`` (part 4 Unresolved 14; one the venue makes when an open order of the account
holds that id: the two are apart, and the stop must not fail on it), ``MARKET`` or ``LIMIT``
at ``price``, reduce-only for ``reduceOnly`` and ``closePosition`` (the whole position, on
the side that closes it); then ``TRIGGERED`` with its ``orderId``, the child's own events,
and ``FINISHED`` once the child is done (at once, for a child that filled or expired, else
at the first delivery after the market or a command ended it). A refused child is ``REJECTED`` with the
refusal's text, but a reduce-only one with nothing to reduce ``CANCELED`` with ``rm``
"Reduce Only reject" (part 4 §3.7's example); a ``closePosition`` order with no position to
close ``EXPIRED``.

One order's failure (a venue bug met by its account's state) triggers and finishes the
others all the same; the first error is raised after (``each_account``), and what was done
is journaled (``Engine.apply``'s ``finally``).
"""

from __future__ import annotations

from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.algo.placing import changed, child_of, mark_units
from tickerplant.venue.domain.algo_order import AlgoOrder, legacy_trigger
from tickerplant.venue.domain.commands import AlgoTriggers, NewOrder, Place
from tickerplant.venue.domain.events import AlgoRow, AlgoUpdate, Made
from tickerplant.venue.domain.orders import Order, OrderType, PositionSide, Side, TimeInForce
from tickerplant.venue.engine.placement import place
from tickerplant.venue.engine.state import EngineState
from tickerplant.venue.ledger.exposure import each_account

__all__ = ["triggers"]


def triggers(state: EngineState, command: AlgoTriggers, now_ms: int, out: Made) -> None:
    """The delivery's trade prices, then the triggers they (each in turn) and the marks make,
    then the triggered orders whose child is done."""
    book = state.algos
    book.note(state.agg_trade_streams, command.messages)  # read by ``trade_prices`` for the waiting symbols

    def trigger(symbol: str) -> None:
        if state.data.halted(symbol):  # no book in sync: the orders wait for it (placement.HALTED)
            return
        trailing = [
            (order, order.extreme) for order in book.by_symbol.get(symbol, {}).values()
            if order.type == "TRAILING_STOP_MARKET"
        ]  # fmt: skip
        mark = mark_units(state, symbol)  # each trade of the delivery in turn (``AlgoBook.note``)
        protect = state.listings[symbol].filters.trigger_protect  # priceProtect's bound
        prices = book.trade_prices(symbol)
        due = [o for price in prices for o in book.due(symbol, price, mark, now_ms, protect)]
        for moved in [o for o, extreme in trailing if o.extreme != extreme and o.status == "NEW"]:
            out.put(AlgoRow(book.copy(moved)))  # a trailing stop's best price, journaled as it moves
        each_account(due, lambda order: _trigger(state, order, now_ms, out))

    def finish(order: AlgoOrder) -> None:
        child = child_of(state, order)
        if child is None or not child.status.is_open:
            _finish(state, order, child, now_ms, out)

    waiting = list(book.by_symbol)  # a trigger takes its symbol out with its last order
    try:
        each_account(waiting, trigger)
    finally:
        each_account(list(book.triggered.values()), finish)


def _trigger(state: EngineState, order: AlgoOrder, now_ms: int, out: Made) -> None:
    book = state.algos
    if not order.legacy:  # (a legacy order's trigger is told as an order's: ``tell_algo``)
        out.put(AlgoUpdate(now_ms, order.account_id, book.copy(order)))  # TRIGGERING
    qty = order.qty
    if order.close_position:
        position = state.ledger(order.account_id).amount(order.symbol, order.position_side)
        if not (position > 0 if order.side is Side.SELL else position < 0):
            book.close(order, "EXPIRED", now_ms, "No position to close")
            changed(state, order, now_ms, out)
            return
        qty = abs(position)
    limit = order.type in ("STOP", "TAKE_PROFIT")  # a LIMIT child, else a MARKET one
    tif = order.time_in_force if limit else TimeInForce.GTC
    client_id = order.client_algo_id or None  # its own, unless an open order holds it: the venue's
    if client_id in state.ledger(order.account_id).by_client_id and not order.legacy:
        client_id = None
    child = NewOrder(
        state.instruments[order.symbol], order.side, OrderType.LIMIT if limit else OrderType.MARKET, tif,
        order.price if limit and order.price_match == "NONE" else 0, qty,
        # hedge mode: the position side says it closes
        order.position_side is PositionSide.BOTH and (order.reduce_only or order.close_position),
        client_id, False, order.good_till_ms if tif is TimeInForce.GTD else 0,
        order.price_match if limit else "NONE", order.stp_mode, order.position_side,
        # a legacy order becomes an order with its id (``legacy.py``)
        order.order_id, legacy_trigger(order, now_ms) if order.legacy else None,
    )  # fmt: skip
    before = out.mark()
    values = tuple(state.seat(order.account_id, order.symbol).values)  # b/a before the child rests
    try:
        # the child's steps into this command's list: a refusal is checked before anything
        # changes (placement.py), so a refused child leaves nothing in it
        made, _ = place(state, Place(order.account_id, child), now_ms, out)
    except RequestRefused as refusal:
        if refusal.code == -2022:  # nothing left to reduce: part 4 §3.7's example, CANCELED
            book.close(order, "CANCELED", now_ms, "Reduce Only reject")
        else:  # denied by the matching engine (the margin check, …): REJECTED, with its text
            book.close(order, "REJECTED", now_ms, refusal.msg)
        changed(state, order, now_ms, out)
        return
    assert made is not None
    own = out.withdraw(before)  # the child's events, after TRIGGERED, which names the child
    order.child_id = made.order_id
    book.close(order, "TRIGGERED", now_ms)
    changed(state, order, now_ms, out, made, (values[0], values[1]))
    for item in own:
        out.put(item)
    if not made.status.is_open:
        _finish(state, order, made, now_ms, out)


def _finish(state: EngineState, order: AlgoOrder, child: Order | None, now_ms: int, out: Made) -> None:
    state.algos.close(order, "FINISHED", now_ms)
    changed(state, order, now_ms, out, child)
