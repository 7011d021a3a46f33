"""What the venue did, counted for the metrics: orders by type and what
happened to them (``x``: NEW, TRADE, CANCELED, EXPIRED, AMENDMENT, the algo orders' states),
refusals of trading requests by Binance's code, fills by liquidity, and the market's
deliveries the venue failed to take (``venue_engines.Contained``). Plain counters, bounded by the
enumerations (order types × executions, codes of part 1 §6.3, maker/taker, the hooks' few
names)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from tickerplant.venue.domain.events import AlgoUpdate, Event, OrderUpdate

__all__ = ["VenueActivity"]


class VenueActivity:
    def __init__(self) -> None:
        self.orders: Counter[tuple[str, str]] = Counter()  # (order type, execution) -> events
        self.rejects: Counter[int] = Counter()  # code -> trading requests refused with it
        self.fills: Counter[str] = Counter()  # "maker" / "taker" -> fills
        self.failures: Counter[str] = Counter()  # venue step ("watch", …) -> deliveries it raised on

    def saw(self, events: Iterable[Event]) -> None:
        for event in events:
            if isinstance(event, OrderUpdate):
                self.orders[(event.order.shown_type, event.execution)] += 1
                if event.fill is not None:
                    self.fills["maker" if event.fill.maker else "taker"] += 1
            elif isinstance(event, AlgoUpdate):
                self.orders[(event.algo.type, event.algo.status)] += 1

    def refused(self, code: int) -> None:
        self.rejects[code] += 1
