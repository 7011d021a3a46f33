#!/usr/bin/env python3
"""WebSocket API benchmark: tickerplant's ``ticker.book`` request/response against a picows floor.

    python benchmarks/ws_api.py [--seconds 5] [--connections 50] [--quick]
                                [--profile FILE] [--skip-floor] [--skip-server]

Two servers are measured in the same run, each alone on CPU 0, with the same client process
on CPU 1 (PERFORMANCE.md, "Request/response"):

* the SERVER: ``python -m tickerplant serve --request-weight 1000000000 --sim-rate 400``,
  requests on ``ws://127.0.0.1:<um-port>/ws-fapi/v1`` (the weight budget is raised so the
  benchmark is never answered 429);
* the FLOOR: a bare ``picows.ws_create_server`` on uvloop, the WebSocket library the server
  uses, that decodes each request into a small msgspec Struct (to echo its id) and answers
  with pre-built reply bytes looked up by symbol, sent with ``transport.send``.

Two scenarios, same clients for both servers: one connection sending sequentially (the next
request as soon as the reply is in), and ``--connections`` (50) connections, each sequential,
so that many requests are in flight. Requests cycle over BTCUSDT, ETHUSDT, SOLUSDT, BNBUSDT.

Clients are ``picows.ws_connect`` listeners on uvloop whose synchronous ``on_ws_frame`` records
the latency (``time.perf_counter`` at the reply minus at the send) into a preallocated array
and sends the next request at once. Each window follows a warm-up.

The result is a table of req/s and p50/p99 latency per scenario and server, the server/floor
req/s ratio per scenario against its target (>= 0.6) with PASS/FAIL, and the CPU used. With
``--profile FILE`` the server is also sampled by ``py-spy record --format raw`` under the
many-connection load, after its measured window, and the top self-time functions are
printed. It always exits 0: it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import multiprocessing as mp
import os
import signal
import sys
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, cast

import msgspec
import picows
import uvloop
from harness import (
    HOST,
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
from picows import WSFrame, WSListener, WSMsgType, WSTransport, WSUpgradeRequest

SERVER_CPU = 0
CLIENT_CPU = 1
WS_API_PATH = "/ws-fapi/v1"
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT")
SYMBOL_BYTES = tuple(s.encode() for s in SYMBOLS)  # indexed by request id & 3
REQUEST_WEIGHT = 1_000_000_000  # per IP per minute: never the limit here
TARGET_RATIO = 0.6
MAX_RATE_GUESS = 400_000  # req/s: sizes the preallocated latency array (the excess is counted)

# Pre-built reply bodies for the floor: what tickerplant answers, field for field.
BOOKS = {
    "BTCUSDT": (1211381949570, "90001.10", "0.052", "90002.60", "0.020"),
    "ETHUSDT": (8408397299991, "3100.19", "0.347", "3100.21", "0.111"),
    "SOLUSDT": (6958357388250, "134.9700", "8.33", "134.9900", "2.26"),
    "BNBUSDT": (3792764448300, "879.820", "5.98", "879.900", "0.39"),
}


# --------------------------------------------------------------------------- processes






def child_setup(cpu: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and cleans up
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    die_with_parent()
    pin(cpu)


def server_preexec() -> None:
    die_with_parent()
    pin(SERVER_CPU)












# --------------------------------------------------------------------------- clients


class Recorder:
    """What every connection of the client process shares: the latency array and flags."""

    __slots__ = ("bad", "bad_sample", "cap", "close_reasons", "closed", "lat", "n", "recording", "running")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.lat = array("d", bytes(8 * cap))  # preallocated: no growth inside the window
        self.n = 0  # replies in the window (latencies stored: min(n, cap))
        self.recording = False
        self.running = False
        self.bad = 0  # replies whose id or status was not the expected one
        self.bad_sample = b""
        self.closed = 0
        self.close_reasons: Counter[str] = Counter()


class ApiClient(WSListener):
    """One sequential connection: on each reply, record its latency and send the next request."""

    def __init__(self, rec: Recorder, index: int) -> None:
        self.rec = rec
        self.next_id = index * 1_000_000_000
        self.transport: WSTransport | None = None
        self.sent = 0.0
        self.expect = b""
        self.waiting = False  # a request is in flight
        self.gone = False

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if not self.gone:
            self.gone = True
            self.rec.closed += 1

    def send_next(self) -> None:
        self.next_id += 1
        i = self.next_id
        self.expect = b'{"id":%d,"status":200,' % i
        request = b'{"id":%d,"method":"ticker.book","params":{"symbol":"%s"}}' % (i, SYMBOL_BYTES[i & 3])
        self.waiting = True
        assert self.transport is not None
        self.sent = time.perf_counter()
        self.transport.send(WSMsgType.TEXT, request)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        now = time.perf_counter()
        if frame.msg_type is not WSMsgType.TEXT:
            if frame.msg_type is WSMsgType.CLOSE:
                self.rec.close_reasons[f"{frame.get_close_code()} {frame.get_close_message()!r}"] += 1
                self.gone = True
                self.rec.closed += 1
                transport.send_close()
                transport.disconnect()
            return  # PINGs are answered by picows (auto-pong)
        rec = self.rec
        self.waiting = False
        if rec.recording:
            n = rec.n
            if n < rec.cap:
                rec.lat[n] = now - self.sent
            rec.n = n + 1
        payload = frame.get_payload_as_bytes()
        if not payload.startswith(self.expect):
            rec.bad += 1
            if not rec.bad_sample:
                rec.bad_sample = payload[:300]
        if rec.running:
            self.send_next()


@dataclass(frozen=True)
class ClientSpec:
    url: str
    connections: int
    cap: int  # latency slots
    connect_timeout_s: float
    life_s: float  # hard limit on the process's life


def quantile(ordered: list[float], q: float) -> float:
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def client_async(conn: Connection, spec: ClientSpec) -> None:
    loop = asyncio.get_running_loop()
    rec = Recorder(spec.cap)
    clients: list[ApiClient] = []
    errors: Counter[str] = Counter()
    gate = asyncio.Semaphore(16)
    deadline = loop.time() + spec.connect_timeout_s

    async def one(index: int) -> None:
        async with gate:
            for _ in range(3):
                if loop.time() > deadline:
                    break
                try:
                    _, client = await asyncio.wait_for(
                        picows.ws_connect(lambda: ApiClient(rec, index), spec.url),
                        max(0.1, deadline - loop.time()),
                    )
                    clients.append(cast(ApiClient, client))
                    return
                except Exception as exc:  # picows raises its own WSError on a refused upgrade
                    errors[f"{type(exc).__name__}: {exc}"[:160]] += 1
                    await asyncio.sleep(0.05)

    await asyncio.gather(*(one(i) for i in range(spec.connections)))
    conn.send(("ready", len(clients), dict(errors)))

    done: asyncio.Future[None] = loop.create_future()
    window: dict[str, float] = {}

    def finish() -> None:
        if not done.done():
            done.set_result(None)

    def on_command() -> None:
        try:
            cmd = conn.recv()
        except (EOFError, OSError):
            finish()
            return
        if cmd == "go":  # start (or restart) the request loops: the warm-up begins
            rec.running = True
            for c in clients:
                if not c.waiting and not c.gone:
                    c.send_next()
        elif cmd == "start":  # the measured window begins
            rec.n = 0
            rec.bad = 0
            window["closed"] = rec.closed
            window["t"] = time.perf_counter()
            window["cpu"] = time.process_time()
            rec.recording = True
        elif cmd == "stop":  # the window ends and the loops stop; the in-flight replies drain
            rec.recording = False
            rec.running = False
            elapsed = time.perf_counter() - window["t"]
            cpu = time.process_time() - window["cpu"]
            stored = min(rec.n, rec.cap)
            ordered = sorted(rec.lat[:stored])
            conn.send(
                {
                    "replies": rec.n,
                    "elapsed": elapsed,
                    "cpu": cpu,
                    "p50": quantile(ordered, 0.50),
                    "p99": quantile(ordered, 0.99),
                    "p999": quantile(ordered, 0.999),
                    "max": ordered[-1] if ordered else math.nan,
                    "mean": sum(ordered) / stored if stored else math.nan,
                    "overflow": rec.n - stored,
                    "bad": rec.bad,
                    "bad_sample": rec.bad_sample,
                    "closed": rec.closed - int(window["closed"]),
                    "open": sum(1 for c in clients if not c.gone),
                    "close_reasons": dict(rec.close_reasons),
                }
            )
        elif cmd == "exit":
            finish()

    loop.add_reader(conn.fileno(), on_command)
    loop.call_later(spec.life_s, finish)
    try:
        await done
    finally:
        rec.running = False
        loop.remove_reader(conn.fileno())
        for c in clients:
            if c.transport is not None and not c.gone:
                c.transport.disconnect(False)
        await asyncio.sleep(0)


def client_main(conn: Connection, spec: ClientSpec) -> None:
    child_setup(CLIENT_CPU)
    try:
        uvloop.run(client_async(conn, spec))
    finally:
        conn.close()


@dataclass
class Window:
    """What the client process saw in one measurement window."""

    rate: float  # replies per second
    replies: int
    p50_us: float
    p99_us: float
    p999_us: float
    max_us: float
    mean_us: float
    server_cpu: float  # share of CPU 0 used by the server under test
    client_cpu: float  # share of CPU 1 used by the client process
    other_cpu: float  # CPU used meanwhile by processes outside the benchmark: noise
    connections: int  # open at the end of the window
    bad: int
    bad_sample: bytes
    closed: int
    overflow: int
    close_reasons: dict[str, int] = field(default_factory=dict)


class ClientProc:
    """One client process on CPU 1 holding every connection of a scenario."""

    def __init__(self, url: str, connections: int, seconds: float, life_s: float) -> None:
        ctx = mp.get_context("fork")
        self.connections = connections
        connect_timeout = 10.0 + connections / 50
        self.ready_timeout = connect_timeout + 10.0
        cap = int(MAX_RATE_GUESS * seconds) + 1000
        spec = ClientSpec(url, connections, cap, connect_timeout, life_s)
        self.pipe, child = ctx.Pipe()
        self.proc = ctx.Process(target=client_main, args=(child, spec), daemon=True)
        self.proc.start()
        child.close()

    def wait_ready(self) -> int:
        msg = recv(self.pipe, self.ready_timeout, "clients connecting")
        connected, errors = int(msg[1]), Counter(msg[2])
        if connected < self.connections:
            top = "; ".join(f"{n}x {e}" for e, n in errors.most_common(3))
            print(f"  ! only {connected}/{self.connections} connections came up ({top})", flush=True)
        if not connected:
            raise RuntimeError("no client connection came up")
        return connected

    def go(self) -> None:
        self.pipe.send("go")

    def measure(self, seconds: float, warmup: float, server_pids: Callable[[], list[int]]) -> Window:
        """Warm-up, then a window of `seconds`; the request loops stop at its end."""
        self.go()
        time.sleep(warmup)
        ours = {os.getpid(), self.proc.pid or 0}
        before = proc_table()
        t0 = time.monotonic()
        self.pipe.send("start")
        time.sleep(seconds)
        self.pipe.send("stop")
        after = proc_table()
        server = set(server_pids())
        srv, other = cpu_shares(before, after, server, ours | server, time.monotonic() - t0)
        r = recv(self.pipe, 30.0, "client results")
        elapsed = r["elapsed"]
        return Window(
            rate=r["replies"] / elapsed,
            replies=r["replies"],
            p50_us=r["p50"] * 1e6,
            p99_us=r["p99"] * 1e6,
            p999_us=r["p999"] * 1e6,
            max_us=r["max"] * 1e6,
            mean_us=r["mean"] * 1e6,
            server_cpu=srv,
            client_cpu=r["cpu"] / elapsed,
            other_cpu=other,
            connections=r["open"],
            bad=r["bad"],
            bad_sample=r["bad_sample"],
            closed=r["closed"],
            overflow=r["overflow"],
            close_reasons=r["close_reasons"],
        )

    def stop_loops(self) -> None:
        """End a load phase that is not measured (profiling); its figures are dropped."""
        self.pipe.send("start")
        self.pipe.send("stop")
        recv(self.pipe, 30.0, "client results")

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.pipe.send("exit")
        reap([self.proc])
        self.pipe.close()


# --------------------------------------------------------------------------- the floor


class FloorRequest(msgspec.Struct):
    """Just what the floor needs of a request: the id to echo, the method and the symbol."""

    id: int | str | None = None
    method: str = ""
    params: FloorParams | None = None


class FloorParams(msgspec.Struct):
    symbol: str = ""


def floor_replies() -> dict[str, bytes]:
    """symbol -> the reply after its id: `,"status":200,"result":{...},"rateLimits":[...]}`."""
    out = {}
    for symbol, (u, bid, bid_qty, ask, ask_qty) in BOOKS.items():
        body = msgspec.json.encode(
            {
                "id": 0,
                "status": 200,
                "result": {
                    "lastUpdateId": u, "symbol": symbol, "bidPrice": bid, "bidQty": bid_qty,
                    "askPrice": ask, "askQty": ask_qty, "time": 1_795_242_427_602,
                },
                "rateLimits": [
                    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                     "limit": REQUEST_WEIGHT, "count": 12_345}
                ],
            }
        )  # fmt: skip
        out[symbol] = body[len(b'{"id":0') :]
    return out


FLOOR_ERROR = b',"status":400,"error":{"code":-1121,"msg":"Invalid symbol."}}'
FLOOR_MALFORMED = b'{"id":null,"status":400,"error":{"code":-1000,"msg":"Malformed request."}}'


class FloorListener(WSListener):
    """The floor's connection: decode the request, splice its id into pre-built bytes, send."""

    def __init__(self, replies: dict[str, bytes]) -> None:
        self.replies = replies

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        msg_type = frame.msg_type
        if msg_type is WSMsgType.TEXT:
            try:
                request = _floor_decode(frame.get_payload_as_memoryview())
            except msgspec.DecodeError:  # ValidationError is a DecodeError
                transport.send(WSMsgType.TEXT, FLOOR_MALFORMED)
                return
            params = request.params
            tail = None
            if request.method == "ticker.book" and params is not None:
                tail = self.replies.get(params.symbol)
            transport.send(WSMsgType.TEXT, b'{"id":' + _floor_encode(request.id) + (tail or FLOOR_ERROR))
        elif msg_type is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()


