"""Shared fixtures: a real tickerplant on loopback ports chosen by the OS."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tickerplant.app import Tickerplant
from tickerplant.clock import Clock
from tickerplant.config import FaultsConfig, LimitsConfig, ServerConfig, SimulatorConfig
from tickerplant.feeds import Source

StartServer = Callable[..., Awaitable[Tickerplant]]


@pytest.fixture
async def start_server() -> AsyncIterator[StartServer]:
    """Start tickerplant in this event loop; keyword arguments override the config.

    ``limits``, ``simulator`` and ``faults`` take dicts of field overrides; ports default
    to 0 (the OS chooses); ``source`` replaces the simulator; ``clock`` (a ``ManualClock``)
    replaces the wall clock.
    """
    started: list[Tickerplant] = []

    async def start(*, source: Source | None = None, clock: Clock | None = None, **overrides: Any) -> Tickerplant:
        limits = dataclasses.replace(LimitsConfig(), **overrides.pop("limits", {}))
        simulator = dataclasses.replace(SimulatorConfig(actions_per_s=2000.0), **overrides.pop("simulator", {}))
        faults = FaultsConfig(**overrides.pop("faults", {}))
        overrides = {"um_port": 0, "cm_port": 0, **overrides}
        config = ServerConfig(limits=limits, simulator=simulator, faults=faults, **overrides)
        plant = Tickerplant(config, clock=clock, source=source)
        await plant.start()
        started.append(plant)
        return plant

    yield start
    for plant in started:
        await plant.close()
