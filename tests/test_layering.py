"""Dependencies point inward (STYLE.md principle 1, docs/ARCHITECTURE.md "Who imports whom").

Read from every module's import statements, so a new module is covered the day it lands:

    market  <-  protocol  <-  bus, client  <-  feeds, gateway  <-  app, cli
                                  ^                |
                                  +-- feeds/relay/ only: the raw upstream reader

- ``market/`` (the domain) imports nothing of tickerplant but itself, and inside it the
  subpackages point inward too (``MARKET_ORDER``);
- ``protocol/`` (sans-I/O wire rules) imports market and itself, never the config shape;
- ``bus/`` imports market and itself; ``client/`` never imports the server's layers;
- ``gateway/`` never imports a source (``feeds/``) or the client; it may import ``tls.py``,
  the listeners' TLS, a leaf, and ``venue/``, whose private endpoints it serves;
- ``venue/`` (accounts, keys, signed requests) imports market and protocol, and inside it
  the subpackages point inward too (``VENUE_ORDER``);
- ``feeds/`` imports the client only in the relay, which is a client of its upstream; its
  three sources (``simulator/``, ``replay/``, ``relay/``) share ``feeds``' root modules and
  never import each other;
- no two modules import each other, however indirectly (type-only and function-level
  imports count);
- the sans-I/O cores import no I/O library and never read the time: only ``clock.py``
  (and the terminal display) imports ``time``.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import subprocess
import sys
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "tickerplant"
MODULES = sorted(SRC.rglob("*.py"))
PACKAGES = sorted(p.parent for p in SRC.rglob("__init__.py"))
IO_LIBRARIES = {"asyncio", "picows", "uvloop", "nats", "socket", "selectors", "websockets", "aiohttp", "time"}

# layer -> the tickerplant packages/modules it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "market": set(),
    "protocol": {"market"},
    "bus": {"market"},
    "client": {"market", "protocol", "clock"},
    "recording": {"market", "protocol", "client", "clock"},
    "gateway": {"market", "protocol", "bus", "clock", "config", "tls", "venue", "faults"},
    "feeds": {"market", "protocol", "bus", "clock", "config", "recording"},
    # the operators' listener reads the running server through its own AdminTarget protocol
    "admin": {"market", "protocol", "bus", "clock", "config", "gateway", "venue", "report", "faults"},
    # accounts, keys and signed requests: beside the plant, over the domain and the wire rules
    "venue": {"market", "protocol"},
    # a run's report: the journal's records and the contracts' arithmetic, read, never changed
    "report": {"market", "venue"},
    # the fault profile and its seeded decider: what the wire shells apply around the venue
    "faults": {"market", "protocol"},
}
# the one feed that is itself a client: the relay reads its upstream through the client
CLIENT_USERS_IN_FEEDS = {"feeds/relay/relay.py"}

# market's subpackages, innermost first: each may import market's root modules (units,
# instruments, updates, messages, demand) and the subpackages it lists
MARKET_ORDER: dict[str, set[str]] = {
    "trades": set(),
    "payloads": {"trades"},
    "book": {"trades", "payloads"},
    "klines": {"trades", "payloads"},
    "derivatives": {"trades", "payloads", "klines"},
    "history": {"trades", "payloads", "klines", "derivatives"},
    "plant": {"trades", "payloads", "book", "klines", "derivatives"},
}
FEED_SOURCES = {"simulator", "replay", "relay"}

# venue's subpackages, innermost first (docs/ARCHITECTURE.md, "The venue's room"): each may import
# the ones before it, never one after (its root holds no module but the package's docstring)
VENUE_ORDER = [
    "domain",  # records and formulas: orders, events, contracts, money, typed parameters
    "auth",  # accounts, keys, signed requests
    "payloads",  # records to Binance's JSON
    "book",  # matching rules, the market's ports, the resting-order index
    "ledger",  # each account's state per market
    "risk",  # pre-trade checks
    "engine",  # the engine's state and its steps: placement, amendment, fills, settings
    "clearing",  # funding, liquidation, auto-exchange, transfers
    "algo",  # conditional orders
    "core",  # Engine.apply: every command's one door
    "journal",  # SQLite, group commit, reads by time
    "userstream",  # listen keys, streams, events
    "wire",  # the endpoints
]

# sans-I/O: no I/O library, no clock reads; time comes in as an argument
PURE = [
    *sorted((SRC / "market").rglob("*.py")),
    *sorted((SRC / "protocol").glob("*.py")),
    *(
        SRC / "feeds" / "simulator" / f"{name}.py"
        for name in (
            "simulator", "symbol", "history", "book_shape", "book_upkeep", "order_flow", "fair_price",
            "positions", "liquidations", "derivatives",
        )
    ),
    *(
        SRC / "feeds" / "replay" / f"{name}.py"
        for name in ("replayer", "instruments", "file_columns", "waits", "derivatives")
    ),
    SRC / "feeds" / "relay" / "streams.py",
    *(
        SRC / "client" / name
        for name in (
            "backlog.py", "delivery.py", "raw_delivery.py", "schedule.py", "sequencing.py",
            "pacing.py", "plan.py", "backoff.py", "events.py", "combined.py", "orderbook.py",
        )
    ),
    # the gateway's, the bus's and the recorder's own cores: time and bytes arrive as arguments
    SRC / "gateway" / "log_budget.py",
    SRC / "bus" / "liveness.py",
    SRC / "bus" / "demand.py",
    SRC / "bus" / "frames.py",
    SRC / "gateway" / "http_head.py",
    SRC / "recording" / "depth_snapshots.py",
    # the report's core and its renderer: rows in, figures and HTML out
    *(SRC / "report" / f"{name}.py" for name in ("rows", "equity", "statistics", "figures")),
    *sorted((SRC / "faults").glob("*.py")),
    SRC / "bot" / "governor.py",  # tickerplant run's lag rules
    # the venue's cores: all of it but the files it keeps (the operator's store and the server's
    # view of it, the journal)
    *(
        path
        for path in sorted((SRC / "venue").rglob("*.py"))
        if path.parent.name != "journal" and path.name not in ("store.py", "keyring.py")
    ),
]
# file formats: they read and write files, but no socket and no clock
FILE_FORMATS = [SRC / "feeds" / "replay" / "public_files.py", SRC / "recording" / "format.py"]
# who may import ``time`` at all: the clock, and display code that refreshes a terminal
TIME_READERS = {"clock.py", "client/watch.py", "feeds/replay/player.py"}
# test folders with no package of their own: the third-party clients and the payload contract
TESTS_OF_THE_WHOLE = {"e2e", "contract"}


def _name(path: Path) -> str:
    return str(path.relative_to(SRC))


def _module(path: Path, top: Path) -> str:
    """``path``'s dotted module name under ``top``'s parent (a package's is its folder's)."""
    parts = path.relative_to(top.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@dataclasses.dataclass(frozen=True)
class _Read:
    """What the tests below ask of a module, from one parse and one walk of it."""

    imports: frozenset[str]  # every module it imports (``_imports``)
    opens: bool  # it calls the builtin ``open`` by name
    documented: bool  # it has a docstring


@functools.cache  # once a run: most modules are asked about by five of the tests below
def _read(path: Path, top: Path) -> _Read:
    tree = ast.parse(path.read_text())
    package = _module(path, top).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    opens = False
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
            found |= {f"{module}.{alias.name}" for alias in node.names if module.startswith(top.name)}
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open":
            opens = True
    return _Read(frozenset(found), opens, bool(ast.get_docstring(tree)))


def _imports(path: Path, top: Path = SRC) -> frozenset[str]:
    """Every module ``path`` imports, absolute, relative imports resolved; type-only and
    function-level imports included."""
    return _read(path, top).imports


def _tickerplant_parts(imported: AbstractSet[str], depth: int = 1) -> set[str]:
    """The tickerplant packages or modules named by ``imported``, ``depth`` levels down."""
    return {
        ".".join(m.split(".")[1 : 1 + depth]) for m in imported if m.startswith("tickerplant.") and m.count(".") >= 1
    }


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_each_layer_imports_only_inward(path: Path) -> None:
    layer = path.relative_to(SRC).parts[0]
    if layer not in ALLOWED:
        return  # the composition root (app, cli, config, clock) may import anything
    parts = _tickerplant_parts(_imports(path)) - {layer}
    allowed = ALLOWED[layer] | ({"client"} if _name(path) in CLIENT_USERS_IN_FEEDS else set())
    assert parts <= allowed, f"{_name(path)} imports {sorted(parts - allowed)}"


@pytest.mark.parametrize("path", sorted((SRC / "market").rglob("*.py")), ids=_name)
def test_market_subpackages_import_only_inward(path: Path) -> None:
    parts = path.relative_to(SRC / "market").parts
    own = parts[0] if len(parts) > 1 else None  # None: one of market's root modules
    subpackages = {p.split(".")[1] for p in _tickerplant_parts(_imports(path), 2) if p.startswith("market.")}
    used = (subpackages & set(MARKET_ORDER)) - {own}
    allowed = MARKET_ORDER[own] if own else set()
    assert used <= allowed, f"{_name(path)} imports market's {sorted(used - allowed)}"


@pytest.mark.parametrize("path", sorted((SRC / "venue").rglob("*.py")), ids=_name)
def test_venue_subpackages_import_only_inward(path: Path) -> None:
    parts = path.relative_to(SRC / "venue").parts
    assert len(parts) > 1 or parts[0] == "__init__.py", f"{_name(path)}: a module at venue's root"
    if len(parts) == 1:
        return
    own = VENUE_ORDER.index(parts[0])
    used = {p.split(".")[1] for p in _tickerplant_parts(_imports(path), 2) if p.startswith("venue.")}
    later = sorted(used - set(VENUE_ORDER[: own + 1]))
    assert not later, f"{_name(path)} imports venue's {later}, which come after {parts[0]}"


@pytest.mark.parametrize("path", sorted((SRC / "feeds").rglob("*.py")), ids=_name)
def test_the_sources_do_not_import_each_other(path: Path) -> None:
    parts = path.relative_to(SRC / "feeds").parts
    own = parts[0] if len(parts) > 1 else None  # None: feeds' root (the Source protocol, mark notes)
    used = {p.split(".")[1] for p in _tickerplant_parts(_imports(path), 2) if p.startswith("feeds.")}
    assert not (used & FEED_SOURCES) - {own}, f"{_name(path)} imports feeds' {sorted(used & FEED_SOURCES)}"


def _cycles(top: Path) -> Iterator[list[str]]:
    """The strongly connected groups of modules under ``top`` (Tarjan's algorithm)."""
    paths = {_module(p, top): p for p in top.rglob("*.py")}
    graph = {name: {m for m in _imports(path, top) if m in paths and m != name} for name, path in paths.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = [stack.pop()]
            while group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return iter(found)


@pytest.mark.parametrize("top", [SRC, ROOT / "benchmarks"], ids=["src", "benchmarks"])
def test_no_modules_import_each_other(top: Path) -> None:
    assert list(_cycles(top)) == []


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: _name(p) or "tickerplant")
def test_every_package_says_what_it_holds(package: Path) -> None:
    assert _read(package / "__init__.py", SRC).documented, f"{_name(package)}/__init__.py"


def test_the_tests_mirror_the_source() -> None:
    tests = ROOT / "tests"
    folders = {p.parent.relative_to(tests) for p in tests.rglob("test_*.py")} - {Path(".")}
    unmatched = [
        str(f)
        for f in folders
        if f.parts[0] not in TESTS_OF_THE_WHOLE
        and not (SRC / f / "__init__.py").exists()
        and not (SRC / f).with_suffix(".py").exists()  # tests/cli/: the module cli.py
    ]
    assert not unmatched, f"{unmatched} under tests/ match no package or module of src/tickerplant"


@pytest.mark.parametrize("path", [*PURE, *FILE_FORMATS], ids=_name)
def test_cores_and_formats_import_no_io(path: Path) -> None:
    imported = {m.split(".")[0] for m in _imports(path)}
    assert not imported & IO_LIBRARIES, f"{_name(path)} imports {imported & IO_LIBRARIES}"


@pytest.mark.parametrize("path", PURE, ids=_name)
def test_cores_open_no_files(path: Path) -> None:
    assert not _read(path, SRC).opens, f"{_name(path)} opens files"
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


def test_a_one_process_server_imports_neither_nats_nor_aiohttp() -> None:
    """`tickerplant serve` in one process with its admin listener off loads no NATS client
    and no HTTP library: importing aiohttp (nats-py imports it too) reads the system's CA
    bundle into its client's TLS contexts, 0.3 s of every start. ``serve --workers`` and
    the admin listener import them where they use them."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, tickerplant.cli, tickerplant.commands, tickerplant.app; print(*sorted(sys.modules))"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.split()  # fmt: skip
    assert not {m.split(".")[0] for m in loaded} & {"nats", "aiohttp"}
