"""WebSocket API connections (`/ws-fapi/v1`, `/ws-dapi/v1`): each text frame is one request,
answered at once by ``protocol.ws_api.WsApi``; ping, pong and age as for streams (§5.1)."""

from __future__ import annotations

from picows import WSMsgType, WSTransport

from tickerplant.clock import Clock
from tickerplant.config import FaultsConfig, LimitsConfig
from tickerplant.gateway.connection import KeptAliveConnection
from tickerplant.protocol.ws_api import WsApi

__all__ = ["WsApiConnection"]


class WsApiConnection(KeptAliveConnection):
    def __init__(
        self,
        api: WsApi,
        clock: Clock,
        limits: LimitsConfig,
        registry: set[WsApiConnection],
        *,
        rate_limits_default: bool,
        faults: FaultsConfig | None = None,
    ) -> None:
        # Requests are limited by weight, not by the streams' 10 messages a second.
        super().__init__(clock, limits, count_rate=False, faults=faults)
        self._api = api
        self._registry = registry
        self._rate_limits_default = rate_limits_default
        self._ip = "?"

    def on_ws_connected(self, transport: WSTransport) -> None:
        super().on_ws_connected(transport)
        self._ip = self.peer.rpartition(":")[0]  # weight is counted per IP (§5.5)
        self._registry.add(self)

    def on_closed(self) -> None:
        self._registry.discard(self)

    def on_text(self, payload: bytes, now_ms: int) -> None:
        reply = self._api.receive(payload, self._ip, now_ms, rate_limits_default=self._rate_limits_default)
        assert self.transport is not None
        if not self.stalled:
            self.transport.send(WSMsgType.TEXT, reply.reply)  # picows frames it in C
        if reply.close is not None:
            self.close(reply.close)
