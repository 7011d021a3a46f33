"""Market-stream connections: picows callbacks glued to the sans-I/O cores.

Each connection owns a ``SubscriptionSession`` (what it asked for) and ``ConnectionLimits``
(ping, pong, age, rate). ``MarketStreams`` owns the listener-wide part: which names
deliver (``protocol.streams.resolve``) and the ``FanOut`` routing table.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport

from tickerplant.clock import Clock
from tickerplant.config import LimitsConfig
from tickerplant.gateway.fanout import FanOut, control_frame, text_frame
from tickerplant.market.instruments import Instrument, Market
from tickerplant.protocol.errors import CLOSE_SLOW_CONSUMER, CloseReason
from tickerplant.protocol.limits import ConnectionLimits
from tickerplant.protocol.streams import Route, resolve
from tickerplant.protocol.subscriptions import SubscriptionSession
from tickerplant.protocol.urls import StreamUrl

__all__ = ["MarketStreams", "StreamConnection"]

log = logging.getLogger("tickerplant.streams")

_PING, _PONG = 0x9, 0xA


class MarketStreams:
    """The market-stream surface of one listener."""

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
    ) -> None:
        self.market = market
        self.fanout = fanout
        self.clock = clock
        self.limits = limits
        self.strict_routing = strict_routing and market is Market.UM
        self.lenient_case = lenient_case
        self._symbols = {inst.symbol.lower(): inst for inst in instruments.values()}
        self.connections: set[StreamConnection] = set()

    def connection(self, url: StreamUrl) -> StreamConnection:
        return StreamConnection(self, url)

    def delivery_key(self, name: str, route: Route, peer: str) -> str | None:
        resolution = resolve(
            name,
            self._symbols,
            route,
            strict_routing=self.strict_routing,
            lenient_case=self.lenient_case,
        )
        if resolution.why_silent is not None:
            log.warning(
                "%s: %s subscribed %r, which will never deliver: %s",
                self.market.value, peer, name, resolution.why_silent,
            )  # fmt: skip
        return resolution.key


class StreamConnection(WSListener):
    """One market-stream WebSocket connection."""

    def __init__(self, streams: MarketStreams, url: StreamUrl) -> None:
        self.pending: list[bytes] = []
        self._streams = streams
        self._route = url.route
        self._peer = "?"
        self._session = SubscriptionSession(
            url.names, combined=url.combined, max_streams=streams.limits.max_streams
        )
        self._keys: dict[str, str | None] = {}  # subscribed name -> delivery key
        self._closing = False
        self._transport: WSTransport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._limits: ConnectionLimits | None = None

    # -- picows callbacks ------------------------------------------------------------

    def on_ws_connected(self, transport: WSTransport) -> None:
        self._transport = transport
        peer = transport.underlying_transport.get_extra_info("peername")
        self._peer = f"{peer[0]}:{peer[1]}" if peer else "?"
        streams = self._streams
        streams.connections.add(self)
        self._limits = ConnectionLimits(streams.limits, streams.clock.now_ms())
        self._route_names(self._session.names, ())
        self._arm_timer()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if self._closing:
            return
        limits = self._limits
        assert limits is not None
        msg_type = frame.msg_type
        if msg_type is WSMsgType.CLOSE:
            self.pending.clear()
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            self._closing = True
            transport.disconnect()
            return
        if msg_type is WSMsgType.CONTINUATION:
            return  # fragments of a control message are never needed; Binance sends none
        now_ms = self._streams.clock.now_ms()
        breach = limits.on_incoming(now_ms)
        if breach is not None:
            self.close(breach)
            return
        if msg_type is WSMsgType.PING:
            self._streams.fanout.queue(self, control_frame(_PONG, frame.get_payload_as_bytes()))
        elif msg_type is WSMsgType.PONG:
            limits.on_pong(now_ms)
        else:
            self._control(frame.get_payload_as_bytes())

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self._closing = True
        self.pending.clear()
        if self._timer is not None:
            self._timer.cancel()
        self._route_names((), self._session.names)
        self._streams.connections.discard(self)

    # -- the fan-out's side ----------------------------------------------------------

    def flush(self) -> None:
        pending = self.pending
        if not pending or self._closing or self._transport is None:
            pending.clear()
            return
        raw = self._transport.underlying_transport
        raw.write(pending[0] if len(pending) == 1 else b"".join(pending))
        pending.clear()
        if raw.get_write_buffer_size() > self._streams.limits.send_buffer_bytes:
            self._cut_off()

    def close(self, reason: CloseReason) -> None:
        """Send what is queued, then the close frame, then hang up."""
        if self._closing or self._transport is None:
            return
        self.flush()
        if self._closing:  # the flush found a slow consumer and cut it off
            return
        self._closing = True
        self._transport.send_close(WSCloseCode(reason.code), reason.reason.encode())
        self._transport.disconnect()
        self._abort_later()

    # -- internals -------------------------------------------------------------------

    def _control(self, payload: bytes) -> None:
        session = self._session
        was_combined = session.combined
        outcome = session.receive(payload)
        if outcome.reply is not None:
            self._streams.fanout.queue(self, text_frame(outcome.reply))
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
                fanout.remove(self, key, name, combined)
        for name in added:
            key = streams.delivery_key(name, self._route, self._peer)
            self._keys[name] = key
            if key is not None:
                fanout.add(self, key, name, combined)

    def _reroute(self, was_combined: bool) -> None:
        fanout = self._streams.fanout
        for name, key in self._keys.items():
            if key is not None:
                fanout.remove(self, key, name, was_combined)
                fanout.add(self, key, name, not was_combined)

    def _arm_timer(self) -> None:
        assert self._limits is not None
        streams = self._streams
        delay_s = max(0.0, (self._limits.next_deadline_ms - streams.clock.now_ms()) / 1000)
        self._timer = asyncio.get_running_loop().call_later(delay_s, self._on_timer)

    def _on_timer(self) -> None:
        if self._closing or self._limits is None:
            return
        now_ms = self._streams.clock.now_ms()
        due = self._limits.poll(now_ms)
        if due.close is not None:
            self.close(due.close)
            return
        if due.send_ping:
            # The live service's ping payload is the epoch milliseconds (spec §2.4).
            self._streams.fanout.queue(self, control_frame(_PING, str(now_ms).encode()))
        self._arm_timer()

    def _cut_off(self) -> None:
        assert self._transport is not None
        log.warning(
            "%s: closing %s: %d bytes unsent (limit %d): %s",
            self._streams.market.value, self._peer,
            self._transport.underlying_transport.get_write_buffer_size(),
            self._streams.limits.send_buffer_bytes, CLOSE_SLOW_CONSUMER.reason,
        )  # fmt: skip
        self._closing = True
        self.pending.clear()
        self._transport.send_close(WSCloseCode(CLOSE_SLOW_CONSUMER.code), CLOSE_SLOW_CONSUMER.reason.encode())
        self._transport.disconnect()
        self._abort_later()

    def _abort_later(self) -> None:
        # A client that does not read never takes the close frame; do not wait for it.
        transport = self._transport
        assert transport is not None
        asyncio.get_running_loop().call_later(
            self._streams.limits.slow_close_grace_s, transport.disconnect, False
        )
