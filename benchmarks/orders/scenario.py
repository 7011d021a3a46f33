"""Orders over kept-alive REST: the venue's latency at a steady rate, and its rate flat out
against a floor.

    python -m benchmarks orders [--quick] [--rate 1000] [--seconds 10] [--accounts 1000]
                                [--profile FILE] [--profile-steady FILE] [--profile-seconds 5]
                                [--journal] [--path]

``tickerplant serve --sim-rate 400 --request-weight 1000000000`` (the IP budget lifted)
with ``--accounts`` venue accounts (each 10⁶ USDT, an
HMAC key) on CPU 0; the clients on CPU 1, each request signed as it goes (HMAC-SHA256 over
the query, part 1 §4.2). Every order is a LIMIT GTC far below the book followed by its
cancel, so nothing fills and no account reaches its open-order or order-rate limits (the
accounts take turns: 1,000 accounts at 1,000 orders/s is 1 each a second, far under 300
per 10 s; flat out, 1,000 accounts allow 30,000 orders/s).

0. Warm-up: ``--warmup`` seconds of the steady part, REST then the WebSocket API, measured
   and printed apart, not in the figures below. It is the server's first load after its
   start (each account's first order, its first checkpoints, the journal's WAL file grown
   to its size, start-up's garbage): one second of it held ~1 % of the orders 5-30 ms.
1. Steady: ``--rate`` orders/s (and as many cancels) over 20 connections for ``--seconds``:
   new → acknowledgement latency p50/p99, journal on (a SQLite commit before each answer).
   Target: p99 ≤ 1 ms. The first ``WATCHED`` accounts keep a user data stream open (one
   picows connection each, ``streams.py``): their orders' new → ``ORDER_TRADE_UPDATE``
   (``x`` ``NEW``) p50/p99, from the request's sending to the event's arrival.
2. The same over the WebSocket API (``order.place`` then ``order.cancel``, each signed, 20
   connections): new → response p50/p99, and new → ``ORDER_TRADE_UPDATE`` likewise.
3. Flat out (REST): 50 connections, each sending its next order as soon as the last and its
   cancel are answered: orders/s, against a floor that answers the same requests (each order
   and its cancel) with pre-built bytes over kept-alive connections with the same library
   (asyncio on uvloop), alone on the server's CPU as the venue is. Target: ≥ 0.15 of it.
   Then the same against ``references.required``: only the work no order request can skip
   (parse, verify the HMAC, journal a row with group commit, answer JSON); what it leaves of
   the budget at 0.15 is printed, µs per order and its cancel, for everything else the venue
   does (routing, limits, the engine, events, the market).
4. Before each reference's flat-out part, the steady REST part against it (its warm-up, then
   ``--rate`` for ``--seconds``): what the same clients, the network and the reference's own
   work take of the new → answer latency, printed beside the venue's.

The flat-out part also prints the server's CPU per order and its cancel, read from /proc
over the part, and what other processes used meanwhile: on a shared machine the rate moves
with them more than the CPU a pair does; and the journal's WAL at its largest over the part
(``wal_size.py``: one that never starts over grows by every commit).

``--journal``: only the journal's rows, in process (``journal_rows.py``).

``--path``: only the request path (head, route, keys and signature, engine, journal, group
commit, answer), in process, CPU µs a pair, REST's then the WebSocket API's; REST's
instructions a pair under callgrind (``request_path.py``).

``--profile FILE``: after the flat-out part, the same load again for ``--profile-seconds``
while ``py-spy record`` samples the server (written to FILE), then where an order and its
cancel spend the server's loop, part by part (``where.py``), and the top functions.
``--profile-steady FILE``: the same of the steady REST part, at ``--rate``.

It always exits 0: it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import urllib.request
from pathlib import Path

import uvloop

from tickerplant.venue.journal.sqlite_journal import WAL_LIMIT_BYTES

from ..harness.accounting import cpu_use, disturbed, proc_table
from ..harness.cold import pause_cost
from ..harness.commands import Child
from ..harness.processes import (
    CLIENT_CPU,
    HOST,
    SERVER_CPU,
    ServerProcess,
    check_cpus,
    pin,
    raise_nofile,
    serving,
    supervised,
)
from ..harness.profile import print_profile, profile_pid
from ..harness.report import Target, percentile_ms, verdict
from .journal_rows import print_journal
from .load import SECRET, event_latencies, flat_out, make_accounts, steady, ws_steady
from .references import floor_async, required_async
from .request_path import print_path
from .server_part import print_server_part, taken
from .streams import UserStreams, listen_keys
from .wal_size import LargestFile
from .where import print_split

LATENCY = Target(1.0, at_least=False, unit=" ms")
RATIO = Target(0.15)
WATCHED = 50  # accounts whose user data stream is open: 5 % of the orders at 1,000 accounts


async def profile_flat_out(
    server: ServerProcess, keys: list[str], price: str, args: argparse.Namespace
) -> float:
    """The flat-out load again while py-spy samples the server (``--profile``): its pairs/s,
    0 when py-spy could not run (it says why)."""
    loop = asyncio.get_running_loop()
    seconds = args.profile_seconds
    sampled = loop.run_in_executor(None, profile_pid, server.proc.pid, seconds, args.profile, True)
    pairs_per_s, _ = await flat_out(server.um_port, keys, price, seconds + 1.0)  # py-spy starts late
    why = await sampled
    if why is not None:
        print(f"  ! no profile: {why}", flush=True)
        return 0.0
    return pairs_per_s


async def profile_steady(
    server: ServerProcess, keys: list[str], price: str, args: argparse.Namespace
) -> bool:
    """The steady REST part again while py-spy samples the server (``--profile-steady``): where
    a pair goes at ``--rate``, where the p99 is made (each request its own loop turn and
    transaction); False when py-spy could not run (it says why)."""
    loop = asyncio.get_running_loop()
    seconds = args.profile_seconds
    sampled = loop.run_in_executor(None, profile_pid, server.proc.pid, seconds, args.profile_steady, True)
    await steady(server.um_port, keys, price, args.rate, seconds + 1.0, {}, tag="s")  # py-spy starts late
    why = await sampled
    if why is not None:
        print(f"  ! no profile: {why}", flush=True)
    return why is None


def reference(
    loop: asyncio.AbstractEventLoop, child: Child, keys: list[str], price: str, args: argparse.Namespace
) -> tuple[float, list[float]]:
    """Against a reference server (``references.py``), forked and stopped: orders/s flat out,
    and first new → answer at ``--rate`` as the steady REST part has it (after its warm-up):
    what the same clients, the network and the reference's own work take of the latency."""
    try:
        port = child.recv(10.0, "the reference server to listen")[1]
        loop.run_until_complete(steady(port, keys, price, args.rate, args.warmup, {}, tag="x"))
        acks = loop.run_until_complete(steady(port, keys, price, args.rate, args.seconds, {}))
        rate, refused = loop.run_until_complete(flat_out(port, keys, price, args.seconds))
        assert not refused, "a reference server answers every request"
        return rate, acks
    finally:
        child.close()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks orders", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="3 s each, 200 orders/s, 300 accounts")
    p.add_argument("--rate", type=float, default=None, help="orders/s in the steady part (1000; 200)")
    p.add_argument("--seconds", type=float, default=None, help="each part's length (10; 3)")
    p.add_argument("--warmup", type=float, default=None, help="seconds of warm-up, each API (2; 1)")
    p.add_argument("--accounts", type=int, default=None, help="accounts taking turns (1000; 300)")
    p.add_argument("--profile", type=Path, default=None, metavar="FILE", help="py-spy the flat-out part")
    p.add_argument("--profile-steady", type=Path, default=None, metavar="FILE", help="py-spy the steady part")
    p.add_argument("--profile-seconds", type=float, default=5.0, help="the profiled run's length (5)")
    p.add_argument("--journal", action="store_true", help="the journal alone, in process")
    p.add_argument("--path", action="store_true", help="the request path alone, in process")
    args = p.parse_args(argv)
    args.rate = args.rate or (200.0 if args.quick else 1000.0)
    args.seconds = args.seconds or (3.0 if args.quick else 10.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 2.0)
    args.accounts = args.accounts or (300 if args.quick else 1000)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.journal:
        print_journal(args.accounts, args.quick)
        return 0
    if args.path:
        print_path(make_accounts, args.accounts, args.quick)
        return 0
    raise_nofile()
    check_cpus()
    pin(CLIENT_CPU)
    what = f"{args.rate:,.0f}/s steady, then flat out; {args.accounts} accounts"
    print(f"== orders over kept-alive REST: {what}")
    life_s = 4 * args.seconds + 120
    with supervised(), tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "venue.db"
        keys = make_accounts(path, args.accounts)
        loop = uvloop.new_event_loop()
        try:
            serve_args = ["--sim-rate", "400", "--venue-db", str(path), "--request-weight", "1000000000"]
            with serving(serve_args, 60.0) as server:
                depth = f"http://{HOST}:{server.um_port}/fapi/v1/depth?symbol=BTCUSDT&limit=5"
                with urllib.request.urlopen(depth) as r:
                    bids = json.loads(r.read())["bids"]
                price = f"{float(bids[-1][0]) * 0.9:.1f}"
                streams = UserStreams()
                watched = loop.run_until_complete(listen_keys(server.um_port, keys[:WATCHED]))
                loop.run_until_complete(streams.open(server.um_port, watched))
                sent_at: dict[str, float] = {}
                warm: dict[str, float] = {}
                pace = steady(server.um_port, keys, price, args.rate, args.warmup, warm, tag="x")
                warm_rest = loop.run_until_complete(pace)
                pace = ws_steady(server.um_port, keys, price, args.rate, args.warmup, warm, tag="y")
                warm_ws = loop.run_until_complete(pace)
                parts = [taken(server.admin_port)]  # the server's own part: around each part
                pace = steady(server.um_port, keys, price, args.rate, args.seconds, sent_at)
                latencies = loop.run_until_complete(pace)
                parts.append(taken(server.admin_port))
                pace = ws_steady(server.um_port, keys, price, args.rate, args.seconds, sent_at)
                ws_latencies = loop.run_until_complete(pace)
                loop.run_until_complete(asyncio.sleep(0.2))  # the last events on their way
                streams.close()
                parts.append(taken(server.admin_port))
                before, started = proc_table(), time.perf_counter()
                with LargestFile(path.with_name(path.name + "-wal")) as wal:
                    load = flat_out(server.um_port, keys, price, args.seconds)
                    venue, refused = loop.run_until_complete(load)
                window_s = time.perf_counter() - started
                used = cpu_use(before, proc_table(), {server.proc.pid}, {os.getpid()}, window_s)
                parts.append(taken(server.admin_port))  # after the window's CPU is read
                profiled = 0.0
                if args.profile is not None:
                    profiled = loop.run_until_complete(profile_flat_out(server, keys, price, args))
                steadied = args.profile_steady is not None and loop.run_until_complete(
                    profile_steady(server, keys, price, args)
                )
            floor, floor_acks = reference(loop, Child(SERVER_CPU, floor_async, life_s), keys, price, args)
            secrets = {key.encode(): SECRET.encode() for key in keys}
            required_child = Child(SERVER_CPU, required_async, secrets, Path(folder) / "required.db", life_s)
            required, required_acks = reference(loop, required_child, keys, price, args)
        finally:
            loop.close()
    for name, acks in (("REST", warm_rest), ("WebSocket API", warm_ws)):
        said = f"p50 {percentile_ms(acks, 0.5):.2f} ms, p99 {percentile_ms(acks, 0.99):.2f} ms"
        said += f" ({len(acks):,})"
        print(f"  warm-up ({args.warmup:g} s after start, not counted), {name}: new → answer {said}")
    p50, p99 = percentile_ms(latencies, 0.5), percentile_ms(latencies, 0.99)
    print(f"  steady: {len(latencies):,} orders, new → ack p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    for name, prefix, acks in (("REST", "b", latencies), ("WebSocket API", "w", ws_latencies)):
        events = event_latencies(sent_at, streams.seen, prefix)
        answers = f"p50 {percentile_ms(acks, 0.5):.2f} ms, p99 {percentile_ms(acks, 0.99):.2f} ms"
        answers += f" ({len(acks):,})"
        told = f"p50 {percentile_ms(events, 0.5):.2f} ms, p99 {percentile_ms(events, 0.99):.2f} ms"
        print(f"  {name}: new → answer {answers}; new → ORDER_TRADE_UPDATE {told} ({len(events):,} watched)")
    for name, acks in (("the floor (pre-built bytes)", floor_acks), ("the required work", required_acks)):
        said = f"p50 {percentile_ms(acks, 0.5):.2f} ms, p99 {percentile_ms(acks, 0.99):.2f} ms"
        print(f"  the same REST clients at the same rate against {name}: new → answer {said}")
    print_server_part(parts, args.rate, pause_cost())  # beside it, the machine's cost of a pause
    ws_p99 = percentile_ms(ws_latencies, 0.99)
    event_p99 = percentile_ms(event_latencies(sent_at, streams.seen, ""), 0.99)
    print(f"  flat out: venue {venue:,.0f} orders/s accepted (each with its cancel; {refused:,} refused),"
          f" floor {floor:,.0f} orders/s (each with its cancel)")
    # the server's own CPU per pair: a figure other processes on the machine move less than the rate
    print(f"  the server's CPU flat out: {used.server / venue * 1e6:.0f} µs an order and its cancel"
          f" ({used.server:.0%} of its core; other processes {used.others:.0%} of a core)")
    print(f"  the journal's WAL flat out, at its largest: {wal.largest / 2**20:.0f} MiB"
          f" (cut back to {WAL_LIMIT_BYTES / 2**20:.0f} MiB each time it starts over)")  # fmt: skip
    if (warning := disturbed("flat out", used.others)) is not None:
        print(f"  {warning}")
    left, own = (1 / (RATIO.value * floor) - 1 / required) * 1e6, (1 / venue - 1 / required) * 1e6
    print(f"  the required work alone (parse, HMAC, journal, JSON): {required:,.0f} orders/s,"
          f" {required / floor:.3f} of the floor; at {RATIO.value:g} of the floor, {left:.1f} µs an order"
          f" and its cancel are left for the venue's own work (it takes {own:.1f})")
    print(verdict("new → ack p99", p99, LATENCY, 2))
    print(verdict("WebSocket API new → answer p99", ws_p99, LATENCY, 2))
    print(verdict("new → ORDER_TRADE_UPDATE p99", event_p99, LATENCY, 2))
    print(verdict("orders/s flat out, venue / floor", venue / floor, RATIO, 3))
    if args.profile is not None and profiled:
        print_split(args.profile, profiled)
        print_profile(args.profile, f"the server flat out ({profiled:,.0f} pairs/s while sampled)")
    if steadied:
        print_split(args.profile_steady, args.rate)  # the loop's C code there is mostly its idle
        print_profile(args.profile_steady, f"the server at {args.rate:,.0f} orders/s (REST)")
    return 0
