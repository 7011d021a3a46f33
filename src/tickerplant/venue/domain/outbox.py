"""The events a venue's engine made and the user data stream has not taken yet: bounded,
kept command by command (``domain/events.py``'s ``Event``; ``Engine.apply`` puts them)."""

from __future__ import annotations

from collections import deque

from tickerplant.venue.domain.events import Event

__all__ = ["EVENTS_KEPT", "Outbox"]

EVENTS_KEPT = 10_000  # events waiting for the user data stream, the oldest dropped first


class Outbox:
    """The events not yet taken by the user data stream, at most ``EVENTS_KEPT``, kept by
    the command that made them: part 4 §4.3's order (``TRADE_LITE`` first) is each
    command's, and one drain of the stream takes several commands' (``take_made``)."""

    def __init__(self) -> None:
        self._made: deque[tuple[Event, ...]] = deque()  # a command's events each, oldest first
        self._count = 0  # events in ``_made``

    def extend(self, events: tuple[Event, ...]) -> None:
        """A command's events, in order (``Engine.apply``); the oldest dropped past the bound."""
        if not events:
            return
        self._made.append(events)
        self._count += len(events)
        while self._count > EVENTS_KEPT:  # the oldest events first, a command's head if need be
            excess, oldest = self._count - EVENTS_KEPT, self._made[0]
            if len(oldest) <= excess:
                self._made.popleft()
                self._count -= len(oldest)
            else:
                self._made[0] = oldest[excess:]
                self._count -= excess

    def take_made(self) -> list[tuple[Event, ...]]:
        """Every event not yet taken, command by command."""
        taken = list(self._made)
        self._made.clear()
        self._count = 0
        return taken

    def take(self) -> list[Event]:
        """Every event not yet taken, in order."""
        return [event for made in self.take_made() for event in made]
