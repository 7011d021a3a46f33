# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""One book over real sockets: a user's MARKET buy from python-binance
takes the simulated book's asks level by level; its fills are the public trades a
`@trade` subscriber sees, with the same ids and times; the levels it took are gone from
`depth`, and the simulator's fair price moved up by the impact law (its transient half
decaying from there)."""

from __future__ import annotations

import asyncio
import math
from decimal import Decimal
from typing import Any

import aiohttp
import msgspec
from test_venue_clients import Venue, closing, plant, python_binance, venue  # noqa: F401
from timing import SECONDS

from tickerplant.app import Tickerplant
from tickerplant.feeds.simulator.impact import impact
from tickerplant.feeds.simulator.pump import SimulatedMarket
from tickerplant.market.instruments import Market
from tickerplant.market.units import fixed


async def test_a_users_market_buy_trades_in_the_simulated_book(
    plant: Tickerplant, venue: Venue, closing: list[Any]
) -> None:
    source = plant.source
    assert isinstance(source, SimulatedMarket) and source.simulator is not None
    simulator = source.simulator
    engine = plant.engines[Market.UM]
    inst = engine.instruments["ETHUSDT"]
    asks = list(engine.data.levels("ETHUSDT", False))[:4]
    qty = sum(q for _, q in asks[:3]) + asks[3][1] // 2  # three levels and half the fourth
    fair_before = simulator.fair_price("ETHUSDT")
    port = plant.listeners[Market.UM].port
    async with aiohttp.ClientSession() as session, session.ws_connect(f"ws://127.0.0.1:{port}/ws/ethusdt@trade") as ws:
        client = await python_binance(plant, closing, venue.alice_hmac)
        bought = await client.futures_create_order(
            symbol="ETHUSDT", side="BUY", type="MARKET", quantity=fixed(qty, inst.qty_decimals),
            newOrderRespType="RESULT",
        )  # fmt: skip
        assert bought["status"] == "FILLED"
        mine = await client.futures_account_trades(symbol="ETHUSDT")
        assert [(Decimal(t["price"]), Decimal(t["qty"])) for t in mine] == [
            (Decimal(fixed(p, inst.price_decimals)), Decimal(fixed(min(q, qty - sum(x for _, x in asks[:i])), inst.qty_decimals)))
            for i, (p, q) in enumerate(asks)
        ]  # level by level, best first, the fourth in part
        public: list[dict[str, Any]] = []
        while len(public) < len(mine):
            message = await asyncio.wait_for(ws.receive(), 5 * SECONDS)
            public.append(msgspec.json.decode(message.data))
    assert [(t["id"], t["time"], Decimal(t["price"]), Decimal(t["qty"]), t["buyer"]) for t in mine] == [
        (p["t"], p["T"], Decimal(p["p"]), Decimal(p["q"]), True) for p in public
    ]  # the same trades: ids, times, prices, sizes; the buyer the taker (m false)
    assert all(p["m"] is False for p in public)
    depth = await client.futures_order_book(symbol="ETHUSDT", limit=5)
    left = asks[3][1] - (qty - sum(q for _, q in asks[:3]))
    assert depth["asks"][0] == [fixed(asks[3][0], inst.price_decimals), fixed(left, inst.qty_decimals)]
    expected = impact(inst.daily_volatility, qty, simulator.daily_volume("ETHUSDT"))
    moved = math.log(simulator.fair_price("ETHUSDT") / fair_before)
    assert 10 * inst.tick / fair_before < expected < 0.01  # a few basis points at this size
    assert abs(moved - expected) <= inst.tick / fair_before  # on the tick grid
