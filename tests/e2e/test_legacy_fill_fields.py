# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""Decision 1's setting for clients written before 2026-06-30 (``--legacy-fill-fields``),
over a real socket: the placement, modify and cancel answers carry ``avgPrice`` (after
``price``) and ``cumQuote`` (COIN-M ``cumBase``, after ``cumQty``), at the 2025 capture's
places (part 2 §3.4), each the figure the order's own read gives, on REST (python-binance at
its defaults) and the WebSocket API alike. Without the setting they are absent
(``test_venue_orders.py``)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from conftest import StartServer
from test_venue_clients import STILL, Venue, closing, python_binance, venue  # noqa: F401
from test_ws_api_trading import hmac_signed, raw

from tickerplant.app import Tickerplant
from tickerplant.market.instruments import Market
from tickerplant.market.units import fixed

UM_ACK = [
    "orderId", "symbol", "status", "clientOrderId", "price", "avgPrice", "origQty", "executedQty", "cumQty",
    "cumQuote", "timeInForce", "type", "reduceOnly", "closePosition", "side", "positionSide", "stopPrice",
    "workingType", "priceProtect", "origType", "priceMatch", "selfTradePreventionMode", "goodTillDate",
    "updateTime",
]  # fmt: skip
# COIN-M's: ``pair`` after ``symbol``, ``cumBase`` for ``cumQuote``, no ``goodTillDate``
CM_ACK = [k for key in UM_ACK if key != "goodTillDate" for k in {"symbol": ("symbol", "pair")}.get(key, (key,))]
CM_ACK[CM_ACK.index("cumQuote")] = "cumBase"


@pytest.fixture
async def plant(start_server: StartServer, venue: Venue) -> Tickerplant:
    return await start_server(simulator=STILL, venue_db=str(venue.path), legacy_fill_fields=True)


def _below(plant: Tickerplant, market: Market, symbol: str, fraction: int) -> str:
    """A price ``1/fraction`` below the best bid, on the tick: a BUY that rests."""
    bid = next(plant.engines[market].data.levels(symbol, True))[0]
    inst = plant.engines[market].instruments[symbol]
    tick = 10 ** max(0, inst.price_decimals - 1)
    return fixed((bid - bid // fraction) // tick * tick, inst.price_decimals)


def _fills(answer: dict[str, Any], read: dict[str, Any], quote: str) -> None:
    """The answer's fill figures are the order's own, as its read gives them."""
    assert (answer["avgPrice"], answer[quote]) == (read["avgPrice"], read[quote])


async def test_placement_modify_and_cancel_answers_carry_the_fill_figures_on_rest(
    plant: Tickerplant, venue: Venue, closing: list[Any]
) -> None:
    client = await python_binance(plant, closing, venue.alice_hmac)
    price = _below(plant, Market.UM, "BTCUSDT", 20)
    placed = await client.futures_create_order(
        symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.010", price=price
    )
    assert list(placed) == UM_ACK
    assert (placed["avgPrice"], placed["cumQuote"]) == ("0.00000", "0.00000")
    modified = await client.futures_modify_order(
        symbol="BTCUSDT", orderId=placed["orderId"], side="BUY", quantity="0.020", price=price
    )
    assert list(modified) == UM_ACK and modified["origQty"] == "0.020"
    cancelled = await client.futures_cancel_order(symbol="BTCUSDT", orderId=placed["orderId"])
    assert list(cancelled) == UM_ACK and cancelled["status"] == "CANCELED"

    for create, get, symbol, qty, keys, quote in (
        (client.futures_create_order, client.futures_get_order, "BTCUSDT", "0.010", UM_ACK, "cumQuote"),
        (client.futures_coin_create_order, client.futures_coin_get_order, "BTCUSD_PERP", "1", CM_ACK, "cumBase"),
    ):  # a market order's answer after its fills (RESULT), each market's quote
        bought = await create(symbol=symbol, side="BUY", type="MARKET", quantity=qty, newOrderRespType="RESULT")
        assert list(bought) == keys and bought["status"] == "FILLED"
        read = await get(symbol=symbol, orderId=bought["orderId"])
        assert float(bought["avgPrice"]) > 0 and float(bought[quote]) > 0
        _fills(bought, read, quote)


async def test_the_websocket_api_answers_as_rest_does(plant: Tickerplant, venue: Venue) -> None:
    async with aiohttp.ClientSession() as http:
        ws = await raw(http, plant)
        order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                 "quantity": "0.010", "price": _below(plant, Market.UM, "BTCUSDT", 20)}  # fmt: skip
        placed = await ws.call("order.place", hmac_signed(plant, venue.alice_hmac, order))
        assert placed["status"] == 200 and list(placed["result"]) == UM_ACK
        order_id = placed["result"]["orderId"]
        cancel = {"symbol": "BTCUSDT", "orderId": order_id}
        cancelled = await ws.call("order.cancel", hmac_signed(plant, venue.alice_hmac, cancel))
        assert cancelled["status"] == 200 and list(cancelled["result"]) == UM_ACK
        market = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.010",
                  "newOrderRespType": "RESULT"}  # fmt: skip
        bought = (await ws.call("order.place", hmac_signed(plant, venue.alice_hmac, market)))["result"]
        status = {"symbol": "BTCUSDT", "orderId": bought["orderId"]}
        read = (await ws.call("order.status", hmac_signed(plant, venue.alice_hmac, status)))["result"]
        assert float(bought["avgPrice"]) > 0
        _fills(bought, read, "cumQuote")
        await ws.ws.close()
