"""COIN-M's mark-price and index-price kline streams over real sockets (spec §3.5): on a
manual clock a minute's candles are pushed on the 250 ms cadence while they change, close
with `"x":true`, and the mark price's closed minute is the row REST markPriceKlines answers;
on USDⓈ-M the names are acknowledged and silent."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from conftest import StartServer
from local_book import get
from timing import SECONDS, eventually

from tickerplant.clock import ManualClock
from tickerplant.feeds.simulator.pump import SimulatedMarket
from tickerplant.market.instruments import Market

# the price klines pushed, not how the listener moves them:
# on uvloop alone (tests/conftest.py); the listeners' and the client's own tests cover both loops
pytestmark = pytest.mark.uvloop_only

T0 = 1_767_225_600_000  # 2026-01-01T00:00Z
MINUTE = 60_000
QUIET = {"actions_per_s": 200.0, "history_s": 60.0}


async def _advance(plant: Any, clock: ManualClock, steps: int) -> None:
    """Move the clock 250 ms at a time, each step once the source has run through it."""
    source = plant.source
    assert isinstance(source, SimulatedMarket)
    for _ in range(steps):
        before = source.updates_processed
        clock.advance(250 - clock.now_ms() % 250)
        await eventually(lambda before=before: source.updates_processed > before)  # type: ignore[misc]


async def test_a_minute_of_mark_and_index_candles_pushed_closed_and_answered(start_server: StartServer) -> None:
    clock = ManualClock(T0 + MINUTE - 2000)  # 2 s before the minute closes
    plant = await start_server(clock=clock, simulator=QUIET)
    mark, index = "btcusd_perp@markPriceKline_1m", "btcusd@indexPriceKline_1m"
    pushed: dict[str, list[dict[str, Any]]] = {mark: [], index: []}
    async with websockets.connect(f"{plant.url(Market.CM)}/stream?streams={mark}/{index}", max_queue=None) as ws:
        await _advance(plant, clock, 10)  # 2.5 s: past the close
        async with asyncio.timeout(5 * SECONDS):
            while not all(any(k["k"]["x"] for k in pushed[name]) for name in pushed):
                message = json.loads(await ws.recv())
                pushed[message["stream"]].append(message["data"])

    for name, event, symbol in ((mark, "markPrice_kline", "BTCUSD_PERP"), (index, "indexPrice_kline", "0")):
        candles = pushed[name]
        assert all(k["E"] % 250 == 0 for k in candles), "on the 250 ms cadence"
        assert [k for k in candles if not k["k"]["x"]], "the open minute was pushed before it closed"
        [final] = [k for k in candles if k["k"]["x"]]
        k = final["k"]
        assert (final["e"], final["ps"], k["s"], k["i"], k["t"], k["T"]) == (event, "BTCUSD", symbol, "1m", T0, T0 + MINUTE - 1)
        assert T0 + MINUTE <= final["E"] <= T0 + MINUTE + 250, "at the first tick past the close"
        assert k["n"] >= 1 and T0 <= k["f"] <= k["L"] < T0 + MINUTE
        assert (k["v"], k["q"], k["V"], k["Q"], k["B"]) == ("0", "0", "0", "0", "0")

    # the closed minute of the mark price is REST's row of the same samples (§7.8)
    k = next(c["k"] for c in pushed[mark] if c["k"]["x"])
    query = f"symbol=BTCUSD_PERP&interval=1m&startTime={T0}&endTime={T0 + MINUTE - 1}&limit=1"  # COIN-M: §7.8
    _, rows = await get(plant, f"/dapi/v1/markPriceKlines?{query}", Market.CM)
    [row] = rows
    assert (row[0], row[6], row[8]) == (k["t"], k["T"], k["n"])
    assert [float(v) for v in row[1:5]] == [float(k[key]) for key in ("o", "h", "l", "c")]


async def test_usds_m_acknowledges_them_and_sends_nothing(start_server: StartServer) -> None:
    clock = ManualClock(T0 + MINUTE - 2000)
    plant = await start_server(clock=clock, simulator=QUIET)
    names = ["btcusdt@markPriceKline_1m", "btcusdt@indexPriceKline_1m", "btcusdt@markPrice@1s"]
    async with websockets.connect(f"{plant.url(Market.UM)}/market/stream", max_queue=None) as ws:
        await ws.send(json.dumps({"method": "SUBSCRIBE", "params": names, "id": 1}))
        assert json.loads(await ws.recv()) == {"result": None, "id": 1}
        await _advance(plant, clock, 10)
        seen: set[str] = set()
        async with asyncio.timeout(5 * SECONDS):
            # the mark price delivers; a price kline of the same sample would have come first
            # (the plant pushes the klines due before the mark prices of the same tick)
            while "btcusdt@markPrice@1s" not in seen:
                seen.add(json.loads(await ws.recv())["stream"])
    assert seen == {"btcusdt@markPrice@1s"}


async def test_usds_m_premium_index_klines_are_pushed_closed_and_answered_by_rest(start_server: StartServer) -> None:
    """`pBTCUSDT@kline_1m` (undocumented; Binance's web front end and client libraries use
    it): the premium index's minute over a real socket, its closed candle the row REST
    premiumIndexKlines answers from the same samples (§7.8)."""
    clock = ManualClock(T0 + MINUTE - 2000)
    plant = await start_server(clock=clock, simulator=QUIET)
    name = "pBTCUSDT@kline_1m"
    candles: list[dict[str, Any]] = []
    async with websockets.connect(f"{plant.url(Market.UM)}/ws/{name}", max_queue=None) as ws:
        await _advance(plant, clock, 10)  # 2.5 s: past the close
        async with asyncio.timeout(5 * SECONDS):
            while not any(c["k"]["x"] for c in candles):
                candles.append(json.loads(await ws.recv()))
    [final] = [c for c in candles if c["k"]["x"]]
    k = final["k"]
    assert (final["e"], final["s"], k["s"], k["i"], k["t"], k["T"]) == ("kline", "pBTCUSDT", "pBTCUSDT", "1m", T0, T0 + MINUTE - 1)
    assert (k["v"], k["q"], k["V"], k["Q"], k["B"]) == ("0", "0", "0", "0", "0") and k["n"] >= 1
    query = f"symbol=BTCUSDT&interval=1m&startTime={T0}&limit=1"
    _, rows = await get(plant, f"/fapi/v1/premiumIndexKlines?{query}", Market.UM)
    [row] = rows
    assert (row[0], row[6], row[8]) == (k["t"], k["T"], k["n"])
    assert row[1:5] == [k[key] for key in ("o", "h", "l", "c")]  # the same samples, the same text
