# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""Conditional orders through the Algo Order service over a real socket (trading part 2 §4),
python-binance unchanged but for its base URLs (it routes STOP_MARKET and the other
conditional types to ``/fapi/v1/algoOrder``): placed, listed apart from the ordinary open
orders, cancelled; a stop-loss with ``closePosition`` triggered by the market's trades,
its child closing the position, and the user data stream's ALGO_UPDATE lifecycle around
the child's events (part 4 §3.7, §4.3 item 10)."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

import msgspec
import pytest
from binance.exceptions import BinanceAPIException
from rawws import TEXT
from test_venue_clients import Venue, closing, plant, python_binance, user_stream, venue  # noqa: F401

from tickerplant.app import Tickerplant
from tickerplant.market.instruments import Market
from tickerplant.market.messages import StreamMessage
from tickerplant.market.units import fixed

ALGO_KEYS = [
    "algoId", "clientAlgoId", "algoType", "orderType", "symbol", "side", "positionSide", "timeInForce", "quantity",
    "algoStatus", "triggerPrice", "price", "icebergQuantity", "selfTradePreventionMode", "workingType", "priceMatch",
    "closePosition", "priceProtect", "reduceOnly", "activatePrice", "callbackRate", "createTime", "updateTime",
    "triggerTime", "goodTillDate",
]  # fmt: skip


def trade_at(plant: Tickerplant, price: str, when: int) -> None:
    """A market trade on BTCUSDT, as the plant publishes one (the price the triggers read)."""
    payload = (
        b'{"e":"aggTrade","E":%d,"a":1,"s":"BTCUSDT","p":"%s","q":"0.001","nq":"0.001","f":1,"l":1,"T":%d,"m":false}'
        % (when, price.encode(), when)
    )
    plant.bus.publish(Market.UM, [StreamMessage("btcusdt@aggTrade", payload)])


async def alice_at_the_bid(plant: Tickerplant, venue: Venue, closing: list[Any]) -> tuple[Any, int, int, int]:
    """Alice's python-binance client, BTCUSDT's best bid and its price decimals, and the time of
    a trade there (the last price the triggers read)."""
    engine = plant.engines[Market.UM]
    client = await python_binance(plant, closing, venue.alice_hmac)
    bid = next(engine.data.levels("BTCUSDT", True))[0]
    pd = engine.instruments["BTCUSDT"].price_decimals
    now = plant.clock.now_ms()
    trade_at(plant, fixed(bid, pd), now)
    return client, bid, pd, now


