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
  requester's inbox: how a gateway that started late or lost frames catches up. A request
  is sent again when the plant that took it is gone (a restarted plant's first frame) or
  the NATS server was (the connection back): its answer would never come.
- ``<prefix>.listing``: request/reply; the plant answers its listing (``bus/listing.py``),
  which a gateway needs before it can build its listeners; ``<prefix>.listing.announced``:
  the plant publishes it there once when it starts, for the gateways already waiting.
- ``<prefix>.demand`` and ``<prefix>.demand.ask``: the streams each gateway's clients hold,
  which the plant writes alone (``bus/demand.py``).

Publishing is synchronous for the plant: each frame goes straight into nats-py's pending
writes, or through a bounded outbox while it cannot (``bus/nats_writer.py``). A market with
nothing to publish gets an empty frame at least once a ``HEARTBEAT_MS`` (``heartbeat``), so
a gateway can tell a quiet market from a plant it no longer hears.

Receiving runs in nats-py's task per subscription: each frame is decoded, its sequence
checked (``frames.Sequencer``), and its messages handed to the market's handlers as one
batch, as ``LocalBus`` does; a gap or a restarted publisher is reported to ``on_loss``
first, and a notice to ``on_notice`` after the messages that came before it. A message that
does not validate is reported to ``on_rejected`` (the gateway counts and logs it) and dropped.

The connection (``bus/nats_connection.py``) authenticates as ``NatsAuth`` says and
reconnects for ever; what it meets meanwhile (errors, a lost and a regained server) goes
to ``on_trouble``, which the processes log within a budget.

A gateway subscribes before it knows what it will serve: ``hold`` starts the markets'
subscriptions and keeps the frames that arrive (from the plant's first, when the gateway
was there first) until ``release`` hands them to the handlers subscribed meanwhile.

``meet`` waits until a publisher's run has been met (its first frame received): a restarted
plant's answer comes on another subscription, which can overtake it (``bus/venue_link.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Collection, Sequence

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
    Hold,
    Notice,
    Sequencer,
    Unreadable,
    Verdict,
    decode_frame,
    decode_state_part,
    state_parts,
)
from tickerplant.bus.listing import answer_listing, wait_listing
from tickerplant.bus.nats_connection import NatsAuth, TroubleHandler, open_connection
from tickerplant.bus.nats_writer import OUTBOX_LIMIT, Outbox, settle
from tickerplant.market.instruments import Market

__all__ = [
    "DEFAULT_PREFIX", "HEARTBEAT_MS", "OUTBOX_LIMIT", "LossHandler", "NatsAuth", "NatsBus", "NoticeHandler",
    "RejectHandler", "TroubleHandler",
]  # fmt: skip (NatsAuth and TroubleHandler are bus/nats_connection.py's, here for the bus's users)

log = logging.getLogger("tickerplant.bus")

DEFAULT_PREFIX = "tp"
LossHandler = Callable[[Market, Verdict], None]  # frames lost (or a new publisher) on a market
NoticeHandler = Callable[[Market, Notice], None]
# a message that did not validate (a frame, a part of a state), and why: counted and dropped
RejectHandler = Callable[[Market, str], None]
# Frames a little under NATS's own limit: the msgpack array's header and a notice fit.
_FRAME_MARGIN = 1024
_STATE_RETRY_S = 0.05  # between requests for a state that nobody answered
# A market publishes a frame at least this often, an empty one when it has nothing else: a
# gateway that hears nothing for a while has lost the plant, not a quiet market.
HEARTBEAT_MS = 1000


def _ignore_loss(market: Market, verdict: Verdict) -> None:
    return None


def _ignore_notice(market: Market, notice: Notice) -> None:
    return None


def _log_rejected(market: Market, why: str) -> None:
    log.warning("%s: %s", market.value, why)


def _log_trouble(kind: str, text: str) -> None:
    log.warning("NATS: %s", text)


