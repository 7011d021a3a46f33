"""The bus between the plant and the gateways: in-process by default, NATS to scale out.

It carries ``StreamMessage``s: the plant defines them (``tickerplant.market.messages``, the
innermost layer, which cannot import this one) and the bus's interface names them here, so
a gateway imports the bus, not the plant.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from tickerplant.market.instruments import Market
from tickerplant.market.messages import StreamMessage

__all__ = ["Bus", "Handler", "StreamMessage"]

Handler = Callable[[Sequence[StreamMessage]], None]


class Bus(Protocol):
    """Carries one copy of each encoded message from the plant to every gateway.

    Messages travel in batches (all a plant produced in one step), so a gateway can queue
    a whole batch before it flushes its connections once.
    """

    def publish(self, market: Market, messages: Sequence[StreamMessage]) -> None: ...

    def subscribe(self, market: Market, handler: Handler) -> None: ...
