"""The journal's checkpoint off the loop (``venue/journal/checkpointer.py``,
``venue_checkpoints.py``): its passes end with every frame in the database when no commit
came during the last, so that the next commit starts the WAL over with nothing done on the
loop; a reader's snapshot (or a commit during each pass) keeps them from it, and says so. The
checkpointer is a process of its own that ends when the server's pipe closes. The order-rate
windows are saved a slice at a time."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from test_engine import ALICE, NOW, Book, Deposits, order

from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market, catalogue
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.money import parse_amount
from tickerplant.venue.journal.checkpointer import _lowest_priority, checkpoint, copied, finish
from tickerplant.venue.journal.sqlite_journal import SqliteJournal
from tickerplant.venue.wire.order_entry import cancel_order, new_order
from tickerplant.venue_checkpoints import Checkpointer, checkpointer_command, save_order_counts


@pytest.fixture
def journaled(tmp_path: Path) -> Iterator[tuple[Path, SqliteJournal, Engine]]:
    path = tmp_path / "venue.db"
    store = AccountStore(path)
    store.create_account("alice", [(Market.UM, "USDT", parse_amount("1000000"))], 1)
    store.close()
    journal = SqliteJournal(path)
    yield path, journal, Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), journal)
    journal.close()


def _orders(engine: Engine, first: int, count: int) -> None:
    for i in range(first, first + count):  # 10 orders a second: within the account's order limits
        placed = new_order(engine, ALICE, order(quantity="0.001", price="50000"), NOW + 100 * i).order
        assert placed is not None
        cancel_order(engine, ALICE, {"symbol": "BTCUSDT", "orderid": str(placed.order_id)}, NOW + 100 * i)


def _no_wait() -> None:
    """The passes' wait for the server's next commit: none here (no commit comes meanwhile)."""


def _starts(path: Path) -> int:
    """The WAL header's checkpoint sequence: one more each time the WAL starts over."""
    return int.from_bytes(path.with_name(path.name + "-wal").read_bytes()[12:16], "big")


def test_the_passes_leave_the_wal_whole_and_the_next_commit_starts_it_over(
    journaled: tuple[Path, SqliteJournal, Engine],
) -> None:
    """No ``finish_checkpoint`` on the journal's connection: the checkpointer's passes alone
    leave every frame in the database, and the journal's next commit starts the WAL over;
    a reader's snapshot holds a pass back, and the passes say the WAL is not whole (the
    server then finishes it on its loop once it is long)."""
    path, _, engine = journaled
    checkpointing = sqlite3.connect(path, isolation_level=None)
    _orders(engine, 0, 50)
    before = _starts(path)
    for n in range(1, 4):
        done = checkpoint(checkpointing, _no_wait)
        assert done.whole and not done.started_over and done.frames > 0  # no commit came meanwhile
        _orders(engine, 100 * n, 50)
        assert _starts(path) == before + n
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM venue_orders").fetchone()
    _orders(engine, 1000, 5)
    assert not checkpoint(checkpointing, _no_wait).whole
    reader.execute("COMMIT")
    _orders(engine, 1100, 5)
    assert _starts(path) == before + 3  # not started over: the journal's commits append
    reader.close()
    checkpointing.close()


def test_a_transaction_begun_before_the_wal_was_whole_appends_and_the_passes_see_it(
    journaled: tuple[Path, SqliteJournal, Engine],
) -> None:
    """SQLite starts the WAL over at a transaction that *began* with every frame in the
    database: one begun before (an open group commit, say) appends when it commits, and the
    WAL is not whole again. ``finish`` looks again after the WAL was whole, and tells a WAL
    started over (fewer frames) from one appended to (more)."""
    path, journal, engine = journaled
    _orders(engine, 0, 20)
    checkpointing = sqlite3.connect(path, isolation_level=None)
    db = journal.reader()
    assert db is not None
    db.execute("BEGIN IMMEDIATE")  # the loop's transaction, open across the passes
    db.execute("DELETE FROM venue_order_counts")
    done = checkpoint(checkpointing, _no_wait)
    assert done.whole and not done.started_over
    before = _starts(path)
    db.execute("COMMIT")  # appended: the WAL not started over
    assert _starts(path) == before
    again = finish(checkpointing, done.frames, _no_wait)
    assert again.frames > done.frames and again.whole and not again.started_over
    _orders(engine, 100, 1)  # begun with every frame in: started over
    assert _starts(path) == before + 1
    seen = finish(checkpointing, again.frames, _no_wait)
    assert seen.started_over and seen.frames < again.frames
    checkpointing.close()


