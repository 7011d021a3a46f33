"""Binance's local order book procedure (spec §4.9, steps 1–6) against a real tickerplant,
for the loopback depth tests: REST snapshots, diff events buffered until a push, a local
book kept from both, and what such a book can know of a later snapshot."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from typing import Any

from timing import SECONDS, eventually

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock
from tickerplant.feeds.simulator.pump import SimulatedMarket
from tickerplant.market.instruments import Market

__all__ = ["LocalBook", "assert_agrees", "event_at", "get", "levels", "quiet_sync", "sync"]


async def get(plant: Tickerplant, path: str, market: Market = Market.UM) -> tuple[dict[str, str], Any]:
    url = plant.url(market).replace("ws://", "http://") + path

    def fetch() -> tuple[dict[str, str], Any]:
        with urllib.request.urlopen(url, timeout=10 * SECONDS) as response:
            return dict(response.headers), json.loads(response.read())

    return await asyncio.get_running_loop().run_in_executor(None, fetch)


async def event_at(ws: Any, now_ms: int, into: list[dict[str, Any]]) -> dict[str, Any]:
    """Buffer events until the one pushed at ``now_ms`` (a speed's boundary) arrives."""
    async with asyncio.timeout(5 * SECONDS):
        while True:
            message = json.loads(await ws.recv())
            data = message.get("data", message)
            into.append(data)
            if data["E"] >= now_ms:
                return data


class LocalBook:
    """Spec §4.9 steps 3–6 over buffered events, from a REST snapshot (step 2)."""

    def __init__(self, snapshot: dict[str, Any]) -> None:
        self.bids = {float(p): q for p, q in snapshot["bids"]}
        self.asks = {float(p): q for p, q in snapshot["asks"]}
        self.update_id: int = snapshot["lastUpdateId"]
        self.previous_u: int | None = None

    def apply(self, event: dict[str, Any]) -> None:
        if event["u"] < self.update_id:
            return  # step 3
        if self.previous_u is None:  # step 4
            assert event["U"] <= self.update_id <= event["u"], (event["U"], self.update_id, event["u"])
        else:
            assert event["pu"] == self.previous_u, "step 5: the chain holds"
        for side, levels in ((self.bids, event["b"]), (self.asks, event["a"])):
            for price, qty in levels:  # step 6: absolute quantities, 0 removes
                if float(qty) == 0:
                    side.pop(float(price), None)
                else:
                    side[float(price)] = qty
        self.update_id = self.previous_u = event["u"]


def levels(snapshot: dict[str, Any]) -> tuple[list[tuple[float, str]], list[tuple[float, str]]]:
    return [(float(p), q) for p, q in snapshot["bids"]], [(float(p), q) for p, q in snapshot["asks"]]


async def sync(
    plant: Tickerplant, clock: ManualClock, ws: Any, snapshot_path: str, market: Market = Market.UM, events: int = 20
) -> tuple[dict[str, Any], LocalBook]:
    """The procedure over ``ws`` (subscribed to a ``@depth@100ms`` stream, step 1) and the
    snapshot at ``snapshot_path`` (step 2), through ``events`` events past the snapshot,
    driving ``clock`` 100 ms at a time. Returns the snapshot and the synced local book."""
    buffered: list[dict[str, Any]] = []
    source = plant.source
    assert isinstance(source, SimulatedMarket)
    before = source.updates_processed
    clock.advance(30)  # the book moves between pushes: the snapshot falls inside an event...
    await eventually(lambda: source.updates_processed > before)  # ...once the simulator has run
    _, snapshot = await get(plant, snapshot_path, market)
    local = LocalBook(snapshot)
    applied = 0
    while applied < events:
        clock.advance(100 - clock.now_ms() % 100)
        await event_at(ws, clock.now_ms(), buffered)
        for event in buffered:
            local.apply(event)
            applied += event["u"] >= snapshot["lastUpdateId"]
        buffered.clear()
    return snapshot, local


async def quiet_sync(ws: Any, clock: ManualClock, snapshot: dict[str, Any]) -> LocalBook:
    """Steps 3–6 from ``snapshot``, taken while nothing moved since the last push (the clock
    held still), over the events of the pushes that follow, 100 ms at a time, until one
    reaches it: its id is the one reserved for the next update, which the next event holds
    in ``[U, u]`` (step 4 as Binance writes it, ``LocalBook.apply``), though that event's
    ``pu`` is the last push's ``u``, below it."""
    book = LocalBook(snapshot)
    buffered: list[dict[str, Any]] = []
    while book.previous_u is None:
        clock.advance(100 - clock.now_ms() % 100)
        await event_at(ws, clock.now_ms(), buffered)
        for event in buffered:
            book.apply(event)
        buffered.clear()
    return book


def assert_agrees(local: LocalBook, snapshot: dict[str, Any], later: dict[str, Any]) -> None:
    """``later`` (a snapshot of the book at ``local``'s update id: it reports the id reserved
    for the next update, §4.9) equals ``local`` as far as it can know.

    A local book knows the levels its snapshot held and every level that changed since: it
    is exact down to the snapshot's deepest prices. Deeper levels that never changed, and
    that a later limit=1000 answer reaches because the book shifted, it cannot know: so it
    is with Binance's books too."""
    assert later["lastUpdateId"] > local.update_id, "nothing moved since the last push"
    lowest_bid = min(float(p) for p, _ in snapshot["bids"])
    highest_ask = max(float(p) for p, _ in snapshot["asks"])
    bids, asks = levels(later)
    known_bids = sorted(((p, q) for p, q in local.bids.items() if p >= lowest_bid), reverse=True)
    known_asks = sorted((p, q) for p, q in local.asks.items() if p <= highest_ask)
    assert [level for level in bids if level[0] >= lowest_bid] == known_bids[: len(bids)]
    assert [level for level in asks if level[0] <= highest_ask] == known_asks[: len(asks)]
