"""Kline streams and the history endpoints over real sockets (spec §4.7, §4.12, §7.8, §7.9),
both markets, on a manual clock: a minute's kline is pushed every 250 ms while it changes,
closes with `"x":true`, and agrees with REST klines, continuousKlines and the aggregate
trades of its minute."""

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

# the klines pushed and answered, not how the listener moves them:
# on uvloop alone (tests/conftest.py); the listeners' and the client's own tests cover both loops
pytestmark = pytest.mark.uvloop_only

T0 = 1_767_225_600_000  # 2026-01-01T00:00Z
MINUTE = 60_000
BUSY = {"actions_per_s": 1000.0, "history_s": 120.0}
PREFIX = {Market.UM: "/fapi", Market.CM: "/dapi"}
SYMBOL = {Market.UM: ("BTCUSDT", "BTCUSDT"), Market.CM: ("BTCUSD_PERP", "BTCUSD")}


async def _paged_agg_trades(plant: Any, market: Market, symbol: str, start: int, end: int) -> list[dict[str, Any]]:
    """Every aggregate of [start, end], paged as ccxt pages: by time, then from the last id."""
    path = f"{PREFIX[market]}/v1/aggTrades?symbol={symbol}&startTime={start}&endTime={end}&limit=1000"
    rows: list[dict[str, Any]] = (await get(plant, path, market))[1]
    while len(rows) % 1000 == 0 and rows:
        more = (await get(plant, f"{PREFIX[market]}/v1/aggTrades?symbol={symbol}&fromId={rows[-1]['a'] + 1}", market))[1]
        rows += [r for r in more if r["T"] <= end]
        if len(more) < 500 or more[-1]["T"] > end:
            break
    return rows


@pytest.mark.parametrize("market", [Market.UM, Market.CM])
async def test_a_minute_pushed_closed_and_answered(start_server: StartServer, market: Market) -> None:
    clock = ManualClock(T0 + MINUTE - 2000)  # the server starts 2 s before the minute closes
    plant = await start_server(clock=clock, simulator=BUSY, strict_routing=True)
    source = plant.source
    assert isinstance(source, SimulatedMarket)
    symbol, pair = SYMBOL[market]
    kline, continuous = f"{symbol.lower()}@kline_1m", f"{pair.lower()}_perpetual@continuousKline_1m"
    path = "/market/stream" if market is Market.UM else "/stream"  # COIN-M has no routed paths (§2.2)
    pushed: dict[str, list[dict[str, Any]]] = {kline: [], continuous: []}
    async with websockets.connect(f"{plant.url(market)}{path}?streams={kline}/{continuous}", max_queue=None) as ws:
        for _ in range(10):  # 2.5 s, 250 ms at a time
            before = source.updates_processed
            clock.advance(250 - clock.now_ms() % 250)
            await eventually(lambda before=before: source.updates_processed > before)  # type: ignore[misc]
        async with asyncio.timeout(5 * SECONDS):
            while not any(k["k"]["x"] for k in pushed[kline]) or not any(k["k"]["x"] for k in pushed[continuous]):
                message = json.loads(await ws.recv())
                pushed[message["stream"]].append(message["data"])

    updates = [k for k in pushed[kline] if not k["k"]["x"]]
    assert updates, "the open minute was pushed before it closed"
    assert all(k["E"] % 250 == 0 for k in pushed[kline]), "on the 250 ms cadence"
    once = {(k["E"], k["k"]["t"]) for k in pushed[kline]}
    assert len(once) == len(pushed[kline]), "a candle at most once per tick"
    [final] = [k for k in pushed[kline] if k["k"]["x"]]
    k = final["k"]
    assert (final["e"], final["s"], k["s"], k["i"], k["t"], k["T"]) == ("kline", symbol, symbol, "1m", T0, T0 + MINUTE - 1)
    assert T0 + MINUTE <= final["E"] <= T0 + MINUTE + 250, "at the first tick past the close"

    [closed] = [c for c in pushed[continuous] if c["k"]["x"]]
    assert (closed["e"], closed["ps"], closed["ct"]) == ("continuous_kline", pair, "PERPETUAL")
    assert closed["k"] == {key: value for key, value in k.items() if key != "s"}

    # REST: klines and continuousKlines give the same row; the minute's aggregates sum to it.
    # With its endTime: COIN-M answers the latest `limit` before the end (§7.8), as ccxt knows
    row = [k["t"], k["o"], k["h"], k["l"], k["c"], k["v"], k["T"], k["q"], k["n"], k["V"], k["Q"], "0"]
    minute = f"startTime={T0}&endTime={T0 + MINUTE - 1}&limit=1"
    headers, klines = await get(plant, f"{PREFIX[market]}/v1/klines?symbol={symbol}&interval=1m&{minute}", market)
    assert klines == [row]
    query = f"pair={pair}&contractType=PERPETUAL&interval=1m&{minute}"
    headers, rows = await get(plant, f"{PREFIX[market]}/v1/continuousKlines?{query}", market)
    assert rows == [row] and headers["X-MBX-USED-WEIGHT-1M"] == "2"
    aggregates = await _paged_agg_trades(plant, market, symbol, T0, T0 + MINUTE - 1)
    prices = [float(a["p"]) for a in aggregates]
    assert (aggregates[0]["f"], aggregates[-1]["l"]) == (k["f"], k["L"])
    assert (prices[0], max(prices), min(prices), prices[-1]) == (float(k["o"]), float(k["h"]), float(k["l"]), float(k["c"]))
    assert sum(a["l"] - a["f"] + 1 for a in aggregates) == k["n"]
    digits = len(k["v"].partition(".")[2])
    assert f"{sum(float(a['q']) for a in aggregates):.{digits}f}" == k["v"]
    taker = sum(float(a["q"]) for a in aggregates if not a["m"])
    assert f"{taker:.{digits}f}" == k["V"]

    headers, trades = await get(plant, f"{PREFIX[market]}/v1/trades?symbol={symbol}&limit=5", market)
    latest = (await get(plant, f"{PREFIX[market]}/v1/aggTrades?symbol={symbol}&limit=5", market))[1]
    assert [t["id"] for t in trades] == [a["l"] for a in latest]
    assert [(t["price"], t["qty"], t["time"], t["isBuyerMaker"]) for t in trades] == [
        (a["p"], a["q"], a["T"], a["m"]) for a in latest
    ]


