"""The bus over NATS: one plant process publishes, gateway processes subscribe.

Subjects (``prefix`` is ``tp`` unless told otherwise, so plants of different markets or
tests can share one nats-server):

- ``<prefix>.<market>.frames`` (``tp.um.frames``, ``tp.cm.frames``): every message the
  market's plant or source publishes, and the sink's notices, as sequence-numbered
  frames (``bus/frames.py``). One subject a market, not one a kind family: a gateway's
  market view needs every kind to answer requests, and one sequence per market orders a
  symbol's `@depthDiff` before the bookTicker with the same update id, as in one process.
- ``<prefix>.listing``: request/reply; the plant answers its listing (``bus/listing.py``),
  which a gateway needs before it can build its listeners; ``<prefix>.listing.announced``:
  the plant publishes it there once when it starts, for the gateways already waiting.

Publishing is synchronous for the plant (``Bus.publish`` encodes and queues) and one
writer task hands the frames to nats-py in order. Receiving runs in nats-py's task per
subscription: each frame is decoded, its sequence checked (``frames.Sequencer``), and its
messages handed to the market's handlers as one batch, as ``LocalBus`` does; a gap, a
restarted publisher or an unreadable frame is reported to ``on_loss`` first, and a
notice to ``on_notice`` after the messages that came before it.

A gateway subscribes before it knows what it will serve: ``hold`` starts the markets'
subscriptions and keeps the frames that arrive (from the plant's first, when the gateway
was there first) until ``release`` hands them to the handlers subscribed meanwhile.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence

import msgspec
import nats
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from tickerplant.bus import Handler, StreamMessage
from tickerplant.bus.frames import Continuity, Frame, Framer, Notice, Sequencer, Verdict, decode_frame
from tickerplant.market.instruments import Market

__all__ = ["DEFAULT_PREFIX", "LossHandler", "NatsBus", "NoticeHandler"]

log = logging.getLogger("tickerplant.bus")

DEFAULT_PREFIX = "tp"
LossHandler = Callable[[Market, Verdict], None]  # frames lost (or a new publisher) on a market
NoticeHandler = Callable[[Market, Notice], None]
# Frames a little under NATS's own limit: the msgpack array's header and a notice fit.
_FRAME_MARGIN = 1024
_REQUEST_TIMEOUT_S = 2.0  # a plant answers its listing at once, or is not there


def _ignore_loss(market: Market, verdict: Verdict) -> None:
    return None


def _ignore_notice(market: Market, notice: Notice) -> None:
    return None


class NatsBus:
    """``bus.Bus`` over one NATS connection: publish, subscribe, or both."""

    def __init__(
        self,
        client: Client,
        *,
        prefix: str = DEFAULT_PREFIX,
        on_loss: LossHandler = _ignore_loss,
        on_notice: NoticeHandler = _ignore_notice,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.on_loss = on_loss
        self.on_notice = on_notice
        self.epoch = secrets.randbits(62)  # this publisher's run (frames.Frame.epoch)
        limit = max(client.max_payload - _FRAME_MARGIN, 4096)
        self._framers = {market: Framer(self.epoch, limit) for market in Market}
        self._outbox: collections.deque[tuple[str, bytes]] = collections.deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._writer: asyncio.Task[None] | None = None
        self.dropped = 0  # frames the publisher could not hand to NATS (subscribers see a gap)
        self._handlers: dict[Market, list[Handler]] = {market: [] for market in Market}
        self.sequencers: dict[Market, Sequencer] = {}
        self._subscribing: list[asyncio.Task[Subscription]] = []
        self._held: list[tuple[Market, Frame]] | None = None  # frames received while held
        self._answering: Subscription | None = None

    @classmethod
    async def connect(cls, url: str, *, name: str, prefix: str = DEFAULT_PREFIX) -> NatsBus:
        """A bus on a new connection to ``url`` that reconnects for ever (a gateway keeps
        serving what it has while NATS is away; the gap shows when frames come back)."""
        client = await nats.connect(
            url,
            name=name,
            max_reconnect_attempts=-1,
            reconnect_time_wait=1,  # seconds
            pending_size=64 * 1024 * 1024,  # frames held while NATS is away, then dropped
            error_cb=_log_error,
        )
        return cls(client, prefix=prefix)

    def subject(self, market: Market) -> str:
        return f"{self.prefix}.{market.value}.frames"

    # -- publishing --------------------------------------------------------------------------

    def publish(self, market: Market, messages: Sequence[StreamMessage]) -> None:
        if messages:
            self._send(market, self._framers[market].frames(messages))

    def notify(self, market: Market, notice: Notice) -> None:
        """Tell the market's subscribers what the source told the sink, in sequence."""
        self._send(market, self._framers[market].frames((), notice))

    def _send(self, market: Market, frames: list[bytes]) -> None:
        subject = self.subject(market)
        self._outbox.extend([(subject, frame) for frame in frames])
        self._idle.clear()
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write())
        self._wake.set()

    async def _write(self) -> None:
        outbox, client = self._outbox, self.client
        while True:
            while outbox:
                subject, data = outbox.popleft()
                try:
                    await client.publish(subject, data)
                except nats.errors.Error as exc:  # away too long, or closed: the frame is lost
                    self.dropped += 1
                    if self.dropped == 1 or self.dropped % 1000 == 0:
                        log.warning("NATS: %d frames dropped (%s)", self.dropped, type(exc).__name__)
            self._idle.set()
            self._wake.clear()
            await self._wake.wait()

    async def flush(self) -> None:
        """Return once every frame published so far has reached the NATS server."""
        await self._idle.wait()
        await self.client.flush()

    # -- subscribing -------------------------------------------------------------------------

    def subscribe(self, market: Market, handler: Handler) -> None:
        self._handlers[market].append(handler)
        self._listen(market)

    def hold(self) -> None:
        """Subscribe to every market now, and keep what arrives until ``release``."""
        if self._held is None:
            self._held = []
        for market in Market:
            self._listen(market)

    def release(self) -> None:
        """Hand the handlers (and ``on_notice``) what arrived while held, in order."""
        held, self._held = self._held or [], None
        for market, frame in held:
            self._deliver(market, self._handlers[market], frame)

    def _listen(self, market: Market) -> None:
        if market not in self.sequencers:
            self.sequencers[market] = sequencer = Sequencer()
            receive = self._receiver(market, self._handlers[market], sequencer)
            # nats-py drops what overflows a subscription's pending bytes (a slow consumer):
            # the sequence shows the gap
            subject, limit = self.subject(market), 256 * 1024 * 1024
            made = self.client.subscribe(subject, cb=receive, pending_bytes_limit=limit)
            self._subscribing.append(asyncio.get_running_loop().create_task(made))

    async def ready(self) -> None:
        """Return once the subscriptions made so far are in place at the NATS server."""
        await asyncio.gather(*self._subscribing)
        await self.client.flush()

    def _receiver(
        self, market: Market, handlers: list[Handler], sequencer: Sequencer
    ) -> Callable[[Msg], Awaitable[None]]:
        async def receive(msg: Msg) -> None:
            try:
                frame = decode_frame(msg.data)
            except msgspec.DecodeError:
                size = len(msg.data)
                log.error("%s: an unreadable frame on %s (%d bytes)", market.value, msg.subject, size)
                self.on_loss(market, Verdict(Continuity.GAP, 1))
                return
            verdict = sequencer.follow(frame.epoch, frame.seq)
            continuity = verdict.continuity
            if continuity is Continuity.STALE:
                return
            if continuity is not Continuity.NEXT:
                self.on_loss(market, verdict)
            if self._held is not None:
                self._held.append((market, frame))
            else:
                self._deliver(market, handlers, frame)

        return receive

    def _deliver(self, market: Market, handlers: list[Handler], frame: Frame) -> None:
        messages = frame.messages
        if messages:
            for handler in handlers:
                handler(messages)
        if frame.notice is not None:
            self.on_notice(market, frame.notice)

    # -- the listing (request/reply) ---------------------------------------------------------

    @property
    def listing_subject(self) -> str:
        return f"{self.prefix}.listing"

    async def answer_listing(self, listing: bytes) -> None:
        """Answer every request for the listing with ``listing``, and announce it to the
        gateways waiting already (the plant's side)."""

        async def answer(msg: Msg) -> None:
            await msg.respond(listing)

        self._answering = await self.client.subscribe(self.listing_subject, cb=answer)
        await self.client.flush()
        await self.client.publish(f"{self.listing_subject}.announced", listing)
        await self.client.flush()

    async def wait_listing(self, on_waiting: Callable[[], None]) -> bytes:
        """The plant's listing: its answer, or when no plant answers (``on_waiting`` is
        called), its announcement when one starts."""
        announced: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

        async def heard(msg: Msg) -> None:
            if not announced.done():
                announced.set_result(msg.data)

        # Listening before asking: a plant that starts after the request went unanswered
        # announces after it answers, which this subscription, in place first, receives.
        listening = await self.client.subscribe(f"{self.listing_subject}.announced", cb=heard)
        try:
            await self.client.flush()
            try:
                reply = await self.client.request(self.listing_subject, b"", timeout=_REQUEST_TIMEOUT_S)
            except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
                on_waiting()
                return await announced
            return reply.data
        finally:
            with contextlib.suppress(nats.errors.Error):
                await listening.unsubscribe()

    async def close(self) -> None:
        """Hand NATS what is queued (briefly), then close the connection."""
        if self._writer is not None:
            if self.client.is_connected:
                with contextlib.suppress(TimeoutError, nats.errors.Error):
                    await asyncio.wait_for(self.flush(), 5.0)
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        for task in self._subscribing:
            task.cancel()
        # nats-py writes what is pending into a transport the server may have closed
        # already (RuntimeError on uvloop): closing is all that is left to do either way
        with contextlib.suppress(nats.errors.Error, RuntimeError, OSError):
            await self.client.close()


async def _log_error(exc: Exception) -> None:
    # nats-py reports a slow consumer's dropped messages here; the sequence gap that
    # follows is what the gateway acts on.
    log.warning("NATS: %s", exc or type(exc).__name__)
