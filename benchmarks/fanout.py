#!/usr/bin/env python3
"""Fan-out benchmark: tickerplant's bookTicker fan-out against a raw-uvloop floor.

    python benchmarks/fanout.py [--connections 1000] [--seconds 10] [--market cm]
                                [--client-procs 4] [--quick]

Two servers are measured in the same run, each alone on CPU 0, with the same client
processes on CPU 1 (PERFORMANCE.md, "Fan-out, one server core"):

* the FLOOR: a bare uvloop ``asyncio.Protocol`` server that does the WebSocket handshake
  itself and, once per loop iteration, builds ``--floor-batch`` (K) real bookTicker frames
  with a fresh ``E`` and writes them to every connection in ONE ``transport.write`` (the
  house rule of ARCHITECTURE.md); it produces as fast as it can, then paced to half that;
* the SERVER: ``python -m tickerplant serve --sim-rate max`` with every client on
  ``/ws/!bookTicker`` (COIN-M) or ``/ws/<s>@bookTicker/...`` for every USDⓈ-M symbol,
  then again at a ``--sim-rate`` calibrated so that it delivers about half its maximum.

Clients are raw asyncio Protocols on uvloop: they do the client handshake, count frames
by walking the (unmasked) server frame headers, answer PINGs with masked PONGs, and
sample latency (receipt time minus the payload's ``"E"``) from the last complete frame of
every chunk read. Counts and latency histograms are taken over a steady window that
starts after every connection is up and a warm-up has passed.

The result is a table of delivered msg/s and p50/p99 latency, the server/floor ratio and
the targets (ratio >= 0.7, p99 <= 5 ms at half rate). It always exits 0: it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import math
import multiprocessing as mp
import os
import resource
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, cast

import uvloop
from harness import (
    HOST,
    REPO,
    ServerProcess,
    die_with_parent,
    pin,
    proc_table,
    reap,
    recv,
    server_env,
)

SERVER_CPU = 0
CLIENT_CPU = 1
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3

# Latency histogram: 50 µs buckets up to 10 s (E has 1 ms resolution anyway).
BUCKETS_PER_MS = 20
HIST_CAP = 10_000 * BUCKETS_PER_MS

# The floor closes a connection whose user-space send buffer grows past this, as the
# server does with a client that stops reading (a bounded per-connection buffer).
FLOOR_BUFFER_LIMIT = 256 * 1024

TARGET_RATIO = 0.7
TARGET_P99_MS = 5.0

CM_SYMBOLS = (
    ("BTCUSD_PERP", "BTCUSD", 95481, 1, 52),
    ("ETHUSD_PERP", "ETHUSD", 33265, 2, 310),
    ("BNBUSD_PERP", "BNBUSD", 61230, 3, 14),
    ("SOLUSD_PERP", "SOLUSD", 18342, 3, 77),
    ("XRPUSD_PERP", "XRPUSD", 21093, 4, 1203),
    ("BTCUSD_260327", "BTCUSD", 96122, 1, 8),
    ("ETHUSD_260327", "ETHUSD", 33517, 2, 41),
    ("ADAUSD_PERP", "ADAUSD", 6542, 5, 880),
)
UM_SYMBOLS = (
    ("BTCUSDT", "", 830916, 1, 4215),
    ("ETHUSDT", "", 312145, 2, 23871),
    ("BNBUSDT", "", 61234, 2, 1732),
    ("SOLUSDT", "", 183420, 3, 90211),
    ("XRPUSDT", "", 21093, 4, 512330),
    ("DOGEUSDT", "", 165432, 6, 1203345),
)


# --------------------------------------------------------------------------- processes


def raise_nofile() -> None:
    """Lift the open-files limit: 1000+ sockets per run."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 1 << 16
    if hard != resource.RLIM_INFINITY and hard < want:
        with contextlib.suppress(ValueError, OSError):  # raising the hard limit needs root
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return
        want = hard
    if soft == resource.RLIM_INFINITY or soft < want:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))






