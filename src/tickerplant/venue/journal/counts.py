"""The order-rate windows in the journal's database, so that a restart does not refill
``-1015``'s budget (``order_counts.py``; trading part 1 §7.4; docs/venue.md, "Order rate
limits"). Two sources, read at start:

- ``venue_order_counts``: the windows still open, as ``OrderCounts.open_windows`` gives
  them, written once a second while orders come and at a clean stop, in a transaction of
  their own between the group commits (never one more write per order). Refusals are
  counted here only.
- the orders themselves: every acknowledged order was journaled before its answer went, with
  the time it was placed, so the orders of the open windows are counted again from the
  journal: ``venue_orders`` (less the two kinds no key placed: a liquidation's
  ``autoclose-…`` and a triggered algo order's child, which ``Engine.place`` does not
  count), ``venue_amendments`` (a modification counts as an order) and the algo orders
  placed (``venue_algo_orders``). After a ``kill -9`` these hold every order answered.

At most one row per market, account and limit: only the windows still open are kept.
Each read of the orders scans their table once at start, as ``SqliteJournal.load`` does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable

__all__ = ["placed_since", "save_windows", "saved_windows"]


def saved_windows(db: sqlite3.Connection, market: str) -> list[tuple[int, int, int, int]]:
    """(account, window ms, window start, count) as last saved for ``market``."""
    rows = db.execute(
        "SELECT account_id, window_ms, start_ms, count FROM venue_order_counts WHERE market = ?", (market,)
    )
    return [(int(a), int(w), int(s), int(c)) for a, w, s, c in rows]


def save_windows(db: sqlite3.Connection, market: str, windows: Iterable[tuple[int, int, int, int]]) -> None:
    """``market``'s open windows, replacing what was saved, in the caller's transaction."""
    db.execute("DELETE FROM venue_order_counts WHERE market = ?", (market,))
    db.executemany(
        "INSERT INTO venue_order_counts (market, account_id, window_ms, start_ms, count) "
        "VALUES (?, ?, ?, ?, ?)",
        [(market, *window) for window in windows],
    )


def placed_since(db: sqlite3.Connection, symbols: Collection[str], since_ms: int) -> list[tuple[int, int]]:
    """(account, time ms) of each order a key placed on ``symbols`` at ``since_ms`` or after,
    as the journal holds them: orders, modifications and algo orders."""
    children = {
        (str(symbol), int(child))
        for symbol, child in db.execute(
            "SELECT symbol, json_extract(state, '$.child_id') FROM venue_algo_orders "
            "WHERE json_extract(state, '$.trigger_ms') >= ? "
            "AND json_extract(state, '$.child_id') IS NOT NULL",
            (since_ms,),
        )
    }
    placed: list[tuple[int, int]] = []
    orders = db.execute(
        "SELECT symbol, order_id, account_id, time_ms FROM venue_orders "
        "WHERE time_ms >= ? AND client_order_id NOT LIKE 'autoclose-%'",
        (since_ms,),
    )
    for symbol, order_id, account_id, time_ms in orders:
        if symbol in symbols and (symbol, order_id) not in children:
            placed.append((int(account_id), int(time_ms)))
    for symbol, account_id, time_ms in db.execute(
        "SELECT symbol, account_id, time_ms FROM venue_amendments WHERE time_ms >= ?", (since_ms,)
    ):
        if symbol in symbols:
            placed.append((int(account_id), int(time_ms)))
    for symbol, account_id, time_ms in db.execute(
        "SELECT symbol, json_extract(state, '$.account_id'), json_extract(state, '$.create_ms') "
        "FROM venue_algo_orders WHERE json_extract(state, '$.create_ms') >= ?",
        (since_ms,),
    ):
        if symbol in symbols:
            placed.append((int(account_id), int(time_ms)))
    return placed
