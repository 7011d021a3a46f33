"""Shared fixtures: a real tickerplant on loopback ports chosen by the OS.

The tests of the listeners and of ``tickerplant.client`` (``tests/gateway``,
``tests/protocol``, ``tests/client`` and the TLS test) that start a server run twice, on the
standard asyncio loop and on uvloop: production runs uvloop, and a listener or client that
works on one loop only is a bug. The other tests that start a server (feeds, scale-out, the
venue, the CLI, the admin listener, the third-party clients under ``tests/e2e``, and those
marked ``uvloop_only``) run on uvloop alone: what they check (a replay's order, a plant's
restart, the bytes a client reads) does not depend on the loop, and the listeners they go
through are covered on both loops by the first group. That keeps the suite within its
five-minute budget on two cores.
"""

from __future__ import annotations

import asyncio
import compileall
import dataclasses
import gc
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import uvloop
from chromium import browser  # noqa: F401  (headless Chromium, for every test that opens a page)
from cpu_per_test import ENVIRONMENT, CpuPerTest
from hypothesis import settings
from machine_alone import folder, turn

import tickerplant
from tickerplant.app import Tickerplant
from tickerplant.clock import Clock
from tickerplant.config import FaultsConfig, LimitsConfig, ServerConfig, SimulatorConfig
from tickerplant.feeds import Source
from tickerplant.gateway.past_farm import FARM

StartServer = Callable[..., Awaitable[Tickerplant]]

# Bytecode. Where the environment forbids writing it (``PYTHONDONTWRITEBYTECODE``, set on the
# machines this suite runs on), every xdist worker and every server a test starts in a process
# of its own compiles tickerplant's sources again: ~6 s of each worker's collection, a second or
# so of CPU at each server's start. Allowed for the run (the workers and those servers are
# started after this module is read, and inherit the environment): the package's bytecode is
# written once, beside its sources (``__pycache__``, which git ignores). Not into a cache folder
# of its own (``PYTHONPYCACHEPREFIX``): Python then reads no ``__pycache__`` at all, so the
# bytecode pip compiled for every dependency at install is passed over, and on a fresh machine
# each process compiled them again (ccxt and the other clients alone: ~6 s of CPU a process).
# This process (xdist's controller) compiles the package once, on every core, before the
# workers start, so that they and the servers read it instead of each compiling it at once.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False  # this process' later imports too
if "PYTEST_XDIST_WORKER" not in os.environ:
    compileall.compile_dir(os.path.dirname(tickerplant.__file__), quiet=1, workers=0)

# Property tests judged by what they find, never by the wall time an example took: on a
# loaded two-core machine a plain example can exceed Hypothesis' 200 ms deadline, which
# then fails a test whose property holds.
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")

_BOTH_LOOPS: Mapping[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}
_STANDARD_LOOP: Mapping[str, Callable[[], asyncio.AbstractEventLoop]] = {"asyncio": asyncio.new_event_loop}
_PRODUCTION_LOOP: Mapping[str, Callable[[], asyncio.AbstractEventLoop]] = {"uvloop": uvloop.new_event_loop}
_TESTS = Path(__file__).parent
# the listeners' and the client's own tests: both loops (the docstring says why)
_BOTH_LOOP_FOLDERS = (_TESTS / "gateway", _TESTS / "protocol", _TESTS / "client")
_BOTH_LOOP_FILES = (_TESTS / "test_tls.py",)
_E2E = _TESTS / "e2e"  # the third-party clients: uvloop alone, as their users run them


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    """The listeners' and the client's loopback tests (those that start a server) on both
    loops, the other loopback tests and bulk downloads and browser pages (marked
    ``uvloop_only``) on uvloop alone; the rest on asyncio."""
    path = getattr(item, "path", Path())
    if item.get_closest_marker("uvloop_only") or _E2E in path.parents:
        return _PRODUCTION_LOOP
    if not ("start_server" in getattr(item, "fixturenames", ()) or item.get_closest_marker("loopback")):
        return _STANDARD_LOOP
    if path in _BOTH_LOOP_FILES or any(folder in path.parents for folder in _BOTH_LOOP_FOLDERS):
        return _BOTH_LOOPS
    return _PRODUCTION_LOOP


# The tests that take longest (5 to 14 s each on 2 cores: whole clusters killed and
# restarted, 30-day downloads, servers restarted across a funding, four processes and a
# browser): run first, so that the workers end together on short tests instead of one
# waiting on the other's last long one.
_LONGEST_FIRST = (
    "tests/e2e/test_bot_speeds.py",  # 25 s of wall time (its ×1 run), little of a core
    "tests/scaleout/test_demand_processes.py",  # 18 s: a killed gateway's streams' 10 s patience
    "tests/admin/test_workers_dashboard.py", "tests/e2e/test_ccxt_backtest.py",
    "tests/scaleout/test_supervision.py", "tests/venue/test_funding_catch_up.py",
    "tests/venue/test_operator_beside_server.py", "tests/scaleout/test_venue_workers.py",
    "tests/venue/test_served_ids.py", "tests/scaleout/test_faults.py",
    "tests/venue/test_transfers_while_down.py", "tests/gateway/test_mark_price_loopback.py",
    "tests/gateway/test_rest_in_pieces.py", "tests/feeds/simulator/test_past_rate.py",
)  # fmt: skip


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one and a half workers a core (three on two). A test often waits on a
    server it started, a subprocess or a socket, which leaves a core idle under one worker
    per core. Measured on two cores from a clean clone, the whole suite: 269 s with two
    workers, 212 s with three, 231 s with four (the contention costs more than the waits
    leave)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cores * 3 // 2)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: n for n, name in enumerate(_LONGEST_FIRST)}
    root = Path(str(config.rootpath))

    def first(item: pytest.Item) -> int:
        try:
            name = Path(getattr(item, "path", "")).relative_to(root).as_posix()
        except ValueError:
            return len(rank)
        return rank.get(name, len(rank))

    items.sort(key=first)  # stable: the rest in their collected order


