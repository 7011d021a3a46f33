"""The journal's checkpoint: its WAL copied into the database, in a process of its own
(``python -m tickerplant.journal_checkpointer PATH``), so that nothing of it runs on,
or holds anything of, the server's loop (``venue_checkpoints.py`` starts it and asks).

Why a process, not a thread: a thread's checkpoint releases the GIL inside SQLite but takes
it back between its calls; at nice 19, on the loop's core, beside other processes, the thread
was preempted holding it, and the loop, waiting for the GIL at its next SQLite call, stalled
for as long (the orders benchmark's p99). A process has a GIL of its own, copies at nice 19
without holding anything the loop needs (``serve``), and shares with the server only what SQLite shares
between processes: the WAL index, whose locks a ``PASSIVE`` checkpoint takes without ever
taking the writer's (SQLite's "Write-Ahead Logging", §"Checkpointing"). So a commit never
waits for a checkpoint. Nor can it drop the server's locks: closing any descriptor of a file
drops every POSIX lock its process holds on it (SQLite's "How To Corrupt", §2.2.1), and a
descriptor opened and closed beside the journal's connection once let `tickerplant accounts`
take itself for the last connection and delete the WAL the journal went on writing
(``tests/venue/test_operator_beside_server.py``); this process's descriptors are its own.

A request is one line on standard input; the answer one line on standard output: the WAL's
frames, whether every one of them was in the database at the last pass, and whether the WAL
started over during the passes (``1`` each), or ``error …``. End of input (the server
closed the pipe, or died) ends the process.

``checkpoint`` (one request): passes while a pass copies much (each syncs the WAL before
it copies and the database after: SQLite's own syncs, so a power loss costs no checkpointed
transaction), then passes until one finds nothing new since the last. SQLite starts the WAL
over only at a write transaction that begins with every frame already in the database;
under a steady flow of commands some commit comes during most passes, and a WAL never
started over grows by every commit, each append to the growing file waiting behind the
checkpoint's syncs. A pass that finds nothing new has copied everything committed, and the
server's next transaction begun after it starts the WAL over (and ``journal_size_limit``
cuts its file back): the passes go on until they see it did (``finish``).
When commits come faster than a pass (flat out), it may not get there: the server then
finishes on its loop, between two transactions, once the WAL is long
(``SqliteJournal.finish_checkpoint``, ``venue_checkpoints.py``).

The copying passes run on what the server leaves of its core (``SCHED_IDLE``). With the core
busy (the server flat out, another process on the other core) such a thread gets almost
none of it, a pass never ended, the server's loop was never asked to finish, and the WAL
grew by every commit: ~50 MB a second under the orders benchmark's flat-out load, each append
to new blocks of the file paid on the loop (a tenth of the server's CPU was the kernel zeroing
them, ``perf``). So a copy not done in ``STARVED_S`` is taken back (``copied``): stopped
between passes, or interrupted in one (``sqlite3_interrupt``: the frames it copied are
copied again), and run again at the process's own priority, where it keeps pace; so do the
next ``STARVED_REQUESTS`` copies, at once. Under that load the WAL starts over every second or
so and holds its 64 MiB (``journal_size_limit``) and a second or two of commits at ~75 MB a
second (74-182 MiB seen, against ~400 MB and growing in 8 s before), and the server does
5-25 % more orders a second flat out (docs/benchmarks.md, "The WAL under a flat-out load").
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple, TextIO

__all__ = [
    "CHECKPOINT_PASSES", "FINISH_PASSES", "SMALL_PASS_FRAMES", "STARVED_REQUESTS", "STARVED_S",
    "WHOLE_WAIT_S", "Checkpointed", "checkpoint", "copied", "copy", "finish", "serve",
]  # fmt: skip

CHECKPOINT_PASSES = 5  # copying passes at most, each copying what came during the last
SMALL_PASS_FRAMES = 256  # a pass that copied this little ends them (~1 ms of sync)
FINISH_PASSES = 16  # then passes at most until the WAL has started over
WHOLE_WAIT_S = 0.002  # with every frame in, the wait for the server's next commit to start it over
# the copying passes' time on the lowest priority before they are taken back: at 1,000 orders
# a second they end in 16-49 ms of it, on the ~30 % of the core the server leaves
STARVED_S = 0.5
_STOPPING_S = 0.05  # between two interrupts of a pass being taken back
# after a copy taken back, the next requests' copies run at the process's priority at once: a
# core busy a second is likely busy the next (flat out), where each starved try costs ~1.5 s
# (the patience, then the starved thread's wait to meet the interrupt) of the WAL growing
STARVED_REQUESTS = 8


class Checkpointed(NamedTuple):
    frames: int  # the WAL's frames at the last pass
    whole: bool  # every frame in the database at the last pass
    started_over: bool  # the WAL started over during the passes (a commit found it whole)


def checkpoint(db: sqlite3.Connection, wait: Callable[[], None]) -> Checkpointed:
    """One request's passes on ``db``, a connection of this process (see the module's text);
    ``wait``: ``finish``'s."""
    return finish(db, copy(db), wait)


