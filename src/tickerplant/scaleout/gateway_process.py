"""A gateway's process (`tickerplant gateway`): the listeners, fed by a plant over NATS.

It serves what ``app.Tickerplant`` serves in one process (one ``Listener`` a market, its
``MarketView`` and ``FanOut`` subscribed to the bus), with a ``NatsBus`` for the bus and
no source: the plant's listing (``bus/listing.py``) tells it what each market lists.

It subscribes first and asks for the listing second, holding what arrives meanwhile, so a
gateway started before the plant receives the plant's run from its first frame, and
builds its views exactly as one process would.

A gateway whose first frame is not the plant's first (it started late), or that loses
frames, or whose plant restarts, holds the market's frames, asks the plant for its state
of the market (``scaleout/view_state.py``), loads it into its view and then releases the
frames after the state's (a state that does not come or does not load is counted, logged
and asked for again, ``STATE_RETRY_MS`` later, doubling up to ``STATE_RETRY_MAX_MS``), so
its answers (depth, ``ticker.book``, 24 h tickers, klines,
mark state) are the plant's again and no diff-depth chain continues from a book that
missed events. A loss also closes the stream connections (1012, with the reason) whose
streams the lost frames may have carried, as the relay does on a loss upstream, so their
clients reconnect and see the gap rather than a stream that skipped messages; the plant's
own notices (streams interrupted at the source, the source's end) reach the
listeners as ``Listener.interrupt`` and ``Listener.finish``.

A market that delivers no frame for 10 s (the plant publishes one at least every second,
``bus/liveness.py``) has lost its plant, whatever the cause: the gateway closes its stream
connections 1012 (again every 10 s while the silence lasts) and reports itself degraded
until frames come again, rather than leave its clients waiting in silence.

The venue's private endpoints are served here as the plant's listing names them: each
request's weight, key and signature are checked here, and what passes is performed by the
plant's engines over NATS (``gateway/venue_forwarding.py``); the user data events come
with the market's frames, under the listen keys' names, and reach the keys' connections
through the fan-out as any stream does.

Its listeners' fan-outs hold the streams their clients take in one ``Subscribed``, as the
single process' do, which it announces to the plant (``scaleout/gateway_demand.py``): the
plant writes a client-facing payload only for the streams some gateway announced.

It is its own admin listener's ``AdminTarget`` (``start_admin``): ``/metrics`` of its
listeners and of its bus per market (``admin.metrics.BusCounts``: gaps, the frames they
skipped, a restarted plant, states loaded and failed, messages rejected, connections
closed for a loss or a silence, whether the market is live; the frames and bytes
received), and ``/api/status`` of its listeners and its health (``degraded``: why, or
nothing); the replay controls are the plant's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Coroutine
from typing import Any

from prometheus_client import CollectorRegistry, ProcessCollector

from tickerplant.admin.metrics import BusCounts, ServerCollector
from tickerplant.admin.server import AdminServer
from tickerplant.admin.status import StatusBoard
from tickerplant.bus.frames import Continuity, Notice, Verdict
from tickerplant.bus.listing import Listing, Unreadable, decode_listing
from tickerplant.bus.liveness import LOOK_MS, SILENT_LOOKS, Liveness
from tickerplant.bus.nats import NatsBus
from tickerplant.bus.venue_link import VenueRequests
from tickerplant.clock import Clock, SystemClock
from tickerplant.config import ServerConfig
from tickerplant.gateway.market_streams import names_budget
from tickerplant.gateway.past_farm import farm
from tickerplant.gateway.server import Listener
from tickerplant.market.instruments import Market
from tickerplant.market.payloads.events import PayloadFormat
from tickerplant.protocol.past import past_answers
from tickerplant.protocol.user_streams import listen_key_item
from tickerplant.scaleout import view_state
from tickerplant.scaleout.bus_log import BusLog
from tickerplant.scaleout.gateway_demand import DemandAnnouncer
from tickerplant.scaleout.shared_weight import WeightSharing
from tickerplant.venue.auth.keyring import Keyring

__all__ = ["STATE_RETRY_MAX_MS", "STATE_RETRY_MS", "GatewayProcess"]

log = logging.getLogger("tickerplant.gateway")

_STATE_TIMEOUT_S = 60.0  # a day of klines and trades for every symbol is tens of MB
STATE_RETRY_MS = 500  # after a state that did not come or load; doubling each time
STATE_RETRY_MAX_MS = 30_000
SILENT_REASON = f"no data from the plant for {SILENT_LOOKS * LOOK_MS // 1000} s"


def _private(stream: str) -> bool:
    """Whether ``stream`` is a listen key's (its user data events), not the market's."""
    return listen_key_item(stream) is not None

class GatewayProcess:
    """Listeners whose views and fan-outs subscribe to a plant through NATS."""

    def __init__(
        self, config: ServerConfig, bus: NatsBus, clock: Clock | None = None, *, reuse_port: bool = False
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock(config.clock_offset_ms)
        self.bus = bus
        self.reuse_port = reuse_port
        self.listing: Listing | None = None
        self.listeners: dict[Market, Listener] = {}
        self.weight_sharing: dict[Market, WeightSharing] = {}
        self.losses = 0  # losses the bus reported after the first frame (gaps, restarts)
        self.done = asyncio.Event()  # set once the plant's source finished and clients have it
        bus.on_loss = self._lost
        bus.on_notice = self._noticed
        self.bus_log = BusLog(log, self.clock)
        bus.on_trouble = self.bus_log.trouble
        bus.on_rejected = self._rejected
        self._finishing: asyncio.Task[None] | None = None
        self._stale: set[Market] = set()  # markets whose view needs the plant's state
        self._resyncing: set[Market] = set()
        self._serving_started = False
        self.resyncs = 0  # states loaded from the plant
        self.bus_counts = {market: BusCounts() for market in Market}
        self.registry = CollectorRegistry()  # this gateway's metrics (start_admin serves them)
        self.status_board = StatusBoard(self.clock, {})
        self.admin: AdminServer | None = None
        self.started_ms = 0
        self.liveness = Liveness(Market)
        self._tasks: set[asyncio.Task[None]] = set()  # resyncs and the watch, kept and logged
        # the keys private requests are checked against, and the commands sent to the plant
        self.accounts = Keyring(config.venue_db)
        self.venue = VenueRequests(bus)
        # the streams its clients hold, told to the plant, which writes only those
        self.demand = DemandAnnouncer(bus, self.clock)

    async def start(self) -> None:
        bus = self.bus
        bus.hold()
        # the keys looked at once per loop turn, not per request (venue/auth/store.py)
        self.accounts.once_per_turn(asyncio.get_running_loop().call_soon)
        await bus.ready()
        self.listing = listing = await self._listing()
        # the plant's payload format, which its payloads are in, decides the merged streams
        self.config = config = dataclasses.replace(self.config, payload_format=listing.payload_format)
        # request weight is per IP across all gateways, as across Binance's servers
        sharing = {market: WeightSharing(bus, market, self.clock) for market in listing.instruments}
        self.weight_sharing = sharing
        past = past_answers(listing.instruments, listing.past)  # the plant's simulated past
        workers = farm() if past is not None else None  # a long answer's cold parts: other cores
        if past is not None:
            past.past.farm = workers
        self.listeners = {
            market: Listener(
                market, {inst.symbol: inst for inst in insts}, bus, self.clock, config, listing.carried,
                make_weight=sharing[market].make_weight,
                other_instruments={
                    i.symbol: i for m, its in listing.instruments.items() if m is not market for i in its
                },
                past=past,
                accounts=self.accounts,
                demand=self.demand.held,
            )
            for market, insts in listing.instruments.items()
        }  # fmt: skip
        # the venue's private endpoints: admitted here, performed by the plant (venue/wire/forwarded.py)
        await self.venue.start()
        for market, table in listing.venue.items():
            if market in self.listeners:
                self.listeners[market].forward_venue(table, self.venue)
        for listener in self.listeners.values():
            # a fault profile's order, WebSocket API and user data faults are the plant's, which
            # sees every private request and holds the keys (scaleout/plant_faults.py); a gateway
            # applies its market faults to its own connections
            listener.user_data.faults = None
        await asyncio.gather(*(shared.start() for shared in sharing.values()))
        # Every gateway starts from the plant's state, as of a frame at or after the last one
        # published before this gateway subscribed (it asks after): started late or not, it
        # misses nothing, and a first frame that is not the plant's first needs nothing more.
        # Loaded before the listeners listen: a gateway sharing its ports with others
        # (SO_REUSEPORT) is given connections as soon as it listens, and its first answers
        # must be the plant's. (Until then the frames feed the views only: the fan-outs
        # subscribe as the listeners start, when there is nobody to miss them.)
        self._serving_started = True
        self._stale.update(Market)
        await asyncio.gather(*(self._resync(market) for market in Market))
        names = names_budget(config.limits)  # both ports'
        for market, port in ((Market.UM, config.um_port), (Market.CM, config.cm_port)):
            await self.listeners[market].start(
                config.host, port, reuse_port=self.reuse_port, subscription_budget=names
            )
        await self.demand.start()  # from the first connection on, the plant hears what it holds
        self.started_ms = self.clock.now_ms()
        collector = ServerCollector(
            self.listeners, {}, lambda: None, bus=self.bus_counts, received=self.bus.received,
            past_farm=workers.counts if workers is not None else None,
        )
        self.registry.register(collector)
        ProcessCollector(registry=self.registry)  # process_resident_memory_bytes, process_open_fds, …
        self.status_board = StatusBoard(self.clock, self.listeners)
        self._spawn(self._watch())

    async def start_admin(self, host: str, port: int, *, reuse_port: bool = False, token: str = "") -> str:
        """Serve this gateway's admin listener (after ``start``); its base URL."""
        self.admin = AdminServer(self)
        await self.admin.start(host, port, reuse_port=reuse_port, token=token)
        self.status_board.start()  # the rates' sampler serves the admin listener only
        return f"http://{host}:{self.admin.port}"

    def status(self) -> dict[str, Any]:
        """This gateway as its admin listener's ``/api/status`` tells it (the single
        process' keys; its source is the plant's, fed over NATS)."""
        listing = self.listing
        return {
            "source": "plant",
            "startedMs": self.started_ms,
            "serverTimeMs": self.clock.now_ms(),
            "finished": self.done.is_set(),
            "finishReason": "",
            "listeners": {
                market.value: self.status_board.describe(
                    market,
                    self.config.host,
                    [inst.symbol for inst in listing.instruments.get(market, ())] if listing else [],
                )
                for market in self.listeners
            },
            "recentCloses": self.status_board.recent_closes(),
            "replay": None,
            "degraded": self.degraded(),
        }

    def degraded(self) -> list[str]:
        """Why this gateway serves less than the plant's data (nothing: it does not)."""
        if not self.bus.client.is_connected:
            return ["the NATS server is away"]
        return [f"{market.value}: {SILENT_REASON}" for market in Market if market in self.liveness.silent]

    def replay_control(self, action: str) -> dict[str, Any] | None:
        return None  # the source, and so a replay, is the plant's: its admin listener has them

    def replay_speed(self, speed: float | None) -> dict[str, Any] | None:
        return None

    async def _listing(self) -> Listing:
        def waiting() -> None:
            log.info("waiting for a plant to answer on %s", self.bus.listing_subject)

        while True:
            try:
                return decode_listing(await self.bus.wait_listing(waiting))
            except Unreadable as exc:
                self.bus_log.say("rejected", logging.ERROR, f"the plant's listing was refused: {exc}")
            await self.clock.sleep_until(self.clock.now_ms() + STATE_RETRY_MS)

    def url(self, market: Market) -> str:
        return f"ws://{self.config.host}:{self.listeners[market].port}"

    def _serving(self, market: Market) -> list[Listener]:
        """The listeners that push ``market``'s messages: its own, and in the 2026 format
        the other market's too (the merged all-market streams, §4.13)."""
        if self.config.payload_format is PayloadFormat.Y2026:
            return list(self.listeners.values())
        listener = self.listeners.get(market)
        return [listener] if listener is not None else []

    def _lost(self, market: Market, verdict: Verdict) -> None:
        continuity, missed = verdict
        if continuity is Continuity.FIRST:
            return  # the state the gateway starts from covers what came before (start)
        self.losses += 1
        restarted = continuity is Continuity.RESTARTED
        counts = self.bus_counts[market]
        if restarted:
            counts.plant_restarts += 1
        else:
            counts.gaps += 1
            counts.missed_frames += missed
        reason = "the plant restarted" if restarted else f"lost {missed} frames from the plant"
        log.warning("%s: %s; asking for its state", market.value, reason)
        counts.loss_closes += self._interrupt(market, reason)
        # this frame and the next wait for the state (NatsBus calls on_loss before it files)
        self._stale.add(market)
        self.bus.hold([market])
        if self._serving_started and market not in self._resyncing:
            self._spawn(self._resync(market))

    def _interrupt(self, market: Market, reason: str) -> int:
        """Close (1012, ``reason``) the stream connections that carry any of ``market``'s
        streams; how many."""
        closed = 0
        for listener in self._serving(market):
            if listener.streams is not None:
                held = [c.delivery_keys() for c in listener.streams.connections]
                carried = set().union(*held)
                closed += sum(1 for keys in held if keys)
                if carried:
                    listener.interrupt(carried, reason)
        return closed

    async def _watch(self) -> None:
        """Look at the markets' frames every ``LOOK_MS`` (``bus/liveness.py``): close a
        silent market's streams, and say whether each is live."""
        liveness, counts = self.liveness, self.bus_counts
        while True:
            await self.clock.sleep_until(self.clock.now_ms() + LOOK_MS)
            looked = liveness.look(self.bus.delivered)
            for market in looked.newly:
                counts[market].silences += 1
            for market in looked.silent:
                closed = self._interrupt(market, SILENT_REASON)
                counts[market].loss_closes += closed
                said = f"{market.value}: {SILENT_REASON}: {closed} stream connections closed (1012); degraded"
                self.bus_log.say("silent", logging.WARNING, said)
            for market in looked.back:
                log.info("%s: frames from the plant again", market.value)
            connected = self.bus.client.is_connected
            for market, count in counts.items():
                count.up = connected and market not in liveness.silent

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # a market left held would go silent: the watch closes and reports it
            log.error("a gateway task failed", exc_info=task.exception())

    async def _resync(self, market: Market) -> None:
        """Load the plant's state of ``market`` and release the frames after it; again while
        more are lost meanwhile, or the state does not come or load (after a wait)."""
        self._resyncing.add(market)
        wait_ms = STATE_RETRY_MS
        try:
            while market in self._stale:
                self._stale.discard(market)
                state = await self.bus.request_state(market, _STATE_TIMEOUT_S)
                try:
                    if state is None:
                        raise view_state.StateError(f"no whole answer within {_STATE_TIMEOUT_S:g} s")
                    epoch, seq, data = state
                    view_state.load(self.listeners[market].view, data)
                except view_state.StateError as exc:
                    self.bus_counts[market].state_failures += 1
                    said = f"the plant's state did not load ({exc}); asking again in {wait_ms} ms"
                    self.bus_log.say("state", logging.ERROR, f"{market.value}: {said}")
                    self._stale.add(market)
                    await self.clock.sleep_until(self.clock.now_ms() + wait_ms)
                    wait_ms = min(2 * wait_ms, STATE_RETRY_MAX_MS)
                    continue
                self.resyncs += 1
                self.bus_counts[market].resyncs += 1
                if market in self._stale:
                    continue
                # a listen key's events in the frames the state holds still go to its connections:
                # those opened since the loss closed the others (a state has no user data); False:
                # frames after it were dropped
                if not self.bus.release(market, after=(epoch, seq), unstated=_private):
                    self._stale.add(market)
                    continue
                log.info("%s: the plant's state as of frame %d loaded", market.value, seq)
        finally:
            self._resyncing.discard(market)

    def _rejected(self, market: Market, why: str) -> None:
        self.bus_counts[market].rejected += 1
        self.bus_log.rejected(market, why)

    def _noticed(self, market: Market, notice: Notice) -> None:
        listening = self.listeners.get(market)
        if listening is not None:
            for key in notice.ended:  # listen keys the plant's venue ended: after their last event
                listening.user_data.end(key)
            for key in notice.cut:  # … or a fault profile cut (``stream-drop``)
                listening.user_data.cut(key)
        if notice.streams:
            listener = self.listeners.get(market)
            if listener is not None:
                listener.interrupt(notice.streams, notice.reason)
        if notice.finished and self._finishing is None:
            finishing = self._finish(notice.reason, notice.failed)
            self._finishing = asyncio.get_running_loop().create_task(finishing)

    async def _finish(self, reason: str, failed: bool) -> None:
        listeners = self.listeners.values()
        await asyncio.gather(*(listener.finish(reason, failed=failed) for listener in listeners))
        self.done.set()

    async def close(self) -> None:
        if self._finishing is not None:
            self._finishing.cancel()
        for task in list(self._tasks):
            task.cancel()
        self.status_board.close()
        if self.admin is not None:
            await self.admin.close()
        for listener in self.listeners.values():
            await listener.close()
        self.demand.close()  # an empty set: the plant stops writing this gateway's streams
        await self.venue.close()
        self.accounts.close()
        await self.bus.close()
