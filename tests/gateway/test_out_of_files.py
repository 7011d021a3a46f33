"""A server out of file descriptors answers new clients 503, says so in its log, and
serves again once connections close (gateway/acceptor.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import signal
import sys
from pathlib import Path

from ports import free_port
from rawws import TEXT, RawWebSocket, http_exchange
from timing import SECONDS

_LIMIT = 64  # descriptors for the whole server: about 20 of its own, the rest clients
_STREAM = "/ws/btcusdt@bookTicker"


def _low_limit() -> None:
    # soft and hard alike: the server raises its soft limit to the hard one at start
    resource.setrlimit(resource.RLIMIT_NOFILE, (_LIMIT, _LIMIT))


class _Log:
    """The server's stderr, line by line, read as it comes."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.lines: list[str] = []
        self._task = asyncio.get_running_loop().create_task(self._read(stream))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.lines.append(line.decode())

    async def line_with(self, text: str, timeout_s: float = 10 * SECONDS) -> str:
        async with asyncio.timeout(timeout_s):
            while True:
                found = [line for line in self.lines if text in line]
                if found:
                    return found[0]
                await asyncio.sleep(0)


async def test_out_of_descriptors_new_clients_get_503_and_a_log_line_until_some_close(tmp_path: Path) -> None:
    config = tmp_path / "quick.toml"
    config.write_text("[simulator]\nhistory_s = 3600\nbook_levels = 20\nactions_per_s = 200\nsteady_rate = true\n")
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tickerplant", "serve", "--config", str(config),
        "--um-port", str(port), "--cm-port", str(free_port()), "--admin-port", "0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, preexec_fn=_low_limit,
    )  # fmt: skip
    assert server.stdout is not None and server.stderr is not None
    log = _Log(server.stderr)
    held: list[RawWebSocket] = []
    try:
        async with asyncio.timeout(20 * SECONDS):
            while b"Ctrl-C" not in await server.stdout.readline():
                pass
        # Stream connections until the server has no descriptor left for the next one.
        refused = None
        for _ in range(_LIMIT):
            ws = await RawWebSocket.connect(port, _STREAM)
            if ws.status != 101:
                refused = ws
                break
            held.append(ws)
        assert refused is not None and refused.status == 503, "the server never ran out"
        assert len(held) > _LIMIT // 2  # the limit, not something else, turned it away
        assert await refused.reader.read() == b"Server out of file descriptors; retry later\n"
        await refused.close()
        rest = await http_exchange(port, b"GET /fapi/v1/ping HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (rest.status, rest.headers["retry-after"]) == (503, "1")
        assert "answered 503" in await log.line_with("out of file descriptors")
        # The connections it holds go on as before.
        assert (await held[0].recv_until(TEXT)).payload.startswith(b'{"e":"bookTicker"')
        # Once some close, new clients are served again.
        for ws in held[-4:]:
            await ws.close()
        del held[-4:]
        async with asyncio.timeout(10 * SECONDS):
            while (rest := await http_exchange(port, b"GET /fapi/v1/ping HTTP/1.1\r\nHost: x\r\n\r\n")).status != 200:
                await asyncio.sleep(0)
        assert json.loads(rest.body) == {}
        fresh = await RawWebSocket.connect(port, _STREAM)
        assert fresh.status == 101
        held.append(fresh)
        assert (await fresh.recv_until(TEXT)).payload.startswith(b'{"e":"bookTicker"')
        assert not [line for line in log.lines if "Traceback" in line]
    finally:
        for ws in held:
            await ws.close()
        with contextlib.suppress(ProcessLookupError):
            server.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10 * SECONDS):
            await server.wait()
