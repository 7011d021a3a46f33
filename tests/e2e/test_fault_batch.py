# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""``-1008`` in a batch, decided per order as Binance does (docs/faults.md, "Order entry";
part 1 §6.2 503 (4), part 2 §7), through python-binance at its defaults: in a throttled
batch the reduce-only order is placed and the others get the ``-1008`` element in their
slots; a batch with no exempt order is refused whole, 503 ``-1008``."""

from __future__ import annotations

from typing import Any

import pytest
from binance.exceptions import BinanceAPIException
from conftest import StartServer
from test_fault_clients import limit_below
from test_venue_clients import STILL, Venue, closing, python_binance, venue  # noqa: F401

from tickerplant.app import Tickerplant
from tickerplant.faults.profile import FaultKind
from tickerplant.market.instruments import Market
from tickerplant.market.units import fixed

THROTTLED = {
    "code": -1008,
    "msg": "Request throttled by system-level protection. Reduce-only/close-position orders are exempt. Please try again.",
}


async def alice_under(
    start_server: StartServer, venue: Venue, closing: list[Any], fault: str
) -> tuple[Tickerplant, Any]:
    """A server whose profile holds ``fault`` (a [[fault]] table's lines) for Alice's account
    alone, and her python-binance client at its defaults."""
    profile = f"[[fault]]\n{fault}\naccounts = [{venue.alice}]\n"
    plant = await start_server(simulator=STILL, venue_db=str(venue.path), faults={"profile_text": profile})
    return plant, await python_binance(plant, closing, venue.alice_hmac)


async def test_a_throttled_batch_places_its_reduce_only_orders_alone(
    start_server: StartServer, venue: Venue, closing: list[Any]
) -> None:
    fault = 'kind = "throttled"\nrate = 1\nendpoints = ["POST /fapi/v1/batchOrders"]'
    plant, client = await alice_under(start_server, venue, closing, fault)
    # a long position to reduce (single orders are not throttled here: the fault names batches)
    await client.futures_create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01")
    quantity, below = limit_below(plant, "BTCUSDT")
    engine = plant.engines[Market.UM]
    inst = engine.instruments["BTCUSDT"]
    ask = next(engine.data.levels("BTCUSDT", False))[0]
    above = fixed(ask + ask // 200 // inst.tick * inst.tick, inst.price_decimals)
    buy = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": quantity, "price": below}
    reduce = {"symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01",
              "price": above, "reduceOnly": "true"}  # fmt: skip

    answered = await client.futures_place_batch_order(batchOrders=[dict(buy), dict(reduce), dict(buy)])
    assert [answered[0], answered[2]] == [THROTTLED, THROTTLED]
    assert (answered[1]["side"], answered[1]["reduceOnly"], answered[1]["status"]) == ("SELL", True, "NEW")
    assert [order["orderId"] for order in await client.futures_get_open_orders()] == [answered[1]["orderId"]]

    with pytest.raises(BinanceAPIException) as raised:  # no exempt order: refused whole, as a single one is
        await client.futures_place_batch_order(batchOrders=[dict(buy), dict(buy)])
    assert (raised.value.status_code, raised.value.code) == (503, -1008)
    assert len(await client.futures_get_open_orders()) == 1

    listener = plant.listeners[Market.UM]
    assert listener.faults is not None
    assert listener.faults.decider.record.counts == {FaultKind.THROTTLED: 2}


async def test_a_fault_narrowed_to_a_symbol_meets_a_batch_holding_it(
    start_server: StartServer, venue: Venue, closing: list[Any]
) -> None:
    plant, client = await alice_under(start_server, venue, closing, 'kind = "internal-error"\nrate = 1\nsymbols = ["ETHUSDT"]')
    btc_qty, btc_price = limit_below(plant, "BTCUSDT")
    eth_qty, eth_price = limit_below(plant, "ETHUSDT")
    btc = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": btc_qty,
           "price": btc_price}  # fmt: skip
    eth = dict(btc, symbol="ETHUSDT", quantity=eth_qty, price=eth_price)
    with pytest.raises(BinanceAPIException) as raised:  # one request: met whole, as a single ETHUSDT order
        await client.futures_place_batch_order(batchOrders=[dict(btc), dict(eth)])
    assert (raised.value.status_code, raised.value.code) == (503, -1001)
    with pytest.raises(BinanceAPIException):
        await client.futures_create_order(**eth)
    assert await client.futures_get_open_orders() == []
    (placed,) = await client.futures_place_batch_order(batchOrders=[dict(btc)])  # no ETHUSDT: untouched
    assert placed["status"] == "NEW"
    listener = plant.listeners[Market.UM]
    assert listener.faults is not None
    assert listener.faults.decider.record.counts == {FaultKind.INTERNAL_ERROR: 2}