_RUN = ExitStack()  # what the run's first process holds until its end (the turns' folder)


def pytest_configure(config: pytest.Config) -> None:
    if "PYTEST_XDIST_WORKER" not in os.environ:  # xdist's controller, before its workers start
        _RUN.enter_context(folder())
    if recorded := os.environ.get(ENVIRONMENT):  # each test's CPU, a line each (cpu_per_test.py)
        config.pluginmanager.register(CpuPerTest(recorded), "cpu_per_test")


def pytest_unconfigure(config: pytest.Config) -> None:
    _RUN.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Each test's setup, call and teardown in its turn at the machine: an ``alone`` one's
    while no other test runs (machine_alone.py says why)."""
    with turn(item.get_closest_marker("alone") is not None):
        try:
            return (yield)
        finally:
            _settle_heap()


def _settle_heap() -> None:
    """After each test, what it left alive moved out of the collector's reach, as
    ``pytest_collection_finish`` does once and a served process does after its start: its
    garbage collected (a walk of what it made, the older heap frozen already), the rest
    frozen. What a worker keeps from test to test is mostly the past's caches, kept per
    process (their bars, minutes, trades and candles: 0.8 to 1.7 million tracked objects
    after a few hundred tests); left tracked, each full collection walked them all, 0.5 to
    1 s of a test's CPU (a memory test's ``gc.collect()``, or one the collector chose),
    ~18 s of the suite's. Garbage made later of what was frozen alive is freed by its
    reference counts all the same; only its cycles stay, as in a served process."""
    gc.collect()
    gc.freeze()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The process' farm of past workers (``past_farm.FARM``, shared by every server a worker
    started) stopped while the interpreter is whole: left to its exit, the pool's manager
    thread met a module already torn down ("Exception ignored in: …weakref_cb…")."""
    FARM.close()


def pytest_collection_finish(session: pytest.Session) -> None:
    """The heap as ``commands.settle_heap`` leaves a served process's, in each worker once
    its tests are collected: what collection made (pytest, hypothesis, the third-party
    clients, the test modules: ~420,000 tracked objects) is moved out of the collector's
    reach, and the youngest generation is collected every 10,000 container objects made
    instead of every 700. Left as they were, every full collection walked that heap and the
    servers the tests start in this process (~300,000 objects each) again: 48 of them took
    a fifth of the CPU time of tests/e2e and tests/admin."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, *gc.get_threshold()[1:])


def quick_config(**overrides: Any) -> ServerConfig:
    """The config ``start_server`` starts a server with: ``overrides`` as its keywords."""
    limits = dataclasses.replace(LimitsConfig(), **overrides.pop("limits", {}))
    # An hour of warm history instead of a day: the windows start warm all the same, and
    # a server starts in a tenth of the time. Books of the least depth (20 levels a side
    # and a margin: @depth20 stays full) instead of 1,000: building, publishing and
    # mirroring 1,000-level books made each start ten times slower (the full depth has
    # its own test, tests/gateway/test_full_depth.py). The rate every hour (steady_rate): as
    # busy as the past's hour, a test on the system clock would see a fifth of the market at
    # night and twice it on a weekday (the cycle's own tests set their hours).
    quick = SimulatorConfig(actions_per_s=2000.0, history_s=3600.0, book_levels=20, steady_rate=True)
    simulator = dataclasses.replace(quick, **overrides.pop("simulator", {}))
    faults = FaultsConfig(**overrides.pop("faults", {}))
    overrides = {"um_port": 0, "cm_port": 0, "admin_port": 0, **overrides}
    return ServerConfig(limits=limits, simulator=simulator, faults=faults, **overrides)


@pytest.fixture
async def start_server() -> AsyncIterator[StartServer]:
    """Start tickerplant in this event loop; keyword arguments override the config.

    ``limits``, ``simulator`` and ``faults`` take dicts of field overrides; ports default
    to 0 (the OS chooses), and the admin listener is off unless ``admin_port`` is given
    (``ports.free_port()``: its 0 means off); ``source`` replaces the simulator; ``clock``
    (a ManualClock in tests about time) is the server's clock.
    """
    started: list[Tickerplant] = []

    async def start(*, source: Source | None = None, clock: Clock | None = None, **overrides: Any) -> Tickerplant:
        if clock is None:
            # On the system clock the simulator steps every 10 ms, not every millisecond: each
            # server idling through a test woke its loop a thousand times a second (a fifth of a
            # core each, ~13 % of tests/gateway's and tests/client's CPU), and a loaded machine
            # stretches the step as far anyway. On a manual clock the step stays 1 ms: those
            # tests move time by less and expect the market to move with it.
            overrides["simulator"] = {"tick_interval_s": 0.01, **overrides.get("simulator", {})}
        plant = Tickerplant(quick_config(**overrides), clock=clock, source=source)
        await plant.start()
        started.append(plant)
        return plant

    yield start
    for plant in started:
        await plant.close()
