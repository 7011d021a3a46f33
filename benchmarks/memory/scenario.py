"""Memory over time: the server's resident set while it trades flat out, and how fast it
grows once warm, against a target of under 5 % of the starting RSS per hour.

    python -m benchmarks memory                 # 5 min after a 60 s warm-up, ~6.5 min
    python -m benchmarks memory --quick         # 30 s after a 10 s warm-up, ~45 s

The server under test (`python -m tickerplant serve --sim-rate max`, from `src/`) runs alone on
CPU 0 with no client: the simulator, the plants and both listeners' market views take every
action, which is where state grows with traffic (the 24 h windows, the views' backlogs, books
and klines). Every `--interval` seconds the benchmark reads the server's VmRSS from
/proc/<pid>/status. The warm-up covers the start (the day of warm history, the first klines,
the allocator settling); the starting RSS is the first sample after it, and the growth is the
least-squares slope of the samples after it, in MB per hour and as a share of the starting
RSS per hour.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass

from ..harness.accounting import DISTURBED, cpu_use, proc_table, rss_mb
from ..harness.processes import REPO, SERVER_CPU, check_cpus, serving, supervised
from ..harness.report import Column, Table, Target, verdict

TARGET = Target(5.0, at_least=False, unit=" %/h")  # growth per hour, of the starting RSS


@dataclass(frozen=True)
class Sample:
    at_s: float  # seconds since the server listened
    rss_mb: float


def slope_per_hour(samples: list[Sample]) -> float:
    """Least-squares slope of RSS over time, MB per hour."""
    n = len(samples)
    if n < 2:
        return float("nan")
    mean_t = sum(s.at_s for s in samples) / n
    mean_r = sum(s.rss_mb for s in samples) / n
    var = sum((s.at_s - mean_t) ** 2 for s in samples)
    if var == 0:
        return float("nan")
    cov = sum((s.at_s - mean_t) * (s.rss_mb - mean_r) for s in samples)
    return cov / var * 3600.0


def run(seconds: float, warmup: float, interval: float, extra: list[str]) -> None:
    args = ["--sim-rate", "max", "--log-level", "WARNING", *extra]
    print(f"server: tickerplant serve {' '.join(args)}  (CPU {SERVER_CPU}, no client)", flush=True)
    with serving(args, 60.0) as server:
        pid = server.proc.pid
        t0 = time.monotonic()
        before = proc_table()
        samples: list[Sample] = []
        for i in range(int((warmup + seconds) / interval) + 1):
            time.sleep(max(0.0, t0 + i * interval - time.monotonic()))
            samples.append(Sample(time.monotonic() - t0, rss_mb(pid)))
            if i % max(1, round(30 / interval)) == 0:
                phase = "warm-up" if samples[-1].at_s < warmup else "measured"
                print(f"  {samples[-1].at_s:6.0f} s  RSS {samples[-1].rss_mb:8.1f} MB  ({phase})", flush=True)
            if server.exited() is not None:
                break
        after = proc_table()
        cpu = cpu_use(before, after, set(server.pids()), {os.getpid()}, time.monotonic() - t0)
    report(samples, warmup, cpu.server, cpu.others)


def report(samples: list[Sample], warmup: float, server_cpu: float, others: float) -> None:
    measured = [s for s in samples if s.at_s >= warmup]
    print()
    if len(measured) < 2:
        print(verdict("RSS growth per hour", None, TARGET))
        return
    start, end = measured[0], measured[-1]
    mb_per_h = slope_per_hour(measured)
    share = mb_per_h / start.rss_mb * 100.0
    table = Table([Column("", 26, left=True), Column("at (s)", 8), Column("RSS (MB)", 10)])
    table.print(
        [
            ["first sample", f"{samples[0].at_s:.0f}", f"{samples[0].rss_mb:.1f}"],
            ["start (after the warm-up)", f"{start.at_s:.0f}", f"{start.rss_mb:.1f}"],
            ["peak after the warm-up", "", f"{max(s.rss_mb for s in measured):.1f}"],
            ["end", f"{end.at_s:.0f}", f"{end.rss_mb:.1f}"],
        ]
    )
    print()
    print(
        f"{len(measured)} samples over {end.at_s - start.at_s:.0f} s after the warm-up: "
        f"{mb_per_h:+.1f} MB/h (least squares), end - start {end.rss_mb - start.rss_mb:+.1f} MB"
    )
    print(f"server CPU {server_cpu:.0%} of a core; other processes {others:.0%}")
    if others > DISTURBED:
        print(f"WARNING: other processes used {others:.0%} of a core: the server ran slower than flat out")
    print(verdict("RSS growth per hour, of the starting RSS", share, TARGET, digits=2))
    print(f"(repo {REPO.name})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks memory",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="30 s measured after a 10 s warm-up")
    parser.add_argument("--seconds", type=float, default=None, help="measured seconds (300; 30)")
    parser.add_argument("--warmup", type=float, default=None, help="seconds before the start (60; 10)")
    parser.add_argument("--interval", type=float, default=None, help="seconds between samples (5; 2)")
    parser.add_argument(
        "--server-arg", action="append", default=[], help="an extra `serve` flag (repeatable)"
    )
    args = parser.parse_args(argv)
    seconds = args.seconds if args.seconds is not None else (30.0 if args.quick else 300.0)
    warmup = args.warmup if args.warmup is not None else (10.0 if args.quick else 60.0)
    interval = args.interval if args.interval is not None else (2.0 if args.quick else 5.0)
    check_cpus()
    t0 = time.monotonic()
    with supervised():
        run(seconds, warmup, interval, args.server_arg)
    print(f"(total {time.monotonic() - t0:.0f} s)")
    return 0
