"""Connections: one process ramped to its file descriptor limit, on a real-time stream and
on a 1 s stream.

    python -m benchmarks connections [--quick] [--stream realtime|1s|both]
                                     [--steps 1000,2500,5000,10000,15000] [--burst 1000]

``tickerplant serve`` on CPU 0 (``--pong-timeout 3600``: the holders do not answer pings),
once per stream: ``btcusdt@bookTicker`` (real-time, tens of messages a second) and
``!miniTicker@arr`` (one a second). On CPU 1, the clients (``clients.py``): holder processes
that open the connections and only drain them, and a probe that measures. The ramp goes
through ``--steps`` and then to the server's descriptor limit less the burst and some room;
at each step:

- **held**: the connections open (the holders' count), and the server's descriptors;
- **RSS per connection**: the server's RSS over its idle baseline, per connection held;
- **delivery p99**: receipt time minus the payload's ``"E"`` on the probe's subscribers over
  ``--window`` seconds, and the server's CPU meanwhile;
- **handshake p99 and accepts/s**: ``--burst`` new connections opened at once, each timed
  from ``connect()`` to the end of its ``101``; accepts/s is how many came up over the time
  from the first ``connect()`` to the last ``101``. Then they close.

At the top the holders fill the server's descriptors and the probe opens ``--past`` more:
each should be answered ``503``, counted in ``tickerplant_limit_hits_total
{limit="out_of_files"}``, and either logged or counted in ``tickerplant_log_suppressed_total``.

Targets: with 10,000 connections on the real-time stream, handshake p99 <= 1 s
and >= 500 accepts/s; every refused connection counted. It always exits 0: it measures.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import resource
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..fanout.clients import percentile
from ..harness.accounting import cpu_use, proc_table, rss_mb
from ..harness.commands import Child, close_all
from ..harness.options import fill_sizes
from ..harness.processes import (
    CLIENT_CPU,
    HOST,
    ServerProcess,
    check_cpus,
    die_with_parent,
    pin,
    raise_nofile,
    server_preexec,
    supervised,
)
from ..harness.report import Column, Table, Target, verdict
from ..ws_api.clients import quantile
from .clients import holder_async, probe_async

STREAMS = {"realtime": "/ws/btcusdt@bookTicker", "1s": "/ws/!miniTicker@arr"}
HANDSHAKE_P99 = Target(1.0, at_least=False, unit=" s")
ACCEPTS = Target(500.0, unit="/s")
TARGET_AT = 10_000  # connections on the real-time stream at which the targets are read
ROOM = 64  # descriptors left free at the top step besides the burst
COUNTED = Target(0.0, at_least=False, unit="")  # refusals seen by clients and not counted


@dataclass
class Step:
    wanted: int
    held: int = 0
    server_fds: int = 0
    rss_mb: float = 0.0
    kb_per_conn: float = float("nan")
    msgs_per_s: float = float("nan")  # per subscriber
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    cpu: float = float("nan")
    handshake_p50_s: float = float("nan")
    handshake_p99_s: float = float("nan")
    accepts_per_s: float = float("nan")
    burst_statuses: dict[str, int] = field(default_factory=dict)
    ramp_s: float = 0.0
    errors: Counter[str] = field(default_factory=Counter)


@dataclass
class Refusals:
    """The top of the ramp: connections past the descriptor limit, and what the server made of them."""

    seen: Counter[str] = field(default_factory=Counter)  # statuses the clients got
    out_of_files: int | None = None
    suppressed: int | None = None
    logged: int = 0

    @property
    def refused(self) -> int:
        return self.seen["503"]


def server_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def metric(text: str, family: str, label: str) -> int:
    found = re.findall(rf"{family}\{{[^}}]*{label}[^}}]*\}} ([0-9.e+]+)", text)
    return int(sum(float(v) for v in found))


def metrics(admin_port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{admin_port}/metrics", timeout=10) as response:
            text: str = response.read().decode()
    except OSError:
        return None
    return text


def limited(nofile: int | None) -> Callable[[], None]:
    """The server's preexec: pinned, and its descriptors at ``nofile`` (soft and hard) if given."""
    if nofile is None:
        return server_preexec

    def preexec() -> None:
        die_with_parent()
        pin(0)
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    return preexec


