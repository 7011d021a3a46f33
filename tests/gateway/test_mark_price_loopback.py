"""Mark price, index and funding over real sockets (spec §4.6, §4.12, §7.9): the streams of
both markets on a manual clock, and the REST answers, which agree with what was pushed."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

import pytest
import websockets
from conftest import StartServer
from timing import SECONDS

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock
from tickerplant.market.derivatives.mark_price import DEFAULT_CAP, FUNDING_INTERVAL_MS
from tickerplant.market.instruments import ContractType, Market, catalogue

# the mark prices' and funding's figures, not how the listener moves them:
# on uvloop alone (tests/conftest.py); the listeners' own tests cover both loops
pytestmark = pytest.mark.uvloop_only

T0 = 1_767_225_600_000  # ManualClock's start: 2026-01-01T00:00Z, a funding time


async def get(plant: Tickerplant, market: Market, path: str) -> tuple[int, dict[str, str], Any]:
    url = plant.url(market).replace("ws://", "http://") + path

    def fetch() -> tuple[int, dict[str, str], Any]:
        try:
            # 30 s: the first read of every symbol's funding history is made cold (in pieces,
            # tests/gateway/test_rest_in_pieces.py), seconds of CPU on a loaded machine
            with urllib.request.urlopen(url, timeout=30 * SECONDS) as response:
                return response.status, dict(response.headers), json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), json.loads(error.read())

    return await asyncio.get_running_loop().run_in_executor(None, fetch)


async def pushed_at(ws: Any, clock: ManualClock, streams: set[str]) -> dict[str, Any]:
    """Move the clock to the next whole 3 s and collect each of ``streams`` stamped then."""
    clock.advance(3000 - clock.now_ms() % 3000)
    second = clock.now_ms()
    got: dict[str, Any] = {}
    async with asyncio.timeout(5 * SECONDS):
        while set(got) != streams:
            message = json.loads(await ws.recv())
            data = message["data"]
            stamp = data[0]["E"] if isinstance(data, list) else data["E"]
            if stamp == second:
                got[message["stream"]] = data
    return got


async def test_usds_m_mark_streams_agree_with_premium_index(start_server: StartServer) -> None:
    clock = ManualClock()
    plant = await start_server(clock=clock)
    names = {"btcusdt@markPrice@1s", "btcusdt@markPrice", "!markPrice@arr@1s", "!markPrice@arr"}
    async with websockets.connect(plant.url(Market.UM) + "/stream?streams=" + "/".join(names), max_queue=None) as ws:
        got = await pushed_at(ws, clock, names)
        status, headers, one = await get(plant, Market.UM, "/fapi/v1/premiumIndex?symbol=BTCUSDT")
    mark = got["btcusdt@markPrice@1s"]
    assert list(mark) == ["e", "E", "s", "p", "P", "i", "r", "T"]  # the classic order (§4.6)
    assert got["btcusdt@markPrice"] == mark
    everything = got["!markPrice@arr@1s"]
    assert got["!markPrice@arr"] == everything
    assert {row["s"] for row in everything} == {i.symbol for i in catalogue(Market.UM, T0)}
    assert mark in everything
    assert (status, headers["X-MBX-USED-WEIGHT-1M"]) == (200, "1")
    assert list(one) == [
        "symbol", "markPrice", "indexPrice", "estimatedSettlePrice", "lastFundingRate", "interestRate",
        "nextFundingTime", "time",
    ]  # fmt: skip
    assert (one["markPrice"], one["indexPrice"], one["estimatedSettlePrice"], one["lastFundingRate"]) == (
        mark["p"], mark["i"], mark["P"], mark["r"]
    ), "the answer is the state the stream pushed"
    assert (one["nextFundingTime"], one["time"], one["interestRate"]) == (T0 + 8 * 3_600_000, mark["E"], "0.00010000")
    index, rate = float(mark["i"]), float(mark["r"])
    assert abs(float(mark["p"]) / index - 1) <= DEFAULT_CAP / 1e8, "a perpetual's mark stays near its index"
    assert abs(rate) <= DEFAULT_CAP / 1e8
    _, headers, every = await get(plant, Market.UM, "/fapi/v1/premiumIndex")
    assert headers["X-MBX-USED-WEIGHT-1M"] == "11" and len(every) == len(everything)
    status, _, error = await get(plant, Market.UM, "/fapi/v1/premiumIndex?symbol=NOPEUSDT")
    assert (status, error["code"]) == (400, -1121)


async def test_coin_m_pair_arrays_index_and_delivery_contracts(start_server: StartServer) -> None:
    clock = ManualClock()
    plant = await start_server(clock=clock)
    btc = [i for i in catalogue(Market.CM, T0) if i.pair == "BTCUSD"]
    quarter = next(i.symbol for i in btc if i.contract_type is ContractType.CURRENT_QUARTER)
    names = {"btcusd@markPrice@1s", "btcusd@markPrice", "btcusd@indexPrice@1s", "btcusd@indexPrice",
             "btcusd_perp@markPrice@1s", f"{quarter.lower()}@markPrice"}  # fmt: skip
    async with websockets.connect(plant.url(Market.CM) + "/stream?streams=" + "/".join(names), max_queue=None) as ws:
        got = await pushed_at(ws, clock, names)
        _, headers, rows = await get(plant, Market.CM, "/dapi/v1/premiumIndex?pair=BTCUSD")
    pair = got["btcusd@markPrice@1s"]
    assert [row["s"] for row in pair] == [i.symbol for i in btc] and got["btcusd@markPrice"] == pair
    assert got["btcusd_perp@markPrice@1s"] == pair[0]
    delivery = got[f"{quarter.lower()}@markPrice"]
    assert (delivery["r"], delivery["T"]) == ("", 0), "a delivery contract has no funding (§4.6)"
    index = got["btcusd@indexPrice@1s"]
    assert list(index) == ["e", "E", "i", "p"] and index["i"] == "BTCUSD"
    assert got["btcusd@indexPrice"] == index and all(row["i"] == index["p"] for row in pair)
    assert headers["X-MBX-USED-WEIGHT-1M"] == "1"
    assert [row["symbol"] for row in rows] == [i.symbol for i in btc]
    assert list(rows[0])[:2] == ["symbol", "pair"] and rows[0]["pair"] == "BTCUSD"
    assert rows[0]["markPrice"] == pair[0]["p"]
    by_symbol = {row["symbol"]: row for row in rows}
    assert (by_symbol[quarter]["lastFundingRate"], by_symbol[quarter]["interestRate"]) == ("", "")
    assert by_symbol[quarter]["nextFundingTime"] == 0
    _, _, one = await get(plant, Market.CM, "/dapi/v1/premiumIndex?symbol=BTCUSD_PERP")
    assert isinstance(one, list) and [row["symbol"] for row in one] == ["BTCUSD_PERP"], "COIN-M answers arrays"


async def test_funding_history_pages_and_a_live_funding_is_the_rate_pushed_before_it(
    start_server: StartServer,
) -> None:
    clock = ManualClock()
    plant = await start_server(clock=clock)
    _, headers, history = await get(plant, Market.UM, "/fapi/v1/fundingRate?symbol=BTCUSDT")
    assert headers["X-MBX-USED-WEIGHT-1M"] == "1"
    # the default limit of a past that reaches back to the listing (market/history)
    assert len(history) == 100 and list(history[0]) == ["symbol", "fundingTime", "fundingRate", "markPrice"]
    times = [row["fundingTime"] for row in history]
    assert times == [T0 - k * FUNDING_INTERVAL_MS for k in range(99, -1, -1)], "every 8 h up to the start"
    for row in history:  # the formula bounds every rate: within the clamp of the interest, or the cap
        assert abs(float(row["fundingRate"])) <= DEFAULT_CAP / 1e8
    _, _, page = await get(plant, Market.UM, f"/fapi/v1/fundingRate?symbol=BTCUSDT&startTime={times[3]}&limit=5")
    assert page == history[3:8]
    _, _, last = await get(plant, Market.UM, f"/fapi/v1/fundingRate?symbol=BTCUSDT&endTime={times[10]}&limit=2")
    assert last == history[9:11]
    # every symbol's: the latest 100 hold each perpetual's last day (the most, 1,000, a fortnight
    # of every symbol's made cold, is test_rest_in_pieces's: seconds of CPU, made in pieces)
    _, _, everyone = await get(plant, Market.UM, "/fapi/v1/fundingRate?limit=100")
    perpetuals = {i.symbol for i in catalogue(Market.UM, T0)}
    assert {row["symbol"] for row in everyone} == perpetuals and len(everyone) == 100
    status, _, error = await get(plant, Market.UM, "/fapi/v1/fundingRate?symbol=BTCUSDT&limit=1001")
    assert (status, error["code"]) == (400, -1130)
    _, _, coin = await get(plant, Market.CM, "/dapi/v1/fundingRate?symbol=BTCUSD_PERP&limit=1")
    assert list(coin[0]) == ["symbol", "fundingTime", "fundingRate"]
    _, _, info = await get(plant, Market.UM, "/fapi/v1/fundingInfo")
    assert {row["symbol"] for row in info} == perpetuals
    assert info[0] == {"symbol": "BTCUSDT", "adjustedFundingRateCap": "0.00300000",
                       "adjustedFundingRateFloor": "-0.00300000", "fundingIntervalHours": 8, "disclaimer": False}  # fmt: skip
    _, _, coin_info = await get(plant, Market.CM, "/dapi/v1/fundingInfo")
    assert [row["symbol"] for row in coin_info] == [
        i.symbol for i in catalogue(Market.CM, T0) if i.contract_type is ContractType.PERPETUAL
    ], "perpetuals only: a delivery contract never funds"

    # The last second before 08:00, then 08:00: the funding pays the rate last pushed. (The
    # clock jumps before connecting: a connection would miss its pongs over 8 hours.)
    clock.set(T0 + FUNDING_INTERVAL_MS - 2000)
    async with websockets.connect(plant.url(Market.UM) + "/ws/btcusdt@markPrice@1s", max_queue=None) as ws:
        clock.advance(1000)
        async with asyncio.timeout(5 * SECONDS):
            while (before := json.loads(await ws.recv()))["E"] != clock.now_ms():
                pass
        clock.advance(1000)
        async with asyncio.timeout(5 * SECONDS):
            while (after := json.loads(await ws.recv()))["E"] != clock.now_ms():
                pass
    assert before["T"] == T0 + FUNDING_INTERVAL_MS and after["T"] == T0 + 2 * FUNDING_INTERVAL_MS
    _, _, latest = await get(plant, Market.UM, "/fapi/v1/fundingRate?symbol=BTCUSDT&limit=1")
    assert latest[0]["fundingTime"] == T0 + FUNDING_INTERVAL_MS
    assert latest[0]["fundingRate"] == before["r"]
    assert abs(float(after["r"])) <= DEFAULT_CAP / 1e8, "a new interval starts over"
