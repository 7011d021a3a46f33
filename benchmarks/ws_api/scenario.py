"""WebSocket API benchmark: tickerplant's ``ticker.book`` request/response against a picows floor.

    python -m benchmarks ws_api [--seconds 5] [--connections 50] [--quick]
                                [--profile FILE] [--skip-floor] [--skip-server]

Two servers are measured in the same run, each alone on CPU 0, with the same client process
on CPU 1 (PERFORMANCE.md, "Request/response"):

* the SERVER: ``python -m tickerplant serve --request-weight 1000000000 --sim-rate 400``,
  requests on ``ws://127.0.0.1:<um-port>/ws-fapi/v1`` (the weight budget is raised so the
  benchmark is never answered 429);
* the FLOOR (`ws_api_floor`): a bare ``picows.ws_create_server`` on uvloop, the WebSocket
  library the server uses, that decodes each request into a small msgspec Struct (to echo its
  id) and answers with pre-built reply bytes looked up by symbol, sent with ``transport.send``.

Two scenarios, same clients (`ws_api_clients`) for both servers: one connection sending
sequentially (the next request as soon as the reply is in), and ``--connections`` (50)
connections, each sequential, so that many requests are in flight. Requests cycle over BTCUSDT,
ETHUSDT, SOLUSDT, BNBUSDT. Each window follows a warm-up.

The result is a table of req/s and p50/p99 latency per scenario and server, the server/floor
req/s ratio per scenario against its target (>= 0.7) with PASS/FAIL, and the CPU used. With
``--profile FILE`` the server is also sampled by ``py-spy record --format raw`` under the
many-connection load, after its measured window, and the top self-time functions are
printed. It always exits 0: it measures.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..harness.accounting import disturbed
from ..harness.commands import Child
from ..harness.options import fill_sizes
from ..harness.processes import CLIENT_CPU, HOST, SERVER_CPU, check_cpus, pin, serving, supervised
from ..harness.profile import print_profile, profile_pid
from ..harness.report import Column, Table, Target, verdict
from .clients import ClientProc, Window
from .floor import REQUEST_WEIGHT, floor_async

WS_API_PATH = "/ws-fapi/v1"
TARGET_RATIO = Target(0.7)  # at least 0.7 of the floor with 50 connections


@dataclass
class Row:
    """One server's results, by scenario."""

    name: str
    windows: dict[str, Window] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def show(label: str, w: Window) -> None:
    extra = ""
    if w.bad:
        extra += f"; {w.bad} UNEXPECTED replies, e.g. {w.bad_sample[:120]!r}"
    if w.closed:
        reasons = ", ".join(f"{n}x {r}" for r, n in Counter(w.close_reasons).most_common(3))
        extra += f"; {w.closed} connections CLOSED in the window ({reasons})"
    print(
        f"  {label}: {w.rate:,.0f} req/s over {w.connections} conns, p50 {w.p50_us:.0f} µs, "
        f"p99 {w.p99_us:.0f} µs, p99.9 {w.p999_us:.0f} µs, max {w.max_us:.0f} µs, "
        f"server CPU {w.server_cpu:.0%}, client CPU {w.client_cpu:.0%}, "
        f"other processes {w.other_cpu:.0%}{extra}",
        flush=True,
    )


def scenario_name(connections: int) -> str:
    if connections == 1:
        return "1 conn, sequential"
    return f"{connections} conns, each sequential"


