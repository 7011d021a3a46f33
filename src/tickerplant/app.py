"""The composition root: a source, plants, bus and listeners built from a ServerConfig."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import sqlite3
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, ProcessCollector

from tickerplant import logs
from tickerplant.admin.accounts import AccountsApi
from tickerplant.admin.metrics import ServerCollector
from tickerplant.admin.server import AdminServer
from tickerplant.admin.status import StatusBoard
from tickerplant.bus import Bus
from tickerplant.bus.local import LocalBus
from tickerplant.clock import Clock, SystemClock
from tickerplant.config import ServerConfig
from tickerplant.feeds import Backlog, Source
from tickerplant.feeds.relay.relay import DEFAULT_KINDS, RelaySource
from tickerplant.feeds.replay.player import CONTROL_PATHS, ReplaySource
from tickerplant.feeds.simulator.one_book import OneBook
from tickerplant.feeds.simulator.pump import SimulatedMarket
from tickerplant.gateway.log_budget import LogBudget, held_note
from tickerplant.gateway.open_files import raise_open_files_limit
from tickerplant.gateway.rest_turns import RestTurns
from tickerplant.gateway.send_budget import SendBudget, machine_default
from tickerplant.gateway.server import Listener
from tickerplant.market.demand import Subscribed
from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.messages import StreamMessage
from tickerplant.market.plant.plant import Plant
from tickerplant.market.plant.view import MarketView
from tickerplant.protocol.endpoints import BINANCE_STREAMS
from tickerplant.protocol.past import past_answers
from tickerplant.venue.activity import VenueActivity
from tickerplant.venue.administration import trading_view
from tickerplant.venue.algo_service import AlgoService
from tickerplant.venue.auto_exchange import exchange_negative_balances
from tickerplant.venue.engine import Engine
from tickerplant.venue.group_commit import GroupCommit, Stamped
from tickerplant.venue.journal import SqliteJournal
from tickerplant.venue.orders import seeded_client_ids
from tickerplant.venue.position_modes import PositionModes
from tickerplant.venue.published import PublishedMarket
from tickerplant.venue.resting import receive
from tickerplant.venue.store import Keyring
from tickerplant.venue.transfers import settle_transfers
from tickerplant.venue.watch import watch

__all__ = [
    "Tickerplant", "checkpoint_journal", "feed_engine", "group_commit", "liquidations_to_plant", "source_for",
    "venue_engines", "venue_hooks",
]  # fmt: skip

log = logging.getLogger("tickerplant")
CHECKPOINT_EVERY_S = 1.0  # the venue journal's WAL into its database (venue/journal.py)


def source_for(config: ServerConfig, clock: Clock) -> Source:
    """The source the configuration asks for: a replay, a relay, or the simulator."""
    if config.replay.paths:
        return ReplaySource(config.replay, clock, config.payload_format)
    relay = config.relay
    if relay.enabled:
        return RelaySource(
            relay.urls or BINANCE_STREAMS,
            symbols=relay.symbols or None,
            kinds=relay.kinds or DEFAULT_KINDS,
            clock=clock,
        )
    return SimulatedMarket(config.simulator, clock)


def _count(total: list[int], messages: Sequence[StreamMessage]) -> None:
    total[0] += len(messages)


def feed_engine(
    engine: Engine, algos: AlgoService, drain: Callable[[int], object], clock: Clock, keyring: Keyring,
    messages: Sequence[StreamMessage],
) -> None:  # fmt: skip
    """The market's messages to its engine, after the view that its book reads; ``drain``:
    what the engine did, to the user data stream."""
    now_ms = clock.now_ms()
    # the operator's deposits and withdrawals (one PRAGMA a delivery when nothing moved)
    keyring.refresh()
    settle_transfers(engine, keyring.moved(engine.market), now_ms)
    receive(engine, messages, now_ms)  # resting orders the trades filled (venue/resting.py)
    watch(engine, messages, now_ms)  # funding, margin calls, liquidations (venue/watch.py)
    exchange_negative_balances(engine, now_ms)  # Multi-Assets mode (venue/auto_exchange.py)
    algos.observe(messages, now_ms)  # the triggers the prices make (venue/algo_service.py)
    drain(now_ms)


def venue_engines(
    config: ServerConfig, source: Source, instruments: Mapping[Market, list[Instrument]],
    views: Mapping[Market, MarketView], accounts: Keyring, journal: SqliteJournal, group: GroupCommit,
) -> dict[Market, tuple[Engine, AlgoService]]:  # fmt: skip
    """One engine per market and its Algo Order service, restored from the journal, in the
    process whose plant publishes the book (``views``: what it published): on the simulated
    market its takers trade in the simulator's book (docs/venue.md). They journal through
    ``group``: one transaction a loop iteration (``venue/group_commit.py``)."""
    modes = PositionModes()  # one position mode per account, for both markets
    made = {}
    for market, view in views.items():
        published = PublishedMarket(view)
        ids = seeded_client_ids(f"{config.simulator.seed}/{market.value}")  # a session replays
        listed, stamped = instruments[market], Stamped(group, market.value)  # whose wallets
        if isinstance(source, SimulatedMarket):  # takers trade in the simulated book
            book = OneBook(source, published)
            engine = Engine(market, listed, book, accounts, stamped, client_ids=ids, book=book, modes=modes)
        else:  # a replay's or relay's book: takers walk it and trade with no one
            engine = Engine(market, listed, published, accounts, stamped, client_ids=ids, modes=modes)
        journal.load(engine)
        algos = AlgoService(engine)
        journal.load_algos(algos)
        made[market] = engine, algos
    return made


def group_commit(journal: SqliteJournal) -> GroupCommit:
    """The journal committed once a loop iteration, on the running loop."""
    return GroupCommit(journal, asyncio.get_running_loop().call_soon, journal_failed)


def journal_failed(error: sqlite3.Error) -> None:
    """The journal could not commit: the engines hold what it does not. Stop at once, before
    anything else is acknowledged; restarted, the venue is what the journal holds, and the
    clients whose answers never came query (``venue/group_commit.py``)."""
    log.critical("the venue's journal could not commit (%s): stopping", error)
    logging.shutdown()
    os._exit(70)


async def checkpoint_journal(journal: SqliteJournal) -> None:
    """The journal's WAL copied into the database once a second of real time, in a
    thread, when anything was committed (``venue/journal.py``: off the loop, so that no
    command waits for the file's sync)."""
    loop = asyncio.get_running_loop()
    done = 0
    while True:
        await asyncio.sleep(CHECKPOINT_EVERY_S)
        if journal.commits != done:
            done = journal.commits
            try:
                await loop.run_in_executor(None, journal.checkpoint)
            except sqlite3.Error as error:  # busy beyond its timeout: the next second's
                log.warning("the journal's checkpoint failed: %s", error)


def venue_hooks(
    engine: Engine, algos: AlgoService, drain: Callable[[int], object], clock: Clock, keyring: Keyring,
    plant: Plant, bus: Bus, activity: VenueActivity,
) -> list[Callable[[Sequence[StreamMessage]], None]]:  # fmt: skip
    """What the market's messages go to after the views that the engine's book reads: the
    engine (``feed_engine``), then the plant's ``@forceOrder`` (``liquidations_to_plant``),
    each ``contained``."""
    budget = LogBudget(per_interval=1, interval_ms=60_000)
    return [
        contained("engine", functools.partial(feed_engine, engine, algos, drain, clock, keyring), clock,
                  activity, budget),
        contained("liquidations", functools.partial(liquidations_to_plant, engine, plant, bus, clock), clock,
                  activity, budget),
    ]  # fmt: skip


def contained(
    name: str, hook: Callable[[Sequence[StreamMessage]], None], clock: Clock, activity: VenueActivity,
    budget: LogBudget,
) -> Callable[[Sequence[StreamMessage]], None]:  # fmt: skip
    """``hook``, whose exception stays here: logged (its traceback once a minute, the
    rest counted) and counted in ``tickerplant_venue_feed_failures_total``. Without this, a
    venue bug met by one account's state would stop the source for every client of the
    market. What the failed delivery half-did is in the engine's memory and not in the
    journal (a batch is journaled whole or not at all): a restart gives the journal's."""

    def guarded(messages: Sequence[StreamMessage]) -> None:
        try:
            hook(messages)
        except Exception:
            activity.failures[name] += 1
            now_ms = clock.now_ms()
            if (held := budget.allow(name, now_ms)) is not None:
                log.exception("the venue's %s hook failed on a delivery%s", name, held_note(held))

    return guarded


def liquidations_to_plant(
    engine: Engine, plant: Plant, bus: Bus, clock: Clock, messages: Sequence[StreamMessage]
) -> None:
    """The venue's liquidation orders, to the plant's `@forceOrder` streams (pushed at its
    ticks, as the source's own liquidations are: venue/liquidation.py)."""
    liquidations = engine.exposure.liquidations
    if not liquidations:
        return
    out: list[StreamMessage] = []
    now_ms = clock.now_ms()
    while liquidations:
        plant.apply(liquidations.popleft(), now_ms, out)
    bus.publish(engine.market, out)


class Tickerplant:
    """A running server: a source of market data behind one listener per market."""

    def __init__(
        self, config: ServerConfig, clock: Clock | None = None, source: Source | None = None
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.source: Source = source or source_for(config, self.clock)
        self.bus = LocalBus()
        # the streams this process' clients hold, which the plants follow (market/demand.py)
        self.demand = Subscribed()
        self.instruments: dict[Market, list[Instrument]] = {}
        self.plants: dict[Market, Plant] = {}
        self.listeners: dict[Market, Listener] = {}
        # set when the source has finished (a replay's end) and clients have taken its last
        self.done = asyncio.Event()
        self.finish_reason = ""
        self.failed = False
        self._finishing: asyncio.Task[None] | None = None
        self._source_task: asyncio.Task[None] | None = None
        self._checkpoints: asyncio.Task[None] | None = None
        # the metrics of this server alone (not the process-global registry): several
        # servers may run in one process, as the tests run them
        self.registry = CollectorRegistry()
        self.admin: AdminServer | None = None
        self.started_ms = 0
        # messages published on the bus per market, counted per batch (the metrics read it)
        self.published: dict[Market, list[int]] = {market: [0] for market in Market}
        self.status_board = StatusBoard(self.clock, {})
        # the venue's accounts and keys, read from the operator's database (venue/store.py)
        self.accounts = Keyring(config.venue_db)
        # the venue's journal in the same database, and one order engine per market
        self.journal = SqliteJournal(config.venue_db)
        self.engines: dict[Market, Engine] = {}
        self.group: GroupCommit | None = None  # the journal's, once the venue is built

    async def start(self) -> None:
        prepared = await self.source.prepare()
        raise_open_files_limit()  # before the listeners take connections
        self.instruments = prepared.instruments
        self.plants = {
            market: Plant(market, insts, now_ms=prepared.start_ms, payload_format=self.config.payload_format)
            for market, insts in self.instruments.items()
        }
        config = self.config
        listed = {market: {inst.symbol: inst for inst in insts} for market, insts in self.instruments.items()}
        past = past_answers(self.instruments, prepared.past)  # one for both listeners: one cache
        self.listeners = {
            market: Listener(
                market, symbols, self.bus, self.clock, config, prepared.kinds,
                other_instruments=listed.get(Market.CM if market is Market.UM else Market.UM, {}),
                demand=self.demand,
                accounts=self.accounts,
                past=past,
            )
            for market, symbols in listed.items()
        }
        for market in self.instruments:
            self.bus.subscribe(market, functools.partial(_count, self.published[market]))
        self._start_venue()
        self.registry.register(
            ServerCollector(
                self.listeners,
                self.published,
                self._replay_status,
                self._simulator_actions,
                log_suppressed=logs.suppressed,
            )
        )
        ProcessCollector(registry=self.registry)  # process_resident_memory_bytes, process_open_fds, …
        self.status_board = StatusBoard(self.clock, self.listeners)
        if isinstance(self.source, ReplaySource):
            replay = self.source
            for listener in self.listeners.values():
                for path in CONTROL_PATHS:
                    listener.controls[path] = functools.partial(replay.http, path)
        # one loop, so one REST budget per turn for both listeners (gateway/rest_turns.py)
        turns = RestTurns(asyncio.get_running_loop().call_soon, self.clock.now_ns, config.rest_turn_ms)
        # and one bound on the unsent bytes of every connection (gateway/send_budget.py)
        budget = SendBudget(config.limits.send_buffer_total_bytes or machine_default())
        for market, port in ((Market.UM, config.um_port), (Market.CM, config.cm_port)):
            await self.listeners[market].start(config.host, port, rest_turns=turns, send_budget=budget)
        if config.admin_port:
            trading = functools.partial(trading_view, self.engines)
            self.admin = AdminServer(self, accounts=AccountsApi(config.venue_db, self.clock, trading))
            await self.admin.start(config.admin_host, config.admin_port, token=config.admin_token)
        self.started_ms = self.clock.now_ms()
        if self.admin is not None:  # the rates' sampler only serves the admin listener's status
            self.status_board.start()
        self._source_task = asyncio.get_running_loop().create_task(self._run_source())
        self._checkpoints = asyncio.get_running_loop().create_task(checkpoint_journal(self.journal))
        await asyncio.sleep(0)  # the source's synchronous start (warm history, books) is done on return

    def _start_venue(self) -> None:
        """One engine per market, in this process beside the plant that publishes its book:
        it reads the listener's market view, takes the market's trades from the bus, and is
        restored from the journal (docs/venue.md)."""
        clock, listeners = self.clock, self.listeners
        views = {market: listener.view for market, listener in listeners.items()}
        self.group = group = group_commit(self.journal)
        accounts, journal = self.accounts, self.journal
        made = venue_engines(self.config, self.source, self.instruments, views, accounts, journal, group)
        for market, (engine, algos) in made.items():
            listener = listeners[market]
            self.engines[market] = engine
            listener.serve_engine(engine, algos, group)
            assert listener.drain is not None
            plant, drain = self.plants[market], listener.drain
            activity = listener.user_data.activity
            for hook in venue_hooks(engine, algos, drain, clock, self.accounts, plant, self.bus, activity):
                self.bus.subscribe(market, hook)

    async def _run_source(self) -> None:
        try:
            await self.source.run(self)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the source failed; serving what it delivered")
            self.finished("source failed; see the server log", failed=True)

    def interrupt(self, market: Market, streams: Collection[str], reason: str) -> None:
        self.listeners[market].interrupt(streams, reason)

    def backlogs(self) -> Iterator[Backlog]:
        bound = self.config.limits.send_buffer_bytes
        for listener in self.listeners.values():
            for connection in listener.streams.connections if listener.streams is not None else ():
                # a closing connection gets nothing more: nothing to wait for
                if not connection.closing and (unsent := connection.unsent_bytes()):
                    yield Backlog(connection, unsent, bound)

    def finished(self, reason: str, *, failed: bool = False) -> None:
        self.finish_reason = reason
        self.failed = failed
        self._finishing = asyncio.get_running_loop().create_task(self._finish(reason, failed))

    async def _finish(self, reason: str, failed: bool) -> None:
        listeners = self.listeners.values()
        await asyncio.gather(*(listener.finish(reason, failed=failed) for listener in listeners))
        self.done.set()

    def url(self, market: Market) -> str:
        scheme = "wss" if self.config.tls_cert else "ws"
        return f"{scheme}://{self.config.host}:{self.listeners[market].port}"

    def admin_url(self) -> str | None:
        """The admin listener's base URL, or None when it is off (``--admin-port 0``)."""
        if self.admin is None:
            return None
        return f"http://{self.config.admin_host}:{self.admin.port}"

    def source_kind(self) -> str:
        if isinstance(self.source, ReplaySource):
            return "replay"
        if isinstance(self.source, RelaySource):
            return "relay"
        return "simulator"

    def status(self) -> dict[str, Any]:
        """The server as the admin listener's ``/api/status`` tells it."""
        listeners = {}
        for market, listener in self.listeners.items():
            http = f"http://{self.config.host}:{listener.port}"
            streams = listener.streams
            listeners[market.value] = {
                "host": self.config.host,
                "port": listener.port,
                "rest": http,
                "streams": self.url(market),
                "connections": {
                    "streams": len(streams.connections) if streams is not None else 0,
                    "wsApi": len(listener.ws_api_connections),
                },
                "symbols": [inst.symbol for inst in self.instruments.get(market, ())],
                **self.status_board.listener(market),
            }
        replay = self._replay_status()
        return {
            "source": self.source_kind(),
            "startedMs": self.started_ms,
            "serverTimeMs": self.clock.now_ms(),
            "finished": self.done.is_set(),
            "finishReason": self.finish_reason,
            "listeners": listeners,
            "recentCloses": self.status_board.recent_closes(),
            "replay": replay,
        }

    def _simulator_actions(self) -> int | None:
        source = self.source
        if isinstance(source, SimulatedMarket) and source.simulator is not None:
            return source.simulator.action_count
        return None

    def _replay_status(self) -> dict[str, Any] | None:
        return self.source.status() if isinstance(self.source, ReplaySource) else None

    def replay_control(self, action: str) -> dict[str, Any] | None:
        """``pause`` or ``resume`` a replay; its status after, or None when not replaying."""
        if not isinstance(self.source, ReplaySource):
            return None
        if action == "pause":
            self.source.pause()
        elif action == "resume":
            self.source.resume()
        else:
            raise ValueError(f"unknown replay control {action!r}")
        return self.source.status()

    def replay_speed(self, speed: float | None) -> dict[str, Any] | None:
        """Play a replay at ``speed`` (None: as fast as it goes); its status after, or
        None when not replaying. A speed that is not positive raises ValueError."""
        if not isinstance(self.source, ReplaySource):
            return None
        self.source.set_speed(speed)
        return self.source.status()

    async def close(self) -> None:
        if self._finishing is not None:
            self._finishing.cancel()
        if self._checkpoints is not None:
            self._checkpoints.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpoints
        if self._source_task is not None:
            self._source_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._source_task
        self.status_board.close()
        if self.admin is not None:
            await self.admin.close()
        for listener in self.listeners.values():
            await listener.close()
        self.accounts.close()
        if self.group is not None:
            self.group.flush()  # what the last iteration staged
        self.journal.close()
