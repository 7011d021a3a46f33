"""Scale-out benchmark: one plant and gateways over NATS, against the single process.

    python -m benchmarks scaleout [--quick] [--seconds 10] [--connections 200]

(a) the plant's publish path: the frames a `tickerplant plant` at ``--sim-rate max``
    publishes, recorded, then (the plant stopped) sent again through tickerplant's ``NatsBus``
    (framed again, its outbox, nats-py) and by nats-py alone (the same bytes, a frame a loop
    turn), each in a process of its own on CPU 0, alternately, the best of each: messages a second, bus /
    floor (target >= 0.7); and the plant's own rate at max (its publish ceiling: the
    simulator and the plants on one core);
(b) the latency a bus hop adds: receipt time minus the payload's ``E`` (1 ms resolution, the
    same on both sides) for a few connections on every USDⓈ-M bookTicker at a moderate rate,
    through a plant and a gateway against `tickerplant serve`, the best p99 of
    ``--latency-windows`` windows on each side (as (a) keeps the best rate: on two cores the
    hop's three processes share CPU 0, and the scheduler's noise only adds latency; every
    window is printed) (target: p99 at most 1 ms more);
(c) server CPU per delivered message for the same client load with 1 and with 2 gateways (the
    plant, the nats-server and the gateways together), and the single process's;

then the model those figures feed (a 16-core host, a 10-host cluster) and what two cores
cannot show. The server side (the single process, or the nats-server, plant and gateways)
runs on CPU 0, the clients on CPU 1. It always exits 0: it measures.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..fanout.clients import ClientPool, Window
from ..harness.accounting import proc_table
from ..harness.catalogue import um_symbols
from ..harness.commands import Child, close_all
from ..harness.options import fill_sizes
from ..harness.processes import CLIENT_CPU, SERVER_CPU, check_cpus, import_from_src, serving, supervised
from ..harness.report import Target, verdict
from .processes import Split, publish_bus, publish_floor, record, split

PUBLISH = Target(0.7)  # NatsBus / nats-py, messages a second
HOP = Target(1.0, at_least=False, unit=" ms")  # p99 through a gateway minus the single process's


@dataclass
class Figures:
    plant: dict[str, float] = field(default_factory=dict)  # frames, messages, bytes a second at max
    bus_rate: float = float("nan")  # messages a second through NatsBus
    floor_rate: float = float("nan")  # … by nats-py alone
    latency: dict[str, Window] = field(default_factory=dict)  # "single", "split"
    cpu: dict[str, tuple[Window, dict[str, float]]] = field(default_factory=dict)  # load: window, CPU by role
    notes: list[str] = field(default_factory=list)


def _config(args: argparse.Namespace) -> Path:
    """The simulator's settings every server of the run shares (TOML)."""
    path = Path(tempfile.mkdtemp(prefix="tickerplant-bench-")) / "scaleout.toml"
    path.write_text(f"[simulator]\nhistory_s = {args.history_s}\n")
    return path


def publish_path(args: argparse.Namespace, config: Path, figures: Figures) -> None:
    with split(0, config, "max", args.start_timeout) as server:
        recorder = Child(CLIENT_CPU, record, server.nats_url, args.seconds, args.keep_mb << 20)
        try:
            rates, frames = recorder.recv(args.seconds + 30, "the recorded frames")
        finally:
            close_all([recorder])
        figures.plant = rates
        # The plant's part is done: at max it would keep CPU 0 busy while the publishers
        # below share it, slowing the side that does more per frame (the bus) the most.
        server.plant.terminate()
        server.plant.wait(10.0)
        print(
            f"  plant at --sim-rate max: {rates['messages']:,.0f} messages/s in {rates['frames']:,.0f}"
            f" frames/s, {rates['bytes'] / 1e6:,.1f} MB/s (kept {len(frames):,} frames to publish again)",
            flush=True,
        )
        messages = _messages(frames)
        best: dict[str, float] = {}
        for _ in range(args.repeats):  # alternately, the best of each: noise only slows a run
            for name, main in (("floor", publish_floor), ("bus", publish_bus)):
                publisher = Child(SERVER_CPU, main, server.nats_url, frames, 1)
                try:
                    reply = publisher.recv(120, f"the {name}'s publishing")
                finally:
                    close_all([publisher])
                elapsed, dropped = reply if isinstance(reply, tuple) else (reply, 0)
                best[name] = max(best.get(name, 0.0), messages / elapsed)
                lost = f", {dropped} frames dropped" if dropped else ""
                print(
                    f"  {name}: {messages:,} messages in {elapsed:.3f} s, {messages / elapsed:,.0f}/s{lost}"
                )
        figures.floor_rate, figures.bus_rate = best["floor"], best["bus"]


def _messages(frames: list[tuple[str, bytes]]) -> int:
    from tickerplant.bus.frames import decode_frame

    return sum(len(decode_frame(data).messages) for _, data in frames)


