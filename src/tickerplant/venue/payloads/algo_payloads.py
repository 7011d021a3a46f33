"""Algo orders as Binance writes them (trading spec part 2 §4.3; part 4 §3.7): the placement
and cancel answers, the reads (``algoOrder``, ``openAlgoOrders``, ``allAlgoOrders``) and the
user data stream's ``ALGO_UPDATE``, keys in the documented order.

Numbers: prices at the symbol's price precision (``"750.000"``), quantities at its quantity
precision; ``icebergQuantity`` is the string ``"None"`` and ``activatePrice``/``callbackRate``
``""`` for a non-trailing order, as documented; in ``ALGO_UPDATE`` prices are trimmed
(``"tp":"750"``) and ``ap``/``aq``/``act`` are absent until the order triggers.
"""

from __future__ import annotations

from typing import Any

from tickerplant.market.instruments import Instrument
from tickerplant.market.units import fixed
from tickerplant.venue.domain.algo_order import AlgoOrder

__all__ = ["algo_update", "cancelled", "placed", "read", "trigger_reject"]


def _price(units: int, inst: Instrument) -> str:
    return fixed(units, inst.price_decimals)


def _trim(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def _head(a: AlgoOrder, inst: Instrument) -> dict[str, Any]:
    return {
        "algoId": a.algo_id, "clientAlgoId": a.client_algo_id, "algoType": "CONDITIONAL", "orderType": a.type,
        "symbol": a.symbol, "side": a.side.value, "positionSide": a.position_side.value,
        "timeInForce": a.time_in_force.value, "quantity": fixed(a.qty, inst.qty_decimals),
        "algoStatus": a.status,
    }  # fmt: skip


def _tail(a: AlgoOrder) -> dict[str, Any]:
    return {
        "selfTradePreventionMode": a.stp_mode, "workingType": a.working_type, "priceMatch": a.price_match,
        "closePosition": a.close_position, "priceProtect": a.price_protect, "reduceOnly": a.reduce_only,
    }  # fmt: skip


def placed(a: AlgoOrder, inst: Instrument) -> dict[str, Any]:
    """``POST …/algoOrder``'s answer (part 2 §4.3)."""
    trailing = a.type == "TRAILING_STOP_MARKET"
    return {
        **_head(a, inst), "triggerPrice": _price(a.trigger_price, inst), "price": _price(a.price, inst),
        "icebergQuantity": "None", **_tail(a),
        "activatePrice": _price(a.activate_price, inst) if trailing and a.activate_price else "",
        "callbackRate": a.callback_rate if trailing else "", "createTime": a.create_ms,
        "updateTime": a.update_ms, "triggerTime": a.trigger_ms, "goodTillDate": a.good_till_ms,
    }  # fmt: skip


def read(a: AlgoOrder, inst: Instrument, avg: str, executed: str, *, listed: bool = False) -> dict[str, Any]:
    """``GET …/algoOrder`` (``listed``: the lists' rows, with the TP/SL fields)."""
    body = {
        **_head(a, inst), "actualOrderId": str(a.child_id) if a.child_id is not None else "",
        "actualPrice": avg or fixed(0, 5), "actualType": _child_type(a),
        "actualQty": executed or fixed(a.qty, inst.qty_decimals),
        "triggerPrice": _price(a.trigger_price, inst), "price": _price(a.price, inst),
        "icebergQuantity": "None",
    }  # fmt: skip
    if listed:
        zero = _price(0, inst)
        body |= {"tpTriggerPrice": zero, "tpPrice": zero, "slTriggerPrice": zero, "slPrice": zero}
    body["tpOrderType"] = ""
    return {**body, **_tail(a), "createTime": a.create_ms, "updateTime": a.update_ms,
            "triggerTime": a.trigger_ms, "goodTillDate": a.good_till_ms}  # fmt: skip


def cancelled(a: AlgoOrder) -> dict[str, Any]:
    """``DELETE …/algoOrder``: ``code`` is a string here (part 2 §4.3)."""
    return {"algoId": a.algo_id, "clientAlgoId": a.client_algo_id, "code": "200", "msg": "success"}


def algo_update(a: AlgoOrder, inst: Instrument, avg: str, executed: str, time_ms: int) -> dict[str, Any]:
    """``ALGO_UPDATE`` (part 4 §3.7): ``e T E o``; ``ap``/``aq``/``act`` once triggered; a
    trailing stop's ``ia`` last, whether it is activated (the SDK's ``AlgoUpdateO``: after ``rm``)."""
    o: dict[str, Any] = {
        "caid": a.client_algo_id, "aid": a.algo_id, "at": "CONDITIONAL", "o": a.type, "s": a.symbol,
        "S": a.side.value, "ps": a.position_side.value, "f": a.time_in_force.value,
        "q": _trim(fixed(a.qty, inst.qty_decimals)), "X": a.status,
        "ai": str(a.child_id) if a.child_id is not None else "",
    }  # fmt: skip
    if a.child_id is not None:
        o |= {
            "ap": _trim(avg) if avg else "0", "aq": _trim(executed) if executed else "0",
            "act": _child_type(a),
        }  # fmt: skip
    o |= {
        "tp": _trim(_price(a.trigger_price, inst)), "p": _trim(_price(a.price, inst)), "V": a.stp_mode,
        "wt": a.working_type, "pm": a.price_match, "cp": a.close_position, "pP": a.price_protect,
        "R": a.reduce_only, "tt": a.trigger_ms, "gtd": a.good_till_ms,
    }  # fmt: skip
    if a.reason:
        o["rm"] = a.reason
    if a.type == "TRAILING_STOP_MARKET":  # activated yet (since 2026-08; "only meaningful for trailing")
        o["ia"] = a.extreme != 0
    return {"e": "ALGO_UPDATE", "T": time_ms, "E": time_ms, "o": o}


def _child_type(a: AlgoOrder) -> str:
    return "LIMIT" if a.type in ("STOP", "TAKE_PROFIT") else "MARKET"


def trigger_reject(a: AlgoOrder, time_ms: int) -> dict[str, Any]:
    """``CONDITIONAL_ORDER_TRIGGER_REJECT`` (part 4 §3.8, USDⓈ-M's until 2025-12-15): a legacy
    conditional order (``--legacy-conditional-orders``) whose order was refused at its
    trigger, ``or.i`` its order id, ``or.r`` the refusal's text; ``e E T or``, the doc's order."""
    return {"e": "CONDITIONAL_ORDER_TRIGGER_REJECT", "E": time_ms, "T": time_ms,
            "or": {"s": a.symbol, "i": a.order_id, "r": a.reason}}  # fmt: skip
