"""The client's decisions live in sans-I/O cores: they import no I/O and read no clock
(STYLE.md, principles 2 and 6); the asyncio shell is ``connections.py`` and ``streams.py``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CLIENT = Path(__file__).resolve().parents[2] / "src" / "tickerplant" / "client"
CORES = ["backlog", "delivery", "raw_delivery", "schedule", "pacing", "plan", "backoff", "sequencing", "combined"]
IO_MODULES = {"asyncio", "picows", "uvloop", "socket", "time", "tickerplant.clock"}


@pytest.mark.parametrize("name", CORES)
def test_client_cores_import_no_io(name: str) -> None:
    tree = ast.parse((CLIENT / f"{name}.py").read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    roots = {module.split(".")[0] for module in imported} | imported
    assert not roots & IO_MODULES, f"{name}.py imports {roots & IO_MODULES}"
    shells = {m for m in imported if m in {"tickerplant.client.connections", "tickerplant.client.streams"}}
    assert not shells, f"{name}.py imports the shell"
