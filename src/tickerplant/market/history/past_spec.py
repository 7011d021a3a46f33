"""What a gateway needs to answer about a simulated past, and the minutes it bounds: the one
home of where the past ends and where the plant's warm start begins to hold it."""

from __future__ import annotations

import msgspec

from tickerplant.market.units import MINUTE_MS

__all__ = ["PastSpec"]


class PastSpec(msgspec.Struct, frozen=True, array_like=True):
    """The same seed and rate as the simulator, and where the live market took over (a
    source's ``Prepared``, the bus's listing)."""

    seed: int
    actions_per_s: float | None  # --sim-rate; None: max
    live_from_ms: int  # the live start: the past is what lies before its minute
    history_start_ms: int | None = None  # the past begins at the later of it and the listing
    # the plant's open candles hold the past's minutes from here on (the warm start's window,
    # ``feeds/simulator/pump.py``); before it, a kline open at the live start is the past's
    # part the answers add (``protocol/past.py``). None: from the live start's minute.
    warm_from_ms: int | None = None

    @property
    def until_ms(self) -> int:
        """The live start's minute: the first the live market's, the past's end."""
        return self.live_from_ms - self.live_from_ms % MINUTE_MS

    @property
    def warm_ms(self) -> int:
        """The first minute the warm start gives the plant's candles (its window's first whole
        one, at most the live start's): the pump's warm start and REST's past answers split a
        candle here, the part before it the past's (``OwedParts``, ``PastAnswers``)."""
        until, warm = self.until_ms, self.warm_from_ms
        return until if warm is None else min(warm + -warm % MINUTE_MS, until)
