"""What the journal holds open on symbols the server no longer lists: a quarterly contract
past its delivery (the catalogue lists the current and next quarters of the clock's time,
``market/instruments.catalogue``). The venue does not deliver a quarterly (docs/venue.md,
"Quarterly contracts: not delivered"), and a restart serves only what is listed: a position
or an open order on such a symbol is not restored, so the server names them when it starts
rather than drop them without a word."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection

__all__ = ["unlisted_holdings"]


def unlisted_holdings(db: sqlite3.Connection, listed: Collection[str]) -> dict[str, tuple[int, int]]:
    """Per symbol none of ``listed`` is: its open positions and open orders in the journal."""
    held: dict[str, list[int]] = {}
    for symbol, positions in db.execute(
        "SELECT symbol, count(*) FROM venue_positions WHERE amt != 0 GROUP BY symbol"
    ):
        if symbol not in listed:
            held.setdefault(symbol, [0, 0])[0] = int(positions)
    for symbol, orders in db.execute(
        "SELECT symbol, count(*) FROM venue_orders WHERE status IN ('NEW', 'PARTIALLY_FILLED') "
        "GROUP BY symbol"
    ):
        if symbol not in listed:
            held.setdefault(symbol, [0, 0])[1] = int(orders)
    return {symbol: (positions, orders) for symbol, (positions, orders) in sorted(held.items())}
