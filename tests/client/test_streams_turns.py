"""``async for`` over a client's streams: a consumer far behind still gives the event loop
its turns (``streams.TURN_EVERY``), so that reads, pings and timers are not held up while it
catches up."""

from __future__ import annotations

import asyncio

from tickerplant.client.streams import TURN_EVERY, MarketStreams


async def test_a_consumer_far_behind_gives_the_loop_a_turn_every_turn_every_items() -> None:
    # Items already settled are handed out without waiting; a consumer 3 * TURN_EVERY items
    # behind still lets the loop's other work run between them (reads, pings, timers).
    streams = MarketStreams("ws://127.0.0.1:9")  # never connected: nothing subscribed
    items = 3 * TURN_EVERY
    streams._ready.extend(range(items))  # type: ignore[arg-type]  # as settled frames are
    turns = 0
    handed = 0

    async def other_work() -> None:
        nonlocal turns
        while handed < items:
            turns += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(other_work())
    await asyncio.sleep(0)  # it starts
    started = turns
    for expected in range(items):
        assert await streams.__anext__() == expected
        handed += 1
    assert turns - started == 3, "one turn each TURN_EVERY items, none in between"
    await other