class _Watched(sqlite3.Connection):
    """A connection that says when it was interrupted."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.interrupted = threading.Event()

    def interrupt(self) -> None:
        super().interrupt()
        self.interrupted.set()


def _watched(path: Path) -> _Watched:
    """A checkpointing connection as the checkpointer opens one (any thread may use it)."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, factory=_Watched)
    assert isinstance(db, _Watched)
    return db


def test_a_starved_copy_is_interrupted_and_done_on_the_callers_thread(
    journaled: tuple[Path, SqliteJournal, Engine],
) -> None:
    """``copied``: a copying pass that does not end in its time (its thread of ``SCHED_IDLE``
    given nothing of a busy core, which let the WAL grow by every commit under the orders
    benchmark's flat-out load) is interrupted, and the passes run on the calling thread, at
    its priority: every frame in the database, the next commit starts the WAL over. Here the
    lowest thread's pass stands still inside its statement until it is interrupted, as a
    starved thread does (it runs again only to find the interrupt)."""
    path, _, engine = journaled
    _orders(engine, 0, 50)
    db = _watched(path)
    with ThreadPoolExecutor(1) as lowest:
        starved = lowest.submit(threading.get_ident).result()

        def stand_still() -> int:
            if threading.get_ident() == starved:
                assert db.interrupted.wait(30)
            return 0

        db.set_progress_handler(stand_still, 1)
        before = _starts(path)
        frames, taken_back = copied(db, lowest, patience_s=0.05)
    assert taken_back and db.interrupted.is_set() and frames > 0
    assert finish(db, frames, _no_wait).whole
    _orders(engine, 100, 1)
    assert _starts(path) == before + 1
    db.close()


def test_a_copy_begun_in_time_is_the_lowest_threads_own(
    journaled: tuple[Path, SqliteJournal, Engine],
) -> None:
    """``copied`` with a thread that runs: its passes are the copy, nothing is interrupted."""
    path, _, engine = journaled
    _orders(engine, 0, 20)
    db = _watched(path)
    with ThreadPoolExecutor(1) as lowest:
        ran_on = lowest.submit(threading.get_ident).result()
        seen: list[int] = []

        def note() -> int:
            seen.append(threading.get_ident())
            return 0

        db.set_progress_handler(note, 1)
        frames, taken_back = copied(db, lowest, patience_s=30)
    assert frames > 0 and not taken_back and set(seen) == {ran_on} and not db.interrupted.is_set()
    db.close()


async def test_the_checkpointer_process_answers_and_ends_when_closed(
    journaled: tuple[Path, SqliteJournal, Engine],
) -> None:
    """``Checkpointer``: a process of its own (so no GIL or lock of the loop's), started at
    the first request; what it answers is what its passes did; closed, it ends."""
    path, _, engine = journaled
    _orders(engine, 0, 20)
    checkpointer = Checkpointer(path)
    frames, started_over = await checkpointer.ask()
    assert not started_over and frames > 0  # no commit during its passes
    before = _starts(path)
    _orders(engine, 100, 1)
    assert _starts(path) == before + 1
    assert await checkpointer.close() == 0


def test_the_order_rate_windows_are_saved_a_slice_at_a_time(
    journaled: tuple[Path, SqliteJournal, Engine],
) -> None:
    """``save_order_counts`` with ``most``: the first call compares the windows and writes
    nothing, each next one a transaction of at most that many windows, False until the last;
    then the table holds every open window, and a save with nothing changed writes nothing."""
    path, journal, engine = journaled
    for account in range(2, 42):  # 40 accounts, each with a 10 s and a 1 min window
        engine.counts.charge(account, NOW)
    clock = ManualClock(NOW)
    assert journal.reader() is not None  # the journal's tables made
    db = sqlite3.connect(path, isolation_level=None)
    calls = 0
    while True:
        calls += 1
        before = db.execute("SELECT count(*) FROM venue_order_counts").fetchone()[0]
        if save_order_counts(journal, [engine], clock, 16):
            break
        after = db.execute("SELECT count(*) FROM venue_order_counts").fetchone()[0]
        assert (0 < after - before <= 16) if calls > 1 else after == before
    assert calls == 7  # the comparison, then 80 windows and the first save's delete: 81 changes, 16 at a time
    assert db.execute("SELECT count(*) FROM venue_order_counts").fetchone() == (80,)
    commits = journal.commits
    assert save_order_counts(journal, [engine], clock, 16) and journal.commits == commits
    assert db.execute("SELECT count(*) FROM venue_order_counts").fetchone() == (80,)
    db.close()


