# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""Binance's strictness on an order's parameters over a real socket, REST and the WebSocket
API alike, both markets, the order and the algo order endpoints (part 2 §3.1, §4.2, §8;
part 1 §5.2): garbage in a parameter the order's type does not use is refused with
Binance's code, a lowercase ``symbol`` is ``-1121``, a ``recvWindow`` past a LONG ``-1130``;
what clients send by default (well-formed) still places. Nothing refused is placed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from test_venue_clients import Venue, plant, venue  # noqa: F401
from test_ws_api_trading import below_bid, hmac_signed, raw
from yarl import URL

from tickerplant.app import Tickerplant
from tickerplant.market.instruments import Market
from tickerplant.venue.auth.signing import hmac_hex
from tickerplant.venue.domain.order_params import DECIMAL_RANGE
from tickerplant.venue.wire import batches


def illegal(name: str) -> dict[str, Any]:
    return {"code": -1100, "msg": f"Illegal characters found in parameter '{name}'; legal range is '{DECIMAL_RANGE}'."}


INVALID_SYMBOL = {"code": -1121, "msg": "Invalid symbol."}
BAD_WINDOW = {"code": -1130, "msg": "Data sent for parameter 'recvWindow' is not valid."}
MALFORMED_GTD = {"code": -1102, "msg": "Mandatory parameter 'goodTillDate' was not sent, was empty/null, or malformed."}
PRECISION = {"code": -1111, "msg": "Precision is over the maximum defined for this asset."}
MATCH = {"code": -5037, "msg": "Invalid price match"}
NOT_A_CLIENT_ID = {"code": -4015, "msg": "Client order id is not valid."}
TOO_LONG_A_CLIENT_ID = {"code": -4015, "msg": "Client order id length should not be more than 36 chars"}
INVALID_TIF = {"code": -1115, "msg": "Invalid timeInForce."}


