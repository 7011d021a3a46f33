"""An order's parameters as the order endpoints read them, without sockets (part 2 §3.1,
§3.2, §4.2, §8's step 2): every parameter sent is read in its form whether the order's type
uses it or not; a well-formed one the type does not use is ignored (Unresolved 16: clients
send such defaults), an ill-formed one refused with Binance's code; the symbol is as
listed. The table holds the request and the refusal, for a new order on both markets and
for an algo order."""

from __future__ import annotations

from fractions import Fraction

import pytest
from test_engine import ALICE, Book, Deposits, Kept

from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.payloads.exchange_info import order_filters
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.algo_params import parse_new_algo
from tickerplant.venue.domain.commands import AlgoTriggers, NewAlgoOrder, NewOrder
from tickerplant.venue.domain.order_params import (
    DECIMAL_RANGE,
    check_filters,
    check_price,
    parse_amended,
    parse_new_order,
)
from tickerplant.venue.domain.orders import OrderType, TimeInForce
from tickerplant.venue.wire.algo_rest import new_algo

NOW = 1_790_000_000_000
PRICE = 6_000_000  # 60000.00, the last trade and the mark the algo book is given
INSTRUMENTS = {m: {i.symbol: i for i in catalogue(m, NOW)} for m in Market}
FILTERS = {m: {s: order_filters(i) for s, i in INSTRUMENTS[m].items()} for m in Market}


def illegal(name: str) -> tuple[int, str]:
    return -1100, f"Illegal characters found in parameter '{name}'; legal range is '{DECIMAL_RANGE}'."


def malformed(name: str) -> tuple[int, str]:
    return -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."


def not_valid(name: str) -> tuple[int, str]:
    return -1130, f"Data sent for parameter '{name}' is not valid."


LIMIT = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.010",
         "price": "59000.00"}  # fmt: skip
MARKET = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.010"}
CM_LIMIT = LIMIT | {"symbol": "BTCUSD_PERP", "quantity": "1", "price": "59000.0"}
WORKING = (-4031, "Invalid parameter working type")
MATCH_TYPES = (-5038, "Price match only supports order type: LIMIT, STOP AND TAKE_PROFIT")

NEW_ORDER_REFUSALS = [
    (LIMIT | {"symbol": "btcusdt"}, (-1121, "Invalid symbol.")),
    (MARKET | {"symbol": "BtcUsdt"}, (-1121, "Invalid symbol.")),
    (MARKET | {"stopPrice": "NaN"}, illegal("stopPrice")),
    (LIMIT | {"callbackRate": "\N{ROCKET}"}, illegal("callbackRate")),
    (LIMIT | {"activationPrice": "-1"}, illegal("activationPrice")),
    (MARKET | {"price": "-1"}, illegal("price")),
    (MARKET | {"price": "1e3"}, illegal("price")),
    (LIMIT | {"goodTillDate": "abc"}, malformed("goodTillDate")),  # on GTC, which does not use it
    (MARKET | {"goodTillDate": str(2**63)}, malformed("goodTillDate")),
    (MARKET | {"timeInForce": "XYZ"}, (-1115, "Invalid timeInForce.")),
    (MARKET | {"workingType": "LAST_PRICE"}, WORKING),
    (LIMIT | {"priceProtect": "maybe"}, not_valid("priceProtect")),
    (MARKET | {"reduceOnly": "1"}, not_valid("reduceOnly")),
    (MARKET | {"priceMatch": "xyz"}, (-5037, "Invalid price match")),
    (MARKET | {"priceMatch": "OPPONENT"}, MATCH_TYPES),
    (LIMIT | {"priceMatch": "QUEUE"}, (-1106, "Parameter 'price' sent when not required.")),
    (MARKET | {"closePosition": "true"}, (-1106, "Parameter 'closePosition' sent when not required.")),
    (LIMIT | {"newOrderRespType": "FULL"}, (-1136, "Invalid newOrderRespType.")),
    (LIMIT | {"timeInForce": "GTD"}, malformed("goodTillDate")),
    (LIMIT | {"timeInForce": "GTD", "goodTillDate": str(NOW + 600_000)}, (-5040,
     "The goodTillDate timestamp must be greater than the current time plus 600 seconds and smaller than "
     "253402300799000 (UTC 9999-12-31 23:59:59)")),
    (CM_LIMIT | {"symbol": "btcusd_perp"}, (-1121, "Invalid symbol.")),
    (CM_LIMIT | {"stopPrice": "NaN"}, illegal("stopPrice")),
    (CM_LIMIT | {"timeInForce": "GTD", "goodTillDate": str(NOW + 3_600_000)}, (-1115, "Invalid timeInForce.")),
]  # fmt: skip