def _three_frames(tmp_path: Path) -> tuple[sqlite3.Connection, tuple[list[str], dict[str, str]]]:
    """A WAL database of three frames, its connection open, and the checkpointer's command."""
    path = tmp_path / "venue.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("CREATE TABLE t (x)")
    db.execute("INSERT INTO t VALUES (1)")
    return db, checkpointer_command(path)


def test_the_checkpointer_ends_with_its_input(tmp_path: Path) -> None:
    """What ``Checkpointer`` starts: one answer a line, and the end of its input (the pipe's
    end closed, as a server killed with ``kill -9`` leaves it) ends it: it never outlives
    the server."""
    db, (argv, env) = _three_frames(tmp_path)
    ran = subprocess.run(argv, input=b"checkpoint\ncheckpoint\n", env=env, capture_output=True, timeout=60)
    db.close()
    assert ran.returncode == 0, ran.stderr
    # three frames, all in the database; no commit came to start the WAL over
    assert ran.stdout.decode().splitlines() == ["3 1 0", "3 1 0"]


def test_a_ctrl_c_at_the_terminal_leaves_the_checkpointer_to_its_server(tmp_path: Path) -> None:
    """A Ctrl-C reaches every process of the terminal's foreground group: the checkpointer
    ignores it (no ``KeyboardInterrupt`` traceback printed under the server's own shutdown),
    answers on, and ends as ever when its server closes the pipe."""
    db, (argv, env) = _three_frames(tmp_path)
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(b"checkpoint\n")
        process.stdin.flush()
        assert process.stdout.readline() == b"3 1 0\n"  # running its loop: its signals set
        process.send_signal(signal.SIGINT)
        process.stdin.write(b"checkpoint\n")
        process.stdin.flush()
        assert process.stdout.readline() == b"3 1 0\n"
        _, stderr = process.communicate(timeout=60)  # its input's end ends it
    finally:
        if process.poll() is None:
            process.kill()
        db.close()
    assert process.returncode == 0 and stderr == b""


def test_a_server_killed_with_a_request_in_flight_leaves_no_traceback(tmp_path: Path) -> None:
    """Its server killed (``kill -9``) between a request and its answer: the answer meets a
    closed pipe, and the checkpointer ends quietly, not with a ``BrokenPipeError`` traceback
    in the server's log."""
    db, (argv, env) = _three_frames(tmp_path)
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdout.close()  # the server's end of the answers, gone with it
        process.stdin.write(b"checkpoint\n")
        process.stdin.flush()
        process.stdin.close()
        assert process.stderr is not None
        stderr = process.stderr.read()
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        db.close()
    assert process.returncode == 0 and stderr == b""


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="Linux's scheduling policies")
def test_the_copying_thread_runs_on_what_the_server_leaves_of_its_core() -> None:
    """The copying passes' thread is of ``SCHED_IDLE``: at nice 19, Linux's EEVDF scheduler
    let it finish its slice before a waking thread of the server on the same core ran (the
    loop's wake-ups held 0.4-5 ms); any thread preempts one of ``SCHED_IDLE`` at once. The
    thread that starts the passes keeps its own policy (``finish``'s passes run there)."""
    with ThreadPoolExecutor(1, initializer=_lowest_priority) as lowest:
        policy = lowest.submit(lambda: os.sched_getscheduler(threading.get_native_id())).result()
    assert policy == os.SCHED_IDLE
    assert os.sched_getscheduler(threading.get_native_id()) == os.SCHED_OTHER
