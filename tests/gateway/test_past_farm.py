"""The past's farm (``gateway/past_farm.py``) with real worker processes: what a worker draws
from the recipe (days, price bars) is what this process draws, to the unit; a worker killed
breaks its pool, and the next task starts a new one; closed, the workers are gone; and a
server killed -9 takes them along. With a pool the test holds in place of the processes: the
clients' turns, and a worker that cannot be started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest

from tickerplant.gateway.past_farm import PastFarm, cpus, draw
from tickerplant.market.history.marks import PastMarks
from tickerplant.market.history.series import SimulatedPast
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.klines.price_candles import PriceKind
from tickerplant.market.units import DAY_MS

NOW = 1_795_000_000_000
INSTRUMENTS = [i for m in Market for i in catalogue(m, NOW)]
DAYS = list(range(NOW // DAY_MS - 40, NOW // DAY_MS - 34))


@pytest.fixture
def farm() -> Iterator[PastFarm]:
    made = PastFarm(workers=1)
    yield made
    made.close()


def test_a_worker_draws_the_days_this_process_draws(farm: PastFarm) -> None:
    here = SimulatedPast(INSTRUMENTS, 41, 1e-9)
    drawn = farm.draw(here.recipe, ("days", "BTCUSD_PERP", DAYS)).result(timeout=120)
    assert drawn == here.daily("BTCUSD_PERP", DAYS)
    assert [k.open_ms // DAY_MS for k in drawn] == DAYS


def test_a_worker_makes_the_price_bars_this_process_makes(farm: PastFarm) -> None:
    here = SimulatedPast(INSTRUMENTS, 43, 400.0)
    opens = [day * DAY_MS for day in DAYS[:2]]
    for kind in PriceKind:
        drawn = farm.draw(here.recipe, ("bars", "ETHUSD_PERP", kind, "1d", opens)).result(timeout=120)
        assert drawn == PastMarks(here).bars("ETHUSD_PERP", kind, "1d", opens)


def test_a_worker_keeps_its_size_from_task_to_task() -> None:
    """A worker's task draws days it will not draw again (the next is the next days): their
    minutes are let go once it is done, so its memory stays where it was after the first
    task (it held every funding interval's minutes it drew, ~160 MB for a symbol's daily
    mark klines), the days' and hours' values kept."""
    recipe = SimulatedPast(INSTRUMENTS, 47, 400.0).recipe
    day = NOW // DAY_MS - 100
    tracemalloc.start()
    try:
        for task in range(3):
            opens = [(day + 2 * task + i) * DAY_MS for i in range(2)]
            draw(recipe, ("bars", "SOLUSDT", PriceKind.MARK, "1d", opens))
            if task == 0:
                after_first = tracemalloc.get_traced_memory()[0]
        grown = tracemalloc.get_traced_memory()[0] - after_first
    finally:
        tracemalloc.stop()
    assert grown < 500_000, grown  # two days' intervals' minutes were ~2 MB


class _HeldPool:
    """In a ``PastFarm``'s place of its process pool: keeps what it is given, in order, for the
    test to finish (one worker's order); ``fail``: what ``submit`` raises instead."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.given: list[tuple[Any, Future[list[Any]]]] = []
        self.fail = fail

    def submit(self, fn: Any, recipe: Any, job: Any) -> Future[list[Any]]:
        if self.fail is not None:
            raise self.fail
        task: Future[list[Any]] = Future()
        self.given.append((job, task))
        return task

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


def _held(pool: _HeldPool) -> PastFarm:
    made = PastFarm(workers=1)
    made._started = lambda: pool  # type: ignore[method-assign,assignment,return-value]
    return made


def test_the_clients_take_turns_at_the_workers() -> None:
    """One client's six tasks asked first, another's one after them: with one worker, the
    second's goes to the pool fourth (the pool holds one more than its workers, the first
    client's first two; then the turns: its third, then the other's), not seventh, as the
    order asked would have it."""
    pool = _HeldPool()
    farm = _held(pool)
    tasks = [farm.draw((), ("days", "ETHUSDT", [i]), "192.0.2.1") for i in range(6)]
    tasks.append(farm.draw((), ("days", "BTCUSDT", [0]), "192.0.2.2"))
    assert len(pool.given) == 2  # a worker's and one queued behind it
    for finished in range(7):
        job, given = pool.given[finished]
        given.set_result([job[1]])  # the worker's next, as it ends the last
    assert [(job[1], job[2][0]) for job, _ in pool.given] == [
        ("ETHUSDT", 0), ("ETHUSDT", 1), ("ETHUSDT", 2), ("BTCUSDT", 0), ("ETHUSDT", 3), ("ETHUSDT", 4),
        ("ETHUSDT", 5),
    ]  # fmt: skip
    assert [task.result(timeout=0) for task in tasks] == [["ETHUSDT"]] * 6 + [["BTCUSDT"]]


@pytest.mark.parametrize("where", ["submit", "start"])
def test_a_worker_that_cannot_be_started_fails_its_task_and_frees_its_place(where: str) -> None:
    """No descriptor, memory or process for a worker (EMFILE, EAGAIN): the task fails (its
    part made where it was asked, ``farming.drawn``) and its place in the pool is given back:
    the next task goes to the pool when one can be started again."""
    pool = _HeldPool(OSError(24, "Too many open files") if where == "submit" else None)
    farm = _held(pool)
    if where == "start":

        def no_pool() -> _HeldPool:
            raise OSError(24, "Too many open files")

        farm._started = no_pool  # type: ignore[method-assign,assignment]
    failed = [farm.draw((), ("days", "ETHUSDT", [i]), "192.0.2.1") for i in range(3)]
    assert all(isinstance(task.exception(timeout=0), OSError) for task in failed) and farm.failed == 3
    pool.fail = None
    farm._started = lambda: pool  # type: ignore[method-assign,assignment,return-value]
    later = farm.draw((), ("days", "ETHUSDT", [9]), "192.0.2.1")
    (job, given), = pool.given
    given.set_result(["made"])
    assert job[2] == [9] and later.result(timeout=0) == ["made"]


def test_a_killed_worker_is_replaced_at_the_next_task_and_close_ends_them(farm: PastFarm) -> None:
    here = SimulatedPast(INSTRUMENTS, 42, 400.0)
    assert farm.draw(here.recipe, ("days", "ETHUSDT", DAYS[:1])).result(timeout=120)
    (worker,) = _workers(farm)
    os.kill(worker, signal.SIGKILL)
    # the pool is broken: a task given to it before its thread noticed fails (its days are
    # then made on the loop, farming.drawn), one given after starts a new pool
    drawn = []
    for _ in range(3):
        task = farm.draw(here.recipe, ("days", "ETHUSDT", DAYS[1:3]))
        try:
            drawn = task.result(timeout=120)
        except BrokenProcessPool:
            continue
        break
    assert drawn == here.daily("ETHUSDT", DAYS[1:3])
    (replaced,) = _workers(farm)
    assert replaced != worker
    farm.close()
    with pytest.raises(ProcessLookupError):
        os.kill(replaced, 0)


def _workers(farm: PastFarm) -> list[int]:
    pool = farm._pool
    assert pool is not None
    return [p.pid for p in pool._processes.values()]  # type: ignore[attr-defined]


_SERVER = """
import sys
from tickerplant.gateway.past_farm import PastFarm, cpus, draw
from tickerplant.market.history.series import SimulatedPast
from tickerplant.market.instruments import Market, catalogue
instruments = [i for m in Market for i in catalogue(m, 1_795_000_000_000)]
farm = PastFarm(workers=2)
farm.draw(SimulatedPast(instruments, 44, 400.0).recipe, ("days", "ETHUSDT", [20700])).result(timeout=120)
print(*[p.pid for p in farm._pool._processes.values()], flush=True)
sys.stdin.read()  # until killed
"""


def test_the_workers_end_with_a_server_killed_9() -> None:
    server = subprocess.Popen([sys.executable, "-c", _SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        workers = [int(pid) for pid in server.stdout.readline().split()]
        assert workers and all(_alive(pid) for pid in workers)  # started as tasks come
    finally:
        server.kill()
        server.wait()
    deadline = threading.Event()
    for _ in range(50):  # within half a second of the look, on a loaded machine a few
        if not any(_alive(pid) for pid in workers):
            break
        deadline.wait(0.1)
    assert not any(_alive(pid) for pid in workers)


def _alive(pid: int) -> bool:
    """Running (not gone, and not a zombie nobody reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize(
    ("files", "most"),
    [
        ({"cpu.max": "150000 100000\n"}, 2),  # cgroup v2, --cpus=1.5
        ({"cpu.max": "100000 100000\n"}, 1),  # --cpus=1: no workers
        ({"cpu.max": "max 100000\n"}, None),  # no quota
        ({"cpu/cpu.cfs_quota_us": "50000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1),  # v1, --cpus=0.5
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({}, None),  # none mounted
    ],
)
def test_the_cpus_are_the_affinity_s_within_the_cgroup_s_quota(tmp_path: Path, files: dict[str, str], most: int | None) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    mine = len(os.sched_getaffinity(0))
    assert cpus(tmp_path) == (mine if most is None else min(mine, most))
