"""REST benchmark: requests per second and latency over kept-alive connections, tickerplant
against a floor, each path alone.

    python -m benchmarks rest [--quick] [--connections 50] [--rounds 3] [--seconds 5]

``--connections`` kept-alive connections (50), each sending its next request as soon as its
answer is whole, to ``GET /fapi/v1/ticker/price?symbol=BTCUSDT`` and to
``GET /fapi/v1/depth?symbol=BTCUSDT&limit=1000``; ``tickerplant serve --sim-rate 400``
against the floor (``floor``: a plain asyncio Protocol on uvloop, the library of the REST
front door, answering the server's own answers of the same run, pre-built). Best of
``--rounds`` alternating rounds, each side started afresh every round. Target: req/s >= 0.7
of the floor's, for each path; p50 and p99 of both are printed.

The servers run alone on CPU 0, the clients on CPU 1 (``harness.processes``). It always exits
0: it measures.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator

from ..harness.accounting import disturbed
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
from ..ws_api.clients import Window
from ..ws_api.floor import REQUEST_WEIGHT
from . import clients, floor

TARGET = Target(0.7)
PATHS = {
    "ticker/price": "/fapi/v1/ticker/price?symbol=BTCUSDT",
    "depth 1000": "/fapi/v1/depth?symbol=BTCUSDT&limit=1000",
}


@contextlib.contextmanager
def server_or_floor(
    kind: str, args: argparse.Namespace, answers: dict[bytes, bytes]
) -> Iterator[tuple[int, list[int]]]:
    """The server (UM port) or the floor: yield (port, pids)."""
    if kind == "server":
        serve_args = ["--request-weight", str(REQUEST_WEIGHT), "--sim-rate", "400", "--seed", "1"]
        with serving([*serve_args, *args.server_arg], args.server_start_timeout) as server:
            print(f"  tickerplant serve on {HOST}:{server.um_port} (pid {server.proc.pid}, CPU {SERVER_CPU})")
            yield server.um_port, server.pids()
        return
    life_s = 4 * (args.seconds + args.warmup) * len(PATHS) + 120
    child = Child(SERVER_CPU, floor.floor_async, answers, life_s)
    try:
        port = child.recv(10.0, "the floor to listen")[1]
        print(f"  floor (asyncio on uvloop, pre-built bytes) on {HOST}:{port} (pid {child.pid})")
        yield port, [child.pid]
    finally:
        child.close()


def run(args: argparse.Namespace) -> dict[tuple[str, str], Window]:
    best: dict[tuple[str, str], Window] = {}
    answers = {path.encode(): floor.made_up(path) for path in PATHS.values()}
    for round_ in range(args.rounds):
        rates: dict[tuple[str, str], float] = {}
        for kind in ("server", "floor"):
            try:
                with server_or_floor(kind, args, dict(answers)) as (port, pids):
                    for name, path in PATHS.items():
                        w, raw = clients.run_clients(
                            path, port, args.connections, args.seconds, args.warmup, lambda p=pids: p  # type: ignore[misc]
                        )
                        rates[(kind, name)] = w.rate
                        if (kind, name) not in best or w.rate > best[(kind, name)].rate:
                            best[(kind, name)] = w
                        if kind == "server" and raw["sample"]:
                            answers[path.encode()] = raw["sample"]  # the floor answers the same bytes
                        errors = f", errors {raw['errors']}" if raw["errors"] else ""
                        print(
                            f"  {kind} {name}: {w.rate:,.0f} req/s over {args.connections} connections,"
                            f" p50 {w.p50_us:.0f} µs, p99 {w.p99_us:.0f} µs, server CPU {w.server_cpu:.0%},"
                            f" client CPU {w.client_cpu:.0%}, answer {len(raw['sample']):,} B,"
                            f" closed {w.closed}{f', {w.bad} BAD' if w.bad else ''}{errors}",
                            flush=True,
                        )
            except (RuntimeError, TimeoutError, OSError, EOFError) as exc:
                print(f"  ! {kind}: {type(exc).__name__}: {exc}", flush=True)
        ratios = [
            f"{name} {rates[('server', name)] / rates[('floor', name)]:.2f}"
            for name in PATHS
            if rates.get(("floor", name)) and ("server", name) in rates
        ]
        print(f"  round {round_ + 1}: server / floor {', '.join(ratios) or '-'}", flush=True)
    return best


def report(best: dict[tuple[str, str], Window]) -> None:
    print()
    table = Table(
        [
            Column("request", 14, left=True),
            Column("server", 7, left=True),
            Column("req/s", 9),
            Column("p50 µs", 8),
            Column("p99 µs", 8),
            Column("server CPU", 10),
            Column("client CPU", 10),
        ]
    )
    rows = []
    for name in PATHS:
        for kind in ("server", "floor"):
            w = best.get((kind, name))
            cells = ["-"] * 5
            if w:
                cells = [f"{w.rate:,.0f}", f"{w.p50_us:.0f}", f"{w.p99_us:.0f}"]
                cells += [f"{w.server_cpu:.0%}", f"{w.client_cpu:.0%}"]
            rows.append([name if kind == "server" else "", kind, *cells])
    table.print(rows)
    for name in PATHS:
        s, f = best.get(("server", name)), best.get(("floor", name))
        ratio = s.rate / f.rate if s and f and f.rate > 0 else None
        print(verdict(f"REST {name} req/s over kept-alive connections, server / floor", ratio, TARGET))
        for kind, w in (("server", s), ("floor", f)):
            if w is not None and w.client_cpu > 0.9 and w.server_cpu < 0.9:
                print(
                    f"    WARNING: {kind}: the client process was at {w.client_cpu:.0%} of CPU {CLIENT_CPU}:"
                    " the rate is the client's, not the server's"
                )
            if w is not None and (warning := disturbed(f"{kind} {name}", w.other_cpu)):
                print("    " + warning)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks rest", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="one round of short windows")
    p.add_argument("--connections", type=int, default=50, help="kept-alive connections (50)")
    p.add_argument("--seconds", type=float, default=None, help="each window (5; 1.5 --quick)")
    p.add_argument("--warmup", type=float, default=None, help="before each window (1; 0.5)")
    p.add_argument("--rounds", type=int, default=None, help="alternating rounds, best of (3; 1)")
    p.add_argument("--server-start-timeout", type=float, default=60.0)
    p.add_argument("--server-arg", action="append", default=[], metavar="ARG", help="extra `serve` argument")
    args = p.parse_args(argv)
    fill_sizes(args, (("seconds", 5.0, 1.5), ("warmup", 1.0, 0.5), ("rounds", 3, 1)))
    if args.rounds < 1 or args.connections < 1:
        p.error("--rounds and --connections at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_nofile()
    check_cpus()
    pin(CLIENT_CPU)
    print(f"== REST over {args.connections} kept-alive connections: best of {args.rounds} alternating rounds")
    with supervised():
        best = run(args)
    report(best)
    return 0
