"""The setup the scale-out tests share: a plant and gateways, in this process or as real ones.

In this process (``PlantProcess`` and ``GatewayProcess`` objects on a ManualClock, each with
its own NATS connection): ``started`` closes what a test started, ``start_split`` starts
gateways and their plant in the order a user may (the gateways first, waiting),
``taken`` waits until the plant writes the streams a test's client subscribed to (the
gateways tell it, a hop later: ``scaleout/plant_demand.py``), and ``http_json`` and
``until_depth_at`` read what a gateway serves.

As real processes (``tickerplant plant`` and ``tickerplant gateway``, as a user runs them):
``StreamsClient`` is a ``tickerplant.client`` one reading as it comes, which tells where its
ids skipped without a ``Gap`` saying so; ``Child`` is one, started synchronously (run it in a thread from a test's loop) and ready
once it printed what it prints when it serves; ``shared_ports`` reserves listener ports
gateways share (``SO_REUSEPORT``, as ``serve --workers`` shares them); ``serving_pid``
tells which gateway process holds a client's connection (Linux's /proc), since the kernel
spreads the connections over the gateways sharing a port.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from timing import SECONDS, eventually

from tickerplant.bus.nats import NatsAuth, NatsBus
from tickerplant.client import AggTrade, DepthUpdate, Gap, MarketStreams
from tickerplant.clock import ManualClock
from tickerplant.config import ServerConfig
from tickerplant.scaleout.gateway_process import GatewayProcess
from tickerplant.scaleout.nats_server import EmbeddedNats
from tickerplant.scaleout.plant_process import PlantProcess

__all__ = [
    "Child", "StreamsClient", "client_ports", "http_json", "serving_pid", "shared_ports", "start_split",
    "started", "taken", "until_depth_at",
]  # fmt: skip


# --- in this process --------------------------------------------------------------------


@pytest.fixture
async def started() -> AsyncIterator[list[Any]]:
    """What the test started (plants, gateways, nats-servers), closed after it, last first."""
    closing: list[Any] = []
    yield closing
    for thing in reversed(closing):
        await (thing.stop() if isinstance(thing, EmbeddedNats) else thing.close())


async def start_split(
    config: ServerConfig,
    nats_url: str,
    clock: ManualClock,
    started: list[Any],
    gateways: int = 1,
    auth: NatsAuth | None = None,
) -> tuple[PlantProcess, list[GatewayProcess]]:
    """``gateways`` gateways and their plant, started: the gateways first, waiting for the
    plant's listing (subscribed already, they build their views from its first frame)."""
    auth = auth or NatsAuth()
    ours = [
        GatewayProcess(config, await NatsBus.connect(nats_url, name=f"gateway {i}", auth=auth), clock)
        for i in range(1, gateways + 1)
    ]
    started.extend(ours)
    waiting = [asyncio.ensure_future(gateway.start()) for gateway in ours]
    plant = PlantProcess(config, await NatsBus.connect(nats_url, name="plant", auth=auth), clock)
    started.append(plant)
    await plant.start()
    async with asyncio.timeout(10 * SECONDS):
        await asyncio.gather(*waiting)
    return plant, ours


async def taken(plant: PlantProcess, *streams: str) -> None:
    """Until ``plant`` writes ``streams``: a client holds each through a gateway, which has
    told the plant so. A test on a ManualClock waits for it before it moves the clock, as the
    plant writes a stream only from the step after it heard."""
    await eventually(lambda: all(stream in plant.demand for stream in streams), 10 * SECONDS)


def http_json(url: str) -> Any:
    """GET ``url`` (a listener's ``ws://`` URL and a REST path) and its JSON; blocking."""
    with urllib.request.urlopen(url.replace("ws://", "http://"), timeout=10 * SECONDS) as response:
        return json.loads(response.read())


async def until_depth_at(ws: Any, when_ms: int, into: list[str], stream: str | None = None) -> None:
    """Frames into ``into`` until a diff depth pushed at ``when_ms`` or later: on a raw
    stream connection (``stream`` None), or ``stream``'s on a combined one."""
    async with asyncio.timeout(10 * SECONDS):
        while True:
            frame = await ws.recv()
            into.append(frame)
            message = json.loads(frame)
            if stream is None:
                if message["E"] >= when_ms and message.get("e") == "depthUpdate":
                    return
            elif message["stream"] == stream and message["data"]["E"] >= when_ms:
                return


# --- as real processes ------------------------------------------------------------------


