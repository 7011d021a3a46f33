"""The composition root: sources, plants, bus and listeners built from a ServerConfig."""

from __future__ import annotations

import asyncio
import contextlib

from tickerplant.bus.local import LocalBus
from tickerplant.clock import Clock, SystemClock
from tickerplant.config import ServerConfig
from tickerplant.feeds.pump import SimulatorPump
from tickerplant.feeds.simulator import Simulator
from tickerplant.gateway.server import Listener
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.plant import Plant, StreamMessage

__all__ = ["Tickerplant"]


class Tickerplant:
    """A running server: a simulated market behind one listener per market."""

    def __init__(self, config: ServerConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        now_ms = self.clock.now_ms()
        self.instruments = {market: catalogue(market, now_ms) for market in Market}
        self.bus = LocalBus()
        self.plants = {
            market: Plant(market, insts, now_ms=now_ms)
            for market, insts in self.instruments.items()
        }
        sim = config.simulator
        self.simulator = Simulator(
            [inst for insts in self.instruments.values() for inst in insts],
            seed=sim.seed,
            actions_per_s=sim.actions_per_s or 0.0,
            start_ms=now_ms,
        )
        self.listeners = {
            market: Listener(
                market,
                {inst.symbol: inst for inst in insts},
                self.bus,
                self.clock,
                config,
            )
            for market, insts in self.instruments.items()
        }
        self.pump = SimulatorPump(self.simulator, self.plants, self.bus, self.clock, sim)
        self._pump_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        now_ms = self.clock.now_ms()
        history = self.simulator.warm_history(now_ms)
        for market, plant in self.plants.items():
            past = [t for t in history if t.symbol in plant.symbols]
            plant.warm(past)
            # The gateways' market views build their klines over the same past.
            self.bus.publish(market, plant.history(past))
            current: list[StreamMessage] = []
            plant.snapshot(now_ms, current)
            self.bus.publish(market, current)
        self.pump.dispatch(self.simulator.initial_updates(now_ms), now_ms)
        config = self.config
        await self.listeners[Market.UM].start(config.host, config.um_port)
        await self.listeners[Market.CM].start(config.host, config.cm_port)
        self._pump_task = asyncio.get_running_loop().create_task(self.pump.run())

    def url(self, market: Market) -> str:
        return f"ws://{self.config.host}:{self.listeners[market].port}"

    async def close(self) -> None:
        if self._pump_task is not None:
            self._pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump_task
        for listener in self.listeners.values():
            await listener.close()
