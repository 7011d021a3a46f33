"""The fan-out benchmark's clients: raw asyncio Protocols on uvloop that do the WebSocket
client handshake, count frames by walking the (unmasked) server frame headers, answer PINGs
with masked PONGs, and sample latency (receipt time minus the payload's ``"E"``) from the last
complete frame of every read; and the pool of client processes that holds the connections."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import math
import os
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, cast

from ..harness.commands import Child, close_all, measure, serve
from ..harness.processes import CLIENT_CPU, HOST

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3

# Latency histogram: 50 µs buckets up to 10 s (E has 1 ms resolution anyway).
BUCKETS_PER_MS = 20
HIST_CAP = 10_000 * BUCKETS_PER_MS


def ws_accept(key: bytes) -> bytes:
    return base64.b64encode(hashlib.sha1(key + WS_GUID).digest())


class Stats:
    """Counters shared by every connection of one client process."""

    __slots__ = ("bytes", "chunks", "close_reasons", "closed", "frames", "hist", "pings")

    def __init__(self) -> None:
        self.close_reasons: Counter[str] = Counter()
        self.closed = 0
        self.reset()

    def reset(self) -> None:
        self.frames = 0
        self.bytes = 0
        self.chunks = 0
        self.pings = 0
        self.hist = [0] * (HIST_CAP + 1)


class WsClient(asyncio.Protocol):
    """One client connection: handshake, then count frames as they come."""

    def __init__(self, stats: Stats, request: bytes, accept: bytes, ready: asyncio.Future[None]):
        self.stats = stats
        self.request = request
        self.accept = accept
        self.ready = ready
        self.upgraded = False
        self.tail = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.upgraded:
            self.stats.closed += 1
        if not self.ready.done():
            self.ready.set_exception(exc or ConnectionError("closed during the handshake"))

    def _handshake(self, data: bytes) -> bytes | None:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            if len(data) > 65536:
                self._fail(ConnectionError("handshake response too long"))
            else:
                self.tail = data
            return None
        head = data[:end].split(b"\r\n")
        status = head[0].split(b" ", 2)
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        if len(status) < 2 or status[1] != b"101":
            self._fail(ConnectionError(f"handshake refused: {head[0]!r}"))
            return None
        if headers.get(b"sec-websocket-accept") != self.accept:
            self._fail(ConnectionError("bad Sec-WebSocket-Accept"))
            return None
        self.upgraded = True
        if not self.ready.done():
            self.ready.set_result(None)
        return data[end + 4 :]

    def _fail(self, exc: Exception) -> None:
        if not self.ready.done():
            self.ready.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        now = time.time() * 1000.0
        if self.tail:
            data = self.tail + data
            self.tail = b""
        if not self.upgraded:
            rest = self._handshake(data)
            if not rest:
                return
            data = rest
        n = len(data)
        pos = 0
        count = 0
        last = -1
        last_end = 0
        # Walk the frame headers (RFC 6455 §5.2). Server frames are never masked.
        while n - pos >= 2:
            b0 = data[pos]
            ln = data[pos + 1]
            if ln < 126:
                start = pos + 2
            elif ln == 126:
                if n - pos < 4:
                    break
                ln = (data[pos + 2] << 8) | data[pos + 3]
                start = pos + 4
            elif ln == 127:
                if n - pos < 10:
                    break
                ln = int.from_bytes(data[pos + 2 : pos + 10], "big")
                start = pos + 10
            else:
                self._protocol_error("masked server frame")
                return
            end = start + ln
            if end > n:
                break
            if b0 == 0x81:  # FIN + text: the hot path
                count += 1
                last = start
                last_end = end
            elif b0 in (0x80, 0x82):  # last fragment / binary message
                count += 1
            elif b0 & 0x0F >= 8:
                self._control(b0 & 0x0F, data[start:end])
            pos = end
        if pos < n:
            self.tail = data[pos:]
        stats = self.stats
        stats.frames += count
        stats.bytes += pos
        stats.chunks += 1
        if last >= 0:
            i = data.find(b'"E":', last, last_end)
            if i >= 0:
                i += 4
                j = data.find(b",", i, last_end)
                if j < 0:
                    j = data.find(b"}", i, last_end)
                if j > i:
                    lat = now - int(data[i:j])
                    b = int(lat * BUCKETS_PER_MS) if lat > 0 else 0
                    stats.hist[b if b < HIST_CAP else HIST_CAP] += 1

    def _control(self, opcode: int, payload: bytes) -> None:
        assert self.transport is not None
        if opcode == 0x9:  # PING: answer with a PONG, masked as every client frame must be
            self.stats.pings += 1
            mask = os.urandom(4)
            masked = bytes(b ^ mask[k & 3] for k, b in enumerate(payload))
            self.transport.write(bytes((0x8A, 0x80 | len(payload))) + mask + masked)
        elif opcode == 0x8:  # CLOSE: note why, then go
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            reason = payload[2:].decode("utf-8", "replace")
            self.stats.close_reasons[f"{code} {reason}".strip()] += 1
            self.transport.close()

    def _protocol_error(self, why: str) -> None:
        self.stats.close_reasons[f"client: {why}"] += 1
        assert self.transport is not None
        self.transport.abort()


@dataclass(frozen=True)
class ClientSpec:
    port: int
    path: str
    connections: int
    connect_timeout_s: float
    life_s: float  # hard limit on the process's life


async def open_client(loop: asyncio.AbstractEventLoop, stats: Stats, spec: ClientSpec) -> asyncio.Transport:
    key = base64.b64encode(os.urandom(16))
    request = (
        f"GET {spec.path} HTTP/1.1\r\nHost: {HOST}:{spec.port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key.decode()}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    ready: asyncio.Future[None] = loop.create_future()
    transport, _ = await asyncio.wait_for(
        loop.create_connection(lambda: WsClient(stats, request, ws_accept(key), ready), HOST, spec.port),
        spec.connect_timeout_s,
    )
    try:
        await asyncio.wait_for(ready, spec.connect_timeout_s)
    except BaseException:
        transport.abort()
        raise
    return transport


async def client_async(conn: Connection, spec: ClientSpec) -> None:
    loop = asyncio.get_running_loop()
    stats = Stats()
    transports: list[asyncio.Transport] = []
    errors: Counter[str] = Counter()
    gate = asyncio.Semaphore(16)  # keeps the server's accept backlog short
    deadline = loop.time() + spec.connect_timeout_s

    async def one() -> None:
        async with gate:
            for _ in range(3):
                if loop.time() > deadline:
                    break
                try:
                    transports.append(await open_client(loop, stats, spec))
                    return
                except (TimeoutError, OSError, ConnectionError) as exc:
                    errors[f"{type(exc).__name__}: {exc}"[:160]] += 1
                    await asyncio.sleep(0.05)

    await asyncio.gather(*(one() for _ in range(spec.connections)))
    conn.send(("ready", len(transports), dict(errors)))
    window: dict[str, float] = {}

    def start() -> None:
        stats.reset()
        window["closed"] = stats.closed
        window["t"] = time.perf_counter()
        window["cpu"] = time.process_time()

    def stop() -> dict[str, Any]:
        elapsed = time.perf_counter() - window["t"]
        cpu = time.process_time() - window["cpu"]
        return {
            "frames": stats.frames,
            "bytes": stats.bytes,
            "chunks": stats.chunks,
            "pings": stats.pings,
            "elapsed": elapsed,
            "cpu": cpu,
            "closed": stats.closed - int(window["closed"]),
            "open": len(transports) - stats.closed,
            "close_reasons": dict(stats.close_reasons),
            "hist": {i: c for i, c in enumerate(stats.hist) if c},
        }

    try:
        await serve(conn, {"start": start, "stop": stop}, spec.life_s)
    finally:
        for t in transports:
            t.abort()
        await asyncio.sleep(0)


@dataclass
class Window:
    """What the clients saw in one measurement window, summed over client processes."""

    rate: float  # delivered messages per second
    frames: int
    p50_ms: float
    p99_ms: float
    samples: int
    frames_per_chunk: float
    client_cpu: float  # share of CPU 1 used by the clients
    server_cpu: float  # share of CPU 0 used by the server under test
    other_cpu: float  # CPU used meanwhile by processes outside the benchmark: noise
    connections: int  # open at the end of the window
    pings: int  # server PINGs answered in the window
    closed: int  # closed during the window
    close_reasons: dict[str, int] = field(default_factory=dict)


def percentile(hist: Mapping[int, int], q: float) -> float:
    total = sum(hist.values())
    if not total:
        return math.nan
    rank = q * (total - 1)
    seen = 0
    for bucket in sorted(hist):
        seen += hist[bucket]
        if seen > rank:
            return (bucket + 0.5) / BUCKETS_PER_MS
    return max(hist) / BUCKETS_PER_MS


class ClientPool:
    """`procs` client processes on CPU 1 holding `connections` connections between them."""

    def __init__(self, port: int, path: str, connections: int, procs: int, life_s: float):
        self.connections = connections
        procs = max(1, min(procs, connections))
        connect_timeout = 10.0 + connections / 100
        self.ready_timeout = connect_timeout + 10.0
        self.procs: list[Child] = []
        for i in range(procs):
            share = connections // procs + (1 if i < connections % procs else 0)
            spec = ClientSpec(port, path, share, connect_timeout, life_s)
            self.procs.append(Child(CLIENT_CPU, client_async, spec))

    def wait_ready(self) -> int:
        deadline = time.monotonic() + self.ready_timeout
        connected = 0
        errors: Counter[str] = Counter()
        for child in self.procs:
            msg = child.recv(deadline - time.monotonic(), "clients connecting")
            connected += msg[1]
            errors.update(msg[2])
        if connected < self.connections:
            top = "; ".join(f"{n}x {e}" for e, n in errors.most_common(3))
            print(f"  ! only {connected}/{self.connections} connections came up ({top})")
        if not connected:
            raise RuntimeError("no client connection came up")
        return connected

    def measure(self, seconds: float, warmup: float, server_pids: Callable[[], list[int]]) -> Window:
        results, cpu = measure(self.procs, seconds, warmup, server_pids, results_timeout_s=15.0)
        hist: Counter[int] = Counter()
        reasons: Counter[str] = Counter()
        for r in results:
            hist.update(r["hist"])
            reasons.update(r["close_reasons"])
        frames = sum(r["frames"] for r in results)
        chunks = sum(r["chunks"] for r in results)
        return Window(
            rate=sum(r["frames"] / r["elapsed"] for r in results),
            frames=frames,
            p50_ms=percentile(hist, 0.50),
            p99_ms=percentile(hist, 0.99),
            samples=sum(hist.values()),
            frames_per_chunk=frames / chunks if chunks else 0.0,
            client_cpu=sum(r["cpu"] / r["elapsed"] for r in results),
            server_cpu=cpu.server,
            other_cpu=cpu.others,
            connections=sum(r["open"] for r in results),
            pings=sum(r["pings"] for r in results),
            closed=sum(r["closed"] for r in results),
            close_reasons=dict(reasons),
        )

    def close(self) -> None:
        close_all(self.procs)
