"""Commands to the venue over NATS request/reply (``serve --workers``, split mode).

Subject ``<prefix>.<market>.venue``: a gateway sends each private request it admitted
(``venue/forwarded.py``'s bytes, opaque here) with a reply subject of its own, the plant
answers on it. One inbox subscription per gateway (``<inbox>.<n>``), not one per request
as nats-py's ``request`` makes, and the commands go out through the bus's outbox, as
frames do: a command costs the gateway a dict entry and a timer until its answer.

Bounded by design: at most ``limit`` commands wait for an answer at once (a further one is
refused at once, ``ask`` returning False); each waits ``timeout_s`` at most, then is told
``None`` (its outcome unknown: the plant may have done it). An answer that comes after its
command timed out, or for no command, is dropped.

The plant's side (``answer``) calls its handler with each command's bytes, in order, and
sends what it returns to the reply subject through the same outbox as its frames, so the
user data events a command caused leave before its answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable

import nats.errors
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from tickerplant.bus.nats import NatsBus
from tickerplant.market.instruments import Market

__all__ = ["NO_RESPONDERS", "PENDING_LIMIT", "TIMEOUT_S", "VenueRequests", "answer", "venue_subject"]

PENDING_LIMIT = 10_000  # commands a gateway has waiting on the plant at once
TIMEOUT_S = 10.0  # a command's wait for its answer (Binance's own backend timeout is of this order)
NO_RESPONDERS = b""  # what the NATS server answers when no plant subscribes (its 503 status)

Done = Callable[[bytes | None], None]  # the answer; b"": no plant took it; None: none in time


def venue_subject(bus: NatsBus, market: Market) -> str:
    return f"{bus.prefix}.{market.value}.venue"


def _now(act: Callable[[], object]) -> None:
    act()


async def answer(
    bus: NatsBus, market: Market, handler: Callable[[bytes], bytes],
    after: Callable[[Callable[[], object]], None] = _now,
) -> Subscription:  # fmt: skip
    """Answer each command on ``market``'s venue subject with ``handler``'s bytes (the
    plant's side), each sent when ``after`` runs what it is given (the journal's group
    commit: once the journal holds what it says); in place at the NATS server on return."""
    send = bus.outbox.send

    async def received(msg: Msg) -> None:
        if msg.reply:
            reply, to = handler(msg.data), msg.reply
            after(lambda: send(to, reply))

    subscription = await bus.client.subscribe(venue_subject(bus, market), cb=received)
    await bus.client.flush()
    return subscription


class VenueRequests:
    """A gateway's commands waiting for the plant's answers."""

    def __init__(self, bus: NatsBus, *, limit: int = PENDING_LIMIT, timeout_s: float = TIMEOUT_S) -> None:
        self.bus = bus
        self.limit = limit
        self.timeout_s = timeout_s
        self._inbox = ""
        self._numbers = itertools.count(1)
        self._waiting: dict[int, tuple[Done, asyncio.TimerHandle]] = {}
        self._subscription: Subscription | None = None
        self.timed_out = 0  # commands told None: their outcome unknown
        self.unclaimed = 0  # answers that came for no waiting command (late, or stray)

    async def start(self) -> None:
        self._inbox = self.bus.client.new_inbox()
        self._subscription = await self.bus.client.subscribe(f"{self._inbox}.*", cb=self._received)
        await self.bus.client.flush()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def ask(self, market: Market, command: bytes, done: Done) -> bool:
        """Send ``command`` to ``market``'s venue; ``done`` is called once with the answer.
        False, and ``done`` never called, when ``limit`` commands wait already."""
        if len(self._waiting) >= self.limit or not self._inbox:
            return False
        number = next(self._numbers)
        timer = asyncio.get_running_loop().call_later(self.timeout_s, self._expired, number)
        self._waiting[number] = (done, timer)
        self.bus.outbox.send(venue_subject(self.bus, market), command, f"{self._inbox}.{number}")
        return True

    async def _received(self, msg: Msg) -> None:
        number = msg.subject.rpartition(".")[2]
        waiting = self._waiting.pop(int(number), None) if number.isdigit() else None
        if waiting is None:
            self.unclaimed += 1
            return
        done, timer = waiting
        timer.cancel()
        done(msg.data)  # b"" is the server's no-responders status: no plant took it

    def _expired(self, number: int) -> None:
        waiting = self._waiting.pop(number, None)
        if waiting is not None:
            self.timed_out += 1
            waiting[0](None)

    async def close(self) -> None:
        for done, timer in self._waiting.values():
            timer.cancel()
            done(None)
        self._waiting.clear()
        if self._subscription is not None:
            with contextlib.suppress(nats.errors.Error):
                await self._subscription.unsubscribe()
