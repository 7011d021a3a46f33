"""``AccountStore.delete`` beside a serving server: it reads what the account holds without
the database's write lock, so the server's commits never wait on a long history being
read, and reads again when the server committed meanwhile."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from ports import free_port
from served_venue import account, serve, signed

from tickerplant.market.instruments import Market
from tickerplant.venue.auth.store import AccountStore, StoreError
from tickerplant.venue.journal.schema import prepare
from tickerplant.venue.journal.writer_lock import claim_database, journaled

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


async def test_beside_a_server_the_account_is_disabled_and_settled_before_its_holdings_are_read(
    tmp_path: Path,
) -> None:
    """The server reads the operator's changes once a loop turn: an order it authorized before a
    delete committed, journaled after it, rested for a deleted account (a probe: 6 deletes in 40
    beside a trading account). So beside a server that journals the database the account is
    disabled first, and from then on refused (``-2015``), and its holdings are read once what the
    server authorized before has settled; a delete refused leaves it enabled, as it was."""
    db = tmp_path / "venue.db"
    account_id, key = account(db, "bot", Market.UM, "USDT", "10000")
    port = free_port()
    url = f"http://127.0.0.1:{port}/fapi/v1/order"
    order = "symbol=ETHUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.010&price=1000.00"
    assert not journaled(db)
    async with serve(db, port), aiohttp.ClientSession() as session:
        assert journaled(db)  # the server's journal holds the database's lock
        status, placed = await signed(session, "POST", url, key, order)
        assert status == 200, placed
        seen: list[tuple[bool, int, Any]] = []
        loop = asyncio.get_running_loop()

        def delete() -> None:  # the operator's, in a thread: the loop answers the order meanwhile
            store = AccountStore(db)

            def settle() -> None:  # an order asked for while the delete settles
                answer = asyncio.run_coroutine_threadsafe(_place(url, key, order), loop).result(10)
                seen.append((store.account(account_id).disabled, *answer))

            try:
                store.delete(account_id, settle)
            finally:
                store.close()

        with pytest.raises(StoreError, match="still holds 1 open order"):
            await asyncio.to_thread(delete)
        assert seen == [(True, 401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."})]
        store = AccountStore(db)
        assert not store.account(account_id).disabled, "refused: left enabled, as it was"
        status, _ = await signed(session, "DELETE", url, key, f"symbol=ETHUSDT&orderId={placed['orderId']}")
        assert status == 200
        await asyncio.to_thread(delete)
        with pytest.raises(StoreError):
            store.account(account_id)
        store.close()


async def _place(url: str, key: str, order: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session:
        return await signed(session, "POST", url, key, order)


def test_an_unknown_account_is_not_deleted_and_a_journaled_database_is_told_without_its_lock(
    tmp_path: Path,
) -> None:
    db = tmp_path / "venue.db"
    store = AccountStore(db)
    with pytest.raises(StoreError, match="no account 999"):
        store.delete(999)
    store.close()
    assert not journaled(db)
    held = claim_database(db)  # as a server's journal holds it
    try:
        assert journaled(db)  # told by the lock file's live pid: the lock itself never taken,
    finally:  # which a server starting at that moment would have been refused
        held.release()
    assert not journaled(db)
