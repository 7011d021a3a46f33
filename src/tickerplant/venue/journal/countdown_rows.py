"""The ``countdownCancelAll`` countdowns' rows (``venue_countdowns``, ``schema.py``): one per
market, account and symbol, with the deadline and when it was set, written with the batch of
the loop iteration that set, stopped or ran it out (``Batch.countdowns``,
``gateway/countdowns.py``), so the answer that acknowledges a countdown is held until it is in
the journal, as an order's is. A restart takes them back: a deadline that passed while the
server was down runs out at once (trading spec part 2 §6.7: the orders are cancelled unless a
call came first, and none could); one set after the restarted clock's now (a replay started
again earlier) is dropped. The table is bounded by the accounts and symbols: a row each,
replaced, deleted once stopped or run out."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from tickerplant.venue.journal.listen_key_rows import Reading

__all__ = ["held_countdowns", "write_countdowns"]

_UPSERT = "INSERT OR REPLACE INTO venue_countdowns VALUES (?, ?, ?, ?, ?)"
_DELETE = "DELETE FROM venue_countdowns WHERE market = ? AND account_id = ? AND symbol = ?"


def write_countdowns(
    db: sqlite3.Connection, market: str | None, rows: Sequence[tuple[int, str, int, int]]
) -> None:
    """``rows`` (account, symbol, deadline ms, 0: stopped or run out; when it was set, ms) of
    ``market``, within the caller's transaction."""
    if market is None:  # stamped by each engine's journal (``group_commit.Stamped``): a bug
        raise sqlite3.IntegrityError("countdowns journaled without their market")
    for account_id, symbol, deadline_ms, set_ms in rows:
        if deadline_ms:
            db.execute(_UPSERT, (market, account_id, symbol, deadline_ms, set_ms))
        else:
            db.execute(_DELETE, (market, account_id, symbol))


def held_countdowns(journal: Reading, market: str) -> list[tuple[int, str, int, int]]:
    """``market``'s countdowns as the journal holds them (account, symbol, deadline ms, set ms)."""
    db = journal.reader()
    if db is None:  # no database yet: no account, so no countdown
        return []
    rows = db.execute(
        "SELECT account_id, symbol, deadline_ms, set_ms FROM venue_countdowns WHERE market = ? "
        "ORDER BY deadline_ms, account_id, symbol",
        (market,),
    )
    return [(int(a), str(s), int(d), int(t)) for a, s, d, t in rows]
