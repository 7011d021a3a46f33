"""The stall benchmark's probe: one process holding a `btcusdt@bookTicker` subscriber and a
WebSocket API client that asks `ticker.price` every ``API_INTERVAL_S``, from an address of
its own each window (``127.0.2.<n>``: its weight is never the bursts'). Between "start" and
"stop" it records each bookTicker's arrival (the largest gap between two, and the largest
arrival minus the payload's `E`, both on this host's clock) and each API reply's latency."""

from __future__ import annotations

import asyncio
import contextlib
import time
from multiprocessing.connection import Connection
from typing import Any

import aiohttp
import msgspec

from ..harness.commands import serve
from ..harness.processes import HOST
from ..ws_api.clients import quantile

API_INTERVAL_S = 0.01


class _Window:
    def __init__(self) -> None:
        self.recording = False
        self.last_arrival = 0.0
        self.max_gap = 0.0
        self.max_late_ms = 0.0
        self.messages = 0
        self.api: list[float] = []
        self.api_errors = 0


async def probe_async(conn: Connection, port: int, life_s: float) -> None:
    window = _Window()
    decode = msgspec.json.Decoder().decode
    session = aiohttp.ClientSession()
    stream = await session.ws_connect(f"ws://{HOST}:{port}/ws/btcusdt@bookTicker")
    api_task: asyncio.Task[None] | None = None

    async def read_stream() -> None:
        async for message in stream:
            now = time.perf_counter()
            if not window.recording:
                continue
            if window.last_arrival:
                window.max_gap = max(window.max_gap, now - window.last_arrival)
            window.last_arrival = now
            window.messages += 1
            late = time.time() * 1000 - decode(message.data)["E"]
            window.max_late_ms = max(window.max_late_ms, late)

    async def ask(ip: str) -> None:
        connector = aiohttp.TCPConnector(local_addr=(ip, 0))
        async with aiohttp.ClientSession(connector=connector) as api_session:
            ws = await api_session.ws_connect(f"ws://{HOST}:{port}/ws-fapi/v1")
            n = 0
            while True:
                n += 1
                sent = time.perf_counter()
                await ws.send_str(f'{{"id":{n},"method":"ticker.price","params":{{"symbol":"BTCUSDT"}}}}')
                reply = await ws.receive()
                if window.recording:
                    window.api.append(time.perf_counter() - sent)
                    if b'"status":200' not in reply.data.encode():
                        window.api_errors += 1
                await asyncio.sleep(max(0.0, API_INTERVAL_S - (time.perf_counter() - sent)))

    reader = asyncio.create_task(read_stream())
    windows = 0

    def start() -> None:
        nonlocal api_task, windows
        windows += 1
        window.__init__()  # type: ignore[misc]
        window.recording = True
        api_task = asyncio.create_task(ask(f"127.0.2.{windows % 250 + 1}"))

    def stop() -> dict[str, Any]:
        window.recording = False
        if api_task is not None:
            api_task.cancel()
        api = sorted(window.api)
        return {
            "max_gap_ms": window.max_gap * 1000, "max_late_ms": window.max_late_ms,
            "messages": window.messages,
            "api_p50_ms": quantile(api, 0.5) * 1000, "api_p99_ms": quantile(api, 0.99) * 1000,
            "api_replies": len(api), "api_errors": window.api_errors,
        }  # fmt: skip

    conn.send(("ready",))
    try:
        await serve(conn, {"start": start, "stop": stop}, life_s)
    finally:
        reader.cancel()
        if api_task is not None:
            api_task.cancel()
        with contextlib.suppress(Exception):
            await stream.close()
        await session.close()
