"""Client benchmark: bookTicker messages per second consumed into typed objects, tickerplant's
``MarketStreams`` side by side with python-binance and the official Binance SDK.

    python -m benchmarks client [--seconds 8] [--copies 72] [--copies-others 12] [--quick]
                                [--profile FILE] [--skip-reference]

One server, ``python -m tickerplant serve --sim-rate max`` alone on CPU 0, and one consumer
process at a time alone on CPU 1 (`client_consumer`), each for a window of the same length
after a warm-up. Every consumer subscribes the same stream names from the same server:
``<symbol>@bookTicker`` for every USDⓈ-M symbol, on ``/public/stream`` of the USDⓈ-M listener,
and counts what is delivered to user code as typed objects (`client_libraries`).

All run on uvloop (``uvloop.run``). The simulator bounds what the server writes to one
connection (~33k msg/s with 24 connections on the development machine, less with more),
below what the consumers can take, so each consumer holds ``copies`` subscriptions of the same
names (independent clients in one process; the server fans every event out to each), enough
that the offered load is above the consumer's own ceiling: its rate is then its own, and its
process CPU is at ~100 %. A reference consumer (picows, count only, no decoding) with
tickerplant's copies shows what the server offers. The server runs with ``--send-buffer 1 GiB``
so that it does not cut off the consumers that fall behind, and ``--max-incoming-rate 1000``
for the SDK's SUBSCRIBE burst.

The result is a table of delivered msg/s, client CPU and CPU per message, the ratio
tickerplant / max(python-binance, SDK) against its target (>= 5) with PASS/FAIL. With
``--profile FILE`` tickerplant's consumer is also sampled with ``py-spy record --format raw``
after its window and its top functions are printed. It always exits 0: it measures.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..harness.accounting import disturbed
from ..harness.catalogue import um_symbols
from ..harness.options import fill_sizes
from ..harness.processes import (
    CLIENT_CPU,
    HOST,
    SERVER_CPU,
    ServerProcess,
    check_cpus,
    import_from_src,
    pin,
    serving,
    supervised,
)
from ..harness.profile import print_profile, profile_pid
from ..harness.report import Column, Table, Target, verdict
from .consumer import ConsumerProc, Window
from .libraries import KINDS, ConsumerSpec

TARGET_RATIO = Target(5.0)
SATURATED_CPU = 0.9  # a consumer below this share of its core was not its own limit

# The server cuts off a connection whose unsent bytes pass --send-buffer (8 MiB by default),
# as Binance does with a slow consumer. Here the consumers are slower than the server on
# purpose, for a few seconds: the limit is raised so that none is cut off in a window.
SEND_BUFFER = 1 << 30
# The SDK sends one SUBSCRIBE per symbol (all at once, here); the server's default allows 10
# incoming messages a second per connection, as Binance does, and closes above that.
INCOMING_RATE = 1000
PYBINANCE_QUEUE = 1_000_000  # python-binance's max_queue_size (default 100: it overflows)

LABELS = {
    "reference": "reference: picows, count only",
    # Prices as the original strings, like python-binance's dicts and the SDK's models.
    "tickerplant": "tickerplant MarketStreams -> BookTicker[str]",
    "tickerplant-decimal": "tickerplant MarketStreams -> BookTicker[Decimal]",
    "python-binance": "python-binance recv() -> dict",
    "sdk": "Binance SDK callback -> pydantic model",
}
SHORT = {k: "SDK" if k == "sdk" else k for k in KINDS}


@dataclass
class Row:
    kind: str
    copies: int
    window: Window | None = None
    notes: list[str] = field(default_factory=list)


def show(row: Row, w: Window) -> None:
    extra = ""
    if w.lagged:
        extra += f"; {w.lagged:,} DROPPED by the client (Lagged)"
    if w.other:
        extra += "; other items " + ", ".join(f"{n:,}x {k}" for k, n in Counter(w.other).most_common(3))
    if w.errors:
        extra += "; ERRORS " + ", ".join(f"{n}x {k}" for k, n in Counter(w.errors).most_common(3))
    status = ", ".join(f"{k} {v:,}" for k, v in w.status.items())
    print(
        f"  {LABELS[row.kind]}: {w.rate:,.0f} msg/s over {row.copies} copies ({status}), "
        f"client CPU {w.client_cpu:.0%} ({w.us_per_msg:.2f} µs/msg), server CPU {w.server_cpu:.0%}, "
        f"other processes {w.other_cpu:.0%}, server RSS {w.server_rss_mb:,.0f} MB, "
        f"max gap between 10 ms ticks {w.stall_ms:,.0f} ms{extra}",
        flush=True,
    )


def run_consumer(row: Row, args: argparse.Namespace, server: ServerProcess, symbols: list[str]) -> None:
    """Fill `row`; an error is noted, not raised, so the other consumers still run."""
    spec = ConsumerSpec(
        kind=row.kind,
        url=f"ws://{HOST}:{server.um_port}",
        symbols=tuple(symbols),
        copies=row.copies,
        pybinance_queue=args.pybinance_queue,
        setup_timeout_s=args.setup_timeout,
        life_s=args.seconds + args.warmup + args.profile_seconds + 90,
    )
    print(f"== {LABELS[row.kind]}, {row.copies} copies", flush=True)
    consumer = ConsumerProc(spec)
    try:
        consumer.wait_ready()
        row.window = consumer.measure(args.seconds, args.warmup, server)
        show(row, row.window)
        if row.kind == "tickerplant" and args.profile:
            print(f"  profiling the consumer for {args.profile_seconds:g} s ...", flush=True)
            why = profile_pid(consumer.child.pid, args.profile_seconds, args.profile)
            row.notes.append(f"profile written to {args.profile}" if why is None else f"no profile: {why}")
    except (RuntimeError, TimeoutError, OSError, EOFError) as exc:
        row.notes.append(f"{type(exc).__name__}: {exc}")
        print(f"  ! {row.kind}: {exc}", flush=True)
    finally:
        consumer.close()
    if (why := server.exited()) is not None:
        raise RuntimeError(why)


# --------------------------------------------------------------------------- report


def report(args: argparse.Namespace, rows: list[Row], symbols: list[str], cut_offs: int) -> None:
    by_kind = {r.kind: r for r in rows}
    tp = by_kind.get("tickerplant")
    tp_w = tp.window if tp else None
    print()
    print(
        f"{len(symbols)} USDⓈ-M <symbol>@bookTicker streams from `tickerplant serve --sim-rate max` on "
        f"CPU {SERVER_CPU}; one consumer process at a time on CPU {CLIENT_CPU}, uvloop; "
        f"{args.seconds:g} s windows after {args.warmup:g} s warm-up"
    )
    ref = by_kind.get("reference")
    per_copy = ref.window.rate / ref.copies if ref and ref.window else None
    table = Table(
        [
            Column("consumer", max(len(v) for v in LABELS.values()), left=True),
            Column("copies", 6),
            Column("offered ~", 9),
            Column("delivered msg/s", 15),
            Column("tp / this", 9),
            Column("client CPU", 10),
            Column("µs CPU/msg", 10),
            Column("loop ms", 7),
            Column("server CPU", 10),
            Column("dropped", 7),
        ]
    )
    lines = []
    for r in rows:
        w = r.window
        first = [LABELS[r.kind], f"{r.copies}", f"{per_copy * r.copies / 1000:,.0f}k" if per_copy else "-"]
        if w is None:
            lines.append([*first] + ["-"] * 7)
            continue
        ratio = f"{tp_w.rate / w.rate:.1f}x" if tp_w and w.rate > 0 and r.kind != "reference" else "-"
        dropped = f"{w.lagged:,}" if r.kind.startswith("tickerplant") else "-"
        cpu = [f"{w.client_cpu:.0%}", f"{w.us_per_msg:.2f}", f"{w.stall_ms:,.0f}", f"{w.server_cpu:.0%}"]
        lines.append([*first, f"{w.rate:,.0f}", ratio, *cpu, dropped])
    table.print(lines)
    print()
    others: list[tuple[str, Window]] = []
    for kind in ("python-binance", "sdk"):
        other_row = by_kind.get(kind)
        if other_row is not None and other_row.window is not None:
            others.append((SHORT[kind], other_row.window))
    best = max(others, key=lambda o: o[1].rate) if others else None
    if tp_w and best and best[1].rate > 0:
        bound = ""
        if tp_w.client_cpu < SATURATED_CPU:
            bound = " (a lower bound: tickerplant's consumer was not saturated)"
        label = f"delivered msg/s, tickerplant / max(python-binance, SDK) (= {best[0]})"
        print(verdict(label, tp_w.rate / best[1].rate, TARGET_RATIO, digits=1, after=bound))
        costs = ", ".join(
            f"{name} {w.us_per_msg:.1f} µs ({w.us_per_msg / tp_w.us_per_msg:.1f}x)" for name, w in others
        )
        print(f"client CPU per delivered message: tickerplant {tp_w.us_per_msg:.2f} µs; {costs}")
    else:
        print(verdict("delivered msg/s, tickerplant / max(python-binance, SDK)", None, TARGET_RATIO))
    for r in rows:
        for line in r.notes:
            print(f"note, {SHORT[r.kind]}: {line}")
    if cut_offs:
        print(f"WARNING: the server cut off {cut_offs} connections as slow consumers (--send-buffer)")
    for r in rows:
        w = r.window
        if w is None:
            continue
        name = SHORT[r.kind]
        for e, n in Counter(w.errors).most_common(5):
            print(f"WARNING: {name}: {n}x {e}")
        if w.lagged:
            print(f"WARNING: {name}: the client dropped {w.lagged:,} items (Lagged); they are not counted")
        if w.other:
            print(f"note, {name}: items that are not bookTicker, not counted: {w.other}")
        if (warning := disturbed(name, w.other_cpu)) is not None:
            print(warning)
        if r.kind != "reference" and w.client_cpu < SATURATED_CPU:
            flag = "copies" if r.kind.startswith("tickerplant") else "copies-others"
            print(
                f"WARNING: {name}: its process used {w.client_cpu:.0%} of CPU {CLIENT_CPU}: the offered "
                f"load, not the client, set its rate; raise --{flag}"
            )
    print(
        "loop ms = the longest gap between the consumer's 10 ms timer ticks in the window: about its "
        "longest event-loop iteration."
    )
    print(
        "copies = independent subscriptions of the same names in the consumer process: the server "
        "writes one connection only\nwhat its simulator makes"
        + (f" ({per_copy / 1000:,.0f}k msg/s here)" if per_copy else "")
        + ", so several are needed to load a consumer; offered ~ = copies x the reference's rate per copy."
    )


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks client", description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=None, help="measurement window (8; 2.5 --quick)")
    p.add_argument("--warmup", type=float, default=None, help="before each window (1.5; 0.5 --quick)")
    p.add_argument(
        "--copies",
        type=int,
        default=None,
        help="tickerplant's (and the reference's) subscriptions (72; 24 --quick)",
    )
    p.add_argument(
        "--copies-others",
        type=int,
        default=None,
        help="python-binance's and the SDK's subscriptions (12; 6 --quick)",
    )
    p.add_argument(
        "--pybinance-queue",
        type=int,
        default=PYBINANCE_QUEUE,
        help=f"python-binance's max_queue_size ({PYBINANCE_QUEUE:,}; its default, 100, overflows)",
    )
    p.add_argument("--symbols", default="", help="comma-separated USDⓈ-M symbols (default: all)")
    p.add_argument("--setup-timeout", type=float, default=20.0, help="to connect and subscribe")
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
        help="also record tickerplant's consumer with `py-spy record --format raw` after its window, "
        "into FILE, and print its top functions",
    )
    p.add_argument("--profile-seconds", type=float, default=None, help="(4; 2 --quick)")
    p.add_argument("--skip-reference", action="store_true", help="no picows count-only reference")
    p.add_argument("--only", choices=KINDS[1:], action="append", default=None, help="repeatable")
    p.add_argument("--quick", action="store_true", help="24 and 6 copies, 2.5 s windows, 0.5 s warm-ups")
    args = p.parse_args(argv)
    fill_sizes(args, (
        ("seconds", 8.0, 2.5),
        ("warmup", 1.5, 0.5),
        ("profile_seconds", 4.0, 2.0),
        ("copies", 72, 24),
        ("copies_others", 12, 6),
    ))
    if args.seconds <= 0 or args.warmup < 0 or args.copies < 1 or args.copies_others < 1:
        p.error("--seconds and the copies must be positive, --warmup not negative")
    if not args.profile:
        args.profile_seconds = 0.0
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    check_cpus()
    import_from_src()  # the consumers import tickerplant's client from src/, as the server runs
    t0 = time.monotonic()
    kinds = [k for k in KINDS[1:] if args.only is None or k in args.only]
    if not args.skip_reference:
        kinds.insert(0, "reference")
    own = ("reference", "tickerplant", "tickerplant-decimal")
    rows = [Row(k, args.copies if k in own else args.copies_others) for k in kinds]
    symbols: list[str] = []
    cut_offs = 0
    serve_args = ["--sim-rate", "max", "--seed", "1", "--send-buffer", str(SEND_BUFFER)]
    serve_args += ["--max-incoming-rate", str(INCOMING_RATE), *args.server_arg]
    with supervised():
        try:
            symbols = um_symbols(args.symbols)
            pin(CLIENT_CPU)  # after the catalogue import; this process mostly sleeps
            with serving(serve_args, args.server_start_timeout) as server:
                url, pid = f"ws://{HOST}:{server.um_port}", server.proc.pid
                print(
                    f"tickerplant serve --sim-rate max on {url} (pid {pid}, CPU {SERVER_CPU}); "
                    f"{len(symbols)} streams: {', '.join(symbols[:4])}, ...",
                    flush=True,
                )
                for row in rows:
                    run_consumer(row, args, server, symbols)
                cut_offs = server.log_text().count("bytes unsent (limit")  # slow consumers it closed
        except (RuntimeError, TimeoutError, OSError) as exc:
            print(f"  ! {type(exc).__name__}: {exc}", flush=True)
    report(args, rows, symbols, cut_offs)
    print_profile(
        args.profile,
        "tickerplant's consumer process",
        calls=" and the on_ws_frame calls into Python",
        example="such as msgspec's decode",
    )
    print(f"(total {time.monotonic() - t0:.0f} s)")
    return 0
