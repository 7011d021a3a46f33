"""One listener per market: an HTTP router in front of the gateway's three surfaces.

Each listener stands in for all of its market's Binance hosts (ARCHITECTURE.md): the
market streams, the WebSocket API and REST market data share one host:port, told apart
by path. The market view and the fan-out both subscribe to the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

import msgspec
from picows import WSUpgradeRequest

from tickerplant.bus import Bus
from tickerplant.clock import Clock, LagProbe
from tickerplant.config import ServerConfig
from tickerplant.gateway.acceptor import Acceptor
from tickerplant.gateway.archive_files import ZipPacking, archive_route
from tickerplant.gateway.durable_replies import DurableWs, after_commit
from tickerplant.gateway.engine_surface import EngineSurface, engine_surface
from tickerplant.gateway.fanout import FanOut, Schedule
from tickerplant.gateway.fault_gate import fault_gate
from tickerplant.gateway.fault_market import publishing
from tickerplant.gateway.fault_ws import FaultedWs
from tickerplant.gateway.front_door import FrontDoor
from tickerplant.gateway.http_head import PREFLIGHT
from tickerplant.gateway.listening import reserve, serve
from tickerplant.gateway.log_budget import LogBudget
from tickerplant.gateway.market_streams import StreamSurface
from tickerplant.gateway.memory_trim import AllocatorTrim
from tickerplant.gateway.order_latency import latent_route, latent_ws, order_path
from tickerplant.gateway.picows_log import gated_picows_logger, listener_logger
from tickerplant.gateway.picows_server import AwaitedRoute, LaterRoute, Routed, asks_to_upgrade
from tickerplant.gateway.responses import json_response, preflight_response, rest_response
from tickerplant.gateway.rest_repeat import RestCall
from tickerplant.gateway.rest_turns import RestTurns
from tickerplant.gateway.send_budget import SendBudget, machine_default
from tickerplant.gateway.traffic import OTHER, Traffic
from tickerplant.gateway.user_data import UserData
from tickerplant.gateway.venue_forwarding import ForwardedVenue
from tickerplant.gateway.ws_api import WsApiConnection
from tickerplant.market.demand import Subscribed
from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.payloads.events import PayloadFormat
from tickerplant.market.plant.view import MarketView
from tickerplant.protocol.archive import Archive, is_archive_path
from tickerplant.protocol.errors import (
    CLOSE_FINISHED,
    CLOSE_SHUTDOWN,
    CLOSE_SOURCE_FAILED,
    CLOSE_UPSTREAM_LOST,
    closing,
    unknown_path,
)
from tickerplant.protocol.limits import LimitCounters
from tickerplant.protocol.market_data import MarketData
from tickerplant.protocol.past import PastAnswers
from tickerplant.protocol.request_weight import RequestWeight, rate_limit_error
from tickerplant.protocol.rest import RestAnswer, RestApi
from tickerplant.protocol.streams import CrossingStreams
from tickerplant.protocol.subscription_budget import SubscriptionBudget
from tickerplant.protocol.urls import UrlRefused, parse_stream_url
from tickerplant.protocol.ws_api import PrivateMethods, WsApi
from tickerplant.tls import server_context
from tickerplant.venue.auth.checks import PrivateRequest, key_check
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.journal.group_commit import GroupCommit
from tickerplant.venue.wire.forwarded import RouteRow, admitting_rest
from tickerplant.venue.wire.outside_futures import outside_rest, venue_assets
from tickerplant.venue.wire.rest import Accounts, PrivateRest, RoutesByBytes, private_routes
from tickerplant.venue.wire.ws_trading import WsTrading

if TYPE_CHECKING:  # serve --workers' gateways alone forward to a plant: one process never imports nats
    from tickerplant.bus.venue_link import VenueRequests

__all__ = ["Listener"]

log = logging.getLogger("tickerplant.gateway")

ControlHandler = Callable[[str], tuple[int, bytes]]  # HTTP method -> (status, JSON body)

_WS_API_PATHS = {Market.UM: "/ws-fapi/v1", Market.CM: "/ws-dapi/v1"}
_WS_API_HANDSHAKE_WEIGHT = 5  # each WebSocket API handshake costs 5 of the IP's weight (§5.1)
_DRAIN_POLL_S = 0.05  # how often a finishing listener looks whether a slow client caught up
_new = tuple.__new__  # a request's PrivateRequest, without the NamedTuple's Python __new__


class Listener:
    """Everything one market serves on one host:port."""

    def __init__(
        self, market: Market, instruments: Mapping[str, Instrument], bus: Bus, clock: Clock,
        config: ServerConfig, carried: frozenset[str] | None = None, *,
        make_weight: Callable[..., RequestWeight] = RequestWeight,  # shared across gateways, scale-out
        other_instruments: Mapping[str, Instrument] | None = None, demand: Subscribed | None = None,
        accounts: Accounts | None = None, past: PastAnswers | None = None,
        market_now: Callable[[], int] | None = None,
    ) -> None:  # fmt: skip
        """``other_instruments``: the other market's, whose symbols' klines, continuous
        klines and mark prices this listener serves too in the 2026 payload format (§4.13).
        ``demand``: the process' streams held, which its plants follow (``market/demand.py``).
        ``accounts``: the venue's accounts and keys, which the private endpoints answer from
        (``venue/wire/rest.py``); None: no private endpoint (404 ``-5000``, as any unknown path).
        ``past``: the simulated past the history answers reach back into (``protocol/past.py``).
        ``market_now``: the market's present where it is not ``clock``'s (``RestApi``'s)."""
        self.market = market
        self._demand = demand
        self._carried = carried
        self._config = config
        self._instruments = instruments
        self._other_instruments = other_instruments if config.payload_format is PayloadFormat.Y2026 else None
        self._clock = clock
        self._venue_clock = clock  # the venue's time (``serve_engine``): a replay's own
        self.view = MarketView(market, list(instruments.values()))
        bus.subscribe(market, self.view.receive)
        self._bus = bus
        # every limit a client runs into, counted (protocol/limits.py, LimitCounters)
        self.limit_counters = counters = LimitCounters()
        self.weight = make_weight(config.request_weight_per_min, counters=counters)
        self.traffic = Traffic()  # connections accepted, requests answered, closes sent
        rest_data = MarketData(self.view, cm_arrays=True, past=past)
        self.archive = Archive.of(past, ZipPacking) if past is not None else None  # Binance's files
        # the fault profile's, applied around the venue (gateway/fault_gate.py); None: no faults
        faults = self.faults = fault_gate(config.faults, config.simulator.seed, clock, market)
        maintenance = faults.decider.maintenance if faults is not None else None  # the system status'
        self.rest = RestApi(market, rest_data, self.weight, [*instruments.values()], maintenance, market_now)
        self.ws_api = WsApi(MarketData(self.view, cm_arrays=False, past=past), self.weight, market_now)
        coins = [inst.margin_asset for inst in instruments.values()]  # COIN-M's wallets' assets
        self.user_data = UserData(clock)  # listen keys and the user data streams (gateway/user_data.py)
        self.user_data.follow(faults)
        self.private = None
        self.outside: PrivateRest | None = None  # the start-up calls outside futures
        self.forwarded: ForwardedVenue | None = None  # under --workers (forward_venue)
        self.drain: Callable[[int], object] | None = None  # the engine's events, once served
        self.signed_lag: LagProbe | None = None  # told every signed request (tickerplant run)
        self._durable: GroupCommit | None = None
        self._latency = order_path(config.latency, f"{config.simulator.seed}/{market.value}", self._clock)
        if accounts is not None:
            self.private = PrivateRest(market, accounts, self.weight, coins, None, self.user_data)
            # userDataStream.*, account.balance, session.*; behind the order latency, when there is one
            self.ws_api.private = latent_ws(WsTrading(self.private), self._latency)
            assets = venue_assets([*instruments.values(), *(other_instruments or {}).values()])
            self.outside = outside_rest(market, accounts, self.weight, assets)
        self._private_routes: RoutesByBytes = private_routes(self.outside, self.private)  # found by bytes
        self._server: Acceptor | None = None
        self._doors: set[FrontDoor] = set()  # connections between (or inside) REST requests
        self.allocator_trim = AllocatorTrim(clock)  # memory back to the system after a wave of closes
        self._schedule: Schedule | None = None  # the fan-out's end-of-iteration scheduler
        self.rest_turns: RestTurns | None = None  # REST's share of each loop turn, once started
        self.send_budget: SendBudget | None = None  # the process' unsent bytes, once started
        self.streams: StreamSurface | None = None
        self.ws_api_connections: set[WsApiConnection] = set()
        self.port = 0
        self.controls: dict[str, ControlHandler] = {}  # our own paths (a replay's controls)

    async def start(
        self, host: str, port: int, *, reuse_port: bool = False, rest_turns: RestTurns | None = None,
        send_budget: SendBudget | None = None, subscription_budget: SubscriptionBudget | None = None,
    ) -> None:
        """``prepare``, then ``open``: listen on host:port."""
        self.prepare(rest_turns=rest_turns, send_budget=send_budget, subscription_budget=subscription_budget)
        await self.open(host, port, reuse_port=reuse_port)

    def prepare(
        self, *, rest_turns: RestTurns | None = None, send_budget: SendBudget | None = None,
        subscription_budget: SubscriptionBudget | None = None,
    ) -> None:
        """Everything but the port: the streams' surface, on the bus from now (what the
        market publishes before the port opens reaches it). ``rest_turns``: the REST budget
        per loop turn this listener shares with the process' others (``rest_turns.py``),
        else its own; ``send_budget`` likewise, the process' unsent bytes
        (``send_budget.py``), and ``subscription_budget`` its subscribed names'
        (``protocol/subscription_budget.py``)."""
        self._schedule = schedule = asyncio.get_running_loop().call_soon
        if rest_turns is None:
            rest_turns = RestTurns(schedule, self._clock.now_ns, self._config.rest_turn_ms)
        self.rest_turns = rest_turns
        if send_budget is None:
            send_budget = SendBudget(self._config.limits.send_buffer_total_bytes or machine_default())
        self.send_budget = send_budget
        fanout = FanOut(schedule, self._demand)
        self.streams = StreamSurface(
            self.market, self._instruments, fanout, self._clock, self._config.limits,
            strict_routing=self._config.strict_routing,
            lenient_case=self._config.lenient_case,
            faults=self._config.faults,
            carried=self._carried,
            counters=self.limit_counters,
            traffic=self.traffic,
            other_instruments=self._other_instruments,
            send_budget=send_budget,
            subscription_budget=subscription_budget,
        )  # fmt: skip
        self.user_data.attach(self.streams)
        self._bus.subscribe(self.market, publishing(self.faults, self.streams, self._instruments))  # faults
        if self._config.payload_format is PayloadFormat.Y2026:
            # §4.13: since the merge, the all-market streams carry both markets' symbols on
            # both hosts, and a symbol's klines, continuous klines and mark price are served
            # on either: the other market's pushes of them go out here too, as they come
            other = Market.CM if self.market is Market.UM else Market.UM
            self._bus.subscribe(other, CrossingStreams(fanout.publish))

    async def open(
        self, host: str, port: int, *, reuse_port: bool = False, bound: list[socket.socket] | None = None
    ) -> None:
        """Listen on host:port (``prepare``d first); ``bound``: its sockets, bound already
        (``listening.reserve``); ``reuse_port``: share it with other processes (SO_REUSEPORT,
        ``tickerplant serve --workers N``)."""
        assert self.streams is not None and self.rest_turns is not None, "prepare() first"
        counters = self.limit_counters  # a client's protocol errors: warnings, within the log budget
        public = listener_logger(self.market.value)
        logger = gated_picows_logger(public, self._clock, self.streams.log_budget, counters)
        config = self._config
        ssl = server_context(config.tls_cert, config.tls_key) if config.tls_cert else None
        sockets = bound or reserve(host, port, self.market, reuse_port=reuse_port)
        self._server = await serve(
            self.route, sockets, logger=logger, clock=self._clock, gateway_log=log, counters=counters,
            trim=self.allocator_trim, doors=self._doors, traffic=self.traffic, ssl=ssl, turns=self.rest_turns,
        )  # fmt: skip
        self.port = sockets[0].getsockname()[1]

    def serve_engine(
        self, engine: Engine, durable: GroupCommit | None, venue: Clock | None = None
    ) -> EngineSurface | None:
        """Serve ``engine``'s endpoints (``venue/wire/rest.py``), which it returns (None: no
        accounts); ``durable``: the journal's group commit (``durable_replies.py``); ``venue``:
        its clock, a replay's own (``app.replay_timed``)."""
        if self.private is None:
            return None
        private, self._venue_clock = self.private, venue or self._clock
        made = engine_surface(
            self.market, private.accounts, self.weight, private.coins, engine, self.user_data,
            self._venue_clock, durable, self._config.legacy_fill_fields,
        )  # fmt: skip
        made.rest.venue_now = None if self._venue_clock is self._clock else self._venue_clock.now_ms
        self.private, self.drain, self._durable = made.rest, made.drain, durable
        trading: PrivateMethods = made.trading
        trading = trading if self.faults is None else FaultedWs(made.trading, self.faults)
        trading = trading if durable is None else DurableWs(trading, durable)
        self.ws_api.private = latent_ws(trading, self._latency)
        self._private_routes = private_routes(self.outside, self.private)
        return made

    def forward_venue(self, table: list[RouteRow], requests: VenueRequests) -> None:
        """Under ``--workers``: the plant's private routes (``table``, from its listing),
        admitted here and performed by the plant over ``requests`` (``venue_forwarding.py``).
        Needs ``accounts``, which the keys are checked against."""
        assert self.private is not None
        activity = self.user_data.activity
        self.private = rest = admitting_rest(self.market, self.private.accounts, self.weight, table, activity)
        self.forwarded = ForwardedVenue(self.market, requests, rest, self._clock, self.traffic)
        self.ws_api.private = latent_ws(self.forwarded, self._latency)
        self._private_routes = private_routes(self.outside, self.private)

    def log_budgets(self) -> list[LogBudget]:
        """The log budgets of what clients make it warn about (its streams', its acceptor's)."""
        budgets = [] if self.streams is None else [self.streams.log_budget]
        if self._server is not None:
            budgets.append(self._server.log_budget)
        return budgets

    @property
    def accepting_itself(self) -> bool:
        """Whether it accepts through its own acceptor, short of descriptors (``acceptor.py``)."""
        return self._server is not None and self._server.accepting_itself

    def route(
        self, request: WSUpgradeRequest, ip: str, body: bytes = b""
    ) -> Routed | LaterRoute | AwaitedRoute | None:
        """The answer to ``request`` from ``ip`` with ``body`` (``http_head``: GET, POST, PUT,
        DELETE, or OPTIONS: a browser's preflight, on any path). Only the private routes take
        another method than GET; elsewhere one is Binance's 404 ``-5000`` (part 1 §6.2)."""
        if request.method == PREFLIGHT:
            return preflight_response()
        assert self.streams is not None
        raw_path, _, raw_query = request.path.partition(b"?")
        # a private route by its bytes, nothing decoded (a control path's text goes first)
        found = self._private_routes.get((request.method, raw_path))
        controlled = self.controls and raw_path.decode("ascii") in self.controls
        if found is not None and not controlled and not asks_to_upgrade(request):
            return self._private(found[0], found[1], request, raw_query, body, ip, self._clock.now_ms())
        target = request.path.decode("utf-8", errors="replace")
        path, _, query = target.partition("?")
        method = request.method.decode("ascii", errors="replace")
        now_ms = self._clock.now_ms()
        control = self.controls.get(path)
        if control is not None:
            status, answer_body = control(method)
            return json_response(status, answer_body)
        if method != "GET" and not self.rest.handles(path):
            refused = unknown_path(path, method)  # no stream nor WebSocket API but by GET
            error = msgspec.json.encode({"code": refused.code, "msg": refused.msg})
            return json_response(refused.status, error)
        if is_archive_path(path) and method == "GET":
            return archive_route(self.archive, self._clock, self.traffic, path, ip)
        if path == _WS_API_PATHS[self.market]:
            return self._ws_api(query, ip, now_ms)
        if self.rest.handles(path):
            return self._rest(request, path, query, method, ip, now_ms)
        # routed paths (/public, /market, /private) are USDⓈ-M's alone: COIN-M has none (§2.2)
        url = parse_stream_url(target, routed=self.market is Market.UM)
        if isinstance(url, UrlRefused):
            return json_response(url.status, msgspec.json.encode({"code": -1, "msg": url.reason}))
        if url is not None:
            if not self.streams.takes(url):  # too many names, or of too many bytes
                self.limit_counters.url_too_many_streams += 1
                return json_response(400, b'{"code":4,"msg":"Too many subscriptions"}')
            return self.streams.connection(url)
        refused = unknown_path(path)
        return json_response(refused.status, msgspec.json.encode({"code": refused.code, "msg": refused.msg}))

    def _rest(
        self, request: WSUpgradeRequest, path: str, query: str, method: str, ip: str, now_ms: int
    ) -> Routed | LaterRoute:
        """A REST market-data request: a GET of a route through its ``RestCall``, which
        the answer carries for the front door to answer it again (``rest_repeat``); an
        unknown path or method, Binance's 404 (``RestApi.begin``)."""
        rest = self.rest
        started_ns = self._clock.now_ns()
        question = rest.question(path, query) if method == "GET" else None
        if question is None:
            begun = rest.begin(path, query, ip, now_ms, method)
            assert isinstance(begun, RestAnswer)
            # the path is a label only when it is an endpoint: a client's text never is
            self.traffic.request("rest", OTHER, begun.status, self._clock.now_ns() - started_ns)
            return rest_response(begun)
        check = None
        if path in rest.keyed:  # MARKET_DATA: the key alone; with no venue, no key is valid
            keys = None if self.private is None else self.private.accounts
            check = key_check(keys, request.headers.get("X-MBX-APIKEY"), ip, now_ms)
        call = RestCall(rest, question, path, self.traffic, self._clock)
        return call.routed(ip, now_ms, started_ns, check)

    def _private(
        self, private: PrivateRest, route: tuple[str, str], request: WSUpgradeRequest, query: bytes,
        body: bytes, ip: str, now_ms: int,
    ) -> Routed | AwaitedRoute:  # fmt: skip
        """A signed endpoint: the query and the body as received, bytes untouched, for the
        signature (overview decision 3, part 1 §4.1); the key from ``X-MBX-APIKEY`` (part 1
        §2). A GET's parameters are in its query only (part 1 §3.1): its body is not read."""
        form = body if route[0] != "GET" else b""
        signed = _new(PrivateRequest, (query, form, request.headers.get("X-MBX-APIKEY"), ip))
        if self.signed_lag is not None:  # the client's clock against the server's (tickerplant run)
            self.signed_lag.signed(query, form, now_ms)
        if self._latency is not None:  # performed at its arrival, answered after its response leg
            perform = functools.partial(self._perform, private, route, signed)
            return latent_route(self._latency, now_ms, perform)
        return self._perform(private, route, signed, now_ms)

    def _perform(
        self, private: PrivateRest, route: tuple[str, str], signed: PrivateRequest, now_ms: int
    ) -> Routed | AwaitedRoute:
        started_ns = self._clock.now_ns()
        if self.forwarded is not None and private is not self.outside:  # the plant's to perform (--workers)
            return self.forwarded.answer_rest(route, signed, now_ms)
        faults, hold_ms = self.faults, 0
        if faults is None or private is self.outside:
            answer = private.answer(route, signed, now_ms)
        else:
            answer, hold_ms = faults.answer(private, route, signed, now_ms, self.drain)
        if self.drain is not None:  # what the command did, to the account's user data stream
            self.drain(now_ms)
        self.traffic.request("rest", route[1], answer.status, self._clock.now_ns() - started_ns)
        routed: Routed = answer if faults is None else faults.response(answer)  # written as it is
        if hold_ms and faults is not None:  # a slow acknowledgement: its events went first
            return faults.delayed(routed, now_ms + hold_ms)
        return routed if self._durable is None else after_commit(self._durable, routed)

    def _ws_api(self, query: str, ip: str, now_ms: int) -> Routed:
        verdict = self.weight.charge(ip, _WS_API_HANDSHAKE_WEIGHT, now_ms)
        if verdict.status != 200:
            error = rate_limit_error(verdict, ip, self.weight.limit)
            body = msgspec.json.encode({"code": error.code, "msg": error.msg})
            retry = str(-(-verdict.retry_after_ms // 1000))
            return json_response(verdict.status, body, {"Retry-After": retry})
        shown = dict(parse_qsl(query)).get("returnRateLimits", "").lower() != "false"
        return WsApiConnection(
            self.ws_api, self._clock, self._config.limits, self.ws_api_connections,
            rate_limits_default=shown, faults=self._config.faults,
            counters=self.limit_counters, traffic=self.traffic, budget=self.send_budget,
            signed_lag=self.signed_lag,
        )  # fmt: skip

    def interrupt(self, streams: Collection[str], reason: str) -> None:
        """Close the stream connections carrying any of ``streams``: their clients reconnect
        and see the gap, instead of a stream that silently skipped messages."""
        # After the fan-out's flush of this iteration (its scheduler is FIFO): what was
        # published before the loss still goes out first.
        if self._schedule is not None:
            self._schedule(functools.partial(self._interrupt, tuple(streams), reason))

    def _interrupt(self, streams: tuple[str, ...], reason: str) -> None:
        if self.streams is None:
            return
        closed = self.streams.close_carrying(streams, closing(CLOSE_UPSTREAM_LOST, reason))
        if closed:
            log.warning("%s: closed %d stream connections: %s", self.market.value, closed, reason,
                        extra={"market": self.market.value, "code": CLOSE_UPSTREAM_LOST})  # fmt: skip

    async def finish(self, reason: str, *, failed: bool = False, drain_s: float = 60.0) -> None:
        """The source ended: every stream connection is closed, normally (1000) or, when
        the source failed, with 1011, once it has taken everything published before. A
        client that is behind gets up to ``drain_s`` (on the listener's clock) to read it.
        Requests are still answered from the final state, and new stream connections are
        accepted."""
        await asyncio.sleep(0)  # the fan-out's flush of this iteration goes first
        if self.streams is None:
            return
        finished = not failed and reason == CLOSE_FINISHED.reason
        close = CLOSE_FINISHED if finished else closing(CLOSE_SOURCE_FAILED if failed else 1000, reason)
        expired = asyncio.Event()
        deadline = self._clock.call_at(self._clock.now_ms() + round(drain_s * 1000), expired.set)
        try:
            waiting = list(self.streams.connections)
            while waiting:
                behind = []
                for connection in waiting:
                    if connection.unsent_bytes() and not expired.is_set():
                        behind.append(connection)
                    else:
                        connection.close(close)
                waiting = behind
                if waiting:
                    # Bytes leaving a socket have no event of their own: look again soon,
                    # or at once when the deadline passes.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(expired.wait(), _DRAIN_POLL_S)
        finally:
            deadline.cancel()

    async def close(self) -> None:
        if self._server is None:
            return
        self.allocator_trim.close()
        self._server.close()
        for connection in [*(self.streams.connections if self.streams else ()), *self.ws_api_connections]:
            connection.close(CLOSE_SHUTDOWN)
        for door in list(self._doors):
            door.shut()
        await asyncio.sleep(0)
        await self._server.wait_closed()

