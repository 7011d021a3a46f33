"""The one place that reaches into picows' private server protocol.

picows' public ``ws_create_server`` hands the router only the upgrade request, but REST
weight is counted per IP (spec §7.1) and the WebSocket API's handshake costs the IP's
weight (§5.1): the router must know which address a request came from. So the listener
builds picows' ``WSProtocol`` itself, through the subclass below, which remembers the
peer's address on ``connection_made`` and passes it to the router with each request.

``WSProtocol`` is not part of picows' public API: its constructor arguments are named
here, once, as keywords (so a renamed or removed argument fails loudly, not silently
shifts), picows is pinned to the tested minor in ``pyproject.toml``, and
``tests/gateway/test_picows_server.py`` fails if the constructor changes.

REST and tickerplant's own HTTP endpoints are served through the same path as the
WebSocket upgrades: picows routes every HTTP request through the listener factory, and a
plain GET is answered with the factory's ``WSUpgradeResponse`` and no listener, after
which picows closes the connection (one request per connection, no HTTP keep-alive).
That is how picows answers a refused upgrade; for a request that never asked to upgrade
it is an ordinary HTTP response. It stays so until the listeners get a full HTTP server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from picows import WSAutoPingStrategy, WSListener, WSUpgradeRequest, WSUpgradeResponseWithListener
from picows.picows import WSProtocol  # type: ignore[attr-defined]

__all__ = ["PeerRouter", "Routed", "protocol_arguments", "serve"]

Routed = WSListener | WSUpgradeResponseWithListener
PeerRouter = Callable[[WSUpgradeRequest, str], Routed | None]  # (request, peer IP) -> answer

_HANDSHAKE_TIMEOUT_S = 5.0
_MAX_FRAME_BYTES = 1024 * 1024  # Binance's clients refuse frames over 1 MiB
_READ_BUFFER_BYTES = 16 * 1024


def protocol_arguments(
    listener_factory: Callable[[WSUpgradeRequest], Routed | None], logger: logging.Logger
) -> dict[str, Any]:
    """``WSProtocol.__init__``'s arguments for the server side, by name."""
    return {
        "host_port": None,  # server side: no host to connect to
        "ws_path": None,  # ... and no path to request
        "is_client_side": False,
        "ws_listener_factory": listener_factory,
        "logger": logger,
        "disconnect_on_exception": True,  # an exception in a callback drops that connection
        "websocket_handshake_timeout": _HANDSHAKE_TIMEOUT_S,
        # The gateway keeps connections alive itself (spec §2.4, gateway/connection.py).
        "enable_auto_ping": False,
        "auto_ping_idle_timeout": 20.0,
        "auto_ping_reply_timeout": 20.0,
        "auto_ping_strategy": WSAutoPingStrategy.PING_WHEN_IDLE,
        "enable_auto_pong": False,  # pings count toward the message rate (§2.5): we answer them
        "max_frame_size": _MAX_FRAME_BYTES,
        "extra_headers": None,
        "read_buffer_init_size": _READ_BUFFER_BYTES,
    }


class PeerAwareProtocol(WSProtocol):  # type: ignore[misc]
    """picows' server protocol, telling the router which address a request came from."""

    def __init__(self, router: PeerRouter, logger: logging.Logger) -> None:
        self.peer_ip = "?"
        self._router = router
        super().__init__(**protocol_arguments(self._route, logger))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        self.peer_ip = str(peer[0]) if peer else "?"
        super().connection_made(transport)

    def _route(self, request: WSUpgradeRequest) -> Routed | None:
        return self._router(request, self.peer_ip)


async def serve(router: PeerRouter, host: str, port: int, *, logger: logging.Logger) -> asyncio.Server:
    """Listen on host:port; each HTTP request is answered by ``router(request, peer_ip)``."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: PeerAwareProtocol(router, logger), host, port, backlog=4096)