@contextlib.contextmanager
def server_under_test(
    kind: str, args: argparse.Namespace
) -> Iterator[tuple[str, Callable[[], list[int]], int]]:
    """Start the tickerplant server or the floor; yield (url, server pids, main pid); stop it."""
    if kind == "server":
        serve_args = ["--request-weight", str(REQUEST_WEIGHT), "--sim-rate", "400", "--seed", "1"]
        with serving([*serve_args, *args.server_arg], args.server_start_timeout) as server:
            url = f"ws://{HOST}:{server.um_port}{WS_API_PATH}"
            print(f"tickerplant serve on {url} (pid {server.proc.pid}, CPU {SERVER_CPU})", flush=True)
            yield url, server.pids, server.proc.pid
        return
    life = 2 * len(args.scenarios) * (args.seconds + args.warmup + 30) + args.profile_seconds + 60
    floor = Child(SERVER_CPU, floor_async, life)
    try:
        url = f"ws://{HOST}:{floor.recv(10.0, 'the floor to listen')[1]}{WS_API_PATH}"
        print(f"floor (picows) on {url} (pid {floor.pid}, CPU {SERVER_CPU})", flush=True)
        yield url, lambda: [floor.pid], floor.pid
    finally:
        floor.close()


def profile_server(args: argparse.Namespace, clients: ClientProc, pid: int, row: Row) -> None:
    """The same load again, for `--profile-seconds`, under py-spy; not a measured window."""
    clients.go()
    time.sleep(min(0.5, args.warmup))
    print(f"  profiling the server for {args.profile_seconds:g} s ...", flush=True)
    why = profile_pid(pid, args.profile_seconds, args.profile)
    clients.stop_loops()
    if why is None:
        row.errors.append(f"profile written to {args.profile}")
    else:
        row.errors.append(f"no profile: {why}")
        print(f"  ! no profile: {why}", flush=True)


def run(kind: str, args: argparse.Namespace, row: Row) -> None:
    """Fill `row` as the scenarios complete, so an interrupted run still reports them."""
    try:
        with server_under_test(kind, args) as (url, pids, main_pid):
            for connections in args.scenarios:
                label = scenario_name(connections)
                life = args.seconds + args.warmup + args.profile_seconds + 90
                clients = ClientProc(url, connections, args.seconds, life)
                try:
                    clients.wait_ready()
                    w = clients.measure(args.seconds, args.warmup, pids)
                    row.windows[label] = w
                    show(label, w)
                    if kind == "server" and args.profile and connections == max(args.scenarios):
                        profile_server(args, clients, main_pid, row)
                finally:
                    clients.close()
    except (RuntimeError, TimeoutError, OSError, EOFError) as exc:
        row.errors.append(f"{type(exc).__name__}: {exc}")
        print(f"  ! {row.name}: {exc}", flush=True)


# --------------------------------------------------------------------------- report


