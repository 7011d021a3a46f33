"""The documented limits of one connection, as a clocked state machine without I/O.

spec §2.4: the server pings every 3 minutes; any pong (solicited or not, any payload)
counts as liveness; no pong for 10 minutes closes; a connection lives at most 24 hours.
spec §2.5: more than 10 incoming messages per second closes with 1008 "Too many requests".
What counts is unspecified for futures; like spot we count text frames, pings and pongs.

The shell calls ``on_incoming`` / ``on_pong`` as frames arrive and ``poll(now)`` when
``next_deadline_ms`` passes; ``poll`` says whether to ping or to close.
"""

from __future__ import annotations

import enum
from collections import deque
from typing import NamedTuple

from tickerplant.config import LimitsConfig
from tickerplant.protocol.errors import (
    CLOSE_LIFETIME,
    CLOSE_PONG_TIMEOUT,
    CLOSE_TOO_MANY_REQUESTS,
    CloseReason,
)

__all__ = ["ConnectionLimits", "Due", "LimitState"]

_RATE_WINDOW_MS = 1000


class LimitState(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class Due(NamedTuple):
    send_ping: bool = False
    close: CloseReason | None = None


_NOTHING = Due()


class ConnectionLimits:
    __slots__ = (
        "_arrivals",
        "_max_rate",
        "_next_ping_ms",
        "_ping_interval_ms",
        "_pong_deadline_ms",
        "_pong_timeout_ms",
        "expires_ms",
        "state",
    )

    def __init__(self, config: LimitsConfig, now_ms: int) -> None:
        self.state = LimitState.OPEN
        self._ping_interval_ms = round(config.ping_interval_s * 1000)
        self._pong_timeout_ms = round(config.pong_timeout_s * 1000)
        self._max_rate = config.max_incoming_rate
        self.expires_ms = now_ms + round(config.max_connection_age_s * 1000)
        self._next_ping_ms = now_ms + self._ping_interval_ms
        self._pong_deadline_ms = now_ms + self._pong_timeout_ms
        # Arrival times of the last `max_rate` messages: the next one is over the limit
        # when the oldest of them is less than a second old.
        self._arrivals: deque[int] = deque(maxlen=max(1, self._max_rate))

    @property
    def next_deadline_ms(self) -> int:
        return min(self._next_ping_ms, self._pong_deadline_ms, self.expires_ms)

    def on_incoming(self, now_ms: int) -> CloseReason | None:
        """A text frame, ping or pong arrived; returns a close when it breaks the rate."""
        if self.state is LimitState.CLOSED:
            return None
        arrivals = self._arrivals
        if len(arrivals) == self._max_rate and now_ms - arrivals[0] < _RATE_WINDOW_MS:
            self.state = LimitState.CLOSED
            return CLOSE_TOO_MANY_REQUESTS
        arrivals.append(now_ms)
        return None

    def on_pong(self, now_ms: int) -> None:
        self._pong_deadline_ms = now_ms + self._pong_timeout_ms

    def poll(self, now_ms: int) -> Due:
        if self.state is LimitState.CLOSED:
            return _NOTHING
        if now_ms >= self.expires_ms:
            self.state = LimitState.CLOSED
            return Due(close=CLOSE_LIFETIME)
        if now_ms >= self._pong_deadline_ms:
            self.state = LimitState.CLOSED
            return Due(close=CLOSE_PONG_TIMEOUT)
        if now_ms >= self._next_ping_ms:
            self._next_ping_ms = now_ms + self._ping_interval_ms
            return Due(send_ping=True)
        return _NOTHING
