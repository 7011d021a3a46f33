"""Giving memory back to the system after a wave of connections has closed.

CPython returns its small-object arenas once they are empty, but larger blocks (transport
buffers, frames and replies over 512 bytes, reassembled messages) come from glibc's malloc,
which keeps what is freed in its heap for reuse: after 5,000 connections closed, the
server's RSS stayed ~130 MB above where it started, and ``malloc_trim(0)`` gave ~90 MB of
it back (``benchmarks/soak/scenario.py``). Trimming walks the heap and holds the event loop while it
does (tens of milliseconds at a few hundred MB), so it is done after a wave, not per close:

- a wave is over when at least ``min_closes`` (1,000) connections have closed since the
  last trim and the live ones are at most half their peak since then. Closes are counted,
  not the fall of the live count: a server short of CPU accepts a wave slowly and never
  holds much of it at once (waves of 5,000 as ``benchmarks/soak/scenario.py`` opens them, against a
  server short of CPU on a busy machine, peaked at ~900 live, the rest accepted from the
  backlog after their clients had closed them), and a fall of 1,000 live connections then
  never came: the allocator was trimmed after the first wave only (or none), and RSS after
  each later wave stayed 15 to 20 MB above what a trim gave back;
- the trim runs once the closes have slowed to at most ``quiet_closes`` (10) in
  ``quiet_ms`` (1 s), looked at every ``quiet_ms``, so the whole wave has closed first (a
  trim while a wave is still closing gives back little of it), and never sooner than
  ``min_interval_ms`` (10 s) after the previous one. (At 30 s, waves 30 s apart pushed each
  trim a little later than the last, until they ran in the middle of the next wave and
  gave nothing back.) A steady churn of short connections (REST answers one request a
  connection) faster than that never slows down, so it never trims; a slower one trims at
  most once per 1,000 closes.

``TrimSchedule`` decides (sans-I/O: time is an argument); ``AllocatorTrim`` is its shell: it
counts the listener's connections, schedules through the injected clock, calls glibc's
``malloc_trim`` (nothing where there is none) and logs what it gave back.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os
from collections.abc import Callable

from tickerplant.clock import Clock, Timer

__all__ = ["AllocatorTrim", "TrimSchedule"]

log = logging.getLogger("tickerplant.gateway")


class TrimSchedule:
    """When to trim, from the connections opened and closed."""

    __slots__ = (
        "_armed", "_last_ms", "_seen", "closes", "live", "min_closes", "min_interval_ms", "peak",
        "quiet_closes", "quiet_ms",
    )  # fmt: skip

    def __init__(
        self,
        min_closes: int = 1_000,
        quiet_ms: int = 1_000,
        min_interval_ms: int = 10_000,
        quiet_closes: int = 10,
    ) -> None:
        self.min_closes = min_closes
        self.quiet_ms = quiet_ms
        self.quiet_closes = quiet_closes
        self.min_interval_ms = min_interval_ms
        self.live = 0  # connections open now
        self.peak = 0  # the most open at once since the last trim
        self.closes = 0  # connections closed since the last trim
        self._last_ms: int | None = None  # the last trim
        self._armed = False
        self._seen = 0  # ``closes`` at the last look

    def opened(self) -> None:
        self.live += 1
        if self.live > self.peak:
            self.peak = self.live

    def closed(self, now_ms: int) -> int | None:
        """A connection closed: when to look whether the wave is over, if this close makes
        one (once per wave)."""
        self.live -= 1
        self.closes += 1
        if self._armed or self.closes < self.min_closes or self.live * 2 > self.peak:
            return None
        self._armed = True
        self._seen = self.closes
        when = now_ms + self.quiet_ms
        if self._last_ms is not None:
            when = max(when, self._last_ms + self.min_interval_ms)
        return when

    def due(self, now_ms: int) -> int | None:
        """The look ``closed`` (or the previous look) asked for: None when the closes have
        slowed and the trim is due now; else when to look again."""
        recent, self._seen = self.closes - self._seen, self.closes
        return now_ms + self.quiet_ms if recent > self.quiet_closes else None

    def trimmed(self, now_ms: int) -> None:
        self._armed = False
        self._last_ms = now_ms
        self.peak = self.live
        self.closes = 0


@functools.cache  # once a process: find_library runs ``ldconfig -p`` (a fork) each time
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None  # not glibc: nothing to trim this way
    if trim is not None:
        trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return float("nan")


class AllocatorTrim:
    """Counts a listener's connections and trims the allocator after each wave of closes."""

    def __init__(self, clock: Clock, schedule: TrimSchedule | None = None) -> None:
        self.clock = clock
        self.schedule = schedule or TrimSchedule()
        self.trims = 0
        self._trim = _malloc_trim()
        self._timer: Timer | None = None

    def opened(self) -> None:
        self.schedule.opened()

    def closed(self) -> None:
        when_ms = self.schedule.closed(self.clock.now_ms())
        if when_ms is not None:
            self._timer = self.clock.call_at(when_ms, self._run)

    def _run(self) -> None:
        self._timer = None
        again_ms = self.schedule.due(self.clock.now_ms())
        if again_ms is not None:  # the wave is still closing
            self._timer = self.clock.call_at(again_ms, self._run)
            return
        closed = self.schedule.closes
        self.schedule.trimmed(self.clock.now_ms())
        if self._trim is None:
            return
        before, started_ns = _rss_mb(), self.clock.now_ns()
        self._trim(0)
        took_ms, after = (self.clock.now_ns() - started_ns) / 1e6, _rss_mb()
        self.trims += 1
        log.info(
            "memory: %d connections closed; the allocator gave back %.0f MB (RSS %.0f -> %.0f MB, %.0f ms)",
            closed, before - after, before, after, took_ms,
        )  # fmt: skip

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
