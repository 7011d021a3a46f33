"""The REST benchmark's clients: one process on CPU 1 holding every connection, each a raw
asyncio Protocol on uvloop that sends a request, reads its answer (the head up to its blank
line, then ``Content-Length`` bytes), records the latency and sends the next, on the same
connection. An answer counts when it starts ``HTTP/1.1 200``; a closed connection is
counted and not reopened."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, cast

from ..harness.commands import serve
from ..harness.processes import HOST
from ..ws_api.clients import Recorder, Window, figures, measured_window

MAX_RATE_GUESS = 100_000  # req/s: sizes the latency array
_END = b"\r\n\r\n"


def whole_answer(buffer: bytearray) -> int:
    """The length of the first whole HTTP answer at the start of ``buffer`` (its head up to
    the blank line, then ``Content-Length`` bytes), or 0 while it has not all come."""
    end = buffer.find(_END)
    if end < 0:
        return 0
    at = buffer.find(b"Content-Length: ", 0, end)
    length = int(buffer[at + 16 : buffer.index(b"\r\n", at)]) if at >= 0 else 0
    whole = end + 4 + length
    return whole if len(buffer) >= whole else 0


class KeptAlive(asyncio.Protocol):
    """One connection, one request in flight at a time."""

    def __init__(self, rec: Recorder, request: bytes, sample: list[bytes]) -> None:
        self.rec = rec
        self.request = request
        self.sample = sample
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.sent = 0.0
        self.waiting = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def send_next(self) -> None:
        assert self.transport is not None
        self.waiting = True
        self.sent = time.perf_counter()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        whole = whole_answer(buffer)
        if not whole:
            return
        answer = bytes(buffer[:whole])
        del buffer[:whole]
        rec = self.rec
        if rec.recording:
            n = rec.n
            if n < rec.cap:
                rec.lat[n] = time.perf_counter() - self.sent
            rec.n = n + 1
            if not answer.startswith(b"HTTP/1.1 200"):
                rec.bad += 1
                rec.bad_sample = rec.bad_sample or answer[:300]
        if not self.sample:
            self.sample.append(answer)
        self.waiting = False
        if rec.running:
            self.send_next()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.rec.closed += 1


@dataclass(frozen=True)
class Spec:
    path: str
    port: int
    connections: int
    cap: int
    life_s: float


async def clients_async(conn: Connection, spec: Spec) -> None:
    loop = asyncio.get_running_loop()
    rec = Recorder(spec.cap)
    sample: list[bytes] = []
    errors: Counter[str] = Counter()
    request = f"GET {spec.path} HTTP/1.1\r\nHost: {HOST}:{spec.port}\r\n\r\n".encode()
    clients: list[KeptAlive] = []
    for _ in range(spec.connections):
        try:
            _, client = await loop.create_connection(lambda: KeptAlive(rec, request, sample), HOST, spec.port)
            clients.append(client)
        except OSError as exc:
            errors[f"{type(exc).__name__}: {exc}"[:120]] += 1
    conn.send(("ready", len(clients), {}))
    window: dict[str, float] = {}

    def go() -> None:
        rec.running = True
        for c in clients:
            if c.transport is not None and not c.waiting:
                c.send_next()

    def start() -> None:
        rec.n = rec.bad = 0
        window["t"] = time.perf_counter()
        window["cpu"] = time.process_time()
        rec.recording = True

    def stop() -> dict[str, Any]:
        rec.recording = rec.running = False
        measured = figures(rec, time.perf_counter() - window["t"], time.process_time() - window["cpu"])
        return {
            **measured, "errors": dict(errors),
            "sample": sample[0] if sample else b"",
        }

    try:
        await serve(conn, {"go": go, "start": start, "stop": stop}, spec.life_s)
    finally:
        rec.running = False
        for c in clients:
            if c.transport is not None:
                c.transport.close()
        await asyncio.sleep(0)


def run_clients(
    path: str, port: int, connections: int, seconds: float, warmup: float, pids: Callable[[], list[int]]
) -> tuple[Window, dict[str, Any]]:
    """One client process on CPU 1: warm-up, a measured window, the figures and a sample answer."""
    spec = Spec(path, port, connections, int(MAX_RATE_GUESS * seconds) + 1000, seconds + warmup + 60)
    return measured_window(clients_async, spec, connections, seconds, warmup, pids)
