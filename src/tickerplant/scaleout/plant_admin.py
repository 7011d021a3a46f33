"""The plant process' admin listener (`tickerplant plant --admin-port P`): the source's side.

The plant serves no client, so its ``/metrics`` are the source's and the plants': the
messages published per market, the simulator's actions, a replay's progress, the book
gauges from the plant's own views (``PlantProcess.views``), the venue's orders, fills and
refusals (its engines are the plant's: ``scaleout/plant_venue.py``), the fault profile's
faults it decided (``scaleout/plant_faults.py``), the gateways whose streams it follows
and their announcements taken and dropped (``scaleout/plant_demand.py``) and the process;
its ``/api/status`` says
the source, its start and a replay's status, and those faults, with no listeners;
and it takes the replay controls, which ``serve --workers N``'s admin listener forwards
to it.
"""

from __future__ import annotations

import functools
from typing import Any

from prometheus_client import CollectorRegistry, ProcessCollector

from tickerplant.admin.accounts import AccountsApi
from tickerplant.admin.metrics import ServerCollector
from tickerplant.admin.server import AdminServer
from tickerplant.admin.status import fault_rows
from tickerplant.clock import Clock
from tickerplant.faults.record import FaultRecord
from tickerplant.feeds.relay.relay import RelaySource
from tickerplant.feeds.replay.controls import control, set_speed
from tickerplant.feeds.replay.player import ReplaySource
from tickerplant.feeds.simulator.pump import SimulatedMarket
from tickerplant.market.instruments import Market
from tickerplant.scaleout.plant_process import PlantProcess
from tickerplant.venue.wire.administration import trading_view

__all__ = ["PlantAdmin"]


class PlantAdmin:
    """The ``AdminTarget`` of a started ``PlantProcess``, and its admin listener."""

    def __init__(self, plant: PlantProcess, clock: Clock) -> None:
        self.plant = plant
        self.clock = clock
        self.started_ms = clock.now_ms()
        self.registry = CollectorRegistry()
        relay = plant.source if isinstance(plant.source, RelaySource) else None
        collector = ServerCollector(
            {}, plant.bus.published, self._replay_status, self._simulator_actions, views=plant.views,
            bus_up=plant.connected, user_data=plant.venue.user_data, faults=self._fault_records(),
            relay_unreadable=relay.unreadable_counts if relay is not None else None, demand=self._demand,
        )  # fmt: skip
        self.registry.register(collector)
        ProcessCollector(registry=self.registry)  # process_resident_memory_bytes, process_open_fds, …
        self.admin: AdminServer | None = None

    async def start(self, host: str, port: int, *, reuse_port: bool = False, token: str = "") -> str:
        """Serve the admin listener; its base URL."""
        # the venue's accounts, with what the plant's engines hold of each (the supervisor asks)
        trading = functools.partial(trading_view, self.plant.venue.engines)
        self.admin = AdminServer(self, accounts=AccountsApi(self.plant.config.venue_db, self.clock, trading))
        await self.admin.start(host, port, reuse_port=reuse_port, token=token)
        return f"http://{host}:{self.admin.port}"

    async def close(self) -> None:
        if self.admin is not None:
            await self.admin.close()

    def _demand(self) -> tuple[int, int, int]:
        """The gateways whose streams the plant follows, their announcements taken and dropped."""
        takers = self.plant.takers
        return (0, 0, 0) if takers is None else takers.counts()

    def _fault_records(self) -> dict[Market, FaultRecord]:
        """The fault profile's records: the plant decides all but the market faults
        (``scaleout/plant_faults.py``), which the gateways count."""
        return {market: gate.decider.record for market, gate in self.plant.venue.faults.items()}

    def _source_kind(self) -> str:
        source = self.plant.source
        if isinstance(source, ReplaySource):
            return "replay"
        return "relay" if isinstance(source, RelaySource) else "simulator"

    def _replay_status(self) -> dict[str, Any] | None:
        source = self.plant.source
        return source.status() if isinstance(source, ReplaySource) else None

    def _simulator_actions(self) -> int | None:
        source = self.plant.source
        if isinstance(source, SimulatedMarket) and source.simulator is not None:
            return source.simulator.action_count
        return None

    def status(self) -> dict[str, Any]:
        plant, records = self.plant, self._fault_records()
        return {
            "source": self._source_kind(),
            "startedMs": self.started_ms,
            "serverTimeMs": self.clock.now_ms(),
            "finished": plant.done.is_set(),
            "finishReason": plant.finish_reason,
            "listeners": {},  # the gateways' (their own admin listeners, or serve --workers')
            "recentCloses": [],
            "replay": self._replay_status(),
            "degraded": [] if plant.connected() else ["the NATS server is away"],
            # the faults it decided, newest first, which serve --workers lists with the
            # gateways' market faults under each market's listener (admin/merged.py)
            **({"faults": {m.value: fault_rows(r) for m, r in records.items()}} if records else {}),
        }

    def replay_control(self, action: str) -> dict[str, Any] | None:
        return control(self.plant.source, action)

    def replay_speed(self, speed: float | None) -> dict[str, Any] | None:
        return set_speed(self.plant.source, speed)
