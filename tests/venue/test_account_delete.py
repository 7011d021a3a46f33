"""``AccountStore.delete`` beside a serving server: it reads what the account holds without
the database's write lock, so the server's commits never wait on a long history being
read, and reads again when the server committed meanwhile."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from tickerplant.venue.auth.store import AccountStore, StoreError
from tickerplant.venue.journal.schema import prepare

NOW = 1_790_000_000_000


def test_the_server_commits_while_a_delete_reads_and_the_delete_reads_again(tmp_path: Path) -> None:
    path = tmp_path / "venue.db"
    store = AccountStore(path)
    gone = store.create_account("gone", [], NOW).account_id
    server = sqlite3.connect(path, isolation_level=None, timeout=0.1)  # a serving server's connection
    prepare(server)
    committed: list[int] = []

    def server_commits() -> int:
        # in the delete's read (its transaction open), once: with the write lock held there,
        # this commit would wait for it and fail after its timeout
        if store._db.in_transaction and not committed:
            server.execute("INSERT INTO venue_funded (symbol, funding_ms) VALUES ('BTCUSDT', 1)")
            committed.append(1)
        return 0

    store._db.set_progress_handler(server_commits, 1)
    store.delete(gone)  # its read outdated by the commit: read again, then deleted
    store._db.set_progress_handler(None, 1)
    assert committed == [1]
    with pytest.raises(StoreError):
        store.account(gone)
    server.close()
    store.close()


def test_a_delete_waits_for_the_servers_transaction_rather_than_failing(tmp_path: Path) -> None:
    # inside its read the delete's write is refused at once while the server holds the lock
    # (SQLite asks no busy handler there): it waits for the server's commit as a writer does
    path = tmp_path / "venue.db"
    store = AccountStore(path)
    gone = store.create_account("gone", [], NOW).account_id
    server = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    prepare(server)
    holding, waiting = threading.Event(), threading.Event()

    def serve() -> None:  # a group commit open when the delete reads, committed once it waits
        server.execute("BEGIN IMMEDIATE")
        server.execute("INSERT INTO venue_funded (symbol, funding_ms) VALUES ('BTCUSDT', 1)")
        holding.set()
        waiting.wait(5)  # a deadline: a delete that never waits fails meanwhile
        server.execute("COMMIT")

    def traced(sql: str) -> None:  # the delete's wait for the lock, after its write was refused
        if sql == "BEGIN IMMEDIATE":
            waiting.set()

    thread = threading.Thread(target=serve)
    thread.start()
    assert holding.wait(5)
    store._db.set_trace_callback(traced)
    store.delete(gone)
    store._db.set_trace_callback(None)
    thread.join(5)
    with pytest.raises(StoreError):
        store.account(gone)
    server.close()
    store.close()
