"""What a stream client has received and not yet handed out: a backlog bounded in memory.

Sans-I/O. The shell files data frames as they arrive and reports what happens to its
connections; the consumer takes items out a batch at a time. Two queues, in one order:

- ``frames``: combined data frames, undecoded. The shell's frame callback appends to it
  directly, so a consumer that falls behind costs the reader an append and nothing else;
  frames are decoded when they are consumed.
- ``marks``: everything else that must keep its place among the frames, one ``Mark`` each
  (which connection the next frames came over, a connection lost or retired, streams
  forgotten, an event or a refusal from a frame off the fast path). A mark records how
  many frames had been filed before it, so the frames need no wrapper and no counter.

Backpressure: past ``pause_at`` held items the core decides to stop reading, and to read
again once consumption brings them down to ``resume_at``; the server then buffers, and
cuts off a client that stays behind (spec §2.5), as Binance does. The decisions go to the
``reading`` callback; the core never touches a transport. ``max_buffered`` is a hard
bound: past it the oldest items are dropped and reported as one ``Lagged`` item in their
place. A dropped mark still has its effect (a loss still counts), in order.

Subclasses settle the frames into items: ``Delivery`` (decoded, sequenced events) and
``RawDelivery`` (payloads byte for byte).
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable, Iterable
from typing import Generic, NamedTuple, TypeVar

import msgspec

from tickerplant.client.events import MarketEvent, Reply, UnknownEvent

__all__ = ["BATCH", "MAX_BUFFERED", "PAUSE_AT", "RESUME_AT", "Backlog", "Lagged", "Mark", "MarkKind"]

# The default bounds, in items: stop reading past PAUSE_AT, read again below RESUME_AT,
# drop the oldest (reported as Lagged) past MAX_BUFFERED.
PAUSE_AT = 50_000
RESUME_AT = 10_000
MAX_BUFFERED = 1_000_000

# Frames settled per call of ``settle``: enough that its fixed costs vanish per item, few
# enough that the first item waits ~0.1 ms at most.
BATCH = 256

F = TypeVar("F")  # what the frame callback files: bytes, or (bytes, received_ns)
T = TypeVar("T")  # what the consumer is handed


class Lagged(msgspec.Struct, frozen=True):
    """The consumer fell behind: ``dropped`` items were discarded to bound memory."""

    dropped: int


class MarkKind(enum.Enum):
    FROM = enum.auto()  # the frames after it came over ``connection_id``
    LOST = enum.auto()  # ``connection_id``, carrying ``streams``, dropped at ``at_ms``
    RETIRED = enum.auto()  # ``connection_id`` closed on purpose (rollover): nothing lost
    FORGET = enum.auto()  # ``streams`` were unsubscribed: forget what is known of them
    EVENT = enum.auto()  # ``event`` on ``streams[0]``, from a frame off the fast path
    UNKNOWN = enum.auto()  # ``event``, an ``UnknownEvent``, from a frame off the fast path
    REFUSED = enum.auto()  # a frame that is not JSON: ``error`` is raised in its place


class Mark(NamedTuple):
    """Something that happened between two frames: it applies after ``at`` frames."""

    at: int  # how many frames had been filed before it
    kind: MarkKind
    connection_id: int = 0
    streams: tuple[str, ...] = ()
    at_ms: int = 0
    event: MarketEvent | UnknownEvent | None = None
    error: msgspec.DecodeError | None = None


class Backlog(Generic[F, T]):
    """Frames and marks in arrival order, the bound on them, and the items ready to go.

    The frame callback's contract, kept inline in the shell for speed::

        if backlog.filing != connection_id:
            backlog.switch(connection_id)
        backlog.frames.append(frame)
        if len(backlog.frames) > backlog.limit:
            backlog.over_limit()

    ``file`` does the same for callers off the hot path.
    """

    def __init__(
        self,
        *,
        pause_at: int = PAUSE_AT,
        resume_at: int = RESUME_AT,
        max_buffered: int = MAX_BUFFERED,
        reading: Callable[[bool], object] = lambda reading: None,
    ) -> None:
        self.pause_at = pause_at
        self.resume_at = resume_at
        self.max_buffered = max_buffered
        self._reading = reading
        self.frames: deque[F] = deque()
        self.marks: deque[Mark] = deque()
        self.ready: deque[T] = deque()  # settled items, for the consumer to pop
        self.paused = False  # the last decision: stop reading
        self.filing = 0  # the connection whose frames the backlog ends with (0: none yet)
        # How many frames the callback may hold before calling ``over_limit``: the
        # threshold that applies now (pause_at, or max_buffered once paused or when it is
        # the smaller: the hard bound holds either way), less the marks, which count as held
        # items too. One comparison per frame.
        self.limit = min(pause_at, max_buffered)
        self._taken = 0  # frames ever removed from the head, settled or dropped
        self._head = 0  # the connection the frames at the head came over
        self._dropped = 0  # items dropped since the last Lagged was handed out
        self._refusal: msgspec.DecodeError | None = None  # raised by the next settle

    # -- the shell's side ------------------------------------------------------------

    def file(self, connection_id: int, frame: F) -> None:
        """A data frame received over ``connection_id`` (what the callback does inline)."""
        if self.filing != connection_id:
            self.switch(connection_id)
        self.frames.append(frame)
        if len(self.frames) > self.limit:
            self.over_limit()

    def switch(self, connection_id: int) -> None:
        """The frames filed next come over ``connection_id``: one mark per run of frames,
        not a (connection, frame) pair per frame, which cost ~5 % of the throughput."""
        self.filing = connection_id
        self._mark(MarkKind.FROM, connection_id=connection_id)

    def over_limit(self) -> None:
        """The frames passed ``limit``: decide to pause, and drop what exceeds the bound."""
        held = len(self.frames) + len(self.marks)
        if not self.paused and held > self.pause_at:
            self.paused = True
            self._reading(False)
        if held > self.max_buffered:
            self._trim(held - self.max_buffered)
        self._relimit()

    def lost(self, streams: Iterable[str], at_ms: int, connection_id: int) -> None:
        """``connection_id`` dropped at ``at_ms``, after the frames filed so far."""
        self._mark(MarkKind.LOST, connection_id=connection_id, streams=tuple(streams), at_ms=at_ms)

    def retired(self, streams: Iterable[str], connection_id: int) -> None:
        """``connection_id`` was closed on purpose; it no longer carries ``streams``."""
        self._mark(MarkKind.RETIRED, connection_id=connection_id, streams=tuple(streams))

    def forget(self, streams: Iterable[str]) -> None:
        """``streams`` were unsubscribed: forgotten once the frames before are settled."""
        self._mark(MarkKind.FORGET, streams=tuple(streams))

    def off_path(self, connection_id: int, payload: bytes) -> Reply | None:
        """A frame other than a compact combined data frame, over ``connection_id``: a
        reply is returned for the shell to match; anything else is settled in its place."""
        raise NotImplementedError

    def overlap_began(self) -> None:
        """A rollover started: two connections carry the same streams for a while."""

    def overlap_ended(self) -> None:
        """The rollover's old connection is closed (its last frames are filed)."""

    # -- the consumer's side ---------------------------------------------------------

    @property
    def pending(self) -> bool:
        """Whether ``settle`` has anything to do."""
        return bool(self.frames or self.marks or self._refusal is not None)

    @property
    def held(self) -> int:
        """Items held and not yet settled, the quantity the bounds apply to."""
        return len(self.frames) + len(self.marks)

    def settle(self) -> None:
        """Move the oldest batch of held items into ``ready``, in order.

        Raises, in its place, the error of a frame that could not be read: once the items
        before it have been handed out, before the ones after it.
        """
        refusal = self._refusal
        if refusal is not None:
            self._refusal = None
            raise refusal
        if self._dropped:
            self._report_dropped(self._dropped)
            self._dropped = 0
        frames = self.frames
        marks = self.marks
        budget = BATCH
        while budget > 0:
            if marks:
                mark = marks[0]
                count = mark.at - self._taken  # the frames before it
                if count == 0:
                    if mark.kind is MarkKind.REFUSED:
                        marks.popleft()
                        self._refusal = mark.error
                        break
                    marks.popleft()
                    if mark.kind is MarkKind.FROM:
                        self._head = mark.connection_id
                    else:
                        self._apply(mark)
                    budget -= 1
                    continue
            else:
                count = len(frames)
                if not count:
                    break
            before = len(frames)
            self._settle_frames(min(count, budget), self._head)
            settled = before - len(frames)
            self._taken += settled
            budget -= settled
            if self._refusal is not None:
                break
        if self.paused and len(frames) + len(marks) <= self.resume_at:
            self.paused = False
            self._reading(True)
        self._relimit()

    # -- what subclasses decide ------------------------------------------------------

    def _settle_frames(self, count: int, connection_id: int) -> None:
        """Pop ``count`` frames (fewer after setting ``_refusal``), settle them into ``ready``."""
        raise NotImplementedError

    def _apply(self, mark: Mark) -> None:
        """Settle a mark other than FROM and REFUSED, in its place."""
        raise NotImplementedError

    def _drop(self, mark: Mark) -> int:
        """A mark other than FROM dropped by the bound: apply what must still hold and
        return how many items the consumer lost with it."""
        raise NotImplementedError

    def _report_dropped(self, dropped: int) -> None:
        """Put ``Lagged(dropped)`` in ``ready``."""
        raise NotImplementedError

    # -- internals -------------------------------------------------------------------

    def _refuse(self, error: msgspec.DecodeError) -> None:
        """A frame could not be read: raise ``error`` from the next ``settle``."""
        self._refusal = error

    def _mark(
        self,
        kind: MarkKind,
        *,
        connection_id: int = 0,
        streams: tuple[str, ...] = (),
        at_ms: int = 0,
        event: MarketEvent | UnknownEvent | None = None,
        error: msgspec.DecodeError | None = None,
    ) -> None:
        at = self._taken + len(self.frames)
        self.marks.append(Mark(at, kind, connection_id, streams, at_ms, event, error))
        self.limit -= 1
        if len(self.frames) > self.limit:
            self.over_limit()

    def _relimit(self) -> None:
        bound = self.max_buffered if self.paused else min(self.pause_at, self.max_buffered)
        self.limit = bound - len(self.marks)

    def _trim(self, excess: int) -> None:
        """Drop the ``excess`` oldest held items."""
        frames = self.frames
        marks = self.marks
        while excess > 0:
            if marks and marks[0].at == self._taken:
                mark = marks.popleft()
                if mark.kind is MarkKind.FROM:  # not an item: what it says holds for the head
                    self._head = mark.connection_id
                else:
                    self._dropped += self._drop(mark)
                excess -= 1
                continue
            count = min(excess, marks[0].at - self._taken if marks else len(frames))
            for _ in range(count):
                frames.popleft()
            self._taken += count
            self._dropped += count
            excess -= count
