"""``RawStreams``' core: each data frame's payload byte for byte, no I/O.

For recording and relaying, nothing is decoded or sequenced: a frame becomes a
``RawMessage`` with the stream name and payload exactly as the server sent them and the
time the shell read it; a lost connection becomes a ``StreamsLost`` in its place. One
thing is deduplicated: while a rollover overlaps two connections on the same streams, and
until the frames filed before it ended are handed out, a payload byte-identical to one
handed out during the overlap is the other connection's copy and is dropped. Frames off
the fast path (raw frames, unusual spacing, unknown payloads, frames that are not JSON) are
not relayed, but counted (``passed_over``, with the start of the last one), so that a shell
that relays can say what it did not relay; replies go back to the shell.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, TypeAlias

import msgspec

from tickerplant.client.backlog import MAX_BUFFERED, PAUSE_AT, RESUME_AT, Backlog, Lagged, Mark, MarkKind
from tickerplant.client.combined import split_combined
from tickerplant.client.events import Reply, StreamDecoder

__all__ = ["RawDelivery", "RawItem", "RawMessage", "StreamsLost"]


class RawMessage(NamedTuple):
    """One data frame of ``RawStreams``: the payload exactly as the server sent it."""

    stream: str  # the stream name the combined frame carried
    data: bytes  # the "data" value, byte for byte
    received_ns: int  # Unix time the frame was read, ns


class StreamsLost(msgspec.Struct, frozen=True):
    """A connection carrying ``streams`` dropped at ``at_ms``: messages may be missing until
    it is back (it reconnects and resubscribes by itself)."""

    streams: tuple[str, ...]
    at_ms: int


RawItem: TypeAlias = RawMessage | StreamsLost | Lagged

# What the frame callback files: the frame and its receive time, ns.
Stamped: TypeAlias = tuple[bytes, int]

_HEAD_BYTES = 80  # of a frame passed over, kept to say which it was


class RawDelivery(Backlog[Stamped, RawItem]):
    """The backlog of a ``RawStreams``; the frame callback files ``(frame, received_ns)``."""

    def __init__(
        self,
        *,
        pause_at: int = PAUSE_AT,
        resume_at: int = RESUME_AT,
        max_buffered: int = MAX_BUFFERED,
        reading: Callable[[bool], object] = lambda reading: None,
    ) -> None:
        super().__init__(pause_at=pause_at, resume_at=resume_at, max_buffered=max_buffered, reading=reading)
        self._decoder = StreamDecoder(str)
        self._overlaps = 0  # rollovers in progress
        self._seen: set[bytes] | None = None  # payloads handed out since an overlap began
        self._dedup_until = 0  # frames filed before this position may still be copies
        self.passed_over = 0  # frames off the fast path that were no reply, ever: not relayed
        self.last_passed_over = b""  # the start of the last of them, for the shell's log

    def off_path(self, connection_id: int, payload: bytes) -> Reply | None:
        """A frame off the fast path: a reply is returned for the shell; the rest is not
        ours to relay, and is counted (none is raised in its place: the connection goes on)."""
        try:
            decoded = self._decoder.decode(payload)
        except msgspec.DecodeError:
            decoded = None
        if isinstance(decoded, Reply):
            return decoded
        self.passed_over += 1
        self.last_passed_over = bytes(payload[:_HEAD_BYTES])
        return None

    def overlap_began(self) -> None:
        self._overlaps += 1
        if self._seen is None:
            self._seen = set()

    def overlap_ended(self) -> None:
        self._overlaps -= 1
        if not self._overlaps:
            # The old connection's last frames are filed: copies can come up to here.
            self._dedup_until = self._taken + len(self.frames)

    def _settle_frames(self, count: int, connection_id: int) -> None:
        popleft = self.frames.popleft
        append = self.ready.append
        for position in range(self._taken, self._taken + count):
            payload, received_ns = popleft()
            try:
                stream, data = split_combined(payload)
            except msgspec.DecodeError as error:
                self._refuse(error)
                return
            seen = self._seen
            if seen is not None:
                if not self._overlaps and position >= self._dedup_until:
                    self._seen = None
                elif data in seen:
                    continue
                else:
                    seen.add(data)
            append(RawMessage(stream, data, received_ns))

    def _apply(self, mark: Mark) -> None:
        if mark.kind is MarkKind.LOST:
            self.ready.append(StreamsLost(mark.streams, mark.at_ms))
        # A retirement loses nothing; unsubscribes and off-path frames are not relayed.

    def _drop(self, mark: Mark) -> int:
        # No sequencer here: a dropped loss is part of what Lagged reports.
        return 1 if mark.kind is MarkKind.LOST else 0

    def _report_dropped(self, dropped: int) -> None:
        self.ready.append(Lagged(dropped))
