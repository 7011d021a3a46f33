"""Derived-streams benchmark, in-process: the plants' CPU per simulator action with every
derived stream produced (``Plant(..., derived_streams=True)``: `<symbol>@kline_<interval>`
and `<pair>_<contractType>@continuousKline_<interval>` for every interval, and whatever else
the plant derives from trades and books) against the same run without them, both markets.

    python -m benchmarks derived_plant [--quick] [--repeats 5] [--max-actions 150000]

The order flow is ``depth_plant``'s (made once, before anything is timed, as the pump makes
it): the simulator flat out (``max``) and at the default 400 actions/s of simulated time.
Both sides keep every depth stream on, as a server does; fresh plants warmed as the pump
warms them take the same batches through ``pump.dispatch`` onto a bus that only counts,
alternately without and with the derived streams; best of ``--repeats``. Target: the
derived streams add at most 25 %. It always exits 0: it measures.
"""

from __future__ import annotations

import argparse

from ..depth import plant as depth_plant
from ..harness.options import fill_sizes
from ..harness.report import Target, verdict

TARGET = Target(1.25, at_least=False)  # CPU per action with the derived streams / without


def measure(flow: depth_plant.Flow, repeats: int) -> depth_plant.Runs:
    """Alternately without (``Runs.plain``) and with (``Runs.depth``) the derived streams,
    depth on in both at its cadences (``depth_plant.cadence_demand``: the real-time `@0ms`
    depth streams are written only while somebody takes them), `repeats` times each."""
    runs = depth_plant.Runs(flow)
    wanted = depth_plant.cadence_demand(flow, derived=True)
    for _ in range(repeats):
        us, bus = depth_plant.run_once(flow, depth=True, derived=False, wanted=wanted)
        runs.plain.append(us)
        runs.plain_messages = bus.messages
        us, bus = depth_plant.run_once(flow, depth=True, derived=True, wanted=wanted)
        runs.depth.append(us)
        runs.depth_messages = bus.messages
    return runs


def _list(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.2f}" for v in values) + "]"


def run(args: argparse.Namespace) -> list[depth_plant.Runs]:
    top = depth_plant.max_rate(None, args.max_actions // 3)
    print(f"  the pump flat out without depth: ~{top:,.0f} actions/s (simulator and plants)", flush=True)
    runs = []
    for rate, actions in ((None, args.max_actions), (400.0, args.rate_actions)):
        flow = depth_plant.make_flow(rate, actions, None, top)
        r = measure(flow, args.repeats)
        low, high = r.spread()
        print(
            f"  {flow.label}: {flow.actions:,} actions over {flow.simulated_s:,.1f} s simulated; "
            f"µs/action without {_list(r.plain)}, with {_list(r.depth)}; pairs {low:.2f}-{high:.2f}",
            flush=True,
        )
        runs.append(r)
    return runs


def report(args: argparse.Namespace, runs: list[depth_plant.Runs]) -> None:
    print()
    depth_plant.print_runs(
        runs, "without", "with", "with/without", args.repeats,
        "the plants' CPU per simulator action, depth on",
    )  # fmt: skip
    for r in runs:
        headline = " (headline)" if r.flow.label.startswith("max") else ""
        print(verdict(f"derived streams: with / without at {r.flow.label}{headline}", r.ratio, TARGET))


def parse_args(argv: list[str]) -> argparse.Namespace:
    about = __doc__.split("\n\n")[0]
    p = argparse.ArgumentParser(prog="python -m benchmarks derived_plant", description=about)
    p.add_argument("--quick", action="store_true", help="fewer actions and repeats")
    p.add_argument("--repeats", type=int, default=None, help="runs of each side (5; 2 --quick)")
    p.add_argument("--max-actions", type=int, default=None, help="actions at max (150,000; 15,000)")
    p.add_argument("--rate-actions", type=int, default=None, help="actions at 400/s (40,000; 4,000)")
    args = p.parse_args(argv)
    sizes = (("repeats", 5, 2), ("max_actions", 150_000, 15_000), ("rate_actions", 40_000, 4_000))
    fill_sizes(args, sizes)
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    print("== derived streams in the plant, in-process (this process)", flush=True)
    report(args, run(args))
    return 0
