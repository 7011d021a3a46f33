"""Soak: waves of thousands of connections, slow consumers and malformed clients against
`tickerplant serve`, the server's RSS after each wave, and a healthy client's latency
throughout.

    python -m benchmarks soak                  # waves of 5,000 for at least 5 min, ~6 min
    python -m benchmarks soak --quick          # 3 waves of 500, ~1 min
    python -m benchmarks soak --connections N --minutes M --hold S

The server under test (`python -m tickerplant serve --send-buffer 1048576`, its request
weight out of the way) runs alone on CPU 0. On CPU 1, a healthy client (its own process)
asks the WebSocket API for `time` every 20 ms on one connection and records each round
trip; the benchmark opens each wave (`--connections`, 200 handshakes at a time):

- 80 % stream subscribers of `btcusdt@bookTicker` that read everything;
- 10 % slow consumers of ten symbols' book tickers and depth that never read (a 4 KiB
  receive buffer, the socket never read): the server cuts them off past the send buffer,
  and aborts them after the close timeout. At the default market rate one is sent some
  60 KB a second, which the kernel's send buffer (autotuned up to 4 MiB over loopback)
  takes for a whole 20 s hold, so few or none are cut: `cut` says how many were;
- 10 % malformed clients: a frame picows refuses, a text that is not JSON, a request head
  too long; each is answered and closed.

Each wave holds `--hold` seconds, then every connection is closed. (`cut`: the slow
consumers the server cut off in the wave, read from its `/metrics`; a client that does not
read never sees its cut, so the clients' own tally cannot tell.) Once the server has
finished with the wave (none of its connections left on the server's side: accepted and not
yet closed, or still waiting in the listen backlog; `done s`, at most 60 s) and `--settle`
seconds more, the server's RSS is read. (A server that accepts a wave more slowly than it
comes holds a few thousand of its connections in the backlog, already closed by their
clients: on a busy machine it took 5 s and more after the clients had closed to accept and
close them, and a reading a fixed 7 s after the clients' closes came now before the
server's allocator trim, now after it: 177.6 MB after one wave, 195.9 MB after the next.)
Waves repeat until `--minutes` have passed (and at least `--waves`). Target: RSS after the
last wave under 10 % above the first wave's. The healthy client's p50, p99 and max round
trip are printed per wave and over the run.

The market's own stores are at their steady size from the start (docs/operations.md, "Limits and
hardening"), so an idle server does not grow: `tickerplant serve` with no connection at
all, RSS 213.0 MB from 40 s to 6 min after its start. (Before, its stores filled over the
first minutes, the books' hash tables, the market views' books and klines, the simulator's
positions: 192.7 MB at 40 s, 203.4 MB at 6 min, +5.6 %.)
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import math
import re
import socket
import struct
import time
import urllib.request
from array import array
from collections import Counter
from multiprocessing.connection import Connection
from typing import cast

import uvloop

from ..harness.accounting import DISTURBED, cpu_use, proc_table, rss_mb
from ..harness.catalogue import um_symbols
from ..harness.commands import Child, serve
from ..harness.processes import (
    CLIENT_CPU,
    HOST,
    REPO,
    SERVER_CPU,
    check_cpus,
    pin,
    raise_nofile,
    serving,
    supervised,
)
from ..harness.report import Column, Table, Target, verdict
from ..ws_api.clients import quantile

TARGET = Target(10.0, at_least=False, unit=" %")  # RSS growth, first wave to last
_KEY = b"dGhlIHNhbXBsZSBub25jZQ=="


def _upgrade(path: str) -> bytes:
    return (
        b"GET %b HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: %b\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path.encode(), _KEY)
    )


def _masked_text(payload: bytes) -> bytes:
    return bytes((0x81, 0x80 | len(payload))) + bytes(4) + payload  # a zero mask key


MALFORMED = (
    _upgrade("/ws") + b"\x81\x02{}",  # unmasked: 1002
    _upgrade("/ws") + _masked_text(b"not json"),  # code 3, then 1008
    b"GET /" + b"a" * 17_000 + b" HTTP/1.1\r\n\r\n",  # 414
)


class Slow:
    """A slow consumer: its socket sends the upgrade and is never read, never handed to a
    transport. (A transport paused in ``connection_made`` read all the same on uvloop, which
    starts reading after ``connection_made`` returns: the "slow consumers" of earlier runs read
    everything, and the server never cut one.)"""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def close(self) -> None:
        """The end of the wave: aborted (a reset, as ``transport.abort`` would)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


