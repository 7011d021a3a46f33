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

A commit that fails (the disk full), or a batch that cannot be written, leaves the engines
holding what the journal does not: nothing that waited is acknowledged, and ``failed`` is
told (the server stops: restarted, it is what the journal holds, and the clients whose
answers never came query). The user data drains run before the answers that waited with
them (``later``), and an acknowledgement that raises does not keep the others from running.

Without a running loop (the engines' unit tests) the journal commits each batch at once.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
from collections.abc import Callable
from typing import Protocol

from tickerplant.venue.book.ports import Journal
from tickerplant.venue.domain.events import Batch

__all__ = ["GroupCommit", "Staging", "Stamped"]

log = logging.getLogger("tickerplant.venue")


class Staging(Protocol):
    """The journal underneath (``sqlite_journal.SqliteJournal``)."""

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
        # the user data drains to run once committed, released first: each the first time it
        # was called in the group (a drain takes everything reported since the last)
        self._drains: dict[Callable[[int], object], int] = {}
        self._waiting: list[Callable[[], object]] = []
        self._between: list[Callable[[], object]] = []  # for after the next commit's answers
        self.groups = 0  # transactions committed
        self.batches = 0  # batches they held

    @property
    def pending(self) -> bool:
        """Whether a transaction is open, so that an acknowledgement must wait."""
        return self._due

    def commit(self, batch: Batch) -> None:
        """The engines' journal (``resting.Journal``): ``batch`` into this iteration's. A batch
        that cannot be written leaves the engine holding what the journal does not: ``failed``
        (the server stops), and the error is raised to the command."""
        if not self._due:  # first: what was staged before a failing batch is committed
            self._due = True
            self._schedule(self.flush)
        try:
            self.journal.stage(batch)
        except sqlite3.Error as error:
            self._failed(error)
            raise
        self.batches += 1

    def after(self, act: Callable[[], object]) -> None:
        """``act`` once what is staged is committed: now, when nothing is."""
        if self._due:
            self._waiting.append(act)
        else:
            act()

    def between(self, act: Callable[[], object]) -> None:
        """``act`` between two transactions: now, when none is open; else once what is staged
        is committed and what waited for it released (the journal's ``finish_checkpoint``,
        which must not run inside a transaction and need not hold an answer back)."""
        if self._due:
            self._between.append(act)
        else:
            act()

    def later(self, drain: Callable[[int], object]) -> Callable[[int], None]:
        """``drain`` (a market's user data drain) run once what is staged is committed, before
        the answers waiting with it: an answer released may let its connection's next command
        in, whose events must wait for the next commit, not leave with these. A drain takes
        everything reported since it last ran (``UserData.drain``: ``Outbox.take``), so a
        group runs it once, at the time of its first call in the group: every later call
        found nothing left to take."""

        def drained(now_ms: int) -> None:
            if self._due:
                self._drains.setdefault(drain, now_ms)
            else:
                drain(now_ms)

        return drained

    def flush(self) -> None:
        """Commit what is staged, then release what waited for it: the drains, then the rest,
        each in the order it came. One that raises is logged; the others still run."""
        if not self._due:
            return
        self._due = False
        drains: list[Callable[[], object]] = [functools.partial(d, ms) for d, ms in self._drains.items()]
        waiting, self._drains, self._waiting = [*drains, *self._waiting], {}, []
        between, self._between = self._between, []
        try:
            self.journal.commit_staged()
        except sqlite3.Error as error:
            self._failed(error)
            return
        self.groups += 1
        _each(waiting, "an acknowledgement after the journal's commit")
        _each(between, "work between the journal's transactions")


def _each(acts: list[Callable[[], object]], what: str) -> None:
    """Run every one of ``acts``: one that raises is logged, the others still run."""
    for act in acts:
        try:
            act()
        except Exception:
            log.exception("%s failed", what)


class Stamped:
    """One engine's journal: its batches stamped with its market (``Batch.market``), whose
    wallets their changes are, then committed through ``journal`` (both engines share it)."""

    def __init__(self, journal: Journal, market: str) -> None:
        self.journal = journal
        self.market = market

    def commit(self, batch: Batch) -> None:
        batch.market = self.market
        self.journal.commit(batch)
