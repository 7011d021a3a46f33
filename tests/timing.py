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

__all__ = ["FACTOR", "MS", "SECONDS", "eventually"]

FACTOR = float(os.environ.get("TICKERPLANT_TESTS_TIMEOUT_FACTOR", "1"))
MS = 0.001 * FACTOR
SECONDS = 1000 * MS


async def eventually(holds: Callable[[], bool], timeout_s: float = 5 * SECONDS) -> None:
    """Return as soon as ``holds()`` is true; fail after ``timeout_s``.

    Yields to the loop between looks, so the sockets and callbacks the condition depends
    on keep running: a deadline for what must happen, never a wait for time to pass.
    """
    async with asyncio.timeout(timeout_s):
        while not holds():
            await asyncio.sleep(0)
