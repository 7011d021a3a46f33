"""How much of a loop turn REST answers may take, so that streams never wait behind them.

One process serves REST, the WebSocket API and every stream from one event loop. A REST
answer is done in one piece (routed, encoded, written), and a burst of them, each read in
the same turn of the loop, used to be answered in that turn: 480 concurrent
`trades?limit=1000` inside one IP's weight budget held the loop 2–3 s, and no stream was
pushed meanwhile. Binance's REST and streams are separate services; here they share a core,
so REST takes turns:

- a turn of the loop may spend ``budget_ns`` answering REST requests (``TURN_BUDGET_MS``);
  a request that comes when the turn's budget is spent, or while others wait, waits in
  line, first come first served, and is answered in a later turn;
- the line is answered by a callback the loop runs once per turn (``schedule``,
  ``loop.call_soon``): after that turn's I/O and timers, so a stream's push, a WebSocket
  API request and every other callback get their turn between two slices of REST;
- a connection answers its pipelined requests while the budget lasts, then goes to the
  back of the line: one client's pipeline cannot hold the others up either;
- the line's first connection answers at least one request each turn, whatever the
  budget: REST never starves (``budget_ms`` 0 is one answer a turn).

What a request costs is measured around it (routing, answer, write) on the listener's
clock. A single answer is never cut (the budget bounds a turn's REST to the budget plus
one answer: a `klines?limit=1500`, encoded once, ~0.2 ms). Waiting costs nothing a
connection does not hold already: its complete head, and two reads at most (reading is
paused once anything more comes, and resumes once what was kept is answered: ``front_door``).

Sans-I/O: the loop enters only as ``schedule``, time only as ``now_ns``; a test drives both.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Protocol

__all__ = ["TURN_BUDGET_MS", "RestTurns", "Waiter"]

TURN_BUDGET_MS = 2.0  # a turn's REST, at most (plus one answer)


class Waiter(Protocol):
    """A connection with requests to answer (``front_door.FrontDoor``)."""

    def resume_answers(self) -> None:
        """Its turn: answer what it can (asking ``RestTurns.admit`` before each)."""


class RestTurns:
    """The line of connections waiting to answer, and the current turn's spending."""

    __slots__ = (
        "_answering", "_budget_ns", "_drain_scheduled", "_granted", "_now_ns", "_queued", "_schedule",
        "_spent_ns", "_turn_open", "_waiting", "queued", "turns_from_line",
    )  # fmt: skip

    def __init__(
        self,
        schedule: Callable[[Callable[[], None]], object],
        now_ns: Callable[[], int],
        budget_ms: float = TURN_BUDGET_MS,
    ) -> None:
        self._schedule = schedule
        self._now_ns = now_ns
        self._budget_ns = round(budget_ms * 1_000_000)
        self._spent_ns = 0
        self._turn_open = False  # spending in this turn: its end is scheduled
        self._drain_scheduled = False
        self._waiting: deque[Waiter] = deque()
        self._queued: set[Waiter] = set()
        self._answering: Waiter | None = None  # the waiter the line is answering now
        self._granted = False  # the turn's one answer past the budget is still to give
        self.queued = 0  # times a connection was put in line
        self.turns_from_line = 0  # turns that answered from the line

    def __len__(self) -> int:
        """Connections waiting in line."""
        return len(self._waiting)

    def admit(self, waiter: Waiter) -> bool:
        """Whether ``waiter`` may answer a request now. If not, it is in line (once) and
        will be told ``resume_answers`` in a later turn; it should stop reading meanwhile."""
        if waiter is self._answering and self._granted:
            self._granted = False  # the line moves each turn, whatever the budget
            return True
        if (waiter is self._answering or not self._waiting) and self._spent_ns < self._budget_ns:
            if not self._turn_open:
                self._turn_open = True
                self._schedule(self._end_turn)
            return True
        if waiter not in self._queued:
            self.queued += 1
            self._queued.add(waiter)
            self._waiting.append(waiter)
        self._schedule_drain()
        return False

    def started(self) -> int:
        """The time an answer starts (``spent`` takes it back)."""
        return self._now_ns()

    def spent(self, started_ns: int) -> None:
        """An answer that began at ``started_ns`` is written."""
        self._spent_ns += self._now_ns() - started_ns

    def forget(self, waiter: Waiter) -> None:
        """``waiter``'s connection is gone: it leaves the line."""
        if waiter in self._queued:
            self._queued.discard(waiter)
            self._waiting.remove(waiter)

    def _end_turn(self) -> None:
        self._turn_open = False
        self._spent_ns = 0

    def _schedule_drain(self) -> None:
        if not self._drain_scheduled:
            self._drain_scheduled = True
            self._schedule(self._drain)

    def _drain(self) -> None:
        """A new turn: answer from the line until the budget is spent."""
        self._drain_scheduled = False
        self._spent_ns = 0
        self._turn_open = True
        self._schedule(self._end_turn)
        self.turns_from_line += 1
        waiting, queued = self._waiting, self._queued
        self._granted = True
        try:
            while waiting and (self._granted or self._spent_ns < self._budget_ns):
                waiter = waiting.popleft()
                queued.discard(waiter)
                self._answering = waiter
                try:
                    waiter.resume_answers()
                finally:
                    self._answering = None
        finally:  # one that raised (a bug) leaves the line moving: the rest at the next turn
            self._granted = False
            if waiting:
                self._schedule_drain()
