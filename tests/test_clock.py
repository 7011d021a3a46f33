"""The clocks: a manual clock runs what falls due in time order, and only when moved."""

from __future__ import annotations

import asyncio

import pytest
from timing import SECONDS

from tickerplant.clock import ManualClock, SystemClock


def test_manual_clock_runs_due_callbacks_in_time_order_reading_their_time() -> None:
    clock = ManualClock(start_ms=1_000)
    seen: list[tuple[str, int]] = []
    clock.call_at(1_300, lambda: seen.append(("c", clock.now_ms())))
    clock.call_at(1_100, lambda: seen.append(("a", clock.now_ms())))
    clock.call_at(1_200, lambda: seen.append(("b", clock.now_ms())))
    clock.advance(250)
    assert seen == [("a", 1_100), ("b", 1_200)]
    assert clock.now_ms() == 1_250
    clock.set(2_000)
    assert seen[-1] == ("c", 1_300)
    assert clock.now_ms() == 2_000


def test_manual_clock_cancel_and_callbacks_scheduling_more() -> None:
    clock = ManualClock(start_ms=0)
    seen: list[int] = []
    timer = clock.call_at(10, lambda: seen.append(10))
    timer.cancel()

    def first() -> None:
        seen.append(clock.now_ms())
        clock.call_at(clock.now_ms() + 5, lambda: seen.append(clock.now_ms()))

    clock.call_at(20, first)
    assert clock.next_due_ms == 20
    clock.advance(100)
    assert seen == [20, 25]
    assert clock.next_due_ms is None


def test_manual_clock_refuses_to_run_backwards() -> None:
    clock = ManualClock(start_ms=5)
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        clock.set(4)


async def test_manual_clock_sleep_until_wakes_only_when_moved() -> None:
    clock = ManualClock(start_ms=0)
    task = asyncio.get_running_loop().create_task(clock.sleep_until(60_000))
    await asyncio.sleep(0)
    assert not task.done()
    clock.advance(59_999)
    await asyncio.sleep(0)
    assert not task.done()
    clock.advance(1)
    await task
    await clock.sleep_until(1)  # already past: returns at once


async def test_system_clock_schedules_on_the_loop() -> None:
    clock = SystemClock()
    fired = asyncio.Event()
    clock.call_at(clock.now_ms(), fired.set)
    await asyncio.wait_for(fired.wait(), 5 * SECONDS)
    assert abs(clock.now_ns() // 1_000_000 - clock.now_ms()) <= 1
    await clock.sleep_until(clock.now_ms() - 1)


async def test_an_offset_system_clock_reads_and_schedules_on_its_own_time() -> None:
    """``serve --clock-offset``: the clock reads the offset ahead of the system's, and a
    timer at its own reading fires now, not 8 hours late."""
    ahead = SystemClock(8 * 3_600_000)
    gap = ahead.now_ms() - SystemClock().now_ms()
    assert 8 * 3_600_000 - 1_000 <= gap <= 8 * 3_600_000
    assert abs(ahead.now_ns() // 1_000_000 - ahead.now_ms()) <= 1
    fired = asyncio.Event()
    ahead.call_at(ahead.now_ms() + 1, fired.set)
    await asyncio.wait_for(fired.wait(), 5 * SECONDS)
    await asyncio.wait_for(ahead.sleep_until(ahead.now_ms() + 1), 5 * SECONDS)
