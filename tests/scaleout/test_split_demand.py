"""The demand over the bus, in this process on a ManualClock and a real nats-server: a plant
behind the bus writes a client-facing payload only for the streams some gateway's client
holds, as each gateway announces them (``scaleout/gateway_demand.py``, ``plant_demand.py``);
a starting plant asks and every gateway answers at once; a restarted plant learns the
gateways' streams; and what comes on the demand's subject that is not a gateway's
announcement is counted, logged and dropped, the plant writing on."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import msgspec
import nats
import pytest
import websockets
from nats.aio.msg import Msg
from nats_servers import nats_url
from scaleout_setup import start_split, started, taken, until_depth_at
from timing import SECONDS, eventually

from tickerplant.bus.demand import MOST_NAMES, decode_announcement, encode_announcement
from tickerplant.bus.frames import BUS_VERSION, decode_frame
from tickerplant.bus.nats import NatsBus
from tickerplant.clock import ManualClock
from tickerplant.config import ServerConfig, SimulatorConfig
from tickerplant.market.demand import MOST_ANNOUNCERS, MOST_UNKNOWN
from tickerplant.market.instruments import Market
from tickerplant.protocol.streams import StreamKind, parse
from tickerplant.scaleout.plant_process import PlantProcess

pytestmark = pytest.mark.loopback
__all__ = ["nats_url", "started"]  # the fixtures: a real nats-server, what the test started

CONFIG = ServerConfig(
    um_port=0, cm_port=0, admin_port=0,
    simulator=SimulatorConfig(actions_per_s=20_000.0, history_s=60.0, book_levels=20, steady_rate=True),
)  # fmt: skip
DEPTH = "btcusdt@depth@100ms"
KLINE = "btcusdt@kline_1m"
# what a plant writes whoever holds it: the streams the views read (market/demand.py)
VIEWED = {StreamKind.BOOK_TICKER, StreamKind.AGG_TRADE, StreamKind.TICKER}


def _client_facing(name: str) -> bool:
    """A stream a client may name that the views do not read: written only for a holder.
    (The internal streams, ``@depthDiff`` and the like, are no stream names at all.)"""
    parsed = parse(name)
    return parsed is not None and parsed.kind not in VIEWED


class Watcher:
    """A subscriber of the plant's USDⓈ-M frames of its own: the client-facing streams
    written, and the latest bookTicker's time (how far the plant has published)."""

    def __init__(self) -> None:
        self.written: list[str] = []
        self.latest_ms = 0

    def __call__(self, data: bytes) -> None:
        for message in decode_frame(data).messages:
            if _client_facing(message.stream):
                self.written.append(message.stream)
            elif message.stream == "btcusdt@bookTicker":
                self.latest_ms = max(self.latest_ms, json.loads(message.payload)["E"])

    async def until(self, when_ms: int) -> list[str]:
        """The client-facing streams written until the plant published at ``when_ms``,
        since the last call."""
        await eventually(lambda: self.latest_ms >= when_ms, 10 * SECONDS)
        written, self.written = self.written, []
        return written


async def _watch(nats_url: str, started: list[Any]) -> Watcher:
    watcher = Watcher()
    bus = await NatsBus.connect(nats_url, name="watcher")
    started.append(bus)
    await bus.on(bus.subject(Market.UM), watcher)
    return watcher


async def test_the_plant_writes_the_streams_the_gateways_clients_hold_and_no_other(
    nats_url: str, started: list[Any]
) -> None:
    clock = ManualClock()
    watcher = await _watch(nats_url, started)
    plant, (one, two) = await start_split(CONFIG, nats_url, clock, started, gateways=2)
    start = clock.now_ms() - clock.now_ms() % 100
    clock.set(start + 1000)  # a second of market that nobody takes a stream of
    assert await watcher.until(start + 1000) == []
    assert dict(plant.demand) == {}
    combined = f"/stream?streams={KLINE}/{DEPTH}"
    async with websockets.connect(one.url(Market.UM) + combined, max_queue=None) as first:
        await taken(plant, KLINE, DEPTH)
        frames: list[str] = []
        when = start + 1000
        while not any(json.loads(frame)["stream"] == KLINE for frame in frames):  # pushed every 250 ms
            assert when < start + 3000
            when += 100
            clock.set(when)
            await until_depth_at(first, when, frames, DEPTH)
        written = await watcher.until(when)
        assert set(written) == {KLINE, DEPTH}  # ETHUSDT's, the other intervals and depths: none
        async with websockets.connect(two.url(Market.UM) + f"/ws/{DEPTH}", max_queue=None) as second:
            await eventually(lambda: dict(plant.demand) == {KLINE: 1, DEPTH: 2})  # two gateways hold it
            await first.close()
            await eventually(lambda: KLINE not in plant.demand)
            assert dict(plant.demand) == {DEPTH: 1}
            await watcher.until(clock.now_ms())
            clock.set(when + 500)
            await until_depth_at(second, when + 500, [])
            assert set(await watcher.until(when + 500)) == {DEPTH}
    await eventually(lambda: not plant.demand)
    clock.set(when + 1000)
    await watcher.until(when + 1000)
    clock.set(when + 1500)
    assert await watcher.until(when + 1500) == []


