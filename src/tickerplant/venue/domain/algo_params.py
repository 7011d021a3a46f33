"""An algo order's parameters read and checked before the account is looked at (trading spec
part 2 §4.2), with ``order_params``' pieces, each refusal with Binance's code and text:

1. ``algoType`` ``CONDITIONAL`` only (-1116), ``symbol`` as listed (-1121), ``side``
   (-1117), ``type`` one of ``algo_order.TYPES`` (-1116), each not sent -1102;
   ``timeInForce`` (-1115), ``newOrderRespType`` (-1136), ``clientAlgoId`` (-4015: part 2
   §8's order, a new order's), ``positionSide`` (-4060);
2. every parameter sent in its form, whatever the type (``order_params.check_forms`` and
   the enumerations' readers): garbage in one the type does not use is refused as on a new
   order; then ``reduceOnly`` from a hedge-mode account (-1106); ``priceMatch`` only on
   ``STOP``/``TAKE_PROFIT`` (-5038), instead of ``price`` (-1106), the child then priced by
   the book when it triggers;
3. ``closePosition=true`` only on STOP_MARKET and TAKE_PROFIT_MARKET (-1106), with no
   ``quantity`` (-4137) and no ``reduceOnly`` (-1106); else ``quantity`` (-1102); a STOP's
   or TAKE_PROFIT's ``price``, the ``triggerPrice`` (or the legacy ``stopPrice``) of all
   but the trailing stop;
4. PRICE_FILTER on the price, the trigger and activation prices' bound (-4007) and tick
   (-4014, ``check_stop_price``), LOT_SIZE /
   MARKET_LOT_SIZE on the quantity; a trailing stop's ``callbackRate`` 0.1–20 % (-2007);
5. GTD's ``goodTillDate`` (-5040).

What needs the account or the market (its position mode: -4061, -2022; the open algo
orders: -4045, -4130; the latest price: -2021) is the engine's (``algo/placing.py``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal

from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.payloads.exchange_info import order_filters
from tickerplant.protocol.errors import mandatory
from tickerplant.venue.domain.algo_order import TYPES
from tickerplant.venue.domain.commands import NewAlgoOrder
from tickerplant.venue.domain.order_params import (
    ALGO_DECIMALS,
    check_client_id,
    check_forms,
    check_price,
    check_quantity,
    check_stop_price,
    decimal_units,
    good_till,
    parse_bool,
    parse_int,
    price_match,
    refuse_reduce_only,
    refused,
    response_type,
    stp_mode,
    symbol_and_side,
    time_in_force,
    working_type,
)
from tickerplant.venue.domain.orders import PositionSide, TimeInForce

__all__ = ["parse_algo_ref", "parse_legacy_conditional", "parse_new_algo"]

_POSITION_SIDES = {m.value: m for m in PositionSide}


def parse_legacy_conditional(
    params: Mapping[str, str], instruments: Mapping[str, Instrument], now_ms: int, hedge: bool
) -> NewAlgoOrder:
    """A conditional order sent to ``…/v1/order`` (decision 1's ``--legacy-conditional-orders``,
    ``algo/legacy.py``), in the names that endpoint took (part 2 §3.1's "Legacy / CM" column):
    ``stopPrice`` for the trigger, ``activationPrice``, ``newClientOrderId``; a trailing stop's
    ``callbackRate`` 0.1–10 %. Checked as an algo order's otherwise."""
    legacy = {k: v for k, v in params.items() if k not in ("triggerprice", "activateprice", "clientalgoid")}
    legacy["algotype"] = "CONDITIONAL"
    if params.get("newclientorderid"):
        legacy["clientalgoid"] = params["newclientorderid"]
    return parse_new_algo(legacy, instruments, now_ms, hedge, most_rate=10, trigger_name="stopPrice")


def parse_new_algo(
    params: Mapping[str, str], instruments: Mapping[str, Instrument], now_ms: int, hedge: bool,
    most_rate: int = 20, trigger_name: str = "triggerPrice", tifs: Collection[TimeInForce] = (),
) -> NewAlgoOrder:  # fmt: skip
    """The algo order ``params`` describe, or the first refusal (the module's docstring);
    ``hedge``: the account's position mode (``reduceOnly`` is refused in it, whatever its
    value: -1106); ``most_rate``: a trailing stop's greatest ``callbackRate``, per cent;
    ``trigger_name``: the trigger price's name as the endpoint takes it (-1102 names it);
    ``tifs``: the times in force the endpoint takes, when fewer than a new order's (-1115)."""
    if params.get("algotype", "") != "CONDITIONAL":
        raise refused(-1116, "Invalid algoType.") if params.get("algotype") else mandatory("algoType")
    inst, side = symbol_and_side(params, instruments)
    kind = params.get("type", "")
    if not kind:
        raise mandatory("type")
    if kind not in TYPES:
        raise refused(-1116, "Invalid orderType.")
    limit = kind in ("STOP", "TAKE_PROFIT")  # the types with a limit price, and a time in force
    sent_tif = time_in_force(params, inst.market)  # a MARKET child's is GTC, as a MARKET order's
    if tifs and sent_tif is not None and sent_tif not in tifs:
        raise refused(-1115, "Invalid timeInForce.")
    tif = sent_tif if limit and sent_tif is not None else TimeInForce.GTC
    response_type(params)  # its value: the endpoint's answer is the same either way
    client_id = params.get("clientalgoid") or None  # step 2 of part 2 §8's order, as a new order's
    check_client_id(client_id)
    held = _POSITION_SIDES.get(params.get("positionside", "BOTH"))
    if held is None:
        raise refused(-4060, "Invalid position side.")
    stp, match, working = stp_mode(params), price_match(params), working_type(params)
    check_forms(params, ALGO_DECIMALS)
    refuse_reduce_only(params, hedge)  # a combination (step 3): hedge mode's
    if match != "NONE":  # a STOP's or TAKE_PROFIT's child priced by the book instead (part 2 §4.2)
        if not limit:
            raise refused(-5038, "Price match only supports order type: LIMIT, STOP AND TAKE_PROFIT")
        if params.get("price"):
            raise refused(-1106, "Parameter 'price' sent when not required.")
    close = parse_bool(params, "closePosition")
    reduce_only = parse_bool(params, "reduceOnly")
    qty = _units(params, "quantity", inst.qty_decimals)
    if close:
        if kind not in ("STOP_MARKET", "TAKE_PROFIT_MARKET"):
            raise refused(-1106, "Parameter 'closePosition' sent when not required.")
        if qty:
            full_stop = "." if inst.market is Market.CM else ""  # COIN-M's text ends with one (part 1 §6.2)
            raise refused(-4137, f"Quantity must be zero with closePosition equals true{full_stop}")
        if reduce_only:
            raise refused(-1106, "Parameter 'reduceOnly' sent when not required.")
    elif qty <= 0:  # sent as zero: LOT_SIZE's refusal, as an order's (part 2 §8); else not sent
        if params.get("quantity"):
            raise refused(-4003, "Quantity less than or equal to zero.")
        raise mandatory("quantity")
    price = _units(params, "price", inst.price_decimals) if limit and match == "NONE" else 0
    if limit and match == "NONE" and price <= 0:  # sent as zero: PRICE_FILTER's, as a LIMIT order's
        raise refused(-4001, "Price less than 0.") if params.get("price") else mandatory("price")
    trailing = kind == "TRAILING_STOP_MARKET"
    trigger = 0 if trailing else _units(params, "triggerPrice", inst.price_decimals) or _units(
        params, "stopPrice", inst.price_decimals
    )
    if not trailing and trigger <= 0:
        if params.get("triggerprice") or params.get("stopprice"):  # sent, as 0 (a sign is -1100)
            raise refused(-4006, "Stop price less than zero.")  # part 2 §8's table
        raise mandatory(trigger_name)
    f = order_filters(inst)  # PRICE_FILTER, the stop price's bound, LOT_SIZE (part 2 §8)
    if price:
        check_price(f, price)
    if trigger:
        check_stop_price(f, trigger)
    if qty:
        check_quantity(f, kind.endswith("_MARKET"), qty)
    activate, rate = 0, ""
    if trailing:
        rate = params.get("callbackrate", "")
        if not rate:
            raise mandatory("callbackRate")
        if not 10**19 <= decimal_units(rate, "callbackRate", 20) <= most_rate * 10**20:  # 0.1 to 20 %
            raise refused(-2007, "Invalid callBack rate.")
        rate = _rate_text(rate)
        activate = _units(params, "activatePrice", inst.price_decimals) or _units(
            params, "activationPrice", inst.price_decimals
        )
        if activate:
            check_stop_price(f, activate)
    gtd = good_till(params, tif, now_ms)
    return NewAlgoOrder(
        inst, side, kind, tif, qty, price, trigger, working, close, reduce_only,
        parse_bool(params, "priceProtect"), activate, rate, stp, match, gtd, held, client_id,
    )  # fmt: skip


def parse_algo_ref(params: Mapping[str, str]) -> tuple[int | None, str | None]:
    """``algoId``, else ``clientAlgoId``, of a query or cancel (part 2 §4.3; -1102 for neither,
    in the two names' form an order's ``orderId``/``origClientOrderId`` takes, part 2 §3.2)."""
    algo_id, client_id = parse_int(params, "algoId"), params.get("clientalgoid") or None
    if algo_id is None and client_id is None:
        raise refused(-1102, "Param 'algoId' or 'clientAlgoId' must be sent, but both were empty/null!")
    return algo_id, client_id


def _rate_text(rate: str) -> str:
    """``callbackRate`` as it is echoed (``priceRate``, ``cr``, ``callbackRate``): a decimal
    with at least one place, the doc examples' ``"0.3"`` and ``"5.0"`` (part 2 §6.2, part 4
    §3.1), whatever zeros it was sent with (``"01"``, ``"1.000"``: ``"1.0"``)."""
    text = format(Decimal(rate).normalize(), "f")
    return text if "." in text else f"{text}.0"


def _units(params: Mapping[str, str], name: str, decimals: int) -> int:
    text = params.get(name.lower(), "")
    return decimal_units(text, name, decimals) if text else 0
