"""The composition root: a source, plants, bus and listeners built from a ServerConfig."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, ProcessCollector

from tickerplant import logs
from tickerplant.admin.guard import check_token
from tickerplant.admin.metrics import ServerCollector
from tickerplant.admin.status import StatusBoard
from tickerplant.bus.local import LocalBus
from tickerplant.clock import Clock, MarketClock, SystemClock
from tickerplant.config import ServerConfig
from tickerplant.feeds import INPUT_ERRORS, Backlog, Source, failure_reason
from tickerplant.feeds.relay.relay import DEFAULT_KINDS, RelaySource
from tickerplant.feeds.replay.controls import control, set_speed
from tickerplant.feeds.replay.player import CONTROL_PATHS, ReplaySource
from tickerplant.feeds.simulator.pump import SimulatedMarket
from tickerplant.gateway.fault_names import check_listed
from tickerplant.gateway.listening import release, reserve
from tickerplant.gateway.market_streams import names_budget
from tickerplant.gateway.open_files import raise_open_files_limit
from tickerplant.gateway.past_farm import farm
from tickerplant.gateway.rest_turns import RestTurns
from tickerplant.gateway.send_budget import SendBudget, machine_default
from tickerplant.gateway.server import Listener
from tickerplant.market.demand import Subscribed
from tickerplant.market.history.past_spec import PastSpec
from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.messages import StreamMessage
from tickerplant.market.plant.plant import Plant
from tickerplant.protocol.endpoints import BINANCE_STREAMS
from tickerplant.protocol.past import past_answers
from tickerplant.report.journal_rows import ahead_of_start
from tickerplant.venue.auth.keyring import Keyring
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.journal.countdown_rows import held_countdowns
from tickerplant.venue.journal.group_commit import GroupCommit
from tickerplant.venue.journal.listen_key_rows import held_listen_keys
from tickerplant.venue.journal.sqlite_journal import SqliteJournal
from tickerplant.venue.wire.administration import trading_view
from tickerplant.venue_checkpoints import checkpoint_journal, save_order_counts
from tickerplant.venue_engines import (
    awaiting_market,
    group_commit,
    venue_engines,
    venue_hooks,
)

if TYPE_CHECKING:
    from tickerplant.admin.server import AdminServer

__all__ = ["Tickerplant", "replay_timed", "source_for"]

log = logging.getLogger("tickerplant")


def replay_timed(config: ServerConfig) -> tuple[ReplaySource, MarketClock] | None:
    """A replay's source and the venue's clock over it, the replay's own time; None for any
    other source. ``serve --replay`` keeps the server's time for what its clients do by
    their own clocks (signatures, ``serverTime``, pings, listen keys), and runs the venue on
    the replay's: its orders, fills, fundings and latency meet the replayed market at its time,
    at any speed (docs/replay.md, "Trading on a replay"). ``tickerplant run`` serves all on
    the replay's time, the bot's clock set to it."""
    if not config.replay.paths:
        return None
    wall = SystemClock(config.clock_offset_ms)
    source = ReplaySource(config.replay, wall, config.payload_format, exact=True)  # its fills stamped exactly
    return source, MarketClock(wall, source)


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


def _drained_at(drain: Callable[[int], object], clock: Clock, _venue_ms: int) -> object:
    """``drain`` told ``clock``'s time rather than the venue's (``serve --replay``)."""
    return drain(clock.now_ms())


def _count(total: list[int], messages: Sequence[StreamMessage]) -> None:
    total[0] += len(messages)


class Tickerplant:
    """A running server: a source of market data behind one listener per market."""

    def __init__(
        self,
        config: ServerConfig,
        clock: Clock | None = None,
        source: Source | None = None,
        *,
        wall: Clock | None = None,
    ) -> None:
        """``clock``: the market's time, which the server stamps, checks and tells (a
        replay's own under ``tickerplant run``: ``clock.MarketClock``); ``wall``: the time the
        loop's own shares are measured on (REST's share of a turn, the status' rates), the
        same clock unless told."""
        self.config = config
        venue: Clock | None = None
        if clock is None and source is None and (timed := replay_timed(config)) is not None:
            source, venue = timed
        self.clock = clock or SystemClock(config.clock_offset_ms)
        self.wall = wall or self.clock
        self.venue_clock = venue or self.clock  # the venue's time: a replay's own (``replay_timed``)
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
        # the venue's accounts and keys, read from the operator's database (venue/auth/store.py)
        self.accounts = Keyring(config.venue_db)
        # the venue's journal in the same database, and one order engine per market
        self.journal = SqliteJournal(config.venue_db, exclusive=True)  # its one writer (writer_lock.py)
        self.engines: dict[Market, Engine] = {}
        self.group: GroupCommit | None = None  # the journal's, once the venue is built

    async def start(self) -> None:
        prepared = await self.source.prepare()
        # serve --replay's venue, on the replay's time: never going back, checked before
        # anything is played (``tickerplant run`` checks its own, paused until its bot starts)
        replayed = self.venue_clock is not self.clock
        if replayed and (ahead := ahead_of_start(self.config.venue_db, prepared.start_ms)) is not None:
            raise ValueError(ahead)
        # a fault that could never fire: a symbol not listed, a window over before the start
        check_listed(self.config.faults.profile_text, prepared.instruments, self.clock.now_ms())
        raise_open_files_limit()  # before the listeners take connections
        self.instruments = prepared.instruments
        self.plants = {
            market: Plant(market, insts, now_ms=prepared.start_ms, payload_format=self.config.payload_format)
            for market, insts in self.instruments.items()
        }
        config = self.config
        listed = {market: {inst.symbol: inst for inst in insts} for market, insts in self.instruments.items()}
        past = past_answers(self.instruments, prepared.past)  # one for both listeners: one cache
        workers = farm() if past is not None else None  # a long answer's cold parts: other cores
        if past is not None:
            past.past.farm = workers
        self.listeners = {
            market: Listener(
                market, symbols, self.bus, self.clock, config, prepared.carried,
                other_instruments=listed.get(Market.CM if market is Market.UM else Market.UM, {}),
                demand=self.demand,
                accounts=self.accounts,
                past=past,
                # serve --replay's market data is of the replay's present (docs/replay.md)
                market_now=self.venue_clock.now_ms if replayed else None,
            )
            for market, symbols in listed.items()
        }
        for market in self.instruments:
            self.bus.subscribe(market, functools.partial(_count, self.published[market]))
        self._start_venue(prepared.past)
        relay = self.source if isinstance(self.source, RelaySource) else None
        self.registry.register(
            ServerCollector(
                self.listeners,
                self.published,
                self._replay_status,
                self._simulator_actions,
                log_suppressed=logs.suppressed,
                past_farm=workers.counts if workers is not None else None,
                relay_unreadable=relay.unreadable_counts if relay is not None else None,
            )
        )
        ProcessCollector(registry=self.registry)  # process_resident_memory_bytes, process_open_fds, …
        self.status_board = StatusBoard(self.wall, self.listeners)
        if isinstance(self.source, ReplaySource):
            replay = self.source
            for listener in self.listeners.values():
                for path in CONTROL_PATHS:
                    listener.controls[path] = functools.partial(replay.http, path)
        # the operator's tables looked at once per loop turn, not per request (venue/auth/store.py)
        self.accounts.once_per_turn(asyncio.get_running_loop().call_soon)
        # and only when a commit not the journal's came since (an operator's)
        self.accounts.beside_writer(self.journal.data_version)
        # one loop, so one REST budget per turn for both listeners (gateway/rest_turns.py)
        turns = RestTurns(asyncio.get_running_loop().call_soon, self.wall.now_ns, config.rest_turn_ms)
        # and one bound on the unsent bytes of every connection (gateway/send_budget.py)
        budget = SendBudget(config.limits.send_buffer_total_bytes or machine_default())
        # and on the names their subscriptions hold (protocol/subscription_budget.py)
        names = names_budget(config.limits)
        for listener in self.listeners.values():
            listener.prepare(rest_turns=turns, send_budget=budget, subscription_budget=names)
        # the ports bound first, so a port another process holds is told at once, not after
        # the source's start; they listen after it (a connection meanwhile is refused)
        bound: dict[Market | str, list[socket.socket]] = {}
        ports = ((Market.UM, config.um_port), (Market.CM, config.cm_port))
        if config.admin_port:  # an admin listener that could never start: told before anything is
            check_token(config.admin_host, config.admin_token)
        try:
            for market, port in ports:
                bound[market] = reserve(config.host, port, market)
            if config.admin_port:  # the admin listener's too, as a market's
                bound["admin"] = reserve(config.admin_host, config.admin_port, "admin")
            # the source's synchronous start (a simulator's warm history and books: seconds of
            # the loop on a busy machine) before the ports open: a request answered before it
            # was then held through it, and a signed one stamped before it refused -1021 after it
            self._source_task = asyncio.get_running_loop().create_task(self._run_source())
            await asyncio.sleep(0)  # the source's synchronous start is done on return
            for market, port in ports:
                await self.listeners[market].open(config.host, port, bound=bound.pop(market))
            if config.admin_port:
                # aiohttp on demand: importing it makes its client's TLS contexts (the system's CA
                # bundle read, 0.1-0.2 s of each process's start), which a server with no admin
                # listener never uses
                from tickerplant.admin.accounts import AccountsApi
                from tickerplant.admin.server import AdminServer

                trading = functools.partial(trading_view, self.engines)
                self.admin = AdminServer(self, accounts=AccountsApi(config.venue_db, self.clock, trading))
                admin_port, token = config.admin_port, config.admin_token
                await self.admin.start(config.admin_host, admin_port, token=token, bound=bound.pop("admin"))
        except BaseException:  # a port taken: what started for nothing ends here, not at the loop's close
            release(bound.values())  # bound, never opened
            if self._source_task is not None:
                self._source_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._source_task
            raise
        self.started_ms = self.clock.now_ms()
        if self.admin is not None:  # the rates' sampler only serves the admin listener's status
            self.status_board.start()
        assert self.group is not None  # made with the venue, in __init__
        engines = list(self.engines.values())  # their order-rate windows on their clock
        checkpoints = checkpoint_journal(self.journal, self.group, engines, self.venue_clock)
        self._checkpoints = asyncio.get_running_loop().create_task(checkpoints)

    def _start_venue(self, past: PastSpec | None) -> None:
        """One engine per market, in this process beside the plant that publishes its book:
        it reads the listener's market view, takes the market's trades from the bus, and is
        restored from the journal, the fundings that fell while the server was down settled
        from the source's ``past`` (docs/venue.md)."""
        clock, listeners = self.venue_clock, self.listeners
        views = {market: listener.view for market, listener in listeners.items()}
        self.group = group = group_commit(self.journal)
        accounts, journal = self.accounts, self.journal
        source, instruments = self.source, self.instruments
        made = venue_engines(
            self.config, source, instruments, views, accounts, journal, group, clock.now_ms(), past
        )
        for market, engine in made.items():
            listener = listeners[market]
            self.engines[market] = engine
            served = listener.serve_engine(engine, group, clock)
            # the listen keys journaled with the engine's commands, those live taken back
            listener.user_data.keep(engine.journal, held_listen_keys(journal, market.value), accounts)
            if served is not None:  # and the countdowns (``gateway/countdowns.py``)
                served.countdowns.keep(held_countdowns(journal, market.value), accounts)
            assert listener.drain is not None
            plant, drain = self.plants[market], listener.drain
            if isinstance(source, ReplaySource) and source.replayer is not None:
                # a replay's own plants tick its streams: the venue's liquidations are pushed there
                plant = source.replayer.plants.get(market, plant)
            if clock is not self.clock:  # the user data stream's faults and keys: the server's time
                drain = functools.partial(_drained_at, listener.drain, self.clock)
            activity = listener.user_data.activity
            due = served.countdowns.run_due if served is not None else None
            for hook in venue_hooks(engine, drain, clock, self.accounts, plant, self.bus, activity, due):
                self.bus.subscribe(market, hook)
        if isinstance(source, ReplaySource) and clock is not self.clock:  # serve --replay's venue
            source.exact_while = functools.partial(awaiting_market, list(self.engines.values()))

    async def _run_source(self) -> None:
        try:
            await self.source.run(self)
        except asyncio.CancelledError:
            raise
        except INPUT_ERRORS as exc:  # its input: a file, a row it cannot read
            log.error("the source failed: %s; serving what it delivered", exc)
            self.finished(failure_reason(exc), failed=True)
        except Exception:  # a bug: its traceback
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
        return control(self.source, action)

    def replay_speed(self, speed: float | None) -> dict[str, Any] | None:
        """Play a replay at ``speed`` (None: as fast as it goes); its status after, or
        None when not replaying. A speed outside ``clock.SPEEDS`` raises ValueError."""
        return set_speed(self.source, speed)

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
            save_order_counts(self.journal, list(self.engines.values()), self.venue_clock)  # refusals too
        self.journal.close()

