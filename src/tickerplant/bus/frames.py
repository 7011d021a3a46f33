"""What crosses a networked bus: sequence-numbered frames of stream messages, sans-I/O.

A plant publishes batches of ``StreamMessage``s per market (``bus.Bus``). On NATS each
batch travels as one or more *frames* on the market's subject (``bus/nats.py`` lists the
subjects), never one NATS message per stream message: one nats-py subscriber tops out
near 200 k messages a second, a fraction of what one plant produces.

A frame is msgpack (msgspec), an array ``[version, epoch, seq, messages, notice]``:

- ``version``: ``BUS_VERSION``, what every message on the bus starts with (frames, a
  state's parts, the listing): a tickerplant reads only its own version's, so a plant and
  gateways of different releases say so instead of misreading each other;
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

Every message is validated as it arrives (``decode_frame``, ``decode_state_part``): one that
is malformed, of another version or out of its bounds raises ``Unreadable``, and the
receiver counts, logs and drops it. Nothing on the bus is ever unpickled or evaluated.
"""

from __future__ import annotations

import collections
import enum
from collections.abc import Sequence
from typing import NamedTuple

import msgspec

from tickerplant.market.messages import StreamMessage

__all__ = [
    "BUS_VERSION", "HOLD_LIMIT", "PAST_RUNS", "Continuity", "Frame", "Framer", "Hold", "Notice", "Sequencer",
    "StatePart", "Unreadable", "decode_frame", "decode_state_part", "state_parts", "unreadable",
]  # fmt: skip

# Bytes of frames a subscriber holds for a market at most while it waits for a state.
HOLD_LIMIT = 256 * 1024 * 1024
# The bus's wire version: a change to any message's shape (a frame, a state part, the
# listing, the view state) takes the next number.
# 2: the listing names the streams carried, not their kinds; 3: a venue answer says the plant's
# run that made it (``venue_link``); 4: the gateways announce the streams their clients hold,
# which a plant writes alone (``bus/demand.py``)
BUS_VERSION = 4


class Unreadable(ValueError):
    """A message on the bus that is not one of this version's: malformed, of another
    version, or out of its bounds."""


class Notice(msgspec.Struct, frozen=True, array_like=True):
    """What the source told the plant's sink besides messages (``feeds.Sink``)."""

    streams: list[str] = []  # canonical names whose messages were lost upstream
    reason: str = ""  # why, as the clients' close reason says it
    finished: bool = False  # the source has nothing more to send
    failed: bool = False  # … because it broke off
    # listen keys whose time came (the venue in the plant): their connections close 1000
    ended: list[str] = []
    # listen keys whose connections a fault profile cut (``stream-drop``): cut, no close frame
    cut: list[str] = []


class Frame(msgspec.Struct, frozen=True, array_like=True):
    version: int  # BUS_VERSION
    epoch: int  # the publisher's run: a new one restarts the sequence
    seq: int  # 1, 2, 3, … per market within an epoch
    messages: list[StreamMessage]  # in the order the plant published them
    notice: Notice | None = None


class StatePart(msgspec.Struct, frozen=True, array_like=True):
    """One piece of a market's state sent to a gateway that asked for it: the state is as
    of frame ``seq`` of run ``epoch`` (every frame up to it is in it, none after)."""

    version: int  # BUS_VERSION
    epoch: int
    seq: int
    index: int  # 0 … count - 1
    count: int
    data: bytes  # the state's bytes from index × the part size on


class _Head(msgspec.Struct, array_like=True):
    """The version every message starts with (the rest is ignored): what an unreadable
    message says it is."""

    version: int


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Frame)
_part_decoder = msgspec.msgpack.Decoder(StatePart)
_head_decoder = msgspec.msgpack.Decoder(_Head)


def state_parts(epoch: int, seq: int, state: bytes, limit: int) -> list[bytes]:
    """``state`` cut into encoded parts of at most ``limit`` bytes of state each."""
    pieces = [state[i : i + limit] for i in range(0, len(state), limit)] or [b""]
    count = len(pieces)
    return [
        _encoder.encode(StatePart(BUS_VERSION, epoch, seq, i, count, piece)) for i, piece in enumerate(pieces)
    ]