@contextlib.contextmanager
def serving(args: argparse.Namespace) -> Iterator[ServerProcess]:
    serve_args = ["--seed", "1", "--pong-timeout", "3600", *args.server_arg]
    server = ServerProcess(serve_args, limited(args.server_nofile))
    try:
        server.wait_listening(args.server_start_timeout, (server.um_port,))
        yield server
        if (why := server.exited()) is not None:
            print(f"  ! {why}", flush=True)
    finally:
        server.stop()


class Clients:
    """The holders and the probe of one server."""

    def __init__(self, args: argparse.Namespace, port: int, path: str) -> None:
        life = 3600.0
        self.holders = [
            Child(CLIENT_CPU, holder_async, port, path, f"127.0.0.{10 + i}", life)
            for i in range(args.holders)
        ]
        self.probe = Child(CLIENT_CPU, probe_async, port, path, args.subscribers, life)
        for child in (*self.holders, self.probe):
            child.recv(60.0, "a client process")

    def grow(self, total: int, deadline_s: float, concurrency: int) -> tuple[int, Counter[str]]:
        """Open connections until the holders hold ``total`` between them; (held, errors)."""
        held = self.held()
        need = max(0, total - held)
        errors: Counter[str] = Counter()
        asked = []
        for i, holder in enumerate(self.holders):
            share = need // len(self.holders) + (1 if i < need % len(self.holders) else 0)
            if share:
                holder.send("grow", share, concurrency, deadline_s)
                asked.append(holder)
        for holder in asked:
            errors.update(holder.recv(deadline_s + 60.0, "the holders' connections")["errors"])
        return self.held(), errors

    def held(self) -> int:
        return sum(h.ask(10.0, "the holders' count", "count")["open"] for h in self.holders)

    def close(self) -> None:
        close_all([*self.holders, self.probe])


def measure_step(
    args: argparse.Namespace, server: ServerProcess, clients: Clients, step: Step, base: float
) -> None:
    pid = server.proc.pid
    step.server_fds = server_fds(pid)
    step.rss_mb = rss_mb(pid)
    if step.held:
        step.kb_per_conn = (step.rss_mb - base) * 1024 / step.held
    before = proc_table()
    t0 = time.monotonic()
    clients.probe.send("start")
    time.sleep(args.window)
    window = clients.probe.ask(30.0, "the probe's latency", "stop")
    step.cpu = cpu_use(before, proc_table(), {pid}, {pid}, time.monotonic() - t0).server
    step.p50_ms = percentile(window["hist"], 0.50)
    step.p99_ms = percentile(window["hist"], 0.99)
    step.msgs_per_s = window["frames"] / window["elapsed"] / args.subscribers
    if args.burst:
        burst = clients.probe.ask(
            args.burst_timeout + 30.0, "the burst", "burst", args.burst, args.burst_timeout
        )
        step.burst_statuses = burst["statuses"]
        took = sorted(burst["seconds"])  # a failed one counts at the time it failed
        step.handshake_p50_s = quantile(took, 0.50)
        step.handshake_p99_s = quantile(took, 0.99)
        step.accepts_per_s = burst["statuses"].get("101", 0) / burst["elapsed"]


