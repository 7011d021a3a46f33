"""What the operator's commands read of the journal (``journal/schema.py``): what an account
holds open, which the operator's delete refuses to leave behind (``store.AccountStore.delete``:
its open orders, its open algo orders and its positions), and what trading changed in a
wallet, which a withdrawal may not take below zero. Read as SQL here because the operator's
command runs beside the server, in another process, with the database as their one meeting
place. The statuses are ``OrderStatus.is_open``'s and ``AlgoOrder.is_open``'s, as the
journal writes them."""

from __future__ import annotations

import sqlite3

__all__ = ["holdings", "traded_in"]

_ASKED = (
    ("venue_orders", "open order(s)", "SELECT COUNT(*) FROM venue_orders WHERE account_id = ? "
     "AND status IN ('NEW', 'PARTIALLY_FILLED')"),
    ("venue_algo_orders", "open algo order(s)", "SELECT COUNT(*) FROM venue_algo_orders WHERE "
     "json_extract(state, '$.account_id') = ? AND json_extract(state, '$.status') IN "
     "('NEW', 'TRIGGERING', 'TRIGGERED')"),
    ("venue_positions", "position(s)", "SELECT COUNT(*) FROM venue_positions WHERE account_id = ? "
     "AND amt != 0"),
)  # fmt: skip


def holdings(db: sqlite3.Connection, account_id: int) -> list[str]:
    """What ``db``'s journal holds open for ``account_id``, each counted ("2 open order(s)");
    nothing before any server journaled (no tables yet)."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    held = []
    for table, what, query in _ASKED:
        if table in tables and (count := int(db.execute(query, (account_id,)).fetchone()[0])):
            held.append(f"{count} {what}")
    return held


def traded_in(db: sqlite3.Connection, account_id: int, wallet: str, asset: str) -> int:
    """What trading changed in ``wallet``'s ``asset`` (``um``/``cm``), 1e-8, as the journal
    holds it (``venue_wallet_changes``, an older journal's rows without a market counted in
    either); 0 before any server journaled."""
    journaled = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'venue_wallet_changes'")
    if journaled.fetchone() is None:
        return 0
    row = db.execute(
        "SELECT SUM(delta) FROM venue_wallet_changes WHERE account_id = ? AND asset = ? "
        "AND (market = ? OR market IS NULL)",
        (account_id, asset, wallet),
    ).fetchone()
    return int(row[0] or 0)
