"""What every WebSocket connection of the gateway shares: the documented keep-alive and
lifetime rules (spec §2.4, §5.1), driven by ``protocol.limits.ConnectionLimits``, and an
orderly close that never waits for a client that does not read."""

from __future__ import annotations

import asyncio

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport

from tickerplant.clock import Clock
from tickerplant.config import FaultsConfig, LimitsConfig
from tickerplant.gateway.fanout import control_frame
from tickerplant.protocol.errors import CloseReason
from tickerplant.protocol.limits import ConnectionLimits

__all__ = ["KeptAliveConnection"]

PING, PONG = 0x9, 0xA


class KeptAliveConnection(WSListener):
    """A picows listener with Binance's ping, pong and age rules.

    Subclasses handle text frames (``on_text``) and say how a control frame is queued
    (``send_frame``), so pings stay in order with their data.
    """

    def __init__(
        self, clock: Clock, limits: LimitsConfig, *, count_rate: bool, faults: FaultsConfig | None = None
    ) -> None:
        self.clock = clock
        self.limits_config = limits
        self.faults = faults or FaultsConfig()
        self.stalled = False  # an injected fault: the connection has gone silent
        self.peer = "?"
        self.closing = False
        self.transport: WSTransport | None = None
        self._count_rate = count_rate  # market streams count every frame toward 10/s (§2.5)
        self._limits: ConnectionLimits | None = None
        self._timer: asyncio.TimerHandle | None = None

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
        self._limits = ConnectionLimits(self.limits_config, self.clock.now_ms())
        self._arm_timer()
        loop = asyncio.get_running_loop()
        if self.faults.drop_after_s is not None:
            loop.call_later(self.faults.drop_after_s, transport.disconnect, False)
        if self.faults.stall_after_s is not None:
            loop.call_later(self.faults.stall_after_s, self._stall)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if self.closing or self.stalled:
            return
        limits = self._limits
        assert limits is not None
        msg_type = frame.msg_type
        if msg_type is WSMsgType.CLOSE:
            self.closing = True
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()
            return
        if msg_type is WSMsgType.CONTINUATION:
            return  # no request needs fragments, and Binance sends none
        now_ms = self.clock.now_ms()
        if self._count_rate:
            breach = limits.on_incoming(now_ms)
            if breach is not None:
                self.close(breach)
                return
        if msg_type is WSMsgType.PING:
            self.send_frame(control_frame(PONG, frame.get_payload_as_bytes()))
        elif msg_type is WSMsgType.PONG:
            limits.on_pong(now_ms)  # any pong, solicited or not, whatever its payload
        else:
            self.on_text(frame.get_payload_as_bytes(), now_ms)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.closing = True
        if self._timer is not None:
            self._timer.cancel()
        self.on_closed()

    # -- closing ---------------------------------------------------------------------

    def close(self, reason: CloseReason) -> None:
        """Send the close frame after what is already queued, then hang up."""
        if self.closing or self.transport is None:
            return
        self.closing = True
        self.transport.send_close(WSCloseCode(reason.code), reason.reason.encode())
        self.transport.disconnect()
        self.abort_later()

    def abort_later(self) -> None:
        # A client that does not read never takes the close frame; do not wait for it.
        transport = self.transport
        assert transport is not None
        asyncio.get_running_loop().call_later(
            self.limits_config.slow_close_grace_s, transport.disconnect, False
        )

    # -- keep-alive --------------------------------------------------------------------

    def _arm_timer(self) -> None:
        assert self._limits is not None
        delay_s = max(0.0, (self._limits.next_deadline_ms - self.clock.now_ms()) / 1000)
        self._timer = asyncio.get_running_loop().call_later(delay_s, self._on_timer)

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
