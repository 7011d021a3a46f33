"""The relay's bus batches: what one read of the upstream brought, published as one batch.

Messages added without the relay waiting in between go out together when it next waits, so
each gateway handles (and the fan-out flushes) a batch instead of single messages; a bound
keeps what is held back small should the upstream never pause.
"""

from __future__ import annotations

import asyncio

from tickerplant.bus import Bus, StreamMessage
from tickerplant.market.instruments import Market

__all__ = ["Batcher"]


class Batcher:
    """Publishes what one read of the upstream brought as one bus batch: messages added
    without the relay waiting in between go out together when it next waits, so each
    gateway handles (and the fan-out flushes) a batch instead of single messages."""

    max_batch = 4096  # a bound on what is held back, should the upstream never pause

    def __init__(self, market: Market, bus: Bus) -> None:
        self._market = market
        self._bus = bus
        self._pending: list[StreamMessage] = []
        self._loop = asyncio.get_running_loop()

    def add(self, message: StreamMessage) -> None:
        pending = self._pending
        pending.append(message)
        if len(pending) == 1:
            self._loop.call_soon(self.flush)
        elif len(pending) >= self.max_batch:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            # A fresh list each time: a subscriber may hold on to the batch it was given.
            batch, self._pending = self._pending, []
            self._bus.publish(self._market, batch)
