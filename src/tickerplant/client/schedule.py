"""When a kept connection is opened again or rolled over: a pure schedule the shell sleeps on.

One ``ConnectionSchedule`` per connection index of a stream client. The shell tells it what
happened, with the time, and sleeps until the time it answers:

- a connection that opened is rolled over ``rollover_after_ms`` later, before the
  server's 24 h limit (spec §2.4);
- a failed open or a lost connection is retried after the next reconnect delay
  (``backoff``; spec §2.5: an IP that keeps reconnecting may be banned); the delays start
  afresh only after a connection that held, one lost ``held_ms`` or more after it opened: a
  server that takes each connection and drops it at once (a 1013 "Try again later", a
  proxy's) is met with longer and longer waits, not a reconnect every 0.1 s;
- a failed rollover leaves the old connection serving and is tried again
  ``rollover_retry_ms`` later.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

__all__ = ["HELD_MS", "ConnectionSchedule"]

HELD_MS = 10_000  # a connection that served this long held: the reconnect delays start afresh


class ConnectionSchedule:
    """Rollover and reconnect times of one connection index, in Unix ms."""

    __slots__ = (
        "_delays", "_fresh_delays", "_held_ms", "_opened_ms", "rollover_after_ms", "rollover_due_ms",
        "rollover_retry_ms",
    )  # fmt: skip

    def __init__(
        self,
        rollover_after_ms: float,
        delays: Callable[[], Iterator[float]],
        rollover_retry_ms: float = 1000.0,
        held_ms: float = HELD_MS,
    ) -> None:
        self.rollover_after_ms = rollover_after_ms
        self.rollover_retry_ms = rollover_retry_ms
        self._fresh_delays = delays
        self._delays = delays()
        self._held_ms = held_ms
        self._opened_ms = math.inf  # when the serving connection opened
        self.rollover_due_ms = math.inf  # when the serving connection is to be replaced

    def opened(self, now_ms: float) -> None:
        """A connection opened at ``now_ms`` now serves."""
        self.rollover_due_ms = now_ms + self.rollover_after_ms
        self._opened_ms = now_ms

    def open_failed(self, now_ms: float) -> float:
        """Opening failed at ``now_ms``: when to try again."""
        return now_ms + next(self._delays) * 1000

    def lost(self, now_ms: float) -> float:
        """The serving connection dropped at ``now_ms``: when to open another."""
        self.rollover_due_ms = math.inf
        if now_ms - self._opened_ms >= self._held_ms:  # it held: a fresh start
            self._delays = self._fresh_delays()
        self._opened_ms = math.inf
        return now_ms + next(self._delays) * 1000

    def rollover_failed(self, now_ms: float) -> None:
        """The successor could not be opened at ``now_ms``; the old connection still serves."""
        self.rollover_due_ms = now_ms + self.rollover_retry_ms
