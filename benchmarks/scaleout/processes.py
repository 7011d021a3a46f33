"""The scale-out benchmark's processes: a split server (a nats-server, `tickerplant plant` and
N `tickerplant gateway`s sharing their ports, all on the server's CPU), the recorder of the
plant's frames, and the two publishers (tickerplant's ``NatsBus`` and the nats-py floor)
that send the recorded frames again."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ..harness.processes import HOST, REPO, free_port, import_from_src, server_env, server_preexec

_READY = "tickerplant plant publishing"


def nats_server_path() -> Path:
    import_from_src()
    from tickerplant.scaleout.nats_server import locate

    return locate()


class Split:
    """The split server, started: its processes' pids, its shared listener ports."""

    def __init__(self, gateways: int, config: Path, sim_rate: str, start_timeout_s: float) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[Any] = []
        self._reserved: list[socket.socket] = []
        self.um_port, self.cm_port = self._reserve(), self._reserve()
        nats_port = free_port()
        self.nats_url = f"nats://{HOST}:{nats_port}"
        self.nats = self._start([str(nats_server_path()), "-a", HOST, "-p", str(nats_port)])
        _wait_port(nats_port, start_timeout_s)
        cli = [sys.executable, "-m", "tickerplant"]
        source = ["--config", str(config), "--seed", "1", "--sim-rate", sim_rate, "--steady-rate"]  # any hour
        self.plant = self._start([*cli, "plant", "--nats", self.nats_url, *source])
        deadline = time.monotonic() + start_timeout_s
        while _READY not in self._log(1):
            if self.plant.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the plant did not start: {self._log(1)[-500:]}")
            time.sleep(0.1)
        listen = [
            "--host",
            HOST,
            "--um-port",
            str(self.um_port),
            "--cm-port",
            str(self.cm_port),
            "--reuse-port",
        ]
        gateway = [*cli, "gateway", "--nats", self.nats_url, *listen, "--config", str(config)]
        self.gateways = [self._start(gateway) for _ in range(gateways)]
        for n in range(gateways):  # each says so once it listens, its state loaded
            while "tickerplant gateway on" not in self._log(2 + n):
                if self.gateways[n].poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gateway {n + 1} did not start: {self._log(2 + n)[-500:]}")
                time.sleep(0.1)

    def pids(self) -> list[int]:
        return [proc.pid for proc in self.procs]

    def _reserve(self) -> int:
        """A port the gateways share: bound with SO_REUSEPORT, never listening (as
        `serve --workers` reserves it)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((HOST, 0))
        self._reserved.append(sock)
        return int(sock.getsockname()[1])

    def _start(self, argv: list[str]) -> subprocess.Popen[bytes]:
        log = tempfile.NamedTemporaryFile("w+b", prefix="tickerplant-bench-", suffix=".log")  # noqa: SIM115
        proc = subprocess.Popen(
            argv, env=server_env(), cwd=REPO, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=server_preexec,
        )  # fmt: skip
        self.procs.append(proc)
        self.logs.append(log)
        return proc

    def _log(self, index: int) -> str:
        log = self.logs[index]
        log.flush()
        return Path(log.name).read_text(errors="replace")

    def stop(self) -> None:
        for proc in reversed(self.procs):  # the gateways, the plant, then NATS
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                proc.wait(5.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in self.logs:
            log.close()
        for sock in self._reserved:
            sock.close()


@contextlib.contextmanager
def split(gateways: int, config: Path, sim_rate: str, start_timeout_s: float) -> Iterator[Split]:
    server: Split | None = None
    try:
        server = Split(gateways, config, sim_rate, start_timeout_s)
        yield server
    finally:
        if server is not None:
            server.stop()


def _wait_port(port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), 1.0):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listening on {port}")
        time.sleep(0.05)


# --------------------------------------------------------------------------- the frames


async def record(pipe: Connection, url: str, seconds: float, keep_bytes: int) -> None:
    """Count the plant's frames on both markets for ``seconds`` (its publish rate) and keep the
    first ``keep_bytes`` of them, with their subjects, to publish again."""
    import_from_src()
    import nats

    from tickerplant.bus.frames import decode_frame

    client = await nats.connect(url)
    kept: list[tuple[str, bytes]] = []
    counts = {"frames": 0, "messages": 0, "bytes": 0}
    size = 0

    async def on_frame(msg: Any) -> None:
        nonlocal size
        counts["frames"] += 1
        counts["bytes"] += len(msg.data)
        counts["messages"] += len(decode_frame(msg.data).messages)
        if size < keep_bytes:
            kept.append((msg.subject, msg.data))
            size += len(msg.data)

    await client.subscribe("tp.*.frames", cb=on_frame, pending_bytes_limit=1 << 30)
    await client.flush()
    await asyncio.sleep(1.0)  # the plant's warm start (history, books) is not its rate
    for key in counts:
        counts[key] = 0
    kept.clear()
    size = 0
    start = time.perf_counter()
    await asyncio.sleep(seconds)
    elapsed = time.perf_counter() - start
    rates = {key: value / elapsed for key, value in counts.items()}
    await client.close()
    pipe.send((rates, kept))


async def publish_floor(pipe: Connection, url: str, frames: list[tuple[str, bytes]], repeats: int) -> None:
    """nats-py alone: the recorded frames, as recorded, a batch a loop turn (as the plant's
    writer sends a step's frames)."""
    import nats

    client = await nats.connect(url, pending_size=64 * 1024 * 1024)
    gc.freeze()  # as the bus's side does
    start = time.perf_counter()
    for _ in range(repeats):
        for subject, data in frames:
            await client.publish(subject, data)
            await asyncio.sleep(0)
    await client.flush()
    elapsed = time.perf_counter() - start
    await client.close()
    pipe.send(elapsed)


async def publish_bus(pipe: Connection, url: str, frames: list[tuple[str, bytes]], repeats: int) -> None:
    """tickerplant's ``NatsBus``: each recorded frame's messages as one batch (``publish``
    frames them again), then the outbox flushed."""
    import_from_src()
    from tickerplant.bus.frames import decode_frame
    from tickerplant.bus.nats import NatsBus
    from tickerplant.market.instruments import Market

    batches = [(Market(subject.split(".")[1]), decode_frame(data).messages) for subject, data in frames]
    # the recorded messages are this process's, not a plant's: kept out of the collector's way
    # (a plant's own heap is measured by running it, in the ceiling above)
    gc.freeze()
    bus = await NatsBus.connect(url, name="benchmark")
    start = time.perf_counter()
    for _ in range(repeats):
        for market, messages in batches:
            bus.publish(market, messages)
            await asyncio.sleep(0)
    await bus.flush()
    elapsed = time.perf_counter() - start
    dropped = bus.outbox.dropped
    await bus.close()
    pipe.send((elapsed, dropped))
