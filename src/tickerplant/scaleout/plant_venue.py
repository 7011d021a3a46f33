"""The venue in the plant's process (``serve --workers``, split mode).

The engines live where the book is published, as in one process (``venue_engines.venue_engines``):
beside the plant, reading its views and taking its messages after them
(``feed_engine``, ``liquidations_to_plant``). What one process' listener holds for its
engine is here too: the private endpoints (``venue/wire/rest.py``, ``venue/wire/ws_trading.py``),
the listen keys and their expiry (``gateway/user_data.UserData``, connected to the bus),
``countdownCancelAll``'s timers, the journal and its checkpoints, and a fault profile's
order, WebSocket API and user data stream faults (``plant_faults.py``).

Gateways reach it over NATS (``bus/venue_link.py``): each market's venue subject is
answered by ``venue/wire/forwarded.VenueDesk``, which performs what a gateway admitted. The user
data events a command or the market caused are published as the market's messages, under
the listen key's names (``<key>``, ``<key>@<event>``), so every gateway's fan-out delivers
them to that key's connections, in order with the market data; a key that expired is told
to the gateways in a notice (``frames.Notice.ended``), after its ``listenKeyExpired``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Mapping, Sequence

from nats.aio.subscription import Subscription

from tickerplant.bus import Bus, StreamMessage
from tickerplant.bus.frames import Notice
from tickerplant.bus.nats import NatsBus
from tickerplant.bus.nats_writer import settle
from tickerplant.bus.venue_link import answer
from tickerplant.clock import Clock
from tickerplant.config import ServerConfig
from tickerplant.feeds import Source
from tickerplant.gateway.engine_surface import engine_surface
from tickerplant.gateway.fault_gate import FaultGate, fault_gate
from tickerplant.gateway.user_data import UserData
from tickerplant.market.history.past_spec import PastSpec
from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.plant.plant import Plant
from tickerplant.market.plant.view import MarketView
from tickerplant.protocol.request_weight import RequestWeight
from tickerplant.scaleout.plant_faults import PlantFaults
from tickerplant.venue.auth.keyring import Keyring
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.journal.countdown_rows import held_countdowns
from tickerplant.venue.journal.group_commit import GroupCommit
from tickerplant.venue.journal.listen_key_rows import held_listen_keys
from tickerplant.venue.journal.sqlite_journal import SqliteJournal
from tickerplant.venue.wire.forwarded import DeskFaults, RouteRow, VenueDesk, route_table
from tickerplant.venue.wire.rest import PrivateRest
from tickerplant.venue.wire.ws_trading import WsTrading
from tickerplant.venue_checkpoints import checkpoint_journal, save_order_counts
from tickerplant.venue_engines import (
    group_commit,
    venue_engines,
    venue_hooks,
)

__all__ = ["PlantVenue"]

Hook = Callable[[Sequence[StreamMessage]], None]


class PlantVenue:
    """The engines of the plant's markets, answering the gateways."""

    def __init__(self, config: ServerConfig, clock: Clock, nats: NatsBus) -> None:
        self.config = config
        self.clock = clock
        self._nats = nats
        self.accounts = Keyring(config.venue_db)
        self.journal = SqliteJournal(config.venue_db, exclusive=True)  # its one writer (writer_lock.py)
        self.engines: dict[Market, Engine] = {}
        self.user_data: dict[Market, UserData] = {}
        self.routes: dict[Market, list[RouteRow]] = {}  # for the listing: what gateways admit
        self.faults: dict[Market, FaultGate] = {}  # a fault profile's, per market (plant_faults.py)
        self.desk: VenueDesk | None = None
        self.group: GroupCommit | None = None  # the journal's group commit, once built
        self._answering: list[Subscription] = []
        self._checkpoints: asyncio.Task[None] | None = None

    def build(
        self, source: Source, instruments: Mapping[Market, list[Instrument]],
        views: Mapping[Market, MarketView], plants: Mapping[Market, Plant], bus: Bus, past: PastSpec | None,
    ) -> dict[Market, list[Hook]]:  # fmt: skip
        """The engines, restored from the journal, the fundings missed while the server was
        down settled from ``past`` (``venue_engines``); what each market's messages go to after
        the views (``bus``: where the venue's liquidations are published, as the plant's)."""
        clock, accounts = self.clock, self.accounts
        self.group = group = group_commit(self.journal)
        accounts.beside_writer(self.journal.data_version)  # operators' commits alone (venue/auth/store.py)
        made = venue_engines(
            self.config, source, instruments, views, accounts, self.journal, group, clock.now_ms(), past
        )
        weight = RequestWeight(self.config.request_weight_per_min)  # its limit, for rateLimits
        rests: dict[Market, PrivateRest] = {}
        trading: dict[Market, WsTrading] = {}
        drains: dict[Market, Callable[[int], object]] = {}
        hooks: dict[Market, list[Hook]] = {}
        faults: dict[Market, DeskFaults] = {}
        for market, engine in made.items():
            self.engines[market] = engine
            self.user_data[market] = user_data = UserData(clock)
            published = functools.partial(self._nats.publish, market)
            ended, cut = functools.partial(self._ended, market), functools.partial(self._cut, market)
            user_data.connect(published, ended, cut)
            # the listen keys journaled with the engine's commands, those live taken back
            user_data.keep(engine.journal, held_listen_keys(self.journal, market.value), accounts)
            coins = [inst.margin_asset for inst in instruments[market]]
            legacy = self.config.legacy_fill_fields
            surface = engine_surface(market, accounts, weight, coins, engine, user_data, clock, group, legacy)
            rests[market], trading[market], drains[market] = surface.rest, surface.trading, surface.drain
            surface.countdowns.keep(held_countdowns(self.journal, market.value), accounts)  # the journal's
            self.routes[market] = route_table(surface.rest)
            gate = fault_gate(self.config.faults, self.config.simulator.seed, clock, market)
            if gate is not None:  # decided here, for every gateway (scaleout/plant_faults.py)
                self.faults[market] = gate
                user_data.follow(gate)
                faults[market] = PlantFaults(gate, surface.rest, surface.trading, surface.drain)
            plant, activity = plants[market], user_data.activity
            due = surface.countdowns.run_due  # run out at a delivery's time, as GTD orders
            hooks[market] = venue_hooks(engine, surface.drain, clock, accounts, plant, bus, activity, due)
        self.desk = VenueDesk(rests, trading, drains, faults)
        return hooks

    async def start(self) -> None:
        """Answer the gateways' commands, and checkpoint the journal."""
        desk, group = self.desk, self.group
        assert desk is not None and group is not None
        for market in self.engines:
            perform = functools.partial(self._perform, desk, market)
            # each answer sent once the journal holds what it says (venue/journal/group_commit.py)
            self._answering.append(await answer(self._nats, market, perform, group.after))
        engines = list(self.engines.values())
        checkpoints = checkpoint_journal(self.journal, group, engines, self.clock)
        self._checkpoints = asyncio.get_running_loop().create_task(checkpoints)

    def _perform(self, desk: VenueDesk, market: Market, command: bytes) -> bytes:
        return desk.answer(market, command, self.clock.now_ms())

    def _ended(self, market: Market, key: str) -> None:
        self._nats.notify(market, Notice(ended=[key]))

    def _cut(self, market: Market, key: str) -> None:
        self._nats.notify(market, Notice(cut=[key]))

    async def close(self) -> None:
        for subscription in self._answering:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()
        if self._answering:  # the server has them: a command from now on is told nobody took it
            with contextlib.suppress(Exception):
                await asyncio.wait_for(settle(self._nats.client), 2)
        if self._checkpoints is not None:
            self._checkpoints.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpoints
        self.accounts.close()
        if self.group is not None:
            self.group.flush()
            save_order_counts(self.journal, list(self.engines.values()), self.clock)  # refusals too
        self.journal.close()
