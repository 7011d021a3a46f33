"""ConnectionSchedule: when a kept connection is reopened or rolled over, from times passed in."""

from __future__ import annotations

import math
from collections.abc import Iterator

from tickerplant.client.schedule import ConnectionSchedule

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
    assert schedule.lost(T0_MS + 5000) == T0_MS + 5100, "a fresh start after it held"
    assert schedule.rollover_due_ms == math.inf, "nothing to roll over while down"
    assert schedule.open_failed(T0_MS + 5100) == T0_MS + 5300
