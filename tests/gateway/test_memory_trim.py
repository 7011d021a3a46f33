"""The allocator is trimmed once after a wave of closes, never per close or on a steady
churn of short connections, and at most once per interval."""

from __future__ import annotations

import logging

import pytest
from conftest import StartServer
from rawws import RawWebSocket
from timing import eventually

from tickerplant.clock import ManualClock
from tickerplant.gateway.memory_trim import AllocatorTrim, TrimSchedule
from tickerplant.market.instruments import Market


def test_a_wave_that_closes_arms_one_trim_after_the_quiet_time() -> None:
    schedule = TrimSchedule(min_drop=4, quiet_ms=1_000, min_interval_ms=10_000)
    for _ in range(10):
        schedule.opened()
    # 4 closed leaves 6, over half the peak; the 5th leaves half: the wave is over
    assert [schedule.closed(100) for _ in range(5)] == [None, None, None, None, 1_100]
    assert schedule.closed(200) is None  # armed once per wave
    schedule.trimmed(1_100)
    assert schedule.peak == schedule.live == 4


def test_the_first_close_past_both_bounds_gives_the_time() -> None:
    schedule = TrimSchedule(min_drop=4, quiet_ms=1_000, min_interval_ms=10_000)
    for _ in range(8):
        schedule.opened()
    whens = [schedule.closed(now) for now in (10, 20, 30, 40)]
    assert whens == [None, None, None, 1_040]  # 4 closed, 4 left: half the peak
    schedule.trimmed(1_040)  # 4 still open: the next wave's peak is 12
    for _ in range(8):
        schedule.opened()
    whens = [schedule.closed(2_000) for _ in range(6)]
    assert whens == [None, None, None, None, None, 11_040]  # not sooner than 10 s after the last


def test_a_steady_churn_never_trims() -> None:
    schedule = TrimSchedule(min_drop=4)
    for now in range(10_000):
        schedule.opened()
        assert schedule.closed(now) is None


def test_the_shell_trims_through_the_clock(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="tickerplant.gateway")
    clock = ManualClock()
    trim = AllocatorTrim(clock, TrimSchedule(min_drop=2, quiet_ms=1_000))
    for _ in range(4):
        trim.opened()
    for _ in range(4):
        trim.closed()
    assert trim.trims == 0
    clock.advance(999)
    assert trim.trims == 0
    clock.advance(1)
    assert trim.schedule.peak == 0 and trim.schedule.live == 0
    gave_back = [r for r in caplog.records if "the allocator gave back" in r.getMessage()]
    assert len(gave_back) == trim.trims <= 1  # 0 where there is no glibc malloc_trim


async def test_the_listener_counts_its_connections(start_server: StartServer) -> None:
    plant = await start_server()
    listener = plant.listeners[Market.UM]
    schedule = listener.allocator_trim.schedule
    clients = [await RawWebSocket.connect(listener.port, "/ws") for _ in range(3)]
    assert schedule.live == 3 and schedule.peak == 3
    for ws in clients:
        await ws.close()
    await eventually(lambda: schedule.live == 0)
