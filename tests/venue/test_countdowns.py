"""``countdownCancelAll``'s countdowns without sockets (part 2 §6.7): replaced by each call,
stopped by 0, each run-out named once, bounded however often they are set."""

from __future__ import annotations

from tickerplant.venue.engine.countdowns import LATEST_MS, Countdowns

T0 = 1_790_000_000_000


def test_each_call_replaces_the_countdown_and_zero_stops_it() -> None:
    countdowns = Countdowns()
    countdowns.set(1, "BTCUSDT", 120_000, T0)
    countdowns.set(1, "BTCUSDT", 120_000, T0 + 30_000)  # called again: from now
    countdowns.set(2, "BTCUSDT", 10_000, T0)
    countdowns.set(3, "ETHUSDT", 5_000, T0)
    countdowns.set(3, "ETHUSDT", 0, T0 + 1)  # stopped
    assert countdowns.next_due_ms() == T0 + 10_000
    assert countdowns.due(T0 + 119_999) == [(2, "BTCUSDT")]
    assert countdowns.due(T0 + 149_999) == []
    assert countdowns.due(T0 + 150_000) == [(1, "BTCUSDT")]
    assert countdowns.due(T0 + 999_999) == [] and len(countdowns) == 0


def test_a_deadline_past_the_journals_integers_is_the_latest_it_keeps() -> None:
    countdowns = Countdowns()
    assert countdowns.set(1, "BTCUSDT", 2**63 - 1, T0) == LATEST_MS == 2**63 - 1  # countdownTime: a LONG
    assert countdowns.set(1, "BTCUSDT", 1_000, T0) == T0 + 1_000
    assert countdowns.set(1, "BTCUSDT", 0, T0) == 0 and len(countdowns) == 0


def test_calls_every_second_keep_it_small() -> None:
    countdowns = Countdowns()
    for second in range(10_000):
        countdowns.set(1, "BTCUSDT", 120_000, T0 + second * 1000)
    assert len(countdowns._heap) <= 4 + 64 + 1
    assert countdowns.next_due_ms() == T0 + 9_999_000 + 120_000
