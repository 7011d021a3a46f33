"""One symbol as an engine's commands read it: its instrument, its contract (the money
formulas) and its filters (trading part 2 §8), in one record an engine holds per symbol
(``EngineState.listings``), so that a command finds them with one lookup, not one per fact.
Each is made once, when the engine is (they do not change while it runs); the engine's
``instruments``, ``contracts`` and ``filters`` hold these same objects."""

from __future__ import annotations

from tickerplant.market.instruments import Instrument
from tickerplant.market.payloads.exchange_info import OrderFilters, order_filters
from tickerplant.venue.domain.contract import Contract

__all__ = ["Listing"]


class Listing:
    __slots__ = ("contract", "filters", "inst", "symbol")

    def __init__(self, inst: Instrument) -> None:
        self.inst = inst
        self.symbol = inst.symbol
        self.contract = Contract(inst)
        self.filters: OrderFilters = order_filters(inst)
