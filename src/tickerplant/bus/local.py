"""The in-process bus: a publish is a direct call of each subscriber's handler."""

from __future__ import annotations

from collections.abc import Sequence

from tickerplant.bus import Handler, StreamMessage
from tickerplant.market.instruments import Market

__all__ = ["LocalBus"]


class LocalBus:
    def __init__(self) -> None:
        self._handlers: dict[Market, list[Handler]] = {market: [] for market in Market}

    def publish(self, market: Market, messages: Sequence[StreamMessage]) -> None:
        if messages:
            for handler in self._handlers[market]:
                handler(messages)

    def subscribe(self, market: Market, handler: Handler) -> None:
        self._handlers[market].append(handler)
