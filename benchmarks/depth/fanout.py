"""The depth benchmark's part (c): depth messages delivered to many connections, the server
against the fan-out floor of ``fanout/scenario.py`` (``fanout_floor``, flat out), with the same clients
(``fanout_clients``) and the same CPU layout.

Depth streams push at their cadence (100, 250 and 500 ms), not per action, so what a server
can deliver is bounded by the streams subscribed: every symbol's ``@depth@100ms`` gives ten
messages a second a symbol. ``--depth-streams`` chooses them: ``100ms``, ``diff`` (every speed,
and rpiDepth) or ``all`` (diff and partial depth 5/10/20 at every speed: 66 a second a
USDⓈ-M symbol), the default, so that the offered rate is of the floor's order; the report
gives that ceiling beside what was delivered.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from ..fanout.clients import ClientPool, Window
from ..fanout.floor import floor_async
from ..harness.catalogue import um_symbols
from ..harness.commands import Child
from ..harness.processes import HOST, SERVER_CPU, serving
from ..harness.report import Target, verdict

# per symbol: (stream suffix, pushes a second at most)
_DIFF = (("@depth@100ms", 10), ("@depth", 4), ("@depth@500ms", 2), ("@rpiDepth@500ms", 2))
_PARTIAL = tuple(
    (f"@depth{n}{speed}", rate)
    for n in (5, 10, 20)
    for speed, rate in (("@100ms", 10), ("", 4), ("@500ms", 2))
)
STREAM_SETS = {"100ms": _DIFF[:1], "diff": _DIFF, "all": _DIFF + _PARTIAL}


@dataclass
class FanoutResult:
    server: Window | None = None
    floor: Window | None = None
    floor_batch: int = 0
    streams: int = 0  # per connection
    ceiling: float = 0.0  # msg/s the streams subscribed can carry to all connections
    errors: list[str] = field(default_factory=list)


def depth_path(args: argparse.Namespace) -> tuple[str, int, float]:
    """(the /ws/ path, streams per connection, the most msg/s they carry to one connection)."""
    chosen = STREAM_SETS[args.depth_streams]
    symbols = um_symbols(args.symbols)
    names = [f"{s}{suffix}" for s in symbols for suffix, _ in chosen]
    per_connection = len(symbols) * sum(rate for _, rate in chosen)
    return "/ws/" + "/".join(names), len(names), float(per_connection)


def show(label: str, w: Window) -> None:
    closed = f"; {w.closed} connections CLOSED" if w.closed else ""
    print(
        f"  {label}: {w.rate:,.0f} msg/s over {w.connections} conns, {w.frames_per_chunk:.1f} frames/read, "
        f"p50 {w.p50_ms:.2f} ms, p99 {w.p99_ms:.2f} ms, server CPU {w.server_cpu:.0%}, "
        f"client CPU {w.client_cpu:.0%}, other processes {w.other_cpu:.0%}{closed}",
        flush=True,
    )


def run_server(args: argparse.Namespace, result: FanoutResult) -> None:
    path, result.streams, per_connection = depth_path(args)
    result.ceiling = per_connection * args.connections
    serve_args = ["--seed", "1", "--sim-rate", "max", *args.traders.serve_args(), *args.server_arg]
    life = args.seconds + args.warmup + 60
    try:
        with serving(serve_args, args.server_start_timeout) as server:
            print(
                f"server --sim-rate max on ws://{HOST}:{server.um_port}/ws/<{result.streams} depth streams> "
                f"(pid {server.proc.pid}, CPU {SERVER_CPU})",
                flush=True,
            )
            pool = ClientPool(server.um_port, path, args.connections, args.client_procs, life)
            try:
                pool.wait_ready()
                args.traders.start(server.um_port, life)
                result.server = pool.measure(args.seconds, args.warmup, server.pids)
                show("server", result.server)
            finally:
                if traded := args.traders.stop():
                    print(f"  {traded}", flush=True)
                pool.close()
    except (RuntimeError, TimeoutError, OSError, EOFError) as exc:
        result.errors.append(f"server: {type(exc).__name__}: {exc}")
        print(f"  ! server: {exc}", flush=True)


def run_floor(args: argparse.Namespace, result: FanoutResult) -> None:
    # Not the server's frames per read, as fanout/scenario.py takes: depth arrives in bursts (a tick's
    # pushes, ~150-200 frames a read), and a floor writing that many per iteration to a
    # thousand connections outruns the clients until their windows time out.
    result.floor_batch = args.floor_batch
    life = args.seconds + args.warmup + 60
    floor = Child(SERVER_CPU, floor_async, "um", result.floor_batch, life)
    pool: ClientPool | None = None
    try:
        port = floor.recv(10.0, "the floor to listen")[1]
        print(f"fan-out floor on ws://{HOST}:{port}/ (K={result.floor_batch}, CPU {SERVER_CPU})", flush=True)
        pool = ClientPool(port, "/ws/floor", args.connections, args.client_procs, life)
        pool.wait_ready()
        floor.send("run", None)
        result.floor = pool.measure(args.seconds, args.warmup, lambda: [floor.pid])
        show("floor ", result.floor)
    except (RuntimeError, TimeoutError, OSError, EOFError) as exc:
        result.errors.append(f"floor: {type(exc).__name__}: {exc}")
        print(f"  ! floor: {exc}", flush=True)
    finally:
        if pool is not None:
            pool.close()
        floor.close()


def report(args: argparse.Namespace, result: FanoutResult, target: Target) -> None:
    s, f = result.server, result.floor
    print(
        f"(c) depth fan-out to {args.connections} connections, {result.streams} streams each "
        f"(--depth-streams {args.depth_streams}): at most {result.ceiling:,.0f} msg/s"
    )
    for label, w in (("server", s), (f"floor K={result.floor_batch}", f)):
        if w is not None:
            print(
                f"    {label}: {w.rate:,.0f} msg/s, {w.frames_per_chunk:.1f} frames/read, "
                f"server CPU {w.server_cpu:.0%}, client CPU {w.client_cpu:.0%}, other {w.other_cpu:.0%}"
            )
    ratio = s.rate / f.rate if s and f and f.rate > 0 else None
    print(verdict("(c) delivered depth msg/s, server / fan-out floor", ratio, target))
    if s is not None and s.connections and result.ceiling:
        per_connection = result.ceiling / args.connections
        print(
            f"    server per connection: {s.rate / s.connections:,.0f} msg/s of the {per_connection:,.0f} "
            f"the streams carry ({s.connections} connections open at the end of the window)"
        )
        if s.rate > 0.9 * result.ceiling:
            print("    the server delivered what the streams carry (their cadence), not its limit")
    for line in result.errors:
        print(f"    note: {line}")
