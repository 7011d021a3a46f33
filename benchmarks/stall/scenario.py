"""Stall benchmark: streams and the WebSocket API while REST clients spend their weight.

    python -m benchmarks stall [--quick] [--sim-rate 2000] [--seconds 5] [--warmup 1]

``tickerplant serve --sim-rate 2000`` (BTCUSDT's bookTicker then comes ~450 times a second,
so a stall shows as a gap, not as the market's quiet) on CPU 0; a probe (``probe``) and the
bursts (``burst``) on CPU 1.

1. **Bursts.** For each of the heaviest REST requests, one IP (then two, each its own
   loopback address) sends its whole minute of weight (2,400) at once: as many requests as
   the weight buys, over up to 480 kept-alive connections an IP, pipelined. Meanwhile the
   probe records the largest gap between two `btcusdt@bookTicker` messages, the largest
   lateness of one (arrival minus its `E`), and the p99 of `ticker.price` over the
   WebSocket API from another address, asked every 10 ms. A quiet window of the same
   server is the floor. Targets: the largest gap <= 100 ms (the goal 20 ms), the API's
   p99 <= 20 ms.
2. **Throughput.** The server again with the weight limit lifted: `klines?limit=1500` and
   `trades?limit=1000` from 200 kept-alive connections, each sending its next request when
   its answer is whole. Targets: >= 2,000 req/s and p99 <= 50 ms, each.

It always exits 0: it measures.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from ..harness.commands import Child
from ..harness.options import fill_sizes
from ..harness.processes import (
    CLIENT_CPU,
    HOST,
    SERVER_CPU,
    check_cpus,
    pin,
    raise_nofile,
    serving,
    supervised,
)
from ..harness.report import Column, Table, Target, verdict
from ..rest import clients
from ..ws_api.clients import Window
from . import burst, probe

WEIGHT = 2400  # an IP's minute (§7.1)
PER_IP_CONNECTIONS = 480
BURSTS = (  # name, path, weight of one request
    ("trades 1000", "/fapi/v1/trades?symbol=BTCUSDT&limit=1000", 5),
    ("aggTrades 1000", "/fapi/v1/aggTrades?symbol=BTCUSDT&limit=1000", 20),
    ("klines 1500", "/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=1500", 10),
    (
        "continuousKlines 1500",
        "/fapi/v1/continuousKlines?pair=BTCUSDT&contractType=PERPETUAL&interval=1m&limit=1500",
        10,
    ),
    ("markPriceKlines 1500", "/fapi/v1/markPriceKlines?symbol=BTCUSDT&interval=1m&limit=1500", 10),
    ("fundingRate all 1000", "/fapi/v1/fundingRate?limit=1000", 1),
    ("depth 1000", "/fapi/v1/depth?symbol=BTCUSDT&limit=1000", 20),
)
THROUGHPUT = {
    "klines 1500": "/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=1500",
    "trades 1000": "/fapi/v1/trades?symbol=BTCUSDT&limit=1000",
}
GAP = Target(100.0, at_least=False, unit=" ms")
API_P99 = Target(20.0, at_least=False, unit=" ms")
RATE = Target(2000.0, unit=" req/s")
P99 = Target(50.0, at_least=False, unit=" ms")
_TAIL_S = 0.2  # the probe keeps watching after the last answer


def _window(probe_child: Child, action: Any) -> tuple[dict[str, Any], Any]:
    probe_child.send("start")
    time.sleep(0.05)
    result = action()
    time.sleep(_TAIL_S)
    return probe_child.ask(30.0, "the probe's figures", "stop"), result


def bursts(args: argparse.Namespace) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    rows: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    serve_args = ["--sim-rate", str(args.sim_rate), "--seed", "1", *args.server_arg]
    with serving(serve_args, args.server_start_timeout) as server:
        port = server.um_port
        print(
            f"  tickerplant serve {' '.join(serve_args)} on {HOST}:{port}"
            f" (pid {server.proc.pid}, CPU {SERVER_CPU})"
        )
        life_s = 600.0
        probe_child = Child(CLIENT_CPU, probe.probe_async, port, life_s)
        burst_child = Child(CLIENT_CPU, burst.burst_async, port, life_s)
        try:
            probe_child.recv(20.0, "the probe")
            burst_child.recv(20.0, "the burst client")
            time.sleep(args.warmup)
            quiet, _ = _window(probe_child, lambda: time.sleep(args.seconds))
            rows.append(("quiet (floor)", quiet, {"seconds": args.seconds, "statuses": {}, "bytes": 0}))
            print(f"  quiet: {_line(quiet)}", flush=True)
            address = 0
            for ip_count in (1,) if args.quick else (1, 2):
                for name, path, weight in BURSTS:
                    requests = WEIGHT // weight
                    ips = [f"127.0.1.{address + n + 1}" for n in range(ip_count)]
                    address += ip_count  # each burst from fresh addresses: a whole minute each

                    def fire(
                        path: str = path, requests: int = requests, ips: list[str] = ips
                    ) -> dict[str, Any]:
                        burst_child.send("go", path, requests, ips, min(requests, PER_IP_CONNECTIONS))
                        reply = burst_child.recv(180.0, "the burst")
                        return dict(reply[1])

                    figures, done = _window(probe_child, fire)
                    label = f"{name} x{requests}, {ip_count} IP{'s' if ip_count > 1 else ''}"
                    rows.append((label, figures, done))
                    took = f"burst {done.get('seconds', float('nan')):.2f} s {done.get('statuses', done)}"
                    print(f"  {label}: {took}; {_line(figures)}", flush=True)
        finally:
            probe_child.close()
            burst_child.close()
    return rows


def _line(f: dict[str, Any]) -> str:
    errors = f", {f['api_errors']} errors" if f["api_errors"] else ""
    return (
        f"largest bookTicker gap {f['max_gap_ms']:.1f} ms, lateness {f['max_late_ms']:.1f} ms"
        f" ({f['messages']} messages); ws-api p50 {f['api_p50_ms']:.2f} ms p99 {f['api_p99_ms']:.2f} ms"
        f" ({f['api_replies']} replies{errors})"
    )


def throughput(args: argparse.Namespace) -> dict[str, tuple[Window, dict[str, Any]]]:
    results: dict[str, tuple[Window, dict[str, Any]]] = {}
    serve_args = [
        "--sim-rate",
        str(args.sim_rate),
        "--seed",
        "1",
        "--request-weight",
        str(10**9),
        *args.server_arg,
    ]
    with serving(serve_args, args.server_start_timeout) as server:
        print(f"  tickerplant serve {' '.join(serve_args)} on {HOST}:{server.um_port}")
        for name, path in THROUGHPUT.items():
            w, raw = clients.run_clients(
                path, server.um_port, args.connections, args.seconds, args.warmup, server.pids
            )
            results[name] = (w, raw)
            print(
                f"  {name}: {w.rate:,.0f} req/s over {args.connections} connections,"
                f" p50 {w.p50_us / 1000:.1f} ms, p99 {w.p99_us / 1000:.1f} ms,"
                f" server CPU {w.server_cpu:.0%}, client CPU {w.client_cpu:.0%},"
                f" answer {len(raw['sample']):,} B" + (f", {w.bad} BAD" if w.bad else ""),
                flush=True,
            )
    return results


def report(
    rows: list[tuple[str, dict[str, Any], dict[str, Any]]], rates: dict[str, tuple[Window, dict[str, Any]]]
) -> None:
    print()
    table = Table([
        Column("while", 44, left=True), Column("burst s", 8), Column("largest gap ms", 15),
        Column("lateness ms", 12), Column("api p99 ms", 11),
    ])  # fmt: skip
    table.print(
        [label, f"{done.get('seconds', float('nan')):.2f}", f"{f['max_gap_ms']:.1f}",
         f"{f['max_late_ms']:.1f}", f"{f['api_p99_ms']:.2f}"]
        for label, f, done in rows
    )  # fmt: skip
    loaded = [f for label, f, _ in rows if not label.startswith("quiet")]
    if rows:
        quiet = rows[0][1]
        print(
            f"  floor (quiet window): largest gap {quiet['max_gap_ms']:.1f} ms,"
            f" api p99 {quiet['api_p99_ms']:.2f} ms"
        )
    worst_gap = max((f["max_gap_ms"] for f in loaded), default=None)
    worst_api = max((f["api_p99_ms"] for f in loaded), default=None)
    print(verdict("largest btcusdt@bookTicker gap under any burst", worst_gap, GAP, 1, "   (goal 20 ms)"))
    print(verdict("WebSocket API p99 under any burst", worst_api, API_P99, 2))
    for name, (w, _) in rates.items():
        print(verdict(f"{name} req/s, 200 kept-alive connections, weight lifted", w.rate, RATE, 0))
        print(verdict(f"{name} p99", w.p99_us / 1000, P99, 1))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks stall", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="one IP's bursts, short windows")
    p.add_argument("--sim-rate", type=int, default=2000, help="the server's --sim-rate (2000)")
    p.add_argument("--connections", type=int, default=200, help="kept-alive connections, throughput (200)")
    p.add_argument(
        "--seconds", type=float, default=None, help="quiet and throughput windows (5; 1.5 --quick)"
    )
    p.add_argument("--warmup", type=float, default=None, help="before each window (1; 0.5)")
    p.add_argument("--server-start-timeout", type=float, default=60.0)
    p.add_argument("--server-arg", action="append", default=[], metavar="ARG", help="extra `serve` argument")
    args = p.parse_args(argv)
    fill_sizes(args, (("seconds", 5.0, 1.5), ("warmup", 1.0, 0.5)))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_nofile()
    check_cpus()
    pin(CLIENT_CPU)
    print("== REST bursts of a whole minute's weight: the streams' largest gap, the WebSocket API's p99")
    with supervised():
        rows = bursts(args)
        print("== klines?limit=1500 and trades?limit=1000, weight lifted")
        rates = throughput(args)
    report(rows, rates)
    return 0
