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

__all__ = ["Saved", "placed_since", "save_windows", "saved_windows"]


def saved_windows(db: sqlite3.Connection, market: str) -> list[tuple[int, int, int, int]]:
    """(account, window ms, window start, count) as last saved for ``market``."""
    rows = db.execute(
        "SELECT account_id, window_ms, start_ms, count FROM venue_order_counts WHERE market = ?", (market,)
    )
    return [(int(a), int(w), int(s), int(c)) for a, w, s, c in rows]


Saved = dict[tuple[int, int], tuple[int, int]]  # (account, window ms) -> (window start, count)


def save_windows(
    db: sqlite3.Connection, market: str, windows: Iterable[tuple[int, int, int, int]], saved: Saved | None
) -> Saved:
    """``market``'s open windows in the caller's transaction, given what the last committed
    save wrote (``saved``; None: not known, everything replaced); what is saved now, to keep
    once the transaction commits. Only the windows that changed, opened or closed since are
    written: a thousand accounts' windows rewritten whole held the loop 1-5 ms a second."""
    now: Saved = {(account, window_ms): (start, count) for account, window_ms, start, count in windows}
    changed: list[tuple[tuple[int, int], tuple[int, int]]]
    closed: list[tuple[int, int]]
    if saved is None:
        db.execute("DELETE FROM venue_order_counts WHERE market = ?", (market,))
        changed, closed = list(now.items()), []
    else:
        changed = [(key, row) for key, row in now.items() if saved.get(key) != row]
        closed = [key for key in saved if key not in now]
    db.executemany(
        "DELETE FROM venue_order_counts WHERE market = ? AND account_id = ? AND window_ms = ?",
        [(market, *key) for key in closed],
    )
    db.executemany(
        "INSERT OR REPLACE INTO venue_order_counts (market, account_id, window_ms, start_ms, count) "
        "VALUES (?, ?, ?, ?, ?)",
        [(market, *key, *row) for key, row in changed],
    )
    return now


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
