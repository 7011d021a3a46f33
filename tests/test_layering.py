"""Dependencies point inward (STYLE.md principle 1, docs/ARCHITECTURE.md "Who imports whom").

Read from every module's import statements, so a new module is covered the day it lands:

    market  <-  protocol  <-  bus, client  <-  feeds, gateway  <-  app, cli
                                  ^                |
                                  +-- feeds/relay.py only: the raw upstream reader

- ``market/`` (the domain) imports nothing of tickerplant but itself;
- ``protocol/`` (sans-I/O wire rules) imports market and itself, never the config shape;
- ``bus/`` imports market and itself; ``client/`` never imports the server's layers;
- ``gateway/`` never imports a source (``feeds/``) or the client;
- ``feeds/`` imports the client only in the relay, which is a client of its upstream;
- the sans-I/O cores import no I/O library and never read the time: only ``clock.py``
  (and the terminal display) imports ``time``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "tickerplant"
MODULES = sorted(SRC.rglob("*.py"))
IO_LIBRARIES = {"asyncio", "picows", "uvloop", "nats", "socket", "selectors", "websockets", "aiohttp", "time"}

# layer -> the tickerplant packages/modules it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "market": set(),
    "protocol": {"market"},
    "bus": {"market"},
    "client": {"market", "protocol", "clock"},
    "recording": {"market", "protocol", "client", "clock"},
    "gateway": {"market", "protocol", "bus", "clock", "config"},
    "feeds": {"market", "protocol", "bus", "clock", "config", "recording"},
    # the operators' listener reads the running server through its own AdminTarget protocol
    "admin": {"market", "protocol", "bus", "clock", "config", "gateway"},
}
# the one feed that is itself a client: the relay reads its upstream through the client
CLIENT_USERS_IN_FEEDS = {"feeds/relay.py"}

# sans-I/O: no I/O library, no clock reads; time comes in as an argument
PURE = [
    *sorted((SRC / "market").glob("*.py")),
    *sorted((SRC / "protocol").glob("*.py")),
    *(
        SRC / "feeds" / name
        for name in (
            "simulator.py", "simulated_symbol.py", "simulated_history.py", "book_shape.py",
            "order_flow.py", "fair_price.py", "replay.py", "replay_instruments.py",
            "simulated_derivatives.py", "file_columns.py",
        )
    ),
    *(
        SRC / "client" / name
        for name in (
            "backlog.py", "delivery.py", "raw_delivery.py", "schedule.py", "sequencing.py",
            "pacing.py", "plan.py", "backoff.py", "events.py", "combined.py", "orderbook.py",
        )
    ),
    # the gateway's and the recorder's own cores: time and bytes arrive as arguments
    SRC / "gateway" / "log_budget.py",
    SRC / "gateway" / "http_head.py",
    SRC / "recording" / "depth_snapshots.py",
]
# file formats: they read and write files, but no socket and no clock
FILE_FORMATS = [SRC / "feeds" / "public_files.py", SRC / "recording" / "format.py"]
# who may import ``time`` at all: the clock, and display code that refreshes a terminal
TIME_READERS = {"clock.py", "client/watch.py", "feeds/player.py"}


def _name(path: Path) -> str:
    return str(path.relative_to(SRC))


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, absolute, relative imports resolved."""
    tree = ast.parse(path.read_text())
    package = ["tickerplant", *path.relative_to(SRC).parent.parts]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names if module.startswith("tickerplant")}
    return found


def _tickerplant_parts(imported: set[str]) -> set[str]:
    """The top-level tickerplant packages or modules named by ``imported``."""
    return {m.split(".")[1] for m in imported if m.startswith("tickerplant.") and m.count(".") >= 1}


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_each_layer_imports_only_inward(path: Path) -> None:
    layer = path.relative_to(SRC).parts[0]
    if layer not in ALLOWED:
        return  # the composition root (app, cli, config, clock) may import anything
    parts = _tickerplant_parts(_imports(path)) - {layer}
    allowed = ALLOWED[layer] | ({"client"} if _name(path) in CLIENT_USERS_IN_FEEDS else set())
    assert parts <= allowed, f"{_name(path)} imports {sorted(parts - allowed)}"


@pytest.mark.parametrize("path", [*PURE, *FILE_FORMATS], ids=_name)
def test_cores_and_formats_import_no_io(path: Path) -> None:
    imported = {m.split(".")[0] for m in _imports(path)}
    assert not imported & IO_LIBRARIES, f"{_name(path)} imports {imported & IO_LIBRARIES}"


@pytest.mark.parametrize("path", PURE, ids=_name)
def test_cores_open_no_files(path: Path) -> None:
    calls = [
        node for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open"
    ]  # fmt: skip
    assert not calls, f"{_name(path)} opens files"
    file_libraries = {"zipfile", "gzip", "pathlib", "os", "io", "shutil"}
    assert not file_libraries & {m.split(".")[0] for m in _imports(path)}, f"{_name(path)} reads files"


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_only_the_clock_reads_the_time(path: Path) -> None:
    if _name(path) in TIME_READERS:
        return
    imported = _imports(path)
    assert "time" not in imported, f"{_name(path)} reads the time itself: take a Clock"
    assert "loop.time()" not in path.read_text(), f"{_name(path)} reads loop time: take a Clock"


def test_protocol_does_not_take_the_config_shape() -> None:
    for path in sorted((SRC / "protocol").glob("*.py")):
        assert "tickerplant.config" not in _imports(path), _name(path)


def test_the_private_picows_protocol_has_one_home() -> None:
    users = [_name(p) for p in MODULES if "picows.picows" in _imports(p)]
    assert users == ["gateway/picows_server.py"]


def test_no_module_holds_two_things() -> None:
    """A module past ~450 lines is holding two things (STYLE.md): find the seam."""
    long = {_name(p): n for p in MODULES if (n := len(p.read_text().splitlines())) > 450}
    assert not long, long