def not_sent(name: str) -> dict[str, Any]:
    return {"code": -1102, "msg": f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."}


def without(params: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in params.items() if k != name}


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def post(
    http: aiohttp.ClientSession, plant: Tickerplant, venue: Venue, market: Market, path: str, params: dict[str, str],
    method: str = "POST",
) -> tuple[int, Any]:  # fmt: skip
    """A signed POST, its parameters in a form body as ccxt sends them (part 1 §3.1); another
    ``method``'s in the query."""
    prefix = "fapi" if market is Market.UM else "dapi"
    body = urlencode(params | {"timestamp": str(plant.clock.now_ms())})
    body += f"&signature={hmac_hex(venue.alice_hmac.secret, body.encode())}"
    headers = {"X-MBX-APIKEY": venue.alice_hmac.api_key, "Content-Type": "application/x-www-form-urlencoded"}
    url = f"http://127.0.0.1:{plant.listeners[market].port}/{prefix}/v1/{path}"
    if method != "POST":  # in the query, as clients send a GET's and a DELETE's (as signed: not requoted)
        url, body = URL(f"{url}?{body}", encoded=True), ""
    async with http.request(method, url, data=body, headers=headers) as response:
        return response.status, await response.json()


def far_below(plant: Tickerplant, market: Market, symbol: str) -> str:
    """A price a tenth below the bid, on the tick: a BUY that rests, a SELL stop that waits."""
    bid = next(plant.engines[market].data.levels(symbol, True))[0]
    return below_bid(plant, market, symbol, bid // 10 // 100 * 100)


@pytest.mark.parametrize("market", [Market.UM, Market.CM])
async def test_rest_refuses_what_binance_refuses(
    plant: Tickerplant, venue: Venue, http: aiohttp.ClientSession, market: Market
) -> None:
    symbol, qty = ("BTCUSDT", "0.010") if market is Market.UM else ("BTCUSD_PERP", "1")
    low = far_below(plant, market, symbol)
    limit = {"symbol": symbol, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": qty, "price": low}
    market_order = {"symbol": symbol, "side": "BUY", "type": "MARKET", "quantity": qty}
    stop = {"algoType": "CONDITIONAL", "symbol": symbol, "side": "SELL", "type": "STOP_MARKET", "quantity": qty,
            "triggerPrice": low}  # fmt: skip
    cases = [
        ("order", limit | {"symbol": symbol.lower()}, INVALID_SYMBOL),
        ("order", market_order | {"stopPrice": "NaN"}, illegal("stopPrice")),
        ("order", limit | {"callbackRate": "\N{ROCKET}"}, illegal("callbackRate")),
        ("order", limit | {"goodTillDate": "abc"}, MALFORMED_GTD),
        ("order", limit | {"recvWindow": str(2**63)}, BAD_WINDOW),
        ("order", without(limit, "side"), not_sent("side")),  # presence before validity (part 2 §3.2)
        ("order", limit | {"type": ""}, not_sent("type")),
        ("algoOrder", without(stop, "type"), not_sent("type")),
        ("order/test", market_order | {"workingType": "LAST_PRICE"},
         {"code": -4031, "msg": "Invalid parameter working type"}),
        ("algoOrder", stop | {"symbol": symbol.lower()}, INVALID_SYMBOL),
        ("algoOrder", stop | {"priceMatch": "xyz"}, MATCH),
        ("algoOrder", stop | {"price": "-1"}, illegal("price")),
        ("algoOrder", stop | {"priceMatch": "OPPONENT"},
         {"code": -5038, "msg": "Price match only supports order type: LIMIT, STOP AND TAKE_PROFIT"}),
        # sent as zero: the filters' refusals, as an order's (not "not sent")
        ("algoOrder", stop | {"quantity": "0"}, {"code": -4003, "msg": "Quantity less than or equal to zero."}),
        ("order", limit | {"quantity": "0"}, {"code": -4003, "msg": "Quantity less than or equal to zero."}),
        ("algoOrder", stop | {"type": "STOP", "price": "0", "timeInForce": "GTC"},
         {"code": -4001, "msg": "Price less than 0."}),
        ("order", limit | {"price": "0"}, {"code": -4001, "msg": "Price less than 0."}),
        ("algoOrder", without(stop, "quantity"), not_sent("quantity")),
        # a system order's client id (a liquidation's, an ADL's, a settlement's) is not a client's
        ("order", limit | {"newClientOrderId": "autoclose-mine1"}, NOT_A_CLIENT_ID),
        ("order", market_order | {"newClientOrderId": "adl_autoclose"}, NOT_A_CLIENT_ID),
        ("order/test", limit | {"newClientOrderId": "settlement_autoclose-1"}, NOT_A_CLIENT_ID),
        ("algoOrder", stop | {"clientAlgoId": "autoclose-mine2"}, NOT_A_CLIENT_ID),
        # its client id before the combinations (part 2 §8's order: -4015 in step 2, -4137 in 3)
        ("algoOrder", stop | {"clientAlgoId": "bad id!", "closePosition": "true"}, NOT_A_CLIENT_ID),
        # one over 36 characters is told so, an algo order's as an order's (one pattern, part 2 §4.2)
        ("order", limit | {"newClientOrderId": "c" * 37}, TOO_LONG_A_CLIENT_ID),
        ("algoOrder", stop | {"clientAlgoId": "c" * 37}, TOO_LONG_A_CLIENT_ID),
        # an ENUM's value as listed, as an order's side or type is (part 3 §4.5: ISOLATED, CROSSED)
        ("marginType", {"symbol": symbol, "marginType": "isolated"},
         {"code": -1130, "msg": "Data sent for parameter 'marginType' is not valid."}),
    ]  # fmt: skip
    for path, params, refusal in cases:
        assert await post(http, plant, venue, market, path, params) == (400, refusal), (path, params)
    neither = {"code": -1102, "msg": "Param 'algoId' or 'clientAlgoId' must be sent, but both were empty/null!"}
    for method in ("DELETE", "GET"):  # an algo order's cancel or query names one (part 2 §4.3)
        assert await post(http, plant, venue, market, "algoOrder", {"symbol": symbol}, method) == (400, neither)
    unknown = {"symbol": symbol, "algoId": "123456"}  # a cancel's "unknown order", a query's "does not exist"
    assert await post(http, plant, venue, market, "algoOrder", unknown, "DELETE") == (
        400, {"code": -2011, "msg": "Unknown order sent."}
    )  # fmt: skip
    assert await post(http, plant, venue, market, "algoOrder", unknown, "GET") == (
        400, {"code": -2013, "msg": "Order does not exist."}
    )  # fmt: skip
    engine = plant.engines[market]
    assert engine.open_orders(venue.alice, None) == [] and engine.fills(venue.alice, symbol) == []
    # what clients send by default, well-formed, is ignored where the type does not use it
    legacy = {"workingType": "CONTRACT_PRICE", "priceProtect": "FALSE", "newOrderRespType": "RESULT",
              "reduceOnly": "false", "recvWindow": str(2**63 - 1)}  # fmt: skip
    status, placed = await post(http, plant, venue, market, "order", limit | legacy)
    assert (status, placed["status"], placed["price"]) == (200, "NEW", low)
    status, algo = await post(http, plant, venue, market, "algoOrder", stop | legacy | {"priceProtect": "true"})
    assert (status, algo["algoStatus"], algo["priceProtect"]) == (200, "NEW", True)
    # a batch's orders alike, each in its place; a null is as if not sent
    batch = json.dumps([limit | {"stopPrice": "NaN"}, limit | {"stopPrice": None}, limit | {"symbol": symbol.lower()},
                        limit | {"newClientOrderId": "autoclose-1"}])  # fmt: skip
    status, answers = await post(http, plant, venue, market, "batchOrders", {"batchOrders": batch})
    assert status == 200 and answers[0] == illegal("stopPrice") and answers[2] == INVALID_SYMBOL
    assert answers[3] == NOT_A_CLIENT_ID
    assert answers[1]["status"] == "NEW"
    # a JSON number is the decimal sent, no float between: its decimals counted, an exponent's too
    precise = low + ("" if "." in low else ".") + "000000001"  # the same price, decimals past the tick's
    exponent = f"{qty}e0"  # python-binance writes a float's repr: its exact decimal is the quantity
    numbers = json.dumps([limit | {"price": "P"}, limit | {"quantity": "Q"}, limit | {"price": "L"},
                          limit | {"quantity": "E"}])  # fmt: skip
    numbers = numbers.replace('"P"', precise).replace('"Q"', exponent).replace('"L"', low)
    numbers = numbers.replace('"E"', qty + ("" if "." in qty else ".") + "0000000001e0")
    status, answers = await post(http, plant, venue, market, "batchOrders", {"batchOrders": numbers})
    assert status == 200 and answers[0] == PRECISION and answers[3] == PRECISION, answers
    assert [(a["status"], a["origQty"], a["price"]) for a in answers[1:3]] == [("NEW", qty, low)] * 2


@pytest.mark.parametrize("market", [Market.UM, Market.CM])
async def test_a_batch_nested_past_the_decoders_depth_or_with_a_vast_exponent_is_refused(
    plant: Tickerplant, venue: Venue, http: aiohttp.ClientSession, market: Market
) -> None:
    """Part 2 §7, part 1 §6.3: JSON nested 5,000 deep is not valid (-1130; it raised out of the
    decoder, the request unanswered and every REST request queued behind it held), a number
    of ``1e1000000000`` is refused as its text is (-1100; expanded it was a billion digits made
    on the loop), a batch cancel naming no order (neither list, or only ``[]``) is -1102, one
    on a symbol not listed -1121, and the next request is answered."""
    symbol, qty = ("BTCUSDT", "0.010") if market is Market.UM else ("BTCUSD_PERP", "1")
    deep = "[" * 5_000 + "]" * 5_000
    status, answer = await post(http, plant, venue, market, "batchOrders", {"batchOrders": deep})
    assert (status, answer) == (400, {"code": -1130, "msg": "Data sent for parameter 'batchOrders' is not valid."})
    deep_enough = "[" * 1_000 + "]" * 1_000  # past msgspec's depth, within a request line's length
    status, answer = await post(http, plant, venue, market, "batchOrders",
                                {"symbol": symbol, "orderIdList": deep_enough}, method="DELETE")  # fmt: skip
    assert (status, answer) == (400, {"code": -1130, "msg": "Data sent for parameter 'orderIdList' is not valid."})
    neither = "Param 'orderIdList' or 'origClientOrderIdList' must be sent, but both were empty/null!"
    # neither list, or only empty ones ("empty/null"): -1102, not an empty answer of 200
    for lists in ({}, {"orderIdList": "[]"}, {"origClientOrderIdList": "[]"},
                  {"orderIdList": "[]", "origClientOrderIdList": "[]"}):  # fmt: skip
        status, answer = await post(http, plant, venue, market, "batchOrders", {"symbol": symbol, **lists},
                                    method="DELETE")  # fmt: skip
        assert (status, answer) == (400, {"code": -1102, "msg": neither}), lists  # the single cancel's text
    # the batch's one symbol is read before any of its orders, as a single cancel's is: a symbol
    # not listed is -1121 for the request (400), not one -1121 per order in a 200
    for lists in ({"orderIdList": "[1]"}, {"origClientOrderIdList": '["a", "b"]'}):
        status, answer = await post(http, plant, venue, market, "batchOrders", {"symbol": "NOPE", **lists},
                                    method="DELETE")  # fmt: skip
        assert (status, answer) == (400, INVALID_SYMBOL), lists
    limit = {"symbol": symbol, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "Q",
             "price": far_below(plant, market, symbol)}  # fmt: skip
    vast = json.dumps([limit]).replace('"Q"', "1e1000000000")
    status, answers = await post(http, plant, venue, market, "batchOrders", {"batchOrders": vast})
    assert (status, answers) == (200, [illegal("quantity")])
    placed = json.dumps([limit]).replace('"Q"', f"{qty}e0")  # an exponent within reach: the decimal it is
    status, answers = await post(http, plant, venue, market, "batchOrders", {"batchOrders": placed})
    assert (status, answers[0]["status"], answers[0]["origQty"]) == (200, "NEW", qty)


@pytest.mark.parametrize("market", [Market.UM, Market.CM])
async def test_reads_and_settings_take_enum_values_as_listed(
    plant: Tickerplant, venue: Venue, http: aiohttp.ClientSession, market: Market
) -> None:
    """An ENUM parameter of the account's endpoints takes its values as listed, as an order's
    side or type does (part 2 §6.9, §9): another value, or a listed one in another case, is
    -1130 naming it (part 3 §12), not an answer for some other value; the listed ones answer."""
    cases = [
        ("forceOrders", {"autoCloseType": "adl"}, "autoCloseType"),
        ("forceOrders", {"autoCloseType": "LIQUIDATIONS"}, "autoCloseType"),
        ("income", {"incomeType": "funding_fee"}, "incomeType"),
        ("income", {"incomeType": "FUNDING"}, "incomeType"),
    ]
    for path, params, name in cases:
        refused = {"code": -1130, "msg": f"Data sent for parameter '{name}' is not valid."}
        assert await post(http, plant, venue, market, path, params, "GET") == (400, refused), (path, params)
    listed = [("forceOrders", {"autoCloseType": "ADL"}), ("forceOrders", {"autoCloseType": "LIQUIDATION"}),
              ("income", {"incomeType": "FUNDING_FEE"}), ("income", {"incomeType": "DELIVERED_SETTELMENT"})]  # fmt: skip
    for path, params in listed:
        assert await post(http, plant, venue, market, path, params, "GET") == (200, []), (path, params)
    # positionMargin's positionSide as an order's: -4060 in another case (part 3 §4.8, part 2 §9)
    symbol = "BTCUSDT" if market is Market.UM else "BTCUSD_PERP"
    moved = {"symbol": symbol, "amount": "1", "type": "1"}
    assert await post(http, plant, venue, market, "positionMargin", moved | {"positionSide": "both"}) == (
        400, {"code": -4060, "msg": "Invalid position side."})  # fmt: skip
    assert await post(http, plant, venue, market, "positionMargin", moved | {"positionSide": "BOTH"}) == (
        400, {"code": -4049, "msg": "Add margin only support for isolated position."})  # fmt: skip


async def test_a_route_that_raises_is_answered_as_an_unknown_outcome_and_the_listener_goes_on(
    plant: Tickerplant, venue: Venue, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """A bug met by a request (here one put in on purpose) is answered 503 ``-1000``, part 1
    §6.2's "outcome unknown" (it was left unanswered, and the REST line behind it stopped),
    logged once a minute, and the next requests are answered."""

    def broken(params: object) -> list[dict[str, str]]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(batches, "elements", broken)
    unknown = {"code": -1000, "msg": "Unknown error, please check your request or try again later."}
    for _ in range(2):
        assert await post(http, plant, venue, Market.UM, "batchOrders", {"batchOrders": "[]"}) == (503, unknown)
    raised = [r for r in caplog.records if "answering POST /fapi/v1/batchOrders raised" in r.getMessage()]
    assert len(raised) == 1 and raised[0].exc_info is not None  # its traceback, once
    low = far_below(plant, Market.UM, "BTCUSDT")
    limit = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.010", "price": low}
    status, placed = await post(http, plant, venue, Market.UM, "order", limit)
    assert (status, placed["status"]) == (200, "NEW")


async def test_the_ws_api_refuses_what_binance_refuses(
    plant: Tickerplant, venue: Venue, http: aiohttp.ClientSession
) -> None:
    for market, symbol, qty in ((Market.UM, "BTCUSDT", "0.010"), (Market.CM, "BTCUSD_PERP", "1")):
        low = far_below(plant, market, symbol)
        ws = await raw(http, plant, market)
        limit = {"symbol": symbol, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": qty,
                 "price": low}  # fmt: skip
        cases = [
            (limit | {"symbol": symbol.lower()}, INVALID_SYMBOL),
            (limit | {"type": "MARKET", "price": "-1"}, illegal("price")),
            (limit | {"goodTillDate": "abc"}, MALFORMED_GTD),
            (limit | {"recvWindow": 2**63}, BAD_WINDOW),  # a JSON number, as the docs send INTs
            (without(limit, "side"), not_sent("side")),
            (without(limit, "type"), not_sent("type")),
            (limit | {"newClientOrderId": "autoclose-mine1"}, NOT_A_CLIENT_ID),
        ]
        for params, refusal in cases:
            reply = await ws.call("order.place", hmac_signed(plant, venue.alice_hmac, params))
            assert (reply["status"], reply["error"]) == (400, refusal), params
        assert plant.engines[market].open_orders(venue.alice, None) == []
        await ws.ws.close()
    ws = await raw(http, plant)
    stop = {"algoType": "CONDITIONAL", "symbol": "BTCUSDT", "side": "SELL", "type": "STOP_MARKET",
            "quantity": "0.010", "triggerPrice": far_below(plant, Market.UM, "BTCUSDT")}  # fmt: skip
    # a STOP's time in force: the WebSocket method's enum has no GTX, GTD (part 2 §4.2), REST's has
    limit_stop = stop | {"type": "STOP", "price": stop["triggerPrice"]}
    gtd = {"timeInForce": "GTD", "goodTillDate": str(plant.clock.now_ms() + 3_600_000)}
    for params, refusal in ((stop | {"priceMatch": "xyz"}, MATCH), (stop | {"symbol": "btcusdt"}, INVALID_SYMBOL),
                            (stop | {"callbackRate": "\N{ROCKET}"}, illegal("callbackRate")),
                            (limit_stop | {"timeInForce": "GTX"}, INVALID_TIF), (limit_stop | gtd, INVALID_TIF)):  # fmt: skip
        reply = await ws.call("algoOrder.place", hmac_signed(plant, venue.alice_hmac, params))
        assert (reply["status"], reply["error"]) == (400, refusal), params
    for tif in ({"timeInForce": "GTX"}, gtd):
        status, placed_rest = await post(http, plant, venue, Market.UM, "algoOrder", limit_stop | tif)
        assert (status, placed_rest["timeInForce"]) == (200, tif["timeInForce"]), placed_rest
    placed = await ws.call("algoOrder.place", hmac_signed(plant, venue.alice_hmac, stop | {"workingType": "MARK_PRICE"}))
    assert placed["status"] == 200, placed
    await ws.ws.close()


async def test_a_batchs_client_ids_are_kept_as_sent_and_its_cancel_takes_quoted_order_ids(
    plant: Tickerplant, venue: Venue, http: aiohttp.ClientSession
) -> None:
    """A bare ``True`` (python-binance's booleans) is JSON's ``true``, never a word inside a
    client id (part 5 §3: echoed byte for byte; ``bot-True-1`` was kept as ``bot-true-1``, then
    neither found nor cancelled by the id sent); and ``orderIdList`` takes its ids as numbers
    or quoted strings (part 5 §3), JavaScript clients' 64-bit ids."""
    limit = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.010",
             "price": far_below(plant, Market.UM, "BTCUSDT"), "reduceOnly": "R"}  # fmt: skip
    ids = ["bot-True-1", "a:False/b"]
    batch = json.dumps([{**limit, "newClientOrderId": ids[0]}, {**limit, "newClientOrderId": ids[1]}])
    batch = batch.replace('"R"', "False")  # as python-binance writes it
    status, placed = await post(http, plant, venue, Market.UM, "batchOrders", {"batchOrders": batch})
    assert status == 200 and [(p["clientOrderId"], p["status"], p["reduceOnly"]) for p in placed] == [
        (ids[0], "NEW", False), (ids[1], "NEW", False),
    ], placed  # fmt: skip
    status, found = await post(http, plant, venue, Market.UM, "order", {"symbol": "BTCUSDT", "origClientOrderId": ids[0]},
                               method="GET")  # fmt: skip
    assert (status, found["orderId"]) == (200, placed[0]["orderId"]), found
    quoted = json.dumps([str(placed[0]["orderId"]), placed[1]["orderId"]], separators=(",", ":"))  # a string, a number
    status, cancelled = await post(http, plant, venue, Market.UM, "batchOrders",
                                   {"symbol": "BTCUSDT", "orderIdList": quoted}, method="DELETE")  # fmt: skip
    assert status == 200 and [(c["clientOrderId"], c["status"]) for c in cancelled] == [
        (ids[0], "CANCELED"), (ids[1], "CANCELED"),
    ], cancelled  # fmt: skip
