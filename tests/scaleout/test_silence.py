"""A market never stays silently frozen: the plant sends every market a frame each second
even when its source is quiet (a paused replay), so a gateway tells a quiet market from a
plant it no longer hears; one that hears nothing for ten looks a second apart closes the
market's streams with 1012, reports itself degraded (status and metrics) and is live again
once frames come back."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest
import websockets
from nats_servers import nats_url
from prometheus_client import generate_latest
from public_data import T0, UM_TRADES_HEADER, trades, trades_lines, write
from scaleout_setup import start_split, started
from timing import SECONDS, eventually

from tickerplant.bus.liveness import LOOK_MS, SILENT_LOOKS
from tickerplant.bus.nats import NatsBus
from tickerplant.clock import ManualClock
from tickerplant.config import ReplayConfig, ServerConfig
from tickerplant.market.instruments import Market
from tickerplant.scaleout.gateway_process import SILENT_REASON
from tickerplant.scaleout.plant_process import PlantProcess

pytestmark = pytest.mark.loopback
__all__ = ["nats_url", "started"]  # the fixtures: a real nats-server, what the test started


def _paused_replay(folder: Path) -> ServerConfig:
    rows = trades(random.Random(5), 200, T0, 42000.0, "0.1", "0.001")
    write(folder, "BTCUSDT-trades-2024-01-01", UM_TRADES_HEADER, trades_lines(rows), zipped=False)
    return ServerConfig(um_port=0, cm_port=0, admin_port=0, replay=ReplayConfig(paths=(str(folder),), paused=True))


async def test_a_quiet_market_is_not_silence_and_a_plant_gone_quiet_is(
    nats_url: str, started: list[Any], tmp_path: Path
) -> None:
    config = _paused_replay(tmp_path)
    clock = ManualClock(T0)
    plant, (gateway,) = await start_split(config, nats_url, clock, started)
    bus, liveness = gateway.bus, gateway.liveness

    async def look(heard: bool) -> None:
        """A second passes; the plant's heartbeat is heard (or not), then the gateway looks."""
        before, looks = dict(bus.delivered), liveness.looks
        clock.advance(LOOK_MS)
        if heard:
            await eventually(lambda: all(bus.delivered[m] > before[m] for m in Market), 5 * SECONDS)
        await eventually(lambda: liveness.looks == looks + 1, 5 * SECONDS)

    for _ in range(3 * SILENT_LOOKS):  # half a minute of a paused replay: nothing but heartbeats
        await look(heard=True)
    assert gateway.degraded() == [] and [c.silences for c in gateway.bus_counts.values()] == [0, 0]
    assert all(counts.up for counts in gateway.bus_counts.values())

    async with websockets.connect(gateway.url(Market.UM) + "/ws/btcusdt@aggTrade") as client:
        await eventually(lambda: bool(gateway.listeners[Market.UM].streams.connections), 5 * SECONDS)  # type: ignore[union-attr]
        await plant.close()  # the plant is gone: nothing more comes
        started.remove(plant)
        for _ in range(SILENT_LOOKS - 1):
            await look(heard=False)
        assert client.close_code is None and not liveness.silent  # nine seconds: not yet
        await look(heard=False)
        if not liveness.silent:  # the plant's last frame came after the look before the close
            await look(heard=False)
        assert liveness.silent == set(Market)
        async with asyncio.timeout(5 * SECONDS):
            with pytest.raises(websockets.ConnectionClosed):
                await client.recv()
        assert (client.close_code, client.close_reason) == (1012, SILENT_REASON)
    assert gateway.degraded() == [f"um: {SILENT_REASON}", f"cm: {SILENT_REASON}"]
    assert gateway.status()["degraded"] == gateway.degraded()
    assert [(c.silences, c.up) for c in gateway.bus_counts.values()] == [(1, False), (1, False)]
    metrics = generate_latest(gateway.registry).decode()
    assert 'tickerplant_bus_up{market="um"} 0.0' in metrics
    assert 'tickerplant_bus_silences_total{market="um"} 1.0' in metrics

    # a plant again: its frames come, the gateway loads its state and is live
    again = PlantProcess(config, await NatsBus.connect(nats_url, name="plant again"), clock)
    started.append(again)
    await again.start()
    await look(heard=True)  # its first heartbeats, delivered once the gateway loaded its state
    await look(heard=False)  # … and looked at
    assert gateway.degraded() == [] and all(counts.up for counts in gateway.bus_counts.values())
    assert gateway.bus_counts[Market.UM].plant_restarts == 1
