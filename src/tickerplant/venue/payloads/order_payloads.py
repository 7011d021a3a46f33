"""Orders and trades as Binance writes them (part 2 §3.4, §6.2, §6.8, §10, §11), keys in the
captured wire order, built as ordered dicts (msgspec keeps their order).

- placement, modify and cancel (``placed``): the 2025 capture's keys without ``avgPrice``
  and ``cumQuote`` (COIN-M ``cumBase``), removed since 2026-06-30 (decision 1); COIN-M has
  ``pair`` after ``symbol`` and no ``goodTillDate``. ``placed_json`` writes its JSON
  straight, the bytes ``msgspec.json.encode(placed(…))`` writes, for REST's order and
  cancel answers: no dict built to be encoded;
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

import enum
from fractions import Fraction
from typing import Any

import msgspec

from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.units import fixed, fixed_format
from tickerplant.venue.domain.orders import (
    Fill,
    Order,
    OrderStatus,
    OrderType,
    PositionSide,
    Side,
    TimeInForce,
)

__all__ = ["avg_price", "decimal_text", "placed", "placed_json", "read", "trade"]

_encode = msgspec.json.encode


def decimal_text(value: Fraction, places: int) -> str:
    """``value`` rounded down at ``places`` decimals, written with exactly that many."""
    units = value.numerator * 10**places // value.denominator
    return fixed(units, places)


def avg_price(order: Order, inst: Instrument) -> str:
    places = max(5, inst.price_decimals)
    if not order.executed_qty:
        return fixed(0, places)
    if inst.market is Market.CM:  # contracts-weighted harmonic mean
        value = Fraction(
            order.executed_qty * inst.contract_size * 10**8, 10**inst.qty_decimals * order.cum_base
        )
    else:
        value = Fraction(order.cum_quote, order.executed_qty * 10**inst.price_decimals)
    return decimal_text(value, places)


def _head(order: Order, inst: Instrument) -> dict[str, Any]:
    head: dict[str, Any] = {"orderId": order.order_id, "symbol": order.symbol}
    if inst.market is Market.CM:
        head["pair"] = inst.pair
    head["status"] = order.status.value
    head["clientOrderId"] = order.client_order_id
    head["price"] = "0" if order.type is OrderType.MARKET else fixed(order.price, inst.price_decimals)
    return head


def _tail(order: Order, inst: Instrument) -> dict[str, Any]:
    return {
        "timeInForce": order.time_in_force.value,
        "type": order.type.value,
        "reduceOnly": order.reduce_only,
        "closePosition": False,
        "side": order.side.value,
        "positionSide": order.position_side.value,
        "stopPrice": fixed(0, inst.price_decimals),
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "origType": order.type.value,
        "priceMatch": order.price_match,
        "selfTradePreventionMode": order.stp_mode,
    }


def placed(order: Order, inst: Instrument) -> dict[str, Any]:
    qd = inst.qty_decimals
    body = _head(order, inst)
    body["origQty"] = fixed(order.orig_qty, qd)
    body["executedQty"] = body["cumQty"] = fixed(order.executed_qty, qd)
    body |= _tail(order, inst)
    if inst.market is Market.UM:
        body["goodTillDate"] = order.good_till_ms
    body["updateTime"] = order.update_ms
    return body


# each enumeration's members as JSON strings, written once
_KINDS: tuple[type[enum.Enum], ...] = (OrderStatus, TimeInForce, OrderType, Side, PositionSide)
_JSON: dict[Any, bytes] = {member: _encode(member.value) for kind in _KINDS for member in kind}
_BOOL = {True: b"true", False: b"false"}
_NAMES: dict[str, bytes] = {}  # a symbol, a pair, a priceMatch or STP mode as JSON: a few, kept
# (market, price decimals, quantity decimals) -> (price's scale and format, quantity's scale,
# the body's format with the quantity format in its three places)
_PLACED: dict[tuple[Market, int, int], tuple[int, bytes, int, bytes]] = {}


def _placed_format(inst: Instrument) -> tuple[int, bytes, int, bytes]:
    key = (inst.market, inst.price_decimals, inst.qty_decimals)
    made = _PLACED.get(key)
    if made is None:
        price_scale, price_format = fixed_format(inst.price_decimals, b'"', b'"')
        qty_scale, qty = fixed_format(inst.qty_decimals, b'"', b'"')
        um = inst.market is Market.UM
        stop = _encode(fixed(0, inst.price_decimals))
        body = b"".join((
            b'{"orderId":%d,"symbol":%b,', b"" if um else b'"pair":%b,', b'"status":%b,"clientOrderId":%b,',
            b'"price":%b,"origQty":', qty, b',"executedQty":', qty, b',"cumQty":', qty,
            b',"timeInForce":%b,"type":%b,"reduceOnly":%b,"closePosition":false,"side":%b,',
            b'"positionSide":%b,"stopPrice":', stop.replace(b"%", b"%%"),
            b',"workingType":"CONTRACT_PRICE","priceProtect":false,"origType":%b,"priceMatch":%b,',
            b'"selfTradePreventionMode":%b,', b'"goodTillDate":%d,' if um else b"", b'"updateTime":%d}',
        ))  # fmt: skip
        made = _PLACED[key] = (price_scale, price_format, qty_scale, body)
    return made


def _name(text: str) -> bytes:
    made = _NAMES.get(text)
    if made is None:
        made = _encode(text)
        if len(_NAMES) < 1024:  # a listing's symbols and pairs, and the modes: never more
            _NAMES[text] = made
    return made


def placed_json(order: Order, inst: Instrument) -> bytes:
    """``msgspec.json.encode(placed(order, inst))``: the same bytes, written in one format
    from the order's fields (a negative number, never in an answer, by way of the dict)."""
    if order.price < 0 or order.executed_qty < 0 or order.orig_qty < 0:
        return _encode(placed(order, inst))
    price_scale, price_format, qty_scale, body = _placed_format(inst)
    kind = _JSON[order.type]
    price = b'"0"' if order.type is OrderType.MARKET else price_format % divmod(order.price, price_scale)
    orig_units, orig_fraction = divmod(order.orig_qty, qty_scale)
    done_units, done_fraction = divmod(order.executed_qty, qty_scale)
    head: tuple[Any, ...] = (order.order_id, _name(order.symbol))
    if inst.market is Market.CM:
        head += (_name(inst.pair),)
    tail: tuple[Any, ...] = (_name(order.price_match), _name(order.stp_mode))
    if inst.market is Market.UM:
        tail += (order.good_till_ms,)
    return body % (
        *head, _JSON[order.status], _encode(order.client_order_id), price, orig_units, orig_fraction,
        done_units, done_fraction, done_units, done_fraction, _JSON[order.time_in_force], kind,
        _BOOL[order.reduce_only], _JSON[order.side], _JSON[order.position_side], kind, *tail, order.update_ms,
    )  # fmt: skip


def read(order: Order, inst: Instrument) -> dict[str, Any]:
    qd = inst.qty_decimals
    linear = inst.market is Market.UM
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
    row: dict[str, Any] = {"symbol": fill.symbol, "id": fill.trade_id, "orderId": fill.order_id}
    if inst.market is Market.CM:
        row["pair"] = inst.pair
    row["side"] = fill.side.value
    row["price"] = price.rstrip("0").rstrip(".") if "." in price else price
    row["qty"] = fixed(fill.qty, qd)
    row["realizedPnl"] = fixed(fill.realized_pnl, 8) if fill.realized_pnl else "0"
    row["marginAsset"] = inst.margin_asset
    if inst.market is Market.CM:
        row["baseQty"] = fixed(fill.base, 8)
        row["quoteQty"] = str(fill.qty * inst.contract_size // 10**qd)
    else:
        row["quoteQty"] = fixed(fill.price * fill.qty, pd + qd)
    row["commission"] = fixed(fill.commission, 8)
    row["commissionAsset"] = fill.commission_asset
    row["time"] = fill.time_ms
    row["positionSide"] = fill.position_side.value
    row["buyer"] = fill.side is Side.BUY
    row["maker"] = fill.maker
    return row