async def test_continuous_klines_of_a_quarter_and_silent_names(start_server: StartServer) -> None:
    clock = ManualClock(T0 + MINUTE - 2000)
    plant = await start_server(clock=clock, simulator={"actions_per_s": 5000.0, "history_s": 120.0})
    source = plant.source
    assert isinstance(source, SimulatedMarket)
    quarter = next(i for i in plant.instruments[Market.CM] if i.pair == "BTCUSD" and i.contract_type.value == "CURRENT_QUARTER")
    names = ["btcusd_current_quarter@continuousKline_1m", "btcusd_perpetual@continuousKline_1s", "btcusd_tradifi_perpetual@continuousKline_1m"]
    async with websockets.connect(f"{plant.url(Market.CM)}/stream", max_queue=None) as ws:
        await ws.send(json.dumps({"method": "SUBSCRIBE", "params": names, "id": 1}))
        assert json.loads(await ws.recv()) == {"result": None, "id": 1}, "every well-formed name is acknowledged"
        for _ in range(10):
            before = source.updates_processed
            clock.advance(250 - clock.now_ms() % 250)
            await eventually(lambda before=before: source.updates_processed > before)  # type: ignore[misc]
        got: list[dict[str, Any]] = []
        async with asyncio.timeout(5 * SECONDS):
            while not any(m["data"]["k"]["x"] for m in got):
                got.append(json.loads(await ws.recv()))
    assert {m["stream"] for m in got} == {names[0]}, "1s is USDⓈ-M's; no tradifi contract"
    final = next(m["data"] for m in got if m["data"]["k"]["x"])
    assert (final["ps"], final["ct"], final["k"]["t"]) == ("BTCUSD", "CURRENT_QUARTER", T0)
    minute = f"startTime={T0}&endTime={T0 + MINUTE - 1}&limit=1"  # COIN-M: the latest before the end
    _, rows = await get(plant, f"/dapi/v1/klines?symbol={quarter.symbol}&interval=1m&{minute}", Market.CM)
    k = final["k"]
    assert rows == [[k["t"], k["o"], k["h"], k["l"], k["c"], k["v"], k["T"], k["q"], k["n"], k["V"], k["Q"], "0"]]


async def test_a_coin_m_end_past_now_answers_the_latest_klines(start_server: StartServer) -> None:
    """Spec §7.8: COIN-M answers the most recent `limit` klines before `endTime`; an end past
    now counts back from now's kline, as an end at now does, not from minutes still to come
    (2 rows of 3 for an end a minute ahead, none for ten minutes ahead), on every kline kind."""
    clock = ManualClock(T0 + 30 * MINUTE + 30_000)
    plant = await start_server(clock=clock, simulator={"actions_per_s": 50.0, "history_s": 900.0})
    now = clock.now_ms()
    for path in ("klines?symbol=BTCUSD_PERP", "markPriceKlines?symbol=BTCUSD_PERP",
                 "continuousKlines?pair=BTCUSD&contractType=PERPETUAL"):  # fmt: skip
        _, at_now = await get(plant, f"/dapi/v1/{path}&interval=1m&limit=3&endTime={now}", Market.CM)
        assert len(at_now) >= 2, (path, at_now)  # (now's minute may have no kline yet)
        for ahead in (60_000, 600_000, 3 * 86_400_000):
            _, ending = await get(plant, f"/dapi/v1/{path}&interval=1m&limit=3&endTime={now + ahead}", Market.CM)
            assert [r[0] for r in ending] == [r[0] for r in at_now], (path, ahead)
