#!/usr/bin/env python3
"""Client benchmark: bookTicker messages per second consumed into typed objects, tickerplant's
``MarketStreams`` side by side with python-binance and the official Binance SDK.

    python benchmarks/client.py [--seconds 8] [--copies 72] [--copies-others 12] [--quick]
                                [--profile FILE] [--skip-reference]

One server, ``python -m tickerplant serve --sim-rate max`` alone on CPU 0, and one consumer
process at a time alone on CPU 1, each for a window of the same length after a warm-up.
Every consumer subscribes the same stream names from the same server: ``<symbol>@bookTicker``
for every USDⓈ-M symbol, on ``/public/stream`` of the USDⓈ-M listener, and counts what is
delivered to user code as typed objects:

* tickerplant: ``tickerplant.client.streams.MarketStreams`` (``routed=True``), counting the
  ``BookTicker`` Structs its ``async for`` yields; ``Lagged`` items (the client dropped
  what it could not buffer) are counted apart and never as delivered;
* python-binance: ``BinanceSocketManager.futures_multiplex_socket(names, category="public")``,
  counting the dicts its ``recv()`` returns;
* the official SDK (``binance-sdk-derivatives-trading-usds-futures``):
  ``websocket_streams.individual_symbol_book_ticker_streams(symbol=…)`` for each symbol,
  counting the callbacks, each given a pydantic model.

All three run on uvloop (``uvloop.run``). The simulator bounds what the server writes to one
connection (~33k msg/s with 24 connections on the development machine, less with more),
below what the consumers can take, so
each consumer holds ``copies`` subscriptions of the same names (independent clients in one
process; the server fans every event out to each), enough that the offered load is above the
consumer's own ceiling: its rate is then its own, and its process CPU is at ~100 %. A
reference consumer (picows, count only, no decoding) with tickerplant's copies shows what the
server offers. The server runs with ``--send-buffer 1 GiB`` so that it does not cut off the
consumers that fall behind, and ``--max-incoming-rate 1000`` for the SDK's SUBSCRIBE burst.

The result is a table of delivered msg/s, client CPU and CPU per message, the ratio
tickerplant / max(python-binance, SDK) against its target (>= 5) with PASS/FAIL. With
``--profile FILE`` tickerplant's consumer is also sampled with ``py-spy record --format raw``
after its window and its top functions are printed. It always exits 0: it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import multiprocessing as mp
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import uvloop
from harness import (
    HOST,
    REPO,
    ServerProcess,
    cpu_shares,
    die_with_parent,
    pin,
    proc_table,
    profile_pid,
    reap,
    recv,
    top_functions,
)

SERVER_CPU = 0
CLIENT_CPU = 1
TARGET_RATIO = 5.0
SATURATED_CPU = 0.9  # a consumer below this share of its core was not its own limit

# The server cuts off a connection whose unsent bytes pass --send-buffer (8 MiB by default),
# as Binance does with a slow consumer. Here the consumers are slower than the server on
# purpose, for a few seconds: the limit is raised so that none is cut off in a window.
SEND_BUFFER = 1 << 30
# The SDK sends one SUBSCRIBE per symbol (all at once, here); the server's default allows 10
# incoming messages a second per connection, as Binance does, and closes above that.
INCOMING_RATE = 1000
TICK_S = 0.01  # the consumer's window clock (see consumer_async)
TEARDOWN_S = 1.5  # a consumer's graceful close; then it is killed
PYBINANCE_QUEUE = 1_000_000  # python-binance's max_queue_size (default 100: it overflows)

KINDS = ("reference", "tickerplant", "tickerplant-decimal", "python-binance", "sdk")
LABELS = {
    "reference": "reference: picows, count only",
    # Prices as the original strings, like python-binance's dicts and the SDK's models.
    "tickerplant": "tickerplant MarketStreams -> BookTicker[str]",
    "tickerplant-decimal": "tickerplant MarketStreams -> BookTicker[Decimal]",
    "python-binance": "python-binance recv() -> dict",
    "sdk": "Binance SDK callback -> pydantic model",
}
SHORT = {k: "SDK" if k == "sdk" else k for k in KINDS}


# --------------------------------------------------------------------------- processes






def child_setup(cpu: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and cleans up
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    die_with_parent()
    pin(cpu)


def server_preexec() -> None:
    die_with_parent()
    pin(SERVER_CPU)






def rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")








# --------------------------------------------------------------------------- consumers


@dataclass(frozen=True)
class ConsumerSpec:
    kind: str
    url: str  # ws://host:um-port, no path
    symbols: tuple[str, ...]  # lowercase
    copies: int
    pybinance_queue: int
    setup_timeout_s: float
    life_s: float  # hard limit on the process's life

    @property
    def names(self) -> list[str]:
        return [f"{s}@bookTicker" for s in self.symbols]


class Tally:
    """What the consumer process counts; `n` is delivered typed objects, nothing else."""

    __slots__ = ("errors", "lagged", "n", "other")

    def __init__(self) -> None:
        self.n = 0
        self.lagged = 0  # items MarketStreams dropped (reported by its Lagged items)
        self.other: Counter[str] = Counter()  # items that are not a bookTicker (Gap, ...)
        self.errors: Counter[str] = Counter()


@dataclass
class Running:
    """A consumer that is up: how to describe it and how to stop it."""

    teardown: Callable[[], Awaitable[None]]
    status: Callable[[], dict[str, Any]] = dict


async def _gather_or_cancel(aws: list[Awaitable[Any]]) -> list[Any]:
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for t in tasks:
            t.cancel()
        raise


async def setup_reference(spec: ConsumerSpec, tally: Tally) -> Running:
    """picows, one listener per copy, counting TEXT frames: what the server offers."""
    import picows
    from picows import WSFrame, WSListener, WSMsgType, WSTransport

    class Counting(WSListener):
        def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
            if frame.msg_type is WSMsgType.TEXT:
                tally.n += 1
            elif frame.msg_type is WSMsgType.CLOSE:
                tally.errors[f"closed by the server: {frame.get_close_code()}"] += 1
                transport.disconnect()

    url = f"{spec.url}/public/stream?streams=" + "/".join(spec.names)
    opened = await _gather_or_cancel([picows.ws_connect(Counting, url) for _ in range(spec.copies)])
    transports = [t for t, _ in opened]

    async def teardown() -> None:
        for t in transports:
            t.disconnect(False)
        await asyncio.sleep(0)

    return Running(teardown)


async def setup_tickerplant(spec: ConsumerSpec, tally: Tally, numbers: type[Any] = str) -> Running:
    from tickerplant.client.events import BookTicker
    from tickerplant.client.streams import Lagged, MarketStreams

    clients = [MarketStreams(spec.url, routed=True, numbers=numbers) for _ in range(spec.copies)]
    tasks: list[asyncio.Task[None]] = []

    async def consume(streams: MarketStreams) -> None:
        async for item in streams:
            if type(item) is BookTicker:
                tally.n += 1
            elif type(item) is Lagged:
                tally.lagged += item.dropped
            else:
                tally.other[type(item).__name__] += 1

    async def teardown() -> None:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)

    async def start(streams: MarketStreams) -> None:
        await streams.subscribe(*spec.names)
        tasks.append(asyncio.create_task(consume(streams)))  # at once: nothing piles up

    try:
        await _gather_or_cancel([start(c) for c in clients])
    except BaseException:
        await teardown()
        raise

    def status() -> dict[str, Any]:
        return {
            "connections": sum(c.connections for c in clients),
            "reconnects": sum(c.reconnects for c in clients),
        }

    return Running(teardown, status)


async def setup_pybinance(spec: ConsumerSpec, tally: Tally) -> Running:
    """``AsyncClient()`` does no I/O (``AsyncClient.create()`` would ping spot first); the socket
    manager's ``FSTREAM_URL`` is the server, with the trailing "/" it needs. The streams are
    in the URL (``/public/stream?streams=a/b/...``); python-binance sends no SUBSCRIBE."""
    from binance import AsyncClient, BinanceSocketManager
    from binance.exceptions import ReadLoopClosed

    client = AsyncClient()
    client.FUTURES_URL = f"{spec.url.replace('ws://', 'http://')}/fapi"
    sockets = []
    for _ in range(spec.copies):
        # One manager per copy: a manager hands out one socket per stream path.
        manager = BinanceSocketManager(client, max_queue_size=spec.pybinance_queue)
        manager.FSTREAM_URL = f"{spec.url}/"
        sockets.append(manager.futures_multiplex_socket(spec.names, category="public"))
    tasks: list[asyncio.Task[None]] = []

    async def consume(sock: Any) -> None:
        while True:
            try:
                msg = await sock.recv()
            except ReadLoopClosed:
                # Its read loop queued the cause as a message, which recv() no longer returns.
                cause = "cause unknown"
                while not sock._queue.empty():
                    left = sock._queue.get_nowait()
                    if isinstance(left, dict) and left.get("e") == "error":
                        cause = f"{left.get('type')}: {left.get('m')}"
                tally.errors[f"socket read loop ended ({cause})"[:160]] += 1
                return
            if "data" in msg:
                tally.n += 1
            elif msg.get("e") == "error":  # python-binance queues its failures as messages
                tally.errors[f"{msg.get('type')}: {msg.get('m')}"[:160]] += 1
            else:
                tally.other[str(msg)[:60]] += 1

    async def teardown() -> None:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*(s.__aexit__(None, None, None) for s in sockets), return_exceptions=True)
        await client.close_connection()

    try:
        await _gather_or_cancel([sock.__aenter__() for sock in sockets])
    except BaseException:
        await teardown()
        raise
    tasks.extend(asyncio.create_task(consume(s)) for s in sockets)

    def status() -> dict[str, Any]:
        return {
            "sockets reading": sum(1 for s in sockets if s._handle_read_loop),
            "queued": sum(s._queue.qsize() for s in sockets),
        }

    return Running(teardown, status)


async def setup_sdk(spec: ConsumerSpec, tally: Tally) -> Running:
    """The SDK appends ``/stream`` to ``stream_url`` and opens ``/market``, ``/public`` and
    ``/private`` connections at once; bookTicker is subscribed on ``/public``. Each stream method
    sleeps 0.5 s before its SUBSCRIBE, and callbacks are attached after it returns."""
    from binance_common.configuration import ConfigurationWebSocketStreams
    from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
        DerivativesTradingUsdsFutures,
    )

    clients = [
        DerivativesTradingUsdsFutures(
            config_ws_streams=ConfigurationWebSocketStreams(stream_url=spec.url, reconnect_delay=500)
        )
        for _ in range(spec.copies)
    ]

    def on_message(_model: Any) -> None:
        tally.n += 1

    async def subscribe(client: DerivativesTradingUsdsFutures) -> None:
        streams = client.websocket_streams
        await streams.create_connection()
        # The SDK sleeps 0.5 s before each SUBSCRIBE: all symbols at once, not one by one.
        handles = await _gather_or_cancel(
            [streams.individual_symbol_book_ticker_streams(symbol=s) for s in spec.symbols]
        )
        for h in handles:
            h.on("message", on_message)

    async def teardown() -> None:
        await asyncio.gather(
            *(c.websocket_streams.close_connection(close_session=True) for c in clients),
            return_exceptions=True,
        )

    try:
        await _gather_or_cancel([subscribe(c) for c in clients])
    except BaseException:
        await teardown()
        raise

    def status() -> dict[str, Any]:
        return {"connections": sum(len(c.websocket_streams.connections) for c in clients)}

    return Running(teardown, status)


SETUPS: dict[str, Callable[[ConsumerSpec, Tally], Awaitable[Running]]] = {
    "reference": setup_reference,
    "tickerplant": setup_tickerplant,
    "tickerplant-decimal": functools.partial(setup_tickerplant, numbers=Decimal),
    "python-binance": setup_pybinance,
    "sdk": setup_sdk,
}


async def consumer_async(conn: Connection, spec: ConsumerSpec) -> None:
    loop = asyncio.get_running_loop()
    tally = Tally()
    try:
        running = await asyncio.wait_for(SETUPS[spec.kind](spec, tally), spec.setup_timeout_s)
    except Exception as exc:
        conn.send(("failed", f"{type(exc).__name__}: {exc}"[:300]))
        return
    conn.send(("ready", running.status()))

    done: asyncio.Future[None] = loop.create_future()
    window: dict[str, Any] = {}
    # The window is measured between timer ticks, not at the commands: a timer runs at the start
    # of a loop iteration, after everything read in the previous one has been counted, so the
    # rate holds whole iterations even when one iteration takes a large bite of the backlog.
    ticks: dict[str, Any] = {"on": False}

    def tick(previous: float) -> None:
        now = time.perf_counter()
        if ticks["on"]:
            sample = (now, tally.n, time.process_time())
            if "first" in ticks:
                ticks["gap"] = max(ticks["gap"], now - previous)
            else:
                ticks["first"] = sample
            ticks["last"] = sample
        loop.call_later(TICK_S, tick, now)

    def finish() -> None:
        if not done.done():
            done.set_result(None)

    def on_command() -> None:
        try:
            cmd = conn.recv()
        except (EOFError, OSError):
            finish()
            return
        if cmd == "start":
            window.update(
                lagged=tally.lagged,
                other=Counter(tally.other),
                errors=Counter(tally.errors),
                at=(time.perf_counter(), tally.n, time.process_time()),
            )
            ticks.clear()
            ticks.update(on=True, gap=0.0)
        elif cmd == "stop":
            ticks["on"] = False
            first, last = ticks.get("first"), ticks.get("last")
            if (
                first is None
                or last is None
                or last[0] - first[0] < 0.5 * (time.perf_counter() - window["at"][0])
            ):
                first, last = window["at"], (time.perf_counter(), tally.n, time.process_time())
            conn.send(
                {
                    "n": last[1] - first[1],
                    "elapsed": last[0] - first[0],
                    "cpu": last[2] - first[2],
                    "stall": ticks["gap"],
                    "lagged": tally.lagged - window["lagged"],
                    "other": dict(tally.other - window["other"]),
                    "errors": dict(tally.errors - window["errors"]),
                    "errors_before": dict(window["errors"]),
                    "status": running.status(),
                }
            )
        elif cmd == "exit":
            finish()

    loop.add_reader(conn.fileno(), on_command)
    loop.call_later(spec.life_s, finish)
    tick(time.perf_counter())
    try:
        await done
    finally:
        loop.remove_reader(conn.fileno())
        with contextlib.suppress(Exception):  # bounded: the parent kills what is left anyway
            await asyncio.wait_for(running.teardown(), TEARDOWN_S)


def consumer_main(conn: Connection, spec: ConsumerSpec) -> None:
    child_setup(CLIENT_CPU)
    import logging

    # The SDK and python-binance log every hiccup at ERROR; the benchmark reports them itself.
    logging.basicConfig(level=logging.CRITICAL)
    try:
        uvloop.run(consumer_async(conn, spec))
    finally:
        conn.close()


@dataclass
class Window:
    """What one consumer delivered in its measurement window."""

    rate: float  # delivered typed objects per second
    n: int
    client_cpu: float  # share of CPU 1 used by the consumer process
    server_cpu: float  # share of CPU 0 used by the server
    other_cpu: float  # CPU used meanwhile by processes outside the benchmark: noise
    server_rss_mb: float  # at the end of the window: what the consumer left unread grows it
    stall_ms: float  # the longest gap between the 10 ms timer ticks: ~ the longest loop iteration
    lagged: int
    other: dict[str, int]
    errors: dict[str, int]
    status: dict[str, Any]

    @property
    def us_per_msg(self) -> float:
        return self.client_cpu / self.rate * 1e6 if self.rate > 0 else float("nan")


class ConsumerProc:
    """One consumer process on CPU 1."""

    def __init__(self, spec: ConsumerSpec) -> None:
        ctx = mp.get_context("fork")
        self.spec = spec
        self.pipe, child = ctx.Pipe()
        self.proc = ctx.Process(target=consumer_main, args=(child, spec), daemon=True)
        self.proc.start()
        child.close()

    def wait_ready(self) -> dict[str, Any]:
        msg = recv(self.pipe, self.spec.setup_timeout_s + 15.0, f"{self.spec.kind} to subscribe")
        if msg[0] != "ready":
            raise RuntimeError(f"{self.spec.kind} did not come up: {msg[1]}")
        return dict(msg[1])

    def measure(self, seconds: float, warmup: float, server: ServerProcess) -> Window:
        time.sleep(warmup)
        ours = {os.getpid(), self.proc.pid or 0}
        before = proc_table()
        t0 = time.monotonic()
        self.pipe.send("start")
        time.sleep(seconds)
        self.pipe.send("stop")
        after = proc_table()
        server_pids = set(server.pids())
        srv, other = cpu_shares(before, after, server_pids, ours | server_pids, time.monotonic() - t0)
        rss = rss_mb(server.proc.pid)
        r = recv(self.pipe, 30.0, f"{self.spec.kind} results")
        elapsed = r["elapsed"]
        errors = Counter(r["errors"])
        for e, k in r["errors_before"].items():
            errors[f"(before the window) {e}"] += k
        return Window(
            rate=r["n"] / elapsed,
            n=r["n"],
            client_cpu=r["cpu"] / elapsed,
            server_cpu=srv,
            other_cpu=other,
            server_rss_mb=rss,
            stall_ms=r["stall"] * 1000,
            lagged=r["lagged"],
            other=r["other"],
            errors=dict(errors),
            status=r["status"],
        )

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.pipe.send("exit")
        reap([self.proc], grace_s=TEARDOWN_S + 1.5)
        self.pipe.close()


# --------------------------------------------------------------------------- the server



def um_symbols(args: argparse.Namespace) -> list[str]:
    if args.symbols:
        return [s.strip().lower() for s in args.symbols.split(",") if s.strip()]
    sys.path.insert(0, str(REPO / "src"))
    from tickerplant.market import instruments

    catalogue: Any = instruments.catalogue(instruments.Market.UM, time.time_ns() // 1_000_000)
    items = catalogue.values() if isinstance(catalogue, Mapping) else catalogue
    return sorted({str(getattr(i, "symbol", i)).lower() for i in items})


# --------------------------------------------------------------------------- profiling


def print_profile(raw: Path) -> None:
    samples, own, total = top_functions(raw)
    if not samples:
        print("  profile: no samples")
        return
    print(f"\nProfile of tickerplant's consumer process ({samples:,} samples), {raw}")
    print(
        "  (py-spy, Python frames only. Self time of the outermost frame, Runner.run, is the event\n"
        "   loop's own C code: epoll, socket reads, picows' frame parsing and the on_ws_frame calls\n"
        "   into Python; C called from a Python function, such as msgspec's decode, is that\n"
        "   function's self time. Sampled without stopping the process (--nonblocking), so a few\n"
        "   stacks are torn; --idle keeps samples inside syscalls.)"
    )
    print("  self time:")
    for name, n in own:
        print(f"    {n / samples:6.1%}  {name}")
    print("  inclusive time (without the frames on every stack: runpy, main, uvloop.run):")
    for name, n in total:
        if n >= 0.98 * samples:
            continue
        print(f"    {n / samples:6.1%}  {name}")


# --------------------------------------------------------------------------- phases


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
    life = args.seconds + args.warmup + args.profile_seconds + 90
    spec = ConsumerSpec(
        kind=row.kind,
        url=f"ws://{HOST}:{server.um_port}",
        symbols=tuple(symbols),
        copies=row.copies,
        pybinance_queue=args.pybinance_queue,
        setup_timeout_s=args.setup_timeout,
        life_s=life,
    )
    print(f"== {LABELS[row.kind]}, {row.copies} copies", flush=True)
    consumer = ConsumerProc(spec)
    try:
        consumer.wait_ready()
        row.window = consumer.measure(args.seconds, args.warmup, server)
        show(row, row.window)
        if row.kind == "tickerplant" and args.profile:
            print(f"  profiling the consumer for {args.profile_seconds:g} s ...", flush=True)
            why = profile_pid(consumer.proc.pid or 0, args.profile_seconds, args.profile)
            row.notes.append(f"profile written to {args.profile}" if why is None else f"no profile: {why}")
    except (RuntimeError, TimeoutError, OSError, EOFError) as exc:
        row.notes.append(f"{type(exc).__name__}: {exc}")
        print(f"  ! {row.kind}: {exc}", flush=True)
    finally:
        consumer.close()
    if server.proc.poll() is not None:
        raise RuntimeError(f"server exited with {server.proc.returncode}: {server.tail()}")


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
    width = max(len(v) for v in LABELS.values())
    head = (
        f"{'consumer':<{width}}  {'copies':>6}  {'offered ~':>9}  {'delivered msg/s':>15}  {'tp / this':>9}  "
        f"{'client CPU':>10}  {'µs CPU/msg':>10}  {'loop ms':>7}  {'server CPU':>10}  {'dropped':>7}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        w = r.window
        offered = f"{per_copy * r.copies / 1000:,.0f}k" if per_copy else "-"
        if w is None:
            print(
                f"{LABELS[r.kind]:<{width}}  {r.copies:>6}  {offered:>9}  {'-':>15}  {'-':>9}  {'-':>10}  "
                f"{'-':>10}  {'-':>7}  {'-':>10}  {'-':>7}"
            )
            continue
        ratio = f"{tp_w.rate / w.rate:.1f}x" if tp_w and w.rate > 0 and r.kind != "reference" else "-"
        dropped = f"{w.lagged:,}" if r.kind.startswith("tickerplant") else "-"
        print(
            f"{LABELS[r.kind]:<{width}}  {r.copies:>6}  {offered:>9}  {w.rate:>15,.0f}  {ratio:>9}  "
            f"{w.client_cpu:>10.0%}  {w.us_per_msg:>10.2f}  {w.stall_ms:>7,.0f}  {w.server_cpu:>10.0%}  "
            f"{dropped:>7}"
        )
    print()
    others: list[tuple[str, Window]] = []
    for kind in ("python-binance", "sdk"):
        other_row = by_kind.get(kind)
        if other_row is not None and other_row.window is not None:
            others.append((SHORT[kind], other_row.window))
    best = max(others, key=lambda o: o[1].rate) if others else None
    if tp_w and best and best[1].rate > 0:
        x = tp_w.rate / best[1].rate
        verdict = "PASS" if x >= TARGET_RATIO else "FAIL"
        bound = ""
        if tp_w.client_cpu < SATURATED_CPU:
            bound = " (a lower bound: tickerplant's consumer was not saturated)"
        print(
            f"delivered msg/s, tickerplant / max(python-binance, SDK) (= {best[0]}): {x:.1f}   "
            f"target >= {TARGET_RATIO:g}   {verdict}{bound}"
        )
        costs = ", ".join(
            f"{name} {w.us_per_msg:.1f} µs ({w.us_per_msg / tp_w.us_per_msg:.1f}x)" for name, w in others
        )
        print(f"client CPU per delivered message: tickerplant {tp_w.us_per_msg:.2f} µs; {costs}")
    else:
        print(
            f"delivered msg/s, tickerplant / max(python-binance, SDK): n/a   target >= {TARGET_RATIO:g}   "
            "NOT MEASURED"
        )
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
        if w.errors:
            for e, n in Counter(w.errors).most_common(5):
                print(f"WARNING: {name}: {n}x {e}")
        if w.lagged:
            print(f"WARNING: {name}: the client dropped {w.lagged:,} items (Lagged); they are not counted")
        if w.other:
            print(f"note, {name}: items that are not bookTicker, not counted: {w.other}")
        if w.other_cpu > 0.05:
            print(
                f"WARNING: {name}: other processes used {w.other_cpu:.0%} of a core during the window; "
                "the figures are disturbed"
            )
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
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--seconds", type=float, default=None, help="measurement window (8; 2.5 --quick)")
    p.add_argument("--warmup", type=float, default=None, help="before each window (1.5; 0.5 --quick)")
    p.add_argument(
        "--copies", type=int, default=72, help="tickerplant's (and the reference's) subscriptions (72)"
    )
    p.add_argument(
        "--copies-others", type=int, default=12, help="python-binance's and the SDK's subscriptions (12)"
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
    p.add_argument("--quick", action="store_true", help="2.5 s windows, 0.5 s warm-ups")
    args = p.parse_args(argv)
    for name, full, small in (("seconds", 8.0, 2.5), ("warmup", 1.5, 0.5), ("profile_seconds", 4.0, 2.0)):
        if getattr(args, name) is None:
            setattr(args, name, small if args.quick else full)
    if args.seconds <= 0 or args.warmup < 0 or args.copies < 1 or args.copies_others < 1:
        p.error("--seconds and the copies must be positive, --warmup not negative")
    if not args.profile:
        args.profile_seconds = 0.0
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cpus = os.sched_getaffinity(0)
    if not {SERVER_CPU, CLIENT_CPU} <= cpus:
        print(f"! CPUs {SERVER_CPU} and {CLIENT_CPU} are not both available ({sorted(cpus)})")

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    t0 = time.monotonic()
    kinds = [k for k in KINDS[1:] if args.only is None or k in args.only]
    if not args.skip_reference:
        kinds.insert(0, "reference")
    own = ("reference", "tickerplant", "tickerplant-decimal")
    rows = [Row(k, args.copies if k in own else args.copies_others) for k in kinds]
    symbols: list[str] = []
    cut_offs = 0
    server: ServerProcess | None = None
    try:
        symbols = um_symbols(args)
        pin(CLIENT_CPU)  # after the catalogue import; this process mostly sleeps
        server = ServerProcess(
            ["--sim-rate", "max", "--seed", "1", "--send-buffer", str(SEND_BUFFER),
             "--max-incoming-rate", str(INCOMING_RATE), *args.server_arg],
            server_preexec,
        )  # fmt: skip
        server.wait_listening(args.server_start_timeout)
        print(
            f"tickerplant serve --sim-rate max on ws://{HOST}:{server.um_port} (pid {server.proc.pid}, "
            f"CPU {SERVER_CPU}); {len(symbols)} streams: {', '.join(symbols[:4])}, ...",
            flush=True,
        )
        for row in rows:
            run_consumer(row, args, server, symbols)
        cut_offs = server.log_text().count("bytes unsent (limit")  # slow consumers the server closed
    except KeyboardInterrupt:
        print("\ninterrupted; subprocesses stopped", flush=True)
    except (RuntimeError, TimeoutError, OSError) as exc:
        print(f"  ! {type(exc).__name__}: {exc}", flush=True)
    finally:
        for child in mp.active_children():  # belt and braces: nothing outlives the run
            child.kill()
        if server is not None:
            server.stop()
    report(args, rows, symbols, cut_offs)
    if args.profile and args.profile.exists() and args.profile.stat().st_size:
        print_profile(args.profile)
    print(f"(total {time.monotonic() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
