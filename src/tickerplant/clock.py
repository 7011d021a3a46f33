"""Time as an injected dependency: cores take ``now`` as an argument, shells ask a Clock.

Every time in tickerplant is integer Unix milliseconds, the unit Binance uses on the wire.

Two kinds of user:

- sans-I/O cores (limits, the plant, the client's delivery) never read a clock; the shell
  passes ``now_ms`` in;
- the asyncio shells schedule what the cores ask for (a ping, a rollover, the next paced
  control message) through the same clock: ``call_at`` and ``sleep_until``. With the
  ``SystemClock`` that is the event loop's timer; with the ``ManualClock`` nothing happens
  until a test moves the clock, so a test lives through a connection's 24 hours in
  milliseconds and never sleeps to synchronise.

A third kind, ``MarketClock``, reads a market's own time off a ``Timeline`` (a replay's,
at its speed) and schedules on the wall clock beneath it: ``tickerplant run`` serves on it,
so that what the server stamps and checks is the market's time (docs/run.md).
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import itertools
import math
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["Clock", "LagProbe", "ManualClock", "MarketClock", "SystemClock", "Timeline", "Timer"]


# a clock's speeds (a replay's ``--speed``, its admin listener's, ``tickerplant run``'s):
# past them the replay clock's arithmetic leaves a float's range (a year in 30 s is 1e6)
SPEEDS = (1e-6, 1e6)


def check_speed(speed: float) -> float:
    """``speed`` if it is a number within ``SPEEDS``; ValueError naming them."""
    low, high = SPEEDS
    if not (math.isfinite(speed) and low <= speed <= high):
        raise ValueError(f"a speed is a number from {low:g} to {high:g}, or max; not {speed!r}")
    return speed


def block_for(seconds: float) -> None:
    """The calling thread paused for ``seconds`` of real time: never a loop's (the journal's
    checkpointer waiting for the server's next commit; an account's delete beside a server,
    in the command line's process or an admin handler's thread)."""
    time.sleep(seconds)


class Timer(Protocol):
    """A scheduled callback; ``cancel`` is idempotent."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    def now_ms(self) -> int:
        """Current Unix time in milliseconds."""
        ...

    def now_ns(self) -> int:
        """Current Unix time in nanoseconds (receive stamps)."""
        ...

    def call_at(self, when_ms: float, callback: Callable[[], object]) -> Timer:
        """Call ``callback`` (in the running event loop) once the clock reads ``when_ms``."""
        ...

    async def sleep_until(self, when_ms: float) -> None:
        """Return once the clock reads ``when_ms`` (at once if it already does)."""
        ...


class SystemClock:
    """The wall clock; scheduling goes through the running loop's timers.

    ``offset_ms`` sets it ahead of the system's clock (negative: behind), a fixed amount:
    ``serve --clock-offset``, a testing aid for meeting a funding time or a day's turn
    without waiting for it. Every process of a server is handed the same offset, so their
    clocks agree as the system's do."""

    def __init__(self, offset_ms: int = 0) -> None:
        self.offset_ms = offset_ms
        offset_ns = offset_ms * 1_000_000
        # without an offset the C function itself, no Python frame: read twice per request
        # (its latency, for the metrics) on the request paths
        self.now_ns: Callable[[], int] = (
            time.time_ns if not offset_ns else functools.partial(_shifted_ns, offset_ns)
        )

    def now_ms(self) -> int:
        return self.now_ns() // 1_000_000

    # Delays are rounded up to whole milliseconds: uvloop's timers (libuv's) count whole
    # milliseconds and round a shorter delay to none, so a wait of 0.4 ms would return at
    # once, before the clock reads ``when_ms``, and a caller waiting for it would spin.

    def call_at(self, when_ms: float, callback: Callable[[], object]) -> Timer:
        delay_ms = max(0, math.ceil(when_ms - self.now_ns() / 1_000_000))
        return asyncio.get_running_loop().call_later(delay_ms / 1000, callback)

    async def sleep_until(self, when_ms: float) -> None:
        delay_ms = math.ceil(when_ms - self.now_ns() / 1_000_000)
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000)


def _shifted_ns(offset_ns: int) -> int:
    return time.time_ns() + offset_ns


class _ManualTimer:
    __slots__ = ("callback", "cancelled", "when_ms")

    def __init__(self, when_ms: float, callback: Callable[[], object]) -> None:
        self.when_ms = when_ms
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """A clock that only moves when told to; tests live through hours in microseconds.

    ``advance`` and ``set`` run every callback that falls due, in time order, with the
    clock reading each one's time while it runs. A coroutine waiting in ``sleep_until``
    is woken then and resumes at the loop's next turn (``await asyncio.sleep(0)``).
    """

    def __init__(self, start_ms: int = 1_767_225_600_000) -> None:
        self._now_ms = start_ms
        self._timers: list[tuple[float, int, _ManualTimer]] = []
        self._order = itertools.count()

    def now_ms(self) -> int:
        return self._now_ms

    def now_ns(self) -> int:
        return self._now_ms * 1_000_000

    def advance(self, delta_ms: int) -> None:
        if delta_ms < 0:
            raise ValueError("a clock does not run backwards")
        self._run_until(self._now_ms + delta_ms)

    def set(self, now_ms: int) -> None:
        if now_ms < self._now_ms:
            raise ValueError("a clock does not run backwards")
        self._run_until(now_ms)

    def call_at(self, when_ms: float, callback: Callable[[], object]) -> Timer:
        timer = _ManualTimer(when_ms, callback)
        heapq.heappush(self._timers, (when_ms, next(self._order), timer))
        return timer

    async def sleep_until(self, when_ms: float) -> None:
        if when_ms <= self._now_ms:
            return
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not woken.done():
                woken.set_result(None)

        timer = self.call_at(when_ms, wake)
        try:
            await woken
        finally:
            timer.cancel()

    @property
    def next_due_ms(self) -> float | None:
        """When the earliest pending callback falls due; None when nothing waits."""
        timers = self._timers
        while timers and timers[0][2].cancelled:
            heapq.heappop(timers)
        return timers[0][0] if timers else None

    def _run_until(self, end_ms: int) -> None:
        timers = self._timers
        while timers and timers[0][0] <= end_ms:
            when_ms, _, timer = heapq.heappop(timers)
            if timer.cancelled:
                continue
            self._now_ms = max(self._now_ms, int(when_ms))
            timer.cancelled = True  # ran: a later cancel() is a no-op
            timer.callback()
        self._now_ms = end_ms