def copy(db: sqlite3.Connection, stop: threading.Event | None = None) -> int:
    """The copying passes: the WAL's frames after the last (no more pass once ``stop`` is set)."""
    frames, copied = 0, 0
    for _ in range(CHECKPOINT_PASSES):
        if stop is not None and stop.is_set():
            break
        frames, copied = _pass(db, frames)
        if copied <= SMALL_PASS_FRAMES:
            break
    return frames


def copied(db: sqlite3.Connection, lowest: Executor, patience_s: float = STARVED_S) -> tuple[int, bool]:
    """``copy`` on ``lowest`` (the thread of the lowest priority); when it has not ended in
    ``patience_s``, taken back (see the module's text) and run on this thread: its frames,
    and whether it was taken back. ``db`` is used by one thread at a time: this one waits for
    the other's pass to end (stopped or interrupted) before it starts its own."""
    stop = threading.Event()
    passes = lowest.submit(copy, db, stop)
    try:
        return passes.result(patience_s), False
    except TimeoutError:
        stop.set()
    while not passes.cancel():  # not begun: nothing to wait for
        db.interrupt()  # a no-op between two statements, where ``stop`` ends it
        try:
            passes.result(_STOPPING_S)
        except TimeoutError:
            continue
        except sqlite3.OperationalError:  # interrupted: what it copied is copied again
            pass
        break
    return copy(db), True


def finish(db: sqlite3.Connection, frames: int, wait: Callable[[], None]) -> Checkpointed:
    """The finishing passes after ``copy``'s (which left ``frames``), until the WAL starts
    over. A pass that finds nothing new has every frame in the database, but the server's
    commit starts the WAL over only if its transaction began after that (SQLite decides at
    the transaction's start): one begun during the pass appends, and the WAL is not whole
    again. So with every frame in, it waits (``wait``: ``WHOLE_WAIT_S`` in the process) and looks again:
    fewer frames, started over; more, another pass. Each pass copies only what came during the last, so
    its chance grows with the speed it goes at (``serve`` runs them at the process's own
    priority, not nice 19)."""
    whole = False
    for _ in range(FINISH_PASSES):
        before = frames
        frames, copied = _pass(db, frames)
        if frames < before:
            return Checkpointed(frames, copied == frames, True)
        whole = copied == 0
        if whole:
            wait()  # this process's own wait (the server's loop never waits for it)
    return Checkpointed(frames, whole, False)


def _pass(db: sqlite3.Connection, frames: int) -> tuple[int, int]:
    """One ``PASSIVE`` pass: the WAL's frames now, and how many came since ``frames`` (all
    of them when the WAL started over meanwhile). A frame a reader's snapshot still needs is
    left, and counts as new: the WAL is not whole."""
    _, log_frames, copied_frames = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    if log_frames < 0:  # not a WAL database: nothing to copy
        return 0, 0
    new = log_frames - frames if log_frames >= frames else log_frames
    return log_frames, new if copied_frames == log_frames else max(new, 1)


def serve(path: Path, requests: TextIO, answers: TextIO, wait: Callable[[], None]) -> None:
    """Answer each request line with ``checkpoint``'s (see the module's text) until the end
    of ``requests``: the copying passes in a thread of the lowest priority (they share the
    server's core: their ~10 ms of copying a second is the loop's to take), taken back to the
    process's priority when that thread is starved (``copied``); the finishing ones, which
    copy little and mostly wait for the syncs, at the process's priority (at nice 19, on a
    busy core, a pass took hundreds of ms, and a commit always came during it)."""
    db = sqlite3.connect(f"file:{path}?mode=rw", uri=True, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA busy_timeout = 5000")  # beside `tickerplant accounts` writing
    try:
        with ThreadPoolExecutor(1, "checkpoint-copy", initializer=_lowest_priority) as lowest:
            _answer(db, requests, answers, lowest, wait)
    finally:
        db.close()


def _answer(
    db: sqlite3.Connection, requests: TextIO, answers: TextIO, lowest: Executor,
    wait: Callable[[], None],
) -> None:  # fmt: skip
    here = 0  # the next requests whose copies run on this thread: the lowest one was starved
    for _ in requests:
        try:
            if here:
                here -= 1
                frames = copy(db)
            else:
                frames, taken_back = copied(db, lowest)
                here = STARVED_REQUESTS if taken_back else 0
            done = finish(db, frames, wait)
        except sqlite3.Error as error:  # busy beyond its timeout: the next request's
            answers.write(f"error {error}\n")
        else:
            answers.write(f"{done.frames} {int(done.whole)} {int(done.started_over)}\n")
        answers.flush()


def _lowest_priority() -> None:
    """This thread on what the server leaves of its core: Linux's ``SCHED_IDLE`` (a thread's
    own policy), else nice 19, else nothing. At nice 19 under Linux's EEVDF scheduler (6.6
    on) a waking thread of the server still waited for the copying thread's slice to end:
    its 3-4 ms of copying a second, on the loop's core, held the server's wake-ups 0.4-5 ms
    (``perf sched timehist`` under the orders benchmark's 1,000 orders a second; its p99). A
    thread of ``SCHED_IDLE`` is preempted by any other waking (``sched(7)``)."""
    tid = threading.get_native_id()
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
        return
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, tid, 19)
