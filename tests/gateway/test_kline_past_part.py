"""The kline streams of a candle that opened before the warm start's window (a week's, a
month's): pushed with the past's part in front, as REST's kline of the same candle has it
(``market/klines/past_parts.py``), both markets, kline and continuous kline, on a manual
clock; the part made a few pieces a tick, the candle's pushes held until it is whole."""

from __future__ import annotations

import json
from typing import Any

import pytest
import websockets
from conftest import StartServer
from local_book import get
from timing import eventually

from tickerplant.clock import ManualClock
from tickerplant.feeds.simulator.pump import SimulatedMarket
from tickerplant.market.instruments import Market

# the klines pushed and answered, not how the listener moves them: uvloop alone (conftest.py)
pytestmark = pytest.mark.uvloop_only

T0 = 1_768_392_000_000  # 2026-01-14T12:00Z, a Wednesday: its week and month opened days before
PREFIX = {Market.UM: "/fapi", Market.CM: "/dapi"}
SYMBOL = {Market.UM: ("BTCUSDT", "BTCUSDT"), Market.CM: ("BTCUSD_PERP", "BTCUSD")}
INTERVALS = ("1d", "3d", "1w", "1M")


# a window under a minute holds no whole minute: every candle open at the start lacks the past
@pytest.mark.parametrize(("market", "history_s"), [(Market.UM, 120.0), (Market.CM, 120.0), (Market.UM, 30.0)])
async def test_a_week_and_a_month_pushed_as_rest_answers_them(
    start_server: StartServer, market: Market, history_s: float
) -> None:
    clock = ManualClock(T0)
    plant = await start_server(clock=clock, simulator={"actions_per_s": 200.0, "history_s": history_s})
    source = plant.source
    assert isinstance(source, SimulatedMarket)
    symbol, pair = SYMBOL[market]
    names = [f"{symbol.lower()}@kline_{i}" for i in ("1h", *INTERVALS)] + [f"{pair.lower()}_perpetual@continuousKline_1w"]
    path = "/market/stream" if market is Market.UM else "/stream"  # COIN-M has no routed paths (§2.2)
    last: dict[str, dict[str, Any]] = {}
    async with websockets.connect(f"{plant.url(market)}{path}?streams={'/'.join(names)}", max_queue=None) as ws:
        for _ in range(40):  # 10 s of the market, 250 ms at a time: the month's part is made meanwhile
            before = source.updates_processed
            clock.advance(250 - clock.now_ms() % 250)
            await eventually(lambda before=before: source.updates_processed > before)  # type: ignore[misc]
        # a request's reply comes after every push made before it: then each stream's last push
        await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 9}))
        while "result" not in (message := json.loads(await ws.recv())):
            last[message["stream"]] = message["data"]
    assert sorted(last) == sorted(names), "every candle pushed, its past's part made meanwhile"

    # what traded after the last push (at most a tick's trades) is in REST's answer alone: the
    # same in every interval's candle, the hour's (wholly live: it opened at the start) too
    late: set[tuple[int, int, int]] = set()
    for interval in ("1h", *INTERVALS):
        k = last[f"{symbol.lower()}@kline_{interval}"]["k"]
        if interval != "1h":
            assert k["t"] < T0 - 120_000, f"{interval}: its candle opened before the warm start's window"
        query = f"symbol={symbol}&interval={interval}&limit=1"
        _, [row] = await get(plant, f"{PREFIX[market]}/v1/klines?{query}", market)
        assert row[:2] + row[6:7] == [k["t"], k["o"], k["T"]], f"{interval}: its open as REST's"
        assert float(row[2]) >= float(k["h"]) and float(row[3]) <= float(k["l"])
        units = [round((float(row[i]) - float(k[key])) * 10**8) for i, key in ((5, "v"), (10, "Q"))]
        late.add((row[8] - k["n"], *units))
        if interval in ("1h", "1d"):  # aggregates reach two days back (-4166 before)
            window = f"startTime={k['t']}&endTime={k['t'] + 3_599_999}&limit=1"
            _, trades = await get(plant, f"{PREFIX[market]}/v1/aggTrades?symbol={symbol}&{window}", market)
            assert trades[0]["f"] == k["f"], f"{interval}: its first trade is the interval's first"
    assert len(late) == 1, f"the stream's candles are REST's but for the same late trades: {late}"
    firsts = [last[f"{symbol.lower()}@kline_{interval}"]["k"]["f"] for interval in ("1M", "1w", "3d", "1d")]
    assert firsts == sorted(firsts) and firsts[0] < firsts[-1], "the longer the interval, the earlier its first trade"
    week = last[f"{symbol.lower()}@kline_1w"]["k"]
    continuous = last[f"{pair.lower()}_perpetual@continuousKline_1w"]["k"]
    assert continuous == {key: value for key, value in week.items() if key != "s"}
    month = last[f"{symbol.lower()}@kline_1M"]["k"]
    assert float(month["v"]) > float(week["v"]) > float(last[f"{symbol.lower()}@kline_1d"]["k"]["v"])


