"""A ``subscribe`` or ``unsubscribe`` made while a connection's own SUBSCRIBE is still going
out (a first connection or a reopened one, its names in paced chunks): the connection
carries the plan as it stands once it is open, not as it stood when it began (the late name
was planned, sent nowhere and never delivered; the unsubscribed one delivered on)."""

from __future__ import annotations

import asyncio
from typing import Any

from collecting import collect_until
from conftest import StartServer
from timing import SECONDS, eventually

from tickerplant.client.streams import RawMessage, RawStreams
from tickerplant.market.instruments import Market

# names enough for six paced SUBSCRIBE chunks (200 each): the first connection is opening
# while they go out; the server takes unknown symbols, as Binance does
FILLER = tuple(f"x{n}usdt@aggTrade" for n in range(1009))
# The chunks one every 20 ms, not five at once and the sixth a second later (the defaults,
# Binance's 10 messages a second): the test waited out that second. The server takes them
# (``max_incoming_rate``); each chunk still goes out on a loop turn of its own, after the
# test saw the first ones arrive, so the late (un)subscribe still meets a connection opening.
PACE = {"control_rate_per_s": 50.0, "control_burst": 1}
FAST = {"limits": {"max_incoming_rate": 1000}}


def subscribed(plant: Any) -> int:
    """The names the server's USDⓈ-M stream connections carry."""
    return sum(len(c._keys) for c in plant.listeners[Market.UM].streams.connections)


async def test_a_name_subscribed_while_the_first_connection_opens_is_delivered(start_server: StartServer) -> None:
    plant = await start_server(**FAST)
    async with RawStreams(plant.url(Market.UM), **PACE) as streams:
        first = asyncio.create_task(streams.subscribe("btcusdt@trade", *FILLER))
        await eventually(lambda: 0 < subscribed(plant) < len(FILLER), 10 * SECONDS)  # its chunks going out
        assert not first.done(), "the connection is still opening"
        await streams.subscribe("btcusdt@bookTicker")
        assert first.done(), "it returns once the connection carries it, with the first's names"
        await first

        def books(items: list[Any]) -> bool:
            return any(isinstance(i, RawMessage) and i.stream == "btcusdt@bookTicker" for i in items)

        await collect_until(streams, books, 10 * SECONDS)


async def test_a_name_unsubscribed_while_the_first_connection_opens_is_not_delivered(start_server: StartServer) -> None:
    plant = await start_server(**FAST)
    async with RawStreams(plant.url(Market.UM), **PACE) as streams:
        first = asyncio.create_task(streams.subscribe("btcusdt@bookTicker", *FILLER))
        await eventually(lambda: 0 < subscribed(plant) < len(FILLER), 10 * SECONDS)
        assert not first.done(), "the connection is still opening"
        await streams.unsubscribe("btcusdt@bookTicker")
        await first
        assert subscribed(plant) == len(FILLER), "the connection no longer carries it"
