"""Fan-out benchmark: tickerplant's bookTicker fan-out against a raw-uvloop floor.

    python -m benchmarks fanout [--connections 1000] [--seconds 10] [--market cm]
                                [--client-procs 4] [--trading-accounts 100] [--quick]

Two servers are measured in the same run, each alone on CPU 0, with the same client
processes on CPU 1 (PERFORMANCE.md, "Fan-out, one server core"):

* the FLOOR (`fanout_floor`): a bare uvloop ``asyncio.Protocol`` server that does the
  WebSocket handshake itself and, once per loop iteration, builds ``--floor-batch`` (K) real
  bookTicker frames with a fresh ``E`` and writes them to every connection in ONE
  ``transport.write``; it produces as fast as it can, then paced to half that;
* the SERVER: ``python -m tickerplant serve --sim-rate max`` with every client on
  ``/ws/!bookTicker`` (COIN-M) or ``/ws/<s>@bookTicker/...`` for every USDⓈ-M symbol,
  then again at a ``--sim-rate`` calibrated so that it delivers about half its maximum.

The clients (`fanout_clients`) count frames and sample latency (receipt time minus the
payload's ``"E"``) over a steady window that starts after every connection is up and a
warm-up has passed.

The result is a table of delivered msg/s and p50/p99 latency, the server/floor ratio and
the targets (ratio >= 0.7, p99 <= 5 ms at half rate). It always exits 0: it measures.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ..harness.accounting import disturbed
from ..harness.catalogue import um_symbols
from ..harness.commands import Child
from ..harness.options import fill_sizes
from ..harness.processes import (
    CLIENT_CPU,
    HOST,
    SERVER_CPU,
    check_cpus,
    pin,
    raise_nofile,
    server_usable,
    serving,
    supervised,
)
from ..harness.report import Column, Table, Target, verdict
from ..orders.traders import TradingAccounts
from .clients import ClientPool, Window
from .floor import FLOOR_BUFFER_LIMIT, floor_async

TARGET_RATIO = Target(0.7)
TARGET_P99_MS = Target(5.0, at_least=False, unit=" ms")


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


# --------------------------------------------------------------------------- the floor


def run_floor(args: argparse.Namespace, result: Result) -> None:
    """Flat out, then at half that rate. Fills `result` as the phases complete, so an
    interrupted run still reports them."""
    life = 4 * args.seconds + 2 * args.warmup + 60
    floor = Child(SERVER_CPU, floor_async, args.market, args.floor_batch, life)
    pool: ClientPool | None = None
    try:
        port = floor.recv(10.0, "the floor to listen")[1]
        print(f"floor listening on ws://{HOST}:{port}/ (pid {floor.pid}, CPU {SERVER_CPU})", flush=True)
        pool = ClientPool(port, "/ws/floor", args.connections, args.client_procs, life)
        pool.wait_ready()
        floor.send("run", None)
        result.max = pool.measure(args.seconds, args.warmup, lambda: [floor.pid])
        show("max ", result.max)
        result.half_target = result.max.rate / 2
        floor.send("run", result.half_target)
        result.half = pool.measure(args.seconds, args.warmup, lambda: [floor.pid])
        show("half", result.half)
        status = floor.ask(5.0, "floor status", "status")
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
        floor.close()


# --------------------------------------------------------------------------- the server


def stream_path(args: argparse.Namespace) -> str:
    if args.market == "cm":
        return "/ws/!bookTicker"
    return "/ws/" + "/".join(f"{s}@bookTicker" for s in um_symbols(args.symbols))


@contextlib.contextmanager
def server_session(args: argparse.Namespace, sim_rate: str, path: str) -> Iterator[Callable[[float], Window]]:
    """Start the server, connect the clients (and the trading accounts), yield
    `measure(seconds)`; stop everything."""
    traders: TradingAccounts = args.traders
    serve_args = ["--seed", "1", "--sim-rate", sim_rate, *traders.serve_args(), *args.server_arg]
    pool: ClientPool | None = None
    with serving(serve_args, args.server_start_timeout) as server:
        port = server.cm_port if args.market == "cm" else server.um_port
        try:
            print(
                f"server --sim-rate {sim_rate} listening on ws://{HOST}:{port}{path[:60]} "
                f"(pid {server.proc.pid}, CPU {SERVER_CPU})",
                flush=True,
            )
            life = 2 * args.seconds + args.warmup + 60
            pool = ClientPool(port, path, args.connections, args.client_procs, life)
            pool.wait_ready()
            traders.start(server.um_port, life)
            live = pool
            yield lambda seconds: live.measure(seconds, args.warmup, server.pids)
        finally:
            if traded := traders.stop():
                print(f"  {traded}", flush=True)
            if pool is not None:
                pool.close()


def run_server(args: argparse.Namespace, result: Result) -> None:
    """Flat out, a calibration, then half rate. Fills `result` as the phases complete, so an
    interrupted run still reports them."""
    why = server_usable()
    if why is not None:
        result.note = f"server not run: {why}"
        print(f"  ! {result.note}", flush=True)
        return
    try:
        path = stream_path(args)
    except Exception as exc:  # the catalogue may not be importable
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


def report(args: argparse.Namespace, floor: Result | None, server: Result | None) -> None:
    rows = [r for r in (server, floor) if r is not None]
    print()
    print(
        f"Fan-out of bookTicker to {args.connections} connections ({args.market}), "
        f"server on CPU {SERVER_CPU}, {args.client_procs} client procs on CPU {CLIENT_CPU}, "
        f"{args.seconds:g} s windows"
    )
    table = Table(
        [
            Column("", max([len(r.name) for r in rows] + [30]), left=True),
            Column("max msg/s", 12),
            Column("p50 / p99 ms", 14),
            Column("half target", 12),
            Column("half msg/s", 12),
            Column("p50 / p99 ms", 14),
        ]
    )

    def rate(w: Window | None) -> str:
        return f"{w.rate:,.0f}" if w else "-"

    def ms(w: Window | None) -> str:
        return f"{w.p50_ms:.2f} / {w.p99_ms:.2f}" if w else "-"

    table.print(
        [r.name, rate(r.max), ms(r.max), f"{r.half_target:,.0f}" if r.half else "-", rate(r.half), ms(r.half)]
        for r in rows
    )
    print()
    s_max = server.max if server else None
    f_max = floor.max if floor else None
    ratio = s_max.rate / f_max.rate if s_max and f_max and f_max.rate > 0 else None
    print(verdict("delivered rate, server / floor", ratio, TARGET_RATIO))
    s_half = server.half if server else None
    print(verdict("server p99 latency at half rate", s_half.p99_ms if s_half else None, TARGET_P99_MS))
    f_half = floor.half if floor else None
    if f_half and not math.isnan(f_half.p99_ms):
        print(f"floor p99 latency at half rate: {f_half.p99_ms:.2f} ms   (reference)")
        if not TARGET_P99_MS.met(f_half.p99_ms):
            print(
                f"  the floor itself is over {TARGET_P99_MS.value:g} ms here: writing one batch to "
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
            if (warning := disturbed(f"{r.name} {label}", w.other_cpu)) is not None:
                print(warning)
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
    p = argparse.ArgumentParser(prog="python -m benchmarks fanout", description=__doc__.split("\n\n")[0])
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
    p.add_argument(
        "--trading-accounts", type=int, default=0, metavar="N",
        help="N venue accounts each placing and cancelling an order a second meanwhile",
    )  # fmt: skip
    p.add_argument("--skip-floor", action="store_true")
    p.add_argument("--skip-server", action="store_true")
    p.add_argument("--quick", action="store_true", help="100 connections, 3 s windows")
    args = p.parse_args(argv)
    fill_sizes(args, (
        ("connections", 1000, 100),
        ("seconds", 10.0, 3.0),
        ("warmup", 1.0, 0.5),
        ("calibration_seconds", 3.0, 1.5),
    ))
    if args.connections < 1 or args.seconds <= 0 or (args.floor_batch is not None and args.floor_batch < 1):
        p.error("--connections, --seconds and --floor-batch must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_nofile()
    check_cpus()
    pin(CLIENT_CPU)  # this process is client-side too (it mostly sleeps)
    t0 = time.monotonic()
    floor: Result | None = None
    server = None if args.skip_server else Result(f"tickerplant serve ({args.market})")
    args.traders = TradingAccounts(args.trading_accounts)
    with supervised(), contextlib.closing(args.traders):
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
    report(args, floor, server)
    print(f"(total {time.monotonic() - t0:.0f} s)")
    return 0
