# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""Decision 1's ``--legacy-conditional-orders`` over a real socket: python-binance at its
defaults sends COIN-M's stop orders to ``/dapi/v1/order`` (it has no COIN-M algo route), as
clients written before the cutover do. With ``cm`` set, such a stop is one order from
placement to fill: its answer, reads and user data events an order's, its id kept through
the trigger (``algo/legacy.py``); the WebSocket API's ``order.place`` takes it too. USDⓈ-M,
not set, still refuses it -4120."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import msgspec
import pytest
from binance_sdk_derivatives_trading_coin_futures.rest_api.models import enums as rest
from conftest import StartServer
from rawws import TEXT, RawWebSocket
from test_binance_sdk_coin_m import sdk
from test_gtd_expiry import stepped_ms
from test_venue_clients import STILL, Venue, closing, python_binance, user_stream, venue  # noqa: F401
from test_ws_api_trading import hmac_signed, raw
from timing import eventually

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock, SystemClock
from tickerplant.market.instruments import Market
from tickerplant.market.messages import StreamMessage
from tickerplant.market.units import fixed

SYMBOL = "BTCUSD_PERP"


@pytest.fixture
async def plant(start_server: StartServer, venue: Venue) -> Tickerplant:
    return await start_server(simulator=STILL, venue_db=str(venue.path), legacy_conditional_orders=("cm",))


def trade_at(plant: Tickerplant, price: str, when: int) -> None:
    """A market trade on BTCUSD_PERP, as the plant publishes one (the price the triggers read)."""
    payload = (
        b'{"e":"aggTrade","E":%d,"a":1,"s":"BTCUSD_PERP","p":"%s","q":"1","f":1,"l":1,"T":%d,"m":false}'
        % (when, price.encode(), when)
    )
    plant.bus.publish(Market.CM, [StreamMessage("btcusd_perp@aggTrade", payload)])


async def coin_user_stream(plant: Tickerplant, api_key: str) -> RawWebSocket:
    cm = plant.listeners[Market.CM]
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{cm.port}/dapi/v1/listenKey"
        async with session.post(url, headers={"X-MBX-APIKEY": api_key}) as response:
            listen_key = (await response.json())["listenKey"]
    held = len(cm.streams.connections) if cm.streams is not None else 0
    user = await RawWebSocket.connect(cm.port, f"/ws/{listen_key}")
    await eventually(lambda: cm.streams is not None and len(cm.streams.connections) == held + 1)
    return user


async def next_order_event(user: RawWebSocket) -> dict[str, Any]:
    while True:
        event = msgspec.json.decode((await user.recv_until(TEXT)).payload)
        if event["e"] == "ORDER_TRADE_UPDATE":
            return dict(event["o"])


