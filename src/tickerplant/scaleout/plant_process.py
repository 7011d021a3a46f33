"""The plant's process (`tickerplant plant`): the source and the plants, publishing on NATS.

It is the ``feeds.Sink`` a source feeds, as ``app.Tickerplant`` is in one process, with a
``NatsBus`` for the bus: every batch the plants and the source publish goes out as frames
(``bus/frames.py``), and what the source tells the sink (streams interrupted upstream, its
end) goes out as notices in the same sequence. It serves no client itself; it answers the
gateways' requests for its listing (``bus/listing.py``) before the source starts, so a
gateway waiting for it receives the first frame on.

Every market gets a frame at least once a ``HEARTBEAT_MS`` (``NatsBus.heartbeat``, an
empty one when the source has sent nothing: a paused replay, a quiet relay), so a gateway
can tell a quiet market from a plant it no longer hears (``bus/liveness.py``).

Its plants write a client-facing payload only for the streams some gateway's client holds,
as the gateways announce them (``scaleout/plant_demand.py``): ``demand`` is their union.

The venue's engines live here too (``scaleout/plant_venue.py``): they take each batch
after the views and the gateways, and answer the commands the gateways forward.

It keeps a ``MarketView`` per market, fed with what it publishes (a direct call, as
``LocalBus`` makes it), and answers a gateway's request for a market's state with that
view's (``scaleout/view_state.py``): how a gateway that started late, lost frames or saw
the plant restart catches up. The view costs the plant a dict lookup and an append per
message, and the decoding of books and trades when a gateway asks.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Collection, Sequence

from tickerplant.app import source_for
from tickerplant.bus import StreamMessage
from tickerplant.bus.frames import BUS_VERSION, Notice
from tickerplant.bus.listing import Listing, encode_listing
from tickerplant.bus.nats import HEARTBEAT_MS, NatsBus
from tickerplant.clock import Clock, SystemClock
from tickerplant.config import ServerConfig
from tickerplant.feeds import INPUT_ERRORS, Backlog, Source, failure_reason
from tickerplant.gateway.fault_names import check_listed
from tickerplant.market.demand import Demand
from tickerplant.market.instruments import Market
from tickerplant.market.plant.plant import Plant
from tickerplant.market.plant.view import MarketView
from tickerplant.scaleout import view_state
from tickerplant.scaleout.bus_log import BusLog
from tickerplant.scaleout.plant_demand import PlantDemand
from tickerplant.scaleout.plant_venue import PlantVenue

__all__ = ["PlantProcess"]

log = logging.getLogger("tickerplant.plant")


class _ViewedBus:
    """The sources' bus in the plant process: the plant's own views, then NATS."""

    def __init__(self, nats: NatsBus, views: dict[Market, MarketView]) -> None:
        self.nats = nats
        self.views = views
        self.published: dict[Market, list[int]] = {market: [0] for market in Market}  # for the metrics
        # the venue's engines, after the views and the gateways (scaleout/plant_venue.py)
        self.hooks: dict[Market, list[Callable[[Sequence[StreamMessage]], None]]] = {}

    def publish(self, market: Market, messages: Sequence[StreamMessage]) -> None:
        if messages:
            self.published[market][0] += len(messages)
            self.views[market].receive(messages)
            self.nats.publish(market, messages)
            for hook in self.hooks.get(market, ()):
                hook(messages)

    def subscribe(self, market: Market, handler: Callable[[Sequence[StreamMessage]], None]) -> None:
        raise TypeError("the plant process publishes; gateways subscribe, over NATS")


class PlantProcess:
    """A source and its plants behind a NATS bus."""

    def __init__(
        self, config: ServerConfig, bus: NatsBus, clock: Clock | None = None, source: Source | None = None
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock(config.clock_offset_ms)
        self.source: Source = source or source_for(config, self.clock)
        self._bus = bus
        self.bus_log = BusLog(log, self.clock)
        bus.on_trouble = self._trouble
        self.views: dict[Market, MarketView] = {}
        self._viewed = _ViewedBus(bus, self.views)
        self.plants: dict[Market, Plant] = {}
        self.listing: Listing | None = None
        # set when the source has finished (a replay's end, or a failure)
        self.done = asyncio.Event()
        self.finish_reason = ""
        self.failed = False
        self._source_task: asyncio.Task[None] | None = None
        self._beating: asyncio.Task[None] | None = None
        self.venue = PlantVenue(config, self.clock, bus)  # the engines, answering the gateways
        self.takers: PlantDemand | None = None  # the gateways' streams, once started

    @property
    def bus(self) -> _ViewedBus:
        return self._viewed

    @property
    def demand(self) -> Demand:
        """The streams the gateways' clients hold (``scaleout/plant_demand.py``), once started."""
        if self.takers is None:
            raise RuntimeError("the plant's demand is the gateways', heard from its start")
        return self.takers.streams

    async def start(self) -> None:
        prepared = await self.source.prepare()
        # a fault that could never fire: a symbol not listed, a window over before the start
        check_listed(self.config.faults.profile_text, prepared.instruments, self.clock.now_ms())
        self.plants = {
            market: Plant(market, insts, now_ms=prepared.start_ms, payload_format=self.config.payload_format)
            for market, insts in prepared.instruments.items()
        }
        for market, insts in prepared.instruments.items():
            self.views[market] = view = MarketView(market, insts)
            await self._bus.answer_state(market, functools.partial(view_state.capture, view))
        venue = self.venue
        hooks = venue.build(
            self.source, prepared.instruments, self.views, self.plants, self._viewed, prepared.past
        )
        self._viewed.hooks = hooks
        # the gateways' streams: heard, and asked for, before they meet this run (and close
        # the last run's connections, whose clients come back)
        self.takers = PlantDemand(self._bus, prepared.instruments, self.bus_log)
        await self.takers.start()
        # a first frame on each market before the first answer: a gateway meets this run (and
        # closes the last one's streams) at once, not at the source's first batch, which a warm
        # start delays, and the first answers wait for no more (``venue_link``)
        self._bus.heartbeat()
        await venue.start()
        self.listing = Listing(
            BUS_VERSION, prepared.instruments, prepared.carried, self.config.payload_format, prepared.past,
            venue.routes,
        )  # fmt: skip
        await self._bus.answer_listing(encode_listing(self.listing))
        self._source_task = asyncio.get_running_loop().create_task(self._run_source())
        self._beating = asyncio.get_running_loop().create_task(self._beat())
        await asyncio.sleep(0)  # the source's synchronous start (warm history, books) is done on return

    def _trouble(self, kind: str, text: str) -> None:
        self.bus_log.trouble(kind, text)
        if kind == "reconnected" and self.takers is not None:
            self.takers.ask()  # the gateways went unheard meanwhile, and some maybe for good

    def connected(self) -> bool:
        """Whether its NATS connection is up (its frames reach the server)."""
        return bool(self._bus.client.is_connected)

    async def _beat(self) -> None:
        while True:
            await self.clock.sleep_until(self.clock.now_ms() + HEARTBEAT_MS)
            self._bus.heartbeat()
            if self.takers is not None:
                self.takers.look()  # gateways not heard for a while have gone

    async def _run_source(self) -> None:
        try:
            await self.source.run(self)
        except asyncio.CancelledError:
            raise
        except INPUT_ERRORS as exc:  # its input: a file, a row it cannot read
            log.error("the source failed: %s", exc)
            self.finished(failure_reason(exc), failed=True)
        except Exception:  # a bug: its traceback
            log.exception("the source failed")
            self.finished("source failed; see the plant's log", failed=True)

    def interrupt(self, market: Market, streams: Collection[str], reason: str) -> None:
        # the gateways close their clients' connections carrying these (Listener.interrupt)
        self._bus.notify(market, Notice(sorted(streams), reason))

    def backlogs(self) -> tuple[Backlog, ...]:
        return ()  # the clients are the gateways' (other processes): a replay does not wait

    def finished(self, reason: str, *, failed: bool = False) -> None:
        self.finish_reason = reason
        self.failed = failed
        for market in self.plants:
            self._bus.notify(market, Notice(reason=reason, finished=True, failed=failed))
        self.done.set()

    async def close(self) -> None:
        if self._beating is not None:
            self._beating.cancel()
        if self._source_task is not None:
            self._source_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._source_task
        await self.venue.close()
        await self._bus.close()
