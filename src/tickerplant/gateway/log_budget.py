"""How much a listener may write to its log about what its clients do.

A client decides how often the server warns (every never-delivering name it subscribes
is a warning), so without a bound one connection within every documented limit could
fill the disk and the CPU with log lines. ``LogBudget`` lets ``per_interval`` records of
a kind through per ``interval_ms`` and counts the rest; the first record let through
after some were held says how many. Kinds are the code's own few strings, never a
client's text, so the table is bounded by design. Sans-I/O: time is an argument.
"""

from __future__ import annotations

__all__ = ["LogBudget", "held_note"]


class LogBudget:
    """At most ``per_interval`` log records of one kind per ``interval_ms``."""

    __slots__ = ("_held", "_spent", "_window_ms", "interval_ms", "per_interval", "suppressed")

    def __init__(self, per_interval: int = 10, interval_ms: int = 10_000) -> None:
        if per_interval <= 0 or interval_ms <= 0:
            raise ValueError("a log budget must allow something per positive interval")
        self.per_interval = per_interval
        self.interval_ms = interval_ms
        self._window_ms: dict[str, int] = {}  # kind -> start of its current interval
        self._spent: dict[str, int] = {}  # kind -> records let through in it
        self._held: dict[str, int] = {}  # kind -> records held since the last let through
        self.suppressed: dict[str, int] = {}  # kind -> records held, ever (a counter)

    def allow(self, kind: str, now_ms: int) -> int | None:
        """None if this record is held back; else how many of its kind were held since the
        last one let through (0 most of the time), for the record to say."""
        start = self._window_ms.get(kind)
        if start is None or not 0 <= now_ms - start < self.interval_ms:  # a clock set back: a new one too
            self._window_ms[kind] = now_ms
            self._spent[kind] = 0
        if self._spent[kind] >= self.per_interval:
            self._held[kind] = self._held.get(kind, 0) + 1
            self.suppressed[kind] = self.suppressed.get(kind, 0) + 1
            return None
        self._spent[kind] += 1
        return self._held.pop(kind, 0)


def held_note(held: int) -> str:
    """The suffix a record let through after ``held`` were held back."""
    return f" ({held} more like it were not logged)" if held else ""
