"""Fan-out the house way (ARCHITECTURE.md, "Performance rules"):

- a payload's frame is built once per message, the combined wrapper once per stream name,
  and the same bytes object is queued to every subscriber;
- routing is a dict lookup by canonical stream name: no work for streams a connection
  does not hold;
- everything queued for a connection in one loop iteration goes out in one write;
- a connection whose unsent bytes pass its bound is cut off, never waited for.

"The end of the loop iteration" is whatever the injected ``schedule`` runs next: the
server passes ``loop.call_soon``; a unit test passes its own and flushes by hand.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

import msgspec

from tickerplant.bus import StreamMessage
from tickerplant.market.demand import Subscribed
from tickerplant.protocol.user_streams import is_listen_key_item, listen_key_item

__all__ = ["FanOut", "Schedule", "Subscriber", "control_frame", "text_frame"]


def text_frame(payload: bytes) -> bytes:
    """An unmasked, final text frame (RFC 6455 §5.2): servers never mask, so the bytes are
    the same for every client."""
    return _frame(0x81, payload)


def control_frame(opcode: int, payload: bytes = b"") -> bytes:
    return _frame(0x80 | opcode, payload[:125])  # control payloads are ≤ 125 bytes (§5.5)


def _frame(first: int, payload: bytes) -> bytes:
    size = len(payload)
    if size < 126:
        return bytes((first, size)) + payload
    if size < 65536:
        return bytes((first, 126)) + size.to_bytes(2, "big") + payload
    return bytes((first, 127)) + size.to_bytes(8, "big") + payload


# A text frame's head for a payload of 126-65535 bytes (RFC 6455 §5.2: 126, then the size
# in 16 bits): most combined frames. Built by ``publish`` around the wrapper's parts in one
# join, instead of the wrapped payload copied first and the frame second.
_TEXT_HEAD_16 = struct.Struct(">BBH").pack
_TEXT = 0x81


def combined_prefix(name: str) -> bytes:
    return b'{"stream":' + msgspec.json.encode(name) + b',"data":'


Schedule = Callable[[Callable[[], None]], object]  # run this callback soon, in order (call_soon)


class Subscriber(Protocol):
    """A connection as the fan-out sees it: what waits for its next write."""

    pending: list[bytes]

    def flush(self) -> None: ...


class _Route:
    """One framing of one stream: the frames it got this iteration and who receives them."""

    __slots__ = ("frames", "in_order", "prefix", "sent", "subscribers")

    def __init__(self, prefix: bytes | None, sent: list[int], in_order: bool = False) -> None:
        self.prefix = prefix  # the combined wrapper's head, or None for raw payloads
        self.sent = sent  # its stream's [frames, bytes] queued to connections, shared by its framings
        self.frames: list[bytes] = []
        self.subscribers: dict[Subscriber, int] = {}  # connection -> how many of its names map here
        # a user data name: each frame onto its connections at once, in the order published
        # (``FanOut.publish``), never joined per stream at the flush
        self.in_order = in_order


class FanOut:
    """The routing table of one listener and the per-iteration flush of its connections.

    A message costs the same whatever the number of subscribers: ``publish`` appends its
    frame to each framing of its stream (raw, and combined once per subscribed name). At
    the end of the loop iteration each route joins its frames once and hands the same
    bytes object to every subscriber, and each connection gets one write.
    """

    def __init__(self, schedule: Schedule, demand: Subscribed | None = None) -> None:
        self._schedule = schedule  # runs the flush at the end of this loop iteration
        # the process' plants write only what some listener routes (market/demand.py): a
        # name is held there while this table has a route for it
        self._demand = demand
        self._routes: dict[str, list[_Route]] = {}  # canonical stream -> its framings
        self._dirty_routes: list[_Route] = []
        self._dirty: list[Subscriber] = []
        self._flush_scheduled = False
        # canonical stream -> [frames, bytes] queued to connections, ever: counted per route
        # per flush, not per message (the metrics read it); bounded by the market streams that
        # exist. A user data name (a listen key's, which any client may make up: part 4 §2.5)
        # leaves it with its last route, its counts added to ``retired``
        self.sent: dict[str, list[int]] = {}
        self.retired = [0, 0]  # [frames, bytes] of the user data names no longer routed
        # listen key -> its names (``<key>``, ``<key>@<event>``) some connection holds: a key in
        # use, which the user data drain writes events for (``UserData.drain``)
        self._keys: dict[str, int] = {}

    def subscriptions(self) -> dict[str, int]:
        """Canonical stream -> how many connections hold it (read by the metrics, not hot)."""
        return {key: sum(len(route.subscribers) for route in routes) for key, routes in self._routes.items()}

    def add(self, subscriber: Subscriber, key: str, name: str, combined: bool) -> None:
        prefix = combined_prefix(name) if combined else None
        routes = self._routes.get(key)
        if routes is None:
            routes = self._routes[key] = []
            if self._demand is not None:
                self._demand.hold(key)
            if (item := listen_key_item(key)) is not None:
                self._keys[item[0]] = self._keys.get(item[0], 0) + 1
        for route in routes:
            if route.prefix == prefix:
                break
        else:
            route = _Route(prefix, self.sent.setdefault(key, [0, 0]), is_listen_key_item(key))
            routes.append(route)
        route.subscribers[subscriber] = route.subscribers.get(subscriber, 0) + 1

    def remove(self, subscriber: Subscriber, key: str, name: str, combined: bool) -> None:
        prefix = combined_prefix(name) if combined else None
        routes = self._routes.get(key, [])
        for route in routes:
            if route.prefix == prefix and subscriber in route.subscribers:
                if route.subscribers[subscriber] > 1:
                    route.subscribers[subscriber] -= 1
                    return
                del route.subscribers[subscriber]
                if not route.subscribers:
                    routes.remove(route)
                    if not routes:
                        del self._routes[key]
                        if self._demand is not None:
                            self._demand.release(key)
                        if (item := listen_key_item(key)) is not None:
                            self._retire(key)
                            self._let_go(item[0])
                return

    def holds_key(self, listen_key: str) -> bool:
        """Whether a connection holds one of ``listen_key``'s names (a key in use)."""
        return listen_key in self._keys

    def _let_go(self, listen_key: str) -> None:
        held = self._keys[listen_key] - 1
        if held:
            self._keys[listen_key] = held
        else:
            del self._keys[listen_key]

    def _retire(self, key: str) -> None:
        """A user data name's counts into ``retired``, its entry gone."""
        frames, size = self.sent.pop(key, (0, 0))
        self.retired[0] += frames
        self.retired[1] += size

    def carries(self, stream: str) -> bool:
        """Whether a connection holds ``stream`` (canonical)."""
        return stream in self._routes

    def publish(self, messages: Sequence[StreamMessage]) -> None:
        """Queue each message on its routes; the flush follows in this iteration. A user
        data name's frame goes onto its connections at once (``_Route.in_order``): one
        command's events, of which a connection may hold two names
        (``<key>@ORDER_TRADE_UPDATE``, ``<key>@ACCOUNT_UPDATE``), reach it in the order they
        were made (part 4 §4.3), where the flush's joins per stream handed one name's
        before the other's."""
        routes_of = self._routes
        dirty_routes = self._dirty_routes
        join, head_16 = b"".join, _TEXT_HEAD_16
        for stream, payload in messages:
            routes = routes_of.get(stream)
            if routes is None:
                continue
            for route in routes:
                frames = route.frames
                prefix = route.prefix
                if prefix is None:
                    frame = text_frame(payload)
                elif 125 < (size := len(prefix) + len(payload) + 1) < 65536:
                    frame = join((head_16(_TEXT, 126, size), prefix, payload, b"}"))
                else:
                    frame = text_frame(prefix + payload + b"}")
                if route.in_order:
                    _hand(route, self._dirty, [frame])
                    continue
                if not frames:
                    dirty_routes.append(route)
                frames.append(frame)
        if (dirty_routes or self._dirty) and not self._flush_scheduled:
            self._flush_scheduled = True
            self._schedule(self._flush)

    def queue(self, subscriber: Subscriber, frame: bytes) -> None:
        """Queue a frame for one connection (replies, pings): it goes out before the data
        of this iteration, so a SUBSCRIBE's reply precedes its first event."""
        if not subscriber.pending:
            self._dirty.append(subscriber)
        subscriber.pending.append(frame)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._schedule(self._flush)

    def flush_now(self) -> None:
        """Queue what this iteration published to its connections now, not at its end (what
        must reach a connection's queue before it is closed)."""
        if self._flush_scheduled:
            self._flush()

    def flush_streams(self, streams: Iterable[str]) -> None:
        """Write what this iteration published on ``streams`` now, to their connections only
        (a user's events, beside the answers of the commit that made them); the rest waits
        for the iteration's end."""
        now: dict[Subscriber, None] = {}  # each once, in order
        for stream in streams:
            for route in self._routes.get(stream, ()):
                if route.frames:  # the flush passes over it, emptied
                    _hand(route, [])
                    now.update(dict.fromkeys(route.subscribers))
                elif route.in_order:  # handed as published: what its connections hold, now
                    now.update(dict.fromkeys(route.subscribers))
        for subscriber in now:
            subscriber.flush()  # it may be flushed again at the end: with nothing, nothing

    def _flush(self) -> None:
        self._flush_scheduled = False
        dirty = self._dirty
        dirty_routes, self._dirty_routes = self._dirty_routes, []
        for route in dirty_routes:
            if route.frames:
                _hand(route, dirty)
        self._dirty = []
        for subscriber in dirty:
            subscriber.flush()


def _hand(route: _Route, dirty: list[Subscriber], frames: list[bytes] | None = None) -> None:
    """``route``'s frames (or ``frames``), joined once, onto each subscriber's pending bytes
    (those that had none into ``dirty``); the route emptied."""
    if frames is None:
        frames = route.frames
    data = frames[0] if len(frames) == 1 else b"".join(frames)
    subscribers = route.subscribers
    sent, receivers = route.sent, len(subscribers)
    sent[0] += len(frames) * receivers
    sent[1] += len(data) * receivers
    frames.clear()
    for subscriber, count in subscribers.items():
        pending = subscriber.pending
        if not pending:
            dirty.append(subscriber)
        pending.append(data)
        if count > 1:
            pending.extend([data] * (count - 1))
