"""Waiting for a condition, not for a time: the feeds tests' one way to let things happen."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(done: Callable[[], bool], seconds: float) -> None:
    """Yield to the loop until ``done()`` holds; TimeoutError after ``seconds``."""
    async with asyncio.timeout(seconds):
        while not done():
            await asyncio.sleep(0)
