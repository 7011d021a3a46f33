"""The algo order commands (trading spec part 2 §4.2–§4.3), steps over the engine's state
into the command's one list of what it made (``Engine.apply`` journals it), as ``engine/placement.py``'s
are for orders: a new algo order, one cancelled, an account's cancelled on a symbol.

A new one (parsed at the wire: ``domain/algo_params.py``) is checked against what the
account and the market hold now: a STOP's or TAKE_PROFIT's limit price within its trigger
price's PERCENT_PRICE band (-4183/-4184, COIN-M -4151/-4152: ``risk.check_stop_limit``), a
``clientAlgoId`` no open algo order of the account holds (-4116, as an order's), at most
``MAX_OPEN`` open per account (-4045), its
``positionSide`` of the account's mode (-4061) and, in hedge mode, a ``closePosition`` on
the side that closes (-2022), one ``closePosition`` order of each type per direction (-4130:
a second STOP_MARKET; a STOP_MARKET and a TAKE_PROFIT_MARKET together are the position's
bracket, as Binance's own position TP/SL makes it and Binance_Futures_python#100 shows open
side by side; part 2 §4.2's "a second stop/TP" read per type), and no
condition met already at the latest price ``workingType`` names (-2021: the trigger, or a
trailing stop's activation price). A trailing stop sent without ``activatePrice`` is
active at once, from that price (with no latest price yet, from the first the venue hears:
``algo_book._trailing_due``). A cancel finds the order by ``algoId``, else
``clientAlgoId``, open (-2011 for one not open or unknown, as an order's cancel: part 2
§6.1) and not yet triggered (-4117).

Every change is an ``ALGO_UPDATE`` (with the child's figures once triggered) and the
order's journal row (``changed``).
"""

from __future__ import annotations

from fractions import Fraction

from tickerplant.market.units import fixed
from tickerplant.venue.domain.algo_order import AlgoOrder
from tickerplant.venue.domain.commands import CancelAlgo, CancelAllAlgos, PlaceAlgo
from tickerplant.venue.domain.events import Made
from tickerplant.venue.domain.order_params import refused
from tickerplant.venue.domain.orders import Order, Side
from tickerplant.venue.engine.algo_book import MAX_OPEN, met
from tickerplant.venue.engine.algo_told import tell_algo
from tickerplant.venue.engine.state import EngineState
from tickerplant.venue.ledger.position_modes import closing, of_mode
from tickerplant.venue.payloads.order_payloads import avg_price
from tickerplant.venue.risk.risk import check_stop_limit

__all__ = ["cancel_algo", "cancel_all_algos", "changed", "child_figures", "child_of", "place_algo", "prices"]

_IMMEDIATE = (-2021, "Order would immediately trigger.")
_LIMITED = frozenset({"STOP", "TAKE_PROFIT"})  # the types with a limit price
_GTE_EXISTS = "An open stop or take profit order with GTE and closePosition in the direction is existing."


