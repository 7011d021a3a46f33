"""A command's refusal to start, run for real: one form whatever refuses it, ``tickerplant
<command>: …`` on stderr's last line and exit status 1 (docs/cli.md), the shared code's
refusals (a bad configuration, a fault profile) named after the command they refuse."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["serve", "--config", "{bad}"], "tickerplant serve: configuration: "),
        (["serve", "--faults", "no-such-profile"], "tickerplant serve: --faults no-such-profile: neither"),
        (["run", "--config", "{bad}", "--", "true"], "tickerplant run: configuration: "),
        (["plant", "--config", "{bad}"], "tickerplant plant: configuration: "),
        (["accounts", "--config", "{bad}", "list"], "tickerplant accounts: configuration: "),
        (["record", "btcusdt@trade", "--out", "{bad}"], "tickerplant record: --out "),
        (["report", "--db", "{missing}", "--account", "1", "--out", "{tmp}"], "tickerplant report: "),
    ],
)
def test_a_refusal_to_start_names_its_command(tmp_path: Path, argv: list[str], said: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("no_such_setting = 1\n")
    paths = {"bad": str(bad), "missing": str(tmp_path / "none.db"), "tmp": str(tmp_path)}
    refused = subprocess.run(
        [sys.executable, "-m", "tickerplant", *[arg.format(**paths) for arg in argv]],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert refused.returncode == 1, refused.stderr
    assert refused.stderr.splitlines()[-1].startswith(said), refused.stderr
