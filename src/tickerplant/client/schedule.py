"""When a kept connection is opened again or rolled over: a pure schedule the shell sleeps on.

One ``ConnectionSchedule`` per connection index of a stream client. The shell tells it what
happened, with the time, and sleeps until the time it answers:

- a connection that opened is rolled over ``rollover_after_ms`` later, before the
  server's 24 h limit (spec §2.4), and resets the reconnect delays: it held;
- a failed open or a lost connection is retried after the next reconnect delay
  (``backoff``; spec §2.5: an IP that keeps reconnecting may be banned);
- a failed rollover leaves the old connection serving and is tried again
  ``rollover_retry_ms`` later.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

__all__ = ["ConnectionSchedule"]


class ConnectionSchedule:
    """Rollover and reconnect times of one connection index, in Unix ms."""

    __slots__ = ("_delays", "_fresh_delays", "rollover_after_ms", "rollover_due_ms", "rollover_retry_ms")

    def __init__(
        self,
        rollover_after_ms: float,
        delays: Callable[[], Iterator[float]],
        rollover_retry_ms: float = 1000.0,
    ) -> None:
        self.rollover_after_ms = rollover_after_ms
        self.rollover_retry_ms = rollover_retry_ms
        self._fresh_delays = delays
        self._delays = delays()
        self.rollover_due_ms = math.inf  # when the serving connection is to be replaced

    def opened(self, now_ms: float) -> None:
        """A connection opened at ``now_ms`` now serves."""
        self.rollover_due_ms = now_ms + self.rollover_after_ms
        self._delays = self._fresh_delays()

    def open_failed(self, now_ms: float) -> float:
        """Opening failed at ``now_ms``: when to try again."""
        return now_ms + next(self._delays) * 1000

    def lost(self, now_ms: float) -> float:
        """The serving connection dropped at ``now_ms``: when to open another."""
        self.rollover_due_ms = math.inf
        return now_ms + next(self._delays) * 1000

    def rollover_failed(self, now_ms: float) -> None:
        """The successor could not be opened at ``now_ms``; the old connection still serves."""
        self.rollover_due_ms = now_ms + self.rollover_retry_ms
