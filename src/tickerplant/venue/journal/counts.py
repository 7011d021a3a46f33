"""The order-rate windows in the journal's database, so that a restart does not refill
``-1015``'s budget (``order_counts.py``; trading part 1 §7.4; docs/venue.md, "Order rate
limits"). Two sources, read at start:

- ``venue_order_counts``: the windows still open, as ``OrderCounts.open_windows`` gives
  them, written once a second while orders come (what changed, a slice at a time) and at a
  clean stop, in transactions of their own between the group commits (never one more
  write per order), each with the time its count was read (``saved_ms``). Refusals are
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

from tickerplant.venue.risk.order_counts import OpenWindows

__all__ = [
    "Change", "Saved", "applied", "changes", "placed_since", "saved_times", "saved_windows", "write_changes",
]  # fmt: skip


def saved_windows(db: sqlite3.Connection, market: str) -> list[tuple[int, int, int, int]]:
    """(account, window ms, window start, count) as last saved for ``market``."""
    rows = db.execute(
        "SELECT account_id, window_ms, start_ms, count FROM venue_order_counts WHERE market = ?", (market,)
    )
    return [(int(a), int(w), int(s), int(c)) for a, w, s, c in rows]


def saved_times(db: sqlite3.Connection, market: str) -> dict[tuple[int, int], int]:
    """When each of ``market``'s saved windows was read to be saved, by (account, window ms);
    none for a row saved before the time was kept."""
    rows = db.execute(
        "SELECT account_id, window_ms, saved_ms FROM venue_order_counts WHERE market = ? AND saved_ms > 0",
        (market,),
    )
    return {(int(a), int(w)): int(t) for a, w, t in rows}


Saved = dict[tuple[int, int], tuple[int, int]]  # (account, window ms) -> (window start, count)
# (market, (account, window ms), (window start, count)): a window to write; its row None, to
# delete; its key None, every row of the market deleted (a first save: nothing known of it)
Change = tuple[str, tuple[int, int] | None, tuple[int, int] | None]


def changes(market: str, windows: Iterable[tuple[int, int, int, int]], saved: Saved | None) -> list[Change]:
    """What to write of ``market``'s open windows, given what the last committed save wrote
    (``saved``; None: not known, everything replaced): only the windows that changed, opened
    or closed since. A thousand accounts' windows rewritten whole held the loop 1-5 ms a
    second; at 1,000 orders a second over 300 accounts, ~600 change every second, written a
    slice at a time (``SqliteJournal.save_counts``). ``windows`` an ``OpenWindows``: only the
    windows that can have changed are compared (``OpenWindows.since_saved``), the same
    changes in another order."""
    if saved is not None and isinstance(windows, OpenWindows):
        return [(market, key, row) for key, row in windows.since_saved(saved)]
    now: Saved = {(account, window_ms): (start, count) for account, window_ms, start, count in windows}
    if saved is None:
        return [(market, None, None), *((market, key, row) for key, row in now.items())]
    found: list[Change] = [(market, key, row) for key, row in now.items() if saved.get(key) != row]
    found.extend((market, key, None) for key in saved if key not in now)
    return found


def write_changes(db: sqlite3.Connection, written: Iterable[Change], saved_ms: int = 0) -> None:
    """``written`` in the caller's transaction, in their order; ``saved_ms``: when their
    counts were read (``OrderCounts.resume`` adds the orders the journal holds from then on)."""
    for market, key, row in written:
        if key is None:
            db.execute("DELETE FROM venue_order_counts WHERE market = ?", (market,))
        elif row is None:
            db.execute(
                "DELETE FROM venue_order_counts WHERE market = ? AND account_id = ? AND window_ms = ?",
                (market, *key),
            )
        else:
            db.execute(
                "INSERT OR REPLACE INTO venue_order_counts (market, account_id, window_ms, start_ms, count, "
                "saved_ms) VALUES (?, ?, ?, ?, ?, ?)",
                (market, *key, *row, saved_ms),
            )


def applied(saved: dict[str, Saved], written: Iterable[Change]) -> None:
    """``saved`` (per market) once ``written`` is committed: what the next save compares with."""
    for market, key, row in written:
        if key is None:
            saved[market] = {}
        elif row is None:
            saved.setdefault(market, {}).pop(key, None)
        else:
            saved.setdefault(market, {})[key] = row


_NOT_LEGACY = "NOT coalesce(json_extract(state, '$.legacy'), 0)"  # (a row from before it: not one)


def placed_since(db: sqlite3.Connection, symbols: Collection[str], since_ms: int) -> list[tuple[int, int]]:
    """(account, time ms) of each order a key placed on ``symbols`` at ``since_ms`` or after,
    as the journal holds them: orders, modifications and algo orders. A legacy conditional
    order (``algo/legacy.py``) is its order's row alone, waiting or triggered (the order it
    became keeps its row), not its algo row too."""
    children = {
        (str(symbol), int(child))
        for symbol, child in db.execute(
            "SELECT symbol, json_extract(state, '$.child_id') FROM venue_algo_orders "
            f"WHERE json_extract(state, '$.trigger_ms') >= ? AND {_NOT_LEGACY} "
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
        f"FROM venue_algo_orders WHERE json_extract(state, '$.create_ms') >= ? AND {_NOT_LEGACY}",
        (since_ms,),
    ):
        if symbol in symbols:
            placed.append((int(account_id), int(time_ms)))
    return placed
