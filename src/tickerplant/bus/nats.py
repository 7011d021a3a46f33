"""The bus over NATS: one plant process publishes, gateway processes subscribe.

Subjects (``prefix`` is ``tp`` unless told otherwise, so plants of different markets or
tests can share one nats-server):

- ``<prefix>.<market>.frames`` (``tp.um.frames``, ``tp.cm.frames``): every message the
  market's plant or source publishes, and the sink's notices, as sequence-numbered
  frames (``bus/frames.py``). One subject a market, not one a kind family: a gateway's
  market view needs every kind to answer requests, and one sequence per market orders a
  symbol's `@depthDiff` before the bookTicker with the same update id, as in one process.
- ``<prefix>.<market>.state``: request/reply; the plant answers its view of the market
  (``scaleout/view_state.py``) as of its last frame, in ``frames.StatePart``s sent to the
  requester's inbox: how a gateway that started late or lost frames catches up.
- ``<prefix>.listing``: request/reply; the plant answers its listing (``bus/listing.py``),
  which a gateway needs before it can build its listeners; ``<prefix>.listing.announced``:
  the plant publishes it there once when it starts, for the gateways already waiting.

Publishing is synchronous for the plant (``Bus.publish`` encodes and queues): each frame
goes straight into nats-py's pending writes, its PUB line, the frame and CRLF as three
buffers, and nats-py's flusher task writes them at the loop's next turn, as after its own
``publish``. Its own ``publish`` would join the frame into one PUB command (a copy of 80 kB
a frame at the plant's max) and take a writer task's turn per frame: together a third of
the bus's cost per frame (``benchmarks/scaleout/scenario.py`` (a): 0.66-0.73 of the floor that way,
0.87-0.93 this way, in-process over the same recorded frames). It is the one place that
touches nats-py's private client state (``_DIRECT``, checked when the bus is made: a
nats-py without it publishes the public way). The public way, through one writer task and
a bounded outbox, is also taken while nats-py is away (reconnecting), its pending writes are
past their bound or its flusher is gone, and, to keep the order, while frames wait there.

Receiving runs in nats-py's task per subscription: each frame is decoded, its sequence
checked (``frames.Sequencer``), and its messages handed to the market's handlers as one
batch, as ``LocalBus`` does; a gap, a restarted publisher or an unreadable frame is reported
to ``on_loss`` first, and a notice to ``on_notice`` after the messages that came before it.

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
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any

import msgspec
import nats
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from tickerplant.bus import Handler, StreamMessage
from tickerplant.bus.frames import (
    Continuity,
    Frame,
    Framer,
    Notice,
    Sequencer,
    Verdict,
    decode_frame,
    state_part_decoder,
    state_parts,
)
from tickerplant.market.instruments import Market

__all__ = ["DEFAULT_PREFIX", "OUTBOX_LIMIT", "LossHandler", "NatsBus", "NoticeHandler"]

log = logging.getLogger("tickerplant.bus")

DEFAULT_PREFIX = "tp"
LossHandler = Callable[[Market, Verdict], None]  # frames lost (or a new publisher) on a market
NoticeHandler = Callable[[Market, Notice], None]
# Frames a little under NATS's own limit: the msgpack array's header and a notice fit.
_FRAME_MARGIN = 1024
_REQUEST_TIMEOUT_S = 2.0  # a plant answers its listing at once, or is not there
_STATE_RETRY_S = 0.05  # between requests for a state that nobody answered
# nats-py's private client state that _queue_directly writes, as its Client.publish does
# (nats/aio/client.py, 2.9-2.16: _send_command, _flush_pending)
_DIRECT = ("_pending", "_pending_data_size", "_max_pending_size", "_flush_queue", "_flusher_task", "stats")
# Frames queued for NATS at most (bytes): past it the newest are dropped, never the
# plant's memory grown; a subscriber sees the gap and asks for the state.
OUTBOX_LIMIT = 256 * 1024 * 1024


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
        outbox_limit: int = OUTBOX_LIMIT,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.on_loss = on_loss
        self.on_notice = on_notice
        self.epoch = secrets.randbits(62)  # this publisher's run (frames.Frame.epoch)
        limit = max(client.max_payload - _FRAME_MARGIN, 4096)
        self._framers = {market: Framer(self.epoch, limit) for market in Market}
        self._outbox: collections.deque[tuple[str, bytes]] = collections.deque()
        self._outbox_bytes = 0
        self.outbox_limit = outbox_limit
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._writer: asyncio.Task[None] | None = None
        self.dropped = 0  # frames the publisher could not hand to NATS (subscribers see a gap)
        self._handlers: dict[Market, list[Handler]] = {market: [] for market in Market}
        self.sequencers: dict[Market, Sequencer] = {}
        # frames and their bytes received per market, for the metrics (admin/metrics.py)
        self.received: dict[Market, list[int]] = {market: [0, 0] for market in Market}
        self._subscribing: list[asyncio.Task[Subscription]] = []
        self._held: dict[Market, list[Frame]] = {}  # markets held, and what arrived meanwhile
        self._frame_limit = limit
        self._answering: list[Subscription] = []  # the plant's answering subscriptions
        # frames into nats-py's pending writes (see the module docstring), where it has them
        self.direct = all(hasattr(client, name) for name in _DIRECT)

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
        for frame in frames:
            self._send_raw(subject, frame)

    def _send_raw(self, subject: str, data: bytes) -> None:
        if self.direct and not self._outbox and self._queue_directly(subject, data):
            return
        if self._outbox_bytes + len(data) > self.outbox_limit:
            self._drop("the outbox is full: NATS takes less than the plant publishes")
            return  # a frame's number is spent: subscribers see the gap and resync
        self._outbox.append((subject, data))
        self._outbox_bytes += len(data)
        self._idle.clear()
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write())
        self._wake.set()

    def _queue_directly(self, subject: str, data: bytes) -> bool:
        """``data`` on ``subject`` as nats-py's ``publish`` queues it, without its copy or a
        task's turn; False when it must go the public way: nats-py away, its pending writes
        past their bound, its flusher gone, or ``data`` past NATS's limit."""
        client: Any = self.client
        size = len(data)
        limit = client._max_pending_size
        flusher = client._flusher_task
        if (
            not client.is_connected
            or (limit > 0 and client._pending_data_size + size > limit)
            or flusher is None
            or flusher.done()
            or size > client.max_payload
        ):
            return False
        head = b"PUB %s %d\r\n" % (subject.encode(), size)
        pending = client._pending
        pending.append(head)
        pending.append(data)
        pending.append(b"\r\n")
        client._pending_data_size += len(head) + size + 2
        stats = client.stats
        stats["out_msgs"] += 1
        stats["out_bytes"] += size
        kick = client._flush_queue
        if kick.empty():  # the flusher writes what is pending at its next turn
            kick.put_nowait(asyncio.get_running_loop().create_future())
        return True

    async def _write(self) -> None:
        outbox, client = self._outbox, self.client
        while True:
            while outbox:
                subject, data = outbox.popleft()
                self._outbox_bytes -= len(data)
                try:
                    await client.publish(subject, data)
                except nats.errors.Error as exc:  # away too long, or closed: the frame is lost
                    self._drop(type(exc).__name__)
            self._idle.set()
            self._wake.clear()
            await self._wake.wait()

    def post(self, subject: str, data: bytes) -> None:
        """Publish ``data`` on ``subject`` as it is, in order with the frames."""
        self._send_raw(subject, data)

    async def on(self, subject: str, handler: Callable[[bytes], None]) -> None:
        """Call ``handler`` with each message's data on ``subject``."""

        async def receive(msg: Msg) -> None:
            handler(msg.data)

        await self.client.subscribe(subject, cb=receive)
        await self.client.flush()

    def _drop(self, why: str) -> None:
        self.dropped += 1
        if self.dropped & (self.dropped - 1) == 0:  # the 1st, 2nd, 4th, 8th, …
            log.warning("NATS: %d frames dropped (%s)", self.dropped, why)

    async def flush(self) -> None:
        """Return once every frame published so far has reached the NATS server."""
        await self._idle.wait()
        await self.client.flush()

    # -- subscribing -------------------------------------------------------------------------

    def subscribe(self, market: Market, handler: Handler) -> None:
        self._handlers[market].append(handler)
        self._listen(market)

    def hold(self, markets: Collection[Market] = tuple(Market)) -> None:
        """Subscribe to ``markets`` now, and keep what arrives until ``release``."""
        for market in markets:
            self._held.setdefault(market, [])
            self._listen(market)

    def release(self, market: Market, after: tuple[int, int] | None = None) -> None:
        """Hand the market's handlers (and ``on_notice``) what arrived while it was held, in
        order; ``after`` (epoch, seq): but for the frames up to that one, which a state
        loaded meanwhile holds already. The subscriber follows on from it: the state is
        answered ahead of the frames in the publisher's outbox, so some it holds may
        arrive after it, and they are stale then, not new."""
        sequencer = self.sequencers.get(market)
        if after is not None and sequencer is not None:
            epoch, seq = after
            if sequencer.epoch is None or (sequencer.epoch == epoch and sequencer.seq < seq):
                sequencer.epoch, sequencer.seq = epoch, seq
        for frame in self._held.pop(market, ()):
            if after is not None and frame.epoch == after[0] and frame.seq <= after[1]:
                continue
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
        received = self.received[market]

        async def receive(msg: Msg) -> None:
            received[0] += 1
            received[1] += len(msg.data)
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
            held = self._held.get(market)
            if held is not None:
                held.append(frame)
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

        self._answering.append(await self.client.subscribe(self.listing_subject, cb=answer))
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

    # -- a market's state (request/reply) ------------------------------------------------------

    def state_subject(self, market: Market) -> str:
        return f"{self.prefix}.{market.value}.state"

    async def answer_state(self, market: Market, capture: Callable[[], bytes]) -> None:
        """Answer each request for the market's state with ``capture()``, as of the last
        frame published (the plant's side); in parts, to the requester's inbox."""
        framer = self._framers[market]

        async def answer(msg: Msg) -> None:
            # captured and numbered in one step: every frame up to framer.seq is in it
            parts = state_parts(self.epoch, framer.seq, capture(), self._frame_limit)
            for part in parts:
                await self.client.publish(msg.reply, part)

        self._answering.append(await self.client.subscribe(self.state_subject(market), cb=answer))
        await self.client.flush()  # in place at the server before anyone is told to ask

    async def request_state(self, market: Market, timeout_s: float) -> tuple[int, int, bytes] | None:
        """The plant's state of ``market`` and the (epoch, seq) it is as of; None when no
        whole answer came within ``timeout_s``."""
        parts: dict[int, bytes] = {}
        loop = asyncio.get_running_loop()
        answers: list[asyncio.Future[tuple[int, int, bytes] | None]] = []

        async def received(msg: Msg) -> None:
            whole = answers[-1]
            if not msg.data:  # a status (503: no responders), not a part
                if not whole.done():
                    whole.set_result(None)
                return
            part = state_part_decoder.decode(msg.data)
            parts[part.index] = part.data
            if len(parts) == part.count and not whole.done():
                whole.set_result((part.epoch, part.seq, b"".join(parts[i] for i in range(part.count))))

        inbox = self.client.new_inbox()
        receiving = await self.client.subscribe(inbox, cb=received)
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    answers.append(loop.create_future())
                    await self.client.publish(self.state_subject(market), b"", reply=inbox)
                    answer = await answers[-1]
                    if answer is not None:
                        return answer
                    # nobody answered (a plant starting, or one whose answering is not
                    # in place at the server yet): ask again, soon
                    await asyncio.sleep(_STATE_RETRY_S)
        except (TimeoutError, msgspec.DecodeError, nats.errors.Error) as exc:
            log.error("%s: no state from the plant: %s", market.value, type(exc).__name__)
            return None
        finally:
            with contextlib.suppress(nats.errors.Error):
                await receiving.unsubscribe()

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
