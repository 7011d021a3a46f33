"""A conditional order as the Algo Order service keeps it (trading spec part 2 §4; the
book: ``engine/algo_book.py``)."""

from __future__ import annotations

from dataclasses import dataclass

from tickerplant.venue.domain.orders import (
    Order,
    OrderStatus,
    OrderType,
    PositionSide,
    Side,
    TimeInForce,
    Trigger,
)

__all__ = ["TYPES", "AlgoOrder", "legacy_trigger", "legacy_view"]

TYPES = ("STOP_MARKET", "TAKE_PROFIT_MARKET", "STOP", "TAKE_PROFIT", "TRAILING_STOP_MARKET")


@dataclass(slots=True)
class AlgoOrder:
    account_id: int
    symbol: str
    algo_id: int
    client_algo_id: str
    side: Side
    type: str  # one of TYPES
    time_in_force: TimeInForce
    qty: int  # quantity units; 0 with close_position
    price: int  # STOP/TAKE_PROFIT's limit price, price units; 0 otherwise
    trigger_price: int  # 0 for a trailing stop
    working_type: str  # CONTRACT_PRICE or MARK_PRICE
    close_position: bool
    reduce_only: bool
    price_protect: bool
    activate_price: int  # trailing: price units (0: not given)
    callback_rate: str  # trailing: as sent ("1.5"); "" otherwise
    stp_mode: str
    price_match: str
    good_till_ms: int
    create_ms: int
    update_ms: int
    status: str = "NEW"
    trigger_ms: int = 0
    child_id: int | None = None  # the triggered order's orderId
    reason: str = ""  # rm: why it was rejected
    extreme: int = 0  # trailing: the best price since activation (0: not activated)
    position_side: PositionSide = PositionSide.BOTH
    # placed on ``…/v1/order`` (decision 1's ``--legacy-conditional-orders``): an order id of
    # its symbol's sequence, the one its reads and events give it and the order it becomes
    # keeps (``algo/legacy.py``); its ``algo_id`` the market's, as every algo order's (ids.py)
    legacy: bool = False
    order_id: int = 0

    @property
    def is_open(self) -> bool:
        return self.status in ("NEW", "TRIGGERING", "TRIGGERED")


_LIMITED = frozenset({"STOP", "TAKE_PROFIT"})  # the types whose order is a LIMIT
# a legacy order's status as its order shows it (``legacy_view``): the status it ended at, and
# EXPIRED for one whose order was refused and for the order it was once triggered
_SHOWN_STATUS = {
    "NEW": OrderStatus.NEW, "CANCELED": OrderStatus.CANCELED, "EXPIRED": OrderStatus.EXPIRED,
    "REJECTED": OrderStatus.EXPIRED, "TRIGGERED": OrderStatus.EXPIRED,
}  # fmt: skip


def legacy_trigger(order: AlgoOrder, triggered_ms: int) -> Trigger:
    """What legacy ``order`` was sent as (``Trigger``), for its order's reads and events;
    ``triggered_ms``: when it triggered, 0 while it waits."""
    return Trigger(
        order.type, order.trigger_price, order.working_type, order.price_protect, order.close_position,
        order.activate_price, order.callback_rate, order.create_ms, triggered_ms,
    )  # fmt: skip


def legacy_view(order: AlgoOrder) -> Order:
    """Legacy ``order`` as the order it is until its trigger (``algo/legacy.py``): its type the
    order it will become (``Trigger`` says what it was sent as), nothing executed."""
    return Order(
        order.account_id, order.symbol, order.order_id, order.client_algo_id, order.side,
        OrderType.LIMIT if order.type in _LIMITED else OrderType.MARKET, order.time_in_force, order.price,
        order.qty, order.reduce_only, order.good_till_ms, order.create_ms, order.update_ms,
        _SHOWN_STATUS.get(order.status, OrderStatus.NEW), price_match=order.price_match,
        stp_mode=order.stp_mode, position_side=order.position_side, trigger=legacy_trigger(order, 0),
    )  # fmt: skip
