"""The acceptor takes a queue of waiting clients in a few turns of the loop, not one a turn
(gateway/acceptor.py): libuv's server under uvloop accepts one connection per turn, and a
turn that fans a stream out to thousands of connections is long."""

from __future__ import annotations

import asyncio
import datetime
import logging
import socket
import ssl
from pathlib import Path

import pytest
from timing import eventually

from tickerplant import tls
from tickerplant.clock import SystemClock
from tickerplant.gateway.acceptor import ACCEPTS_PER_TURN, Acceptor, bind
from tickerplant.gateway.front_door import HEAD_TIMEOUT_MS
from tickerplant.protocol.limits import LimitCounters

pytestmark = pytest.mark.loopback  # on asyncio and on uvloop


class _Counted(asyncio.Protocol):
    def __init__(self, made: list[asyncio.BaseTransport]) -> None:
        self._made = made

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._made.append(transport)


async def _turns(n: int) -> None:
    for _ in range(n):
        await asyncio.sleep(0)  # one turn of the loop each: nothing waits for time


@pytest.mark.parametrize("waiting", [40, 300])  # both within a turn's ACCEPTS_PER_TURN
async def test_clients_waiting_in_the_backlog_are_taken_in_a_few_turns(waiting: int) -> None:
    made: list[asyncio.BaseTransport] = []
    sockets = bind("127.0.0.1", 0, backlog=1024)
    port = sockets[0].getsockname()[1]
    acceptor = Acceptor(
        sockets, lambda: _Counted(made), SystemClock(), logging.getLogger("test"), LimitCounters(), 1024
    )
    await acceptor.start()
    clients: list[socket.socket] = []
    try:
        for _ in range(waiting):  # connected by the kernel, waiting for accept() in the backlog
            clients.append(socket.create_connection(("127.0.0.1", port)))
        # one turn accepts up to ACCEPTS_PER_TURN (and the loop's server one), the next
        # builds their transports, the one after runs connection_made: one a turn, this
        # would take `waiting` turns
        await _turns(2 * (waiting // ACCEPTS_PER_TURN + 1) + 3)
        assert len(made) == waiting
    finally:
        for client in clients:
            client.close()
        for transport in made:
            transport.close()
        acceptor.close()
        await _turns(2)


async def test_a_tls_client_that_never_finishes_its_handshake_is_closed_at_the_heads_time(
    tmp_path: Path,
) -> None:
    """A TLS listener's connection that sends nothing, or half a ClientHello, is closed once
    its handshake's time is out (a plain connection's for its head: ``HEAD_TIMEOUT_MS``,
    here shrunk), not after asyncio's 60 s; one that completes is served."""
    assert 1_000 <= HEAD_TIMEOUT_MS <= 10_000  # the served listeners' bound (Acceptor's default)
    issued = tls.init(tmp_path, datetime.datetime(2026, 11, 24, tzinfo=datetime.UTC))
    made: list[asyncio.BaseTransport] = []
    sockets = bind("127.0.0.1", 0, backlog=16)
    port = sockets[0].getsockname()[1]
    context = tls.server_context(str(issued.cert), str(issued.key))
    acceptor = Acceptor(
        sockets, lambda: _Counted(made), SystemClock(), logging.getLogger("test"), LimitCounters(), 16,
        ssl=context, handshake_ms=200,
    )  # fmt: skip
    await acceptor.start()
    loop = asyncio.get_running_loop()
    silent, partial = socket.socket(), socket.socket()
    try:
        for client in (silent, partial):
            client.setblocking(False)
            await loop.sock_connect(client, ("127.0.0.1", port))
        await loop.sock_sendall(partial, bytes.fromhex("160301020001"))  # a record head, then nothing
        async with asyncio.timeout(5):  # closed at 0.2 s; asyncio's own bound is 60 s
            assert await loop.sock_recv(silent, 1024) == b""
            while await loop.sock_recv(partial, 1024):  # (an alert may come first)
                pass
        trusted = ssl.create_default_context(cafile=str(issued.ca))
        _, writer = await asyncio.open_connection("localhost", port, ssl=trusted)
        await eventually(lambda: bool(made))  # the server's side of the handshake ends a turn or so later
        writer.close()
        assert len(made) == 1  # the completed handshake alone reached the protocol
    finally:
        silent.close()
        partial.close()
        for transport in made:
            transport.close()
        acceptor.close()
        await _turns(2)