class NatsBus:
    """``bus.Bus`` over one NATS connection: publish, subscribe, or both."""

    def __init__(
        self,
        client: Client,
        *,
        prefix: str = DEFAULT_PREFIX,
        on_loss: LossHandler = _ignore_loss,
        on_notice: NoticeHandler = _ignore_notice,
        on_rejected: RejectHandler = _log_rejected,
        outbox_limit: int = OUTBOX_LIMIT,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.on_loss = on_loss
        self.on_notice = on_notice
        self.on_rejected = on_rejected
        self.epoch = secrets.randbits(62)  # this publisher's run (frames.Frame.epoch)
        limit = max(client.max_payload - _FRAME_MARGIN, 4096)
        self._framers = {market: Framer(self.epoch, limit) for market in Market}
        self.outbox = Outbox(client, outbox_limit)
        self._beaten = {market: 0 for market in Market}  # each framer's seq at the last heartbeat
        self.on_trouble: TroubleHandler = _log_trouble
        self._handlers: dict[Market, list[Handler]] = {market: [] for market in Market}
        self.sequencers: dict[Market, Sequencer] = {}
        # frames and their bytes received per market, for the metrics (admin/metrics.py)
        self.received: dict[Market, list[int]] = {market: [0, 0] for market in Market}
        # frames handed on per market, heartbeats included, and those a loaded state held
        # (bus/liveness.py: the plant is heard)
        self.delivered: dict[Market, int] = dict.fromkeys(Market, 0)
        self._subscribing: list[asyncio.Task[Subscription]] = []
        self._held: dict[Market, Hold] = {}  # markets held, and what arrived meanwhile
        self._frame_limit = limit
        self._answering: list[Subscription] = []  # the plant's answering subscriptions
        # who waits to meet a publisher's run (``meet``), per market
        self._meeting: dict[Market, list[tuple[int, asyncio.Future[None]]]] = {m: [] for m in Market}
        # each market's request for a state, waiting for its answer (``request_state``)
        self._asking: dict[Market, asyncio.Future[tuple[int, int, bytes] | None]] = {}

    @classmethod
    async def connect(
        cls, url: str, *, name: str, prefix: str = DEFAULT_PREFIX, auth: NatsAuth | None = None
    ) -> NatsBus:
        """A bus on a new connection to ``url`` (``bus/nats_connection.py``): it reconnects
        for ever (a gateway keeps serving what it has while NATS is away; the gap shows
        when frames come back) and reports what it meets to ``on_trouble``."""
        buses: list[NatsBus] = []  # the bus, once made

        def report(kind: str, text: str) -> None:
            if buses and kind == "reconnected":  # a request sent as the server went may be lost
                buses[0]._ask_again(*Market)
            (buses[0].on_trouble if buses else _log_trouble)(kind, text)

        client = await open_connection(url, name=name, auth=auth or NatsAuth(), report=report)
        buses.append(cls(client, prefix=prefix))
        return buses[0]

    def subject(self, market: Market) -> str:
        return f"{self.prefix}.{market.value}.frames"

    # -- publishing --------------------------------------------------------------------------

    def publish(self, market: Market, messages: Sequence[StreamMessage]) -> None:
        if messages:
            self._send(market, self._framers[market].frames(messages))

    def notify(self, market: Market, notice: Notice) -> None:
        """Tell the market's subscribers what the source told the sink, in sequence."""
        self._send(market, self._framers[market].frames((), notice))

    def heartbeat(self) -> None:
        """An empty frame on each market that published none since the last heartbeat
        (call it every ``HEARTBEAT_MS``): its subscribers hear the plant is there."""
        for market, framer in self._framers.items():
            if framer.seq == self._beaten[market]:
                self._send(market, framer.frames(()))
            self._beaten[market] = framer.seq

    def _send(self, market: Market, frames: list[bytes]) -> None:
        subject, send = self.subject(market), self.outbox.send
        for frame in frames:
            send(subject, frame)

    def post(self, subject: str, data: bytes) -> None:
        """Publish ``data`` on ``subject`` as it is, in order with the frames."""
        self.outbox.send(subject, data)

    async def on(self, subject: str, handler: Callable[[bytes], None]) -> None:
        """Call ``handler`` with each message's data on ``subject``."""

        async def receive(msg: Msg) -> None:
            handler(msg.data)

        await self.client.subscribe(subject, cb=receive)
        await settle(self.client)

    async def flush(self) -> None:
        """Return once every frame published so far has reached the NATS server."""
        await self.outbox.idle()
        await settle(self.client)

    # -- subscribing -------------------------------------------------------------------------

    def subscribe(self, market: Market, handler: Handler) -> None:
        self._handlers[market].append(handler)
        self._listen(market)

    def hold(self, markets: Collection[Market] = tuple(Market)) -> None:
        """Subscribe to ``markets`` now, and keep what arrives until ``release``."""
        for market in markets:
            self._held.setdefault(market, Hold())
            self._listen(market)

    def release(
        self, market: Market, after: tuple[int, int] | None = None,
        unstated: Callable[[str], bool] | None = None,
    ) -> bool:  # fmt: skip
        """Hand the market's handlers (and ``on_notice``) what arrived while it was held, in
        order; ``after`` (epoch, seq): but for the frames up to that one, which a state
        loaded meanwhile holds already, save their messages on the streams ``unstated``
        names (a state holds views, not what only passes through them: a listen key's
        events), handed on first. The subscriber follows on from it: the state is
        answered ahead of the frames in the publisher's outbox, so some it holds may
        arrive after it, and they are stale then, not new. False, the market held still
        (from now on), when frames after ``after`` were dropped from the hold
        (``frames.Hold``): a state as of a later frame is needed."""
        hold = self._held.pop(market, None)
        split = hold.after(after) if hold is not None else ([], [])
        if split is None:
            self._held[market] = Hold()
            return False
        covered, frames = split
        sequencer = self.sequencers.get(market)
        if after is not None and sequencer is not None:
            epoch, seq = after
            if sequencer.epoch is None or (sequencer.epoch == epoch and sequencer.seq < seq):
                sequencer.epoch, sequencer.seq = epoch, seq
        if hold is not None:
            self.delivered[market] += len(hold) - len(frames)  # in the state
        handlers = self._handlers[market]
        passing = [m for frame in covered for m in frame.messages if unstated(m.stream)] if unstated else []
        if passing:
            for handler in handlers:
                handler(passing)
        for frame in frames:
            self._deliver(market, handlers, frame)
        return True

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
        await settle(self.client)

    def _receiver(
        self, market: Market, handlers: list[Handler], sequencer: Sequencer
    ) -> Callable[[Msg], Awaitable[None]]:
        received = self.received[market]

        async def receive(msg: Msg) -> None:
            received[0] += 1
            received[1] += len(msg.data)
            try:
                frame = decode_frame(msg.data)
            except Unreadable as exc:
                # Dropped, never taken for a loss: whoever can write garbage on the subject
                # would otherwise close every client. A real frame lost shows as a gap at
                # the next one.
                self.on_rejected(market, f"{len(msg.data)} bytes on {msg.subject} dropped: {exc}")
                return
            verdict = sequencer.follow(frame.epoch, frame.seq)
            continuity = verdict.continuity
            if continuity is Continuity.STALE:
                return
            if continuity is not Continuity.NEXT:
                self.on_loss(market, verdict)
                if continuity is Continuity.RESTARTED:  # the plant asked for a state is gone
                    self._ask_again(market)
            held = self._held.get(market)
            if held is not None:
                held.add(frame, len(msg.data))
            else:
                self._deliver(market, handlers, frame)
            if meeting[market] and continuity is not Continuity.NEXT:  # a run met first: FIRST, RESTARTED
                self._met(market, sequencer)

        meeting = self._meeting
        return receive

    async def meet(self, market: Market, epoch: int) -> None:
        """Return once run ``epoch``'s frames on ``market`` have been met (its first received,
        handed on or held for a state, ``on_loss`` told; ``frames.Sequencer.met``), or at once
        if they have or the market is not followed here. A caller bounds the wait (a plant
        publishes a frame as it starts, and one at least every ``HEARTBEAT_MS``)."""
        sequencer = self.sequencers.get(market)
        if sequencer is None or sequencer.met(epoch):
            return
        waiting = asyncio.get_running_loop().create_future()
        self._meeting[market].append((epoch, waiting))
        try:
            await waiting
        finally:
            if waiting.cancelled() or not waiting.done():  # its caller's wait over: no longer met for
                self._meeting[market] = [w for w in self._meeting[market] if w[1] is not waiting]

    def _met(self, market: Market, sequencer: Sequencer) -> None:
        meeting = self._meeting[market]
        self._meeting[market] = [w for w in meeting if not sequencer.met(w[0])]
        for _, future in (w for w in meeting if sequencer.met(w[0]) and not w[1].done()):
            future.set_result(None)

    def _deliver(self, market: Market, handlers: list[Handler], frame: Frame) -> None:
        self.delivered[market] += 1
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
        gateways waiting already (the plant's side: ``listing.answer_listing``)."""
        self._answering.append(await answer_listing(self.client, self.listing_subject, listing))

    async def wait_listing(self, on_waiting: Callable[[], None]) -> bytes:
        """The plant's listing (``listing.wait_listing``): its answer, or when no plant answers
        (``on_waiting`` is called), its announcement when one starts."""
        return await wait_listing(self.client, self.listing_subject, on_waiting)

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
        await settle(self.client)  # in place at the server before anyone is told to ask

    async def request_state(self, market: Market, timeout_s: float) -> tuple[int, int, bytes] | None:
        """The plant's state of ``market`` and the (epoch, seq) it is as of; None when no
        whole answer came within ``timeout_s``. A part that does not validate is dropped
        (``on_rejected``); parts join only with parts of the same answer (epoch, seq and
        count), so a stray part cannot mix into another answer."""
        answers: dict[tuple[int, int, int], dict[int, bytes]] = {}
        loop = asyncio.get_running_loop()
        whole: list[asyncio.Future[tuple[int, int, bytes] | None]] = []

        async def received(msg: Msg) -> None:
            if not msg.data:  # a status (503: no responders), not a part
                if not whole[-1].done():
                    whole[-1].set_result(None)
                return
            try:
                part = decode_state_part(msg.data)
            except Unreadable as exc:
                self.on_rejected(market, f"a state's part dropped: {exc}")
                return
            parts = answers.setdefault((part.epoch, part.seq, part.count), {})
            parts[part.index] = part.data
            if len(parts) == part.count and not whole[-1].done():
                whole[-1].set_result((part.epoch, part.seq, b"".join(parts[i] for i in range(part.count))))

        inbox = self.client.new_inbox()
        receiving = await self.client.subscribe(inbox, cb=received)
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    whole.append(loop.create_future())
                    self._asking[market] = whole[-1]
                    await self.client.publish(self.state_subject(market), b"", reply=inbox)
                    answer = await whole[-1]
                    if answer is not None:
                        return answer
                    # nobody answered (a plant starting, or one whose answering is not in
                    # place at the server yet), or nobody will (``_ask_again``): ask again, soon
                    await asyncio.sleep(_STATE_RETRY_S)
        except (TimeoutError, nats.errors.Error):
            return None
        finally:
            self._asking.pop(market, None)
            with contextlib.suppress(nats.errors.Error):
                await receiving.unsubscribe()

    def _ask_again(self, *markets: Market) -> None:
        """Send the markets' state requests again: the plant that had one died with it (a
        restarted publisher), or the request was sent as the NATS server went (reconnected).
        Waited for, it would hold the market's frames until ``request_state``'s timeout."""
        for market in markets:
            asking = self._asking.get(market)
            if asking is not None and not asking.done():
                asking.set_result(None)

    async def close(self) -> None:
        """Hand NATS what is queued (briefly), then close the connection."""
        await self.outbox.close()
        for task in self._subscribing:
            task.cancel()
        # nats-py writes what is pending into a transport the server may have closed
        # already (RuntimeError on uvloop): closing is all that is left to do either way
        with contextlib.suppress(nats.errors.Error, RuntimeError, OSError):
            await self.client.close()