class Peer(asyncio.Protocol):
    """A load connection that reads: sends its opening bytes, reads everything."""

    def __init__(self, opening: bytes, reads: bool, tally: Counter[str]) -> None:
        self.opening = opening
        self.reads = reads
        self.tally = tally
        self.transport: asyncio.Transport | None = None
        self.closed_by_us = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.opening)

    def data_received(self, data: bytes) -> None:
        pass

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            self.tally[type(exc).__name__] += 1
        elif not self.closed_by_us:
            self.tally["closed by the server"] += 1

    def close(self) -> None:
        """The end of the wave: it closes."""
        self.closed_by_us = True
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


async def wave(port: int, connections: int, hold_s: float, symbols: list[str]) -> tuple[Counter[str], float]:
    """Open a wave, hold it, close what is left; what happened, and the seconds to open it."""
    loop = asyncio.get_running_loop()
    tally: Counter[str] = Counter()
    gate = asyncio.Semaphore(200)
    peers: list[Peer | Slow] = []
    heavy = "/stream?streams=" + "/".join(
        f"{s.lower()}@bookTicker/{s.lower()}@depth20@100ms" for s in symbols
    )

    async def one(index: int) -> None:
        kind = index % 10
        if kind == 8:
            opening, reads, name = _upgrade(heavy), False, "slow consumers"
        elif kind == 9:
            opening, reads, name = MALFORMED[index // 10 % len(MALFORMED)], True, "malformed"
        else:
            opening, reads, name = _upgrade("/ws/btcusdt@bookTicker"), True, "subscribers"
        async with gate:
            try:
                sock = socket.socket()
                if not reads:  # set before connecting, so the window is small from the start
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                sock.setblocking(False)
                await loop.sock_connect(sock, (HOST, port))
                peer: Peer | Slow
                if reads:
                    _, protocol = await loop.create_connection(
                        functools.partial(Peer, opening, reads, tally), sock=sock
                    )
                    peer = protocol
                else:
                    await loop.sock_sendall(sock, opening)
                    peer = Slow(sock)
            except OSError as exc:
                sock.close()
                tally[f"connect {type(exc).__name__}"] += 1
                return
        tally[name] += 1
        peers.append(peer)

    started = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(connections)))
    opened_s = time.monotonic() - started
    await asyncio.sleep(hold_s)
    for peer in peers:
        peer.close()
    await asyncio.sleep(0.5)
    return tally, opened_s


# --------------------------------------------------------------------------- the healthy client


