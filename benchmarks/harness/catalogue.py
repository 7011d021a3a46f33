"""The symbols a benchmark subscribes: tickerplant's own USDⓈ-M catalogue, or a list given."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from .processes import import_from_src


def um_symbols(given: str = "") -> list[str]:
    """The comma-separated `given` symbols, else every USDⓈ-M symbol of the catalogue; lowercase."""
    if given:
        return [s.strip().lower() for s in given.split(",") if s.strip()]
    import_from_src()
    from tickerplant.market import instruments

    catalogue: Any = instruments.catalogue(instruments.Market.UM, time.time_ns() // 1_000_000)
    items = catalogue.values() if isinstance(catalogue, Mapping) else catalogue
    return sorted({str(getattr(i, "symbol", i)).lower() for i in items})
