"""The venue journal's upkeep beside a running server, once a second of real time, none of
it holding the loop for long (the orders benchmark's p99 at 1,000 orders a second):

- the checkpoint (``checkpoint_journal``), in a process of its own
  (``venue/journal/checkpointer.py``: no lock, GIL or sync the loop waits for). The loop
  only writes a line to it and reads its answer. Only when the checkpointer could not see
  the WAL start over (commits faster than its passes) and the WAL has grown past
  ``WAL_LONG_FRAMES`` does the loop finish it between two transactions
  (``SqliteJournal.finish_checkpoint``, a few ms): a long WAL's appends wait behind the
  checkpoint's syncs, which costs more;
- the order-rate windows (``save_order_counts``): what changed since the last save, a
  slice of ``COUNTS_SLICE`` windows between two transactions at a time, ``COUNTS_GAP_S``
  apart (~600 windows at once held the loop 1-5 ms).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import tickerplant
from tickerplant.clock import Clock
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.journal.group_commit import GroupCommit
from tickerplant.venue.journal.sqlite_journal import SqliteJournal
from tickerplant.venue.journal.writer_lock import DatabaseHeld

__all__ = [
    "CHECKPOINT_EVERY_S", "COUNTS_GAP_S", "COUNTS_SLICE", "WAL_LONG_FRAMES", "Checkpointer",
    "checkpoint_journal", "checkpointer_command", "save_order_counts",
]  # fmt: skip

log = logging.getLogger("tickerplant")
CHECKPOINT_EVERY_S = 1.0  # the venue journal's WAL into its database
WAL_LONG_FRAMES = 8192  # ~32 MB of 4 KiB pages (4 s at 1,000 orders a second): the loop finishes it
COUNTS_SLICE = 32  # order-rate windows written in one transaction (~0.2 ms, ~1 ms on a busy core)
COUNTS_GAP_S = 0.005  # between two slices: the commands' turns in between


class Checkpointer:
    """The checkpointer process of the journal at ``path``, started at the first ``ask``
    and ended by ``close`` (or by the server's end: its input closes).

    Started with ``subprocess.Popen`` (CPython's vfork: well under a millisecond), not an
    asyncio subprocess, which under uvloop forks this large process with the loop held
    (~35 ms quiet, hundreds on a loaded machine: a clock-shared bot's signed request then
    met a market moved on by that hold ×speed, ``bot/run.py``). Its one line each way is
    read and written in a worker thread: both are waits on a pipe, the GIL let go."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._process: subprocess.Popen[bytes] | None = None

    async def ask(self) -> tuple[int, bool]:
        """One checkpoint (``checkpointer.checkpoint``): the WAL's frames, and whether the WAL
        started over. ``sqlite3.Error`` when it failed or the process is gone."""
        process = self._process or self._start()
        answer = await asyncio.to_thread(_exchange, process)
        if not answer:
            self._process = None
            ended = await asyncio.to_thread(process.wait)
            raise sqlite3.OperationalError(f"the checkpointer ended ({ended})")
        if answer.startswith("error"):
            raise sqlite3.OperationalError(answer[6:].strip())
        frames, _, started_over = answer.split()
        return int(frames), started_over == "1"

    def _start(self) -> subprocess.Popen[bytes]:
        argv, env = checkpointer_command(self.path)
        self._process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        return self._process

    async def close(self) -> int | None:
        """The process ended (its exit status; None: never started)."""
        process, self._process = self._process, None
        if process is None:
            return None
        assert process.stdin is not None and process.stdout is not None
        with contextlib.suppress(OSError):  # a pipe the process closed first
            process.stdin.close()  # its end of input: it ends after the pass it is in
        try:
            return await asyncio.to_thread(process.wait, 5.0)
        except (subprocess.TimeoutExpired, asyncio.CancelledError):
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            raise
        finally:
            process.stdout.close()


def _exchange(process: subprocess.Popen[bytes]) -> str:
    """One request line written, its answer line read ("" when the process is gone)."""
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(b"checkpoint\n")
        process.stdin.flush()
    except (BrokenPipeError, ValueError):  # it ended, or was closed meanwhile
        return ""
    return process.stdout.readline().decode()


def checkpointer_command(path: Path) -> tuple[list[str], dict[str, str]]:
    """The checkpointer's command line and environment: this tickerplant, wherever it was
    imported from (-S: no site-packages to read, it needs only the standard library)."""
    source = str(Path(tickerplant.__file__).parents[1])
    paths = os.pathsep.join(filter(None, (source, os.environ.get("PYTHONPATH"))))
    argv = [sys.executable, "-S", "-m", "tickerplant.journal_checkpointer", str(path)]
    return argv, dict(os.environ, PYTHONPATH=paths)


async def checkpoint_journal(
    journal: SqliteJournal, group: GroupCommit, engines: Sequence[Engine], clock: Clock
) -> None:
    """Once a second of real time: the order-rate windows saved when orders were counted
    since, and the journal checkpointed when anything was committed (see the module's text)."""
    checkpointer = Checkpointer(journal.path)
    done = counted = 0
    try:
        while True:
            await asyncio.sleep(CHECKPOINT_EVERY_S)
            if (charged := sum(engine.counts.charged for engine in engines)) != counted:
                counted = charged
                await _save_counts_in_slices(journal, group, engines, clock)
            if journal.commits != done:
                done = journal.commits
                try:
                    frames, started_over = await checkpointer.ask()
                except sqlite3.Error as error:  # busy beyond its timeout: the next second's
                    log.warning("the journal's checkpoint failed: %s", error)
                    continue
                if not started_over and frames >= WAL_LONG_FRAMES:
                    group.between(lambda: _finish_checkpoint(journal))
    finally:
        await checkpointer.close()


async def _save_counts_in_slices(
    journal: SqliteJournal, group: GroupCommit, engines: Sequence[Engine], clock: Clock
) -> None:
    """``save_order_counts`` a slice at a time, each between two transactions, until all is
    written (or a slice failed: the next second's)."""
    loop = asyncio.get_running_loop()
    while True:
        written: asyncio.Future[bool] = loop.create_future()

        def slice_(written: asyncio.Future[bool] = written) -> None:
            if not written.done():
                written.set_result(save_order_counts(journal, engines, clock, COUNTS_SLICE))

        group.between(slice_)
        if await written:
            return
        await asyncio.sleep(COUNTS_GAP_S)


def save_order_counts(
    journal: SqliteJournal, engines: Sequence[Engine], clock: Clock, most: int | None = None
) -> bool:
    """The engines' order-rate windows still open, into the journal's database
    (``venue/journal/counts.py``): ``most`` of what changed at a time while orders come, all
    of it at a clean stop; whether all is written, or failed (then it is the next second's:
    a kill meanwhile forgets only refusals, the orders answered are counted again from the
    journal)."""
    try:
        return journal.save_counts(engines, clock.now_ms(), most)
    except DatabaseHeld:  # another server journals it: this one never held it, nothing of its to save
        return True
    except sqlite3.Error as error:
        log.warning("the order-rate windows were not saved: %s", error)
        return True


def _finish_checkpoint(journal: SqliteJournal) -> None:
    try:
        journal.finish_checkpoint()
    except sqlite3.Error as error:  # a reader's snapshot held it: the next second's
        log.warning("the journal's checkpoint failed: %s", error)