def _path() -> str:
    return "/ws/" + "/".join(f"{s}@bookTicker" for s in um_symbols())


def _window(
    args: argparse.Namespace, port: int, connections: int, pids: list[int], roles: dict[str, list[int]]
) -> tuple[Window, dict[str, float]]:
    """The clients' window on ``port``, and the CPU each role used in it (shares of a core)."""
    pool = ClientPool(port, _path(), connections, args.client_procs, 3 * args.seconds + 60)
    try:
        pool.wait_ready()
        time.sleep(args.warmup)
        before, start = proc_table(), time.monotonic()
        window = pool.measure(args.seconds, 0.0, lambda: pids)
        after, seconds = proc_table(), time.monotonic() - start
    finally:
        pool.close()
    tick = os.sysconf("SC_CLK_TCK") * seconds
    used = {
        role: sum(after.get(pid, (0, 0, 0))[2] - before.get(pid, (0, 0, 0))[2] for pid in members) / tick
        for role, members in roles.items()
    }
    return window, used


def _roles(server: Split) -> dict[str, list[int]]:
    gateways = [gateway.pid for gateway in server.gateways]
    return {"nats": [server.nats.pid], "plant": [server.plant.pid], "gateways": gateways}


def _show(label: str, w: Window, used: dict[str, float]) -> None:
    roles = ", ".join(f"{role} {share:.0%}" for role, share in used.items())
    print(
        f"  {label}: {w.rate:,.0f} msg/s over {w.connections} conns, p50 {w.p50_ms:.2f} ms, "
        f"p99 {w.p99_ms:.2f} ms ({w.samples:,} samples); CPU {roles}; other processes {w.other_cpu:.0%}",
        flush=True,
    )


def served(args: argparse.Namespace, config: Path, gateways: int, figures: Figures) -> None:
    """One server (the single process when ``gateways`` is 0, else split) and two windows on
    it: (b)'s few connections, then (c)'s many."""
    rate = str(args.sim_rate)
    name = {0: "single", 1: "1 gateway"}.get(gateways, f"{gateways} gateways")
    with contextlib.ExitStack() as stack:
        if gateways == 0:
            serve = ["--config", str(config), "--seed", "1", "--sim-rate", rate]
            one = stack.enter_context(serving(serve, args.start_timeout))
            port, pids, roles = one.um_port, one.pids(), {"single": one.pids()}
        else:
            server = stack.enter_context(split(gateways, config, rate, args.start_timeout))
            port, pids, roles = server.um_port, server.pids(), _roles(server)
        if gateways <= 1:  # the best p99 of a few windows: scheduling noise only adds latency
            for _ in range(args.latency_windows):
                window, used = _window(args, port, args.latency_connections, pids, roles)
                best = figures.latency.get(name)
                if best is None or window.p99_ms < best.p99_ms:
                    figures.latency[name] = window
                _show(f"(b) {name}, {args.latency_connections} connections", window, used)
        figures.cpu[name] = _window(args, port, args.connections, pids, roles)
        _show(f"(c) {name}, {args.connections} connections", *figures.cpu[name])


def run(args: argparse.Namespace, figures: Figures) -> None:
    import_from_src()
    config = _config(args)
    print("(a) the plant's publish path", flush=True)
    publish_path(args, config, figures)
    print(f"(b), (c) at --sim-rate {args.sim_rate:g}", flush=True)
    for gateways in (0, 1, 2):
        served(args, config, gateways, figures)


def _us_per_message(window: Window, used: dict[str, float]) -> float:
    return sum(used.values()) / window.rate * 1e6 if window.rate else float("nan")


def report(args: argparse.Namespace, figures: Figures) -> None:
    print()
    ratio = figures.bus_rate / figures.floor_rate
    print(verdict("(a) NatsBus / nats-py publishing the plant's frames", ratio, PUBLISH))
    single, through = figures.latency.get("single"), figures.latency.get("1 gateway")
    if single and through:
        p50, p99 = (
            f"{single.p50_ms:.2f} -> {through.p50_ms:.2f}",
            f"{single.p99_ms:.2f} -> {through.p99_ms:.2f}",
        )
        print(f"(b) one process -> through a gateway: p50 {p50} ms, p99 {p99} ms")
        print(verdict("(b) p99 added by the bus hop", through.p99_ms - single.p99_ms, HOP))
    for name, (window, used) in figures.cpu.items():
        print(f"(c) {name}: {_us_per_message(window, used):.2f} µs of server CPU per delivered message")
    model(figures)


