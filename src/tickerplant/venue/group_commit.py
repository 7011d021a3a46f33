"""Group commit: what one loop iteration's commands changed, journaled in one transaction,
and every acknowledgement held until it is committed (ARCHITECTURE.md, "Event sourcing":
"journal what one loop iteration accepted in one transaction, then acknowledge all of it").

It stands where the engines' journal stands (``commit``): each batch is written at once into
the open transaction (``SqliteJournal.stage``, a savepoint each, so a batch that fails
leaves nothing of itself), and the first of an iteration schedules ``flush`` for the end of
the iteration (``schedule``: the loop's ``call_soon``). Whatever acknowledges, a REST answer,
a WebSocket API reply, an answer to a gateway's forwarded command, a user data event, waits
with ``after`` while a transaction is open, and runs once it is committed, in the order it
waited. Nothing acknowledged is then lost to ``kill -9``: an order whose answer left is in
the journal (WAL, ``synchronous = NORMAL``).

A reply made while a transaction is open waits even when its own command wrote nothing (a
query): it may show what another command of the iteration did, which is not durable yet.

A commit that fails (the disk full) leaves the engines holding what the journal does not:
nothing that waited is acknowledged, and ``failed`` is told (the server stops: restarted, it
is what the journal holds, and the clients whose answers never came query).

Without a running loop (the engines' unit tests) the journal commits each batch at once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Protocol

from tickerplant.venue.events import Batch

__all__ = ["GroupCommit", "Staging"]


class Staging(Protocol):
    """The journal underneath (``journal.SqliteJournal``)."""

    def stage(self, batch: Batch) -> None: ...

    def commit_staged(self) -> None: ...


class GroupCommit:
    def __init__(
        self,
        journal: Staging,
        schedule: Callable[[Callable[[], None]], object],
        failed: Callable[[sqlite3.Error], None],
    ) -> None:
        self.journal = journal
        self._schedule = schedule
        self._failed = failed
        self._due = False  # batches are staged: a flush is scheduled
        self._waiting: list[Callable[[], object]] = []
        self.groups = 0  # transactions committed
        self.batches = 0  # batches they held

    @property
    def pending(self) -> bool:
        """Whether a transaction is open, so that an acknowledgement must wait."""
        return self._due

    def commit(self, batch: Batch) -> None:
        """The engines' journal (``resting.Journal``): ``batch`` into this iteration's."""
        self.journal.stage(batch)
        self.batches += 1
        if not self._due:
            self._due = True
            self._schedule(self.flush)

    def after(self, act: Callable[[], object]) -> None:
        """``act`` once what is staged is committed: now, when nothing is."""
        if self._due:
            self._waiting.append(act)
        else:
            act()

    def later(self, drain: Callable[[int], object]) -> Callable[[int], None]:
        """``drain`` (a market's user data drain) run ``after`` the commit."""

        def drained(now_ms: int) -> None:
            self.after(lambda: drain(now_ms))

        return drained

    def flush(self) -> None:
        """Commit what is staged, then release what waited for it."""
        if not self._due:
            return
        self._due = False
        waiting, self._waiting = self._waiting, []
        try:
            self.journal.commit_staged()
        except sqlite3.Error as error:
            self._failed(error)
            return
        self.groups += 1
        for act in waiting:
            act()
