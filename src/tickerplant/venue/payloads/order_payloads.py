"""Orders and trades as Binance writes them (part 2 §3.4, §6.2, §6.8, §10, §11), keys in the
captured wire order, built as ordered dicts (msgspec keeps their order).

- placement, modify and cancel (``placed``): the 2025 capture's keys without ``avgPrice``
  and ``cumQuote`` (COIN-M ``cumBase``), removed since 2026-06-30 (decision 1: back with
  ``--legacy-fill-fields``); COIN-M has ``pair`` after ``symbol`` and no ``goodTillDate``;
- reads (``read``): no ``cumQty``; ``avgPrice``, ``cumQuote`` and ``time`` present; since
  2026-08 both markets carry ``pair`` and both ``cumQuote`` and ``cumBase`` (the unused one
  ``"0"``), placed as part 2 §6.2 recommends;
- a trade (``trade``): ``userTrades``' row; COIN-M adds ``pair`` and ``baseQty``.

Numbers (part 2 §10's rule): prices at ``pricePrecision`` (a MARKET order's ``"0"``),
quantities at ``quantityPrecision``, ``cumQuote`` at their sum, ``avgPrice`` at 5 decimals
(or ``pricePrecision`` when more), ``cumBase``, commission and PnL at 8 (a zero PnL ``"0"``),
a trade's price without trailing zeros.
"""

from __future__ import annotations

import functools
from fractions import Fraction
from typing import Any

from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.units import fixed
from tickerplant.venue.domain.orders import BASE_FINE, Fill, Order, OrderType, Side, Trigger

__all__ = ["avg_price", "decimal_text", "modified", "placed", "read", "trade"]

# Written for every order placed or cancelled, so read at the least cost CPython 3.11 has: an
# enum's value as its ``_value_`` (what ``Enum.value`` returns, through a Python-level
# ``enum.property`` each read, ~1,400 instructions), a member as a module constant (an enum
# class's attribute goes through ``EnumType.__getattr__``'s slot, ~1,000).
_CM = Market.CM
_UM = Market.UM
_MARKET = OrderType.MARKET
_BUY = Side.BUY


def decimal_text(value: Fraction, places: int) -> str:
    """``value`` rounded down at ``places`` decimals, written with exactly that many."""
    units = value.numerator * 10**places // value.denominator
    return fixed(units, places)


def avg_price(order: Order, inst: Instrument) -> str:
    places = max(5, inst.price_decimals)
    if not order.executed_qty:
        return fixed(0, places)
    if inst.market is _CM:  # contracts-weighted harmonic mean, from the fine sum where kept
        fine = order.cum_base_fine
        value = Fraction(
            order.executed_qty * inst.contract_size * (BASE_FINE if fine else 10**8),
            10**inst.qty_decimals * (fine or order.cum_base),
        )
    else:
        value = Fraction(order.cum_quote, order.executed_qty * 10**inst.price_decimals)
    return decimal_text(value, places)


@functools.cache
def _zero(decimals: int) -> str:
    return fixed(0, decimals)


def _head(order: Order, inst: Instrument) -> dict[str, Any]:
    head: dict[str, Any] = {"orderId": order.order_id, "symbol": order.symbol}
    if inst.market is _CM:
        head["pair"] = inst.pair
    head["status"] = order.status._value_
    head["clientOrderId"] = order.client_order_id
    head["price"] = "0" if order.type is _MARKET else fixed(order.price, inst.price_decimals)
    return head


def _tail(order: Order, inst: Instrument) -> dict[str, Any]:
    kind = order.type._value_
    trigger = order.trigger
    if trigger is not None:  # a legacy conditional order's (part 2 §3.4's field table)
        return _triggered_tail(order, inst, trigger)
    return {
        "timeInForce": order.time_in_force._value_,
        "type": kind,
        "reduceOnly": order.reduce_only,
        "closePosition": False,
        "side": order.side._value_,
        "positionSide": order.position_side._value_,
        "stopPrice": _zero(inst.price_decimals),
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "origType": kind,
        "priceMatch": order.price_match,
        "selfTradePreventionMode": order.stp_mode,
    }


