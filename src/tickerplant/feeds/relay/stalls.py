"""When the relay takes a silent upstream connection for lost. Sans-I/O: time is an argument.

A connection that stays open while its upstream stalls (a frozen process, a stuck feed) is
noticed by the client's keep-alive only after its ping interval and pong timeout (40 s by
default), or never when the socket still answers pings; meanwhile the venue would fill
orders against a frozen book. The relay knows better of some streams: a mark price stream
pushes whether or not anything trades (``markPrice`` every 3 s, ``@1s`` and the arrays
every second, spec §4.6, §4.14). So once such a stream has delivered, ``SILENCE_MS`` without
a push from it is a stall: the connection carrying it is dropped and reconnected as after a
loss (its books out of sync meanwhile, its local clients closed 1012).

A stream is watched from its first push after the relay subscribed or lost it, not before:
an upstream that never sends it (a replay with no mark prices) is not taken for a stalled
one, and a stream stopped for good is given up after one reconnect, not dropped again and
again. A relay of no mark price kind has nothing to watch, and its stalls wait for the
client's keep-alive.

Memory: one time per watched stream, the relay's mark streams at most.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["SILENCE_MS", "StallWatch"]

# three pushes of the slowest watched stream (`markPrice`, 3 s) missed, and a second of slack
SILENCE_MS = 10_000


class StallWatch:
    """The last push of each watched stream, and which have been silent too long."""

    def __init__(self, silence_ms: float = SILENCE_MS) -> None:
        if silence_ms <= 0:
            raise ValueError("silence_ms must be positive")
        self.silence_ms = silence_ms
        self._heard: dict[str, float] = {}  # stream -> its last push, while watched

    def heard(self, stream: str, now_ms: float) -> None:
        """A push of the watched ``stream`` came at ``now_ms`` (its watch starts, or goes on)."""
        self._heard[stream] = now_ms

    def lost(self, streams: Iterable[str] | None) -> None:
        """``streams`` (None: all) were lost: not watched until they push again."""
        if streams is None:
            self._heard.clear()
            return
        for stream in streams:
            self._heard.pop(stream, None)

    def stalled(self, now_ms: float) -> list[str]:
        """The streams silent for ``silence_ms`` by ``now_ms``; no longer watched from here."""
        limit = now_ms - self.silence_ms
        silent = [stream for stream, at in self._heard.items() if at <= limit]
        for stream in silent:
            del self._heard[stream]
        return silent

    def next_ms(self) -> float:
        """When ``stalled`` may next name one (``inf``: nothing is watched)."""
        return min(self._heard.values()) + self.silence_ms if self._heard else math.inf
