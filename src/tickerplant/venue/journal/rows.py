"""An order and a fill as the journal's rows hold them, and back (``sqlite_journal.py`` writes
and loads them, ``reads.py`` reads them)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import msgspec

from tickerplant.venue.domain.orders import (
    Fill,
    Order,
    OrderStatus,
    OrderType,
    PositionSide,
    Side,
    TimeInForce,
    Trigger,
)

__all__ = ["ORDER_COLUMNS", "as_they_rested", "fill_from_row", "order_from_row", "order_row"]


ORDER_COLUMNS = (
    "symbol, order_id, account_id, client_order_id, side, type, time_in_force, price, orig_qty, reduce_only, "
    "good_till_ms, time_ms, update_ms, status, executed_qty, cum_quote, cum_base, queue_ahead, price_match, "
    "stp_mode, amendments, position_side, arrival_mid_x2, cum_base_fine, legacy_trigger, rested"
)
_trigger = msgspec.json.Decoder(Trigger)


def order_row(o: Order) -> tuple[object, ...]:
    """``o``'s row, in ``ORDER_COLUMNS``' order; written for every order placed or changed.

    Each enum's value is read as its ``_value_`` (the attribute ``Enum.value`` returns, ~1,400
    instructions less a read under CPython 3.11, whose ``value`` is a Python-level
    ``enum.property``), and ``reduce_only`` bound as the int SQLite stores for a bool anyway:
    the sqlite3 module binds an exact int directly, a bool only after its adapters are
    looked up (~3,300 instructions). The stored row is the same."""
    return (
        o.symbol, o.order_id, o.account_id, o.client_order_id, o.side._value_, o.type._value_,
        o.time_in_force._value_, o.price, o.orig_qty, 1 if o.reduce_only else 0, o.good_till_ms, o.time_ms,
        o.update_ms, o.status._value_, o.executed_qty, o.cum_quote, o.cum_base, o.queue_ahead, o.price_match,
        o.stp_mode, o.amendments, o.position_side._value_, o.arrival_mid_x2, str(o.cum_base_fine),
        "" if o.trigger is None else msgspec.json.encode(o.trigger).decode(), o.rested,
    )  # fmt: skip


def order_from_row(row: tuple[object, ...]) -> Order:
    (symbol, order_id, account_id, client_id, side, kind, tif, price, orig_qty, reduce_only, good_till,
     time_ms, update_ms, status, executed, cum_quote, cum_base, queue_ahead, price_match,
     stp, amendments, position_side, arrival_mid_x2, cum_base_fine, trigger, rested) = row  # fmt: skip
    return Order(
        int(str(account_id)), str(symbol), int(str(order_id)), str(client_id), Side(side), OrderType(kind),
        TimeInForce(tif), int(str(price)), int(str(orig_qty)), bool(reduce_only), int(str(good_till)),
        int(str(time_ms)), int(str(update_ms)), OrderStatus(status), int(str(executed)), int(str(cum_quote)),
        int(str(cum_base)), int(str(queue_ahead)), str(price_match), str(stp), int(str(amendments)),
        PositionSide(position_side), int(str(arrival_mid_x2)), int(str(cum_base_fine)),
        _trigger.decode(str(trigger)) if trigger else None,  # a legacy conditional order's
        int(str(rested)),
    )  # fmt: skip


def as_they_rested(rows: Iterable[tuple[object, ...]]) -> list[Order]:
    """The orders of ``rows`` (by symbol, then id, as the journal reads them) in the order they
    came to rest, which ``EngineState.restore`` keeps: by ``Order.rested`` (a modified order
    behind those at its price before it, part 2 §5). The orders journaled before it was kept
    (0) come first: by id, but on a symbol where a legacy conditional order triggered
    (``Trigger.triggered``), by when each came to rest, the order it became at its trigger
    (behind the orders placed by then, the same millisecond's too) whatever its id, which it
    kept from its placement."""
    found: list[Order] = []
    for _, group in itertools.groupby(map(order_from_row, rows), key=lambda o: o.symbol):
        mine = list(group)
        if any(o.rested or (o.trigger is not None and o.trigger.triggered) for o in mine):
            mine.sort(key=_came_to_rest)
        found += mine
    return found


def _came_to_rest(o: Order) -> tuple[int, int, bool, int]:
    trigger = o.trigger
    triggered = trigger.triggered if trigger is not None else 0
    return o.rested, (triggered or o.time_ms), bool(triggered), o.order_id


def fill_from_row(row: tuple[object, ...]) -> Fill:
    (symbol, trade_id, account_id, order_id, side, price, qty, base, pnl, commission, asset, maker, time_ms,
     position_side) = row  # fmt: skip
    return Fill(
        int(str(account_id)), str(symbol), int(str(trade_id)), int(str(order_id)), Side(side),
        int(str(price)),
        int(str(qty)), int(str(base)), int(str(pnl)), int(str(commission)), str(asset), bool(maker),
        int(str(time_ms)), PositionSide(position_side),
    )  # fmt: skip