def model(figures: Figures) -> None:
    """A gateway's CPU: the frames (decoding them into its view: every gateway does it all)
    plus the fan-out per delivered message; the plant's and NATS's once per frame and per
    subscriber. Measured at one rate on one core each, scaled linearly."""
    if not {"1 gateway", "2 gateways"} <= figures.cpu.keys() or not figures.plant:
        print("model: not enough figures")
        return
    (w1, u1), (_, u2) = figures.cpu["1 gateway"], figures.cpu["2 gateways"]
    frames = max(0.0, u2["gateways"] - u1["gateways"])  # one more gateway: the frames' share of a core
    per_message = u1["gateways"] / w1.rate if w1.rate else float("nan")  # core-seconds, frames included
    gateway_rate = 1.0 / per_message  # a conservative ceiling: the frames' cost counted per message
    plant, nats = u1["plant"], max(u1["nats"], u2["nats"] / 2)
    at_max = frames / plant if plant else float("nan")  # the plant at max takes a core: frames scale so
    bytes_max, messages_max = figures.plant["bytes"], figures.plant["messages"]
    cores = 16 - 1 - max(1, math.ceil(14 * nats))  # the plant, nats-server, then gateways
    cluster = 9 * 15
    cluster_rate = cluster * gateway_rate / 1e6
    lines = [
        "",
        "model (figures above; a gateway, the plant and nats-server each on a core of its own):",
        f"  a gateway: {per_message * 1e6:.2f} µs of CPU per delivered message at this rate, the frames",
        f"    alone {frames:.0%} of a core: ~{gateway_rate / 1e6:,.2f} M delivered messages/s a core",
        f"  the plant: {plant:.0%} of a core at this rate; at max it publishes {messages_max:,.0f}",
        f"    messages/s ({bytes_max / 1e6:,.1f} MB/s of frames); a gateway then spends ~{at_max:.0%} of a",
        "    core on the frames alone (past 100 % no gateway could follow the plant at its max)",
        f"  nats-server: {nats:.1%} of a core per subscribing gateway at this rate",
        f"  16-core host: the plant 1 core, nats-server {15 - cores}, {cores} gateways:",
        f"    ~{cores * gateway_rate / 1e6:,.1f} M delivered messages/s, if the NIC and kernel keep up",
        f"  10 hosts: one for the plant and nats-server, 9 × 15 gateways: ~{cluster_rate:,.0f} M",
        f"    delivered messages/s; NATS sends each frame {cluster} times: {cluster * bytes_max / 1e9:,.2f}",
        "    GB/s at the plant's max, which the bus host's NIC (or a NATS cluster's fan-out) must carry",
        "  two cores cannot show: gateways on cores of their own (here the plant, NATS and the gateways",
        "    share CPU 0, the clients CPU 1), gateways scaling past one core, NATS's fan-out to many",
        "    hosts, a NIC; these are one core's figures at one client load, scaled linearly",
    ]
    print("\n".join(lines))


def parse_args(argv: list[str]) -> argparse.Namespace:
    about = __doc__.split("\n\n")[0]
    p = argparse.ArgumentParser(prog="python -m benchmarks scaleout", description=about)
    p.add_argument("--quick", action="store_true", help="short windows, fewer connections, less history")
    p.add_argument("--seconds", type=float, default=None, help="each window (10; 1.5 --quick)")
    p.add_argument("--warmup", type=float, default=None, help="before each window (2; 0.3 --quick)")
    p.add_argument("--connections", type=int, default=None, help="(c)'s connections (200; 20 --quick)")
    p.add_argument("--latency-connections", type=int, default=4, help="(b)'s connections")
    p.add_argument("--client-procs", type=int, default=2, help="client processes on CPU 1")
    p.add_argument(
        "--latency-windows", type=int, default=None, help="(b)'s windows a side, best p99 kept (3; 1 --quick)"
    )
    p.add_argument("--sim-rate", type=float, default=2000.0, help="actions/s for (b) and (c): moderate")
    p.add_argument("--history-s", type=float, default=None, help="simulated history (600; 60 --quick)")
    p.add_argument("--keep-mb", type=int, default=None, help="frames kept for (a) (64; 8 --quick)")
    p.add_argument(
        "--repeats", type=int, default=None, help="(a)'s runs of each, the best kept (5; 2 --quick)"
    )
    p.add_argument("--start-timeout", type=float, default=120.0, help="seconds a server may take to start")
    args = p.parse_args(argv)
    sizes = (
        ("seconds", 10.0, 1.5), ("warmup", 2.0, 0.3), ("connections", 200, 20), ("history_s", 600.0, 30.0),
        ("keep_mb", 64, 8), ("repeats", 5, 2), ("latency_windows", 3, 1),
    )  # fmt: skip
    fill_sizes(args, sizes)
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    check_cpus()
    load = os.getloadavg()
    print(f"== scale-out over NATS; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
    figures = Figures()
    with supervised():
        try:
            run(args, figures)
        except (RuntimeError, TimeoutError, OSError, EOFError) as exc:
            figures.notes.append(f"{type(exc).__name__}: {exc}")
            print(f"  ! {exc}", flush=True)
        report(args, figures)
    return 0