PRICE_STREAMS = {  # stream: (market, REST path, wholly live: the hour opened at the start)
    "btcusd_perp@markPriceKline_1w": (Market.CM, "/dapi/v1/markPriceKlines?symbol=BTCUSD_PERP&interval=1w"),
    "btcusd_perp@markPriceKline_1h": (Market.CM, "/dapi/v1/markPriceKlines?symbol=BTCUSD_PERP&interval=1h"),
    "btcusd@indexPriceKline_1M": (Market.CM, "/dapi/v1/indexPriceKlines?pair=BTCUSD&interval=1M"),
    "btcusd@indexPriceKline_1h": (Market.CM, "/dapi/v1/indexPriceKlines?pair=BTCUSD&interval=1h"),
    "pBTCUSDT@kline_1w": (Market.UM, "/fapi/v1/premiumIndexKlines?symbol=BTCUSDT&interval=1w"),
    "pBTCUSDT@kline_1h": (Market.UM, "/fapi/v1/premiumIndexKlines?symbol=BTCUSDT&interval=1h"),
}


async def test_mark_index_and_premium_candles_pushed_as_rest_answers_them(start_server: StartServer) -> None:
    """The price candles have no warm start: the candle open at the start holds the live
    samples alone, and REST's bar the past's samples of its interval in front, as its pushes do."""
    clock = ManualClock(T0)
    plant = await start_server(clock=clock, simulator={"actions_per_s": 200.0, "history_s": 120.0})
    source = plant.source
    assert isinstance(source, SimulatedMarket)
    last: dict[str, dict[str, Any]] = {}
    async with (
        websockets.connect(f"{plant.url(Market.CM)}/stream?streams={'/'.join(n for n, (m, _) in PRICE_STREAMS.items() if m is Market.CM)}", max_queue=None) as cm,
        websockets.connect(f"{plant.url(Market.UM)}/stream?streams={'/'.join(n for n, (m, _) in PRICE_STREAMS.items() if m is Market.UM)}", max_queue=None) as um,
    ):  # fmt: skip
        for _ in range(40):  # 10 s of the market, 250 ms at a time
            before = source.updates_processed
            clock.advance(250 - clock.now_ms() % 250)
            await eventually(lambda before=before: source.updates_processed > before)  # type: ignore[misc]
        for ws in (cm, um):  # a request's reply comes after every push made before it
            await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 9}))
            while "result" not in (message := json.loads(await ws.recv())):
                last[message["stream"]] = message["data"]
    assert sorted(last) == sorted(PRICE_STREAMS), "every candle pushed, its past's part made meanwhile"

    late: dict[str, set[int]] = {}  # samples after the last push: the same in the hour's and the week's
    for name, (market, path) in PRICE_STREAMS.items():
        k = last[name]["k"]
        _, [row] = await get(plant, f"{path}&limit=1", market)
        assert [row[0], row[1], row[6]] == [k["t"], k["o"], k["T"]], f"{name}: its open as REST's"
        assert float(row[2]) >= float(k["h"]) and float(row[3]) <= float(k["l"]), name
        late.setdefault(name.rpartition("_")[0], set()).add(row[8] - k["n"])
        if not name.endswith("_1h"):
            assert k["t"] < T0 and k["f"] == k["t"], f"{name}: opened before the start, its first sample the open"
    assert all(len(differences) == 1 for differences in late.values()), late
