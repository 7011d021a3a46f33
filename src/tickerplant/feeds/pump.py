"""The asyncio shell around a simulated market: advance the simulator, run the plants,
publish their messages on the bus. All decisions live in the cores it calls."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from tickerplant.bus import Bus
from tickerplant.clock import Clock
from tickerplant.config import SimulatorConfig
from tickerplant.feeds.simulator import Simulator
from tickerplant.market.instruments import Market
from tickerplant.market.plant import Plant, StreamMessage
from tickerplant.market.updates import MarketUpdate

__all__ = ["SimulatorPump"]


class SimulatorPump:
    def __init__(
        self,
        simulator: Simulator,
        plants: Mapping[Market, Plant],
        bus: Bus,
        clock: Clock,
        config: SimulatorConfig,
    ) -> None:
        self._simulator = simulator
        self._plants = plants
        self._bus = bus
        self._clock = clock
        self._config = config
        self._plant_of = {
            symbol: plant for plant in plants.values() for symbol in plant.symbols
        }
        self.updates_processed = 0

    async def run(self) -> None:
        config = self._config
        clock = self._clock
        simulator = self._simulator
        if config.actions_per_s is None:
            while True:
                now_ms = clock.now_ms()
                self.dispatch(simulator.step(config.batch_actions, now_ms), now_ms)
                await asyncio.sleep(0)  # let the gateways flush and read
        while True:
            await asyncio.sleep(config.tick_interval_s)
            now_ms = clock.now_ms()
            self.dispatch(simulator.advance(now_ms), now_ms)

    def dispatch(self, updates: Sequence[MarketUpdate], now_ms: int) -> None:
        outs: dict[Market, list[StreamMessage]] = {market: [] for market in self._plants}
        plant_of = self._plant_of
        for update in updates:
            plant = plant_of[update.symbol]
            plant.apply(update, now_ms, outs[plant.market])
        self.updates_processed += len(updates)
        for market, plant in self._plants.items():
            out = outs[market]
            plant.end_batch(now_ms, out)
            if now_ms >= plant.next_tick_ms:
                plant.tick(now_ms, out)
            self._bus.publish(market, out)
