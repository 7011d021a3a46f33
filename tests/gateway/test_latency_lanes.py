"""A latency path's lanes (``gateway/order_latency.py``): what is due runs in the order it
was given, on one timer, whatever order the clock's timers would fire in."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tickerplant.clock import ManualClock, Timer
from tickerplant.gateway.order_latency import Lane


class Reversing(ManualClock):
    """Timers for one time fire last set, first run (the wall clock's may: its delays are
    rounded when set); counts the timers set."""

    def __init__(self) -> None:
        super().__init__(1_000)
        self.set_timers = 0

    def call_at(self, when_ms: float, callback: Callable[[], object]) -> Timer:
        self.set_timers += 1
        return super().call_at(when_ms + 0.5 - self.set_timers / 1000, callback)


def test_what_is_due_at_one_time_runs_in_the_order_given_on_one_timer() -> None:
    clock, ran = Reversing(), []
    direct = []
    for n in range(3):  # the clock alone reverses them
        clock.call_at(1_010, lambda n=n: direct.append(n))
    clock.set(1_011)
    assert direct == [2, 1, 0]
    clock.set_timers = 0
    lane = Lane(clock)
    for n in range(5):
        lane.at(1_020 + n // 2, lambda n=n: ran.append(n))
    assert clock.set_timers == 1 and len(lane) == 5
    clock.set(1_030)
    assert ran == [0, 1, 2, 3, 4] and len(lane) == 0
    assert clock.set_timers == 3  # one for each time in turn: 1,020, 1,021, 1,022


def test_a_callback_may_give_the_lane_more_and_a_time_never_goes_back() -> None:
    clock, ran = ManualClock(1_000), []
    lane = Lane(clock)

    def first() -> None:
        ran.append("first")
        lane.at(1_005, lambda: ran.append("due now too"))
        lane.at(1_007, lambda: ran.append("later"))

    lane.at(1_005, first)
    clock.set(1_005)
    assert ran == ["first", "due now too"]
    with pytest.raises(ValueError, match="never go back"):
        lane.at(1_006, lambda: None)
    clock.set(1_010)
    assert ran == ["first", "due now too", "later"] and len(lane) == 0


def test_a_callback_that_raises_stops_none_after_it() -> None:
    clock, ran = ManualClock(1_000), []
    lane = Lane(clock)

    def fails() -> None:
        raise RuntimeError("a bug")

    lane.at(1_001, fails)
    lane.at(1_001, lambda: ran.append("next"))
    with pytest.raises(RuntimeError):
        clock.set(1_001)
    assert ran == [] and len(lane) == 1
    clock.set(1_002)
    assert ran == ["next"] and len(lane) == 0