async def test_a_stop_loss_lifecycle(plant: Tickerplant, venue: Venue, closing: list[Any]) -> None:
    um = plant.listeners[Market.UM]
    assert um.streams is not None
    client, bid, pd, now = await alice_at_the_bid(plant, venue, closing)
    bought = await client.futures_create_order(
        symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.010", newOrderRespType="RESULT"
    )
    assert bought["status"] == "FILLED"
    user = await user_stream(plant, venue.alice_hmac)

    stop = fixed(bid - 100_000, pd)  # 1,000 below
    placed = await client.futures_create_order(
        symbol="BTCUSDT", side="SELL", type="STOP_MARKET", stopPrice=stop, closePosition="true"
    )
    assert list(placed) == ALGO_KEYS
    assert (placed["algoStatus"], placed["orderType"], placed["triggerPrice"], placed["closePosition"]) == (
        "NEW", "STOP_MARKET", stop, True,
    )  # fmt: skip
    assert placed["clientAlgoId"].startswith("x-Cb7ytekJ") and placed["icebergQuantity"] == "None"
    new = msgspec.json.decode((await user.recv()).payload)
    assert (new["e"], new["o"]["X"], new["o"]["aid"], new["o"]["tp"]) == (
        "ALGO_UPDATE", "NEW", placed["algoId"], stop.rstrip("0").rstrip("."),
    )  # fmt: skip
    assert await client.futures_get_open_orders(symbol="BTCUSDT") == []  # not an ordinary order
    listed = await client.futures_get_open_orders(symbol="BTCUSDT", conditional=True)  # openAlgoOrders
    assert [a["algoId"] for a in listed] == [placed["algoId"]]

    # a take-profit placed and cancelled; one that would trigger at once is refused
    take = await client.futures_create_order(
        symbol="BTCUSDT", side="SELL", type="TAKE_PROFIT", quantity="0.005", stopPrice=fixed(bid + 200_000, pd),
        price=fixed(bid + 200_000, pd), timeInForce="GTC",
    )  # fmt: skip
    gone = await client.futures_cancel_order(symbol="BTCUSDT", algoId=take["algoId"])
    assert gone == {"algoId": take["algoId"], "clientAlgoId": take["clientAlgoId"], "code": "200", "msg": "success"}
    with pytest.raises(BinanceAPIException) as caught:
        await client.futures_create_order(
            symbol="BTCUSDT", side="BUY", type="STOP_MARKET", stopPrice=fixed(bid - 100, pd), quantity="0.001"
        )
    assert (caught.value.code, caught.value.message) == (-2021, "Order would immediately trigger.")
    for _ in range(2):  # the take-profit's NEW and CANCELED
        await user.recv()

    # the market trades through the stop: it triggers and its child closes the position
    trade_at(plant, fixed(bid - 150_000, pd), now + 1)
    events = []
    while not events or events[-1].get("e") != "ALGO_UPDATE" or events[-1]["o"]["X"] != "FINISHED":
        events.append(msgspec.json.decode((await user.recv_until(TEXT)).payload))
    algo = [(e["o"]["X"], e["o"]["ai"]) for e in events if e["e"] == "ALGO_UPDATE"]
    child_id = int(algo[1][1])
    assert algo == [("TRIGGERING", ""), ("TRIGGERED", str(child_id)), ("FINISHED", str(child_id))]
    kinds = [(e["e"], e["o"]["X"] if e["e"] == "ALGO_UPDATE" else "") for e in events]
    # TRIGGERED before the child's events, its TRADE_LITE first of them (part 4 §4.3 item 10)
    assert kinds[:3] == [("ALGO_UPDATE", "TRIGGERING"), ("ALGO_UPDATE", "TRIGGERED"), ("TRADE_LITE", "")]
    triggered = events[1]["o"]
    assert (triggered["ap"], triggered["aq"], triggered["act"]) == ("0", "0", "MARKET")  # §3.7's capture
    child_new = next(e["o"] for e in events if e["e"] == "ORDER_TRADE_UPDATE")
    assert (child_new["c"], child_new["o"], child_new["R"], child_new["i"]) == (
        placed["clientAlgoId"], "MARKET", True, child_id,
    )  # fmt: skip
    finished = events[-1]["o"]
    assert (finished["aq"], finished["act"]) == ("0.01", "MARKET") and Decimal(finished["ap"]) > 0
    got = await client.futures_get_order(symbol="BTCUSDT", algoId=placed["algoId"])  # GET algoOrder
    assert (got["algoStatus"], got["actualOrderId"], got["actualQty"]) == ("FINISHED", str(child_id), "0.010")
    assert [p for p in await client.futures_position_information() if p["symbol"] == "BTCUSDT"] == []
    await user.close()


async def test_a_trailing_stops_algo_update_says_whether_it_is_activated(
    plant: Tickerplant, venue: Venue, closing: list[Any]
) -> None:
    """``ALGO_UPDATE``'s ``ia`` (part 4 §3.7, since 2026-08): a trailing stop's alone, last,
    false until the activation price is met, true after (without one: at once)."""
    client, bid, pd, now = await alice_at_the_bid(plant, venue, closing)
    user = await user_stream(plant, venue.alice_hmac)
    waiting = await client.futures_create_order(
        symbol="BTCUSDT", side="SELL", type="TRAILING_STOP_MARKET", quantity="0.001", callbackRate="1",
        activationPrice=fixed(bid + 200_000, pd), reduceOnly="false",
    )  # fmt: skip
    at_once = await client.futures_create_order(
        symbol="BTCUSDT", side="SELL", type="TRAILING_STOP_MARKET", quantity="0.001", callbackRate="1"
    )
    stop = await client.futures_create_order(
        symbol="BTCUSDT", side="SELL", type="STOP_MARKET", quantity="0.001", stopPrice=fixed(bid - 100_000, pd)
    )
    placed = [msgspec.json.decode((await user.recv_until(TEXT)).payload)["o"] for _ in range(3)]
    assert [(o["aid"], o["X"], o.get("ia")) for o in placed] == [
        (waiting["algoId"], "NEW", False), (at_once["algoId"], "NEW", True), (stop["algoId"], "NEW", None),
    ]  # fmt: skip
    assert list(placed[0])[-1] == "ia"
    trade_at(plant, fixed(bid + 250_000, pd), now + 1)  # past the activation price: the first is activated
    await client.futures_cancel_order(symbol="BTCUSDT", algoId=waiting["algoId"])
    cancelled = msgspec.json.decode((await user.recv_until(TEXT)).payload)["o"]
    assert (cancelled["aid"], cancelled["X"], cancelled["ia"]) == (waiting["algoId"], "CANCELED", True)


