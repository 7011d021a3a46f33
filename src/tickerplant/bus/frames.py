"""What crosses a networked bus: sequence-numbered frames of stream messages, sans-I/O.

A plant publishes batches of ``StreamMessage``s per market (``bus.Bus``). On NATS each
batch travels as one or more *frames* on the market's subject (``bus/nats.py`` lists the
subjects), never one NATS message per stream message: one nats-py subscriber tops out
near 200 k messages a second, a fraction of what one plant produces.

A frame is msgpack (msgspec), an array ``[epoch, seq, messages, notice]``:

- ``epoch``: the publisher's run, a random number drawn when it starts; a new epoch
  means the plant restarted and its sequence with it;
- ``seq``: 1, 2, 3, … per market and epoch, one per frame, so a subscriber sees a lost
  frame as a gap;
- ``messages``: ``[[stream, payload], …]``, each payload the plant's JSON bytes as a
  msgpack ``bin``, forwarded byte for byte (encoded once, by the plant);
- ``notice`` (absent when none): what a ``feeds.Sink`` is told besides messages — streams
  interrupted upstream and why, or that the source finished. It travels in the same
  sequence as the messages, so a gateway closes its clients' connections after, never
  before, the messages published ahead of the loss.

A frame stays under the bus's payload limit (NATS's ``max_payload``, 1 MiB by default):
a batch too large for one (a warm start's day of history) is split into consecutive
frames, in order.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import NamedTuple

import msgspec

from tickerplant.market.messages import StreamMessage

__all__ = ["Continuity", "Frame", "Framer", "Notice", "Sequencer", "StatePart", "decode_frame", "state_parts"]


class Notice(msgspec.Struct, frozen=True, array_like=True):
    """What the source told the plant's sink besides messages (``feeds.Sink``)."""

    streams: list[str] = []  # canonical names whose messages were lost upstream
    reason: str = ""  # why, as the clients' close reason says it
    finished: bool = False  # the source has nothing more to send
    failed: bool = False  # … because it broke off


class Frame(msgspec.Struct, frozen=True, array_like=True):
    epoch: int  # the publisher's run: a new one restarts the sequence
    seq: int  # 1, 2, 3, … per market within an epoch
    messages: list[StreamMessage]  # in the order the plant published them
    notice: Notice | None = None


class StatePart(msgspec.Struct, frozen=True, array_like=True):
    """One piece of a market's state sent to a gateway that asked for it: the state is as
    of frame ``seq`` of run ``epoch`` (every frame up to it is in it, none after)."""

    epoch: int
    seq: int
    index: int  # 0 … count - 1
    count: int
    data: bytes  # the state's bytes from index × the part size on


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Frame)
state_part_decoder = msgspec.msgpack.Decoder(StatePart)


def state_parts(epoch: int, seq: int, state: bytes, limit: int) -> list[bytes]:
    """``state`` cut into encoded parts of at most ``limit`` bytes of state each."""
    pieces = [state[i : i + limit] for i in range(0, len(state), limit)] or [b""]
    count = len(pieces)
    return [_encoder.encode(StatePart(epoch, seq, i, count, piece)) for i, piece in enumerate(pieces)]


def decode_frame(data: bytes) -> Frame:
    """A frame from its bytes; ``msgspec.DecodeError`` when they are not one."""
    return _decoder.decode(data)


class Framer:
    """One market's publishing side: numbers frames and keeps each under ``limit`` bytes."""

    def __init__(self, epoch: int, limit: int) -> None:
        self.epoch = epoch
        self.limit = limit
        self.seq = 0  # the last frame's number

    def frames(self, messages: Sequence[StreamMessage], notice: Notice | None = None) -> list[bytes]:
        """``messages`` (and ``notice``, with the last of them) as consecutive frames."""
        out: list[bytes] = []
        self._split(list(messages), notice, out)
        return out

    def _split(self, messages: list[StreamMessage], notice: Notice | None, out: list[bytes]) -> None:
        # Encoding first and halving only what is too large costs nothing per message in
        # the common case (a batch of one step is a few kB).
        data = _encoder.encode(Frame(self.epoch, self.seq + 1, messages, notice))
        if len(data) <= self.limit:
            self.seq += 1
            out.append(data)
            return
        if len(messages) < 2:
            stream = messages[0].stream if messages else "a notice"
            raise ValueError(f"{stream}: {len(data)} bytes, over the bus's limit of {self.limit}")
        half = len(messages) // 2
        self._split(messages[:half], None, out)
        self._split(messages[half:], notice, out)


class Continuity(enum.Enum):
    """How a frame follows the one before it on its subject."""

    FIRST = "first"  # the first frame seen: the subscriber has no state of the publisher's
    NEXT = "next"  # the next one: nothing lost
    GAP = "gap"  # frames were lost between the last one and this one
    RESTARTED = "restarted"  # a new epoch: the publisher restarted
    STALE = "stale"  # a repeat, or older than one already seen: drop it


class Verdict(NamedTuple):
    continuity: Continuity
    missed: int  # frames of the publisher's run lost before this one


class Sequencer:
    """One subject's receiving side: tells, frame by frame, whether anything was lost."""

    def __init__(self) -> None:
        self.epoch: int | None = None
        self.seq = 0  # the last frame's number
        self.gaps = 0  # gaps seen (lost frames' runs)
        self.missed = 0  # frames lost, in all

    def follow(self, epoch: int, seq: int) -> Verdict:
        if self.epoch is None or epoch != self.epoch:
            first = self.epoch is None
            self.epoch, self.seq = epoch, seq
            # the frames of this run before this one never arrived: a late subscriber's
            # missed is how far into the publisher's run it joined (0: from its start)
            return Verdict(Continuity.FIRST if first else Continuity.RESTARTED, seq - 1)
        if seq <= self.seq:
            return Verdict(Continuity.STALE, 0)
        missed = seq - self.seq - 1
        self.seq = seq
        if missed:
            self.gaps += 1
            self.missed += missed
            return Verdict(Continuity.GAP, missed)
        return Verdict(Continuity.NEXT, 0)
