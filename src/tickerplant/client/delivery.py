"""``MarketStreams``' core: frames in, decoded and sequenced items out, no I/O.

The backlog (``backlog.py``) holds what arrived in order; settling decodes the frames a
batch at a time and passes every event through the ``Sequencer`` with the connection that
carried it, so what a consumer is handed is each update once, in order, with a ``Gap``
before whatever may have been missed:

- a combined frame of a payload the client does not type becomes an ``UnknownEvent`` in
  its place; a frame that is not JSON, or not a combined frame, raises from the consumer's
  ``__anext__`` in its place (spec §2.7) and the items after it follow;
- a lost connection is applied to the sequencer after the frames it delivered, so the
  next event of a stream without consecutive ids is a gap unless another connection
  carried the stream throughout (a rollover); with ``report_losses`` it is also handed out
  then, as a ``StreamsLost`` of the streams left uncovered;
- frames off the fast path (raw frames, unusual spacing) are decoded on arrival and keep
  their place as marks; replies go back to the shell.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from itertools import repeat
from operator import call
from typing import TypeAlias

import msgspec

from tickerplant.client.backlog import MAX_BUFFERED, PAUSE_AT, RESUME_AT, Backlog, Lagged, Mark, MarkKind
from tickerplant.client.events import MarketEvent, Reply, StreamDecoder, UnknownEvent
from tickerplant.client.raw_delivery import StreamsLost
from tickerplant.client.sequencing import DELIVER, Gap, Sequencer

__all__ = ["Delivery", "StreamItem"]

StreamItem: TypeAlias = MarketEvent | Gap | UnknownEvent | Lagged | StreamsLost


class Delivery(Backlog[bytes, StreamItem]):
    """The backlog of a ``MarketStreams``; see ``Backlog`` for the shell's contract."""

    def __init__(
        self,
        *,
        numbers: type[Decimal] | type[str] = Decimal,
        pause_at: int = PAUSE_AT,
        resume_at: int = RESUME_AT,
        max_buffered: int = MAX_BUFFERED,
        reading: Callable[[bool], object] = lambda reading: None,
        report_losses: bool = False,
    ) -> None:
        """``report_losses``: a lost connection is also handed out, as a ``StreamsLost`` of
        the streams no other connection carries, in its place (a consumer whose state must
        not outlive its stream's connection: ``OrderBooks``)."""
        super().__init__(pause_at=pause_at, resume_at=resume_at, max_buffered=max_buffered, reading=reading)
        self._report_losses = report_losses
        self._decoder = StreamDecoder(numbers)
        self._decode_combined = self._decoder.decode_combined_frame
        self._sequencer = Sequencer()

    def off_path(self, connection_id: int, payload: bytes) -> Reply | None:
        """A frame that is not a compact combined data frame: a reply is returned for the
        shell to match; anything else is filed in its place."""
        try:
            decoded = self._decoder.decode(payload)
        except msgspec.DecodeError as error:
            # Raised in the frame callback it would drop the connection: the consumer gets
            # it instead, in order, as for a malformed combined frame.
            self._mark(MarkKind.REFUSED, error=error)
            return None
        if isinstance(decoded, Reply):
            return decoded
        stream, data = decoded
        if isinstance(data, UnknownEvent):
            self._mark(MarkKind.UNKNOWN, event=data)
            return None
        for event in data if isinstance(data, list) else (data,):
            self._mark(MarkKind.EVENT, connection_id=connection_id, streams=(stream or "",), event=event)
        return None

    def _settle_frames(self, count: int, connection_id: int) -> None:
        # The consumer's hot loop: the batch popped and decoded by maps (no Python frame
        # per frame), then sequenced by one call; a frame the typed decoder refuses sends
        # the batch the careful way, frame by frame.
        batch = list(map(call, repeat(self.frames.popleft, count)))
        try:
            decoded = list(map(self._decode_combined, batch))
        except msgspec.DecodeError:  # a ValidationError is one too
            self._settle_each(batch, connection_id)
            return
        self._sequencer.deliver(decoded, connection_id, self.ready.append)

    def _settle_each(self, batch: list[bytes], connection_id: int) -> None:
        """A batch holding a frame the typed decoder refuses, in order; frames after one
        that is raised in its place go back to the head of the backlog."""
        decode = self._decode_combined
        deliver = self._sequencer.deliver
        append = self.ready.append
        for index, payload in enumerate(batch):
            try:
                frame = decode(payload)
            except msgspec.DecodeError as refusal:
                if not self._settle_unusual(payload, refusal):
                    self.frames.extendleft(reversed(batch[index + 1 :]))
                    return
                continue
            deliver((frame,), connection_id, append)

    def _settle_unusual(self, payload: bytes, refusal: msgspec.DecodeError) -> bool:
        """A frame the typed decoder refused: an ``UnknownEvent`` if it is a combined frame
        of a payload we do not type (True); otherwise raised in its place (False)."""
        try:
            if not isinstance(refusal, msgspec.ValidationError):
                raise refusal  # not JSON
            self.ready.append(self._decoder.decode_untyped_combined(payload, str(refusal)))
        except msgspec.DecodeError as error:  # not JSON, or not a combined frame
            self._refuse(error)
            return False
        return True

    def _settle(self, stream: str, event: MarketEvent, connection_id: int) -> None:
        verdict = self._sequencer.accept(stream, event, connection_id)
        if verdict is DELIVER:
            self.ready.append(event)
        elif isinstance(verdict, Gap):
            self.ready.append(verdict)  # the gap, then the event that revealed it
            self.ready.append(event)

    def _apply(self, mark: Mark) -> None:
        kind = mark.kind
        if kind is MarkKind.EVENT:
            event = mark.event
            assert event is not None and not isinstance(event, UnknownEvent)
            self._settle(mark.streams[0], event, mark.connection_id)
        elif kind is MarkKind.UNKNOWN:
            assert isinstance(mark.event, UnknownEvent)
            self.ready.append(mark.event)
        else:
            self._sequence(mark)

    def _drop(self, mark: Mark) -> int:
        if mark.kind is MarkKind.EVENT or mark.kind is MarkKind.UNKNOWN or mark.kind is MarkKind.REFUSED:
            return 1
        # Everything before it is gone already, so applying it now keeps the order.
        self._sequence(mark)
        return 0

    def _sequence(self, mark: Mark) -> None:
        """A connection event or an unsubscribe, told to the sequencer in its place."""
        kind = mark.kind
        if kind is MarkKind.LOST:
            self.ready.extend(self._sequencer.connection_lost(mark.streams, mark.at_ms, mark.connection_id))
            if self._report_losses and (lost := self._sequencer.uncovered(mark.streams)):
                self.ready.append(StreamsLost(lost, mark.at_ms))
        elif kind is MarkKind.RETIRED:
            # Or the sequencer would count it as a carrier of its streams for ever and
            # take a later real loss for a covered one.
            self.ready.extend(self._sequencer.connection_retired(mark.streams, mark.connection_id))
        elif kind is MarkKind.FORGET:
            for stream in mark.streams:
                self._sequencer.forget(stream)

    def _report_dropped(self, dropped: int) -> None:
        self.ready.append(Lagged(dropped))
