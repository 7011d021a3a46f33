"""The WebSocket API benchmark's clients: ``picows.ws_connect`` listeners on uvloop, each a
sequential connection whose synchronous ``on_ws_frame`` records the latency
(``time.perf_counter`` at the reply minus at the send) into a preallocated array and sends the
next request at once; and the client process that holds every connection of a scenario."""

from __future__ import annotations

import asyncio
import math
import time
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, cast

import picows
from picows import WSFrame, WSListener, WSMsgType, WSTransport

from ..harness.accounting import CpuUse
from ..harness.commands import Child, measure, serve
from ..harness.processes import CLIENT_CPU

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT")
SYMBOL_BYTES = tuple(s.encode() for s in SYMBOLS)  # indexed by request id & 3
MAX_RATE_GUESS = 400_000  # req/s: sizes the preallocated latency array (the excess is counted)


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
    window: dict[str, float] = {}

    def go() -> None:
        """Start (or restart) the request loops: the warm-up begins."""
        rec.running = True
        for c in clients:
            if not c.waiting and not c.gone:
                c.send_next()

    def start() -> None:
        """The measured window begins."""
        rec.n = 0
        rec.bad = 0
        window["closed"] = rec.closed
        window["t"] = time.perf_counter()
        window["cpu"] = time.process_time()
        rec.recording = True

    def stop() -> dict[str, Any]:
        """The window ends and the loops stop; the in-flight replies drain."""
        rec.recording = False
        rec.running = False
        elapsed = time.perf_counter() - window["t"]
        cpu = time.process_time() - window["cpu"]
        stored = min(rec.n, rec.cap)
        ordered = sorted(rec.lat[:stored])
        return {
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

    try:
        await serve(conn, {"go": go, "start": start, "stop": stop}, spec.life_s)
    finally:
        rec.running = False
        for c in clients:
            if c.transport is not None and not c.gone:
                c.transport.disconnect(False)
        await asyncio.sleep(0)


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


def figures(rec: Recorder, elapsed: float, cpu: float) -> dict[str, Any]:
    """What a client process measured in its window, for the parent (``window_of``): the
    replies, the latency quantiles and what went wrong, the window's length and CPU."""
    stored = min(rec.n, rec.cap)
    ordered = sorted(rec.lat[:stored])
    return {
        "replies": rec.n, "elapsed": elapsed, "cpu": cpu,
        "p50": quantile(ordered, 0.5), "p99": quantile(ordered, 0.99), "p999": quantile(ordered, 0.999),
        "max": ordered[-1] if ordered else float("nan"), "overflow": rec.n - stored, "bad": rec.bad,
        "bad_sample": rec.bad_sample, "closed": rec.closed,
    }  # fmt: skip


def window_of(r: dict[str, Any], cpu: CpuUse, connections: int) -> Window:
    """A client process's ``figures`` and the CPU measured meanwhile, as one ``Window``."""
    elapsed = r["elapsed"]
    return Window(
        rate=r["replies"] / elapsed, replies=r["replies"], p50_us=r["p50"] * 1e6, p99_us=r["p99"] * 1e6,
        p999_us=r["p999"] * 1e6, max_us=r["max"] * 1e6, mean_us=float("nan"), server_cpu=cpu.server,
        client_cpu=r["cpu"] / elapsed, other_cpu=cpu.others, connections=connections, bad=r["bad"],
        bad_sample=r["bad_sample"], closed=r["closed"], overflow=r["overflow"],
    )  # fmt: skip


def measured_window(
    main: Callable[..., Any],
    spec: Any,
    connections: int,
    seconds: float,
    warmup: float,
    pids: Callable[[], list[int]],
) -> tuple[Window, dict[str, Any]]:
    """One client process on CPU 1 running ``main(conn, spec)``: it says it is ready, is told
    to go, and after ``warmup`` measures a window of ``seconds`` (``commands.measure``):
    its ``Window``, and the figures it sent."""
    child = Child(CLIENT_CPU, main, spec)
    try:
        child.recv(30.0, "clients connecting")
        child.send("go")
        [r], cpu = measure([child], seconds, warmup, pids)
    finally:
        child.close()
    return window_of(r, cpu, connections), r


class ClientProc:
    """One client process on CPU 1 holding every connection of a scenario."""

    def __init__(self, url: str, connections: int, seconds: float, life_s: float) -> None:
        self.connections = connections
        connect_timeout = 10.0 + connections / 50
        self.ready_timeout = connect_timeout + 10.0
        cap = int(MAX_RATE_GUESS * seconds) + 1000
        spec = ClientSpec(url, connections, cap, connect_timeout, life_s)
        self.child = Child(CLIENT_CPU, client_async, spec)

    def wait_ready(self) -> int:
        msg = self.child.recv(self.ready_timeout, "clients connecting")
        connected, errors = int(msg[1]), Counter(msg[2])
        if connected < self.connections:
            top = "; ".join(f"{n}x {e}" for e, n in errors.most_common(3))
            print(f"  ! only {connected}/{self.connections} connections came up ({top})", flush=True)
        if not connected:
            raise RuntimeError("no client connection came up")
        return connected

    def go(self) -> None:
        self.child.send("go")

    def measure(self, seconds: float, warmup: float, server_pids: Callable[[], list[int]]) -> Window:
        """Warm-up, then a window of `seconds`; the request loops stop at its end."""
        self.go()
        [r], cpu = measure([self.child], seconds, warmup, server_pids)
        elapsed = r["elapsed"]
        return Window(
            rate=r["replies"] / elapsed,
            replies=r["replies"],
            p50_us=r["p50"] * 1e6,
            p99_us=r["p99"] * 1e6,
            p999_us=r["p999"] * 1e6,
            max_us=r["max"] * 1e6,
            mean_us=r["mean"] * 1e6,
            server_cpu=cpu.server,
            client_cpu=r["cpu"] / elapsed,
            other_cpu=cpu.others,
            connections=r["open"],
            bad=r["bad"],
            bad_sample=r["bad_sample"],
            closed=r["closed"],
            overflow=r["overflow"],
            close_reasons=r["close_reasons"],
        )

    def stop_loops(self) -> None:
        """End a load phase that is not measured (profiling); its figures are dropped."""
        self.child.send("start")
        self.child.ask(30.0, "client results", "stop")

    def close(self) -> None:
        self.child.close()
