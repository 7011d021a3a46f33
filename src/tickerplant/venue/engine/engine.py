"""The venue's engine for one market (ARCHITECTURE.md, "The venue"): commands in, events
out. ``Engine.apply`` is the one door of a change (``domain/commands.py``): it runs the
command's checks and steps (``placement.py``: risk → match → settle; ``amendment.py``), journals what it
changed in one batch before anything is answered, and returns its events in order (they
also wait in ``outbox`` for the user data stream). What it holds and the steps the
commands share are ``state.py``'s. Sans-I/O: the time comes in as an argument.
"""

from __future__ import annotations

from tickerplant.venue.domain.commands import Amend, Cancel, Command, Outcome, Place
from tickerplant.venue.domain.events import Batch
from tickerplant.venue.engine import amendment, placement
from tickerplant.venue.engine.state import EngineState

__all__ = ["Engine"]


class Engine(EngineState):
    def apply(self, command: Command, now_ms: int) -> Outcome:
        """The one door of a change to the engine (``domain/commands.py``): the command's
        checks, then what it does, journaled in one batch before anything is answered; its
        events, in order, also wait in ``outbox`` for the user data stream."""
        start = self.outbox.made
        batch = Batch()
        if isinstance(command, Place):
            order, ack = placement.place(self, command, now_ms, batch)
        elif isinstance(command, Cancel):
            order, ack = placement.cancel(self, command, now_ms, batch), None
        elif isinstance(command, Amend):
            order, ack = amendment.modify(self, command, now_ms, batch), None
        else:
            placement.cancel_all(self, command, now_ms, batch)
            order = ack = None
        if batch:
            self.journal.commit(batch)
        return Outcome(order, ack, self.outbox.since(start))
