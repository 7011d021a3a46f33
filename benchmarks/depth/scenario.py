"""Depth benchmark: the cost of the depth streams, depth requests and depth fan-out, each as a
ratio against a floor measured in the same run.

    python -m benchmarks depth [--quick] [--only plant,requests,fanout] [--repeats 5]
                               [--rounds 3] [--connections 1000] [--depth-streams all|diff|100ms]

(a) plant (`depth_plant`, in-process): the plants' CPU per simulator action with every depth
    stream of every symbol (``Plant(..., depth_streams=True)``) against the same order flow
    without them, both markets, at the simulator's max rate (the headline: a cost per action)
    and at the default 400 actions/s of simulated time (where the cadence's pushes make it a
    cost per second, printed as such); best of ``--repeats``, alternating. Target: depth adds
    <= 25 %.
(b) requests (`depth_requests`): ``GET /fapi/v1/depth?symbol=BTCUSDT&limit=1000`` and the
    WebSocket API ``depth`` (limit 1000), ``tickerplant serve --sim-rate 400`` against a picows
    floor answering the server's own bytes, pre-built; best of ``--rounds`` rounds, alternating,
    each side started afresh every round. Target: req/s >= 0.6 of the floor's.
(c) fanout (`depth_fanout`): depth messages delivered to ``--connections`` connections by
    ``tickerplant serve --sim-rate max`` against the raw-uvloop fan-out floor of ``fanout/scenario.py``.
    Target: >= 0.7 of the floor's msg/s.

The servers run alone on CPU 0, the clients on CPU 1 (``harness.processes``). It always exits
0: it measures.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import time
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
from ..orders.traders import TradingAccounts
from ..ws_api.clients import Window
from ..ws_api.floor import REQUEST_WEIGHT
from . import fanout as depth_fanout
from . import plant as depth_plant
from . import requests as depth_requests

TARGET_PLANT = Target(1.25, at_least=False)  # depth's CPU per action / without depth
TARGET_REQUESTS = Target(0.6)
TARGET_FANOUT = Target(0.7)
PARTS = ("plant", "requests", "fanout")

# --------------------------------------------------------------------------- (a) plant


def run_plant(args: argparse.Namespace) -> list[depth_plant.Runs]:
    print("== (a) plant, in-process (this process, CPU 1)", flush=True)
    top = depth_plant.max_rate(args.book_levels, args.max_actions // 3)
    print(f"  the pump flat out without depth: ~{top:,.0f} actions/s (simulator and plants)", flush=True)
    runs = []
    for rate, actions in ((None, args.max_actions), (400.0, args.rate_actions)):
        flow = depth_plant.make_flow(rate, actions, args.book_levels, top)
        r = depth_plant.measure(flow, args.repeats)
        low, high = r.spread()
        print(
            f"  {flow.label}: {flow.actions:,} actions over {flow.simulated_s:,.1f} s simulated, "
            f"{flow.book_levels[0]:,.0f}-{flow.book_levels[1]:,.0f} levels a side; µs/action without "
            f"depth {_list(r.plain)}, with {_list(r.depth)}; pairs {low:.2f}-{high:.2f}",
            flush=True,
        )
        runs.append(r)
    return runs


def _list(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.2f}" for v in values) + "]"


# --------------------------------------------------------------------------- (b) requests


@contextlib.contextmanager
def request_server(
    kind: str, args: argparse.Namespace, bodies: tuple[bytes, bytes]
) -> Iterator[tuple[int, list[int]]]:
    """The server (UM port) or the floor: yield (port, pids)."""
    if kind == "server":
        traders: TradingAccounts = args.traders
        serve_args = ["--request-weight", str(REQUEST_WEIGHT), "--sim-rate", "400", "--seed", "1"]
        serve_args += [*traders.serve_args(), *args.server_arg]
        with serving(serve_args, args.server_start_timeout) as server:
            print(f"  tickerplant serve on {HOST}:{server.um_port} (pid {server.proc.pid}, CPU {SERVER_CPU})")
            traders.start(server.um_port, 4 * (args.seconds + args.warmup) + 120)
            try:
                yield server.um_port, server.pids()
            finally:
                if traded := traders.stop():
                    print(f"  {traded}", flush=True)
        return
    floor = Child(SERVER_CPU, depth_requests.floor_async, *bodies, 4 * (args.seconds + args.warmup) + 120)
    try:
        port = floor.recv(10.0, "the floor to listen")[1]
        print(f"  floor (picows, pre-built bytes) on {HOST}:{port} (pid {floor.pid}, CPU {SERVER_CPU})")
        yield port, [floor.pid]
    finally:
        floor.close()


def run_requests(args: argparse.Namespace) -> dict[tuple[str, str], Window]:
    """``--rounds`` rounds of the server's windows then the floor's, each side started afresh
    every round: per side and API, the window of the best rate (best of rounds, alternating,
    as (a) is: on a machine whose speed drifts, one window each compares two moments)."""
    print(f"== (b) depth requests, limit 1000: best of {args.rounds} alternating rounds", flush=True)
    best: dict[tuple[str, str], Window] = {}
    samples = {"rest": b"", "ws": b""}
    for round_ in range(args.rounds):
        rates: dict[tuple[str, str], float] = {}
        for kind in ("server", "floor"):
            bodies = depth_requests.floor_bodies(samples["rest"], samples["ws"])
            try:
                with request_server(kind, args, bodies) as (port, pids):
                    for api, n in (("rest", args.rest_concurrency), ("ws", args.ws_connections)):
                        w, raw = depth_requests.run_clients(
                            api,
                            port,
                            n,
                            args.seconds,
                            args.warmup,
                            lambda p=pids: p,  # type: ignore[misc]
                        )
                        rates[(kind, api)] = w.rate
                        if (kind, api) not in best or w.rate > best[(kind, api)].rate:
                            best[(kind, api)] = w
                        if kind == "server":
                            samples[api] = raw["sample"]
                        errors = f", errors {raw['errors']}" if raw["errors"] else ""
                        unit = "loops" if api == "rest" else "conns"
                        print(
                            f"  {kind} {api}: {w.rate:,.0f} req/s over {n} {unit}, p50 {w.p50_us:.0f} µs,"
                            f" p99 {w.p99_us:.0f} µs, server CPU {w.server_cpu:.0%},"
                            f" client CPU {w.client_cpu:.0%}, other processes {w.other_cpu:.0%},"
                            f" reply {len(raw['sample']):,} B"
                            f"{f', {w.bad} BAD' if w.bad else ''}{errors}",
                            flush=True,
                        )
            except (RuntimeError, TimeoutError, OSError, EOFError) as exc:
                print(f"  ! {kind}: {type(exc).__name__}: {exc}", flush=True)
        ratios = [
            f"{api} {rates[('server', api)] / rates[('floor', api)]:.2f}"
            for api in ("rest", "ws")
            if rates.get(("floor", api)) and ("server", api) in rates
        ]
        print(f"  round {round_ + 1}: server / floor {', '.join(ratios) or '-'}", flush=True)
    return best


# --------------------------------------------------------------------------- report


def report(
    args: argparse.Namespace,
    plant: list[depth_plant.Runs],
    requests: dict[tuple[str, str], Window],
    fanout: depth_fanout.FanoutResult | None,
) -> None:
    print()
    if plant:
        depth_plant.print_runs(
            plant, "no depth", "depth", "depth/no", args.repeats, "(a) the plants' CPU per simulator action"
        )
        for r in plant:
            headline = " (headline)" if r.flow.label.startswith("max") else ""
            print(verdict(f"depth / no depth at {r.flow.label}{headline}", r.ratio, TARGET_PLANT))
            if r.realtime:
                print(
                    f"    with the real-time @0ms streams too (a split plant writes them all): "
                    f"{min(r.realtime):.2f} µs/action, {min(r.realtime) / min(r.plain):.2f} of no depth"
                )
            if r.flow.label.startswith("400"):
                # at a rate, what depth adds is the cadence's pushes: a cost per second
                per_s = (min(r.depth) - min(r.plain)) * r.flow.actions / r.flow.simulated_s / 1000
                share = per_s / 10
                print(f"    depth's CPU at 400 actions/s: {per_s:.1f} ms a second ({share:.1f} % of a core)")
        print()
    if requests:
        table = Table(
            [
                Column("request", 28, left=True),
                Column("server", 9, left=True),
                Column("req/s", 9),
                Column("p50 µs", 8),
                Column("p99 µs", 8),
                Column("server CPU", 10),
                Column("client CPU", 10),
            ]
        )
        rows = []
        for api, label in (("rest", "GET /fapi/v1/depth 1000"), ("ws", "WebSocket API depth 1000")):
            for kind in ("server", "floor"):
                w = requests.get((kind, api))
                cells = (
                    [
                        f"{w.rate:,.0f}",
                        f"{w.p50_us:.0f}",
                        f"{w.p99_us:.0f}",
                        f"{w.server_cpu:.0%}",
                        f"{w.client_cpu:.0%}",
                    ]
                    if w
                    else ["-"] * 5
                )
                rows.append([label if kind == "server" else "", kind, *cells])
        table.print(rows)
        for api, label in (("rest", "REST depth"), ("ws", "WebSocket API depth")):
            s, f = requests.get(("server", api)), requests.get(("floor", api))
            ratio = s.rate / f.rate if s and f and f.rate > 0 else None
            print(verdict(f"(b) {label} req/s, server / floor", ratio, TARGET_REQUESTS))
            if s and f and s.server_cpu > 0 and f.server_cpu > 0:
                print(
                    f"    server CPU per request: tickerplant {s.server_cpu / s.rate * 1e6:.0f} µs, "
                    f"floor {f.server_cpu / f.rate * 1e6:.0f} µs"
                )
            for kind, w in (("server", s), ("floor", f)):
                if w is not None and w.client_cpu > 0.9 and w.server_cpu < 0.9:
                    print(
                        f"    WARNING: {kind}: the client process was at {w.client_cpu:.0%} of CPU"
                        f" {CLIENT_CPU}: the rate is the client's, not the server's"
                    )
                if w is not None and (warning := disturbed(f"{kind} {api}", w.other_cpu)):
                    print("    " + warning)
        print()
    if fanout is not None:
        depth_fanout.report(args, fanout, TARGET_FANOUT)


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks depth", description=__doc__.split("\n\n")[0])
    p.add_argument("--only", default=",".join(PARTS), help="comma-separated parts: plant, requests, fanout")
    p.add_argument("--quick", action="store_true", help="fewer actions, repeats, connections; short windows")
    p.add_argument("--repeats", type=int, default=None, help="(a) runs of each side (5; 2 --quick)")
    p.add_argument("--max-actions", type=int, default=None, help="(a) actions at max (150,000; 15,000)")
    p.add_argument("--rate-actions", type=int, default=None, help="(a) actions at 400/s (40,000; 4,000)")
    p.add_argument(
        "--book-levels", type=int, default=None, help="(a) the simulator's book_levels, if it takes one"
    )
    p.add_argument("--seconds", type=float, default=None, help="(b), (c) windows (5; 1.5)")
    p.add_argument("--warmup", type=float, default=None, help="(b), (c) before each window (1; 0.5)")
    p.add_argument("--rounds", type=int, default=None, help="(b) alternating rounds, best of (3; 1)")
    p.add_argument("--rest-concurrency", type=int, default=16, help="(b) REST request loops (16)")
    p.add_argument("--ws-connections", type=int, default=50, help="(b) sequential WebSocket API connections")
    p.add_argument("--connections", type=int, default=None, help="(c) connections (1000; 100)")
    p.add_argument("--client-procs", type=int, default=4, help="(c) client processes")
    p.add_argument("--floor-batch", type=int, default=10, help="(c) the floor's K, frames per write (10)")
    p.add_argument("--depth-streams", choices=tuple(depth_fanout.STREAM_SETS), default="all")
    p.add_argument("--symbols", default="", help="(c) comma-separated USDⓈ-M symbols (default: all)")
    p.add_argument("--server-start-timeout", type=float, default=60.0)
    p.add_argument("--server-arg", action="append", default=[], metavar="ARG", help="extra `serve` argument")
    p.add_argument(
        "--trading-accounts", type=int, default=0, metavar="N",
        help="(b), (c) N venue accounts each placing and cancelling an order a second meanwhile",
    )  # fmt: skip
    args = p.parse_args(argv)
    fill_sizes(args, (
        ("repeats", 5, 2),
        ("max_actions", 150_000, 15_000),
        ("rate_actions", 40_000, 4_000),
        ("seconds", 5.0, 1.5),
        ("warmup", 1.0, 0.5),
        ("rounds", 3, 1),
        ("connections", 1000, 100),
    ))
    args.parts = [part.strip() for part in args.only.split(",") if part.strip()]
    if not set(args.parts) <= set(PARTS) or args.repeats < 1 or args.rounds < 1:
        p.error(f"--only takes {', '.join(PARTS)}; --repeats and --rounds at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_nofile()
    check_cpus()
    pin(CLIENT_CPU)  # this process is client-side (and (a) runs here)
    t0 = time.monotonic()
    plant: list[depth_plant.Runs] = []
    requests: dict[tuple[str, str], Window] = {}
    fanout: depth_fanout.FanoutResult | None = None
    args.traders = TradingAccounts(args.trading_accounts)
    with supervised(), contextlib.closing(args.traders):
        if "plant" in args.parts:
            plant = run_plant(args)
        if "requests" in args.parts:
            requests = run_requests(args)
        if "fanout" in args.parts:
            print("== (c) depth fan-out", flush=True)
            fanout = depth_fanout.FanoutResult()
            depth_fanout.run_server(args, fanout)
            depth_fanout.run_floor(args, fanout)
    report(args, plant, requests, fanout)
    if plant and any(math.isnan(r.ratio) for r in plant):
        print("note: a plant run is missing")
    print(f"(total {time.monotonic() - t0:.0f} s)")
    return 0
