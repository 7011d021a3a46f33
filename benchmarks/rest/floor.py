"""The REST benchmark's floor: a plain asyncio Protocol on uvloop, the library tickerplant's
REST front door is (``gateway/front_door.py``), keeping connections alive and answering each
request, found by its blank line and routed by its path, with bytes built before it starts:
the whole answers tickerplant gave in the same run (or made-up ones of the same size)."""

from __future__ import annotations

import asyncio
from multiprocessing.connection import Connection
from typing import cast

from ..harness.commands import serve
from ..harness.processes import HOST

_END = b"\r\n\r\n"


class FloorConnection(asyncio.Protocol):
    def __init__(self, answers: dict[bytes, bytes]) -> None:
        self.answers = answers
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while (end := buffer.find(_END)) >= 0:
            target = bytes(buffer[4 : buffer.index(b" ", 4)])  # after "GET "
            del buffer[: end + 4]
            assert self.transport is not None
            self.transport.write(self.answers[target])


async def floor_async(conn: Connection, answers: dict[bytes, bytes], life_s: float) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: FloorConnection(answers), HOST, 0, backlog=4096)
    conn.send(("port", server.sockets[0].getsockname()[1]))
    try:
        await serve(conn, {}, life_s)
    finally:
        server.close()


def made_up(path: str) -> bytes:
    """An answer of the size tickerplant's would be, for a floor run without the server's."""
    if "depth" in path:
        bids = ",".join(f'["{90000 - i / 10:.2f}","{1 + i % 97 / 1000:.3f}"]' for i in range(1000))
        asks = ",".join(f'["{90000.1 + i / 10:.2f}","{1 + i % 89 / 1000:.3f}"]' for i in range(1000))
        head = b'{"lastUpdateId":1211381949570,"E":1795242427602,"T":1795242427600,'
        body = head + b'"bids":[%b],"asks":[%b]}' % (bids.encode(), asks.encode())
    else:
        body = b'{"symbol":"BTCUSDT","price":"90001.10","time":1795242427602}'
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-MBX-USED-WEIGHT: 20\r\n"
        b"X-MBX-USED-WEIGHT-1M: 20\r\nAccess-Control-Allow-Origin: *\r\nConnection: keep-alive\r\n"
        b"Date: Tue, 24 Nov 2026 05:00:00 GMT\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    return head + body