def report(args: argparse.Namespace, server: Row | None, floor: Row | None) -> None:
    rows = [r for r in (server, floor) if r is not None]
    print()
    print(
        f"WebSocket API ticker.book, server on CPU {SERVER_CPU}, client process on CPU {CLIENT_CPU}, "
        f"{args.seconds:g} s windows after {args.warmup:g} s warm-up"
    )
    table = Table(
        [
            Column("scenario", 26, left=True),
            Column("server", 12, left=True),
            Column("req/s", 9),
            Column("p50 µs", 7),
            Column("p99 µs", 7),
            Column("server CPU", 10),
            Column("client CPU", 10),
        ]
    )
    lines = []
    for connections in args.scenarios:
        label = scenario_name(connections)
        for i, r in enumerate(rows):
            w = r.windows.get(label)
            first = ["" if i else label, "tickerplant" if r is server else "floor"]
            if w is None:
                lines.append([*first, "-", "-", "-", "-", "-"])
                continue
            figures = [f"{w.rate:,.0f}", f"{w.p50_us:.0f}", f"{w.p99_us:.0f}"]
            lines.append([*first, *figures, f"{w.server_cpu:.0%}", f"{w.client_cpu:.0%}"])
    table.print(lines)
    print()
    for connections in args.scenarios:
        label = scenario_name(connections)
        s = server.windows.get(label) if server else None
        f = floor.windows.get(label) if floor else None
        if s is None or f is None or f.rate <= 0:
            print(f"{label:<26}  " + verdict("req/s tickerplant / floor", None, TARGET_RATIO))
            continue
        lat = f"   (latency p50 {s.p50_us / f.p50_us:.2f}x, p99 {s.p99_us / f.p99_us:.2f}x the floor's)"
        ratio = verdict("req/s tickerplant / floor", s.rate / f.rate, TARGET_RATIO, after=lat)
        print(f"{label:<26}  {ratio}")
        if s.server_cpu > 0 and f.server_cpu > 0:
            cost_s = s.server_cpu / s.rate * 1e6
            cost_f = f.server_cpu / f.rate * 1e6
            print(f"{'':<26}  server CPU per request: tickerplant {cost_s:.1f} µs, floor {cost_f:.1f} µs")
    for r in rows:
        for line in r.errors:
            print(f"note, {r.name}: {line}")
    for r in rows:
        for label, w in r.windows.items():
            if w.bad:
                print(f"WARNING: {r.name}, {label}: {w.bad} replies without the expected id and status 200")
            if w.closed:
                print(f"WARNING: {r.name}, {label}: {w.closed} connections closed in the window")
            if w.overflow:
                print(f"WARNING: {r.name}, {label}: {w.overflow} latencies not stored (array full)")
            if (warning := disturbed(f"{r.name}, {label}", w.other_cpu)) is not None:
                print(warning)
            if w.client_cpu > 0.9 and w.server_cpu < 0.9:
                print(
                    f"WARNING: {r.name}, {label}: the client used {w.client_cpu:.0%} of CPU {CLIENT_CPU} "
                    f"while the server used {w.server_cpu:.0%}; the rate is bound by the client"
                )
            elif w.client_cpu > 0.9:
                print(
                    f"note: {r.name}, {label}: both cores are saturated (client {w.client_cpu:.0%}, "
                    f"server {w.server_cpu:.0%}); the rate is partly the client's limit"
                    + (", so the ratio flatters tickerplant" if r is floor else "")
                )
    print(
        "latency = time.perf_counter() at the reply's on_ws_frame minus just before transport.send, "
        "in the client."
    )


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks ws_api", description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=None, help="measurement window (5; 2 --quick)")
    p.add_argument("--warmup", type=float, default=None, help="before each window (1; 0.5 --quick)")
    p.add_argument("--connections", type=int, default=50, help="of the concurrent scenario (50)")
    p.add_argument("--server-start-timeout", type=float, default=30.0)
    p.add_argument(
        "--server-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for `tickerplant serve`, repeatable (--server-arg=--log-level=WARNING)",
    )
    p.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="FILE",
        help="also record the server with `py-spy record --format raw` under the concurrent load, "
        "after its measured window, into FILE, and print its top functions",
    )
    p.add_argument("--profile-seconds", type=float, default=None, help="(5; 2 --quick)")
    p.add_argument("--skip-floor", action="store_true")
    p.add_argument("--skip-server", action="store_true")
    p.add_argument("--quick", action="store_true", help="2 s windows, 0.5 s warm-ups")
    args = p.parse_args(argv)
    fill_sizes(args, (("seconds", 5.0, 2.0), ("warmup", 1.0, 0.5), ("profile_seconds", 5.0, 2.0)))
    if args.connections < 1 or args.seconds <= 0 or args.warmup < 0:
        p.error("--connections and --seconds must be positive, --warmup not negative")
    if not args.profile:
        args.profile_seconds = 0.0
    args.scenarios = sorted({1, args.connections})
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    check_cpus()
    pin(CLIENT_CPU)  # this process is client-side too (it mostly sleeps)
    t0 = time.monotonic()
    server = None if args.skip_server else Row("tickerplant serve")
    floor = None if args.skip_floor else Row("floor: picows, pre-built replies")
    with supervised():
        if server is not None:
            print("== tickerplant", flush=True)
            run("server", args, server)
        if floor is not None:
            print("== floor", flush=True)
            run("floor", args, floor)
    report(args, server, floor)
    print_profile(
        args.profile,
        "the server under the concurrent load",
        example="such as msgspec or transport.write with its syscall",
    )
    print(f"(total {time.monotonic() - t0:.0f} s)")
    return 0
