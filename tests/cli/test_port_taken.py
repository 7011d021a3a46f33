"""A port another process holds: the server does not start, and says which of its listeners
could not bind where (it said "Address already in use" alone, three listeners to guess from)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(("flag", "which"), [("--um-port", "USDⓈ-M"), ("--cm-port", "COIN-M"), ("--admin-port", "admin")])
def test_a_port_another_process_holds_is_named(tmp_path: Path, flag: str, which: str) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        ports = {"--um-port": "0", "--cm-port": "0", "--admin-port": "0", flag: str(port)}
        served = subprocess.run(
            [sys.executable, "-m", "tickerplant", "serve", *[x for kv in ports.items() for x in kv],
             "--venue-db", str(tmp_path / "venue.db")],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    last = served.stderr.splitlines()[-1]
    assert served.returncode == 1, served.stderr
    assert last.startswith(f"tickerplant serve: cannot start: [Errno 98] the {which} listener on 127.0.0.1:{port}: "), last
    assert "Traceback" not in served.stderr
