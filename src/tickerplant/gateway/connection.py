"""What every WebSocket connection of the gateway shares: the documented keep-alive and
lifetime rules (spec §2.4, §5.1), driven by ``protocol.limits.ConnectionLimits``, and an
orderly close that never waits for a client that does not read.

Every timer here (the next ping or deadline, the injected faults, the close timeout) goes
through the injected ``Clock``: a test moves a ``ManualClock`` and the connection pings,
closes or breaks at once, over a real socket.

Closing: the close frame goes after what is already queued, and the server waits for the
client's own close frame before it closes the socket (RFC 6455 §5.5.1, §7.1.1), reading and
dropping whatever the client sent meanwhile. A socket closed while the client's frames sit
unread in it is reset by the kernel, and a reset makes the client's kernel drop what it had
not read yet: the replies before the close and the close frame itself (a client that sent 15
requests at once got none of the ten answers and a 1006 instead of 1008 "Too many
requests", which Binance's close of the same leaves it, spec §2.5). The server waits as long
as the client keeps reading: each ``close_timeout_s`` it looks whether the unsent bytes went
down, and aborts a client that took nothing of them in that time, or took everything and
sent no close frame. What it holds meanwhile only shrinks.
"""

from __future__ import annotations

import functools
import itertools
import logging
from typing import cast

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport

from tickerplant.clock import Clock, Timer
from tickerplant.config import FaultsConfig, LimitsConfig
from tickerplant.gateway.fanout import control_frame
from tickerplant.gateway.log_budget import LogBudget, held_note
from tickerplant.gateway.message_assembly import CLOSE_RESERVED_BITS, MessageAssembly
from tickerplant.gateway.send_budget import SendBudget
from tickerplant.gateway.traffic import Traffic
from tickerplant.protocol.errors import CLOSE_SHED, CLOSE_TOO_MANY_REQUESTS, CloseReason
from tickerplant.protocol.limits import ConnectionLimits, ConnectionRules, LimitCounters

__all__ = ["KeptAliveConnection", "connection_rules"]

PING, PONG = 0x9, 0xA
_ids = itertools.count(1)  # connection ids, for the log's structured fields
log = logging.getLogger("tickerplant")
# a client that sends too fast is told so by its close alone (1008), which a library may
# swallow (Binance's SDK gathering 11 subscriptions goes silent): the log says it, bounded
_RATE_LOG = LogBudget()


def connection_rules(limits: LimitsConfig) -> ConnectionRules:
    """The configuration's limits (seconds, as the CLI and TOML take them) as the core's
    rules (milliseconds)."""
    return ConnectionRules(
        ping_interval_ms=_ms(limits.ping_interval_s),
        pong_timeout_ms=_ms(limits.pong_timeout_s),
        max_age_ms=_ms(limits.max_connection_age_s),
        max_incoming_rate=limits.max_incoming_rate,
    )


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


