"""Dependencies point inward: the pure layers never import I/O (STYLE.md, principle 1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "tickerplant"
IO_MODULES = {"asyncio", "picows", "uvloop", "nats", "socket", "websockets", "aiohttp", "time"}
PURE = [
    *sorted((SRC / "market").glob("*.py")),
    *sorted((SRC / "protocol").glob("*.py")),
    *(SRC / "feeds" / name for name in ("simulator.py", "replay.py", "public_files.py", "recording.py")),
]


@pytest.mark.parametrize("path", PURE, ids=lambda p: str(p.relative_to(SRC)))
def test_pure_modules_import_no_io(path: Path) -> None:
    tree = ast.parse(path.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
            if node.module.startswith("tickerplant.") and node.module.split(".")[1] in {"gateway", "bus", "client"}:
                imported.add(node.module)
    assert not imported & IO_MODULES, f"{path.name} imports {imported & IO_MODULES}"
    assert not [m for m in imported if m.startswith("tickerplant.")], "pure layers do not import the shells"
