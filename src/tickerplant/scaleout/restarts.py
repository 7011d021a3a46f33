"""A supervised process' restarts, without I/O: how long to wait before the next start, and
what the supervisor's ``/api/status`` says of the process (``processes``), time passed in.

The wait is ``client.backoff``'s, without jitter: the first delay (``restart_delay_s``, 1 s), doubled for each
exit in a row, up to ``MAX_RESTART_DELAY_S`` (30 s). It starts again from the first delay
once a process has served ``STABLE_MS`` (30 s) before it exited: counted from when it was
ready (its ready line), not from its start, so a process that keeps dying during its
start-up, however long that takes, keeps backing off, and one that served for half a
minute is a new incident, not the next step of a crash loop. The delay is there for crash
loops (a corrupt file, a bug met at every start); each wait is visible while it lasts, as
the process' state (``down``), since when, and when the next start is due.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tickerplant.client.backoff import backoff

__all__ = ["MAX_RESTART_DELAY_S", "STABLE_MS", "ChildLife", "RestartDelays"]

STABLE_MS = 30_000  # a process that served this long before it exited: from the first delay again
MAX_RESTART_DELAY_S = 30.0


class RestartDelays:
    """One process' restart delays: ``client.backoff``'s from ``first_s``, doubling to
    ``MAX_RESTART_DELAY_S``, started afresh for a process that had served ``STABLE_MS``."""

    def __init__(self, first_s: float) -> None:
        self.first_s = first_s
        self._delays = self._fresh()

    def _fresh(self) -> Iterator[float]:
        return backoff(self.first_s, 2.0, MAX_RESTART_DELAY_S, jitter=0.0)

    def next_ms(self, served_ms: int | None = None) -> int:
        """The wait before the next start, the last run having served ``served_ms`` since it
        was ready (None: it never was)."""
        if served_ms is not None and served_ms >= STABLE_MS:
            self._delays = self._fresh()
        return round(1000 * next(self._delays))


class ChildLife:
    """One supervised process through its starts and exits: ``starting`` (spawned, not yet
    ready), ``up`` (ready), ``down`` (exited, its next start due at ``next_start_ms``)."""

    def __init__(self, name: str, role: str, first_delay_s: float) -> None:
        self.name = name
        self.role = role
        self.state = "starting"
        self.since_ms = 0  # when it entered its state
        self.pid: int | None = None
        self.starts = 0
        self.last_exit: int | None = None  # its last exit status (negative: the signal)
        self.next_start_ms: int | None = None  # down: when it is started again
        self._ready_ms: int | None = None  # this run's
        self._delays = RestartDelays(first_delay_s)

    @property
    def restarts(self) -> int:
        return max(0, self.starts - 1)

    def started(self, pid: int, now_ms: int) -> None:
        self.state, self.since_ms, self.pid = "starting", now_ms, pid
        self.starts += 1
        self.next_start_ms = self._ready_ms = None

    def ready(self, now_ms: int) -> None:
        self.state, self.since_ms, self._ready_ms = "up", now_ms, now_ms

    def exited(self, code: int | None, now_ms: int) -> int:
        """It exited with ``code``: down from now; the wait before its next start, in ms."""
        served = None if self._ready_ms is None else now_ms - self._ready_ms
        return self._down(code, self._delays.next_ms(served), now_ms)

    def failed_to_start(self, now_ms: int) -> int:
        """A start that did not happen (the nats-server's port taken, say): the next wait."""
        return self._down(self.last_exit, self._delays.next_ms(), now_ms)

    def _down(self, code: int | None, delay_ms: int, now_ms: int) -> int:
        self.state, self.since_ms, self.last_exit = "down", now_ms, code
        self._ready_ms = None
        self.next_start_ms = now_ms + delay_ms
        return delay_ms

    def status(self) -> dict[str, Any]:
        """The process as ``/api/status`` lists it (docs/operations.md, "Status")."""
        return {
            "name": self.name, "role": self.role, "state": self.state, "sinceMs": self.since_ms,
            "pid": self.pid, "restarts": self.restarts, "lastExit": self.last_exit,
            "nextStartMs": self.next_start_ms,
        }  # fmt: skip
