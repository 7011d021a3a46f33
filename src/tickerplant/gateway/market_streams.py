"""Market-stream connections: picows callbacks glued to the sans-I/O cores.

Each connection owns a ``SubscriptionSession`` (what it asked for); keep-alive and age are
``KeptAliveConnection``'s. ``StreamSurface`` owns the listener-wide part: which names
deliver (``protocol.streams.resolve``) and the ``FanOut`` routing table.

A connection's send buffer is bounded: what it holds unsent (the transport's buffer and
its held frames, below) never passes ``send_buffer_bytes``, and the close frame's room (at
most 129 bytes, RFC 6455 §5.5) on top once the connection is cut off. ``flush`` measures a
batch against the bound *before* keeping it: a batch that would pass it is dropped and the
connection is cut off. (Writing first and looking after let one whole batch, everything
the connection's streams carried in one loop iteration, through past the bound.)

A connection that keeps up gets its batch joined into one write. Once its transport holds
bytes unsent, its frames wait in ``held`` (the transport's high-water mark is 0: it pauses
the connection whenever anything is unsent and resumes it once everything is), the very
bytes objects the fan-out hands every subscriber of a stream, and go in one write
(``writelines``) when the transport has sent everything. Two reasons:

- what slow consumers of the same streams hold is mostly shared, rather than a copy of
  every frame per connection made while they fall behind and freed when they are cut,
  which left the allocator's heap fragmented after a wave of cuts (waves of 5,000 with a
  hundred to three hundred and fifty cut each: RSS after a trim +5.8 MB over five waves,
  the heap's live bytes +0.3 MB);
- each write to a transport that already holds bytes costs uvloop a write request of its
  own (~800 bytes, plus ~45 a frame) until the client reads: written once a loop iteration,
  a thousand clients that never read grew the process by ~220 MB a second, well past the
  process' bound on unsent bytes (``send_budget``), which counts the frames, not that.

A connection cut off leaves the fan-out's routes at once, so nothing more is queued for it;
what it held is dropped; its close frame (1008 "Slow consumer: send buffer full") follows
what its transport has not sent, and it gets the close timeout
(``KeptAliveConnection.abort_later``) to read it.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping

from picows import WSCloseCode, WSTransport

from tickerplant.clock import Clock
from tickerplant.config import FaultsConfig, LimitsConfig
from tickerplant.gateway.connection import KeptAliveConnection
from tickerplant.gateway.fanout import FanOut, text_frame
from tickerplant.gateway.log_budget import LogBudget, held_note
from tickerplant.gateway.send_budget import SendBudget, machine_memory
from tickerplant.gateway.traffic import Traffic
from tickerplant.market.instruments import Instrument, Market
from tickerplant.protocol.errors import CLOSE_SLOW_CONSUMER, CloseReason
from tickerplant.protocol.limits import LimitCounters
from tickerplant.protocol.streams import Route, parse, resolve
from tickerplant.protocol.subscription_budget import (
    NAME_COST,
    SubscriptionBudget,
    default_total,
    name_bytes,
    within,
)
from tickerplant.protocol.subscriptions import SubscriptionSession
from tickerplant.protocol.urls import StreamUrl
from tickerplant.protocol.user_streams import EXPIRED, is_listen_key_item, listen_key_item, withheld

__all__ = ["StreamConnection", "StreamSurface"]

log = logging.getLogger("tickerplant.streams")


_EXPIRY = "@" + EXPIRED  # a listen key's expiry, delivered under <key>@listenKeyExpired


def _expiry_item(name: str) -> str:
    """The item a listen key's expiry is delivered under on a connection holding ``name``:
    the bare key as written, or for an event item ``<key>@<EVENT>`` the key's
    ``<key>@listenKeyExpired`` (``StreamConnection._expiry_route``)."""
    listen_key, at, _ = name.partition("@")
    return listen_key + _EXPIRY if at else name


def names_budget(limits: LimitsConfig) -> SubscriptionBudget:
    """The bound on the names a process' subscriptions hold (``--subscription-bytes-total``,
    0: its share of this machine's memory), one for every listener of the process."""
    return SubscriptionBudget(limits.subscription_bytes_total or default_total(machine_memory()))


