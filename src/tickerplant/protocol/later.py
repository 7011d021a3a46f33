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

A piece may be made elsewhere (a ``Pending``: a coarse answer's cold days drawn in other
processes, ``market/history/farming.py``): ``step`` then says not made and holds it as
``waiting``, and takes the next piece only once it is done. Whoever steps the answer waits
for it without stepping (the front door parks the connection until its done callback), so
the loop is free meanwhile; ``run``, with no loop to share, blocks on it.

What several answers need, made in pieces, is made once for all of them (``Making``): a
burst of answers is routed before the first of them is made, so each would otherwise make
it again.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["Later", "Making", "Pending", "eventually", "joined", "wait"]

T = TypeVar("T")
U = TypeVar("U")
V = TypeVar("V")


class Pending(Protocol):
    """A piece being made elsewhere (a ``concurrent.futures.Future``)."""

    def done(self) -> bool: ...

    def result(self) -> Any: ...

    def add_done_callback(self, fn: Callable[[Any], object]) -> None: ...


class Later(Generic[T]):
    """An answer still being made: ``step`` until it returns True, then ``result``."""

    __slots__ = ("_finish", "_pieces", "result", "waiting")

    def __init__(self, pieces: Iterator[Pending | None], finish: Callable[[], T]) -> None:
        self._pieces = pieces
        self._finish = finish
        self.waiting: Pending | None = None  # a piece made elsewhere, not done yet

    def step(self) -> bool:
        """Make one piece, or the answer when no piece is left (whatever ``finish``
        raises, a request's refusal, is raised here); whether the answer is made. While a
        piece made elsewhere is not done, nothing (``waiting`` says which)."""
        waiting = self.waiting
        if waiting is not None:
            if not waiting.done():
                return False
            self.waiting = None
        for piece in self._pieces:
            if piece is not None and not piece.done():
                self.waiting = piece
            return False
        self.result = self._finish()
        return True

    def then(self, change: Callable[[T], U]) -> Later[U]:
        """The same pieces, the answer ``change``d once made (an answer read from another)."""
        finish = self._finish
        changed = Later(self._pieces, lambda: change(finish()))
        changed.waiting = self.waiting
        return changed

    def run(self) -> T:
        """Every piece and the answer, now (for a caller with no turns to share)."""
        while not self.step():
            wait(self.waiting)
        return self.result


def wait(pending: Pending | None) -> None:
    """Block until ``pending`` is done (nothing to wait for: None); how it ended is read by
    the piece after it."""
    if pending is not None:
        try:
            pending.result()
        except Exception:  # (its failure is the piece's to read, not the waiter's)
            return


def eventually(pieces: Iterator[Pending | None], finish: Callable[[], T]) -> T | Later[T]:
    """``finish()`` now if the first step finds nothing to make (everything is warm), else
    the ``Later`` that has made one piece of it."""
    later = Later(pieces, finish)
    return later.result if later.step() else later


def joined(first: T | Later[T], second: U | Later[U], join: Callable[[T, U], V]) -> V | Later[V]:
    """Two answers, either made in pieces, ``join``ed once both are made: now if neither is
    a ``Later``, else a ``Later`` whose pieces are the first's, then the second's."""
    if not isinstance(first, Later) and not isinstance(second, Later):
        return join(first, second)

    def pieces() -> Iterator[Pending | None]:
        for answer in (first, second):
            if isinstance(answer, Later):
                while not answer.step():  # a piece made, or one made elsewhere to wait for
                    yield answer.waiting

    def made(answer: Any) -> Any:
        return answer.result if isinstance(answer, Later) else answer

    return eventually(pieces(), lambda: join(made(first), made(second)))


class Making(Generic[T]):
    """A value made in pieces once for every answer that needs it while it is made: ``work``
    yields after each piece and returns the value. Each answer steps its own ``pieces()``,
    and each of their steps makes the work's next piece, whoever made the one before, so
    the work is done once however many answers wait for it, and each of them is made once it
    is. (A line of kept-alive clients asking the latest 1,000 trades at once is routed, a
    request a turn, before the first answer is made: each made the same past trades again,
    120 times over, the loop's turns full of it for seconds.)

    A piece that raised leaves the making ``failed``, and every answer waiting on it fails
    too (a bug: the front door answers 503); whoever keeps makings begins a new one then."""

    __slots__ = ("_work", "failed", "made", "value")

    value: T  # once ``made``

    def __init__(self, work: Generator[None, None, T]) -> None:
        self._work = work
        self.made = False
        self.failed = False

    def pieces(self) -> Iterator[None]:
        """One answer's steps of the work: a piece each, until it is made."""
        while not self.made:
            if self.failed:
                raise RuntimeError("a piece of the making it waits for failed")
            try:
                next(self._work)
            except StopIteration as done:
                self.value = done.value
                self.made = True
                return
            except BaseException:
                self.failed = True
                raise
            yield
