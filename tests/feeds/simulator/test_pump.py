"""The simulated market's shell: how it paces the simulator against the loop."""

from __future__ import annotations

import asyncio

from conftest import StartServer
from timing import SECONDS

from tickerplant.clock import ManualClock
from tickerplant.feeds.simulator.pump import SimulatedMarket

T0 = 1_767_225_600_000  # 2026-01-01T00:00Z


async def test_a_catch_up_lets_the_loop_run_between_batches(start_server: StartServer) -> None:
    # A second of a 100,000 actions/s market falls due at once (a machine that cannot keep
    # up sees this every tick): it is dispatched a batch at a time, and what else the loop
    # holds (the gateways' flushes and reads, a REST answer, a ping) runs between batches,
    # instead of waiting for the whole second's actions in one step.
    clock = ManualClock(T0)
    plant = await start_server(clock=clock, simulator={"actions_per_s": 100_000.0, "history_s": 0.0})
    source = plant.source
    assert isinstance(source, SimulatedMarket) and source.simulator is not None
    simulator = source.simulator
    actions = simulator.action_count
    seen: list[int] = []  # updates processed, as another task on the loop sees them
    clock.advance(1000)
    async with asyncio.timeout(30 * SECONDS):
        while simulator.action_count < actions + 50_000 or not seen or seen[-1] != source.updates_processed:
            if not seen or seen[-1] != source.updates_processed:
                seen.append(source.updates_processed)
            await asyncio.sleep(0)
    steps = len(seen) - 1
    assert steps >= 50, f"the catch-up held the loop: seen in {steps} steps"