def _triggered_tail(order: Order, inst: Instrument, trigger: Trigger) -> dict[str, Any]:
    """``type`` what it was sent as until its trigger, what it became after; ``origType`` what
    it was sent as; a trailing stop's ``activatePrice`` and ``priceRate`` after ``origType``
    (part 2 §3.4: their place unknown, the doc's)."""
    pd = inst.price_decimals
    tail = {
        "timeInForce": order.time_in_force._value_,
        "type": order.shown_type,
        "reduceOnly": order.reduce_only,
        "closePosition": trigger.close_position,
        "side": order.side._value_,
        "positionSide": order.position_side._value_,
        "stopPrice": fixed(trigger.stop_price, pd),
        "workingType": trigger.working_type,
        "priceProtect": trigger.price_protect,
        "origType": trigger.type,
    }
    if trigger.type == "TRAILING_STOP_MARKET":
        tail["activatePrice"] = fixed(trigger.activate_price, pd)
        tail["priceRate"] = trigger.callback_rate
    tail["priceMatch"] = order.price_match
    tail["selfTradePreventionMode"] = order.stp_mode
    return tail


def placed(order: Order, inst: Instrument, fill_fields: bool = False) -> dict[str, Any]:
    """``fill_fields``: ``avgPrice`` after ``price`` and ``cumQuote`` (COIN-M ``cumBase``) after
    ``cumQty``, as before 2026-06-30 (decision 1's setting; the 2025 capture's places)."""
    qd = inst.qty_decimals
    body = _head(order, inst)
    if fill_fields:
        body["avgPrice"] = avg_price(order, inst)
    body["origQty"] = fixed(order.orig_qty, qd)
    executed = order.executed_qty  # none yet, most often: its text kept
    body["executedQty"] = body["cumQty"] = fixed(executed, qd) if executed else _zero(qd)
    if fill_fields and inst.market is _UM:
        body["cumQuote"] = fixed(order.cum_quote, inst.price_decimals + qd)
    elif fill_fields:
        body["cumBase"] = fixed(order.cum_base, 8)
    body |= _tail(order, inst)
    if inst.market is _UM:
        body["goodTillDate"] = order.good_till_ms
    body["updateTime"] = order.update_ms
    return body


def modified(
    order: Order, inst: Instrument, modify_id: str | None, fill_fields: bool = False
) -> dict[str, Any]:
    """The placement shape; a ``modifyId`` sent is echoed after ``clientOrderId``, a LONG
    (part 2 §5)."""
    body = placed(order, inst, fill_fields)
    if not modify_id:
        return body
    at = list(body).index("clientOrderId") + 1
    items = list(body.items())
    return dict([*items[:at], ("modifyId", int(modify_id)), *items[at:]])


def read(order: Order, inst: Instrument) -> dict[str, Any]:
    qd = inst.qty_decimals
    linear = inst.market is _UM
    body = _head(order, inst)
    if linear:
        body = {"orderId": body.pop("orderId"), "symbol": body.pop("symbol"), "pair": inst.pair, **body}
    body["avgPrice"] = avg_price(order, inst)
    body["origQty"] = fixed(order.orig_qty, qd)
    body["executedQty"] = fixed(order.executed_qty, qd)
    body["cumQuote"] = fixed(order.cum_quote, inst.price_decimals + qd) if linear else "0"
    body["cumBase"] = fixed(order.cum_base, 8) if not linear else "0"
    body |= _tail(order, inst)
    body["goodTillDate"] = order.good_till_ms
    body["time"] = order.time_ms
    body["updateTime"] = order.update_ms
    return body


def trade(fill: Fill, inst: Instrument) -> dict[str, Any]:
    pd, qd = inst.price_decimals, inst.qty_decimals
    price = fixed(fill.price, pd)
    # ``pair`` and ``baseQty`` on both markets: USDⓈ-M's rows gained them in 2026-08 (part 2 §1,
    # §6.8: ``baseQty`` "0"-like there), at COIN-M's places (its capture, §6.8's CM example)
    row: dict[str, Any] = {"symbol": fill.symbol, "id": fill.trade_id, "orderId": fill.order_id}
    row["pair"] = inst.pair
    row["side"] = fill.side._value_
    row["price"] = price.rstrip("0").rstrip(".") if "." in price else price
    row["qty"] = fixed(fill.qty, qd)
    row["realizedPnl"] = fixed(fill.realized_pnl, 8) if fill.realized_pnl else "0"
    row["marginAsset"] = inst.margin_asset
    if inst.market is _CM:
        row["baseQty"] = fixed(fill.base, 8)
        row["quoteQty"] = str(fill.qty * inst.contract_size // 10**qd)
    else:
        row["baseQty"] = "0"
        row["quoteQty"] = fixed(fill.price * fill.qty, pd + qd)
    row["commission"] = fixed(fill.commission, 8)
    row["commissionAsset"] = fill.commission_asset
    row["time"] = fill.time_ms
    row["positionSide"] = fill.position_side._value_
    row["buyer"] = fill.side is _BUY
    row["maker"] = fill.maker
    return row