def child_setup(cpu: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and cleans up
    die_with_parent()
    pin(cpu)
    raise_nofile()


def server_preexec() -> None:
    die_with_parent()
    pin(SERVER_CPU)
    raise_nofile()




@dataclass(frozen=True)
class CpuUse:
    """CPU used in a window, as shares of one core."""

    server: float
    others: float  # user processes that are not part of this benchmark


def cpu_use(
    before: dict[int, tuple[int, int, int]],
    after: dict[int, tuple[int, int, int]],
    server: set[int],
    ours: set[int],
    seconds: float,
) -> CpuUse:
    tick = os.sysconf("SC_CLK_TCK") * seconds
    srv = other = 0
    for pid, (ppid, _, ticks) in after.items():
        used = ticks - before.get(pid, (0, 0, 0))[2]  # new: all in the window
        if pid in server:
            srv += used
        elif pid not in ours and pid != 2 and ppid != 2:  # not ours, not a kernel thread
            other += used
    return CpuUse(srv / tick, other / tick)


def ws_accept(key: bytes) -> bytes:
    return base64.b64encode(hashlib.sha1(key + WS_GUID).digest())




# --------------------------------------------------------------------------- clients


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

    done: asyncio.Future[None] = loop.create_future()
    window: dict[str, float] = {}

    def finish() -> None:
        if not done.done():
            done.set_result(None)

    def on_command() -> None:
        try:
            cmd = conn.recv()
        except (EOFError, OSError):
            finish()
            return
        if cmd == "start":
            stats.reset()
            window["closed"] = stats.closed
            window["t"] = time.perf_counter()
            window["cpu"] = time.process_time()
        elif cmd == "stop":
            elapsed = time.perf_counter() - window["t"]
            cpu = time.process_time() - window["cpu"]
            hist = {i: c for i, c in enumerate(stats.hist) if c}
            conn.send(
                {
                    "frames": stats.frames,
                    "bytes": stats.bytes,
                    "chunks": stats.chunks,
                    "pings": stats.pings,
                    "elapsed": elapsed,
                    "cpu": cpu,
                    "closed": stats.closed - int(window["closed"]),
                    "open": len(transports) - stats.closed,
                    "close_reasons": dict(stats.close_reasons),
                    "hist": hist,
                }
            )
        elif cmd == "exit":
            finish()

    loop.add_reader(conn.fileno(), on_command)
    loop.call_later(spec.life_s, finish)
    try:
        await done
    finally:
        loop.remove_reader(conn.fileno())
        for t in transports:
            t.abort()
        await asyncio.sleep(0)


def client_main(conn: Connection, spec: ClientSpec) -> None:
    child_setup(CLIENT_CPU)
    try:
        uvloop.run(client_async(conn, spec))
    finally:
        conn.close()


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
        self.procs: list[tuple[BaseProcess, Connection]] = []
        self.connections = connections
        ctx = mp.get_context("fork")
        procs = max(1, min(procs, connections))
        connect_timeout = 10.0 + connections / 100
        self.ready_timeout = connect_timeout + 10.0
        for i in range(procs):
            share = connections // procs + (1 if i < connections % procs else 0)
            spec = ClientSpec(port, path, share, connect_timeout, life_s)
            parent, child = ctx.Pipe()
            p = ctx.Process(target=client_main, args=(child, spec), daemon=True)
            p.start()
            child.close()
            self.procs.append((p, parent))

    def wait_ready(self) -> int:
        deadline = time.monotonic() + self.ready_timeout
        connected = 0
        errors: Counter[str] = Counter()
        for _, pipe in self.procs:
            msg = recv(pipe, deadline - time.monotonic(), "clients connecting")
            connected += msg[1]
            errors.update(msg[2])
        if connected < self.connections:
            top = "; ".join(f"{n}x {e}" for e, n in errors.most_common(3))
            print(f"  ! only {connected}/{self.connections} connections came up ({top})")
        if not connected:
            raise RuntimeError("no client connection came up")
        return connected

    def measure(self, seconds: float, warmup: float, server_pids: Callable[[], list[int]]) -> Window:
        time.sleep(warmup)
        ours = {os.getpid()} | {p.pid or 0 for p, _ in self.procs}
        before = proc_table()
        t0 = time.monotonic()
        for _, pipe in self.procs:
            pipe.send("start")
        time.sleep(seconds)
        for _, pipe in self.procs:
            pipe.send("stop")
        after = proc_table()
        server = set(server_pids())
        cpu = cpu_use(before, after, server, ours | server, time.monotonic() - t0)
        deadline = time.monotonic() + 15.0
        results = [recv(pipe, deadline - time.monotonic(), "client results") for _, pipe in self.procs]
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
        for _, pipe in self.procs:
            with contextlib.suppress(OSError, ValueError):
                pipe.send("exit")
        reap([p for p, _ in self.procs])
        for _, pipe in self.procs:
            pipe.close()






# --------------------------------------------------------------------------- the floor


def frame(payload: bytes) -> bytes:
    """An unmasked FIN text frame (RFC 6455 §5.2)."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return b"\x81\x7e" + n.to_bytes(2, "big") + payload
    return b"\x81\x7f" + n.to_bytes(8, "big") + payload


class Payloads:
    """Real bookTicker payloads with Binance's key order, one fresh object per message."""

    def __init__(self, market: str):
        self.cm = market == "cm"
        self.symbols = CM_SYMBOLS if self.cm else UM_SYMBOLS
        self.u = 17_242_169
        self.i = 0

    def make(self, event_ms: int) -> bytes:
        self.u += 1
        self.i += 1
        symbol, pair, price, decimals, qty = self.symbols[self.i % len(self.symbols)]
        wobble = self.i % 7
        bid = price * 10 + wobble
        scale = 10 ** (decimals + 1)
        b = f"{bid // scale}.{bid % scale:0{decimals + 1}d}"
        a = f"{(bid + 3) // scale}.{(bid + 3) % scale:0{decimals + 1}d}"
        if self.cm:
            return (
                f'{{"e":"bookTicker","u":{self.u},"s":"{symbol}","ps":"{pair}","b":"{b}",'
                f'"B":"{qty + wobble}","a":"{a}","A":"{qty // 3 + wobble}",'
                f'"T":{event_ms - 1},"E":{event_ms}}}'
            ).encode()
        return (
            f'{{"e":"bookTicker","u":{self.u},"s":"{symbol}","b":"{b}","B":"{qty + wobble}",'
            f'"a":"{a}","A":"{qty // 3 + wobble}","T":{event_ms - 1},"E":{event_ms}}}'
        ).encode()


class FloorConn(asyncio.Protocol):
    """Server side of one floor connection: the HTTP 101 handshake, then only writes."""

    def __init__(self, floor: Floor):
        self.floor = floor
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.upgraded = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        if self.upgraded:
            return  # clients send only PONGs (and CLOSE); nothing to do with them here
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        assert self.transport is not None
        key = b""
        for line in self.buf[:end].split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"sec-websocket-key":
                key = value.strip()
        if not key:
            self.transport.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            self.transport.close()
            return
        self.transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + ws_accept(key) + b"\r\n\r\n"
        )
        self.upgraded = True
        self.buf = b""
        self.floor.transports.add(self.transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.floor.transports.discard(self.transport)


class Floor:
    """K fresh frames per loop iteration, one joined write per connection."""

    def __init__(self, loop: asyncio.AbstractEventLoop, market: str, batch: int):
        self.loop = loop
        self.payloads = Payloads(market)
        self.batch = batch
        self.transports: set[asyncio.Transport] = set()
        self.interval: float | None = None  # None: as fast as possible
        self.next_at = 0.0
        self.handle: asyncio.Handle | None = None
        self.generation = 0
        self.dropped = 0

    def run(self, rate: float | None) -> None:
        """Produce at `rate` delivered msg/s (summed over connections), or flat out."""
        if self.handle is not None:
            self.handle.cancel()
        self.generation += 1
        if rate is None:
            self.interval = None
        else:
            self.interval = self.batch * max(1, len(self.transports)) / rate
        self.next_at = self.loop.time()
        self.handle = self.loop.call_soon(self.tick, self.generation)

    def pause(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
        self.generation += 1

    def tick(self, generation: int) -> None:
        if generation != self.generation:
            return
        event_ms = time.time_ns() // 1_000_000
        make = self.payloads.make
        data = b"".join([frame(make(event_ms)) for _ in range(self.batch)])
        limit = FLOOR_BUFFER_LIMIT
        for t in tuple(self.transports):
            if t.get_write_buffer_size() > limit:
                # Outrunning the clients: skip this batch for this connection rather than
                # drop it, so the floor's delivered rate is what the clients can take.
                self.dropped += 1
                continue
            t.write(data)
        if self.interval is None:
            self.handle = self.loop.call_soon(self.tick, generation)
        else:
            self.next_at += self.interval
            now = self.loop.time()
            if self.next_at < now - 0.05:
                self.next_at = now  # far behind: do not burst to catch up
            # libuv timers have 1 ms resolution: a late tick is made up by the next one
            # running at once, so the mean rate holds with K messages per iteration.
            self.handle = self.loop.call_at(self.next_at, self.tick, generation)


async def floor_async(conn: Connection, market: str, batch: int, life_s: float) -> None:
    loop = asyncio.get_running_loop()
    floor = Floor(loop, market, batch)
    server = await loop.create_server(lambda: FloorConn(floor), HOST, 0, backlog=4096)
    conn.send(("port", server.sockets[0].getsockname()[1]))
    done: asyncio.Future[None] = loop.create_future()

    def finish() -> None:
        if not done.done():
            done.set_result(None)

    def on_command() -> None:
        try:
            cmd = conn.recv()
        except (EOFError, OSError):
            finish()
            return
        if cmd[0] == "run":
            floor.run(cmd[1])
        elif cmd[0] == "pause":
            floor.pause()
        elif cmd[0] == "status":
            conn.send({"connections": len(floor.transports), "dropped": floor.dropped})
        elif cmd[0] == "exit":
            finish()

    loop.add_reader(conn.fileno(), on_command)
    loop.call_later(life_s, finish)
    try:
        await done
    finally:
        floor.pause()
        loop.remove_reader(conn.fileno())
        server.close()
        for t in tuple(floor.transports):
            t.abort()
        await asyncio.sleep(0)


def floor_main(conn: Connection, market: str, batch: int, life_s: float) -> None:
    child_setup(SERVER_CPU)
    try:
        uvloop.run(floor_async(conn, market, batch, life_s))
    finally:
        conn.close()


# --------------------------------------------------------------------------- phases


@dataclass
class Result:
    """One server's row of the table."""

    name: str
    max: Window | None = None
    half: Window | None = None
    half_target: float = 0.0
    note: str = ""
    errors: list[str] = field(default_factory=list)


def show(label: str, w: Window) -> None:
    extra = f", {w.pings} pings answered" if w.pings else ""
    if w.closed:
        reasons = ", ".join(f"{n}x {r!r}" for r, n in Counter(w.close_reasons).most_common(3))
        extra += f"; {w.closed} connections CLOSED during the window ({reasons})"
    print(
        f"  {label}: {w.rate:,.0f} msg/s over {w.connections} conns, "
        f"p50 {w.p50_ms:.2f} ms, p99 {w.p99_ms:.2f} ms ({w.samples:,} samples), "
        f"{w.frames_per_chunk:.1f} frames/read, server CPU {w.server_cpu:.0%}, "
        f"client CPU {w.client_cpu:.0%}, other processes {w.other_cpu:.0%}{extra}",
        flush=True,
    )


def run_floor(args: argparse.Namespace, result: Result) -> None:
    """Fill `result` as the phases complete, so an interrupted run still reports them."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe()
    life = 4 * args.seconds + 2 * args.warmup + 60
    proc = ctx.Process(target=floor_main, args=(child, args.market, args.floor_batch, life), daemon=True)
    proc.start()
    child.close()
    pool: ClientPool | None = None
    pid = proc.pid or 0
    try:
        port = recv(parent, 10.0, "the floor to listen")[1]
        print(f"floor listening on ws://{HOST}:{port}/ (pid {pid}, CPU {SERVER_CPU})", flush=True)
        pool = ClientPool(port, "/ws/floor", args.connections, args.client_procs, life)
        pool.wait_ready()
        parent.send(("run", None))
        result.max = pool.measure(args.seconds, args.warmup, lambda: [pid])
        show("max ", result.max)
        result.half_target = result.max.rate / 2
        parent.send(("run", result.half_target))
        result.half = pool.measure(args.seconds, args.warmup, lambda: [pid])
        show("half", result.half)
        parent.send(("status",))
        status = recv(parent, 5.0, "floor status")
        if status["dropped"]:
            result.errors.append(
                f"the floor skipped {status['dropped']} batches to connections whose buffer was "
                f"over {FLOOR_BUFFER_LIMIT // 1024} KiB: it outran the clients"
            )
    except (RuntimeError, TimeoutError, OSError, EOFError) as exc:
        result.errors.append(f"{type(exc).__name__}: {exc}")
        print(f"  ! floor: {exc}", flush=True)
    finally:
        if pool is not None:
            pool.close()
        with contextlib.suppress(OSError, ValueError):
            parent.send(("exit",))
        reap([proc])
        parent.close()


def um_symbols(args: argparse.Namespace) -> list[str]:
    if args.symbols:
        return [s.strip().lower() for s in args.symbols.split(",") if s.strip()]
    sys.path.insert(0, str(REPO / "src"))
    from tickerplant.market import instruments  # optional: only the um server phase

    catalogue: Any = getattr(instruments, "catalogue")(  # noqa: B009 - may not exist yet
        instruments.Market.UM, time.time_ns() // 1_000_000
    )
    items = catalogue.values() if isinstance(catalogue, Mapping) else catalogue
    return sorted({str(getattr(i, "symbol", i)).lower() for i in items})


def stream_path(args: argparse.Namespace) -> str:
    if args.market == "cm":
        return "/ws/!bookTicker"
    return "/ws/" + "/".join(f"{s}@bookTicker" for s in um_symbols(args))




def server_usable() -> str | None:
    """None when `python -m tickerplant serve --help` works, else why not."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tickerplant", "serve", "--help"],
            env=server_env(),
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
            cwd=REPO,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{type(exc).__name__}: {exc}"
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return f"`serve --help` exited {done.returncode}: {lines[-1] if lines else ''}"
    return None


@contextlib.contextmanager
def server_session(args: argparse.Namespace, sim_rate: str, path: str) -> Iterator[Callable[[float], Window]]:
    """Start the server, connect the clients, yield `measure(seconds)`; stop everything."""
    server = ServerProcess(["--seed", "1", "--sim-rate", sim_rate, *args.server_arg], server_preexec)
    pool: ClientPool | None = None
    port = server.cm_port if args.market == "cm" else server.um_port
    try:
        server.wait_listening(args.server_start_timeout, [port])
        print(
            f"server --sim-rate {sim_rate} listening on ws://{HOST}:{port}{path[:60]} "
            f"(pid {server.proc.pid}, CPU {SERVER_CPU})",
            flush=True,
        )
        life = 2 * args.seconds + args.warmup + 60
        pool = ClientPool(port, path, args.connections, args.client_procs, life)
        pool.wait_ready()
        live = pool
        yield lambda seconds: live.measure(seconds, args.warmup, server.pids)
        if server.proc.poll() is not None:
            print(f"  ! server exited with {server.proc.returncode}: {server.tail()}")
    finally:
        if pool is not None:
            pool.close()
        server.stop()


def run_server(args: argparse.Namespace, result: Result) -> None:
    """Fill `result` as the phases complete, so an interrupted run still reports them."""
    why = server_usable()
    if why is not None:
        result.note = f"server not run: {why}"
        print(f"  ! {result.note}", flush=True)
        return
    try:
        path = stream_path(args)
    except Exception as exc:  # the catalogue may not exist yet
        result.note = f"server not run: no USDⓈ-M symbol list ({exc}); pass --symbols"
        print(f"  ! {result.note}", flush=True)
        return
    n = args.connections
    try:
        # 1. Flat out.
        with server_session(args, args.sim_rate_max, path) as measure:
            result.max = measure(args.seconds)
            show("max ", result.max)
        target = result.half_target = result.max.rate / 2
        # 2. Calibrate messages per simulator action, at a rate that is surely below the
        #    maximum if each action yields at most one message per connection.
        calib_rate = max(1, round(target / n / 2))
        with server_session(args, str(calib_rate), path) as measure:
            w = measure(args.calibration_seconds)
            show(f"calibration at --sim-rate {calib_rate}", w)
        per_action = w.rate / calib_rate
        if per_action <= 0:
            raise RuntimeError("the calibration run delivered nothing")
        # 3. Half rate; one correction if the first guess lands more than 15 % off.
        rate = max(1, round(target / per_action))
        for attempt in range(2):
            with server_session(args, str(rate), path) as measure:
                w = measure(args.seconds)
                show(f"half at --sim-rate {rate}", w)
            result.half = w
            result.note = f"half rate at --sim-rate {rate}; {per_action / n:.3f} msg/action/conn"
            off = w.rate / target
            if attempt or 0.85 <= off <= 1.15 or w.rate <= 0:
                break
            rate = max(1, round(rate / off))
    except (RuntimeError, TimeoutError, OSError, EOFError) as exc:
        result.errors.append(f"{type(exc).__name__}: {exc}")
        print(f"  ! server: {exc}", flush=True)


# --------------------------------------------------------------------------- report


def fmt_rate(w: Window | None) -> str:
    return f"{w.rate:,.0f}" if w else "-"


def fmt_ms(w: Window | None) -> str:
    return f"{w.p50_ms:.2f} / {w.p99_ms:.2f}" if w else "-"


def report(args: argparse.Namespace, floor: Result | None, server: Result | None) -> None:
    rows = [r for r in (server, floor) if r is not None]
    width = max([len(r.name) for r in rows] + [30])
    print()
    print(
        f"Fan-out of bookTicker to {args.connections} connections ({args.market}), "
        f"server on CPU {SERVER_CPU}, {args.client_procs} client procs on CPU {CLIENT_CPU}, "
        f"{args.seconds:g} s windows"
    )
    head = (
        f"{'':<{width}}  {'max msg/s':>12}  {'p50 / p99 ms':>14}  "
        f"{'half target':>12}  {'half msg/s':>12}  {'p50 / p99 ms':>14}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        target = f"{r.half_target:,.0f}" if r.half else "-"
        print(
            f"{r.name:<{width}}  {fmt_rate(r.max):>12}  {fmt_ms(r.max):>14}  "
            f"{target:>12}  {fmt_rate(r.half):>12}  {fmt_ms(r.half):>14}"
        )
    print()
    s_max = server.max if server else None
    f_max = floor.max if floor else None
    if s_max and f_max and f_max.rate > 0:
        ratio = s_max.rate / f_max.rate
        verdict = "PASS" if ratio >= TARGET_RATIO else "FAIL"
        print(f"delivered rate, server / floor: {ratio:.2f}   target >= {TARGET_RATIO}   {verdict}")
    else:
        print(f"delivered rate, server / floor: n/a   target >= {TARGET_RATIO}   NOT MEASURED")
    s_half = server.half if server else None
    if s_half and not math.isnan(s_half.p99_ms):
        verdict = "PASS" if s_half.p99_ms <= TARGET_P99_MS else "FAIL"
        print(
            f"server p99 latency at half rate: {s_half.p99_ms:.2f} ms   "
            f"target <= {TARGET_P99_MS:g} ms   {verdict}"
        )
    else:
        print(f"server p99 latency at half rate: n/a   target <= {TARGET_P99_MS:g} ms   NOT MEASURED")
    f_half = floor.half if floor else None
    if f_half and not math.isnan(f_half.p99_ms):
        print(f"floor p99 latency at half rate: {f_half.p99_ms:.2f} ms   (reference)")
        if f_half.p99_ms > TARGET_P99_MS:
            print(
                f"  the floor itself is over {TARGET_P99_MS:g} ms here: writing one batch to "
                f"{args.connections} sockets, and reading them back on one client core, takes "
                "that long; compare the server with the floor, or run fewer --connections"
            )
    for r in rows:
        for line in ([r.note] if r.note else []) + r.errors:
            print(f"note, {r.name}: {line}")
    for r in rows:
        for label, w in (("max", r.max), ("half", r.half)):
            if w is None:
                continue
            if w.closed:
                print(f"WARNING: {r.name} {label}: {w.closed} connections closed in the window")
            if w.other_cpu > 0.05:
                print(
                    f"WARNING: {r.name} {label}: other processes used {w.other_cpu:.0%} of a "
                    "core during the window; the figures are disturbed"
                )
            if w.client_cpu > 0.9 and w.server_cpu < 0.9:
                print(
                    f"WARNING: {r.name} {label}: clients used {w.client_cpu:.0%} of CPU "
                    f"{CLIENT_CPU}; the rate may be bound by the clients, not the server"
                )
    print(
        "latency = receipt time - payload E (integer ms, truncated): about +0.5 ms of bias, 1 ms resolution."
    )


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--connections", type=int, default=None, help="default 1000 (100 --quick)")
    p.add_argument("--seconds", type=float, default=None, help="measurement window (10; 3)")
    p.add_argument("--warmup", type=float, default=None, help="before each window (1; 0.5)")
    p.add_argument("--calibration-seconds", type=float, default=None, help="(3; 1.5)")
    p.add_argument("--market", choices=("cm", "um"), default="cm")
    p.add_argument("--client-procs", type=int, default=4)
    p.add_argument(
        "--floor-batch",
        type=int,
        default=None,
        help="K messages per iteration (default: the server's measured frames per read, so both "
        "are coalesced the same way; 10 with --skip-server)",
    )
    p.add_argument("--symbols", default="", help="um: comma-separated symbols to subscribe")
    p.add_argument("--sim-rate-max", default="max", help="--sim-rate of the max run")
    p.add_argument("--server-start-timeout", type=float, default=30.0)
    p.add_argument(
        "--server-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for `tickerplant serve`, repeatable (--server-arg=--ping-interval=1)",
    )
    p.add_argument("--skip-floor", action="store_true")
    p.add_argument("--skip-server", action="store_true")
    p.add_argument("--quick", action="store_true", help="100 connections, 3 s windows")
    args = p.parse_args(argv)
    quick = args.quick
    for name, full, small in (
        ("connections", 1000, 100),
        ("seconds", 10.0, 3.0),
        ("warmup", 1.0, 0.5),
        ("calibration_seconds", 3.0, 1.5),
    ):
        if getattr(args, name) is None:
            setattr(args, name, small if quick else full)
    if args.connections < 1 or args.seconds <= 0 or (args.floor_batch is not None and args.floor_batch < 1):
        p.error("--connections, --seconds and --floor-batch must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_nofile()
    cpus = os.sched_getaffinity(0)
    if not {SERVER_CPU, CLIENT_CPU} <= cpus:
        print(f"! CPUs {SERVER_CPU} and {CLIENT_CPU} are not both available ({sorted(cpus)})")
    pin(CLIENT_CPU)  # this process is client-side too (it mostly sleeps)

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    t0 = time.monotonic()
    floor: Result | None = None
    server = None if args.skip_server else Result(f"tickerplant serve ({args.market})")
    try:
        if server is not None:
            print("== server", flush=True)
            run_server(args, server)
        if not args.skip_floor:
            if args.floor_batch is None:
                # Coalesce the floor as the server did flat out, so the ratio compares the
                # work per message, not the size of the writes.
                measured = server.max.frames_per_chunk if server is not None and server.max else 10.0
                args.floor_batch = max(1, round(measured))
            floor = Result(f"floor: raw uvloop, K={args.floor_batch}")
            print("== floor", flush=True)
            run_floor(args, floor)
    except KeyboardInterrupt:
        print("\ninterrupted; subprocesses stopped", flush=True)
    finally:
        for child in mp.active_children():  # belt and braces: nothing outlives the run
            child.kill()
    report(args, floor, server)
    print(f"(total {time.monotonic() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
