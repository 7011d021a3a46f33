"""Reading a stream client's items for a while, as the loopback tests do."""

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
