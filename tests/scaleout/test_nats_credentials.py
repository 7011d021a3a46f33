"""A bus nobody else can drive: the embedded nats-server takes only clients with its token,
drawn for each run and kept off every command line; the bus refuses wrong credentials at
once rather than retrying for ever; and it speaks TLS to a NATS server whose certificate a
given CA signed (NATS across hosts)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import nats.errors
import pytest
from timing import SECONDS

from tickerplant import tls
from tickerplant.bus.nats import NatsAuth, NatsBus
from tickerplant.scaleout.nats_server import EmbeddedNats, locate

pytestmark = pytest.mark.loopback


async def test_the_embedded_server_takes_only_its_own_token_which_no_command_line_shows() -> None:
    first, second = EmbeddedNats(), EmbeddedNats()
    assert first.token and second.token and first.token != second.token  # one a run
    url = await first.start()
    try:
        assert first.process is not None
        with open(f"/proc/{first.process.pid}/cmdline", "rb") as cmdline:
            args = cmdline.read().split(b"\0")
        assert not any(first.token.encode() in arg for arg in args)
        # its configuration, read at its start, is gone: a supervisor killed with -9 leaves
        # no folder of it behind
        assert not Path(args[args.index(b"-c") + 1].decode()).parent.exists()
        for auth in (NatsAuth(), NatsAuth("not-the-token")):
            async with asyncio.timeout(5 * SECONDS):
                with pytest.raises(nats.errors.AuthorizationError):
                    await NatsBus.connect(url, name="stranger", auth=auth)
        bus = await NatsBus.connect(url, name="ours", auth=NatsAuth(first.token))
        assert bus.client.is_connected
        await bus.close()
    finally:
        await first.stop()


@contextlib.contextmanager
def _tls_nats(folder: Path) -> Iterator[tuple[str, tls.Issued]]:
    """``tls://localhost:PORT`` of a nats-server speaking TLS with a certificate of a CA
    made for the test (``tickerplant tls init``'s)."""
    issued = tls.init(folder, datetime.datetime.now(datetime.UTC))
    process = subprocess.Popen(
        [str(locate()), "-a", "127.0.0.1", "-p", "-1", "--tls", "--tlscert", str(issued.cert),
         "--tlskey", str(issued.key)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    port = None
    try:
        for line in process.stderr:
            found = re.search(rb"Listening for client connections on [\d.]+:(\d+)", line)
            port = int(found.group(1)) if found else port
            if b"Server is ready" in line:
                break
        assert port is not None
        yield f"tls://localhost:{port}", issued
    finally:
        process.terminate()
        process.wait(5 * SECONDS)
        process.stderr.close()


async def test_the_bus_speaks_tls_to_a_server_its_ca_signed(tmp_path: Path) -> None:
    with _tls_nats(tmp_path) as (url, issued):
        bus = await NatsBus.connect(url, name="across hosts", auth=NatsAuth.of(url, ca=str(issued.ca)))
        assert bus.client.is_connected
        await bus.close()
        # the system's CAs do not know this one: refused, never connected in the clear
        client: Any = None
        with pytest.raises((nats.errors.Error, OSError, TimeoutError)):
            client = await nats.connect(url, tls=NatsAuth.of(url).tls, allow_reconnect=False, connect_timeout=2)
        assert client is None