class StreamSurface:
    """The market-stream surface of one listener: its connections, which names deliver,
    and the fan-out they are routed through. (Not to be confused with the client's
    ``tickerplant.client.MarketStreams``, the other end of these connections.)"""

    def __init__(
        self,
        market: Market,
        instruments: Mapping[str, Instrument],
        fanout: FanOut,
        clock: Clock,
        limits: LimitsConfig,
        *,
        strict_routing: bool,
        lenient_case: bool,
        faults: FaultsConfig | None = None,
        carried: frozenset[str] | None = None,
        counters: LimitCounters | None = None,
        traffic: Traffic | None = None,
        other_instruments: Mapping[str, Instrument] | None = None,
        send_budget: SendBudget | None = None,
        subscription_budget: SubscriptionBudget | None = None,
    ) -> None:
        """``other_instruments``: the other market's, given in the 2026 payload format, whose
        symbols' klines, continuous klines and mark prices deliver here too (§4.13).
        ``send_budget``: the process' unsent bytes, bounded together (``send_budget``);
        ``subscription_budget``: the process' subscribed names (else this surface's own)."""
        self.market = market
        self.send_budget = send_budget
        self.subscription_budget = subscription_budget or names_budget(limits)
        self.counters = counters or LimitCounters()  # the listener's
        self.traffic = traffic  # the listener's: connections accepted, closes sent
        self.carried = carried  # the streams the source carries, if fewer than all (feeds.Prepared)
        self.faults = faults or FaultsConfig()
        self.fanout = fanout
        self.clock = clock
        self.limits = limits
        self.strict_routing = strict_routing and market is Market.UM
        self.lenient_case = lenient_case
        self._symbols = {inst.symbol.lower(): inst for inst in instruments.values()}
        others = None if other_instruments is None else other_instruments.values()
        self._other_symbols = None if others is None else {inst.symbol.lower(): inst for inst in others}
        self.connections: set[StreamConnection] = set()
        self.log_budget = LogBudget()  # the warnings clients can cause, per kind

    def takes(self, url: StreamUrl) -> bool:
        """Whether a connection may hold ``url``'s names: at most ``max_streams`` of them, in
        the bytes a connection may hold, within the process' bound (``subscription_budget``)."""
        names = dict.fromkeys(url.names)
        size = name_bytes(names)
        if not within(len(names), size, self.limits.max_streams):
            return False
        if self.subscription_budget.fits(size + NAME_COST * len(names)):
            return True
        self.subscription_budget.refused += 1
        return False

    def connection(self, url: StreamUrl) -> StreamConnection:
        return StreamConnection(self, url)

    def close_carrying(self, keys: Collection[str], reason: CloseReason | None) -> int:
        """Close every connection subscribed to one of ``keys`` (delivery keys); how many.
        ``reason`` None: cut, no close frame (a fault profile's ``market-reset``)."""
        wanted = set(keys)
        doomed = [c for c in self.connections if not wanted.isdisjoint(c.delivery_keys())]
        for connection in doomed:
            if reason is None:
                connection.cut()
            else:
                connection.close(reason)
        return len(doomed)

    def close_listening(self, listen_key: str, reason: CloseReason | None) -> int:
        """Close every connection subscribed to a listen key, bare or by event; how many.
        ``reason`` None: cut, no close frame (a fault profile's ``stream-drop``)."""
        events = listen_key + "@"

        def listening(connection: StreamConnection) -> bool:
            return any(k == listen_key or k.startswith(events) for k in connection.delivery_keys())

        doomed = [connection for connection in self.connections if listening(connection)]
        for connection in doomed:
            if reason is None:
                connection.cut()
            else:
                connection.close(reason)
        return len(doomed)

    def delivery_key(self, name: str, route: Route, peer: str) -> str | None:
        if is_listen_key_item(name):
            return self._user_data_key(name, route, peer)
        resolution = resolve(
            name,
            self._symbols,
            route,
            strict_routing=self.strict_routing,
            lenient_case=self.lenient_case,
            other_symbols=self._other_symbols,
        )
        key, why_silent = resolution.key, resolution.why_silent
        if key is not None and self.carried is not None:
            stream = parse(name)
            if stream is not None and stream.suffix not in self.carried:
                key, why_silent = None, f"this server's source does not carry {stream.suffix} streams"
        # a name of digits alone is ccxt.pro's connection number in its URL (`/ws/1`), never a
        # typo: every ccxt connection has one, and it subscribes what it wants after (§3.4)
        if why_silent is not None and not name.isdigit():
            held = self.log_budget.allow("never delivers", self.clock.now_ms())
            if held is not None:  # a client sets this pace: bounded, the name and the reason cut
                shown = withheld(name)  # a listen key sent with a stray character is still one
                why = withheld(why_silent)  # which may quote the name's symbol part
                log.warning(
                    "%s: %s subscribed %.100r, which will never deliver: %.200s%s",
                    self.market.value, peer, shown, why, held_note(held),
                    extra={"market": self.market.value, "peer": peer, "stream": shown[:100]},
                )  # fmt: skip
        return key


    def _user_data_key(self, name: str, route: Route, peer: str) -> str | None:
        """A listen key's name delivers as itself (``protocol/user_streams.py``), on the routes
        that carry user data (overview decision 2). Never logged: a listen key is a bearer
        credential."""
        silent = route in (Route.PUBLIC, Route.MARKET) or (self.strict_routing and route is not Route.PRIVATE)
        legacy = self.market is Market.UM and route is Route.UNROUTED
        if silent or legacy:
            held = self.log_budget.allow("user data off /private", self.clock.now_ms())
            if held is not None:
                log.warning(
                    "%s: %s subscribed a listen key on %s, %s%s",
                    self.market.value, peer, f"/{route.value}" if route.value else "an unrouted URL",
                    "which carries no user data" if silent else
                    "which Binance no longer serves USDⓈ-M user data on (only /private, since 2026-04-23)",
                    held_note(held), extra={"market": self.market.value, "peer": peer},
                )  # fmt: skip
        return None if silent else name


