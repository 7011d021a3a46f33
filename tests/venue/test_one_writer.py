"""One writer of a venue database (``venue/journal/writer_lock.py``): a second server on the
same file refuses to start, naming the one that journals it, in one process and under
``--workers``, by any path to the file; once the first is killed (``kill -9``) the lock is
free (what it acknowledged is there after a restart: ``test_journal.py``'s kill -9 tests).

Without the lock two servers on one database both acknowledged algo orders under one
``algoId``, and the next start lost one of them."""

from __future__ import annotations

import signal
from pathlib import Path

import aiohttp
import pytest
from ports import free_port
from served_venue import account, refused, serve, signed

from tickerplant.market.instruments import Market
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.journal.sqlite_journal import SqliteJournal
from tickerplant.venue.journal.writer_lock import DatabaseHeld, claim_database, lock_folder

pytestmark = pytest.mark.uvloop_only


async def test_a_second_server_on_a_journaled_database_is_refused_until_the_first_is_killed(
    tmp_path: Path,
) -> None:
    db = tmp_path / "venue.db"
    _, key = account(db, "bot", Market.UM, "USDT", "10000")
    (tmp_path / "alias.db").symlink_to(db)  # another path to the same file
    port = free_port()
    base = f"http://127.0.0.1:{port}/fapi/v1"
    order = "symbol=ETHUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.010&price=1000.00"
    async with aiohttp.ClientSession() as session, serve(db, port) as first:
        status, placed = await signed(session, "POST", f"{base}/order", key, order)
        assert status == 200, placed
        held = f"is journaled by another tickerplant, pid {first.pid}"
        # one process by the path, --workers by another path to the file
        for path, workers in ((db, []), (tmp_path / "alias.db", ["--workers", "2"])):
            ports = ["--um-port", str(free_port()), "--cm-port", str(free_port())]
            code, said = await refused("--venue-db", str(path), *ports, *workers)
            last = said.splitlines()[-1]
            assert code == 1 and "Traceback" not in said, said
            assert last.startswith("tickerplant serve: cannot start:") and held in last, said
            assert "not saved" not in said, said  # it held nothing, so it had nothing to save
            assert last.count(str(path)) == 1, said  # the database named once
        first.send_signal(signal.SIGKILL)
        await first.wait()
    again = claim_database(db)  # the kernel released the lock with the process: free again
    again.release()
    found = db.stat()
    assert not (lock_folder() / f"venue-{found.st_dev}-{found.st_ino}.lock").exists()  # removed with its lock


def test_a_second_exclusive_journal_does_not_open_until_the_first_closes(tmp_path: Path) -> None:
    db = tmp_path / "venue.db"
    AccountStore(db).close()
    first, second = SqliteJournal(db, exclusive=True), SqliteJournal(db, exclusive=True)
    reader = SqliteJournal(db)  # a tool's journal, not a server's: no lock
    try:
        assert first.reader() is not None
        with pytest.raises(DatabaseHeld, match="is journaled by another tickerplant"):
            second.reader()  # an sqlite3 error, as a commit's own: the server stops on it
        assert reader.reader() is not None
        first.close()
        assert second.reader() is not None
    finally:
        for journal in (first, second, reader):
            journal.close()


def test_a_lock_taken_on_a_file_its_holder_removed_is_taken_again(tmp_path: Path) -> None:
    db = tmp_path / "venue.db"
    AccountStore(db).close()
    held = claim_database(db)
    with pytest.raises(DatabaseHeld):
        claim_database(db)
    held.release()
    again = claim_database(db)  # the file removed with the lock: made anew, held
    try:
        with pytest.raises(DatabaseHeld):
            claim_database(db)
    finally:
        again.release()
