"""WebSocket API connections (`/ws-fapi/v1`, `/ws-dapi/v1`): each text frame is one request,
answered at once by ``protocol.ws_api.WsApi`` (under ``--workers``, a trading method when
the plant's reply comes); ping, pong and age as for streams (§5.1)."""

from __future__ import annotations

import functools
import struct

import msgspec
from picows import WSFrame, WSMsgType, WSTransport

from tickerplant.clock import Clock, LagProbe
from tickerplant.config import FaultsConfig, LimitsConfig
from tickerplant.gateway.connection import KeptAliveConnection
from tickerplant.gateway.send_budget import SendBudget
from tickerplant.gateway.traffic import RequestTally, Traffic
from tickerplant.protocol.errors import CLOSE_CUT, CLOSE_SLOW_CONSUMER
from tickerplant.protocol.limits import LimitCounters
from tickerplant.protocol.ws_api import AwaitedReply, WsApi, WsApiReply, WsSession

__all__ = ["WsApiConnection"]


_TEXT = WSMsgType.TEXT
_HEADER_16 = struct.Struct(">BBH").pack  # FIN and text, 126, a 16-bit length
_HEADER_64 = struct.Struct(">BBQ").pack  # FIN and text, 127, a 64-bit length


def _text_header(size: int) -> bytes:
    """An unmasked, final text frame's header for a payload of ``size`` bytes (RFC 6455
    §5.2), the header picows writes."""
    if size < 126:
        return bytes((0x81, size))
    if size < 65536:
        return _HEADER_16(0x81, 126, size)
    return _HEADER_64(0x81, 127, size)


class WsApiConnection(KeptAliveConnection):
    __slots__ = (
        "_answered", "_api", "_ip", "_rate_limits_default", "_registry", "_send_bound", "_session",
        "_signed_lag",
    )  # fmt: skip

    surface = "ws_api"

    def __init__(
        self,
        api: WsApi,
        clock: Clock,
        limits: LimitsConfig,
        registry: set[WsApiConnection],
        *,
        rate_limits_default: bool,
        faults: FaultsConfig | None = None,
        counters: LimitCounters | None = None,
        traffic: Traffic | None = None,
        budget: SendBudget | None = None,
        signed_lag: LagProbe | None = None,
    ) -> None:
        """``signed_lag``: told the ``timestamp`` of every request that carries one (the
        client's clock when it signed, trading part 1 §8.5), ``tickerplant run``'s bot's."""
        # Requests are limited by weight, not by the streams' 10 messages a second.
        super().__init__(
            clock, limits, count_rate=False, faults=faults, counters=counters, traffic=traffic, budget=budget
        )
        self._api = api
        self._registry = registry
        self._rate_limits_default = rate_limits_default
        self._ip = "?"
        self._send_bound = limits.send_buffer_bytes  # unsent bytes a client may leave (unsent_bytes)
        # the listener's tallies of this connection's answered (200) requests, by method: a
        # request's is found without making the (surface, method, status) key
        self._answered: dict[str, RequestTally] = {}
        # the key session.logon put on this connection, and when it opened (trading part 1 §8.6)
        self._session = WsSession(clock.now_ms())
        self._signed_lag = signed_lag

    def on_ws_connected(self, transport: WSTransport) -> None:
        super().on_ws_connected(transport)
        self._ip = self.peer.rpartition(":")[0]  # weight is counted per IP (§5.5)
        self._registry.add(self)

    def on_closed(self) -> None:
        self._registry.discard(self)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        # Nearly every frame is a request: a whole text frame, no reserved bit, on a
        # connection open both ways with no message in pieces. It is answered here at once,
        # the clock read once; anything else takes the base's checks in their order.
        if (
            frame.msg_type is _TEXT
            and frame.fin
            and not (self.closing or self.stalled or self._messages.fragments)
            and not (transport.is_close_frame_sent or frame.rsv1 or frame.rsv2 or frame.rsv3)
        ):
            payload = frame.get_payload_as_bytes()
            if payload.isascii():  # else the base checks its UTF-8
                self._answer(payload, self.clock.now_ns())
                return
        super().on_ws_frame(transport, frame)

    def on_text(self, payload: bytes, now_ms: int) -> None:
        self._answer(payload, self.clock.now_ns())

    def _answer(self, payload: bytes, started_ns: int) -> None:
        if self._signed_lag is not None:
            _tell_lag(self._signed_lag, payload, started_ns // 1_000_000)
        reply = self._api.receive(
            payload, self._ip, started_ns // 1_000_000, self._rate_limits_default, self._session
        )
        if isinstance(reply, AwaitedReply):  # performed by the plant (--workers): sent when it comes
            reply.then(functools.partial(self._reply, started_ns))
            return
        self._reply(started_ns, reply)

    def _reply(self, started_ns: int, reply: WsApiReply) -> None:
        parts, close, method, status = reply
        if close is CLOSE_CUT:  # a fault profile's session drop: unanswered, no close frame
            self.cut()
            return
        traffic = self.traffic
        if traffic is not None:  # per request, by method and status (the metrics' histogram)
            elapsed_ns = self.clock.now_ns() - started_ns
            tally = self._answered.get(method) if status == 200 else None
            if tally is None:
                tally = traffic.tally("ws_api", method, status)
                if status == 200:
                    self._answered[method] = tally
            tally.observe(elapsed_ns)
        transport = self.transport
        if transport is None:
            return  # the client left while the plant performed the request
        raw = transport.underlying_transport
        # one part, or three around a depth answer's levels (WsApiReply)
        size = len(parts[0]) if len(parts) == 1 else len(parts[0]) + len(parts[1]) + len(parts[2])
        if self.stalled or self.closing:
            pass
        elif raw.get_write_buffer_size() + size > self._send_bound:
            # A client that asks and does not read: its replies would pile up in the server
            # without bound (only its request weight paces it). Cut off as a slow consumer of
            # the streams is, the reply unwritten, its close after what is queued.
            self.close(CLOSE_SLOW_CONSUMER)
            return
        elif len(parts) == 1:
            transport.send(_TEXT, parts[0])  # picows frames it in C
        else:
            # A depth answer around its levels (~42 kB at 1,000 a side, shared while the book
            # stands still): framed here and written as they are, one writev, no copy.
            head, levels, end = parts
            raw.writelines((_text_header(size) + head, levels, end))
        if self.budget is not None and not self.closing:
            self.report_unsent(raw.get_write_buffer_size())
        if close is not None:
            self.close(close)


class _Stamped(msgspec.Struct):
    timestamp: int | None = None


class _Request(msgspec.Struct):
    params: _Stamped | None = None


_read_stamp = msgspec.json.Decoder(_Request).decode


def _tell_lag(probe: LagProbe, payload: bytes, now_ms: int) -> None:
    """A request's ``params.timestamp`` to ``probe``; a request without a readable one tells
    nothing (the API answers it)."""
    try:
        params = _read_stamp(payload).params
    except msgspec.DecodeError:
        return
    if params is not None and params.timestamp is not None:
        probe.lag(params.timestamp, now_ms)