async def test_a_coin_m_stop_is_one_order_from_placement_to_fill(
    plant: Tickerplant, venue: Venue, closing: list[Any]
) -> None:
    engine = plant.engines[Market.CM]
    pd = engine.instruments[SYMBOL].price_decimals
    bid = next(engine.data.levels(SYMBOL, True))[0]
    now = plant.clock.now_ms()
    trade_at(plant, fixed(bid, pd), now)
    client = await python_binance(plant, closing, venue.alice_hmac)
    bought = await client.futures_coin_create_order(symbol=SYMBOL, side="BUY", type="MARKET", quantity="2")
    await eventually(lambda: engine.ledger(1).position(SYMBOL).amt == 2)
    user = await coin_user_stream(plant, venue.alice_hmac.api_key)

    stop = fixed(bid - bid // 100, pd)  # 1 % below: a stop-loss of the long
    placed = await client.futures_coin_create_order(
        symbol=SYMBOL, side="SELL", type="STOP_MARKET", stopPrice=stop, quantity="2", reduceOnly="true"
    )
    assert (placed["status"], placed["type"], placed["origType"], placed["stopPrice"], placed["price"]) == (
        "NEW", "STOP_MARKET", "STOP_MARKET", stop, "0",
    )  # fmt: skip
    assert list(placed)[:3] == ["orderId", "symbol", "pair"] and placed["orderId"] != bought["orderId"]
    assert placed["clientOrderId"].startswith("x-Cb7ytekJ")  # python-binance's, kept
    new = await next_order_event(user)
    assert (new["x"], new["o"], new["ot"], new["sp"], new["i"]) == (
        "NEW", "STOP_MARKET", "STOP_MARKET", stop.rstrip("0").rstrip("."), placed["orderId"],
    )  # fmt: skip
    listed = await client.futures_coin_get_open_orders(symbol=SYMBOL)
    assert [(o["orderId"], o["type"]) for o in listed] == [(placed["orderId"], "STOP_MARKET")]
    read = await client.futures_coin_get_order(symbol=SYMBOL, orderId=placed["orderId"])
    assert (read["status"], read["type"], read["stopPrice"]) == ("NEW", "STOP_MARKET", stop)

    # a take-profit placed and cancelled as an order
    take = await client.futures_coin_create_order(
        symbol=SYMBOL, side="SELL", type="TAKE_PROFIT_MARKET", stopPrice=fixed(bid + bid // 100, pd), quantity="1"
    )
    gone = await client.futures_coin_cancel_order(symbol=SYMBOL, orderId=take["orderId"])
    assert (gone["status"], gone["type"], gone["orderId"]) == ("CANCELED", "TAKE_PROFIT_MARKET", take["orderId"])
    assert [(e["x"], e["i"]) for e in [await next_order_event(user), await next_order_event(user)]] == [
        ("NEW", take["orderId"]), ("CANCELED", take["orderId"]),
    ]  # fmt: skip

    # the market trades through the stop: it expires as the order it becomes, same id, fills
    trade_at(plant, fixed(bid - bid // 50, pd), now + 1)
    events = [await next_order_event(user)]
    while events[-1]["X"] != "FILLED":
        events.append(await next_order_event(user))
    assert [(e["x"], e["o"], e["ot"], e["i"]) for e in events[:2]] == [
        ("EXPIRED", "STOP_MARKET", "STOP_MARKET", placed["orderId"]),
        ("NEW", "MARKET", "STOP_MARKET", placed["orderId"]),
    ]  # fmt: skip
    assert events[0]["er"] == "8" and {e["c"] for e in events} == {placed["clientOrderId"]}
    done = await client.futures_coin_get_order(symbol=SYMBOL, orderId=placed["orderId"])
    assert (done["status"], done["type"], done["origType"], done["stopPrice"], done["executedQty"]) == (
        "FILLED", "MARKET", "STOP_MARKET", stop, "2",
    )  # fmt: skip
    assert done["time"] == placed["updateTime"] and done["updateTime"] > done["time"]
    every = await client.futures_coin_get_all_orders(symbol=SYMBOL)
    assert {o["orderId"]: o["status"] for o in every if o["orderId"] != bought["orderId"]} == {
        placed["orderId"]: "FILLED", take["orderId"]: "CANCELED",
    }  # fmt: skip
    assert await client.futures_coin_get_open_orders(symbol=SYMBOL) == []
    await user.close()


async def test_the_websocket_api_takes_it_on_the_market_set_and_usds_m_refuses_it(
    plant: Tickerplant, venue: Venue
) -> None:
    engine = plant.engines[Market.CM]
    bid = next(engine.data.levels(SYMBOL, True))[0]
    stop = fixed(bid - bid // 100, engine.instruments[SYMBOL].price_decimals)
    async with aiohttp.ClientSession() as http:
        coin = await raw(http, plant, Market.CM)
        order = {"symbol": SYMBOL, "side": "SELL", "type": "STOP_MARKET", "stopPrice": stop, "quantity": "1"}
        placed = await coin.call("order.place", hmac_signed(plant, venue.alice_hmac, order))
        assert placed["status"] == 200
        assert (placed["result"]["type"], placed["result"]["stopPrice"]) == ("STOP_MARKET", stop)
        status = {"symbol": SYMBOL, "orderId": placed["result"]["orderId"]}
        read = await coin.call("order.status", hmac_signed(plant, venue.alice_hmac, status))
        assert (read["result"]["status"], read["result"]["origType"]) == ("NEW", "STOP_MARKET")
        cancelled = await coin.call("order.cancel", hmac_signed(plant, venue.alice_hmac, status))
        assert cancelled["result"]["status"] == "CANCELED"
        usd = await raw(http, plant)
        linear = {"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_MARKET", "stopPrice": "1000", "quantity": "0.010"}
        refused = await usd.call("order.place", hmac_signed(plant, venue.alice_hmac, linear))
        assert refused["status"] == 400 and refused["error"]["code"] == -4120
        await coin.ws.close()
        await usd.ws.close()


async def test_binances_coin_m_sdk_places_reads_and_cancels_its_stops(plant: Tickerplant, venue: Venue) -> None:
    """Binance's COIN-M SDK at its defaults (its README's construction, base URLs replaced):
    it has no algo-order method, and its ``new_order`` takes the five conditional types; each
    answer parses into its models."""
    api = sdk(plant, venue.alice_hmac).rest_api
    engine = plant.engines[Market.CM]
    bid = next(engine.data.levels(SYMBOL, True))[0]
    trade_at(plant, fixed(bid, 1), plant.clock.now_ms())
    stop, activation = float(fixed(bid - bid // 100, 1)), float(fixed(bid + bid // 100, 1))
    sell = rest.NewOrderSideEnum["SELL"].value

    def trade() -> dict[str, Any]:
        made: dict[str, Any] = {}
        made["stop"] = api.new_order(
            symbol=SYMBOL, side=sell, type=rest.NewOrderTypeEnum["STOP_MARKET"].value, quantity=1.0,
            stop_price=stop, working_type=rest.NewOrderWorkingTypeEnum["MARK_PRICE"].value,
        ).data()  # fmt: skip
        made["trailing"] = api.new_order(
            symbol=SYMBOL, side=sell, type=rest.NewOrderTypeEnum["TRAILING_STOP_MARKET"].value, quantity=1.0,
            activation_price=activation, callback_rate=2.0,
        ).data()  # fmt: skip
        made["open"] = api.current_all_open_orders(symbol=SYMBOL).data()
        made["read"] = api.query_order(symbol=SYMBOL, order_id=made["stop"].order_id).data()
        made["canceled"] = api.cancel_order(symbol=SYMBOL, order_id=made["stop"].order_id).data()
        made["batch"] = api.cancel_multiple_orders(symbol=SYMBOL, order_id_list=[made["trailing"].order_id]).data()
        made["all"] = api.cancel_all_open_orders(symbol=SYMBOL).data()
        made["after"] = api.current_all_open_orders(symbol=SYMBOL).data()
        return made

    got = await asyncio.to_thread(trade)
    placed, trailing = got["stop"], got["trailing"]
    assert (placed.status, placed.type, placed.orig_type, placed.working_type) == (
        "NEW", "STOP_MARKET", "STOP_MARKET", "MARK_PRICE",
    )  # fmt: skip
    assert float(placed.stop_price) == stop
    assert (trailing.type, float(trailing.activate_price), trailing.price_rate) == (
        "TRAILING_STOP_MARKET", activation, "2.0",  # as sent (the SDK writes a float)
    )  # fmt: skip
    assert sorted(o.order_id for o in got["open"]) == sorted([placed.order_id, trailing.order_id])
    assert (got["read"].status, got["read"].type) == ("NEW", "STOP_MARKET")
    assert (got["canceled"].status, got["canceled"].order_id) == ("CANCELED", placed.order_id)
    (batch,) = got["batch"]  # DELETE batchOrders names it as an order
    assert (batch.status, batch.order_id, batch.type) == ("CANCELED", trailing.order_id, "TRAILING_STOP_MARKET")
    assert got["after"] == []


async def test_a_gtd_stop_not_triggered_by_its_date_expires_then(start_server: StartServer, venue: Venue) -> None:
    """The market's deliveries expire a waiting GTD stop at its date (``AlgoBook.next_date``),
    on a manual clock moved past it: ``x=EXPIRED`` ``er`` "0" on the user data stream."""
    clock = ManualClock(SystemClock().now_ms())
    plant = await start_server(clock=clock, simulator=STILL, venue_db=str(venue.path),
                               legacy_conditional_orders=("um",))  # fmt: skip
    engine = plant.engines[Market.UM]
    ask = next(engine.data.levels("BTCUSDT", False))[0]
    far = fixed((ask + ask // 20) // 10 * 10, 2)  # 5 % above, on the tick: nothing triggers it
    date = (clock.now_ms() + 660_000) // 1000 * 1000
    async with aiohttp.ClientSession() as http:
        ws = await raw(http, plant)
        order = {"symbol": "BTCUSDT", "side": "BUY", "type": "STOP", "quantity": "0.010", "price": far,
                 "stopPrice": far, "timeInForce": "GTD", "goodTillDate": date}  # fmt: skip
        answer = await ws.call("order.place", hmac_signed(plant, venue.alice_hmac, order))
        await ws.ws.close()
    assert answer["status"] == 200, answer
    placed = answer["result"]
    assert (placed["type"], placed["timeInForce"], placed["goodTillDate"]) == ("STOP", "GTD", date)

    async def to(when: int) -> None:  # a minute at a time, each delivered
        while clock.now_ms() < when:
            clock.advance(min(60_000, when - clock.now_ms()))
            await eventually(lambda: stepped_ms(plant) >= clock.now_ms())

    await to(date - 1_000)
    assert [o.order_id for o in engine.open_orders(1, None)] == [placed["orderId"]]  # still waiting
    user = await user_stream(plant, venue.alice_hmac)  # (dialled now: no ping goes unanswered)
    await to(date + 1)
    expired = await next_order_event(user)
    assert (expired["x"], expired["X"], expired["o"], expired["i"], expired["er"]) == (
        "EXPIRED", "EXPIRED", "STOP", placed["orderId"], "0",
    )  # fmt: skip
    assert engine.open_orders(1, None) == []
    await user.close()
