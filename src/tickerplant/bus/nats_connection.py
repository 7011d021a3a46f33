"""How a plant or a gateway connects to NATS: its credentials, TLS, and what the connection
meets once it is open.

A connection proves itself with ``NatsAuth``: the server's authorization token, or a NATS
credentials file (a user JWT and its nkey seed), over TLS where the server speaks it (a CA
to check the server's certificate, a client certificate for a server that checks its
clients'). The token comes from a file or the environment, or from the supervisor on a
child's stdin, never from a command line (``cli.py``, ``scaleout/lifeline.py``).

It waits for a server that is not there yet and reconnects for ever once it was (a plant
or gateway may start first, and a nats-server restarted comes back on its port), but a
server that refuses the credentials is an error at once: trying again would not change
its answer. What the open connection meets (a refused reconnection, a slow consumer's
dropped messages, a server lost and regained) goes to ``report`` as ``(kind, text)``,
kinds ``error``, ``disconnected`` and ``reconnected``, which the processes log within a
budget (``scaleout/bus_log.py``): a server that is away is retried once a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ssl
from collections.abc import Callable
from typing import Any

import nats.errors
from nats.aio.client import Client

__all__ = ["NatsAuth", "TroubleHandler", "open_connection"]

# what the connection meets besides messages (kind, text): the kinds are these few, for a
# log budget
TroubleHandler = Callable[[str, str], None]


@dataclasses.dataclass(frozen=True, slots=True)
class NatsAuth:
    """How a connection proves itself to the NATS server, and how it checks the server."""

    token: str = dataclasses.field(default="", repr=False)  # the server's authorization token
    credentials: str = ""  # a NATS credentials file (a user JWT and its nkey seed)
    tls: ssl.SSLContext | None = None  # TLS to the server

    @classmethod
    def of(
        cls, url: str, token: str = "", credentials: str = "", ca: str = "", cert: str = "", key: str = ""
    ) -> NatsAuth:
        """From the files' paths: TLS when a CA or a client certificate is given or the URL
        is ``tls://`` (the system's CAs unless ``ca``); ``OSError``/``ssl.SSLError`` for a
        file that will not load."""
        tls = None
        if ca or cert or url.startswith("tls://"):
            tls = ssl.create_default_context(cafile=ca or None)
            if cert:
                tls.load_cert_chain(cert, key)
        return cls(token, credentials, tls)


async def open_connection(url: str, *, name: str, auth: NatsAuth, report: TroubleHandler) -> Client:
    """A connection to ``url``, once open; ``nats.errors.AuthorizationError`` when the server
    refuses ``auth``."""
    refused: asyncio.Future[Exception] = asyncio.get_running_loop().create_future()

    async def error(exc: Exception) -> None:
        opening = not connecting.done()
        if opening and not refused.done() and "authorization violation" in str(exc).lower():
            refused.set_result(exc)
            return
        report("error", str(exc) or type(exc).__name__)

    async def disconnected() -> None:
        if not client.is_closed:  # closed: its own close, nothing lost
            report("disconnected", f"lost the server at {url}; reconnecting")

    async def reconnected() -> None:
        report("reconnected", f"connected to the server at {url} again")

    client = Client()
    connecting = asyncio.ensure_future(
        client.connect(
            url,
            name=name,
            max_reconnect_attempts=-1,
            reconnect_time_wait=1,  # seconds
            pending_size=64 * 1024 * 1024,  # frames held while NATS is away, then dropped
            error_cb=error,
            disconnected_cb=disconnected,
            reconnected_cb=reconnected,
            token=auth.token or None,
            user_credentials=auth.credentials or None,
            tls=auth.tls,
        )
    )
    waits: list[asyncio.Future[Any]] = [connecting, refused]
    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    if not connecting.done():
        connecting.cancel()
        with contextlib.suppress(asyncio.CancelledError, nats.errors.Error):
            await connecting
        with contextlib.suppress(nats.errors.Error, RuntimeError, OSError):
            await client.close()
        raise nats.errors.AuthorizationError(f"{url} refused this connection's credentials")
    connecting.result()
    return client
