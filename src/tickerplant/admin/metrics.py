"""Every metric the admin listener's ``/metrics`` serves, read at scrape time.

``ServerCollector`` is a ``prometheus_client`` custom collector: a scrape reads what the
server keeps anyway (each listener's connection sets, its fan-out's routes and its
``sent`` counts, its ``LimitCounters``, its ``gateway.traffic.Traffic``, the bus
messages the app counts per batch), so the hot paths call no ``Counter.inc()``: the
fan-out adds two ints per stream per loop iteration, nothing per message or subscriber.

Names and labels follow Prometheus' conventions (``_total`` counters, base units in the
name, ``seconds`` and ``bytes``); labels are low-cardinality by construction: market,
surface (``streams``, ``ws_api``, ``rest``), stream kind, close code and reason (bounded,
``gateway/traffic.py``), the limit's name, a known endpoint or method; per symbol only
for the ``BOOK_SYMBOLS`` first symbols of each market (the catalogue's order), never per
connection. The process' RSS and open descriptors are ``prometheus_client``'s
``ProcessCollector`` in the same registry (``process_resident_memory_bytes``,
``process_open_fds``, …).

A relay adds the upstream frames it passed over unread, per market (the source's count,
``feeds/relay/unreadable.py``).

A gateway process fed over NATS adds its bus' figures per market (``BusCounts``, and the
frames and bytes its ``NatsBus`` received): sequence gaps and the frames they skipped, a
restarted plant, the states it loaded and those that failed to, the messages it dropped as
unreadable, the stream connections it closed with 1012 for a loss or a silence, and
whether the market is live (``tickerplant_bus_up``: frames arrive and reach the clients).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from tickerplant.faults.record import FaultRecord
from tickerplant.gateway.server import Listener
from tickerplant.gateway.traffic import LATENCY_BUCKETS_S, OTHER
from tickerplant.gateway.user_data import UserData
from tickerplant.market.instruments import Market
from tickerplant.market.plant.view import MarketView
from tickerplant.protocol.streams import parse
from tickerplant.protocol.user_streams import is_listen_key_item

__all__ = ["BOOK_SYMBOLS", "METRICS", "BusCounts", "ServerCollector"]

BOOK_SYMBOLS = 5  # symbols per market with book depth and spread gauges: the first N listed

# name -> (type, help): docs/operations.md's metric list is this table
METRICS: dict[str, tuple[str, str]] = {
    "tickerplant_connections": ("gauge", "Connections open, per surface (streams, ws_api)"),
    "tickerplant_connections_accepted": ("counter", "Connections accepted, per surface"),
    "tickerplant_subscriptions": ("gauge", "Stream subscriptions connections hold, per stream kind"),
    "tickerplant_messages_sent": ("counter", "Stream messages queued to connections, per stream kind"),
    "tickerplant_sent_bytes": ("counter", "Stream frame bytes queued to connections, per stream kind"),
    "tickerplant_closes": ("counter", "WebSocket closes the server sent, per surface, code and reason"),
    "tickerplant_slow_consumer_cuts": ("counter", "Stream connections cut off for a full send buffer"),
    "tickerplant_venue_orders": ("counter", "The venue's order events, per order type and execution (x)"),
    "tickerplant_venue_rejects": ("counter", "Trading requests the venue refused, per Binance code"),
    "tickerplant_faults": ("counter", "Faults of the fault profile that fired, per kind (docs/faults.md)"),
    "tickerplant_venue_fills": ("counter", "The venue's fills, per liquidity (maker, taker)"),
    "tickerplant_venue_feed_failures": (
        "counter", "Market deliveries a venue hook raised on (logged, then skipped: the market goes on)"
    ),
    "tickerplant_unsent_bytes": ("gauge", "Bytes the process' connections hold unsent, as last reported"),
    "tickerplant_unsent_bytes_bound": ("gauge", "The bound on them (--send-buffer-total)"),
    "tickerplant_subscription_bytes": ("gauge", "Bytes the process' subscribed names hold, with their costs"),
    "tickerplant_subscription_bytes_bound": ("gauge", "The bound on them (--subscription-bytes-total)"),
    "tickerplant_limit_hits": ("counter", "Closes and refusals per limit (protocol.limits.LimitCounters)"),
    "tickerplant_request_duration_seconds": (
        "histogram",
        "REST and WebSocket API requests per endpoint or method and status: time to answer",
    ),
    "tickerplant_published_messages": ("counter", "Messages the source and plants published on the bus"),
    "tickerplant_book_levels": ("gauge", "Price levels of a book side (the first symbols of each market)"),
    "tickerplant_book_spread": ("gauge", "Best ask minus best bid, quote price (first symbols per market)"),
    "tickerplant_log_suppressed": ("counter", "Warnings not logged for the log budget, per kind"),
    "tickerplant_replay_progress_ratio": ("gauge", "How far the replay has come, 0 to 1"),
    "tickerplant_replay_time_seconds": ("gauge", "The replay clock, Unix time"),
    "tickerplant_replay_events": ("counter", "Events the replay has played"),
    "tickerplant_simulator_actions": ("counter", "Order-flow actions the simulator made (simulator only)"),
    "tickerplant_relay_unreadable_frames": (
        "counter", "Upstream frames the relay passed over unread (relay only; docs/relay.md)"
    ),
    "tickerplant_bus_demand_gateways": ("gauge", "Gateways whose clients' streams the plant follows"),
    "tickerplant_bus_demand_announcements": (
        "counter", "Gateways' announcements of their streams the plant took or dropped (outcome)"
    ),
    "tickerplant_past_farm_tasks": ("counter", "Simulated past's cold parts given to its workers"),
    "tickerplant_past_farm_failed_tasks": ("counter", "Of those tasks, the failed (made on the loop)"),
    "tickerplant_bus_received_frames": ("counter", "Frames a gateway received from the plant over NATS"),
    "tickerplant_bus_received_bytes": ("counter", "Bytes of the frames a gateway received over NATS"),
    "tickerplant_bus_gaps": ("counter", "Gaps in the plant's frame sequence a gateway saw"),
    "tickerplant_bus_missed_frames": ("counter", "Frames the gaps skipped"),
    "tickerplant_bus_plant_restarts": ("counter", "Restarts of the plant a gateway saw (a new epoch)"),
    "tickerplant_bus_resyncs": ("counter", "States a gateway loaded from the plant (its start, losses)"),
    "tickerplant_bus_loss_closes": ("counter", "Stream connections closed with 1012 for a loss or a silence"),
    "tickerplant_bus_state_failures": ("counter", "States that did not come or load (asked for again)"),
    "tickerplant_bus_rejected": ("counter", "Messages dropped as unreadable (malformed, another version)"),
    "tickerplant_bus_silences": ("counter", "Times a market went silent past the watchdog's limit"),
    "tickerplant_bus_up": ("gauge", "1 while the bus is live: the plant connected, a gateway's market fed"),
}


@dataclass(slots=True)
class BusCounts:
    """What a gateway process counts of one market's frames from the plant."""

    gaps: int = 0
    missed_frames: int = 0
    plant_restarts: int = 0
    resyncs: int = 0
    loss_closes: int = 0
    state_failures: int = 0
    rejected: int = 0
    silences: int = 0
    up: bool = True  # frames arrive and reach the clients (the market is not held or silent)


