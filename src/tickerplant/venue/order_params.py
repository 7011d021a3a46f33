"""A new order's parameters read and checked before the account is looked at: part 2 §3 and
the first steps of §8's order of checks, each refusal with Binance's code and text.

1. presence and enumerations: ``symbol`` (-1121), ``side`` (-1117), ``type`` (-1116; the
   five conditional types -4120, as since 2025-12-09), ``timeInForce`` (-1115, mandatory
   for LIMIT), ``newOrderRespType`` (-1136), ``newClientOrderId`` (-4015), ``quantity`` and
   a LIMIT's ``price`` (-1102 when absent; -1100 when not written as ``DECIMAL_RANGE``),
   ``positionSide`` (-4060), ``selfTradePreventionMode`` (-5039);
2. combinations: GTD needs ``goodTillDate`` more than 600 s ahead (-5040); ``priceMatch``
   with ``price`` (-1106, Unresolved 5); ``closePosition=true`` (-1106: the conditional
   types', a plain order would trade its quantity and close nothing; ``false`` is ignored
   as Unresolved 16's legacy defaults are);
3. precision (-1111): more decimals than the symbol's precision, trailing zeros beyond it
   accepted when the value is exact (decision 4);
4. PRICE_FILTER (-4001, -4013, -4002, -4014) and LOT_SIZE / MARKET_LOT_SIZE (-4003, -4004,
   -4005, -4023).

What needs the market or the account (PERCENT_PRICE, MIN_NOTIONAL, position side, open
orders, margin, matching) is the engine's (``engine.py``). Parameters a type does not take
(``timeInForce`` on MARKET, legacy ``stopPrice``/``workingType``) are ignored (part 2
Unresolved 16); booleans are ``true``/``false`` in any case (decision 4).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.payloads.exchange_info import OrderFilters
from tickerplant.market.units import FinerDigits, to_units
from tickerplant.protocol.errors import RequestRefused, mandatory
from tickerplant.venue.checks import parse_long
from tickerplant.venue.orders import CLIENT_ORDER_ID, OrderType, Side, TimeInForce

__all__ = [
    "DECIMAL_RANGE", "PRICE_MATCHES", "NewOrder", "check_price", "check_quantity", "decimal_units",
    "parse_amended", "parse_bool", "parse_int", "parse_new_order", "parse_order_ref", "parse_time_range",
    "refused",
]

_CONDITIONAL = frozenset({"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"})
_STP_MODES = frozenset({"NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"})
PRICE_MATCHES = {
    "OPPONENT": (False, 1), "OPPONENT_5": (False, 5), "OPPONENT_10": (False, 10), "OPPONENT_20": (False, 20),
    "QUEUE": (True, 1), "QUEUE_5": (True, 5), "QUEUE_10": (True, 10), "QUEUE_20": (True, 20),
}  # fmt: skip  # name -> (own side?, which level)
# the enumerations by their wire text (a dict's lookup, not ``Enum.__call__``'s machinery: an
# order's parameters are read on every new order and every move)
_SIDES = {m.value: m for m in Side}
_TYPES = {m.value: m for m in OrderType}
_TIFS = {m.value: m for m in TimeInForce}
_GTD_MIN_AHEAD_MS = 600_000
_GTD_MAX_MS = 253_402_300_799_000
# A decimal parameter as Binance writes its legal range (part 1 §6.3, -1100; the futures text of
# the range is unspecified, spot's is this): ASCII digits, at most 20 on each side of the point.
# Nothing else reaches ``Decimal``: an exponent ("1e999999") would make an integer of a million
# digits on the event loop, and a sign, a space, "_" or another script's digits are not numbers
# Binance takes.
DECIMAL_RANGE = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
_DECIMAL = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,20})?")
_GTD_TEXT = (
    "The goodTillDate timestamp must be greater than the current time plus 600 seconds and smaller than "
    "253402300799000 (UTC 9999-12-31 23:59:59)"
)


def refused(code: int, msg: str) -> RequestRefused:
    return RequestRefused(code, msg)


class NewOrder(NamedTuple):  # a tuple: made per command, ~8× as quick as a frozen dataclass
    inst: Instrument
    side: Side
    type: OrderType
    time_in_force: TimeInForce  # GTC for MARKET, as Binance reports it (part 2 §3.4)
    price: int  # price units; 0 for MARKET and for a priceMatch order until priced
    qty: int  # quantity units
    reduce_only: bool
    client_order_id: str | None  # None: the venue makes one
    result: bool  # newOrderRespType=RESULT
    good_till_ms: int  # GTD, seconds precision; 0 otherwise
    price_match: str  # "NONE" or one of PRICE_MATCHES
    stp_mode: str  # applied where the venue's orders meet in the simulated book (self_trade.py)


def parse_int(params: Mapping[str, str], name: str) -> int | None:
    """An integer parameter (``startTime``, ``limit``, ``orderId`` …) by its name in any case;
    None when absent or empty, ``-1102`` naming it when not digits or past a LONG's range
    (``checks.parse_long``)."""
    text = params.get(name.lower())
    if text is None or text == "":
        return None
    return parse_long(text, name)


def decimal_units(text: str, name: str, decimals: int) -> int:
    """A decimal parameter's ``text`` in units of ``10**-decimals``: ``-1100`` when it is not
    written as ``DECIMAL_RANGE``, ``-1111`` when it has more digits than ``decimals`` that
    are not zeros (decision 4)."""
    if _DECIMAL.fullmatch(text) is None:
        legal = f"legal range is '{DECIMAL_RANGE}'."
        raise refused(-1100, f"Illegal characters found in parameter '{name}'; {legal}")
    try:
        return to_units(text, decimals)
    except FinerDigits:
        raise refused(-1111, "Precision is over the maximum defined for this asset.") from None


def parse_time_range(params: Mapping[str, str]) -> tuple[int | None, int | None]:
    """``startTime`` and ``endTime`` (each None when absent); ``-1023`` when the start is
    after the end (part 1 §6.3), as the market data's reads refuse it."""
    start, end = parse_int(params, "startTime"), parse_int(params, "endTime")
    if start is not None and end is not None and start > end:
        raise refused(-1023, "Start time is greater than end time.")
    return start, end


