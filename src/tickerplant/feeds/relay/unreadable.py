"""The upstream frames the relay could not read: counted, and said in the log at most once
per ``interval_ms``, with how many came since the last line, so that an upstream sending
nothing but garbage cannot fill the disk (``logs.WarningBudget`` bounds a kind of line too,
but would drop the count). Sans-I/O: time is an argument.

What counts: a frame the client could not take apart (not the combined form's JSON, §2.3),
a frame the client handed out neither as data nor as a reply (one off the compact combined
form: a raw or unusually spaced frame, or not JSON; ``RawStreams.passed_over``, looked at
once a second), and a depth event the relay's book could not read (its book is dropped and
synced again, as after a loss). Each is passed over, and the relay goes on with the frames
after it. ``total`` is the admin listener's ``tickerplant_relay_unreadable_frames_total``.
"""

from __future__ import annotations

import math

__all__ = ["UNREADABLE_LOG_MS", "Unreadable"]

UNREADABLE_LOG_MS = 10_000  # at most one line about unreadable frames per 10 s


class Unreadable:
    """A count of unreadable frames, and when to say so."""

    def __init__(self, interval_ms: float = UNREADABLE_LOG_MS) -> None:
        self.interval_ms = interval_ms
        self.total = 0  # ever: the metric's counter
        self._since = 0  # since the last line
        self._said_ms = -math.inf

    def note(self, now_ms: float, count: int = 1) -> int | None:
        """``count`` more came at ``now_ms``: how many to say now, with the ones held since
        the last line; None while the last line is too recent."""
        self.total += count
        self._since += count
        if now_ms - self._said_ms < self.interval_ms:
            return None
        said, self._since, self._said_ms = self._since, 0, now_ms
        return said
