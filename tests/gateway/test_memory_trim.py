"""The allocator is trimmed once after a wave of closes, once the wave has finished closing,
never per close or on a steady churn of short connections, and at most once per interval."""

from __future__ import annotations

import logging

import pytest
from conftest import StartServer
from rawws import RawWebSocket
from timing import eventually

from tickerplant.clock import ManualClock
from tickerplant.gateway.memory_trim import AllocatorTrim, TrimSchedule
from tickerplant.market.instruments import Market


def test_a_wave_that_closes_arms_one_look_after_the_quiet_time() -> None:
    schedule = TrimSchedule(min_closes=4, quiet_ms=1_000, min_interval_ms=10_000)
    for _ in range(10):
        schedule.opened()
    # 4 closed leaves 6, over half the peak; the 5th leaves half: the wave is over
    assert [schedule.closed(100) for _ in range(5)] == [None, None, None, None, 1_100]
    assert schedule.closed(200) is None  # armed once per wave
    assert schedule.due(1_100) is None  # one close in the last second: quiet, trim now
    schedule.trimmed(1_100)
    assert schedule.peak == schedule.live == 4
    assert schedule.closes == 0


def test_the_first_close_past_both_bounds_gives_the_time() -> None:
    schedule = TrimSchedule(min_closes=4, quiet_ms=1_000, min_interval_ms=10_000)
    for _ in range(8):
        schedule.opened()
    whens = [schedule.closed(now) for now in (10, 20, 30, 40)]
    assert whens == [None, None, None, 1_040]  # 4 closed, 4 left: half the peak
    schedule.trimmed(1_040)  # 4 still open: the next wave's peak is 12
    for _ in range(8):
        schedule.opened()
    whens = [schedule.closed(2_000) for _ in range(6)]
    assert whens == [None, None, None, None, None, 11_040]  # not sooner than 10 s after the last


def test_a_wave_accepted_slowly_is_trimmed_after_it() -> None:
    # A server short of CPU holds little of a wave at once: here never more than 3 of its
    # 12 connections, the rest accepted after their clients had gone. The live count never
    # fell by min_closes; the closes are what make the wave.
    schedule = TrimSchedule(min_closes=10, quiet_ms=1_000, min_interval_ms=10_000, quiet_closes=2)
    for _ in range(3):
        schedule.opened()
    whens = [schedule.closed(500) for _ in range(3)]
    for _ in range(9):  # the backlog: each accepted, finds its client gone, closes
        schedule.opened()
        whens.append(schedule.closed(600))
    assert whens == [None] * 9 + [1_600, None, None]
    assert schedule.peak == 3 and schedule.live == 0


def test_the_trim_waits_until_the_wave_has_finished_closing() -> None:
    schedule = TrimSchedule(min_closes=4, quiet_ms=1_000, min_interval_ms=10_000, quiet_closes=2)
    for _ in range(20):
        schedule.opened()
    whens = [schedule.closed(0) for _ in range(10)]
    assert whens[-1] == 1_000
    for _ in range(5):  # still closing at 5 a second
        schedule.closed(900)
    assert schedule.due(1_000) == 2_000  # look again
    for _ in range(5):
        schedule.closed(1_500)
    assert schedule.due(2_000) == 3_000
    schedule.closed(2_500)  # one straggler: the wave is over
    assert schedule.due(3_000) is None


def test_a_steady_churn_never_trims() -> None:
    schedule = TrimSchedule(min_closes=4)
    look: int | None = None
    for now in range(10_000):  # a short connection every millisecond
        schedule.opened()
        when = schedule.closed(now)
        if when is not None:
            look = when
        if look is not None and now == look:
            look = schedule.due(now)
            assert look is not None  # never quiet: never trimmed


def test_the_shell_trims_through_the_clock(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="tickerplant.gateway")
    clock = ManualClock()
    trim = AllocatorTrim(clock, TrimSchedule(min_closes=2, quiet_ms=1_000))
    for _ in range(4):
        trim.opened()
    for _ in range(4):
        trim.closed()
    assert trim.trims == 0
    clock.advance(999)
    assert trim.trims == 0
    clock.advance(1)
    assert trim.schedule.peak == 0 and trim.schedule.live == 0 and trim.schedule.closes == 0
    gave_back = [r for r in caplog.records if "the allocator gave back" in r.getMessage()]
    assert len(gave_back) == trim.trims <= 1  # 0 where there is no glibc malloc_trim


def test_the_listeners_of_a_process_share_one_look_up_of_malloc_trim() -> None:
    # each server start made two (one a listener), each a fork of ldconfig; the same
    # function found once (None for both where there is no glibc)
    assert AllocatorTrim(ManualClock())._trim is AllocatorTrim(ManualClock())._trim


def test_the_shell_looks_again_while_the_wave_closes() -> None:
    clock = ManualClock()
    trim = AllocatorTrim(clock, TrimSchedule(min_closes=2, quiet_ms=1_000, quiet_closes=1))
    for _ in range(10):
        trim.opened()
    for _ in range(5):
        trim.closed()
    clock.advance(500)
    for _ in range(3):  # closing on: the look at 1 s finds 3 more
        trim.closed()
    clock.advance(500)
    assert trim.schedule.closes == 8  # not trimmed yet: still counting this wave
    clock.advance(1_000)  # quiet since: trimmed (where glibc's malloc_trim exists)
    assert trim.schedule.closes == 0 and trim.schedule.peak == 2


async def test_the_listener_counts_its_connections(start_server: StartServer) -> None:
    plant = await start_server()
    listener = plant.listeners[Market.UM]
    schedule = listener.allocator_trim.schedule
    clients = [await RawWebSocket.connect(listener.port, "/ws") for _ in range(3)]
    assert schedule.live == 3 and schedule.peak == 3
    for ws in clients:
        await ws.close()
    await eventually(lambda: schedule.live == 0)
    assert schedule.closes == 3
