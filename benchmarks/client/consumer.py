"""The client benchmark's consumer process, alone on CPU 1: it sets up one client library's
consumer (`client_libraries`), then measures what it delivers in a window between ticks of a
10 ms timer, not at the parent's commands (see `consumer_async`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from ..harness.accounting import rss_mb
from ..harness.commands import Child, measure, serve
from ..harness.processes import CLIENT_CPU, ServerProcess
from .libraries import SETUPS, ConsumerSpec, Tally

TICK_S = 0.01  # the consumer's window clock (see consumer_async)
TEARDOWN_S = 1.5  # a consumer's graceful close; then it is killed


async def consumer_async(conn: Connection, spec: ConsumerSpec) -> None:
    # The SDK and python-binance log every hiccup at ERROR; the benchmark reports them itself.
    logging.basicConfig(level=logging.CRITICAL)
    loop = asyncio.get_running_loop()
    tally = Tally()
    try:
        running = await asyncio.wait_for(SETUPS[spec.kind](spec, tally), spec.setup_timeout_s)
    except Exception as exc:
        conn.send(("failed", f"{type(exc).__name__}: {exc}"[:300]))
        return
    conn.send(("ready", running.status()))

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

    def start() -> None:
        window.update(
            lagged=tally.lagged,
            other=Counter(tally.other),
            errors=Counter(tally.errors),
            at=(time.perf_counter(), tally.n, time.process_time()),
        )
        ticks.clear()
        ticks.update(on=True, gap=0.0)

    def stop() -> dict[str, Any]:
        ticks["on"] = False
        first, last = ticks.get("first"), ticks.get("last")
        if (
            first is None
            or last is None
            or last[0] - first[0] < 0.5 * (time.perf_counter() - window["at"][0])
        ):
            first, last = window["at"], (time.perf_counter(), tally.n, time.process_time())
        return {
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

    tick(time.perf_counter())
    try:
        await serve(conn, {"start": start, "stop": stop}, spec.life_s)
    finally:
        with contextlib.suppress(Exception):  # bounded: the parent kills what is left anyway
            await asyncio.wait_for(running.teardown(), TEARDOWN_S)


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
        self.spec = spec
        self.child = Child(CLIENT_CPU, consumer_async, spec, grace_s=TEARDOWN_S + 1.5)

    def wait_ready(self) -> dict[str, Any]:
        msg = self.child.recv(self.spec.setup_timeout_s + 15.0, f"{self.spec.kind} to subscribe")
        if msg[0] != "ready":
            raise RuntimeError(f"{self.spec.kind} did not come up: {msg[1]}")
        return dict(msg[1])

    def measure(self, seconds: float, warmup: float, server: ServerProcess) -> Window:
        [r], cpu = measure([self.child], seconds, warmup, server.pids)
        rss = rss_mb(server.proc.pid)
        elapsed = r["elapsed"]
        errors = Counter(r["errors"])
        for e, k in r["errors_before"].items():
            errors[f"(before the window) {e}"] += k
        return Window(
            rate=r["n"] / elapsed,
            n=r["n"],
            client_cpu=r["cpu"] / elapsed,
            server_cpu=cpu.server,
            other_cpu=cpu.others,
            server_rss_mb=rss,
            stall_ms=r["stall"] * 1000,
            lagged=r["lagged"],
            other=r["other"],
            errors=dict(errors),
            status=r["status"],
        )

    def close(self) -> None:
        self.child.close()