class Timeline(Protocol):
    """A market's time against the wall clock's (a replay at its speed, held or playing)."""

    def market_ns(self, wall_ns: int) -> int:
        """The market's time when the wall clock reads ``wall_ns``."""
        ...

    def rate(self) -> float:
        """Market seconds per wall second now: 0 while held, ``math.inf`` unpaced."""
        ...

    def delivering_ns(self) -> int | None:
        """While the market delivers what happened at a time, that time: what the delivery
        makes is stamped with it, not with when the loop got round to it."""
        ...


# A market timer looks again at least this often (wall ms): its wall delay was worked out at
# the rate of its time, and the rate changes when the market is held, slowed or resumed.
_LOOK_AGAIN_MS = 100


class MarketClock:
    """The time of ``timeline`` (never going back, but to stamp what happened at a time
    while the market delivers it), scheduled on ``wall``.

    A timer due at a market time waits on the wall clock for that time at the market's
    current rate, at most ``_LOOK_AGAIN_MS``, and looks again: a market held or slowed meanwhile
    neither fires it early nor, resumed, leaves it waiting."""

    def __init__(self, wall: Clock, timeline: Timeline) -> None:
        self.wall = wall
        self._timeline = timeline
        self._last_ns = 0

    def now_ns(self) -> int:
        timeline = self._timeline
        if (delivering := timeline.delivering_ns()) is not None:
            return delivering  # may be behind a time read a moment ago: it is the event's own
        market_ns = timeline.market_ns(self.wall.now_ns())
        if market_ns < self._last_ns:  # a replay resumed where it stood, a little behind its pace
            return self._last_ns
        self._last_ns = market_ns
        return market_ns

    def now_ms(self) -> int:
        return self.now_ns() // 1_000_000

    def wall_delay_ms(self, when_ms: float) -> float:
        """How long to wait on the wall clock before looking again for ``when_ms``: 0 once
        it is due."""
        ahead_ms = when_ms - self.now_ns() / 1_000_000
        if ahead_ms <= 0:
            return 0.0
        rate = self._timeline.rate()
        # at least a millisecond: an unpaced market moves by batches, not by the wall's time
        return _LOOK_AGAIN_MS if rate <= 0 else max(1.0, min(_LOOK_AGAIN_MS, ahead_ms / rate))

    def call_at(self, when_ms: float, callback: Callable[[], object]) -> Timer:
        timer = _MarketTimer(self, when_ms, callback)
        timer.arm()
        return timer

    async def sleep_until(self, when_ms: float) -> None:
        wall = self.wall
        while (delay_ms := self.wall_delay_ms(when_ms)) > 0:
            await wall.sleep_until(wall.now_ns() / 1_000_000 + delay_ms)


class _MarketTimer:
    __slots__ = ("callback", "cancelled", "clock", "wall_timer", "when_ms")

    def __init__(self, clock: MarketClock, when_ms: float, callback: Callable[[], object]) -> None:
        self.clock = clock
        self.when_ms = when_ms
        self.callback = callback
        self.cancelled = False
        self.wall_timer: Timer | None = None

    def arm(self) -> None:
        wall = self.clock.wall
        delay_ms = self.clock.wall_delay_ms(self.when_ms)
        self.wall_timer = wall.call_at(wall.now_ns() / 1_000_000 + delay_ms, self.look)

    def look(self) -> None:
        if self.cancelled:
            return
        if self.clock.wall_delay_ms(self.when_ms) > 0:
            self.arm()
            return
        self.cancelled = True  # ran: a later cancel() is a no-op
        self.callback()

    def cancel(self) -> None:
        self.cancelled = True
        if self.wall_timer is not None:
            self.wall_timer.cancel()


class LagProbe(Protocol):
    """Told the signed requests of a client whose clock is weighed against the server's
    (``tickerplant run``'s bot: ``bot/governor.py``)."""

    def signed(self, query: bytes, body: bytes, now_ms: int) -> None:
        """A signed request's query string and body as received, when the server's clock
        read ``now_ms``: its ``timestamp`` is the client's clock when it signed."""
        ...

    def lag(self, timestamp_ms: int, now_ms: int) -> None:
        """A request's ``timestamp`` already read (the WebSocket API's ``params``), when the
        server's clock read ``now_ms``."""
        ...