def _family(name: str, labels: list[str]) -> Any:
    kind, text = METRICS[name]
    if kind == "gauge":
        return GaugeMetricFamily(name, text, labels=labels)
    if kind == "counter":
        return CounterMetricFamily(name, text, labels=labels)
    return HistogramMetricFamily(name, text, labels=labels)


class ServerCollector(Collector):
    """The server's metrics, read from its listeners and source when scraped."""

    def __init__(
        self,
        listeners: Mapping[Market, Listener],
        published: Mapping[Market, list[int]],
        replay: Callable[[], dict[str, Any] | None],
        simulator_actions: Callable[[], int | None] = lambda: None,
        *,
        views: Mapping[Market, MarketView] | None = None,
        bus: Mapping[Market, BusCounts] | None = None,
        received: Mapping[Market, list[int]] | None = None,
        log_suppressed: Callable[[], int] = lambda: 0,
        bus_up: Callable[[], bool] | None = None,
        user_data: Mapping[Market, UserData] | None = None,
        faults: Mapping[Market, FaultRecord] | None = None,
        past_farm: Callable[[], tuple[int, int]] | None = None,
        relay_unreadable: Callable[[], Mapping[Market, int]] | None = None,
        demand: Callable[[], tuple[int, int, int]] | None = None,
    ) -> None:
        """``log_suppressed``: the warnings the process' log filter held back, ever
        (``logs.suppressed``, which the composition root passes in); ``user_data``: the
        venue's, where its engines are not a listener's (a plant process under ``--workers``,
        ``scaleout/plant_venue.py``), read when scraped; ``faults``: the fault profile's
        records kept outside the listeners (the plant's, ``scaleout/plant_faults.py``);
        ``past_farm``: the simulated past's workers' tasks and failed tasks, where it has them
        (``gateway/past_farm.py``); ``relay_unreadable``: a relay's upstream frames passed over
        unread per market (``RelaySource.unreadable_counts``), where the source is a relay;
        ``demand``: a plant behind the bus' gateways followed, and their announcements taken
        and dropped (``scaleout/plant_demand.PlantDemand.counts``)."""
        self._listeners = listeners
        self._log_suppressed = log_suppressed
        self._past_farm = past_farm
        self._relay_unreadable = relay_unreadable
        self._demand = demand
        # the book gauges' views: the listeners' own, or a plant process' (no listeners)
        self._views = views
        self._bus = bus or {}
        self._received = received or {}  # market -> [frames, bytes] (bus.nats.NatsBus.received)
        self._bus_up = bus_up  # a plant process: whether its NATS connection is up
        self._user_data = user_data or {}
        self._faults = faults or {}
        self._published = published  # market -> [messages] published on the bus
        self._replay = replay
        self._simulator_actions = simulator_actions  # None: the source is no simulator
        self._kinds: dict[str, str] = {}  # canonical stream -> its kind's label (cached)

    def _kind(self, stream: str) -> str:
        kind = self._kinds.get(stream)
        if kind is None:
            # a user data name (a key's shape, whatever follows its @: <key>@aggTrade is routed
            # as the key's, not as a market stream): any client may make one up, so none is kept
            parsed = None if is_listen_key_item(stream) else parse(stream)
            if parsed is None:
                return OTHER
            kind = self._kinds[stream] = parsed.kind.value  # a market stream's: bounded
        return kind

    def collect(self) -> Iterator[Any]:
        yield from self._connections()
        yield from self._streams()
        yield from self._closes()
        yield self._requests()
        published = _family("tickerplant_published_messages", ["market"])
        for market, count in self._published.items():
            published.add_metric([market.value], count[0])
        yield published
        actions = self._simulator_actions()
        if actions is not None:
            made = _family("tickerplant_simulator_actions", [])
            made.add_metric([], actions)
            yield made
        if self._past_farm is not None:
            names = ("tickerplant_past_farm_tasks", "tickerplant_past_farm_failed_tasks")
            for name, n in zip(names, self._past_farm(), strict=True):
                tasks = _family(name, [])
                tasks.add_metric([], n)
                yield tasks
        if self._relay_unreadable is not None:
            unreadable = _family("tickerplant_relay_unreadable_frames", ["market"])
            for market, frames in self._relay_unreadable().items():
                unreadable.add_metric([market.value], frames)
            yield unreadable
        if self._demand is not None:
            gateways, taken, dropped = self._demand()
            followed = _family("tickerplant_bus_demand_gateways", [])
            followed.add_metric([], gateways)
            yield followed
            announcements = _family("tickerplant_bus_demand_announcements", ["outcome"])
            announcements.add_metric(["taken"], taken)
            announcements.add_metric(["dropped"], dropped)
            yield announcements
        yield from self._venue()
        yield from self._books()
        yield from self._replay_metrics()
        if self._bus:
            yield from self._bus_metrics()
        elif self._bus_up is not None:
            up = _family("tickerplant_bus_up", ["market"])
            for market in self._published:
                up.add_metric([market.value], int(self._bus_up()))
            yield up

    def _connections(self) -> Iterator[Any]:
        open_ = _family("tickerplant_connections", ["market", "surface"])
        accepted = _family("tickerplant_connections_accepted", ["market", "surface"])
        for market, listener in self._listeners.items():
            streams = listener.streams
            open_.add_metric([market.value, "streams"], len(streams.connections) if streams else 0)
            open_.add_metric([market.value, "ws_api"], len(listener.ws_api_connections))
            for surface, count in listener.traffic.accepted.items():
                accepted.add_metric([market.value, surface], count)
        yield open_
        yield accepted
        # the process' one bound on unsent bytes (gateway/send_budget.py), its listeners' alike,
        # and on the names subscriptions hold (protocol/subscription_budget.py)
        listeners = self._listeners.values()
        unsent = {id(b): (b.total, b.limit) for li in listeners if (b := li.send_budget) is not None}
        surfaces = [li.streams for li in listeners if li.streams is not None]
        names = {id(b): (b.held, b.limit) for b in (surface.subscription_budget for surface in surfaces)}
        bounded = (("tickerplant_unsent_bytes", unsent), ("tickerplant_subscription_bytes", names))
        for name, budgets in bounded:
            if budgets:
                held, bound = _family(name, []), _family(f"{name}_bound", [])
                held.add_metric([], sum(figures[0] for figures in budgets.values()))
                bound.add_metric([], sum(figures[1] for figures in budgets.values()))
                yield held
                yield bound

    def _streams(self) -> Iterator[Any]:
        held = _family("tickerplant_subscriptions", ["market", "kind"])
        messages = _family("tickerplant_messages_sent", ["market", "kind"])
        sent_bytes = _family("tickerplant_sent_bytes", ["market", "kind"])
        for market, listener in self._listeners.items():
            if listener.streams is None:
                continue
            fanout = listener.streams.fanout
            subscriptions: dict[str, int] = {}
            for stream, count in fanout.subscriptions().items():
                kind = self._kind(stream)
                subscriptions[kind] = subscriptions.get(kind, 0) + count
            sent: dict[str, list[int]] = {}
            counted = [(self._kind(name), counts) for name, counts in list(fanout.sent.items())]
            if fanout.retired[1]:  # the user data names that left the table
                counted.append((OTHER, fanout.retired))
            for kind, (frames, size) in counted:
                total = sent.setdefault(kind, [0, 0])
                total[0] += frames
                total[1] += size
            for kind, count in sorted(subscriptions.items()):
                held.add_metric([market.value, kind], count)
            for kind, (frames, size) in sorted(sent.items()):
                messages.add_metric([market.value, kind], frames)
                sent_bytes.add_metric([market.value, kind], size)
        yield held
        yield messages
        yield sent_bytes

    def _closes(self) -> Iterator[Any]:
        closes = _family("tickerplant_closes", ["market", "surface", "code", "reason"])
        cuts = _family("tickerplant_slow_consumer_cuts", ["market"])
        limits = _family("tickerplant_limit_hits", ["market", "limit"])
        suppressed = _family("tickerplant_log_suppressed", ["market", "kind"])
        for market, listener in self._listeners.items():
            for (surface, code, reason), count in list(listener.traffic.closes.items()):
                closes.add_metric([market.value, surface, str(code), reason], count)
            counters = listener.limit_counters
            cuts.add_metric([market.value], counters.slow_consumer)
            for name, count in counters.as_dict().items():
                limits.add_metric([market.value, name], count)
            for budget in listener.log_budgets():
                for kind, count in budget.suppressed.items():
                    suppressed.add_metric([market.value, kind], count)
        # and the process' filter of repeated warnings (logs.WarningBudget), every logger's
        suppressed.add_metric(["", "repeated warning"], self._log_suppressed())
        yield closes
        yield cuts
        yield limits
        yield suppressed

    def _requests(self) -> Any:
        family = _family("tickerplant_request_duration_seconds", ["market", "surface", "endpoint", "status"])
        for market, listener in self._listeners.items():
            for (surface, endpoint, status), tally in list(listener.traffic.requests.items()):
                cumulative, buckets = 0, []
                for bound, count in zip((*LATENCY_BUCKETS_S, float("inf")), tally.buckets, strict=True):
                    cumulative += count
                    buckets.append((_bound(bound), cumulative))
                family.add_metric([market.value, surface, endpoint, str(status)], buckets, tally.seconds)
        return family

    def _venue(self) -> Iterator[Any]:
        orders = _family("tickerplant_venue_orders", ["market", "type", "execution"])
        rejects = _family("tickerplant_venue_rejects", ["market", "code"])
        fills = _family("tickerplant_venue_fills", ["market", "liquidity"])
        failures = _family("tickerplant_venue_feed_failures", ["market", "hook"])
        held = [(market, listener.user_data) for market, listener in self._listeners.items()]
        for market, user_data in [*held, *self._user_data.items()]:
            activity = user_data.activity
            for (kind, execution), count in list(activity.orders.items()):
                orders.add_metric([market.value, kind, execution], count)
            for code, count in list(activity.rejects.items()):
                rejects.add_metric([market.value, str(code)], count)
            for liquidity, count in list(activity.fills.items()):
                fills.add_metric([market.value, liquidity], count)
            for hook, count in list(activity.failures.items()):
                failures.add_metric([market.value, hook], count)
        yield orders
        yield rejects
        yield fills
        yield failures
        faults = _family("tickerplant_faults", ["market", "kind"])
        listeners = self._listeners.items()
        records = [(m, listener.faults.decider.record) for m, listener in listeners if listener.faults]
        for market, record in [*records, *self._faults.items()]:
            for fault, count in list(record.counts.items()):
                faults.add_metric([market.value, fault.value], count)
        yield faults

    def _books(self) -> Iterator[Any]:
        levels = _family("tickerplant_book_levels", ["market", "symbol", "side"])
        spread = _family("tickerplant_book_spread", ["market", "symbol"])
        views = self._views if self._views is not None else {m: li.view for m, li in self._listeners.items()}
        for market, view in views.items():
            for symbol_view in list(view.symbols.values())[:BOOK_SYMBOLS]:
                symbol = symbol_view.inst.symbol
                try:
                    book = view.book(symbol_view)
                except msgspec.DecodeError:  # a top of book the view cannot read: no figure
                    continue
                levels.add_metric([market.value, symbol, "bid"], book.bid_count)
                levels.add_metric([market.value, symbol, "ask"], book.ask_count)
                top = book.top()
                if top is not None:
                    bid, _, ask, _ = top
                    price = (ask - bid) / 10**symbol_view.inst.price_decimals
                    spread.add_metric([market.value, symbol], price)
        yield levels
        yield spread

    def _replay_metrics(self) -> Iterator[Any]:
        status = self._replay()
        if status is None:
            return
        progress = _family("tickerplant_replay_progress_ratio", [])
        progress.add_metric([], status.get("progress") or 0.0)
        yield progress
        if status.get("replayTime") is not None:
            clock = _family("tickerplant_replay_time_seconds", [])
            clock.add_metric([], status["replayTime"] / 1000)
            yield clock
        events = _family("tickerplant_replay_events", [])
        events.add_metric([], status.get("events", 0))
        yield events

    def _bus_metrics(self) -> Iterator[Any]:
        frames = _family("tickerplant_bus_received_frames", ["market"])
        size = _family("tickerplant_bus_received_bytes", ["market"])
        for market, (count, received) in self._received.items():
            frames.add_metric([market.value], count)
            size.add_metric([market.value], received)
        yield frames
        yield size
        for name in (
            "gaps", "missed_frames", "plant_restarts", "resyncs", "loss_closes", "state_failures", "rejected",
            "silences", "up",
        ):  # fmt: skip
            family = _family(f"tickerplant_bus_{name}", ["market"])
            for market, counts in self._bus.items():
                family.add_metric([market.value], int(getattr(counts, name)))
            yield family


def _bound(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)
