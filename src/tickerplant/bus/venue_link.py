"""Commands to the venue over NATS request/reply (``serve --workers``, split mode).

Subject ``<prefix>.<market>.venue``: a gateway sends each private request it admitted
(``venue/wire/forwarded.py``'s bytes, opaque here) with a reply subject of its own, the plant
answers on it. One inbox subscription per gateway (``<inbox>.<n>``), not one per request
as nats-py's ``request`` makes, and the commands go out through the bus's outbox, as
frames do: a command costs the gateway a dict entry and a timer until its answer.

Bounded by design: at most ``limit`` commands wait for an answer at once, and at most
``caller_limit`` of one caller (an IP), so that one client cannot take the room of the
others (a further one is refused at once, ``ask`` returning False); each waits
``timeout_s`` at most, then is told ``None`` (its outcome unknown: the plant may have done
it). An answer that comes after its command timed out, or for no command, is dropped.

The plant's side (``answer``) calls its handler with each command's bytes, in order, and
sends what it returns to the reply subject through the same outbox as its frames, so the
user data events a command caused leave before its answer. An answer is sent whole (its
first byte ``WHOLE``) or, past what a NATS message may carry (an account's thousands of
open orders), in parts (``PART``, then the part's index and the count, 4 bytes each),
which the gateway joins, up to ``MAX_ANSWER_BYTES``.

What is joined starts with the plant's run (``RUN``, its bus's epoch, 8 bytes). The gateway
hands an answer of a run its bus has not met yet on only once it has (``NatsBus.meet``):
frames and answers come on different subscriptions (nats-py runs a task for each), so a
restarted plant's first answers can overtake its first frame, and reach a client before
the gateway has closed (1012) the stream connections of the old run, whose events of that
order were never to come. The plant publishes a frame as it starts, before it answers, so
the wait is short. Should the run not be met within the command's ``timeout_s``, the answer
is handed on then all the same (the gateway's silence watch closes the streams of a plant
it no longer hears). An answer of a run met is handed on at once, the events it caused
following as the frames come (Binance orders an answer and its events no more, part 4).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import struct
from collections.abc import Callable

import nats.errors
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from tickerplant.bus.nats import NatsBus
from tickerplant.bus.nats_writer import settle
from tickerplant.market.instruments import Market

__all__ = [
    "CALLER_LIMIT", "MAX_ANSWER_BYTES", "NO_RESPONDERS", "PENDING_LIMIT", "RUN", "TIMEOUT_S",
    "VenueRequests", "answer", "answer_parts", "venue_subject",
]  # fmt: skip

PENDING_LIMIT = 10_000  # commands a gateway has waiting on the plant at once
CALLER_LIMIT = 1_000  # … of one caller (a tenth of the gateway's room)
MAX_ANSWER_BYTES = 64 * 1024 * 1024  # an answer in parts, joined: no more than this
WHOLE, PART = 0, 1  # an answer message's first byte
_PART_HEAD = struct.Struct(">BII")  # PART, index, count
RUN = struct.Struct(">Q")  # an answer's head: the plant's run (its bus's epoch)
_MARGIN = 1024  # under NATS's max_payload: its protocol line's room
TIMEOUT_S = 10.0  # a command's wait for its answer (Binance's own backend timeout is of this order)
NO_RESPONDERS = b""  # what the NATS server answers when no plant subscribes (its 503 status)

Done = Callable[[bytes | None], None]  # the answer; b"": no plant took it; None: none in time


def venue_subject(bus: NatsBus, market: Market) -> str:
    return f"{bus.prefix}.{market.value}.venue"


def _now(act: Callable[[], object]) -> None:
    act()


def answer_parts(answer: bytes, limit: int) -> list[bytes]:
    """``answer`` as the messages that carry it, each at most ``limit`` bytes."""
    if len(answer) + 1 <= limit:
        return [bytes((WHOLE,)) + answer]
    room = limit - _PART_HEAD.size
    count = -(-len(answer) // room)
    return [_PART_HEAD.pack(PART, i, count) + answer[i * room : (i + 1) * room] for i in range(count)]


async def answer(
    bus: NatsBus, market: Market, handler: Callable[[bytes], bytes],
    after: Callable[[Callable[[], object]], None] = _now,
) -> Subscription:  # fmt: skip
    """Answer each command on ``market``'s venue subject with ``handler``'s bytes (the
    plant's side), each sent when ``after`` runs what it is given (the journal's group
    commit: once the journal holds what it says); in place at the NATS server on return."""
    send = bus.outbox.send
    limit = max(bus.client.max_payload - _MARGIN, 4096)

    def sent(to: str, reply: bytes) -> None:
        for part in answer_parts(RUN.pack(bus.epoch) + reply, limit):
            send(to, part)

    async def received(msg: Msg) -> None:
        if msg.reply:
            reply, to = handler(msg.data), msg.reply
            after(lambda: sent(to, reply))

    subscription = await bus.client.subscribe(venue_subject(bus, market), cb=received)
    await settle(bus.client)
    return subscription


class VenueRequests:
    """A gateway's commands waiting for the plant's answers."""

    def __init__(
        self, bus: NatsBus, *, limit: int = PENDING_LIMIT, caller_limit: int = CALLER_LIMIT,
        timeout_s: float = TIMEOUT_S,
    ) -> None:  # fmt: skip
        self.bus = bus
        self.limit = limit
        self.caller_limit = caller_limit
        self.timeout_s = timeout_s
        self._inbox = ""
        self._numbers = itertools.count(1)
        self._waiting: dict[int, tuple[Done, asyncio.TimerHandle, str, Market]] = {}
        self._early: dict[int, bytes] = {}  # answers come from a run not met yet (``NatsBus.meet``)
        self._meeting: dict[int, asyncio.Task[None]] = {}  # … each one's wait
        self._callers: dict[str, int] = {}  # commands waiting per caller (none: not there)
        self._parts: dict[int, dict[int, bytes]] = {}  # an answer's parts come so far
        self._part_bytes: dict[int, int] = {}  # … and their bytes
        self._subscription: Subscription | None = None
        self.timed_out = 0  # commands told None: their outcome unknown
        self.unclaimed = 0  # answers that came for no waiting command (late, or stray)
        self.early = 0  # answers that came from a plant's run before its first frame did
        self.unmet = 0  # … and were handed on when their time ran out, the run not met

    async def start(self) -> None:
        self._inbox = self.bus.client.new_inbox()
        self._subscription = await self.bus.client.subscribe(f"{self._inbox}.*", cb=self._received)
        await settle(self.bus.client)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def ask(self, market: Market, command: bytes, done: Done, caller: str = "") -> bool:
        """Send ``command`` to ``market``'s venue; ``done`` is called once with the answer.
        False, and ``done`` never called, when ``limit`` commands wait already, or
        ``caller_limit`` of ``caller``'s."""
        callers = self._callers
        if len(self._waiting) >= self.limit or callers.get(caller, 0) >= self.caller_limit or not self._inbox:
            return False
        number = next(self._numbers)
        timer = asyncio.get_running_loop().call_later(self.timeout_s, self._expired, number)
        self._waiting[number] = (done, timer, caller, market)
        callers[caller] = callers.get(caller, 0) + 1
        self.bus.outbox.send(venue_subject(self.bus, market), command, f"{self._inbox}.{number}")
        return True

    async def _received(self, msg: Msg) -> None:
        tail = msg.subject.rpartition(".")[2]
        number = int(tail) if tail.isdigit() else 0
        data = msg.data
        if number not in self._waiting:
            self.unclaimed += 1
            return
        if number in self._early:
            self.unclaimed += 1  # answered already (a stray repeat)
        elif not data:  # the server's no-responders status: no plant took it
            self._resolve(number, b"")
        elif data[0] == WHOLE:
            self._joined(number, data[1:])
        elif data[0] == PART and len(data) >= _PART_HEAD.size:
            _, index, count = _PART_HEAD.unpack_from(data)
            parts = self._parts.setdefault(number, {})
            parts[index] = data[_PART_HEAD.size :]
            size = self._part_bytes[number] = self._part_bytes.get(number, 0) + len(data)
            if index >= count or size > MAX_ANSWER_BYTES:
                self._resolve(number, None)  # no answer of ours: its outcome unknown
            elif len(parts) == count:
                self._joined(number, b"".join(parts[i] for i in range(count)))
        else:
            self._resolve(number, None)  # not an answer of this release: its outcome unknown

    def _joined(self, number: int, data: bytes) -> None:
        """An answer whole: handed on once the bus has met the plant's run that made it."""
        if len(data) < RUN.size:
            self._resolve(number, None)  # not an answer of this release: its outcome unknown
            return
        (epoch,) = RUN.unpack_from(data)
        market = self._waiting[number][3]
        sequencer = self.bus.sequencers.get(market)
        if sequencer is None or sequencer.met(epoch):  # (None: its frames not followed here)
            self._resolve(number, data[RUN.size :])
            return
        self.early += 1
        self._early[number] = data[RUN.size :]
        self._meeting[number] = asyncio.get_running_loop().create_task(self._meet(number, market, epoch))

    async def _meet(self, number: int, market: Market, epoch: int) -> None:
        await self.bus.meet(market, epoch)
        del self._meeting[number]
        self._resolve(number, self._early[number])

    def _resolve(self, number: int, data: bytes | None) -> None:
        done, timer, caller, _ = self._waiting.pop(number)
        self._parts.pop(number, None)
        self._part_bytes.pop(number, None)
        self._early.pop(number, None)
        meeting = self._meeting.pop(number, None)
        if meeting is not None:  # handed on before its run was met (its time ran out, or closing)
            meeting.cancel()
        timer.cancel()
        left = self._callers[caller] - 1
        if left:
            self._callers[caller] = left
        else:
            del self._callers[caller]
        done(data)

    def _expired(self, number: int) -> None:
        if number in self._early:  # its answer came, its run's frames not: handed on all the same
            self.unmet += 1
            self._resolve(number, self._early[number])
        elif number in self._waiting:
            self.timed_out += 1
            self._resolve(number, None)

    async def close(self) -> None:
        for number in list(self._waiting):
            self._resolve(number, None)
        if self._subscription is not None:
            with contextlib.suppress(nats.errors.Error):
                await self._subscription.unsubscribe()