def parse_bool(params: Mapping[str, str], name: str) -> bool:
    value = params.get(name.lower(), "false")
    if value.lower() not in ("true", "false"):
        raise RequestRefused(-1130, f"Data sent for parameter '{name}' is not valid.")
    return value.lower() == "true"


def _units(params: Mapping[str, str], name: str, decimals: int) -> int:
    text = params.get(name.lower(), "")
    if not text:
        raise mandatory(name)
    return decimal_units(text, name, decimals)


def parse_new_order(
    params: Mapping[str, str],
    instruments: Mapping[str, Instrument],
    filters: Mapping[str, OrderFilters],
    now_ms: int,
) -> NewOrder:
    """The order ``params`` describe, or the first refusal (see the module's docstring)."""
    symbol = params.get("symbol", "")
    if not symbol:
        raise mandatory("symbol")
    inst = instruments.get(symbol.upper())
    if inst is None:
        raise refused(-1121, "Invalid symbol.")
    side = _SIDES.get(params.get("side", ""))
    if side is None:
        raise refused(-1117, "Invalid side.")
    type_text = params.get("type", "")
    if type_text in _CONDITIONAL:
        raise refused(
            -4120,
            "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.",
        )
    order_type = _TYPES.get(type_text)
    if order_type is None:
        raise refused(-1116, "Invalid orderType.")
    tif = TimeInForce.GTC
    if order_type is OrderType.LIMIT:
        tif_text = params.get("timeinforce", "")
        if not tif_text:
            raise mandatory("timeInForce")
        found = _TIFS.get(tif_text)
        if found is None:
            raise refused(-1115, "Invalid timeInForce.")
        tif = found
        if tif is TimeInForce.GTD and inst.market is Market.CM:
            raise refused(-1115, "Invalid timeInForce.")
    result = params.get("neworderresptype", "ACK")
    if result not in ("ACK", "RESULT"):
        raise refused(-1136, "Invalid newOrderRespType.")
    client_id = params.get("newclientorderid") or None
    if client_id is not None and CLIENT_ORDER_ID.fullmatch(client_id) is None:
        too_long = len(client_id) > 36
        raise refused(-4015, "Client order id length should not be more than 36 chars" if too_long
                      else "Client order id is not valid.")  # fmt: skip
    if params.get("positionside", "BOTH") not in ("BOTH", "LONG", "SHORT"):
        raise refused(-4060, "Invalid position side.")
    stp = params.get("selftradepreventionmode", "NONE")
    if stp not in _STP_MODES:
        raise refused(-5039, "Invalid self trade prevention mode")
    price_match = params.get("pricematch", "NONE") or "NONE"
    if price_match != "NONE":
        if price_match not in PRICE_MATCHES:
            raise refused(-5037, "Invalid price match")
        if order_type is not OrderType.LIMIT:
            raise refused(-5038, "Price match only supports order type: LIMIT, STOP AND TAKE_PROFIT")
        if params.get("price"):
            raise refused(-1106, "Parameter 'price' sent when not required.")
    if parse_bool(params, "closePosition"):  # a STOP_MARKET's or TAKE_PROFIT_MARKET's, which go to
        # the Algo service: on LIMIT or MARKET it would trade ``quantity`` and close nothing
        raise refused(-1106, "Parameter 'closePosition' sent when not required.")
    qty = _units(params, "quantity", inst.qty_decimals)
    price = 0
    if order_type is OrderType.LIMIT and price_match == "NONE":
        price = _units(params, "price", inst.price_decimals)
    good_till = 0
    if tif is TimeInForce.GTD:
        good_till = parse_long(params.get("goodtilldate", ""), "goodTillDate") // 1000 * 1000  # s (§3.3)
        if not now_ms + _GTD_MIN_AHEAD_MS < good_till < _GTD_MAX_MS:
            raise refused(-5040, _GTD_TEXT)
    reduce_only = parse_bool(params, "reduceOnly")
    priced = order_type is OrderType.LIMIT and price_match == "NONE"  # a priceMatch's: priced later
    _check_filters(filters[inst.symbol], order_type, price if priced else None, qty)
    return NewOrder(
        inst, side, order_type, tif, price, qty, reduce_only, client_id, result == "RESULT", good_till,
        price_match, stp,
    )  # fmt: skip