def new_order(params: dict[str, str]) -> NewOrder:
    market = Market.CM if params["symbol"].upper().startswith("BTCUSD_") else Market.UM
    by_name = {name.lower(): value for name, value in params.items()}
    order = parse_new_order(by_name, INSTRUMENTS[market], NOW, hedge=False)
    check_filters(FILTERS[market][order.inst.symbol], order)  # the engine's first check
    return order


@pytest.mark.parametrize(("params", "refusal"), NEW_ORDER_REFUSALS)
def test_a_new_orders_parameters_are_read_whatever_its_type(params: dict[str, str], refusal: tuple[int, str]) -> None:
    with pytest.raises(RequestRefused) as caught:
        new_order(params)
    assert (caught.value.code, caught.value.msg) == refusal


def test_presence_and_the_symbol_come_before_the_combinations() -> None:
    """Part 2 §8: a parameter's presence and the symbol (step 2) before a combination of
    parameters (step 3): a priceMatch with a price but no quantity, a hedge mode's reduceOnly
    with a symbol that is none."""
    no_quantity = {k: v for k, v in (LIMIT | {"priceMatch": "QUEUE"}).items() if k != "quantity"}
    with pytest.raises(RequestRefused) as caught:
        new_order(no_quantity)
    assert caught.value.code == -1102 and "'quantity'" in caught.value.msg
    hedged = {"symbol": "NOPE", "side": "BUY", "type": "MARKET", "quantity": "1", "reduceonly": "false"}
    for changed, code in (({}, -1121), ({"symbol": "BTCUSDT", "type": "FOO"}, -1116),
                          ({"symbol": "BTCUSDT", "quantity": ""}, -1102)):  # fmt: skip
        with pytest.raises(RequestRefused) as caught:
            parse_new_order(hedged | changed, INSTRUMENTS[Market.UM], NOW, hedge=True)
        assert caught.value.code == code, changed


@pytest.mark.parametrize("name", ["side", "type"])
def test_a_side_or_type_not_sent_is_a_mandatory_parameter_not_an_invalid_value(name: str) -> None:
    """Part 2 §3.2 and §8's step 2: presence before validity: ``side`` or ``type`` not sent
    (or empty) is -1102 naming it, as ``quantity`` is; one sent but not theirs -1117/-1116.
    The same for an algo order's ``type`` and a modification's ``side``."""
    said = f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    for params in ({k: v for k, v in LIMIT.items() if k != name}, LIMIT | {name: ""}):
        with pytest.raises(RequestRefused) as caught:
            new_order(params)
        assert (caught.value.code, caught.value.msg) == (-1102, said)
    with pytest.raises(RequestRefused) as caught:
        new_order(LIMIT | {name: "SIDEWAYS"})
    assert caught.value.code == (-1117 if name == "side" else -1116)
    algo = {"algotype": "CONDITIONAL", "symbol": "BTCUSDT", "side": "BUY", "type": "STOP_MARKET",
            "quantity": "0.001", "triggerprice": "70000"}  # fmt: skip
    with pytest.raises(RequestRefused) as caught:
        parse_new_algo({k: v for k, v in algo.items() if k != name}, INSTRUMENTS[Market.UM], NOW, False)
    assert (caught.value.code, caught.value.msg) == (-1102, said)
    if name == "side":
        with pytest.raises(RequestRefused) as caught:
            parse_amended({"quantity": "0.001", "price": "60000"}, INSTRUMENTS[Market.UM]["BTCUSDT"])
        assert (caught.value.code, caught.value.msg) == (-1102, said)


