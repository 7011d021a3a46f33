"""Hoard: clients that never read, together, against the process' bound on unsent bytes.

    python -m benchmarks hoard [--quick] [--clients 1000] [--bound-mb 256] [--hold 20]

``tickerplant serve --sim-rate 4000 --send-buffer-total <bound>`` on CPU 0. On CPU 1, a probe
(``stall.probe``: a `btcusdt@bookTicker` subscriber and a WebSocket API client) and
``--clients`` raw sockets that each subscribe to ten symbols' `@bookTicker` and `@depth@0ms`
with a 4 KiB receive buffer and never read: once the kernel's send buffer of each is
full (autotuned up to 4 MiB over loopback), what the server has not sent is its own memory,
8 MiB a connection at most (``--send-buffer``), and the process' bound together. They hold
``--hold`` seconds, then close. The server's RSS is read every 0.5 s: before (the idle
baseline, the floor), its peak while they hold, and after they are gone and the server has
trimmed its heap. Targets: peak <= baseline + bound; after within 20 % of the baseline; the
healthy subscriber's largest gap <= 100 ms while they hold (its gap while they connect, a
thousand handshakes, is printed apart). (Connections shed for the bound: the server's
`memory_shed` in /metrics, printed.)

It always exits 0: it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import socket
import time
import urllib.request
from typing import Any

import uvloop

from ..harness.accounting import rss_mb
from ..harness.catalogue import um_symbols
from ..harness.commands import Child
from ..harness.processes import CLIENT_CPU, HOST, check_cpus, pin, raise_nofile, serving, supervised
from ..harness.report import Target, verdict
from ..soak.scenario import Slow, _upgrade
from ..stall import probe

GAP = Target(100.0, at_least=False, unit=" ms")
AFTER = Target(20.0, at_least=False, unit=" %")
PEAK = Target(0.0, at_least=False, unit=" MB")  # the peak's excess over baseline + bound


async def hoarders(port: int, clients: int) -> list[Slow]:
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(200)
    opened: list[Slow] = []
    names = [f"{s.lower()}@{kind}" for s in um_symbols()[:10] for kind in ("bookTicker", "depth@0ms")]
    opening = _upgrade("/stream?streams=" + "/".join(names))

    async def one() -> None:
        async with gate:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.setblocking(False)
            try:
                await loop.sock_connect(sock, (HOST, port))
                await loop.sock_sendall(sock, opening)
            except OSError:
                sock.close()
                return
            opened.append(Slow(sock))

    await asyncio.gather(*(one() for _ in range(clients)))
    return opened


def memory_shed(admin_port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{admin_port}/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return None
    found = re.findall(r'tickerplant_limit_hits_total\{[^}]*limit="memory_shed"[^}]*\} ([0-9.e+]+)', text)
    return int(sum(float(v) for v in found)) if found else 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    bound = args.bound_mb * 1024 * 1024
    serve_args = ["--sim-rate", "4000", "--seed", "1", "--send-buffer-total", str(bound), *args.server_arg]
    with serving(serve_args, args.server_start_timeout) as server:
        pid = server.proc.pid
        where = f"{HOST}:{server.um_port} (pid {pid})"
        print(f"  tickerplant serve {' '.join(serve_args)} on {where}", flush=True)
        probe_child = Child(CLIENT_CPU, probe.probe_async, server.um_port, 600.0)
        try:
            probe_child.recv(20.0, "the probe")
            time.sleep(args.warmup)
            baseline = rss_mb(pid)
            print(f"  idle baseline {baseline:.1f} MB; {args.clients} clients that never read", flush=True)
            loop = uvloop.new_event_loop()
            peak = baseline
            try:
                probe_child.send("start")  # the opening of a thousand connections, measured apart
                opened = loop.run_until_complete(hoarders(server.um_port, args.clients))
                opening = probe_child.ask(30.0, "the probe's figures", "stop")
                probe_child.send("start")
                until = time.monotonic() + args.hold
                while time.monotonic() < until:
                    peak = max(peak, rss_mb(pid))
                    time.sleep(0.5)
                for hoarder in opened:
                    hoarder.close()
            finally:
                loop.close()
            figures = probe_child.ask(30.0, "the probe's figures", "stop")
            shed = memory_shed(server.admin_port)
            time.sleep(args.settle)
            after = rss_mb(pid)
        finally:
            probe_child.close()
    return {
        "baseline": baseline, "peak": peak, "after": after, "bound_mb": args.bound_mb, "opened": len(opened),
        "shed": shed, "opening_gap_ms": opening["max_gap_ms"], **figures,
    }  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks hoard", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="200 clients, a 64 MB bound, 8 s")
    p.add_argument("--clients", type=int, default=None, help="clients that never read (1000; 200)")
    p.add_argument("--bound-mb", type=int, default=None, help="--send-buffer-total, MB (256; 64)")
    p.add_argument("--hold", type=float, default=None, help="seconds they hold (20; 8)")
    p.add_argument("--warmup", type=float, default=5.0, help="seconds before the baseline")
    p.add_argument("--settle", type=float, default=15.0, help="seconds after they close, before RSS")
    p.add_argument("--server-start-timeout", type=float, default=60.0)
    p.add_argument("--server-arg", action="append", default=[], metavar="ARG", help="extra `serve` argument")
    args = p.parse_args(argv)
    quick = args.quick
    args.clients = args.clients or (200 if quick else 1000)
    args.bound_mb = args.bound_mb or (64 if quick else 256)
    args.hold = args.hold or (8.0 if quick else 20.0)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_nofile()
    check_cpus()
    pin(CLIENT_CPU)
    print(f"== {args.clients} clients that never read, a {args.bound_mb} MB bound on unsent bytes")
    with supervised():
        r = run(args)
    ceiling = r["baseline"] + r["bound_mb"] * 1.048576
    print(
        f"  RSS: baseline {r['baseline']:.1f} MB, peak {r['peak']:.1f} MB (ceiling {ceiling:.1f}),"
        f" after {r['after']:.1f} MB; clients opened {r['opened']}, shed {r['shed']};"
        f" healthy subscriber: largest gap {r['max_gap_ms']:.1f} ms while they hold"
        f" ({r['opening_gap_ms']:.1f} ms while they connect), lateness {r['max_late_ms']:.1f} ms,"
        f" ws-api p99 {r['api_p99_ms']:.2f} ms"
    )
    print(verdict("peak RSS over baseline + bound", r["peak"] - ceiling, PEAK, 1))
    print(verdict("RSS after, over the baseline", 100 * (r["after"] / r["baseline"] - 1), AFTER, 1))
    print(verdict("healthy subscriber's largest gap", r["max_gap_ms"], GAP, 1))
    return 0
