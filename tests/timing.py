"""Timeouts in tests: multiples of one unit, scaled by an environment variable.

As websockets does: a loaded or slow machine sets ``TICKERPLANT_TESTS_TIMEOUT_FACTOR``
(say 4) instead of tests growing their own margins. These are deadlines for something
that must happen, never waits for something to happen: a test that needs time to pass
drives a manual clock instead of sleeping.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

__all__ = ["FACTOR", "LOOK_S", "MS", "SECONDS", "eventually"]

FACTOR = float(os.environ.get("TICKERPLANT_TESTS_TIMEOUT_FACTOR", "1"))
MS = 0.001 * FACTOR
SECONDS = 1000 * MS
_SPINS = 20  # looks in a row before ``eventually`` pauses between them
_FIRST_PAUSE_S = 0.0005
_LAST_PAUSE_S = 0.01
# between looks at what another process does (its HTTP answers, its log): asked as fast as
# answered, the looks would take the core the other process needs to get there
LOOK_S = 0.005


async def eventually(holds: Callable[[], bool], timeout_s: float = 5 * SECONDS) -> None:
    """Return as soon as ``holds()`` is true; fail after ``timeout_s``.

    Yields to the loop between looks, so the sockets and callbacks the condition depends
    on keep running: a deadline for what must happen, never a wait for time to pass.
    """
    async with asyncio.timeout(timeout_s):
        for _ in range(_SPINS):  # most conditions hold within a few turns of the loop
            if holds():
                return
            await asyncio.sleep(0)
        pause = _FIRST_PAUSE_S
        while not holds():
            # then a look now and then: spinning would take a core from the server and the
            # other processes the condition waits on (a 2-core machine runs two tests at once)
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LAST_PAUSE_S)
