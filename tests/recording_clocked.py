"""A recording of a tickerplant whose market moves on a manual clock, made without the
clock outrunning the recorder.

The recorder fetches with ``urllib`` in a thread (the market's REST twin is asked which
market it is, and diff-depth streams get a REST snapshot). A test loop that advances the
server's clock at every turn of the event loop moves it by seconds while such a thread
waits for the GIL or the scheduler, and the server then rightly drops the thread's
connection for a request head not complete within 5 s on its clock (``front_door``).
So the clock here stands still until the recorder holds its streams, and while any of
its fetches is under way; the market moves only in between.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from timing import SECONDS

from tickerplant.app import Tickerplant
from tickerplant.client.endpoints import fetch
from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market
from tickerplant.recording.recorder import record

__all__ = ["record_clocked"]


async def record_clocked(
    upstream: Tickerplant,
    clock: ManualClock,
    market: Market,
    streams: Sequence[str],
    out: Path,
    *,
    messages: int,
    snapshots: int = 0,
    step_ms: int = 100,
    timeout_s: float = 20 * SECONDS,
) -> list[Path]:
    """Record ``streams`` from ``upstream`` until ``messages`` are written and ``snapshots``
    depth snapshots have landed, moving ``clock`` a step of ``step_ms`` at a time."""
    count = 0
    in_flight = 0
    fetched = 0

    def counted(n: int) -> None:
        nonlocal count
        count = n

    async def fetching(url: str) -> bytes:
        nonlocal in_flight, fetched
        in_flight += 1
        try:
            body = await fetch(url)
        finally:
            in_flight -= 1
        fetched += 1
        return body

    stop = asyncio.Event()
    recording = asyncio.create_task(
        record(upstream.url(market), streams, out, market=market, stop=stop, on_message=counted, fetch=fetching)
    )
    try:
        async with asyncio.timeout(timeout_s):
            while not all(name in upstream.demand for name in streams):
                if recording.done():
                    return await recording  # failed before it subscribed: raises why
                await asyncio.sleep(0)
            while count < messages or fetched < snapshots:
                if recording.done():
                    return await recording
                if not in_flight and count < messages:
                    clock.advance(step_ms - clock.now_ms() % step_ms)
                await asyncio.sleep(0)
            stop.set()
            return await recording
    finally:
        if not recording.done():
            recording.cancel()
            await asyncio.gather(recording, return_exceptions=True)
