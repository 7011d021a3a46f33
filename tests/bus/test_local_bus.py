"""The in-process bus, and the bus's interface standing apart from the plant."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from pathlib import Path

from tickerplant.bus import StreamMessage
from tickerplant.bus.local import LocalBus
from tickerplant.market.instruments import Market

BUS = Path(__file__).resolve().parents[2] / "src" / "tickerplant" / "bus"


def test_a_batch_goes_to_every_subscriber_of_its_market_only() -> None:
    bus = LocalBus()
    got: dict[str, list[Sequence[StreamMessage]]] = {"a": [], "b": [], "cm": []}
    bus.subscribe(Market.UM, got["a"].append)
    bus.subscribe(Market.UM, got["b"].append)
    bus.subscribe(Market.CM, got["cm"].append)
    batch = [StreamMessage("btcusdt@bookTicker", b"{}"), StreamMessage("!bookTicker", b"{}")]
    bus.publish(Market.UM, batch)
    bus.publish(Market.UM, [])  # nothing to carry: no call
    assert got == {"a": [batch], "b": [batch], "cm": []}


def test_the_bus_does_not_import_the_plant() -> None:
    for path in BUS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("tickerplant.market.plant"), path.name
