"""The fault profile on the market streams over a real socket, the simulated market driven
on a manual clock (docs/faults.md): a diff depth chain broken (``pu`` is not the last
``u``), a symbol's streams stalled for two seconds then resumed, another's from a moment
to the end (no ``for_s``), every connection closed as at its 24th hour, brought forward,
then cut without a close frame."""

from __future__ import annotations

import asyncio
from itertools import pairwise

import msgspec
from conftest import StartServer
from driven_clock import driven
from rawws import TEXT, RawWebSocket, close_code
from timing import SECONDS

from tickerplant.clock import ManualClock, SystemClock
from tickerplant.faults.profile import FaultKind
from tickerplant.market.instruments import Market

CLOSE = 0x8
PROFILE = """
[[fault]]
kind = "depth-break"
rate = 0.2
symbols = ["BTCUSDT"]

[[fault]]
kind = "market-stall"
at = "+2s"
for_s = 2
symbols = ["ETHUSDT"]

[[fault]]
kind = "market-stall"
at = "+3s"
symbols = ["BNBUSDT"]

[[fault]]
kind = "rollover"
at = "+5s"

[[fault]]
kind = "market-reset"
at = "+7s"
"""
# ETHUSDT's continuous klines are its stream too, named after its pair and contract type
STREAMS = "btcusdt@depth@100ms/ethusdt@depth@100ms/bnbusdt@depth@100ms/ethusdt_perpetual@continuousKline_1m"


async def frames_until_closed(user: RawWebSocket) -> tuple[list[dict[str, object]], int | None]:
    """The stream's messages, and the opcode that ended it (CLOSE), or None: cut."""
    seen = []
    async with asyncio.timeout(30 * SECONDS):
        while True:
            try:
                frame = await user.recv()
            except asyncio.IncompleteReadError:
                return seen, None
            if frame.opcode == CLOSE:
                assert close_code(frame) == (1001, "Connection reached its maximum age")
                return seen, CLOSE
            if frame.opcode == TEXT:
                seen.append(msgspec.json.decode(frame.payload))


async def test_market_stream_faults(start_server: StartServer) -> None:
    clock = ManualClock(SystemClock().now_ms())
    plant = await start_server(clock=clock, faults={"profile_text": PROFILE})
    start_ms = clock.now_ms()
    port = plant.listeners[Market.UM].port
    first = await RawWebSocket.connect(port, f"/stream?streams={STREAMS}")
    async with driven(plant, clock):
        seen, ended = await frames_until_closed(first)
        assert ended == CLOSE and clock.now_ms() >= start_ms + 5_000  # the rollover, brought forward
        second = await RawWebSocket.connect(port, f"/stream?streams={STREAMS}")
        again, cut = await frames_until_closed(second)
    assert cut is None and again  # cut at +7 s without a close frame
    btc = [m["data"] for m in seen if m["stream"] == "btcusdt@depth@100ms"]
    assert any(after["pu"] != before["u"] for before, after in pairwise(btc))  # a client must resync (§4.9)
    eth = [m["data"] for m in seen if m["stream"] == "ethusdt@depth@100ms"]
    gaps = sorted(after["E"] - before["E"] for before, after in pairwise(eth))
    assert gaps[-1] >= 2_000 > gaps[-2]  # one silence of the stall's length, then on
    assert sum(after["pu"] != before["u"] for before, after in pairwise(eth)) == 1  # what the stall lost
    continuous = [m["data"]["E"] for m in seen if m["stream"] == "ethusdt_perpetual@continuousKline_1m"]
    assert continuous and max(continuous) > start_ms + 4_000  # on again after the stall
    assert not [e for e in continuous if start_ms + 2_100 <= e < start_ms + 3_900]  # silent through it
    bnb = [m["data"]["E"] for m in seen if m["stream"] == "bnbusdt@depth@100ms"]
    assert bnb and max(bnb) < start_ms + 3_000  # stalled from +3 s to the end: nothing since
    assert not [m for m in again if m["stream"] == "bnbusdt@depth@100ms"]
    # told where they struck: the stalls name USDⓈ-M symbols, the rollover and the reset none
    um, cm = (plant.listeners[m].faults for m in (Market.UM, Market.CM))
    assert um is not None and cm is not None
    assert FaultKind.MARKET_STALL not in cm.decider.record.counts and FaultKind.ROLLOVER in cm.decider.record.counts
    stalls = [f.symbol for f in um.decider.record.recent if f.kind is FaultKind.MARKET_STALL]
    assert stalls == ["ETHUSDT", "BNBUSDT"]
