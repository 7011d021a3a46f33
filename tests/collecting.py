"""Reading a stream client's items in the loopback tests.

Prefer ``collect_until``: it returns as soon as what the test needs has arrived, with a
deadline (a multiple of ``timing.SECONDS``) for when it never does. ``collect`` reads for a
fixed window, for the few tests that check what did not arrive.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


async def collect(streams: Any, seconds: float) -> list[Any]:
    """Every item ``streams`` yields within ``seconds``."""
    items: list[Any] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        try:
            items.append(await asyncio.wait_for(streams.__anext__(), left))
        except TimeoutError:
            break
    return items


async def collect_until(streams: Any, done: Callable[[list[Any]], bool], seconds: float) -> list[Any]:
    """Items until ``done(items)`` holds; TimeoutError after ``seconds``."""
    items: list[Any] = []
    async with asyncio.timeout(seconds):
        while not done(items):
            items.append(await streams.__anext__())
    return items
