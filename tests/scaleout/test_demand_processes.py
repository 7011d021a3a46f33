"""The demand over the bus between real processes on the system clock, as a user runs them:
``serve --workers 2`` writes a kline or depth stream once a client holds it (its first
message within a bound) and no stream nobody holds; a `tickerplant gateway` killed with
SIGKILL has its streams dropped once the plant has not heard it for its looks, and not
before; a restarted `tickerplant plant` writes the streams of the gateways' clients again,
and only those.

What the plant writes is read off the bus by a subscriber of the test's own (``Watcher``):
the client-facing streams in the plant's frames, and how far its market has come."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import nats
import pytest
import websockets
from nats.aio.msg import Msg
from nats_servers import running_nats
from scaleout_setup import Child
from served_workers import recent_past, serve_workers
from timing import SECONDS, eventually

from tickerplant.bus.frames import decode_frame
from tickerplant.market.demand import SILENT_LOOKS
from tickerplant.protocol.streams import StreamKind, parse

pytestmark = pytest.mark.loopback

QUICK = """
[simulator]
history_s = 60
book_levels = 20
steady_rate = true
"""
KLINE = "btcusdt@kline_1m"
DEPTH = "btcusdt@depth@100ms"
OTHER_KLINE = "ethusdt@kline_1m"
# The first message of a stream a client subscribes to: the gateway announces on its next
# loop turn, the plant hears it a NATS hop later and writes the stream from its next push
# (a kline's every 250 ms, the depth's every 100 ms), so ~0.3 s; a second leaves room for a
# loaded machine and is under what waiting for a heartbeat (1 s) and then a push would take.
FIRST_S = 1.0
VIEWED = {StreamKind.BOOK_TICKER, StreamKind.AGG_TRADE, StreamKind.TICKER}  # always written


class Watcher:
    """The plant's USDⓈ-M frames, read off the bus: the client-facing streams written (with
    when they came, on the test's loop) and the latest bookTicker's time."""

    def __init__(self) -> None:
        self.written: list[tuple[float, str]] = []
        self.latest_ms = 0

    async def receive(self, msg: Msg) -> None:
        now = asyncio.get_running_loop().time()
        for message in decode_frame(msg.data).messages:
            parsed = parse(message.stream)
            if parsed is not None and parsed.kind not in VIEWED:
                self.written.append((now, message.stream))
            elif message.stream == "btcusdt@bookTicker":
                self.latest_ms = max(self.latest_ms, json.loads(message.payload)["E"])

    async def window(self, ms: int = 1000) -> set[str]:
        """The client-facing streams written over the next ``ms`` of the plant's market."""
        await eventually(lambda: self.latest_ms > 0, 30 * SECONDS)
        since, mark = len(self.written), self.latest_ms
        await eventually(lambda: self.latest_ms >= mark + ms, 10 * SECONDS)
        return {name for _, name in self.written[since:]}

    async def until(self, holds: Callable[[set[str]], bool], within_s: float = 10 * SECONDS) -> set[str]:
        """Windows of a second of the plant's market, until one's streams ``holds``: its streams."""
        async with asyncio.timeout(within_s):
            while not holds(written := await self.window()):
                pass
        return written


@contextlib.asynccontextmanager
async def watching(url: str, token: str | None = None) -> AsyncIterator[Watcher]:
    """A ``Watcher`` of the plant on the nats-server at ``url``, for the block."""
    client = await nats.connect(url, token=token)
    try:
        watcher = Watcher()
        await client.subscribe("tp.um.frames", cb=watcher.receive)
        await client.flush()
        yield watcher
    finally:
        await client.close()


async def _first(ws: Any, streams: set[str]) -> None:
    """Until each of ``streams`` has delivered on the combined connection ``ws``."""
    waiting = set(streams)
    while waiting:
        waiting.discard(json.loads(await ws.recv())["stream"])


async def test_serve_workers_writes_a_stream_once_a_client_holds_it_and_none_nobody_holds(tmp_path: Path) -> None:
    config = tmp_path / "quick.toml"
    config.write_text(f'venue_db = "{tmp_path / "venue.db"}"\n' + QUICK + recent_past())
    async with serve_workers("--config", str(config)) as served:
        log = "".join(served.log)
        (port,) = {int(p) for p in re.findall(r"USDⓈ-M streams  ws://127\.0\.0\.1:(\d+)/ws", log)}
        (url,) = re.findall(r"fed over (nats://[\d.]+:\d+)", log)
        (pid,) = re.findall(r"nats-server started .*\(pid (\d+)\)", log)
        with open(f"/proc/{pid}/environ", "rb") as environ:
            (token,) = re.findall(rb'TICKERPLANT_NATS_TOKEN="([^\0]+)"', environ.read())
        async with watching(url, token.decode()) as watcher:
            assert await watcher.window() == set()  # a second of market, no client: no stream written
            combined = f"ws://127.0.0.1:{port}/stream?streams={KLINE}/{DEPTH}"
            async with websockets.connect(combined, max_queue=None) as ws:
                async with asyncio.timeout(FIRST_S * SECONDS):
                    await _first(ws, {KLINE, DEPTH})
                assert await watcher.window() == {KLINE, DEPTH}  # not the other symbols, intervals, depths
            await watcher.until(lambda written: not written)  # nobody holds them any longer


async def test_a_killed_gateways_streams_go_after_its_silence_and_a_restarted_plant_writes_the_others(
    tmp_path: Path,
) -> None:
    config = tmp_path / "quick.toml"
    ports = "um_port = 0\ncm_port = 0\nadmin_port = 0\n"
    config.write_text(ports + f'venue_db = "{tmp_path / "venue.db"}"\n' + QUICK + recent_past())
    children: list[Child] = []

    def start(role: str) -> Child:
        child = Child(role, url, config)
        children.append(child)
        return child

    with running_nats() as url:
        try:
            plant = await asyncio.to_thread(start, "plant")
            doomed, survivor = [await asyncio.to_thread(start, "gateway") for _ in range(2)]
            async with watching(url) as watcher:
                loop = asyncio.get_running_loop()
                doomed_url = f"ws://127.0.0.1:{doomed.ports()[0]}/stream?streams={KLINE}"
                survivor_url = f"ws://127.0.0.1:{survivor.ports()[0]}/stream?streams={OTHER_KLINE}"
                async with websockets.connect(doomed_url, max_queue=None) as one, websockets.connect(survivor_url, max_queue=None) as other:
                    async with asyncio.timeout(FIRST_S * SECONDS):
                        await _first(one, {KLINE})
                        await _first(other, {OTHER_KLINE})
                    doomed.signal(signal.SIGKILL)
                    killed = loop.time()
                    # the plant writes the killed gateway's stream on until it has not heard it for
                    # its looks (a second apart), then only the survivor's
                    left = await watcher.until(lambda written: KLINE not in written, (SILENT_LOOKS + 10) * SECONDS)
                    assert left == {OTHER_KLINE}
                    last = max(when for when, name in watcher.written if name == KLINE)
                    # its last announcement came at most a second before the kill, and the looks
                    # after it are a second apart at least: dropped at the tenth, not before
                    assert last - killed > SILENT_LOOKS - 3
                plant.stop()
                await asyncio.to_thread(start, "plant")  # the gateway closed its clients (1012): a new run
                async with websockets.connect(survivor_url) as again:
                    async with asyncio.timeout(FIRST_S * SECONDS):
                        await _first(again, {OTHER_KLINE})
                    assert await watcher.window() == {OTHER_KLINE}  # the killed gateway's: never heard of
        finally:
            for child in reversed(children):
                child.stop()