_floor_decode = msgspec.json.Decoder(FloorRequest).decode
_floor_encode = msgspec.json.encode


async def floor_async(conn: Connection, life_s: float) -> None:
    loop = asyncio.get_running_loop()
    replies = floor_replies()

    def route(request: WSUpgradeRequest) -> WSListener:
        return FloorListener(replies)

    server = await picows.ws_create_server(route, HOST, 0)
    conn.send(("port", server.sockets[0].getsockname()[1]))
    done: asyncio.Future[None] = loop.create_future()

    def finish() -> None:
        if not done.done():
            done.set_result(None)

    def on_command() -> None:
        try:
            cmd = conn.recv()
        except (EOFError, OSError):
            finish()
            return
        if cmd == "exit":
            finish()

    loop.add_reader(conn.fileno(), on_command)
    loop.call_later(life_s, finish)
    try:
        await done
    finally:
        loop.remove_reader(conn.fileno())
        server.close()


def floor_main(conn: Connection, life_s: float) -> None:
    child_setup(SERVER_CPU)
    try:
        uvloop.run(floor_async(conn, life_s))
    finally:
        conn.close()


class FloorProcess:
    """The floor, alone on CPU 0, in a forked process."""

    def __init__(self, life_s: float) -> None:
        ctx = mp.get_context("fork")
        self.pipe, child = ctx.Pipe()
        self.proc = ctx.Process(target=floor_main, args=(child, life_s), daemon=True)
        self.proc.start()
        child.close()
        self.port = 0

    def wait_listening(self, timeout_s: float) -> None:
        self.port = int(recv(self.pipe, timeout_s, "the floor to listen")[1])

    def pids(self) -> list[int]:
        return [self.proc.pid or 0]

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.pipe.send("exit")
        reap([self.proc])
        self.pipe.close()