class KeptAliveConnection(WSListener):
    """A picows listener with Binance's ping, pong and age rules.

    Subclasses handle text frames (``on_text``) and say how a control frame is queued
    (``send_frame``), so pings stay in order with their data.
    """

    # Slots, not an instance dict: on a subclass of picows' extension type, an attribute
    # in a __dict__ is looked up the generic way (~26 ns against ~6 ns for a slot), and the
    # per-frame paths (a request, the fan-out's flush) read a dozen of them.
    __slots__ = (
        "_close_timer", "_count_rate", "_limits", "_messages", "_reported", "_timer", "_timers", "budget",
        "clock", "closing", "counters", "faults", "id", "limits_config", "peer", "stalled", "traffic",
        "transport",
    )  # fmt: skip

    surface = "streams"  # the metrics' surface label: "streams" or "ws_api"

    def __init__(
        self,
        clock: Clock,
        limits: LimitsConfig,
        *,
        count_rate: bool,
        faults: FaultsConfig | None = None,
        counters: LimitCounters | None = None,
        traffic: Traffic | None = None,
        budget: SendBudget | None = None,
    ) -> None:
        """``budget``: the process' unsent bytes, which this connection reports to after
        each write and which may shed it (``send_budget``)."""
        self.clock = clock
        self.budget = budget
        self._reported = False  # held unsent bytes at its last report to the budget
        self.counters = counters or LimitCounters()  # the listener's: each limit's closes
        self.traffic = traffic  # the listener's: connections accepted, closes sent
        self.id = next(_ids)  # this process' number for the connection, in its log records
        self.limits_config = limits
        self.faults = faults or FaultsConfig()
        self.stalled = False  # an injected fault: the connection has gone silent
        self.peer = "?"
        self.closing = False
        self.transport: WSTransport | None = None
        self._count_rate = count_rate  # market streams count every frame toward 10/s (§2.5)
        self._limits: ConnectionLimits | None = None
        self._messages = MessageAssembly()  # fragments, continuation and UTF-8 (RFC 6455 §5.4, §8.1)
        self._timer: Timer | None = None  # the keep-alive core's next deadline
        self._timers: list[Timer] = []  # one-shot: faults
        self._close_timer: Timer | None = None  # the close timeout's next look

    # -- subclass hooks --------------------------------------------------------------

    def on_text(self, payload: bytes, now_ms: int) -> None:
        raise NotImplementedError

    def send_frame(self, frame: bytes) -> None:
        assert self.transport is not None
        if not self.stalled:
            self.transport.underlying_transport.write(frame)

    def on_closed(self) -> None:
        """The connection is gone; release what it held."""

    # -- picows callbacks ------------------------------------------------------------

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        peer = transport.underlying_transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else "?"
        if self.traffic is not None:
            self.traffic.accepted[self.surface] += 1
        clock = self.clock
        now_ms = clock.now_ms()
        self._limits = ConnectionLimits(connection_rules(self.limits_config), now_ms)
        self._arm_timer()
        faults = self.faults
        if faults.drop_after_s is not None:
            drop = functools.partial(transport.disconnect, False)
            self._timers.append(clock.call_at(now_ms + _ms(faults.drop_after_s), drop))
        if faults.stall_after_s is not None:
            self._timers.append(clock.call_at(now_ms + _ms(faults.stall_after_s), self._stall))

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if self.closing or self.stalled:
            if frame.msg_type is WSMsgType.CLOSE and transport.is_close_frame_sent:
                transport.disconnect()  # the client's answer to ours: the close is done
            return
        if transport.is_close_frame_sent:
            # picows reads one frame ahead: when the next frame breaks the protocol it sends
            # its close (1002, 1009) first and hands this frame over after. Nothing may
            # follow a close frame (RFC 6455 §5.5.1): this one goes unanswered.
            self.closing = True
            return
        limits = self._limits
        assert limits is not None
        if frame.rsv1 or frame.rsv2 or frame.rsv3:
            self.close(CLOSE_RESERVED_BITS)  # no extension was negotiated (RFC 6455 §5.2)
            return
        msg_type = frame.msg_type
        if msg_type is WSMsgType.CLOSE:
            self.closing = True
            if frame.payload_size >= 2:
                transport.send_close(frame.get_close_code(), frame.get_close_message())  # echoed (§5.5.1)
            else:
                # No status code to echo: 1000, since 1005 "no status" (what picows would
                # echo) must never be sent (RFC 6455 §7.4.1). Through send_close, so that
                # picows knows a close went and sends nothing after it.
                transport.send_close(WSCloseCode.OK)
            transport.disconnect()
            return
        now_ms = self.clock.now_ms()
        # Every frame counts toward the rate (§2.5), each fragment of a message too: a
        # message in many fragments costs as many frames.
        if self._count_rate:
            breach = limits.on_incoming(now_ms)
            if breach is not None:
                self.close(breach)
                return
        if msg_type is WSMsgType.PING or msg_type is WSMsgType.PONG:
            # the WebSocket API counts its pings and pongs alone, 5 a second (part 1 §8.2)
            breach = None if self._count_rate else limits.on_control(now_ms)
            if breach is not None:
                self.close(breach)
            elif msg_type is WSMsgType.PING:
                self.send_frame(control_frame(PONG, frame.get_payload_as_bytes()))
            else:
                limits.on_pong(now_ms)  # any pong, solicited or not, whatever its payload
        else:
            messages = self._messages
            payload = frame.get_payload_as_bytes()
            if msg_type is WSMsgType.TEXT and frame.fin and not messages.fragments and payload.isascii():
                # a whole ASCII text message (nearly every request): nothing to assemble or
                # check, and MessageAssembly would say so after two calls
                self.on_text(payload, now_ms)
                return
            message = messages.receive(msg_type, bool(frame.fin), payload)
            if isinstance(message, bytes):
                self.on_text(message, now_ms)
            elif message is not None:
                self.close(message)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self._reported and self.budget is not None:
            self.budget.forget(self)
        self.closing = True
        if self._timer is not None:
            self._timer.cancel()
        for timer in self._timers:
            timer.cancel()
        if self._close_timer is not None:
            self._close_timer.cancel()
        self.on_closed()

    # -- the process' unsent bytes ---------------------------------------------------

    def report_unsent(self, unsent: int) -> None:
        """After a write: tell the budget what the transport holds, and shed the
        connections it names (``send_budget``); nothing while nothing is held."""
        budget = self.budget
        if budget is None or not (unsent or self._reported):
            return
        self._reported = unsent > 0
        for connection in budget.report(self, unsent):
            cast(KeptAliveConnection, connection).shed()

    def shed(self) -> None:
        """The process holds too many unsent bytes and this connection among the most: it
        is aborted at once, its buffer dropped (no close frame; it would wait behind what
        the client has not read)."""
        self._reported = False  # the budget forgot it when it named it
        transport = self.transport
        if transport is None:
            return
        self.counters.memory_shed += 1
        if not self.closing:
            self.closing = True
            if self.traffic is not None:
                self.traffic.closed(self.clock.now_ms(), self.surface, CLOSE_SHED, self.peer)
        self.on_shed()
        transport.disconnect(False)

    def on_shed(self) -> None:
        """Subclass hook: stop queueing for a connection being shed."""

    # -- closing ---------------------------------------------------------------------

    def close(self, reason: CloseReason) -> None:
        """Send the close frame after what is already queued, then hang up."""
        if self.closing or self.transport is None:
            return
        self.closing = True
        self.counters.closed(reason)
        now_ms = self.clock.now_ms()
        if self.traffic is not None:
            self.traffic.closed(now_ms, self.surface, reason, self.peer)
        held = _RATE_LOG.allow("too many requests", now_ms) if reason is CLOSE_TOO_MANY_REQUESTS else None
        if held is not None:
            log.warning(
                "%s: a %s connection sent more than %d messages in a second: closed 1008 Too many "
                "requests (Binance's limit, spec §2.5; --max-incoming-rate)%s",
                self.peer, self.surface, self.limits_config.max_incoming_rate, held_note(held),
            )  # fmt: skip
        self.transport.send_close(WSCloseCode(reason.code), reason.reason.encode())
        self.abort_later()  # the socket closed at the client's close frame (see the module's text)

    def cut(self) -> None:
        """Hang up without a close frame, as a connection lost (a fault profile's drops)."""
        if self.transport is not None and not self.closing:
            self.closing = True
            self.transport.disconnect(False)

    def abort_later(self) -> None:
        """Wait for the client to take what is queued, the close frame last, as long as it
        takes some of it every ``close_timeout_s``, and then for its close frame; abort it
        when it takes none: a client that does not read never takes the close frame, and is
        not waited for."""
        self._look_again(self.unsent_bytes())

    def unsent_bytes(self) -> int:
        """Bytes written to this connection and not yet taken by the kernel."""
        transport = self.transport
        assert transport is not None
        return int(transport.underlying_transport.get_write_buffer_size())

    def _look_again(self, unsent: int) -> None:
        when_ms = self.clock.now_ms() + _ms(self.limits_config.close_timeout_s)
        self._close_timer = self.clock.call_at(when_ms, functools.partial(self._close_due, unsent))

    def _close_due(self, unsent_before: int) -> None:
        unsent = self.unsent_bytes()
        if unsent < unsent_before:  # it is reading (or took the last): wait on, for its close frame
            self._look_again(unsent)
            return
        assert self.transport is not None
        if unsent:
            self.counters.close_timeout += 1  # aborted with its close frame untaken
        self.transport.disconnect(False)

    # -- keep-alive --------------------------------------------------------------------

    def _arm_timer(self) -> None:
        assert self._limits is not None
        self._timer = self.clock.call_at(self._limits.next_deadline_ms, self._on_timer)

    def _stall(self) -> None:
        self.stalled = True

    def _on_timer(self) -> None:
        if self.closing or self._limits is None:
            return
        if self.stalled:
            return  # a hung server neither pings nor closes
        now_ms = self.clock.now_ms()
        due = self._limits.poll(now_ms)
        if due.close is not None:
            self.close(due.close)
            return
        if due.send_ping:
            # The live service's ping payload is the epoch milliseconds (spec §2.4).
            self.send_frame(control_frame(PING, str(now_ms).encode()))
        self._arm_timer()