class Healthy(asyncio.Protocol):
    """One WebSocket API connection asking `time` every 20 ms; the round trips in seconds."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.upgraded = False
        self.sent = 0.0
        self.lat = array("d")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(_upgrade("/ws-fapi/v1"))

    def ask(self) -> None:
        if self.transport is not None and self.upgraded and not self.sent:
            self.sent = time.perf_counter()
            self.transport.write(_masked_text(b'{"id":1,"method":"time"}'))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded:
            _, sep, rest = self.buffer.partition(b"\r\n\r\n")
            if not sep:
                return
            self.upgraded, self.buffer = True, rest
        while len(self.buffer) >= 2:
            size = self.buffer[1] & 0x7F
            at = 2 if size < 126 else 4 if size == 126 else 10
            if size >= 126:
                size = int.from_bytes(self.buffer[2:at], "big")
            if len(self.buffer) < at + size:
                return
            opcode = self.buffer[0] & 0x0F
            self.buffer = self.buffer[at + size :]
            if opcode == 0x1 and self.sent:
                self.lat.append(time.perf_counter() - self.sent)
                self.sent = 0.0
            elif opcode == 0x9 and self.transport is not None:  # the server's ping: answer it
                self.transport.write(bytes((0x8A, 0x80)) + bytes(4))


async def healthy_async(conn: Connection, port: int, life_s: float) -> None:
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(Healthy, HOST, port)
    healthy = cast(Healthy, client)
    running = True

    async def asking() -> None:
        while running:
            healthy.ask()
            await asyncio.sleep(0.02)

    task = loop.create_task(asking())
    conn.send(("ready",))

    def stats() -> list[float]:
        taken = list(healthy.lat)
        del healthy.lat[:]
        return taken

    try:
        await serve(conn, {"stats": stats}, life_s)
    finally:
        running = False
        task.cancel()


# --------------------------------------------------------------------------- the run


_HELD = {"01", "08"}  # ESTABLISHED, CLOSE_WAIT: the server has not closed the connection yet


def held_connections(port: int) -> int:
    """TCP connections to ``port`` the server still holds: accepted and open, or waiting in
    its listen backlog (where a connection its client has closed waits in CLOSE_WAIT)."""
    wanted = f":{port:04X}"
    held = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as rows:
                next(rows, None)
                for row in rows:
                    fields = row.split(None, 4)
                    if fields[1].endswith(wanted) and fields[3] in _HELD:
                        held += 1
        except OSError:
            continue
    return held


def wait_done(port: int, baseline: int, timeout_s: float = 60.0) -> float:
    """Seconds until the server holds no more connections than ``baseline`` (at most
    ``timeout_s``)."""
    started = time.monotonic()
    while held_connections(port) > baseline and time.monotonic() - started < timeout_s:
        time.sleep(0.1)
    return time.monotonic() - started


_CUTS = re.compile(rb'^tickerplant_slow_consumer_cuts_total\{market="um"\} ([0-9.e+]+)$', re.M)


def slow_consumer_cuts(admin_port: int) -> int | None:
    """The server's slow-consumer cuts so far on its USD-M listener (its admin listener's
    `/metrics`), or None if it does not answer."""
    try:
        with urllib.request.urlopen(f"http://{HOST}:{admin_port}/metrics", timeout=5.0) as answer:
            found = _CUTS.search(answer.read())
    except OSError:
        return None
    return None if found is None else int(float(found.group(1)))


def _admin_port(args: list[str]) -> int:
    return int(args[args.index("--admin-port") + 1])


def _ms(values: list[float], q: float) -> float:
    return quantile(sorted(values), q) * 1000 if values else math.nan


def run(
    connections: int, minutes: float, waves: int, hold_s: float, settle_s: float, extra: list[str]
) -> None:
    args = ["--send-buffer", "1048576", "--request-weight", str(10**12), "--log-level", "WARNING", *extra]
    print(f"server: tickerplant serve {' '.join(args)}  (CPU {SERVER_CPU}; clients on CPU {CLIENT_CPU})")
    pin(CLIENT_CPU)
    raise_nofile()
    symbols = um_symbols()[:10]
    with serving(args, 120.0) as server:
        pid = server.proc.pid
        admin_port = _admin_port([str(arg) for arg in cast(list[str], server.proc.args)])
        time.sleep(5.0)
        start_rss = rss_mb(pid)
        healthy = Child(CLIENT_CPU, healthy_async, server.um_port, minutes * 60 + 600)
        rows: list[list[str]] = []
        rss_after: list[float] = []
        every: list[float] = []
        t0 = time.monotonic()
        table0 = proc_table()
        try:
            healthy.recv(30.0, "the healthy client")
            index = 0
            cuts_before = slow_consumer_cuts(admin_port)
            while index < waves or time.monotonic() - t0 < minutes * 60:
                index += 1
                peak = rss_mb(pid)
                baseline = held_connections(server.um_port)  # the healthy client's
                tally, opened_s = uvloop.run(wave(server.um_port, connections, hold_s, symbols))
                peak = max(peak, rss_mb(pid))
                done_s = wait_done(server.um_port, baseline)
                time.sleep(settle_s)
                rss_after.append(rss_mb(pid))
                lat = healthy.ask(10.0, "latencies", "stats")
                every += lat
                cuts = slow_consumer_cuts(admin_port)
                cut = "?" if cuts is None or cuts_before is None else f"{cuts - cuts_before}"
                cuts_before = cuts
                seen = " ".join(f"{k}={v}" for k, v in sorted(tally.items()))
                rows.append([
                    f"{index}", f"{time.monotonic() - t0:.0f}", f"{opened_s:.1f}", f"{done_s:.1f}",
                    f"{peak:.1f}", f"{rss_after[-1]:.1f}", f"{_ms(lat, 0.5):.2f}", f"{_ms(lat, 0.99):.2f}",
                    f"{max(lat, default=math.nan) * 1000:.1f}", cut, seen,
                ])  # fmt: skip
                print(
                    f"  wave {index}: RSS after {rss_after[-1]:.1f} MB, healthy p99 {_ms(lat, 0.99):.2f} ms",
                    flush=True,
                )
                if server.exited() is not None:
                    break
        finally:
            healthy.close()
        cpu = cpu_use(table0, proc_table(), set(server.pids()), {healthy.pid}, time.monotonic() - t0)
    print()
    print(f"RSS before the first wave {start_rss:.1f} MB")
    table = Table([
        Column("wave", 4), Column("at s", 5), Column("open s", 6), Column("done s", 6), Column("peak MB", 8),
        Column("after MB", 8), Column("p50 ms", 7), Column("p99 ms", 7), Column("max ms", 7),
        Column("cut", 4), Column("connections", 40, left=True),
    ])  # fmt: skip
    table.print(rows)
    print(f"\nhealthy client over the run: {len(every)} round trips, p50 {_ms(every, 0.5):.2f} ms, "
          f"p99 {_ms(every, 0.99):.2f} ms, max {max(every, default=math.nan) * 1000:.1f} ms")  # fmt: skip
    print(f"server CPU {cpu.server:.0%} of a core; other processes {cpu.others:.0%}")
    if cpu.others > DISTURBED:
        print(f"WARNING: other processes used {cpu.others:.0%} of a core: the machine was shared")
    growth = (rss_after[-1] / rss_after[0] - 1) * 100 if len(rss_after) > 1 else None
    print(verdict("RSS growth, first wave to last", growth, TARGET, digits=1))
    print(f"(repo {REPO.name})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks soak",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="3 waves of 500, 5 s each")
    parser.add_argument("--connections", type=int, default=None, help="connections a wave (5,000; 500)")
    parser.add_argument("--minutes", type=float, default=None, help="run at least this long (5; 0)")
    parser.add_argument("--waves", type=int, default=3, help="and at least this many waves (3)")
    parser.add_argument("--hold", type=float, default=None, help="seconds a wave is held open (20; 5)")
    parser.add_argument(
        "--settle", type=float, default=7.0, help="seconds after the server finished a wave, before RSS (7)"
    )
    parser.add_argument(
        "--server-arg", action="append", default=[], help="an extra `serve` flag (repeatable)"
    )
    args = parser.parse_args(argv)
    connections = args.connections or (500 if args.quick else 5_000)
    minutes = args.minutes if args.minutes is not None else (0.0 if args.quick else 5.0)
    hold = args.hold if args.hold is not None else (5.0 if args.quick else 20.0)
    check_cpus()
    t0 = time.monotonic()
    with supervised():
        run(connections, minutes, args.waves, hold, args.settle, args.server_arg)
    print(f"(total {time.monotonic() - t0:.0f} s)")
    return 0