async def test_what_the_algo_service_refuses_when_it_is_placed(plant: Tickerplant, venue: Venue, closing: list[Any]) -> None:
    """Part 2 §4.2, refused at placement as Binance refuses them, not accepted and then
    refused when they trigger: a limit price beyond its trigger's PERCENT_PRICE band
    (-4183/-4184), a ``clientAlgoId`` an open algo order holds (-4116); and ``allAlgoOrders``
    keeps ``allOrders``' 7 days (-4165)."""
    engine = plant.engines[Market.UM]
    client = await python_binance(plant, closing, venue.alice_hmac)
    bid = next(engine.data.levels("BTCUSDT", True))[0]
    inst, f = engine.instruments["BTCUSDT"], engine.filters["BTCUSDT"]
    pd, tick = inst.price_decimals, inst.tick
    trade_at(plant, fixed(bid, pd), plant.clock.now_ms())  # the last price
    trigger = bid - 100_000  # 1,000 below: a sell stop, or a buy take-profit, that waits
    low = math.ceil(trigger * Fraction(f.multiplier_down) / tick) * tick  # the band's, on the tick
    high = math.floor(trigger * Fraction(f.multiplier_up) / tick) * tick
    for side, kind, price, code, said in (
        ("SELL", "STOP", low - tick, -4184, f"Limit price can't be lower than {fixed(low, pd)}."),
        ("BUY", "TAKE_PROFIT", high + tick, -4183, f"Limit price can't be higher than {fixed(high, pd)}."),
    ):
        with pytest.raises(BinanceAPIException) as caught:
            await client.futures_create_order(
                symbol="BTCUSDT", side=side, type=kind, quantity="0.005", stopPrice=fixed(trigger, pd),
                price=fixed(price, pd), timeInForce="GTC",
            )  # fmt: skip
        assert (caught.value.code, caught.value.message) == (code, said)
    at_bound = await client.futures_create_order(
        symbol="BTCUSDT", side="SELL", type="STOP", quantity="0.005", stopPrice=fixed(trigger, pd),
        price=fixed(low, pd), timeInForce="GTC",
    )  # fmt: skip
    assert at_bound["algoStatus"] == "NEW"

    stop = {"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_MARKET", "stopPrice": fixed(trigger, pd),
            "quantity": "0.005", "clientAlgoId": "sl-BTCUSDT"}  # fmt: skip
    first = await client.futures_create_algo_order(**stop)
    with pytest.raises(BinanceAPIException) as caught:  # a retry with the same id, the first still open
        await client.futures_create_algo_order(**stop)
    assert (caught.value.code, caught.value.message) == (-4116, "clientOrderId is duplicated")
    await client.futures_cancel_algo_order(symbol="BTCUSDT", algoId=first["algoId"])
    again = await client.futures_create_algo_order(**stop)  # closed: its id is free again
    assert again["clientAlgoId"] == "sl-BTCUSDT" and again["algoId"] != first["algoId"]

    now = plant.clock.now_ms()
    with pytest.raises(BinanceAPIException) as caught:
        await client.futures_get_all_algo_orders(symbol="BTCUSDT", startTime=now - 8 * 86_400_000, endTime=now)
    assert (caught.value.code, caught.value.message) == (-4165, "Maximum time interval is 7 days")
    week = await client.futures_get_all_algo_orders(symbol="BTCUSDT", startTime=now - 7 * 86_400_000, endTime=now)
    assert [a["algoId"] for a in week] == [at_bound["algoId"], first["algoId"], again["algoId"]]

    # the walls between accounts: bob's key neither sees, reads nor cancels alice's algo
    # orders, and her open client id is hers alone (unique among *his* open orders for him)
    bob = await python_binance(plant, closing, venue.bob_hmac)
    assert await bob.futures_get_open_orders(symbol="BTCUSDT", conditional=True) == []
    for ref in ({"algoId": again["algoId"]}, {"clientAlgoId": "sl-BTCUSDT"}):
        for reach, code in ((bob.futures_get_algo_order, -2013), (bob.futures_cancel_algo_order, -2011)):
            with pytest.raises(BinanceAPIException) as caught:  # a query's "does not exist", a cancel's
                await reach(symbol="BTCUSDT", **ref)  # "unknown order" (part 2 §6.1), as for an order
            assert caught.value.code == code
    his = await bob.futures_create_algo_order(**dict(stop, quantity="0.001"))
    assert his["clientAlgoId"] == "sl-BTCUSDT"
    mine = await client.futures_get_open_orders(symbol="BTCUSDT", conditional=True)
    assert sorted(a["algoId"] for a in mine) == sorted([at_bound["algoId"], again["algoId"]])