# --------------------------------------------------------------------------- the server





# --------------------------------------------------------------------------- profiling


def print_profile(raw: Path) -> None:
    samples, own, total = top_functions(raw)
    if not samples:
        print("  profile: no samples")
        return
    print(f"\nProfile of the server under the concurrent load ({samples:,} samples), {raw}")
    print(
        "  (py-spy, Python frames only. Self time of the outermost frame, Runner.run, is the event\n"
        "   loop's own C code: epoll, socket reads, picows' frame parsing; C called from a Python\n"
        "   function, such as msgspec or transport.write with its syscall, is that function's self\n"
        "   time. Sampled without stopping the server (--nonblocking), so a few stacks are torn;\n"
        "   --idle keeps samples inside syscalls, which py-spy otherwise drops as idle.)"
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


@contextlib.contextmanager
def serving(kind: str, args: argparse.Namespace) -> Iterator[tuple[str, Callable[[], list[int]], int]]:
    """Start the tickerplant server or the floor; yield (url, server pids, main pid); stop it."""
    life = 2 * len(args.scenarios) * (args.seconds + args.warmup + 30) + args.profile_seconds + 60
    if kind == "server":
        server = ServerProcess(
            ["--request-weight", str(REQUEST_WEIGHT), "--sim-rate", "400", "--seed", "1", *args.server_arg],
            server_preexec,
        )
        try:
            server.wait_listening(args.server_start_timeout)
            url = f"ws://{HOST}:{server.um_port}{WS_API_PATH}"
            print(f"tickerplant serve on {url} (pid {server.proc.pid}, CPU {SERVER_CPU})", flush=True)
            yield url, server.pids, server.proc.pid
            if server.proc.poll() is not None:
                print(f"  ! server exited with {server.proc.returncode}: {server.tail()}", flush=True)
        finally:
            server.stop()
    else:
        floor = FloorProcess(life)
        try:
            floor.wait_listening(10.0)
            url = f"ws://{HOST}:{floor.port}{WS_API_PATH}"
            print(f"floor (picows) on {url} (pid {floor.proc.pid}, CPU {SERVER_CPU})", flush=True)
            yield url, floor.pids, floor.proc.pid or 0
        finally:
            floor.stop()


def run(kind: str, args: argparse.Namespace, row: Row) -> None:
    """Fill `row` as the scenarios complete, so an interrupted run still reports them."""
    try:
        with serving(kind, args) as (url, pids, main_pid):
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
                        clients.go()
                        time.sleep(min(0.5, args.warmup))
                        print(f"  profiling the server for {args.profile_seconds:g} s ...", flush=True)
                        why = profile_pid(main_pid, args.profile_seconds, args.profile)
                        clients.stop_loops()
                        if why is None:
                            row.errors.append(f"profile written to {args.profile}")
                        else:
                            row.errors.append(f"no profile: {why}")
                            print(f"  ! no profile: {why}", flush=True)
                finally:
                    clients.close()
    except (RuntimeError, TimeoutError, OSError, EOFError) as exc:
        row.errors.append(f"{type(exc).__name__}: {exc}")
        print(f"  ! {row.name}: {exc}", flush=True)


def scenario_name(connections: int) -> str:
    if connections == 1:
        return "1 conn, sequential"
    return f"{connections} conns, each sequential"


# --------------------------------------------------------------------------- report


def report(args: argparse.Namespace, server: Row | None, floor: Row | None) -> None:
    rows = [r for r in (server, floor) if r is not None]
    print()
    print(
        f"WebSocket API ticker.book, server on CPU {SERVER_CPU}, client process on CPU {CLIENT_CPU}, "
        f"{args.seconds:g} s windows after {args.warmup:g} s warm-up"
    )
    head = (
        f"{'scenario':<26}  {'server':<12}  {'req/s':>9}  {'p50 µs':>7}  {'p99 µs':>7}  "
        f"{'server CPU':>10}  {'client CPU':>10}"
    )
    print(head)
    print("-" * len(head))
    for connections in args.scenarios:
        label = scenario_name(connections)
        for i, r in enumerate(rows):
            w = r.windows.get(label)
            shown = "" if i else label
            short = "tickerplant" if r is server else "floor"
            if w is None:
                print(f"{shown:<26}  {short:<12}  {'-':>9}  {'-':>7}  {'-':>7}  {'-':>10}  {'-':>10}")
                continue
            print(
                f"{shown:<26}  {short:<12}  {w.rate:>9,.0f}  {w.p50_us:>7.0f}  {w.p99_us:>7.0f}  "
                f"{w.server_cpu:>10.0%}  {w.client_cpu:>10.0%}"
            )
    print()
    for connections in args.scenarios:
        label = scenario_name(connections)
        s = server.windows.get(label) if server else None
        f = floor.windows.get(label) if floor else None
        if s and f and f.rate > 0:
            ratio = s.rate / f.rate
            verdict = "PASS" if ratio >= TARGET_RATIO else "FAIL"
            lat = f"p50 {s.p50_us / f.p50_us:.2f}x, p99 {s.p99_us / f.p99_us:.2f}x the floor's"
            print(
                f"{label:<26}  req/s tickerplant / floor: {ratio:.2f}   target >= {TARGET_RATIO}   "
                f"{verdict}   (latency {lat})"
            )
            if s.server_cpu > 0 and f.server_cpu > 0:
                cost_s = s.server_cpu / s.rate * 1e6
                cost_f = f.server_cpu / f.rate * 1e6
                print(f"{'':<26}  server CPU per request: tickerplant {cost_s:.1f} µs, floor {cost_f:.1f} µs")
        else:
            print(f"{label:<26}  req/s tickerplant / floor: n/a   target >= {TARGET_RATIO}   NOT MEASURED")
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
            if w.other_cpu > 0.05:
                print(
                    f"WARNING: {r.name}, {label}: other processes used {w.other_cpu:.0%} of a core "
                    "during the window; the figures are disturbed"
                )
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
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
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
    for name, full, small in (("seconds", 5.0, 2.0), ("warmup", 1.0, 0.5), ("profile_seconds", 5.0, 2.0)):
        if getattr(args, name) is None:
            setattr(args, name, small if args.quick else full)
    if args.connections < 1 or args.seconds <= 0 or args.warmup < 0:
        p.error("--connections and --seconds must be positive, --warmup not negative")
    if not args.profile:
        args.profile_seconds = 0.0
    args.scenarios = sorted({1, args.connections})
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cpus = os.sched_getaffinity(0)
    if not {SERVER_CPU, CLIENT_CPU} <= cpus:
        print(f"! CPUs {SERVER_CPU} and {CLIENT_CPU} are not both available ({sorted(cpus)})")
    pin(CLIENT_CPU)  # this process is client-side too (it mostly sleeps)

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    t0 = time.monotonic()
    server = None if args.skip_server else Row("tickerplant serve")
    floor = None if args.skip_floor else Row("floor: picows, pre-built replies")
    try:
        if server is not None:
            print("== tickerplant", flush=True)
            run("server", args, server)
        if floor is not None:
            print("== floor", flush=True)
            run("floor", args, floor)
    except KeyboardInterrupt:
        print("\ninterrupted; subprocesses stopped", flush=True)
    finally:
        for child in mp.active_children():  # belt and braces: nothing outlives the run
            child.kill()
    report(args, server, floor)
    if args.profile and args.profile.exists() and args.profile.stat().st_size:
        print_profile(args.profile)
    print(f"(total {time.monotonic() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