class StreamsClient:
    """A ``MarketStreams`` client and what it received, read as it comes."""

    def __init__(self, streams: MarketStreams) -> None:
        self.streams = streams
        self.items: list[Any] = []
        self.reading = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for item in self.streams:
            self.items.append(item)

    def gaps(self) -> list[Gap]:
        return [item for item in self.items if isinstance(item, Gap)]

    def unreported(self) -> list[str]:
        """Where its aggregate trade ids skip or its depth chain breaks without a ``Gap``
        saying so just before."""
        last: dict[str, int] = {}
        said: set[str] = set()  # streams a Gap was reported on since their last event
        wrong: list[str] = []
        for item in self.items:
            if isinstance(item, Gap):
                said.add(item.stream)
                continue
            if isinstance(item, AggTrade):
                stream, first, final = "btcusdt@aggTrade", item.agg_id, item.agg_id
                follows = first == last.get(stream, first - 1) + 1
            elif isinstance(item, DepthUpdate):
                stream, final = "btcusdt@depth@100ms", item.final_update_id
                follows = item.previous_final_update_id == last.get(stream, item.previous_final_update_id)
            else:
                continue
            if not follows and stream not in said:
                wrong.append(f"{stream}: {last.get(stream)} then {item}")
            assert final > last.get(stream, 0), "delivered again"
            last[stream] = final
            said.discard(stream)
        return wrong



_READY = {"plant": b"tickerplant plant publishing", "gateway": b"tickerplant gateway on"}
_PORTS = re.compile(r"ws://[\d.]+:(\d+) \(USDⓈ-M\) and ws://[\d.]+:(\d+) \(COIN-M\)")


class Child:
    """A ``tickerplant plant`` or ``tickerplant gateway`` process, started and ready.

    Blocks until the process says it serves (or fails, with its log): from a test's loop,
    start one in ``asyncio.to_thread`` so the test's clients read on meanwhile."""

    def __init__(self, role: str, nats_url: str, config: Path, *args: str) -> None:
        self.role = role
        self.log = config.with_name(f"{role}-{os.urandom(4).hex()}.log")
        command = [sys.executable, "-m", "tickerplant.cli", role, "--nats", nats_url]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [*command, "--config", str(config), *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=log,
            )  # fmt: skip
        assert self.process.stdout is not None
        self.ready = ""
        for line in self.process.stdout:  # EOF: it exited before it served
            if line.startswith(_READY[role]):
                self.ready = line.decode()
                break
        assert self.ready, f"{role} did not start:\n{self.log.read_text()}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def ports(self) -> tuple[int, int]:
        """A gateway's USDⓈ-M and COIN-M listener ports, as it said them."""
        found = _PORTS.search(self.ready)
        assert found is not None, self.ready
        return int(found.group(1)), int(found.group(2))

    def signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(sig)

    def stop(self) -> None:
        """SIGTERM (killed after a deadline); a stopped (SIGSTOP) process is continued first."""
        if self.process.poll() is None:
            self.signal(signal.SIGCONT)
            self.signal(signal.SIGTERM)
            try:
                self.process.wait(10 * SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        assert self.process.stdout is not None
        self.process.stdout.close()


@contextlib.contextmanager
def shared_ports() -> Iterator[tuple[int, int]]:
    """Two loopback ports for gateways to share (``--reuse-port``): bound with
    ``SO_REUSEPORT`` and never listening, as ``serve --workers`` reserves them, so no
    connection lands here and nobody else takes them meanwhile."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(2)]
    try:
        for sock in socks:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(("127.0.0.1", 0))
        yield socks[0].getsockname()[1], socks[1].getsockname()[1]
    finally:
        for sock in socks:
            sock.close()


def _tcp() -> list[tuple[int, int, int]]:
    """This host's IPv4 TCP connections on loopback: (local port, remote port, inode)."""
    rows = []
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            if fields[3] == "01":  # established
                local, remote = (int(address.split(":")[1], 16) for address in fields[1:3])
                rows.append((local, remote, int(fields[9])))
    return rows


def _sockets(pid: int | str) -> set[int]:
    """The inodes of the sockets process ``pid`` holds."""
    held = set()
    fds = f"/proc/{pid}/fd"
    for fd in os.listdir(fds):
        with contextlib.suppress(OSError):
            target = os.readlink(f"{fds}/{fd}")
            if target.startswith("socket:["):
                held.add(int(target[8:-1]))
    return held


def client_ports(server_port: int) -> set[int]:
    """The local ports of this process's connections to ``server_port``."""
    ours = _sockets("self")
    return {local for local, remote, inode in _tcp() if remote == server_port and inode in ours}


def serving_pid(server_port: int, client_port: int, pids: list[int]) -> int | None:
    """Which of ``pids`` holds the server end of the connection from ``client_port``."""
    inodes = {inode for local, remote, inode in _tcp() if (local, remote) == (server_port, client_port)}
    for pid in pids:
        if inodes & _sockets(pid):
            return pid
    return None
