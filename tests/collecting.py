"""Reading a stream client's items in the loopback tests: ``collect_until`` returns as soon
as what the test needs has arrived, with a deadline (a multiple of ``timing.SECONDS``) for
when it never does. There is no "read for N seconds": silence is proven by a later item."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


async def collect_until(streams: Any, done: Callable[[list[Any]], bool], seconds: float) -> list[Any]:
    """Items until ``done(items)`` holds; TimeoutError after ``seconds``."""
    items: list[Any] = []
    async with asyncio.timeout(seconds):
        while not done(items):
            items.append(await streams.__anext__())
    return items