def past_the_limit(args: argparse.Namespace, server: ServerProcess, clients: Clients) -> Refusals:
    """Fill the server's descriptors, then ``--past`` more: each should be a counted 503."""
    seen: Counter[str] = Counter()
    held = clients.held()
    for _ in range(5):  # descriptors of closed bursts may take a moment to come free
        room = args.limit - server_fds(server.proc.pid)
        if room <= 1:
            break
        held, errors = clients.grow(held + room, args.step_timeout, 50)
        seen.update(errors)
        time.sleep(0.5)
    burst = clients.probe.ask(args.burst_timeout + 30.0, "the burst", "burst", args.past, args.burst_timeout)
    seen.update(burst["statuses"])
    refusals = Refusals(seen=seen)
    clients.holders[0].send("release", 2 * ROOM)  # the admin listener needs a descriptor too
    time.sleep(1.0)
    text = metrics(server.admin_port)
    if text is not None:
        refusals.out_of_files = metric(text, "tickerplant_limit_hits_total", 'limit="out_of_files"')
        refusals.suppressed = metric(
            text, "tickerplant_log_suppressed_total", 'kind="out of file descriptors"'
        )
    log = server.log_text()
    refusals.logged = len(re.findall(r"out of file descriptors .*answered 503", log))
    print(f"  filled to {held} held; past the limit: {dict(seen)}", flush=True)
    return refusals


def ramp(args: argparse.Namespace, name: str, path: str) -> tuple[list[Step], Refusals | None]:
    steps: list[Step] = []
    refusals = None
    with serving(args) as server:
        pid = server.proc.pid
        time.sleep(args.warmup)
        base = rss_mb(pid)
        own = server_fds(pid)
        top = args.limit - own - args.burst - args.subscribers - ROOM
        wanted = sorted({n for n in args.steps if n < top} | {top})
        print(f"== {name}: {path}, server pid {pid}, {own} descriptors of its own, limit {args.limit}; "
              f"idle RSS {base:.1f} MB; steps {', '.join(map(str, wanted))}", flush=True)  # fmt: skip
        clients = Clients(args, server.um_port, path)
        try:
            for n in wanted:
                step = Step(n)
                t0 = time.monotonic()
                step.held, step.errors = clients.grow(n, args.step_timeout, args.concurrency)
                step.ramp_s = time.monotonic() - t0
                time.sleep(args.settle)
                step.held = clients.held()
                measure_step(args, server, clients, step, base)
                steps.append(step)
                show(step)
                if step.held < 0.95 * n:
                    why = "; ".join(f"{c}x {e}" for e, c in step.errors.most_common(3))
                    print(f"  ! the ramp stopped: {step.held} of {n} up in {args.step_timeout:.0f} s ({why})")
                    break
            else:
                if args.past:
                    refusals = past_the_limit(args, server, clients)
        finally:
            clients.close()
    return steps, refusals


def show(s: Step) -> None:
    others = {k: v for k, v in s.burst_statuses.items() if k != "101"}
    print(
        f"  {s.held:>6} held ({s.ramp_s:.1f} s to ramp), {s.server_fds} fds, RSS {s.rss_mb:.1f} MB"
        f" ({s.kb_per_conn:.1f} KB/conn), server CPU {s.cpu:.0%};"
        f" delivery p50/p99 {s.p50_ms:.1f}/{s.p99_ms:.1f} ms ({s.msgs_per_s:.1f} msg/s each);"
        f" burst handshake p50/p99 {s.handshake_p50_s:.3f}/{s.handshake_p99_s:.3f} s,"
        f" {s.accepts_per_s:.0f} accepts/s{f', not upgraded: {others}' if others else ''}",
        flush=True,
    )


TABLE = Table([
    Column("stream", 8, left=True), Column("held", 6), Column("KB/conn", 7), Column("CPU", 4),
    Column("p50 ms", 7), Column("p99 ms", 7), Column("msg/s", 6), Column("hs p50 s", 8),
    Column("hs p99 s", 8), Column("acc/s", 6),
])  # fmt: skip


