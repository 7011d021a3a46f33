"""One listener per market: the HTTP upgrade router in front of the gateway's surfaces."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

import msgspec
from picows import (
    WSListener,
    WSUpgradeRequest,
    WSUpgradeResponse,
    WSUpgradeResponseWithListener,
    ws_create_server,
)

from tickerplant.bus import Bus
from tickerplant.clock import Clock
from tickerplant.config import ServerConfig
from tickerplant.gateway.fanout import FanOut
from tickerplant.gateway.market_streams import MarketStreams
from tickerplant.market.instruments import Instrument, Market
from tickerplant.protocol.errors import CLOSE_SHUTDOWN
from tickerplant.protocol.urls import UrlRefused, parse_stream_url

__all__ = ["Listener"]

log = logging.getLogger("tickerplant.gateway")


def _refusal(status: int, msg: str) -> WSUpgradeResponseWithListener:
    body = msgspec.json.encode({"code": -1, "msg": msg})
    response = WSUpgradeResponse.create_error_response(
        status, body, {"Content-Type": "application/json"}
    )
    return WSUpgradeResponseWithListener(response, None)


class Listener:
    """Everything one market serves on one host:port."""

    def __init__(
        self,
        market: Market,
        instruments: Mapping[str, Instrument],
        bus: Bus,
        clock: Clock,
        config: ServerConfig,
    ) -> None:
        self.market = market
        self._config = config
        self._instruments = instruments
        self._bus = bus
        self._clock = clock
        self._server: asyncio.Server | None = None
        self.streams: MarketStreams | None = None
        self.port = 0

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        fanout = FanOut(loop)
        self.streams = MarketStreams(
            self.market,
            self._instruments,
            fanout,
            self._clock,
            self._config.limits,
            strict_routing=self._config.strict_routing,
            lenient_case=self._config.lenient_case,
        )
        self._bus.subscribe(self.market, fanout.publish)
        self._server = await ws_create_server(
            self._route,
            host,
            port,
            enable_auto_pong=False,  # pings count toward the message rate (spec §2.5)
            use_aiofastnet=False,  # uvloop's own transport: measured faster for coalesced writes
            max_frame_size=1024 * 1024,
            logger_name=f"{self.market.value}",
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def _route(self, request: WSUpgradeRequest) -> WSListener | WSUpgradeResponseWithListener | None:
        assert self.streams is not None
        target = request.path.decode("utf-8", errors="replace")
        routed = self.market is Market.UM or not self._config.strict_routing
        url = parse_stream_url(target, routed=routed)
        if isinstance(url, UrlRefused):
            return _refusal(url.status, url.reason)
        if url is not None:
            if len(dict.fromkeys(url.names)) > self._config.limits.max_streams:
                return _refusal(400, "Too many subscriptions")
            return self.streams.connection(url)
        return _refusal(404, f"no such path: {target.partition('?')[0]}")

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        if self.streams is not None:
            for connection in list(self.streams.connections):
                connection.close(CLOSE_SHUTDOWN)
        await asyncio.sleep(0)
        await self._server.wait_closed()
