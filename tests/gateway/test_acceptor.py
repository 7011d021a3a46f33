"""The acceptor takes a queue of waiting clients in a few turns of the loop, not one a turn
(gateway/acceptor.py): libuv's server under uvloop accepts one connection per turn, and a
turn that fans a stream out to thousands of connections is long."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest

from tickerplant.clock import SystemClock
from tickerplant.gateway.acceptor import ACCEPTS_PER_TURN, Acceptor, bind
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