def unreadable(what: str, data: bytes, exc: Exception) -> Unreadable:
    """Why ``data`` is not a ``what`` of this version: another version, when it says so."""
    try:
        version = _head_decoder.decode(data).version
    except msgspec.DecodeError:
        version = BUS_VERSION
    if version != BUS_VERSION:
        return Unreadable(f"a {what} of bus version {version}; this tickerplant reads version {BUS_VERSION}")
    return Unreadable(f"not a {what}: {exc}")


def decode_frame(data: bytes) -> Frame:
    """A frame from its bytes; ``Unreadable`` when they are not one of this version's."""
    try:
        frame = _decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise unreadable("frame", data, exc) from None
    if frame.version != BUS_VERSION or frame.seq < 1:
        raise unreadable("frame", data, ValueError(f"sequence number {frame.seq}"))
    return frame


def decode_state_part(data: bytes) -> StatePart:
    """A part of a state from its bytes; ``Unreadable`` when they are not one."""
    try:
        part = _part_decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise unreadable("state part", data, exc) from None
    if part.version != BUS_VERSION or not 0 <= part.index < part.count:
        raise unreadable("state part", data, ValueError(f"part {part.index} of {part.count}"))
    return part


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
        data = _encoder.encode(Frame(BUS_VERSION, self.epoch, self.seq + 1, messages, notice))
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


PAST_RUNS = 8  # a publisher's runs a sequencer remembers having followed (``Sequencer.met``)


class Sequencer:
    """One subject's receiving side: tells, frame by frame, whether anything was lost."""

    def __init__(self) -> None:
        self.epoch: int | None = None
        self.seq = 0  # the last frame's number
        self.gaps = 0  # gaps seen (lost frames' runs)
        self.missed = 0  # frames lost, in all
        self.past: collections.deque[int] = collections.deque(maxlen=PAST_RUNS)  # runs followed before

    def met(self, epoch: int) -> bool:
        """Whether run ``epoch`` has been followed: it is this run, or one before it."""
        return epoch == self.epoch or epoch in self.past

    def follow(self, epoch: int, seq: int) -> Verdict:
        old = self.epoch
        if old is None or epoch != old:
            first = old is None
            if old is not None:
                self.past.append(old)
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


class Hold:
    """A market's frames kept while its subscriber waits for the publisher's state.

    Bounded by design: at most ``limit`` bytes of frames (``HOLD_LIMIT``, 256 MiB); past it
    the oldest are dropped, which a state as of a later frame holds anyway. Should the
    state be older than a dropped frame, ``after`` says so and the subscriber asks again.
    """

    __slots__ = ("_frames", "dropped", "limit", "size")

    def __init__(self, limit: int = HOLD_LIMIT) -> None:
        self.limit = limit
        self._frames: collections.deque[tuple[Frame, int]] = collections.deque()
        self.size = 0  # bytes held
        self.dropped: tuple[int, int] | None = None  # the newest frame dropped (epoch, seq)

    def __len__(self) -> int:
        return len(self._frames)

    def add(self, frame: Frame, size: int) -> None:
        frames = self._frames
        frames.append((frame, size))
        self.size += size
        while self.size > self.limit and len(frames) > 1:
            old, old_size = frames.popleft()
            self.size -= old_size
            self.dropped = (old.epoch, old.seq)

    def after(self, state: tuple[int, int] | None) -> tuple[list[Frame], list[Frame]] | None:
        """The frames held up to ``state`` (epoch, seq; None: none), which a state holds,
        and those after it, each in order; None when a frame after it was dropped."""
        dropped = self.dropped
        if dropped is not None and (state is None or dropped[0] != state[0] or dropped[1] > state[1]):
            return None
        frames = [frame for frame, _ in self._frames]
        if state is None:
            return [], frames
        epoch, seq = state
        covered = [frame for frame in frames if frame.epoch == epoch and frame.seq <= seq]
        return covered, [frame for frame in frames if frame.epoch != epoch or frame.seq > seq]
