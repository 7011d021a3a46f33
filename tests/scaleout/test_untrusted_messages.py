"""What reaches a gateway over the bus is validated before it is used: a frame that is not
one of this version's is counted and dropped (its clients never notice), and a state that
does not load is counted, logged and asked for again with a growing wait, the market held
meanwhile and served again once a state loads. Nothing is unpickled."""

from __future__ import annotations

import asyncio
import logging
import pickle
from pathlib import Path
from typing import Any

import msgspec
import nats
import pytest
import websockets
from nats_servers import nats_url
from pickles import Ran
from scaleout_setup import start_split, started, until_depth_at
from timing import SECONDS, eventually

from tickerplant.bus import StreamMessage
from tickerplant.bus.frames import BUS_VERSION
from tickerplant.bus.listing import Listing, encode_listing
from tickerplant.bus.nats import NatsBus
from tickerplant.clock import ManualClock
from tickerplant.config import ServerConfig, SimulatorConfig
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.plant.view import MarketView
from tickerplant.scaleout.gateway_process import STATE_RETRY_MS, GatewayProcess
from tickerplant.scaleout.view_state import capture

pytestmark = pytest.mark.loopback
__all__ = ["nats_url", "started"]  # the fixtures: a real nats-server, what the test started

CONFIG = ServerConfig(
    um_port=0, cm_port=0, admin_port=0, simulator=SimulatorConfig(actions_per_s=20_000.0, history_s=60.0, book_levels=20, steady_rate=True)
)
DEPTH = "btcusdt@depth@100ms"


async def test_frames_that_do_not_validate_are_counted_and_dropped_and_nobody_is_closed(
    nats_url: str, started: list[Any], tmp_path: Path
) -> None:
    clock = ManualClock()
    _, (gateway,) = await start_split(CONFIG, nats_url, clock, started)
    start = clock.now_ms() - clock.now_ms() % 100
    forged = [
        b"\x00garbage",
        msgspec.msgpack.encode([BUS_VERSION + 1, 1, 1, [], None]),  # another release's
        pickle.dumps(Ran(tmp_path / "ran")),
    ]
    async with websockets.connect(gateway.url(Market.UM) + f"/ws/{DEPTH}", max_queue=None) as ws:
        clock.set(start + 100)
        await until_depth_at(ws, start + 100, [])
        forger = await nats.connect(nats_url)
        try:
            for data in forged:
                await forger.publish(gateway.bus.subject(Market.UM), data)
            await forger.flush()
        finally:
            await forger.close()
        await eventually(lambda: gateway.bus_counts[Market.UM].rejected == len(forged), 10 * SECONDS)
        clock.set(start + 200)
        await until_depth_at(ws, start + 200, [])  # the stream goes on
    assert (gateway.losses, gateway.bus_counts[Market.UM].gaps) == (0, 0)
    assert not (tmp_path / "ran").exists()


async def test_a_state_that_does_not_load_is_asked_for_again_later_and_the_market_then_serves(
    nats_url: str, started: list[Any], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A "plant" of the test's own, on a real bus: its first two answers for USDⓈ-M are a
    pickle and another version's state, then its view's."""
    clock = ManualClock()
    instruments = {market: catalogue(market, clock.now_ms()) for market in Market}
    views = {market: MarketView(market, insts) for market, insts in instruments.items()}
    bad = [pickle.dumps(Ran(tmp_path / "ran")), msgspec.msgpack.encode([BUS_VERSION + 1, "um", {}])]
    asked: list[Market] = []

    def answer(market: Market) -> bytes:
        asked.append(market)
        return bad.pop(0) if market is Market.UM and bad else capture(views[market])

    plant = await NatsBus.connect(nats_url, name="plant")
    started.append(plant)
    for market in Market:
        await plant.answer_state(market, lambda market=market: answer(market))  # type: ignore[misc]
    await plant.answer_listing(encode_listing(Listing(BUS_VERSION, instruments)))
    gateway = GatewayProcess(CONFIG, await NatsBus.connect(nats_url, name="gateway"), clock)
    started.append(gateway)
    starting = asyncio.ensure_future(gateway.start())
    waits: list[float] = []
    with caplog.at_level(logging.ERROR, "tickerplant.gateway"):
        async with asyncio.timeout(10 * SECONDS):
            while not starting.done():  # the gateway waits on the clock between attempts
                due = clock.next_due_ms
                if due is not None and due > clock.now_ms():
                    waits.append(due - clock.now_ms())
                    clock.set(int(due))
                await asyncio.sleep(0)
    await starting  # it serves once the third answer loaded
    assert waits == [STATE_RETRY_MS, 2 * STATE_RETRY_MS]
    assert asked.count(Market.UM) == 3 and asked.count(Market.CM) == 1
    assert gateway.bus_counts[Market.UM].state_failures == 2
    assert gateway.bus_counts[Market.CM].state_failures == 0
    said = [record.getMessage() for record in caplog.records]
    assert any("um: the plant's state did not load (not a view state" in line for line in said)
    assert any(f"view state of bus version {BUS_VERSION + 1}" in line for line in said)
    assert not (tmp_path / "ran").exists()
    # the market flows: a message the plant publishes reaches a client
    async with websockets.connect(gateway.url(Market.UM) + "/ws/btcusdt@trade") as ws:
        await eventually(lambda: any(gateway.listeners[Market.UM].streams.connections), 5 * SECONDS)  # type: ignore[union-attr]
        payload = b'{"e":"trade","E":1,"s":"BTCUSDT"}'
        plant.publish(Market.UM, [StreamMessage("btcusdt@trade", payload)])
        async with asyncio.timeout(10 * SECONDS):
            assert (await ws.recv()).encode() == payload
