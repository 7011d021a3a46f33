"""An answer made in pieces, so that one long answer shares the loop with everything else.

One process answers REST, the WebSocket API and every stream from one event
loop, and ``gateway/rest_turns.py`` gives REST a budget per turn of it. A budget cannot cut
an answer made in one call: the first `fundingRate` of every symbol (``limit=1000``) asks
the simulated past for ~1,000 funding events it has not made yet, ~2.4 ms each, and held
the loop ~2.4 s while no stream was pushed. Such an answer is a ``Later`` instead: its
``pieces`` make what the answer needs, one piece a ``step`` (a few milliseconds at most),
and ``finish`` makes the answer from what the pieces made. Whoever holds it takes one step
a turn or a few (the front door, within the REST budget) and writes the answer when
``step`` says it is ready.

The pieces only warm what ``finish`` reads (bounded caches): the answer is ``finish``'s,
made in one call, exactly what it would have been without them. Sans-I/O: nothing here
knows a loop or a clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

__all__ = ["Later", "eventually"]

T = TypeVar("T")
U = TypeVar("U")


class Later(Generic[T]):
    """An answer still being made: ``step`` until it returns True, then ``result``."""

    __slots__ = ("_finish", "_pieces", "result")

    def __init__(self, pieces: Iterator[object], finish: Callable[[], T]) -> None:
        self._pieces = pieces
        self._finish = finish

    def step(self) -> bool:
        """Make one piece, or the answer when no piece is left (whatever ``finish``
        raises, a request's refusal, is raised here); whether the answer is made."""
        for _ in self._pieces:
            return False
        self.result = self._finish()
        return True

    def then(self, change: Callable[[T], U]) -> Later[U]:
        """The same pieces, the answer ``change``d once made (an answer read from another)."""
        finish = self._finish
        return Later(self._pieces, lambda: change(finish()))

    def run(self) -> T:
        """Every piece and the answer, now (for a caller with no turns to share)."""
        while not self.step():
            pass
        return self.result


def eventually(pieces: Iterator[object], finish: Callable[[], T]) -> T | Later[T]:
    """``finish()`` now if the first step finds nothing to make (everything is warm), else
    the ``Later`` that has made one piece of it."""
    later = Later(pieces, finish)
    return later.result if later.step() else later