def test_what_a_type_does_not_use_is_ignored_when_well_formed() -> None:
    """The legacy conditional parameters and a LIMIT's on MARKET, as clients send them by
    default (part 5 §2: ccxt passes ``workingType``, ``priceProtect`` through), and empty
    values (as if not sent)."""
    extras = {"timeInForce": "GTC", "price": "60000", "stopPrice": "59000.5", "workingType": "MARK_PRICE",
              "priceProtect": "TRUE", "activationPrice": "61000", "callbackRate": "1.5",
              "goodTillDate": str(NOW + 3_600_000), "closePosition": "false", "reduceOnly": "false",
              "newOrderRespType": "RESULT", "priceMatch": ""}  # fmt: skip
    market = new_order(MARKET | extras)
    assert (market.type, market.price, market.time_in_force, market.good_till_ms, market.result) == (
        OrderType.MARKET, 0, TimeInForce.GTC, 0, True)  # fmt: skip
    limit = new_order(LIMIT | {k: v for k, v in extras.items() if k != "price"} | {"stopPrice": ""})
    assert (limit.price, limit.good_till_ms) == (5_900_000, 0)
    assert new_order(CM_LIMIT | {"workingType": "CONTRACT_PRICE", "priceProtect": "false"})


STOP_MARKET = {"algoType": "CONDITIONAL", "symbol": "BTCUSDT", "side": "SELL", "type": "STOP_MARKET",
               "quantity": "0.001", "triggerPrice": "59000.00"}  # fmt: skip
STOP = STOP_MARKET | {"type": "STOP", "price": "58900.00"}
TRAILING = {"algoType": "CONDITIONAL", "symbol": "BTCUSDT", "side": "SELL", "type": "TRAILING_STOP_MARKET",
            "quantity": "0.001", "callbackRate": "1"}  # fmt: skip

ALGO_REFUSALS = [
    (STOP_MARKET | {"symbol": "btcusdt"}, (-1121, "Invalid symbol.")),
    (STOP_MARKET | {"price": "-1"}, illegal("price")),
    (STOP_MARKET | {"priceMatch": "xyz"}, (-5037, "Invalid price match")),
    (STOP_MARKET | {"priceMatch": "OPPONENT"}, MATCH_TYPES),
    (TRAILING | {"priceMatch": "QUEUE"}, MATCH_TYPES),
    (STOP | {"priceMatch": "QUEUE"}, (-1106, "Parameter 'price' sent when not required.")),
    (STOP_MARKET | {"callbackRate": "\N{ROCKET}"}, illegal("callbackRate")),
    (STOP_MARKET | {"activatePrice": "NaN"}, illegal("activatePrice")),
    (TRAILING | {"triggerPrice": "0x10"}, illegal("triggerPrice")),
    (STOP_MARKET | {"stopPrice": "Infinity"}, illegal("stopPrice")),
    (STOP_MARKET | {"workingType": "LAST_PRICE"}, WORKING),
    (STOP_MARKET | {"goodTillDate": "abc"}, malformed("goodTillDate")),
    (STOP_MARKET | {"timeInForce": "DAY"}, (-1115, "Invalid timeInForce.")),
    (STOP_MARKET | {"newOrderRespType": "FULL"}, (-1136, "Invalid newOrderRespType.")),
    (STOP_MARKET | {"selfTradePreventionMode": "EXPIRE_NOBODY"}, (-5039, "Invalid self trade prevention mode")),
    (STOP_MARKET | {"priceProtect": "2"}, not_valid("priceProtect")),
    (STOP | {"timeInForce": "GTD"}, malformed("goodTillDate")),
    (STOP | {"timeInForce": "GTD", "goodTillDate": str(NOW + 1000)}, (-5040,
     "The goodTillDate timestamp must be greater than the current time plus 600 seconds and smaller than "
     "253402300799000 (UTC 9999-12-31 23:59:59)")),
]  # fmt: skip


