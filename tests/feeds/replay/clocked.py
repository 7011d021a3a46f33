"""Running a replay on a manual clock: what it publishes, and when by that clock."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Collection
from typing import Any

from tickerplant.clock import ManualClock
from tickerplant.feeds.replay.player import ReplaySource
from tickerplant.market.instruments import Market


class ClockedSink:
    """A ``Sink`` noting each message published with the clock's time."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.published: list[tuple[int, str, bytes]] = []  # (clock ms, stream, payload)
        self.interrupted: list[tuple[int, tuple[str, ...]]] = []
        self.reason: str | None = None
        self.bus = self
        self.plants: dict[Market, Any] = {}
        self.demand = None  # every stream written: the tests read all that is published

    def publish(self, market: Market, messages: Any) -> None:
        now = self.clock.now_ms()
        self.published.extend((now, m.stream, m.payload) for m in messages)

    def interrupt(self, market: Market, streams: Collection[str], reason: str) -> None:
        self.interrupted.append((self.clock.now_ms(), tuple(streams)))

    def finished(self, reason: str, *, failed: bool = False) -> None:
        self.reason = reason


async def play(source: ReplaySource, clock: ManualClock, seconds: float) -> ClockedSink:
    """Run the prepared ``source`` to its end, moving ``clock`` straight to each time it
    sleeps until; TimeoutError after ``seconds`` of real time."""
    sink = ClockedSink(clock)
    task = asyncio.create_task(source.run(sink))  # type: ignore[arg-type]
    try:
        async with asyncio.timeout(seconds):
            while not task.done():
                await asyncio.sleep(0)
                due = clock.next_due_ms
                if due is not None:
                    clock.set(max(math.ceil(due), clock.now_ms()))
    finally:
        task.cancel()
    await task
    return sink
