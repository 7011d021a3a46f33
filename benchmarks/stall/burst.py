"""The stall benchmark's bursts: one process that opens kept-alive connections from given
loopback addresses (one per IP it plays), then writes every request at once, each
connection its share pipelined, and times the burst until the last answer is whole."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from multiprocessing.connection import Connection
from typing import Any, cast

from ..harness.commands import serve
from ..harness.processes import HOST
from ..rest.clients import whole_answer


class _Pipeline(asyncio.Protocol):
    """One connection: ``requests`` written at once, answers counted as they are whole."""

    def __init__(self, done: asyncio.Future[None], pending: list[int], statuses: Counter[int]) -> None:
        self.done, self.pending, self.statuses = done, pending, statuses
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.expected = 0
        self.bytes = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def send(self, requests: bytes, count: int) -> None:
        assert self.transport is not None
        self.expected = count
        self.transport.write(requests)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while whole := whole_answer(buffer):
            self.statuses[int(buffer[9:12])] += 1
            self.bytes += whole
            del buffer[:whole]
            self.expected -= 1
            self._answered()

    def _answered(self) -> None:
        self.pending[0] -= 1
        if self.pending[0] == 0 and not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.statuses[0] += self.expected  # never answered
        for _ in range(self.expected):
            self._answered()
        self.expected = 0


async def burst_async(conn: Connection, port: int, life_s: float) -> None:
    # It shares CPU 1 with the probe, whose timings are the figures: reading a burst's tens
    # of megabytes of answers must not be what delays the probe's reads.
    os.nice(10)
    loop = asyncio.get_running_loop()

    async def burst(path: str, requests: int, ips: list[str], connections: int) -> dict[str, Any]:
        done: asyncio.Future[None] = loop.create_future()
        pending = [requests * len(ips)]
        statuses: Counter[int] = Counter()
        pipes: list[tuple[_Pipeline, int]] = []
        for ip in ips:
            share = [
                requests // connections + (1 if n < requests % connections else 0) for n in range(connections)
            ]
            for count in share:
                if count:
                    _, pipe = await loop.create_connection(
                        lambda: _Pipeline(done, pending, statuses), HOST, port, local_addr=(ip, 0)
                    )
                    pipes.append((pipe, count))
        request = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode()
        started = time.perf_counter()
        for pipe, count in pipes:
            pipe.send(request * count, count)
        await asyncio.wait_for(done, 120)
        elapsed = time.perf_counter() - started
        for pipe, _ in pipes:
            if pipe.transport is not None:
                pipe.transport.close()
        return {"seconds": elapsed, "statuses": dict(statuses), "bytes": sum(p.bytes for p, _ in pipes)}

    running: list[asyncio.Task[dict[str, Any]]] = []

    def go(path: str, requests: int, ips: list[str], connections: int) -> None:
        task = asyncio.create_task(burst(path, requests, ips, connections))
        task.add_done_callback(
            lambda t: conn.send(
                ("burst", t.result() if not t.exception() else {"error": repr(t.exception())})
            )
        )
        running.append(task)

    conn.send(("ready",))
    await serve(conn, {"go": go}, life_s)