def place_algo(state: EngineState, command: PlaceAlgo, now_ms: int, out: Made) -> AlgoOrder | None:
    new, account_id, book = command.order, command.account_id, state.algos
    symbol = new.inst.symbol
    if new.type in _LIMITED and new.price:  # its limit price within reach of its trigger (§4.2)
        listed = state.listings[symbol]
        check_stop_limit(listed.contract, listed.filters, new.side is Side.BUY, new.price, new.trigger_price)
    client_id = new.client_algo_id
    if client_id and any(a.client_algo_id == client_id for a in book.open_orders(account_id)):
        raise refused(-4116, "clientOrderId is duplicated")  # unique among open orders, as an order's
    if book.open_count(account_id) >= MAX_OPEN:
        raise refused(-4045, "Reach max stop order limit.")
    hedge = state.ledger(account_id).hedge
    position_side = of_mode(new.position_side, hedge)  # position_modes.py
    if new.close_position and hedge and not closing(new.position_side, new.side):
        raise refused(-2022, "ReduceOnly Order is rejected.")
    if new.close_position and any(  # one of each type: a stop and a take profit may bracket it
        a.close_position and a.side is new.side and a.type == new.type and a.symbol == symbol
        and a.position_side is position_side
        for a in book.open_orders(account_id)
    ):  # fmt: skip
        raise refused(-4130, _GTE_EXISTS)
    latest, mark = prices(state, symbol)
    now = latest if new.working_type == "CONTRACT_PRICE" else mark
    trailing = new.type == "TRAILING_STOP_MARKET"
    activate = new.activate_price
    if trailing:
        if activate and now is not None and (activate >= now if new.side is Side.BUY else activate <= now):
            raise refused(*_IMMEDIATE)
    elif now is not None and met(new.type, new.side, new.trigger_price, now):
        raise refused(*_IMMEDIATE)
    if command.legacy:  # an order's id, from its symbol's sequence (``algo/legacy.py``)
        ledger = state.ledger(account_id)
        if client_id and client_id in ledger.by_client_id:  # unique among open orders
            raise refused(-4116, "clientOrderId is duplicated")
        placed = len(ledger.open_orders.get(symbol, ())) + len(book.legacy_on(account_id, symbol))
        if placed >= state.listings[symbol].filters.max_num_orders:  # an open order of the symbol's
            raise refused(-2025, "Reach max open order limit.")
        if command.test:  # every check passed; nothing made (None)
            return None
        order_id = state.next_order_id[symbol]
        state.next_order_id[symbol] += 1
    else:
        order_id = 0
    # in hedge mode a legacy order that closes its side shows reduceOnly, as a LIMIT order does
    # (part 2 §3.3's captures); an algo order's child is made reduce-only at its trigger
    reduce_only = new.reduce_only or (command.legacy and hedge and closing(position_side, new.side))
    order = AlgoOrder(
        account_id, symbol, book.next_id, new.client_algo_id or state.client_ids(), new.side, new.type,
        new.time_in_force, new.qty, new.price, new.trigger_price, new.working_type, new.close_position,
        reduce_only, new.price_protect, activate, new.callback_rate, new.stp_mode, new.price_match,
        new.good_till_ms, now_ms, now_ms, position_side=position_side, legacy=command.legacy,
        order_id=order_id,
    )  # fmt: skip
    if trailing and not activate and now is not None:
        order.extreme = now  # activated at once, from the latest price
        if command.legacy:  # which its order shows as its activatePrice (part 2 §3.1's default)
            order.activate_price = now
    book.add(order)
    changed(state, order, now_ms, out)
    return order


def cancel_algo(state: EngineState, command: CancelAlgo, now_ms: int, out: Made) -> AlgoOrder:
    order = state.algos.find(command.account_id, command.algo_id, command.client_algo_id, with_legacy=False)
    if order is None or not order.is_open:
        raise refused(-2011, "Unknown order sent.")
    if order.status != "NEW":
        raise refused(-4117, "stop order is triggering")
    state.algos.close(order, "CANCELED", now_ms)
    changed(state, order, now_ms, out)
    return order


def cancel_all_algos(state: EngineState, command: CancelAllAlgos, now_ms: int, out: Made) -> None:
    for order in state.algos.open_orders(command.account_id, command.symbol, with_legacy=False):
        if order.status == "NEW":
            state.algos.close(order, "CANCELED", now_ms)
            changed(state, order, now_ms, out)


def changed(
    state: EngineState, order: AlgoOrder, now_ms: int, out: Made, child: Order | None = None,
    before: tuple[int, int] | None = None,
) -> None:  # fmt: skip
    """``order``'s event (with the child's figures once triggered) and its journal row
    (``tell_algo``; a legacy order's as an order's, ``before``: the account's open orders'
    values before its child was placed)."""
    # TRIGGERED names the child with its figures at 0 (part 4 §4.3 item 10, §3.7's capture):
    # what the child did comes with its own events, and its totals with FINISHED
    figures = ("", "") if order.status == "TRIGGERED" or order.legacy else child_figures(state, order, child)
    tell_algo(state, order, now_ms, out, figures, before)


def child_figures(state: EngineState, order: AlgoOrder, child: Order | None = None) -> tuple[str, str]:
    """The average price and executed quantity of ``order``'s child (``child``, else the one
    the engine keeps) as the reads and ``ALGO_UPDATE`` write them: ("", "") before it has one."""
    child = child if child is not None else child_of(state, order)
    if child is None:
        return "", ""
    inst = state.instruments[order.symbol]
    return avg_price(child, inst), fixed(child.executed_qty, inst.qty_decimals)


def child_of(state: EngineState, order: AlgoOrder) -> Order | None:
    """The order a triggered algo order placed, while the engine keeps it."""
    if order.child_id is None:
        return None
    return state.find(order.account_id, order.symbol, order.child_id, None)


def prices(state: EngineState, symbol: str) -> tuple[int | None, int | None]:
    """``symbol``'s latest prices in price units, None before the first: the last trade
    (``CONTRACT_PRICE``) and the mark (``mark_units``)."""
    return state.algos.last_price(symbol), mark_units(state, symbol)


def mark_units(state: EngineState, symbol: str) -> int | None:
    """``symbol``'s mark (``MARK_PRICE``: ``EngineState.mark``) in price units, truncated."""
    mark = state.mark(symbol)
    return None if mark is None else int(mark * Fraction(10**state.instruments[symbol].price_decimals))
