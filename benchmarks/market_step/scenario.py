"""The simulated market's cost per action with everything a server hangs on it, in-process:
the simulator, both plants, the listeners' market views and fan-outs (nobody connected) and
the venue's engines on the bus, as ``tickerplant serve --sim-rate 400`` builds them.

    python -m benchmarks market_step [--quick] [--seconds 30] [--repeats 3] [--wall 10]

(a) On a driven clock: a server on a ``ManualClock`` at a fixed start (the same seeded flow
every run), moved a millisecond at a time with one loop turn each (the pump's look a
millisecond, as on the wall clock), ``--seconds`` of market time after 8 s of warm-up (the
views have built their books); the thread's CPU time per action, best of ``--repeats``,
with the venue's engines and without them (their deliveries' share).

(b) On the wall clock: the same server on uvloop for ``--wall`` seconds after 8 s: the
process's CPU time as a share of a core, and per action. What (b) adds to (a) is the loop's
own work: the pump's wake-ups, the timers, the journal's commits.

It always exits 0: it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import Iterator

import uvloop

from tickerplant import app
from tickerplant.clock import Clock, ManualClock, SystemClock
from tickerplant.config import ServerConfig, SimulatorConfig
from tickerplant.feeds.simulator.pump import SimulatedMarket

from ..harness.options import fill_sizes

START_MS = 1_780_000_000_000  # 2026-05-28T20:26:40Z: a fixed start, the same flow each run
WARM_MS = 8_000


@contextlib.contextmanager
def _server_config(start_ms: int, tick_interval_s: float) -> Iterator[ServerConfig]:
    """``serve --sim-rate 400``'s config, ports and admin off, ten minutes of past."""
    with tempfile.TemporaryDirectory() as folder:
        sim = SimulatorConfig(
            history_s=600.0, history_start_ms=start_ms - 600_000, tick_interval_s=tick_interval_s
        )
        yield ServerConfig(
            um_port=0, cm_port=0, admin_port=0, venue_db=os.path.join(folder, "venue.db"), simulator=sim
        )  # fmt: skip


def _actions(plant: app.Tickerplant) -> int:
    source = plant.source
    assert isinstance(source, SimulatedMarket) and source.simulator is not None
    return source.simulator.action_count


async def _driven(seconds: float, venue: bool) -> tuple[float, int]:
    """(a): CPU seconds and actions over ``seconds`` of a driven clock."""
    clock = ManualClock(START_MS)
    # the pump looks at every loop turn (a tick of 0), the driver's one a millisecond: no
    # real sleeping in what is timed
    with _server_config(START_MS, 0.0) as config, _venue(venue):
        plant = app.Tickerplant(config, clock=clock)
        await plant.start()
        try:
            for _ in range(WARM_MS):
                clock.advance(1)
                await asyncio.sleep(0)
            actions, cpu = _actions(plant), time.thread_time()
            for _ in range(round(seconds * 1000)):
                clock.advance(1)
                await asyncio.sleep(0)
            return time.thread_time() - cpu, _actions(plant) - actions
        finally:
            await plant.close()


async def _wall(seconds: float) -> tuple[float, int]:
    """(b): the process's CPU seconds and the actions over ``seconds`` of the wall clock."""
    clock: Clock = SystemClock()
    with _server_config(clock.now_ms(), SimulatorConfig().tick_interval_s) as config:
        plant = app.Tickerplant(config)
        await plant.start()
        try:
            await asyncio.sleep(WARM_MS / 1000)
            actions, cpu = _actions(plant), time.process_time()
            await asyncio.sleep(seconds)
            return time.process_time() - cpu, _actions(plant) - actions
        finally:
            await plant.close()


@contextlib.contextmanager
def _venue(on: bool) -> Iterator[None]:
    """Without the venue: its engines made, their hooks on the bus left out."""
    if on:
        yield
        return
    names = vars(app)  # what the composition calls, by its name there
    hooks = names["venue_hooks"]
    names["venue_hooks"] = lambda *args, **kwargs: []
    try:
        yield
    finally:
        names["venue_hooks"] = hooks


def run(args: argparse.Namespace) -> None:
    print(f"(a) driven clock, {args.seconds:g} s of market time, best of {args.repeats}:", flush=True)
    uvloop.run(_driven(1.0, True))  # a first server's one-off costs (lazy imports), untimed
    runs: dict[bool, list[tuple[float, int]]] = {True: [], False: []}
    for _ in range(args.repeats):  # the two sides alternated
        for venue in runs:
            runs[venue].append(uvloop.run(_driven(args.seconds, venue)))
    for venue, each in runs.items():
        cpu, actions = min(each)
        label = "with the venue's engines" if venue else "without them"
        print(
            f"  {label}: {actions:,} actions, {cpu * 1e6 / actions:.1f} us of CPU an action "
            f"(runs: {', '.join(f'{c * 1e6 / a:.1f}' for c, a in each)}), "
            f"{cpu / args.seconds * 100:.2f} % of a core",
            flush=True,
        )
    cpu, actions = uvloop.run(_wall(args.wall))
    print(
        f"(b) wall clock, {args.wall:g} s: {actions / args.wall:,.0f} actions/s, "
        f"{cpu / args.wall * 100:.1f} % of a core, {cpu * 1e6 / actions:.0f} us an action all in",
        flush=True,
    )


def parse_args(argv: list[str]) -> argparse.Namespace:
    about = __doc__.split("\n\n")[0]
    p = argparse.ArgumentParser(prog="python -m benchmarks market_step", description=about)
    p.add_argument("--quick", action="store_true", help="shorter runs")
    p.add_argument("--seconds", type=float, default=None, help="driven market time a run (30; 5 --quick)")
    p.add_argument("--repeats", type=int, default=None, help="driven runs of each side (3; 1 --quick)")
    p.add_argument("--wall", type=float, default=None, help="wall-clock seconds of (b) (10; 3 --quick)")
    args = p.parse_args(argv)
    fill_sizes(args, (("seconds", 30.0, 5.0), ("repeats", 3, 1), ("wall", 10.0, 3.0)))
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    print("== the simulated market's step in a whole server, in-process (this process)", flush=True)
    run(args)
    return 0