class StreamConnection(KeptAliveConnection):
    """One market-stream WebSocket connection."""

    __slots__ = ("_expiring", "_held_bytes", "_keys", "_route", "_session", "_streams", "held", "pending")

    def __init__(self, streams: StreamSurface, url: StreamUrl) -> None:
        super().__init__(
            streams.clock, streams.limits, count_rate=True, faults=streams.faults, counters=streams.counters,
            traffic=streams.traffic, budget=streams.send_budget,
        )  # fmt: skip
        self.pending: list[bytes] = []  # this loop iteration's frames, written by ``flush``
        self.held: list[bytes] = []  # frames waiting while the transport has bytes unsent
        self._held_bytes = 0  # their size
        self._streams = streams
        self._route = url.route
        self._session = SubscriptionSession(
            url.names, combined=url.combined, max_streams=streams.limits.max_streams,
            budget=streams.subscription_budget,
        )  # fmt: skip
        self._keys: dict[str, str | None] = {}  # subscribed name -> delivery key
        self._expiring: dict[str, str] = {}  # listen key -> the name its expiry's route is under

    def on_ws_connected(self, transport: WSTransport) -> None:
        # Paused while anything is unsent, resumed once everything is (module docstring).
        transport.underlying_transport.set_write_buffer_limits(high=0)
        super().on_ws_connected(transport)
        self._streams.connections.add(self)
        self._session.charge()  # its URL's names count in the process' bound until it closes
        self._route_names(self._session.names, ())

    def on_closed(self) -> None:
        self.pending.clear()
        self.held.clear()
        self._held_bytes = 0
        self._route_names((), self._session.names)
        self._session.release()
        self._streams.connections.discard(self)

    def send_frame(self, frame: bytes) -> None:
        self._streams.fanout.queue(self, frame)

    def unsent_bytes(self) -> int:
        transport = self.transport
        if transport is None:
            return self._held_bytes
        return self._held_bytes + int(transport.underlying_transport.get_write_buffer_size())

    def delivery_keys(self) -> set[str]:
        return {key for key in self._keys.values() if key is not None}

    # -- the fan-out's side ----------------------------------------------------------

    def flush(self) -> None:
        pending = self.pending
        transport = self.transport
        # picows may have closed on a protocol error (is_close_frame_sent): no data after it
        if not pending or self.closing or self.stalled or transport is None or transport.is_close_frame_sent:
            pending.clear()
            return
        raw = transport.underlying_transport
        unsent = raw.get_write_buffer_size()
        if unsent:
            # It lags: the frames wait here until the transport has sent everything
            # (``resume_writing``), as references to the bytes the fan-out shares among
            # every subscriber of a stream (see the module's docstring).
            size = sum(map(len, pending))
            held_bytes = self._held_bytes + size
            if unsent + held_bytes > self.limits_config.send_buffer_bytes:
                pending.clear()
                self._cut_off(size)  # the batch is not kept: it would pass the bound
                return
            self.held += pending
            self._held_bytes = held_bytes
            pending.clear()
            self.report_unsent(unsent + held_bytes)
            return
        if self.held:
            # The transport has just sent everything and its resume_writing is still to
            # come: what is held goes first.
            self.held += pending
            pending.clear()
            self._release_held()
            return
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        pending.clear()
        if len(data) > self.limits_config.send_buffer_bytes:
            self._cut_off(len(data))
            return
        raw.write(data)
        if self._reported:
            # It held bytes at its last report: tell the budget what it holds now. One that
            # keeps up costs nothing here; one whose write just left bytes behind is
            # reported at its next flush, which takes the lagging branch above.
            self.report_unsent(raw.get_write_buffer_size())

    def pause_writing(self) -> None:
        """The transport holds unsent bytes (its high-water mark is 0): ``flush`` holds."""

    def resume_writing(self) -> None:
        """The transport has sent everything: what was held goes, in one write."""
        if self.held:
            self._release_held()

    def _release_held(self) -> None:
        held = self.held
        transport = self.transport
        if self.closing or self.stalled or transport is None or transport.is_close_frame_sent:
            held.clear()
            self._held_bytes = 0
            return
        raw = transport.underlying_transport
        raw.writelines(held)  # one write request, however many frames
        held.clear()
        self._held_bytes = 0
        self.report_unsent(raw.get_write_buffer_size())

    def close(self, reason: CloseReason) -> None:
        if not self.closing and self.transport is not None:
            self.flush()  # what is queued goes before the close frame
            if self.held:
                self._release_held()
        super().close(reason)

    def on_shed(self) -> None:
        self.pending.clear()
        self.held.clear()
        self._held_bytes = 0
        self._route_names((), list(self._keys))  # nothing more is queued for it

    # -- internals -------------------------------------------------------------------

    def on_text(self, payload: bytes, now_ms: int) -> None:
        session = self._session
        was_combined = session.combined
        outcome = session.receive(payload)
        if outcome.reply is not None:
            self.send_frame(text_frame(outcome.reply))
        if outcome.combined_changed:
            self._reroute(was_combined)
        self._route_names(outcome.added, outcome.removed)
        if outcome.close is not None:
            self.close(outcome.close)

    def _route_names(self, added: tuple[str, ...] | list[str], removed: tuple[str, ...] | list[str]) -> None:
        streams = self._streams
        fanout = streams.fanout
        combined = self._session.combined
        for name in removed:
            key = self._keys.pop(name, None)
            if key is not None:
                if not key.endswith(_EXPIRY):  # (the expiry's own route: ``_expiry_route``)
                    fanout.remove(self, key, name, combined)
                self._expiry_route(key, name, leaving=True)
        for name in added:
            key = streams.delivery_key(name, self._route, self.peer)
            self._keys[name] = key
            if key is not None:
                if not key.endswith(_EXPIRY):
                    fanout.add(self, key, name, combined)
                self._expiry_route(key, name, leaving=False)

    def _expiry_route(self, key: str, name: str, *, leaving: bool) -> None:
        """``listenKeyExpired`` reaches every connection holding a listen key's names, bare or
        by event, once (part 4 Unresolved 6: always delivered, whatever ``events`` asks; it
        goes out under ``<key>@listenKeyExpired``, ``UserStreams``): one route per key, carried
        by the first of its names held, moved to another when that one goes. The combined
        wrapper's ``stream`` echoes the item it answers (part 4 §2.4): the bare key held, the
        key; event items (``<key>@ACCOUNT_UPDATE``), the expiry's own ``<key>@listenKeyExpired``
        (the item LIST_SUBSCRIPTIONS names, §2.2), never another event's name."""
        item = listen_key_item(key)
        if item is None:
            return
        listen_key, fanout, combined = item[0], self._streams.fanout, self._session.combined
        expiry = listen_key + _EXPIRY
        held = self._expiring.get(listen_key)
        if not leaving:
            if held is None:
                fanout.add(self, expiry, _expiry_item(name), combined)
                self._expiring[listen_key] = name
            return
        if held != name:
            return
        fanout.remove(self, expiry, _expiry_item(name), combined)
        del self._expiring[listen_key]
        for other, other_key in self._keys.items():
            if other_key is not None and other_key.partition("@")[0] == listen_key:
                fanout.add(self, expiry, _expiry_item(other), combined)
                self._expiring[listen_key] = other
                return

    def _reroute(self, was_combined: bool) -> None:
        fanout = self._streams.fanout
        for name, key in self._keys.items():
            if key is not None and not key.endswith(_EXPIRY):
                fanout.remove(self, key, name, was_combined)
                fanout.add(self, key, name, not was_combined)
        for listen_key, name in self._expiring.items():
            fanout.remove(self, listen_key + _EXPIRY, name, was_combined)
            fanout.add(self, listen_key + _EXPIRY, name, not was_combined)

    def _cut_off(self, dropped: int) -> None:
        assert self.transport is not None
        streams = self._streams
        held = streams.log_budget.allow("slow consumer", streams.clock.now_ms())
        if held is not None:
            log.warning(
                "%s: closing %s: %d bytes unsent, %d more to send (limit %d): %s%s",
                streams.market.value, self.peer, self.unsent_bytes(), dropped,  # what the bound weighed
                self.limits_config.send_buffer_bytes, CLOSE_SLOW_CONSUMER.reason, held_note(held),
                extra={
                    "market": streams.market.value, "connection": self.id, "peer": self.peer,
                    "code": CLOSE_SLOW_CONSUMER.code, "reason": CLOSE_SLOW_CONSUMER.reason,
                },
            )  # fmt: skip
        self.closing = True
        self.counters.slow_consumer += 1
        if self.traffic is not None:
            self.traffic.closed(streams.clock.now_ms(), self.surface, CLOSE_SLOW_CONSUMER, self.peer)
        self.pending.clear()
        self.held.clear()  # dropped: what it holds passed the bound
        self._held_bytes = 0
        self._route_names((), list(self._keys))  # it stops receiving data at once
        self.transport.send_close(WSCloseCode(CLOSE_SLOW_CONSUMER.code), CLOSE_SLOW_CONSUMER.reason.encode())
        self.abort_later()  # closed at the client's close frame, or aborted (``connection.py``)
        self.report_unsent(self.unsent_bytes())  # what it held is gone; what the transport holds is not
