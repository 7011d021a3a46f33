"""A simulated market's time run as fast as it steps, for the loopback tests that wait on a
cadence (a second's pushes: miniTicker, markPrice@1s, the arrays): the server runs on a
``ManualClock`` that a task moves on ``STEP_MS`` at a time, each step once the simulator
has run through the last, so a second of the market passes in a few milliseconds instead
of a second of the test's. The server makes its pushes on the same cadence of the
market's time as on the system clock: the clock is its only source of time
(``tickerplant.clock``). Only a test whose client does not compare the server's times with
its own may use it (a signed request's timestamp would be refused).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from timing import SECONDS, eventually

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock
from tickerplant.feeds.simulator.pump import SimulatedMarket

__all__ = ["STEP_MS", "driven"]

STEP_MS = 100  # the depth streams' fastest cadence: each of their pushes is made


@contextlib.asynccontextmanager
async def driven(plant: Tickerplant, clock: ManualClock) -> AsyncIterator[None]:
    """``plant``'s simulator (started with ``clock``) run on it, as fast as it steps, for
    the block."""
    source = plant.source
    assert isinstance(source, SimulatedMarket) and plant.clock is clock

    async def run() -> None:
        while True:
            clock.advance(STEP_MS)
            # the step made and published before the next: no backlog, nothing skipped. A
            # deadline, not a wait: a step meeting a fault (a reset's closes) on a loaded
            # machine once took more than the default 5 s in CI
            await eventually(lambda: source.stepped_ms >= clock.now_ms(), 20 * SECONDS)

    running = asyncio.ensure_future(run())
    try:
        yield
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