def parse_amended(params: Mapping[str, str], inst: Instrument, f: OrderFilters) -> tuple[Side, int, int]:
    """A LIMIT order's new ``side``, ``quantity`` and ``price`` (``PUT …/order``, part 2 §5)
    through what a new order's meet, in ``parse_new_order``'s order: the side (-1117), the
    quantity and the price (-1102, -1111), then PRICE_FILTER and LOT_SIZE."""
    side = _SIDES.get(params.get("side", ""))
    if side is None:
        raise refused(-1117, "Invalid side.")
    qty = _units(params, "quantity", inst.qty_decimals)
    price = _units(params, "price", inst.price_decimals)
    _check_filters(f, OrderType.LIMIT, price, qty)
    return side, qty, price


def check_price(f: OrderFilters, price: int) -> None:
    """PRICE_FILTER (part 2 §8)."""
    if price <= 0:
        raise refused(-4001, "Price less than 0.")
    if price < f.min_price:
        raise refused(-4013, "Price less than min price.")
    if price > f.max_price:
        raise refused(-4002, "Price greater than max price.")
    if (price - f.min_price) % f.tick:
        raise refused(-4014, "Price not increased by tick size.")


def _check_filters(f: OrderFilters, order_type: OrderType, price: int | None, qty: int) -> None:
    """PRICE_FILTER for a LIMIT order's ``price`` (None: none sent, MARKET or priceMatch),
    then LOT_SIZE; a LIMIT price of 0 is ``-4001`` as any other below the filter's."""
    if price is not None:
        check_price(f, price)
    check_quantity(f, order_type is OrderType.MARKET, qty)


def check_quantity(f: OrderFilters, market: bool, qty: int) -> None:
    """LOT_SIZE, or MARKET_LOT_SIZE's maximum for a ``market`` order (part 2 §8)."""
    if qty <= 0:
        raise refused(-4003, "Quantity less than or equal to zero.")
    if qty < f.min_qty:
        raise refused(-4004, "Quantity less than min quantity.")
    if qty > (f.market_max_qty if market else f.max_qty):
        raise refused(-4005, "Quantity greater than max quantity.")
    if (qty - f.min_qty) % f.step:
        raise refused(-4023, "Qty not increased by step size.")


def parse_symbol(params: Mapping[str, str]) -> str:
    """A mandatory ``symbol``, as sent (-1102 when absent or empty)."""
    symbol = params.get("symbol", "")
    if not symbol:
        raise mandatory("symbol")
    return symbol


def parse_order_ref(params: Mapping[str, str]) -> tuple[str, int | None, str | None]:
    """``symbol`` and ``orderId`` or ``origClientOrderId`` of a query or cancel (part 2 §6.1)."""
    symbol = params.get("symbol", "")
    if not symbol:
        raise mandatory("symbol")
    order_id_text = params.get("orderid", "")
    client_id = params.get("origclientorderid") or None
    if not order_id_text and client_id is None:
        raise refused(-1102, "Param 'orderId' or 'origClientOrderId' must be sent, but both were empty/null!")
    order_id = parse_long(order_id_text, "orderId") if order_id_text else None
    return symbol.upper(), order_id, client_id
