"""`tickerplant serve --workers 2` as a user runs it: a private nats-server that takes only
clients with the run's token (which no process' command line shows), a plant and two
gateways sharing the ports; a killed gateway is restarted and said so while the other
serves on; SIGTERM stops every process, the gateways' clients reading 1001 "Server shutting
down" (docs/operations.md)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
import urllib.request
from pathlib import Path

import nats
import nats.errors
import pytest
import websockets
from rawws import CLOSE, RawWebSocket, close_code
from served_workers import recent_past
from timing import SECONDS, eventually

# restart_delay_s: the killed gateway comes back a quarter second after its exit, not the
# default second (what is checked is that it comes back; the delay is test_supervision's)
QUICK = """
restart_delay_s = 0.25

[simulator]
history_s = 60
book_levels = 20
steady_rate = true
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _book_ticker(port: int) -> dict[str, str]:
    url = f"http://127.0.0.1:{port}/fapi/v1/ticker/bookTicker?symbol=BTCUSDT"
    with urllib.request.urlopen(url, timeout=5 * SECONDS) as response:
        answer: dict[str, str] = json.loads(response.read())
    return answer


async def test_serve_workers_shares_the_ports_restarts_a_gateway_and_stops_on_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "quick.toml"
    config.write_text(QUICK + recent_past())
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tickerplant.cli", "serve", "--workers", "2", "--um-port", "0", "--cm-port", "0",
        "--admin-port", "0", "--config", str(config), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert server.stdout is not None and server.stderr is not None
    out: list[str] = []
    log: list[str] = []

    async def read(stream: asyncio.StreamReader, into: list[str]) -> None:
        while line := await stream.readline():
            into.append(line.decode())

    readers = [
        asyncio.ensure_future(read(server.stdout, out)),
        asyncio.ensure_future(read(server.stderr, log)),
    ]
    pids: dict[str, int] = {}
    try:
        await eventually(
            lambda: any("Ctrl-C stops" in line for line in out) or server.returncode is not None, 60 * SECONDS
        )
        assert server.returncode is None, "".join(log)
        (port,) = {int(p) for p in re.findall(r"USDⓈ-M streams  ws://127\.0\.0\.1:(\d+)/ws", "".join(out))}
        for name, pid in re.findall(r"(nats-server|plant|gateway \d) started .*\(pid (\d+)\)", "".join(log)):
            pids[name] = int(pid)
        assert set(pids) == {"nats-server", "plant", "gateway 1", "gateway 2"}
        (url,) = re.findall(r"fed over (nats://[\d.]+:\d+)", "".join(out))
        with open(f"/proc/{pids['nats-server']}/environ", "rb") as environ:
            (token,) = re.findall(rb'TICKERPLANT_NATS_TOKEN="([^\0]+)"', environ.read())
        for pid in pids.values():
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                assert token not in cmdline.read()
        with pytest.raises(nats.errors.Error, match="Authorization Violation"):
            await nats.connect(url, allow_reconnect=False)
        await (await nats.connect(url, token=token.decode(), allow_reconnect=False)).close()
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws/btcusdt@bookTicker") as ws:
            async with asyncio.timeout(10 * SECONDS):
                assert json.loads(await ws.recv())["s"] == "BTCUSDT"
        os.kill(pids["gateway 1"], signal.SIGKILL)
        said = f"gateway 1 (pid {pids['gateway 1']}) exited with -9; restarting it"
        await eventually(lambda: any(said in line for line in log), 10 * SECONDS)
        # the other gateway serves on meanwhile, on the same port
        assert (await asyncio.to_thread(_book_ticker, port))["symbol"] == "BTCUSDT"
        await eventually(lambda: len(re.findall(r"gateway 1 started", "".join(log))) == 2, 20 * SECONDS)
        pids["gateway 1 again"] = int(re.findall(r"gateway 1 started \(pid (\d+)\)", "".join(log))[-1])
        # held through the stop: a stream and the WebSocket API, whichever gateway took each
        held = [await RawWebSocket.connect(port, path) for path in ("/ws/btcusdt@bookTicker", "/ws-fapi/v1")]
        assert [ws.status for ws in held] == [101, 101]
        server.send_signal(signal.SIGTERM)
        for ws in held:
            assert close_code(await ws.recv_until(CLOSE, 30 * SECONDS)) == (1001, "Server shutting down")
            await ws.close()
        async with asyncio.timeout(30 * SECONDS):
            assert await server.wait() == 0, "".join(log)
        await eventually(lambda: not any(_alive(pid) for pid in pids.values()), 10 * SECONDS)
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()
        for pid in pids.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for reader in readers:
            reader.cancel()
