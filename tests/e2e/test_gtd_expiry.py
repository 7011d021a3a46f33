# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""GTD orders expire at their ``goodTillDate`` (trading spec part 2 §3.3), over a real socket,
placed and watched by ccxt unchanged but for its base URLs, on a ManualClock moved past the
date: the order ends ``EXPIRED`` in the answers and on the user data stream (``x`` and ``X``
``EXPIRED``, ``er`` ``"0"``, part 4 §3.2), its margin is released, and one whose date passed
while the server was down expires once it is back, from its journal."""

from __future__ import annotations

import asyncio
from typing import Any

from test_adl_clients import on_server_time
from test_ccxt_trading import trader
from test_venue_clients import STILL, Venue, closing, venue  # noqa: F401
from timing import eventually

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock, SystemClock
from tickerplant.feeds.simulator.pump import SimulatedMarket
from tickerplant.market.instruments import Market

SYMBOL = "BTC/USDT:USDT"
TEN_MINUTES_MS = 600_000


def stepped_ms(plant: Tickerplant) -> int:
    """How far the simulated market has stepped: its deliveries are what expire orders."""
    assert isinstance(plant.source, SimulatedMarket)
    return plant.source.stepped_ms


async def test_a_gtd_order_expires_at_its_date_and_after_a_restart(
    start_server: Any, venue: Venue, closing: list[Any]
) -> None:
    clock = ManualClock(SystemClock().now_ms())
    plant = await start_server(clock=clock, simulator=STILL, venue_db=str(venue.path))
    alice = trader(plant, venue.alice_hmac, closing)
    on_server_time(clock, alice)
    await alice.load_markets()
    bid = (await alice.fetch_order_book(SYMBOL, 5))["bids"][-1][0]
    price = round(bid * 0.95, 1)  # rests: nothing trades it meanwhile
    date = (clock.now_ms() + TEN_MINUTES_MS + 60_000) // 1000 * 1000 + 456  # milliseconds are dropped
    gtd = {"timeInForce": "GTD", "goodTillDate": date}
    streams = plant.listeners[Market.UM].streams
    assert streams is not None
    watched = asyncio.ensure_future(alice.watch_orders(SYMBOL))  # the user data stream, as ccxt reads it
    await eventually(lambda: len(streams.connections) == 1)  # dialled before the order is placed
    placed = await alice.create_order(SYMBOL, "limit", "buy", 0.01, price, gtd)
    assert (placed["status"], placed["info"]["timeInForce"]) == ("open", "GTD")
    assert placed["info"]["goodTillDate"] == date - 456
    (new,) = await asyncio.wait_for(watched, 10)
    assert (new["id"], new["info"]["X"], new["info"]["gtd"]) == (placed["id"], "NEW", date - 456)
    held = (await alice.fetch_balance())["info"]["totalOpenOrderInitialMargin"]
    assert float(held) > 0

    while clock.now_ms() < date - 456 - 1:  # to a millisecond before its date: still open
        # a minute at a time: the server's pings (each 3 min) are answered meanwhile
        clock.advance(min(60_000, date - 456 - 1 - clock.now_ms()))
        await eventually(lambda: stepped_ms(plant) >= clock.now_ms())
    assert (await alice.fetch_order(placed["id"], SYMBOL))["status"] == "open"
    watched = asyncio.ensure_future(alice.watch_orders(SYMBOL))
    clock.advance(1_000)  # past it: the market's next delivery expires it
    (expired,) = await asyncio.wait_for(watched, 10)
    assert (expired["id"], expired["status"]) == (placed["id"], "expired")
    info = expired["info"]
    assert (info["x"], info["X"], info["er"], info["f"], info["z"]) == ("EXPIRED", "EXPIRED", "0", "GTD", "0")
    read = await alice.fetch_order(placed["id"], SYMBOL)
    assert (read["status"], read["info"]["status"], read["info"]["updateTime"]) == ("expired", "EXPIRED", info["T"])
    assert info["T"] >= date - 456
    assert await alice.fetch_open_orders(SYMBOL) == []
    assert float((await alice.fetch_balance())["info"]["totalOpenOrderInitialMargin"]) == 0

    # one more, its date passing while the server is down: expired from the journal at the start
    later = (clock.now_ms() + TEN_MINUTES_MS + 5_000) // 1000 * 1000
    again = await alice.create_order(SYMBOL, "limit", "buy", 0.01, price, {"timeInForce": "GTD", "goodTillDate": later})
    await plant.close()
    clock.advance(later - clock.now_ms() + 30_000)
    plant = await start_server(clock=clock, simulator=STILL, venue_db=str(venue.path))
    alice = trader(plant, venue.alice_hmac, closing)
    on_server_time(clock, alice)
    await alice.load_markets()
    engine = plant.engines[Market.UM]
    await eventually(lambda: engine.good_till.next_ms() is None)
    read = await alice.fetch_order(again["id"], SYMBOL)
    assert (read["status"], read["info"]["updateTime"] >= later) == ("expired", True)
    assert await alice.fetch_open_orders(SYMBOL) == []