def place_algo(params: dict[str, str]) -> NewAlgoOrder:
    return parse_new_algo({k.lower(): v for k, v in params.items()}, INSTRUMENTS[Market.UM], NOW, False)


@pytest.mark.parametrize(("params", "refusal"), ALGO_REFUSALS)
def test_an_algo_orders_parameters_are_read_whatever_its_type(
    params: dict[str, str], refusal: tuple[int, str]
) -> None:
    with pytest.raises(RequestRefused) as caught:
        place_algo(params)
    assert (caught.value.code, caught.value.msg) == refusal


def test_an_algo_order_ignores_what_its_type_does_not_use_when_well_formed() -> None:
    stop_market = place_algo(STOP_MARKET | {"price": "60000", "activatePrice": "61000", "callbackRate": "1",
                                            "timeInForce": "GTD", "goodTillDate": str(NOW + 3_600_000),
                                            "priceProtect": "TRUE", "workingType": "MARK_PRICE"})  # fmt: skip
    assert (stop_market.price, stop_market.activate_price, stop_market.callback_rate) == (0, 0, "")
    assert (stop_market.time_in_force, stop_market.good_till_ms, stop_market.price_protect) == (
        TimeInForce.GTC, 0, True)  # fmt: skip
    matched = place_algo({k: v for k, v in STOP.items() if k != "price"} | {"priceMatch": "QUEUE"})
    assert (matched.price, matched.price_match) == (0, "QUEUE")
    later = NOW + 3_600_000
    gtd = place_algo(STOP | {"timeInForce": "GTD", "goodTillDate": str(later + 999)})
    assert (gtd.time_in_force, gtd.good_till_ms) == (TimeInForce.GTD, later)


def test_a_triggered_stops_child_takes_its_price_match_and_its_good_till_date() -> None:
    """A STOP with ``priceMatch`` (no ``price``) and GTD: its LIMIT child is priced by the book
    when it triggers (QUEUE: the best bid, 59999.00) and lives until the same date."""
    book = Book()
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), book, Deposits(), Kept())
    later = NOW + 3_600_000
    stop = {"algotype": "CONDITIONAL", "symbol": "BTCUSDT", "side": "BUY", "type": "STOP", "quantity": "0.010",
            "triggerprice": "61000", "workingtype": "MARK_PRICE", "pricematch": "QUEUE", "timeinforce": "GTD",
            "goodtilldate": str(later)}  # fmt: skip
    placed, _ = new_algo(engine, ALICE, stop, NOW)
    book.marks["BTCUSDT"] = Fraction(61000)
    engine.apply(AlgoTriggers(()), NOW + 1)
    assert placed.status == "TRIGGERED"
    [child] = engine.open_orders(ALICE, "BTCUSDT")
    assert (child.order_id, child.price, child.price_match) == (placed.child_id, 5_999_900, "QUEUE")
    assert (child.time_in_force, child.good_till_ms) == (TimeInForce.GTD, later)


def test_a_filter_value_of_zero_disables_its_rule() -> None:
    """PRICE_FILTER: "any of the three set to 0 disables its rule" (spec §7.3) — a relayed
    listing's maxPrice is 0, which once refused every limit order with -4002."""
    listed = FILTERS[Market.UM]["BTCUSDT"]
    check_price(listed._replace(max_price=0), 10**12)  # no maximum
    check_price(listed._replace(tick=0), listed.min_price + 1)  # no tick rule
    with pytest.raises(RequestRefused) as refused:
        check_price(listed, listed.max_price + listed.tick)
    assert refused.value.code == -4002
