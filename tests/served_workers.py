"""`tickerplant serve --workers N` run as a user runs it, for the tests of its admin listener
(tests/admin, tests/scaleout): started, read until it serves, stopped with SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from ports import free_port
from timing import SECONDS, eventually

from tickerplant.clock import SystemClock
from tickerplant.market.units import HOUR_MS

__all__ = ["Served", "get_json", "recent_past", "serve_workers"]


class Served:
    def __init__(self, process: asyncio.subprocess.Process, admin: str) -> None:
        self.process = process
        self.admin = admin  # the supervisor's admin listener
        self.log: list[str] = []  # its stdout and stderr, lines as they come


def recent_past() -> str:
    """A ``[simulator]`` line for the tests that check a cluster's processes, not the past: the
    simulated past begins an hour before now.

    A plant makes the past's part of each open candle a client's kline stream takes
    (``market/klines/past_parts.py``): a month's from the 1st, a week's from Monday, drawn a
    day at a time. Near a month's end that is a core's work for seconds for each interval a
    test subscribes to, more with each day of the month; a past that begins an hour ago
    leaves it nothing before its warm minute to draw."""
    return f"history_start_ms = {SystemClock().now_ms() - HOUR_MS}\n"


@contextlib.asynccontextmanager
async def serve_workers(*argv: str, workers: int = 2) -> AsyncIterator[Served]:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tickerplant.cli", "serve", "--workers", str(workers),
        "--um-port", "0", "--cm-port", "0", "--admin-port", str(port), *argv,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    served = Served(process, f"http://127.0.0.1:{port}")
    assert process.stdout is not None and process.stderr is not None

    async def read(stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            served.log.append(line.decode())

    readers = [asyncio.ensure_future(read(process.stdout)), asyncio.ensure_future(read(process.stderr))]
    try:
        await eventually(
            lambda: any("Ctrl-C stops" in line for line in served.log) or process.returncode is not None,
            60 * SECONDS,
        )
        assert process.returncode is None, "".join(served.log)
        yield served
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30 * SECONDS):
            await process.wait()
        await asyncio.gather(*readers)


async def get_json(url: str) -> Any:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200, await response.text()
        return json.loads(await response.text())


def gateway_pids(served: Served) -> list[int]:
    """The gateways' pids, each gateway's latest start, from the supervisor's log."""
    started = re.findall(r"gateway (\d+) started \(pid (\d+)\)", "".join(served.log))
    return list({n: int(pid) for n, pid in started}.values())


def sockets_of(pid: int) -> int:
    """The sockets process ``pid`` holds: a gateway's connections, counted by the kernel (its
    admin listener takes the supervisor's token alone)."""
    held = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(FileNotFoundError):  # closed while counted
            held += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
    return held
