"""ConnectionSchedule: when a kept connection is reopened or rolled over, from times passed in."""

from __future__ import annotations

import math
from collections.abc import Iterator

from tickerplant.client.schedule import HELD_MS, ConnectionSchedule

T0_MS = 1_767_225_600_000
HOUR_MS = 3_600_000


def delays() -> Iterator[float]:
    return iter([0.1, 0.2, 0.4, 0.8])


def test_a_connection_is_rolled_over_a_fixed_time_after_it_opened() -> None:
    schedule = ConnectionSchedule(23.5 * HOUR_MS, delays)
    assert schedule.rollover_due_ms == math.inf, "nothing serves yet"
    schedule.opened(T0_MS)
    assert schedule.rollover_due_ms == T0_MS + 23.5 * HOUR_MS
    schedule.opened(T0_MS + 23.5 * HOUR_MS)  # the successor
    assert schedule.rollover_due_ms == T0_MS + 47 * HOUR_MS


def test_a_failed_rollover_is_retried_from_when_it_failed() -> None:
    schedule = ConnectionSchedule(23.5 * HOUR_MS, delays, rollover_retry_ms=1000)
    schedule.opened(T0_MS)
    failed_at = T0_MS + 23.5 * HOUR_MS + 250
    schedule.rollover_failed(failed_at)
    assert schedule.rollover_due_ms == failed_at + 1000


def test_reconnect_delays_grow_until_a_connection_holds() -> None:
    schedule = ConnectionSchedule(HOUR_MS, delays)
    assert schedule.open_failed(T0_MS) == T0_MS + 100
    assert schedule.open_failed(T0_MS + 100) == T0_MS + 300
    schedule.opened(T0_MS + 300)
    lost_at = T0_MS + 300 + HELD_MS
    assert schedule.lost(lost_at) == lost_at + 100, "a fresh start after it held"
    assert schedule.rollover_due_ms == math.inf, "nothing to roll over while down"
    assert schedule.open_failed(lost_at + 100) == lost_at + 300


def test_a_connection_dropped_soon_after_it_opened_does_not_start_the_delays_afresh() -> None:
    """A server that takes each connection and drops it (a 1013, a proxy) is met with
    growing waits, not a reconnect every 0.1 s (spec §2.5)."""
    schedule = ConnectionSchedule(HOUR_MS, delays)
    at = T0_MS
    waits = []
    for _ in range(4):
        schedule.opened(at)
        dropped = at + HELD_MS - 1  # it served, but not for long
        at = schedule.lost(dropped)
        waits.append(at - dropped)
    assert waits == [100, 200, 400, 800]
