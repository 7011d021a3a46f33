"""The protocol layer's own direction: the surfaces (REST, the WebSocket API, the stream
subscription protocol and its URLs, the public archive) build on shared modules and never on one another."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PROTOCOL = Path(__file__).resolve().parents[2] / "src" / "tickerplant" / "protocol"
SURFACES = {"archive", "rest", "ws_api", "subscriptions", "urls"}
SHARED = {
    "basis", "control_request", "derivatives_data", "encoded_rows", "endpoints", "errors", "json_errors", "kline_windows", "latency", "later",
    "limits", "long_short", "market_data", "market_history", "open_interest", "past", "past_trades", "query_values", "recv_window",
    "request_weight", "streams", "subscription_budget", "taker_volumes",
    "user_streams",
}  # fmt: skip


def protocol_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tickerplant.protocol."):
            found.add(node.module.rsplit(".", 1)[1])
    return found


def test_every_protocol_module_is_a_surface_or_shared() -> None:
    names = {path.stem for path in PROTOCOL.glob("*.py")} - {"__init__"}
    assert names == SURFACES | SHARED


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_a_surface_imports_only_shared_modules(name: str) -> None:
    assert protocol_imports(PROTOCOL / f"{name}.py") <= SHARED


def test_errors_is_the_root_of_the_protocol_layer() -> None:
    tree = ast.parse((PROTOCOL / "errors.py").read_text())
    imported = [
        node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tickerplant.")
    ]
    assert imported == []