async def test_a_starting_plant_asks_and_every_gateway_answers_at_once(
    nats_url: str, started: list[Any]
) -> None:
    """The clock never moves: the answers are no gateway's heartbeat."""
    listener = await nats.connect(nats_url)
    asked: list[bytes] = []
    announced: list[Any] = []

    async def ask(msg: Msg) -> None:
        asked.append(msg.data)

    async def announcement(msg: Msg) -> None:
        announced.append(decode_announcement(msg.data))

    try:
        await listener.subscribe("tp.demand.ask", cb=ask)
        await listener.subscribe("tp.demand", cb=announcement)
        await listener.flush()
        clock = ManualClock()
        plant, gateways = await start_split(CONFIG, nats_url, clock, started, gateways=2)
        assert asked == [b""]  # the plant's, as it started
        async with websockets.connect(gateways[0].url(Market.UM) + f"/ws/{DEPTH}", max_queue=None):
            await taken(plant, DEPTH)
            announced.clear()
            await listener.publish("tp.demand.ask", b"")
            ids = {gateway.demand.gateway: gateway for gateway in gateways}
            await eventually(lambda: {a.gateway for a in announced} == set(ids))
        by_gateway = {ids[a.gateway]: a.names for a in announced}
        assert by_gateway == {gateways[0]: [DEPTH], gateways[1]: []}
    finally:
        await listener.close()


async def test_a_restarted_plant_learns_the_gateways_streams_and_their_clients_get_them_again(
    nats_url: str, started: list[Any]
) -> None:
    clock = ManualClock()
    plant, (gateway,) = await start_split(CONFIG, nats_url, clock, started)
    start = clock.now_ms() - clock.now_ms() % 100
    url = gateway.url(Market.UM) + f"/ws/{DEPTH}"
    async with websockets.connect(url, max_queue=None) as ws:
        await taken(plant, DEPTH)
        clock.set(start + 100)
        await until_depth_at(ws, start + 100, [])
        await plant.close()
        again = PlantProcess(CONFIG, await NatsBus.connect(nats_url, name="plant again"), clock)
        started.append(again)
        await again.start()
        with pytest.raises(websockets.ConnectionClosed):  # the gateway saw a new run: 1012
            async with asyncio.timeout(10 * SECONDS):
                while True:
                    await ws.recv()
    async with websockets.connect(url, max_queue=None) as ws:
        await taken(again, DEPTH)
        assert dict(again.demand) == {DEPTH: 1}
        clock.set(start + 200)
        await until_depth_at(ws, start + 200, [])


async def test_what_is_no_announcement_is_counted_logged_and_dropped_and_the_plant_writes_on(
    nats_url: str, started: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock()
    plant, (gateway,) = await start_split(CONFIG, nats_url, clock, started)
    start = clock.now_ms() - clock.now_ms() % 100
    takers = plant.takers
    assert takers is not None
    forged = [
        b"\x00garbage",
        msgspec.msgpack.encode([BUS_VERSION + 1, 7, [KLINE]]),  # another release's
        msgspec.msgpack.encode([BUS_VERSION, 7, [KLINE] * (MOST_NAMES + 1)]),  # oversized
        msgspec.msgpack.encode([BUS_VERSION, 7, ["x" * 1000]]),  # a name over its bound
        msgspec.msgpack.encode({"gateway": 7, "names": [KLINE]}),
    ]
    caplog.set_level(logging.WARNING, logger="tickerplant.plant")
    async with websockets.connect(gateway.url(Market.UM) + f"/ws/{DEPTH}", max_queue=None) as ws:
        await taken(plant, DEPTH)
        forger = await nats.connect(nats_url)
        try:
            for data in forged:
                await forger.publish("tp.demand", data)
            # readable, but no stream of the listing: dropped name by name
            await forger.publish("tp.demand", encode_announcement(8, ["nosuch@trade", "BTCUSDT@kline_1m"]))
            # more names that are no stream than a plant looks up: refused whole
            await forger.publish("tp.demand", encode_announcement(9, [f"no{i}@trade" for i in range(MOST_UNKNOWN + 1)]))
            # more gateways than a plant keeps: the ones past the bound are refused
            for fake in range(100, 100 + MOST_ANNOUNCERS):
                await forger.publish("tp.demand", encode_announcement(fake, [KLINE]))
            await forger.flush()
        finally:
            await forger.close()
        refused = 1 + 2  # fake 9's; the gateway and fake 8 are kept: two of the fakes are past the bound
        await eventually(lambda: takers.rejected == len(forged) + refused, 10 * SECONDS)
        assert takers.announcements.dropped == 2 + MOST_UNKNOWN + 1
        assert len(takers.announcements.announcers) == MOST_ANNOUNCERS
        assert set(plant.demand) == {DEPTH, KLINE}
        said = [r.getMessage() for r in caplog.records if r.name == "tickerplant.plant"]
        assert any("bytes on tp.demand dropped: not a demand announcement" in line for line in said)
        clock.set(start + 100)
        await until_depth_at(ws, start + 100, [])  # the plant writes on
    assert plant.connected() and not plant.done.is_set()
