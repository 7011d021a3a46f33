"""How much a pause costs the next piece of work on this machine: the same pure-Python pass
over a working set of objects (3,000 dict lookups, at random, among 40,000 small dicts and their
strings and lists: a few MB, more than a core's own caches hold), timed back to back and then
each after ``pause_s`` of sleep, in this process's CPU time.

A server between two requests sleeps in its loop's poll. On a machine whose last-level cache
is shared with other work (a virtual machine's host), what a request's code and state left in
the caches is gone a millisecond later, and the next request pays memory's latency for it: the
steady-rate latencies of ``orders`` move with this factor (docs/benchmarks.md, "Cold requests
at a steady rate"). Printed beside them, it says how much of a figure is the machine's."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

__all__ = ["Pause", "pause_cost"]


@dataclass(frozen=True)
class Pause:
    back_to_back_us: float  # the pass's median CPU time with no pause before it
    after_pause_us: float  # the same after ``pause_s`` of sleep
    pause_s: float

    @property
    def factor(self) -> float:
        return self.after_pause_us / self.back_to_back_us


def pause_cost(pause_s: float = 0.001, passes: int = 200, seed: int = 1) -> Pause:
    """The median CPU time of the pass back to back and after ``pause_s`` of sleep."""
    rng = random.Random(seed)
    objects = [{"a": i, "b": str(i), "c": [i, i + 1]} for i in range(40_000)]
    order = rng.sample(range(len(objects)), 3_000)

    def one_pass() -> int:
        total = 0
        for i in order:
            found = objects[i]
            total += found["a"] + len(found["b"]) + found["c"][1]
        return total

    def median_us(pause: float) -> float:
        times = []
        for _ in range(passes):
            if pause:
                time.sleep(pause)
            started = time.thread_time_ns()
            one_pass()
            times.append(time.thread_time_ns() - started)
        return sorted(times)[len(times) // 2] / 1000

    median_us(0.0)  # the objects made and touched once: not what is measured
    return Pause(median_us(0.0), median_us(pause_s), pause_s)
