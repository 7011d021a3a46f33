"""Shared fixtures: a real tickerplant on loopback ports chosen by the OS.

Every test that starts a server runs twice, on the standard asyncio loop and on uvloop
(production runs uvloop; a listener or client that works on one loop only is a bug),
but for the third-party clients' tests under ``tests/e2e`` (and the bulk and browser ones
marked ``uvloop_only``), which run on uvloop alone: they check what those clients read and
send, the same bytes on either loop, while the listeners' and ``tickerplant.client``'s own
tests (gateway, protocol, client, feeds, scaleout) cover both loops. That halves a third of
the suite's time, which had reached its five-minute budget.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import uvloop

from tickerplant.app import Tickerplant
from tickerplant.clock import Clock
from tickerplant.config import FaultsConfig, LimitsConfig, ServerConfig, SimulatorConfig
from tickerplant.feeds import Source

StartServer = Callable[..., Awaitable[Tickerplant]]

_BOTH_LOOPS: Mapping[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}
_STANDARD_LOOP: Mapping[str, Callable[[], asyncio.AbstractEventLoop]] = {"asyncio": asyncio.new_event_loop}
_PRODUCTION_LOOP: Mapping[str, Callable[[], asyncio.AbstractEventLoop]] = {"uvloop": uvloop.new_event_loop}
_E2E = Path(__file__).parent / "e2e"  # the third-party clients: uvloop alone (the docstring says why)


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Loopback tests (those that start a server) on both loops; the rest on asyncio; bulk
    downloads and browser pages (seconds of CPU each, their listeners' loop coverage given by
    lighter tests) on uvloop alone."""
    if item.get_closest_marker("uvloop_only") or _E2E in getattr(item, "path", Path()).parents:
        return _PRODUCTION_LOOP
    if "start_server" in getattr(item, "fixturenames", ()) or item.get_closest_marker("loopback"):
        return _BOTH_LOOPS
    return _STANDARD_LOOP


@pytest.fixture
async def start_server() -> AsyncIterator[StartServer]:
    """Start tickerplant in this event loop; keyword arguments override the config.

    ``limits``, ``simulator`` and ``faults`` take dicts of field overrides; ports default
    to 0 (the OS chooses), and the admin listener is off unless ``admin_port`` is given
    (``ports.free_port()``: its 0 means off); ``source`` replaces the simulator; ``clock``
    (a ManualClock in tests about time) is the server's clock.
    """
    started: list[Tickerplant] = []

    async def start(*, source: Source | None = None, clock: Clock | None = None, **overrides: Any) -> Tickerplant:
        limits = dataclasses.replace(LimitsConfig(), **overrides.pop("limits", {}))
        # An hour of warm history instead of a day: the windows start warm all the same, and
        # a server starts in a tenth of the time. Books of the least depth (20 levels a side
        # and a margin: @depth20 stays full) instead of 1,000: building, publishing and
        # mirroring 1,000-level books made each start ten times slower (the full depth has
        # its own test, tests/gateway/test_full_depth.py).
        quick = SimulatorConfig(actions_per_s=2000.0, history_s=3600.0, book_levels=20)
        simulator = dataclasses.replace(quick, **overrides.pop("simulator", {}))
        faults = FaultsConfig(**overrides.pop("faults", {}))
        overrides = {"um_port": 0, "cm_port": 0, "admin_port": 0, **overrides}
        config = ServerConfig(limits=limits, simulator=simulator, faults=faults, **overrides)
        plant = Tickerplant(config, clock=clock, source=source)
        await plant.start()
        started.append(plant)
        return plant

    yield start
    for plant in started:
        await plant.close()
