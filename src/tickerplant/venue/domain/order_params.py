"""A new order's parameters read and checked before the account is looked at: part 2 §3 and
the first steps of §8's order of checks, each refusal with Binance's code and text.

1. presence and enumerations: ``symbol`` (-1121; as listed, uppercase: values are
   case-sensitive, part 1 §8 "All field names and values are case-sensitive"), ``side``
   (-1117), ``type`` (-1116; the five conditional types -4120, as since 2025-12-09), each of
   the three not sent (or empty) -1102 naming it (part 2 §3.2: presence before validity),
   ``timeInForce`` (-1115, mandatory for LIMIT), ``newOrderRespType`` (-1136),
   ``newClientOrderId`` (-4015), ``positionSide`` (-4060), ``selfTradePreventionMode``
   (-5039), ``priceMatch`` (-5037);
2. the form of every order parameter sent, whether the order's type uses it or not
   (``check_forms``): a decimal not written as ``DECIMAL_RANGE`` -1100 naming it, a boolean
   other than ``true``/``false`` -1130, ``goodTillDate`` not a LONG -1102, ``workingType``
   -4031; ``quantity`` and a LIMIT's ``price`` absent -1102 (``quantity`` before the
   combinations);
3. combinations: ``reduceOnly`` in hedge mode (-1106, whatever its value); GTD needs
   ``goodTillDate`` more than 600 s ahead (-5040); ``priceMatch`` on another type than LIMIT
   (-5038) or with ``price`` (-1106, Unresolved 5); ``closePosition=true`` (-1106: the
   conditional types', a plain order would trade its quantity and close nothing);
4. precision (-1111): more decimals than the symbol's precision, trailing zeros beyond it
   accepted when the value is exact (decision 4);
5. PRICE_FILTER (-4001, -4013, -4002, -4014) and LOT_SIZE / MARKET_LOT_SIZE (-4003, -4004,
   -4005, -4023).

What needs the market or the account (PERCENT_PRICE, MIN_NOTIONAL, position side, open
orders, margin, matching) is the engine's (``engine.py``). A parameter the type does not use
(``timeInForce`` or ``price`` on MARKET, the legacy ``stopPrice``, ``workingType``,
``priceProtect``, ``activationPrice``, ``callbackRate``, ``goodTillDate`` without GTD) is
ignored once its form holds (part 2 Unresolved 16: clients send such defaults); one
that is empty counts as not sent. Booleans are ``true``/``false`` in any case (decision 4).
The Algo Order service reads its own parameters with the same pieces (``algo_params.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.payloads.exchange_info import OrderFilters
from tickerplant.market.units import FinerDigits, to_units
from tickerplant.protocol.errors import RequestRefused, mandatory, not_valid
from tickerplant.venue.domain.commands import NewOrder
from tickerplant.venue.domain.orders import OrderType, PositionSide, Side, TimeInForce, client_id_allowed

__all__ = [
    "ALGO_DECIMALS", "CONDITIONAL", "DECIMAL_RANGE", "LONG_MAX", "ORDER_DECIMALS", "PRICE_MATCHES",
    "check_client_id", "check_filters", "check_forms", "check_good_till", "check_limit", "check_price",
    "check_quantity",
    "decimal_units", "good_till", "parse_amended", "parse_bool", "parse_int", "parse_long", "parse_new_order",
    "parse_order_ref", "parse_time_range", "price_match", "refuse_reduce_only", "refused",
    "response_type", "stp_mode", "symbol_and_side", "time_in_force", "working_type",
]

CONDITIONAL = frozenset({"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"})
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
_POSITION_SIDES = {m.value: m for m in PositionSide}
_WORKING_TYPES = frozenset({"CONTRACT_PRICE", "MARK_PRICE"})
# The decimal parameters each order endpoint knows (part 2 §3.1, §4.2), whatever the type:
# ``check_forms`` reads every one sent.
ORDER_DECIMALS = ("quantity", "price", "stopPrice", "activationPrice", "callbackRate")
ALGO_DECIMALS = (
    "quantity", "price", "triggerPrice", "stopPrice", "activatePrice", "activationPrice", "callbackRate",
)  # fmt: skip
_BOOLEANS = ("reduceOnly", "closePosition", "priceProtect")
LONG_MAX = 2**63 - 1  # a LONG parameter's largest (part 1 §6.3)
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


def parse_long(text: str, name: str) -> int:
    """``text`` as a LONG parameter (part 1 §6.3: Java's signed 64 bits), else ``-1102``
    naming it; a text of thousands of digits is never made an ``int`` (past 4,300 Python
    refuses to, and below that it costs the loop for nothing)."""
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > LONG_MAX:
        raise mandatory(name)
    return int(text)


def parse_int(params: Mapping[str, str], name: str) -> int | None:
    """An integer parameter (``startTime``, ``limit``, ``orderId`` …) by its name in any case;
    None when absent or empty, ``-1102`` naming it when not digits or past a LONG's range
    (``parse_long``)."""
    text = params.get(name.lower())
    if text is None or text == "":
        return None
    return parse_long(text, name)


def decimal_units(text: str, name: str, decimals: int) -> int:
    """A decimal parameter's ``text`` in units of ``10**-decimals``: ``-1100`` when it is not
    written as ``DECIMAL_RANGE``, ``-1111`` when it has more digits than ``decimals`` that
    are not zeros (decision 4)."""
    if _DECIMAL.fullmatch(text) is None:
        raise _illegal(name)
    try:
        return to_units(text, decimals)
    except FinerDigits:
        raise refused(-1111, "Precision is over the maximum defined for this asset.") from None


def _illegal(name: str) -> RequestRefused:
    legal = f"legal range is '{DECIMAL_RANGE}'."
    return refused(-1100, f"Illegal characters found in parameter '{name}'; {legal}")


def check_forms(params: Mapping[str, str], decimals: tuple[str, ...]) -> None:
    """Every order parameter sent (not empty) written as its kind is, whether the order's
    type uses it or not (part 2 §8's step 2, before any combination): each of ``decimals``
    as ``DECIMAL_RANGE`` (-1100 naming it), ``reduceOnly``, ``closePosition`` and
    ``priceProtect`` ``true``/``false`` (-1130), ``goodTillDate`` a LONG (-1102),
    ``workingType`` one of the two (-4031)."""
    for name in decimals:
        text = params.get(name.lower())
        if text and _DECIMAL.fullmatch(text) is None:
            raise _illegal(name)
    for name in _BOOLEANS:
        parse_bool(params, name)
    good_till_text = params.get("goodtilldate")
    if good_till_text:
        parse_long(good_till_text, "goodTillDate")
    working_type(params)


def time_in_force(params: Mapping[str, str], market: Market) -> TimeInForce | None:
    """``timeInForce`` (None: not sent), -1115 for a value not of part 2 §9's list (COIN-M
    has no GTD), whatever the order's type."""
    text = params.get("timeinforce", "")
    if not text:
        return None
    found = _TIFS.get(text)
    if found is None or (found is TimeInForce.GTD and market is Market.CM):
        raise refused(-1115, "Invalid timeInForce.")
    return found


def response_type(params: Mapping[str, str]) -> bool:
    """Whether ``newOrderRespType`` is ``RESULT`` (default ``ACK``); -1136 for another value."""
    result = params.get("neworderresptype", "ACK")
    if result not in ("ACK", "RESULT"):
        raise refused(-1136, "Invalid newOrderRespType.")
    return result == "RESULT"


def stp_mode(params: Mapping[str, str]) -> str:
    """``selfTradePreventionMode`` (default ``NONE``); -5039 for another value."""
    stp = params.get("selftradepreventionmode", "NONE")
    if stp not in _STP_MODES:
        raise refused(-5039, "Invalid self trade prevention mode")
    return stp


def price_match(params: Mapping[str, str]) -> str:
    """``priceMatch``, ``NONE`` when not sent (or empty); -5037 for a mode not of
    ``PRICE_MATCHES``."""
    match = params.get("pricematch", "NONE") or "NONE"
    if match != "NONE" and match not in PRICE_MATCHES:
        raise refused(-5037, "Invalid price match")
    return match


def working_type(params: Mapping[str, str]) -> str:
    """``workingType``, ``CONTRACT_PRICE`` when not sent (or empty); -4031 for another value
    (part 2 §3.1)."""
    working = params.get("workingtype", "") or "CONTRACT_PRICE"
    if working not in _WORKING_TYPES:
        raise refused(-4031, "Invalid parameter working type")
    return working


def good_till(params: Mapping[str, str], tif: TimeInForce, now_ms: int) -> int:
    """A GTD order's ``goodTillDate`` at second precision (part 2 §3.3; -1102 when absent,
    -5040 when not more than 600 s ahead or past 9999), 0 for another time in force."""
    if tif is not TimeInForce.GTD:
        return 0
    good_till_ms = parse_long(params.get("goodtilldate", ""), "goodTillDate") // 1000 * 1000
    check_good_till(good_till_ms, now_ms)
    return good_till_ms


def check_good_till(good_till_ms: int, now_ms: int) -> None:
    """-5040 unless ``good_till_ms`` is more than 600 s ahead and before 10000 (part 2 §3.3)."""
    if not now_ms + _GTD_MIN_AHEAD_MS < good_till_ms < _GTD_MAX_MS:
        raise refused(-5040, _GTD_TEXT)


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
        raise not_valid(name)
    return value.lower() == "true"


def _units(params: Mapping[str, str], name: str, decimals: int) -> int:
    text = params.get(name.lower(), "")
    if not text:
        raise mandatory(name)
    return decimal_units(text, name, decimals)


def refuse_reduce_only(params: Mapping[str, str], hedge: bool) -> None:
    """-1106: ``reduceOnly`` sent by a hedge-mode account, whatever its value."""
    if hedge and "reduceonly" in params:
        raise refused(-1106, "Parameter 'reduceOnly' sent when not required.")


def symbol_and_side(
    params: Mapping[str, str], instruments: Mapping[str, Instrument]
) -> tuple[Instrument, Side]:
    """A new order's (or algo order's) ``symbol``, as listed (``btcusdt`` is no symbol: the
    module's docstring), then its ``side``: -1102, -1121, -1102, -1117 in that order."""
    symbol = params.get("symbol", "")
    if not symbol:
        raise mandatory("symbol")
    inst = instruments.get(symbol)
    if inst is None:
        raise refused(-1121, "Invalid symbol.")
    return inst, read_side(params)


def read_side(params: Mapping[str, str]) -> Side:
    """``side``: not sent (or empty) -1102, as a mandatory parameter is (part 2 §3.2); not
    ``BUY``/``SELL`` -1117."""
    text = params.get("side", "")
    if not text:
        raise mandatory("side")
    side = _SIDES.get(text)
    if side is None:
        raise refused(-1117, "Invalid side.")
    return side


def check_client_id(client_id: str | None) -> None:
    """-4015 for a client id (an order's ``newClientOrderId``, an algo order's ``clientAlgoId``:
    part 2 §3.3's pattern, §4.2's the same) outside its pattern or a system order's; one over 36
    characters with the length's text (docs/venue.md's parameter table)."""
    if client_id is not None and not client_id_allowed(client_id):
        too_long = len(client_id) > 36
        raise refused(-4015, "Client order id length should not be more than 36 chars" if too_long
                      else "Client order id is not valid.")  # fmt: skip


def parse_new_order(
    params: Mapping[str, str],
    instruments: Mapping[str, Instrument],
    now_ms: int,
    hedge: bool,
) -> NewOrder:
    """The order ``params`` describe, or the first refusal (see the module's docstring);
    ``hedge``: the account's position mode (``reduceOnly`` is refused in it, whatever its
    value: -1106). The static filters are the engine's first check (``check_filters``)."""
    inst, side = symbol_and_side(params, instruments)
    type_text = params.get("type", "")
    if not type_text:
        raise mandatory("type")
    if type_text in CONDITIONAL:
        raise refused(
            -4120,
            "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.",
        )
    order_type = _TYPES.get(type_text)
    if order_type is None:
        raise refused(-1116, "Invalid orderType.")
    sent_tif = time_in_force(params, inst.market)
    if order_type.is_limit and sent_tif is None:
        raise mandatory("timeInForce")
    tif = sent_tif if order_type.is_limit and sent_tif is not None else TimeInForce.GTC
    result = response_type(params)
    client_id = params.get("newclientorderid") or None
    check_client_id(client_id)
    held = _POSITION_SIDES.get(params.get("positionside", "BOTH"))
    if held is None:
        raise refused(-4060, "Invalid position side.")
    stp = stp_mode(params)
    match = price_match(params)
    check_forms(params, ORDER_DECIMALS)
    if not params.get("quantity"):  # presence (step 2) before the combinations below (step 3)
        raise mandatory("quantity")
    refuse_reduce_only(params, hedge)  # a combination: hedge mode's
    if match != "NONE":
        if not order_type.is_limit:
            raise refused(-5038, "Price match only supports order type: LIMIT, STOP AND TAKE_PROFIT")
        if params.get("price"):
            raise refused(-1106, "Parameter 'price' sent when not required.")
    if parse_bool(params, "closePosition"):  # a STOP_MARKET's or TAKE_PROFIT_MARKET's, which go to
        # the Algo service: on LIMIT or MARKET it would trade ``quantity`` and close nothing
        raise refused(-1106, "Parameter 'closePosition' sent when not required.")
    qty = _units(params, "quantity", inst.qty_decimals)
    price = 0
    if order_type.is_limit and match == "NONE":
        price = _units(params, "price", inst.price_decimals)
    good_till_ms = good_till(params, tif, now_ms)
    reduce_only = parse_bool(params, "reduceOnly")
    return NewOrder(
        inst, side, order_type, tif, price, qty, reduce_only, client_id, result, good_till_ms, match, stp,
        held,
    )  # fmt: skip


def check_filters(f: OrderFilters, order: NewOrder) -> None:
    """PRICE_FILTER and LOT_SIZE / MARKET_LOT_SIZE (step 5 of the module's docstring); a
    priceMatch order's price is checked once priced (``risk.check_market``)."""
    priced = order.type.is_limit and order.price_match == "NONE"
    _check_filters(f, order.type, order.price if priced else None, order.qty)


def parse_amended(params: Mapping[str, str], inst: Instrument) -> tuple[Side, int, int, str]:
    """A LIMIT order's new ``side``, ``quantity`` and ``price`` (``PUT …/order``, part 2 §5)
    through what a new order's meet, in ``parse_new_order``'s order: the side (-1102, -1117), the
    price match (USDⓈ-M: -5037), the quantity (-1102, -1111), no ``price`` with a price match
    (-1106; its price then 0, the book's when the engine prices it), else the price (-1102,
    -1111); then PRICE_FILTER and LOT_SIZE, the engine's first check (``check_limit``)."""
    side = read_side(params)
    # USDⓈ-M's price is optional since 2026-04-21, for priceMatch (part 2 §5's table)
    match = price_match(params) if inst.market is Market.UM else "NONE"
    qty = _units(params, "quantity", inst.qty_decimals)  # presence before the combination
    if match != "NONE" and params.get("price"):
        raise refused(-1106, "Parameter 'price' sent when not required.")
    price = _units(params, "price", inst.price_decimals) if match == "NONE" else 0
    return side, qty, price, match


def check_limit(f: OrderFilters, price: int, qty: int) -> None:
    """PRICE_FILTER and LOT_SIZE of a LIMIT order's price and quantity (each move's: the
    two checks called straight, ``_check_filters``' order)."""
    check_price(f, price)
    check_quantity(f, False, qty)


def check_price(f: OrderFilters, price: int) -> None:
    """PRICE_FILTER (part 2 §8)."""
    if price <= 0:
        raise refused(-4001, "Price less than 0.")
    if price < f.min_price:
        raise refused(-4013, "Price less than min price.")
    if f.max_price and price > f.max_price:  # maxPrice 0: no maximum (a relayed listing's)
        raise refused(-4002, "Price greater than max price.")
    if f.tick and (price - f.min_price) % f.tick:  # tickSize 0 disables its rule (spec §7.3)
        raise refused(-4014, "Price not increased by tick size.")


def check_stop_price(f: OrderFilters, price: int) -> None:
    """A trigger or activation price (part 2 §8's table): at most ``maxPrice`` (-4007), and on
    PRICE_FILTER's tick grid as a price is (-4014; the spec's decision, an inference). Its
    sign and its 0 are the caller's (-4006, or none sent)."""
    if f.max_price and price > f.max_price:  # maxPrice 0: no maximum (a relayed listing's)
        raise refused(-4007, "Stop price greater than max price.")
    if f.tick and (price - f.min_price) % f.tick:
        raise refused(-4014, "Price not increased by tick size.")


def _check_filters(f: OrderFilters, order_type: OrderType, price: int | None, qty: int) -> None:
    """PRICE_FILTER for a LIMIT order's ``price`` (None: none sent, MARKET or priceMatch),
    then LOT_SIZE; a LIMIT price of 0 is ``-4001`` as any other below the filter's."""
    if price is not None:
        check_price(f, price)
    check_quantity(f, order_type.is_market, qty)


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
