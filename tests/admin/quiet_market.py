"""A source that lists the catalogue and publishes nothing by itself: the test publishes
on the server's bus, so what the admin listener reports is what the test did."""

from __future__ import annotations

import asyncio

from tickerplant.clock import Clock
from tickerplant.feeds import Prepared, Sink
from tickerplant.market.instruments import Market, catalogue

__all__ = ["QuietMarket"]


class QuietMarket:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def prepare(self) -> Prepared:
        now_ms = self._clock.now_ms()
        return Prepared({market: catalogue(market, now_ms) for market in Market}, now_ms)

    async def run(self, sink: Sink) -> None:
        await asyncio.get_running_loop().create_future()  # until the server closes