def report(results: dict[str, tuple[list[Step], Refusals | None]], quick: bool) -> None:
    print()
    TABLE.print(
        [
            name, f"{s.held}", f"{s.kb_per_conn:.1f}", f"{s.cpu:.0%}", f"{s.p50_ms:.1f}",
            f"{s.p99_ms:.1f}", f"{s.msgs_per_s:.1f}", f"{s.handshake_p50_s:.3f}", f"{s.handshake_p99_s:.3f}",
            f"{s.accepts_per_s:.0f}",
        ]
        for name, (steps, _) in results.items()
        for s in steps
    )  # fmt: skip
    print()
    realtime = results.get("realtime")
    if realtime is not None and realtime[0]:
        steps = realtime[0]
        at = [s for s in steps if s.wanted >= TARGET_AT and s.held >= 0.95 * TARGET_AT]
        if at:
            s, where = at[0], f" at {at[0].held} real-time connections"
        elif quick:
            s, where = steps[-1], f" at {steps[-1].held} real-time connections (--quick: not {TARGET_AT:,})"
        else:
            s, where = None, f" ({TARGET_AT:,} real-time connections not reached)"
        print(verdict(f"handshake p99{where}", None if s is None else s.handshake_p99_s, HANDSHAKE_P99, 3))
        print(verdict(f"accepts/s{where}", None if s is None else s.accepts_per_s, ACCEPTS, 0))
    for name, (_, refusals) in results.items():
        if refusals is None:
            continue
        counted = refusals.out_of_files
        accounted = None if refusals.suppressed is None else refusals.logged + refusals.suppressed
        print(
            f"  {name}: {refusals.refused} answered 503 past the limit; out_of_files counted {counted},"
            f" logged {refusals.logged} + suppressed counted {refusals.suppressed}"
        )
        missing = (
            None
            if counted is None or accounted is None
            else max(0, refusals.refused - min(counted, accounted))
        )
        print(verdict(f"{name}: 503s not counted or not accounted for in the log", missing, COUNTED, 0))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks connections", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--quick", action="store_true", help="a server limited to 600 descriptors; steps 200; burst 100"
    )
    p.add_argument("--stream", choices=("realtime", "1s", "both"), default="both")
    p.add_argument("--steps", default=None, help="connections at each step, comma-separated (then the limit)")
    p.add_argument("--burst", type=int, default=None, help="new connections timed at each step (1000; 100)")
    p.add_argument("--past", type=int, default=None, help="connections past the descriptor limit (300; 50)")
    p.add_argument("--window", type=float, default=None, help="seconds of delivery latency per step (10; 2)")
    p.add_argument(
        "--server-nofile", type=int, default=None, help="the server's descriptor limit (its own; 600)"
    )
    p.add_argument("--holders", type=int, default=2, help="holder processes")
    p.add_argument("--subscribers", type=int, default=None, help="the probe's latency connections (20; 5)")
    p.add_argument(
        "--concurrency", type=int, default=100, help="handshakes in flight per holder while ramping"
    )
    p.add_argument(
        "--step-timeout", type=float, default=None, help="seconds a step's ramp may take (180; 20)"
    )
    p.add_argument("--burst-timeout", type=float, default=60.0, help="seconds a burst's handshake may take")
    p.add_argument("--settle", type=float, default=None, help="seconds after a ramp before measuring (3; 1)")
    p.add_argument("--warmup", type=float, default=None, help="seconds before the idle RSS (5; 1)")
    p.add_argument("--server-start-timeout", type=float, default=90.0)
    p.add_argument("--server-arg", action="append", default=[], metavar="ARG", help="extra `serve` argument")
    args = p.parse_args(argv)
    fill_sizes(args, [
        ("steps", "1000,2500,5000,10000,15000", "200"), ("burst", 1000, 100), ("past", 300, 50),
        ("window", 10.0, 2.0), ("subscribers", 20, 5), ("step_timeout", 180.0, 20.0), ("settle", 3.0, 1.0),
        ("warmup", 5.0, 1.0),
    ])  # fmt: skip
    if args.quick and args.server_nofile is None:
        args.server_nofile = 600
    args.steps = [int(n) for n in str(args.steps).split(",") if n]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_nofile()
    check_cpus()
    pin(CLIENT_CPU)
    args.limit = args.server_nofile or resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    names = ["realtime", "1s"] if args.stream == "both" else [args.stream]
    results: dict[str, Any] = {}
    with supervised():
        for name in names:
            results[name] = ramp(args, name, STREAMS[name])
    report(results, args.quick)
    return 0
