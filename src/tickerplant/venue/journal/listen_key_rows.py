"""The listen keys' rows (``venue_listen_keys``, ``schema.py``): one per market and account,
its key and when it expires, written with the batch of the loop iteration that started,
kept alive or closed it (``Batch.listen_keys``, ``gateway/user_data.py``), so the answer that
hands a key out is held until the key is in the journal as an order's is. A key that expired
on time is not written: its row says it has, and a start passes it over. The table is bounded
by the accounts: one row each a market, replaced."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Protocol

__all__ = ["held_listen_keys", "write_listen_keys"]


class Reading(Protocol):
    """The journal (``sqlite_journal.SqliteJournal``)."""

    def reader(self) -> sqlite3.Connection | None: ...


_UPSERT = "INSERT OR REPLACE INTO venue_listen_keys VALUES (?, ?, ?, ?)"
_DELETE = "DELETE FROM venue_listen_keys WHERE market = ? AND account_id = ?"


def write_listen_keys(
    db: sqlite3.Connection, market: str | None, rows: Sequence[tuple[int, str, int]]
) -> None:
    """``rows`` (account, key, until ms; an empty key: closed) of ``market``, within the
    caller's transaction."""
    if market is None:  # stamped by each engine's journal (``group_commit.Stamped``): a bug
        raise sqlite3.IntegrityError("listen keys journaled without their market")
    for account_id, key, until_ms in rows:
        if key:
            db.execute(_UPSERT, (market, account_id, key, until_ms))
        else:
            db.execute(_DELETE, (market, account_id))


def held_listen_keys(journal: Reading, market: str) -> list[tuple[int, str, int]]:
    """``market``'s keys as the journal holds them (account, key, until ms), live or not."""
    db = journal.reader()
    if db is None:  # no database yet: no account, so no key
        return []
    rows = db.execute(
        "SELECT account_id, listen_key, until_ms FROM venue_listen_keys WHERE market = ? ORDER BY account_id",
        (market,),
    )
    return [(int(a), str(k), int(u)) for a, k, u in rows]
