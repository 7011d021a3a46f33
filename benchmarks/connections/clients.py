"""The connections benchmark's clients, in processes of their own on CPU 1, so that the load
generator is not what sets the figures:

- **holders** (``holder_async``, niced): raw sockets that do the WebSocket handshake and are
  then only drained, a ``recv`` per ready socket every ``DRAIN_EVERY_S`` from an epoll of
  their own (no callback, no frame parsing per message): thousands of connections for a
  fraction of a core. Each binds a loopback address of its own (``127.0.0.<10+i>``), so the
  ephemeral ports of one address are never the limit;
- the **probe** (``probe_async``, not niced): a few subscribers that take a latency sample
  from every read (``fanout.clients.WsClient``: receipt time minus the payload's ``"E"``),
  and bursts of new connections, each timed from ``connect()`` to the end of the ``101``
  (or whatever status came instead: a ``503`` past the file descriptor limit).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import socket
import struct
import time
from collections import Counter
from multiprocessing.connection import Connection
from typing import Any

from ..fanout.clients import ClientSpec, Stats, open_client
from ..harness.commands import serve
from ..harness.processes import HOST

DRAIN_EVERY_S = 0.05  # how often a holder reads what its connections got
_KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
_LINGER_0 = struct.pack("ii", 1, 0)  # closed with a reset: no TIME_WAIT left behind


def upgrade(path: str) -> bytes:
    return (
        b"GET %b HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: %b\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path.encode(), _KEY)
    )


def _status(head: bytes) -> str:
    parts = head.split(b" ", 2)
    return parts[1].decode("ascii", "replace") if len(parts) > 1 else "?"


def _abort(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_0)
    sock.close()


async def handshake(
    loop: asyncio.AbstractEventLoop, port: int, source: str, opening: bytes, timeout_s: float
) -> tuple[socket.socket | None, str, float]:
    """(the socket once upgraded, or None; the status or the error; seconds from connect() to
    the end of the answer's head)."""
    sock = socket.socket()
    sock.setblocking(False)
    started = time.perf_counter()
    try:
        sock.bind((source, 0))
        async with asyncio.timeout(timeout_s):
            await loop.sock_connect(sock, (HOST, port))
            await loop.sock_sendall(sock, opening)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = await loop.sock_recv(sock, 4096)
                if not chunk:
                    raise ConnectionError("closed before an answer")
                head += chunk
    except (OSError, TimeoutError, ConnectionError) as exc:
        _abort(sock)
        return None, type(exc).__name__, time.perf_counter() - started
    status = _status(head)
    if status != "101":
        _abort(sock)
        return None, status, time.perf_counter() - started
    return sock, status, time.perf_counter() - started


async def holder_async(pipe: Connection, port: int, path: str, source: str, life_s: float) -> None:
    """Commands: ("grow", n, concurrency, deadline_s) -> {opened, errors}; ("release", n):
    close n of them; ("count",) -> {open, closed}."""
    with contextlib.suppress(OSError):
        os.nice(10)  # the probe, on the same CPU, measures; the holders only hold
    loop = asyncio.get_running_loop()
    opening = upgrade(path)
    poller = select.epoll()
    held: dict[int, socket.socket] = {}
    closed = [0]
    buffer = bytearray(256 * 1024)

    def drain() -> None:
        for fd, _ in poller.poll(0, 100_000):
            sock = held.get(fd)
            if sock is None:
                continue
            try:
                got = sock.recv_into(buffer)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                got = 0
            if not got:
                poller.unregister(fd)
                del held[fd]
                _abort(sock)
                closed[0] += 1

    async def drainer() -> None:
        while True:
            drain()
            await asyncio.sleep(DRAIN_EVERY_S)

    async def grow(n: int, concurrency: int, deadline_s: float) -> None:
        gate = asyncio.Semaphore(concurrency)
        errors: Counter[str] = Counter()
        until = loop.time() + deadline_s
        opened = 0

        async def one() -> None:
            nonlocal opened
            async with gate:
                left = until - loop.time()
                if left <= 0:
                    errors["not tried: the step's time ran out"] += 1
                    return
                sock, status, _ = await handshake(loop, port, source, opening, left)
                if sock is None:
                    errors[status] += 1
                    return
                held[sock.fileno()] = sock
                poller.register(sock.fileno(), select.EPOLLIN)
                opened += 1

        await asyncio.gather(*(one() for _ in range(n)))
        pipe.send({"opened": opened, "errors": dict(errors)})

    tasks: set[asyncio.Task[None]] = set()

    def start_growing(n: int, concurrency: int, deadline_s: float) -> None:
        task = loop.create_task(grow(n, concurrency, deadline_s))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def release(n: int) -> None:
        for fd in list(held)[:n]:
            poller.unregister(fd)
            _abort(held.pop(fd))

    reader = loop.create_task(drainer())
    pipe.send(("ready",))
    try:
        await serve(
            pipe,
            {
                "grow": start_growing,
                "release": release,
                "count": lambda: {"open": len(held), "closed": closed[0]},
            },
            life_s,
        )
    finally:
        reader.cancel()
        for sock in held.values():
            _abort(sock)
        poller.close()


async def probe_async(pipe: Connection, port: int, path: str, subscribers: int, life_s: float) -> None:
    """``subscribers`` latency connections, then commands: ("start",); ("stop",) -> the
    latency histogram since "start"; ("burst", n, timeout_s) -> each of n new connections'
    handshake time and status, all opened at once and closed once all are done."""
    loop = asyncio.get_running_loop()
    stats = Stats()
    spec = ClientSpec(port, path, subscribers, 30.0, life_s)
    transports = [await open_client(loop, stats, spec) for _ in range(subscribers)]
    opening = upgrade(path)
    window = {"t": time.perf_counter()}

    def start() -> None:
        stats.reset()
        window["t"] = time.perf_counter()

    def stop() -> dict[str, Any]:
        hist = {i: c for i, c in enumerate(stats.hist) if c}
        return {"frames": stats.frames, "elapsed": time.perf_counter() - window["t"], "hist": hist}

    async def burst(n: int, timeout_s: float) -> None:
        t0 = time.perf_counter()
        done = await asyncio.gather(
            *(handshake(loop, port, "127.0.0.2", opening, timeout_s) for _ in range(n))
        )
        elapsed = time.perf_counter() - t0
        for sock, _, _ in done:
            if sock is not None:
                _abort(sock)
        pipe.send({
            "seconds": [s for _, _, s in done], "statuses": dict(Counter(st for _, st, _ in done)),
            "elapsed": elapsed,
        })  # fmt: skip

    tasks: set[asyncio.Task[None]] = set()

    def start_burst(n: int, timeout_s: float) -> None:
        task = loop.create_task(burst(n, timeout_s))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    pipe.send(("ready", len(transports)))
    try:
        await serve(pipe, {"start": start, "stop": stop, "burst": start_burst}, life_s)
    finally:
        for transport in transports:
            transport.abort()
