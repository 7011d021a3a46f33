"""A simulated past's cold days drawn in worker processes, on the machine's other cores
(``market/history/farming.py``, the port): a bot's first ``fetch_ohlcv(symbol, '1w')`` at
its default limit reads every day since the listing, ~2,600 for BTCUSDT, 13 s on the loop's
one core, past every client's default timeout of 10 s.

One farm a process (``FARM``), shared by every server it starts, as the pasts are
(``SimulatedPast.of``), and only where the process may run on more than one CPU (``farm``,
``cpus``: pinned to one, as the benchmarks pin their servers, or in a container of one CPU,
the workers would only take the loop's core, so the parts are made on the loop, a piece a
turn). Its ``WORKERS`` processes start (``spawn``: a clean interpreter, no copy of the
server's threads or descriptors) at the first long answer and are kept for the next, each
building the past from its recipe once (``draw``). The clients take their turns here
(``farming.Turns``), the pool given one task more than its workers at a time. They run at a
lower priority (``nice`` 5) than the server, so that on a busy machine the loop's own work
goes first; an idle loop leaves them both cores. A worker that died breaks its pool: the
tasks in it fail (their parts are then made on the loop, as without a farm) and the next
task starts a new pool. A worker whose server ended, however (``kill -9`` too), exits within
half a second. Memory: a worker holds its past's bounded caches (``series.py``,
``marks.py``) of days and hours, its minutes let go after each task (the next draws other
days), some 60-80 MB with numpy; the tasks waiting are long answers' parts, 64 days'
worth a task, at most ``farming.IN_FLIGHT_MOST`` a past.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import threading
from collections.abc import Hashable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from tickerplant.market.history.farming import Job, Recipe, Turns
from tickerplant.market.history.marks import PastMarks
from tickerplant.market.history.series import SimulatedPast
from tickerplant.market.klines.candles import Kline
from tickerplant.market.klines.price_candles import PriceBar

__all__ = ["FARM", "WORKERS", "PastFarm", "draw", "farm"]

WORKERS = 2  # at most; never more than the CPUs the process may run on (``cpus``)
_NICE = 5  # below the server's loop
_LOOK_S = 0.5  # how often a worker looks whether the server is still there
_CGROUP = Path("/sys/fs/cgroup")  # where a container sees its own cgroup (its CPU quota)
_PASTS_KEPT = 4  # pasts a worker keeps built (as ``SimulatedPast.of`` keeps them)
_DRAWN: dict[Recipe, tuple[SimulatedPast, PastMarks]] = {}  # a worker's pasts, by recipe


class PastFarm:
    """The ``farming.Farm`` whose tasks run in ``workers`` processes, started at the first.
    The groups (a client's, else an answer's) take turns (``farming.Turns``): the tasks wait
    here, and at most one more than the workers is in the pool at once (one queued behind
    each busy worker keeps them busy), so that the next is the next group's, not the next
    asked."""

    def __init__(self, workers: int | None = None) -> None:
        self._workers = workers or min(WORKERS, cpus())
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()  # servers on several threads of one process (tests) share it
        self._turns: Turns[tuple[Recipe, Job, Future[list[Any]]]] = Turns()  # waiting for the pool
        self._given = 0  # tasks in the pool, not done
        self.tasks = 0  # tasks given to the workers
        self.failed = 0  # of those, the ones that failed (a worker killed, the pool shut)

    def draw(self, recipe: Recipe, job: Job, group: Hashable = 0) -> Future[list[Any]]:
        """What ``job`` makes (``farming.Job``), in a worker, in ``group``'s turn; a broken
        pool (a worker died) is replaced once, and a task that cannot be given to any fails
        (``farming.drawn``)."""
        task: Future[list[Any]] = Future()
        task.add_done_callback(self._ended)
        with self._lock:
            self._turns.put(group, (recipe, job, task))
            self.tasks += 1
        self._feed()
        return task

    def _feed(self) -> None:
        """Tasks to the pool, in turn, while it holds fewer than one more than its workers."""
        while True:
            with self._lock:
                if self._given > self._workers or (taken := self._turns.take()) is None:
                    return
                self._given += 1
            recipe, job, task = taken
            if task.done():  # cancelled while it waited: nobody wants it
                with self._lock:
                    self._given -= 1
                continue
            given = self._give(recipe, job)
            if given.done():  # failed at once: settled here, not by a callback (no recursion)
                self._settle(task, given)
            else:
                given.add_done_callback(functools.partial(self._handed, task))

    def _give(self, recipe: Recipe, job: Job) -> Future[list[Any]]:
        """``job`` submitted to the pool; else a future failed with why (its part is then made
        where it was asked), never an exception: the task is already out of its turn."""
        error: Exception = BrokenProcessPool("the past's workers could not be started")
        for _ in range(2):
            try:
                pool = self._started()
            except Exception as exc:  # no descriptor or memory for its queues
                error = exc
                break
            try:
                return pool.submit(draw, recipe, job)
            except (BrokenProcessPool, RuntimeError):  # broken, or shut at the interpreter's exit
                with self._lock:
                    if self._pool is pool:
                        self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
            except Exception as exc:  # no descriptor, memory or process for a worker (EMFILE, EAGAIN)
                error = exc
                break
        failed: Future[list[Any]] = Future()
        failed.set_exception(error)
        return failed

    def _handed(self, task: Future[list[Any]], given: Future[list[Any]]) -> None:
        """A task the pool did (in the pool's thread): its answer's, then the next in turn."""
        self._settle(task, given)
        self._feed()

    def _settle(self, task: Future[list[Any]], given: Future[list[Any]]) -> None:
        with self._lock:
            self._given -= 1
        if task.done():  # cancelled meanwhile
            return
        if given.cancelled():  # the farm closed
            task.set_exception(BrokenProcessPool("the past's workers were stopped"))
        elif (error := given.exception()) is not None:
            task.set_exception(error)
        else:
            task.set_result(given.result())

    def counts(self) -> tuple[int, int]:
        """The tasks given to the workers, and those that failed (the admin's metrics)."""
        return self.tasks, self.failed

    def _ended(self, task: Future[list[Any]]) -> None:
        if task.cancelled() or task.exception() is not None:
            self.failed += 1

    def close(self) -> None:
        """Stop the workers (the tasks not begun fail: made where they were asked); the next
        task starts them again."""
        with self._lock:
            pool, self._pool = self._pool, None
            waiting = self._turns.clear()
        for _, _, task in waiting:
            if not task.done():
                task.set_exception(BrokenProcessPool("the past's workers were stopped"))
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _started(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(
                    self._workers, mp_context=context, initializer=_worker_started, initargs=(os.getpid(),)
                )
            return self._pool


def cpus(cgroup: Path = _CGROUP) -> int:
    """The CPUs this process may run on: its affinity (``taskset``, a cpuset; the machine's
    where the system keeps none, macOS), and no more than its cgroup's CPU quota, rounded up
    (a container's ``--cpus``: cgroup v2's ``cpu.max``, v1's ``cpu.cfs_quota_us``)."""
    affinity = getattr(os, "sched_getaffinity", None)
    count = len(affinity(0)) if affinity is not None else os.cpu_count() or 1
    quota = _quota(cgroup)
    return max(1, min(count, quota)) if quota is not None else count


def _quota(cgroup: Path) -> int | None:
    """The cgroup's CPU quota in whole CPUs, rounded up; None when it has none (or none is
    readable: not Linux, no cgroup mounted)."""
    try:
        v2 = cgroup / "cpu.max"
        if v2.exists():
            quota, period = v2.read_text().split()[:2]
        else:
            quota = (cgroup / "cpu" / "cpu.cfs_quota_us").read_text().strip()
            period = (cgroup / "cpu" / "cpu.cfs_period_us").read_text().strip()
        if quota in ("max", "-1") or int(period) <= 0:
            return None
        return -(-int(quota) // int(period))
    except (OSError, ValueError):
        return None


def farm() -> PastFarm | None:
    """The process' farm, where it may run on more than one CPU."""
    return FARM if cpus() > 1 else None


def _worker_started(server: int) -> None:
    """A worker's start: below the server's priority, and gone with the server however it
    ends (``kill -9`` too: a pool's idle workers wait on its queue for ever otherwise)."""
    os.nice(_NICE)
    threading.Thread(target=_end_with, args=(server,), name="end-with-the-server", daemon=True).start()


def _end_with(server: int) -> None:
    """Exit once ``server`` is no longer this worker's parent (it ended; the worker was
    handed to another), looking twice a second."""
    while os.getppid() == server:
        threading.Event().wait(_LOOK_S)
    os._exit(0)


def draw(recipe: Recipe, job: Job) -> list[Kline] | list[PriceBar]:
    """A task, in a worker: what ``job`` makes in the past ``recipe`` builds (its klines'
    and its price klines' past, kept for the next task)."""
    built = _DRAWN.get(recipe)
    if built is None:
        if len(_DRAWN) >= _PASTS_KEPT:
            del _DRAWN[next(iter(_DRAWN))]
        past = SimulatedPast(*recipe)
        built = _DRAWN[recipe] = (past, PastMarks(past))
    past, marks = built
    try:
        if job[0] == "days":
            return past.daily(job[1], job[2])
        _, symbol, kind, interval, opens = job
        return marks.bars(symbol, kind, interval, opens)
    finally:  # the next task draws the next days, not these minutes: a worker keeps its size
        past.forget_minutes()
        marks.forget_minutes()


FARM = PastFarm()
