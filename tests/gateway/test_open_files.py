"""The server raises its soft open-file limit to the hard one when it starts."""

from __future__ import annotations

import logging
import resource
import subprocess
import sys

import pytest
from conftest import StartServer

from tickerplant.gateway.open_files import raise_open_files_limit


def test_a_low_soft_limit_is_raised_to_the_hard_one_and_said() -> None:
    # in a child process, so this test's own limits are left alone
    code = (
        "import logging, resource; logging.basicConfig(level=logging.INFO);"
        "from tickerplant.gateway.open_files import raise_open_files_limit;"
        "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE);"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, hard), hard));"
        "now = raise_open_files_limit();"
        "assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == now, now;"
        "print(now, hard)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    now, hard = map(int, done.stdout.split())
    assert now == hard or hard == resource.RLIM_INFINITY
    assert "open files: at most" in done.stderr


async def test_the_server_starts_at_its_hard_limit(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tickerplant")
    await start_server()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert soft == hard or hard == resource.RLIM_INFINITY
    assert any(r.getMessage().startswith("open files: at most") for r in caplog.records)
    assert raise_open_files_limit() == soft  # a second call changes nothing
