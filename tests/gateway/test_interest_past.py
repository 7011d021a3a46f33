"""`futures/data/openInterestHist` from the simulated past (market/history/interest.py)
over a real socket: Binance's 30 days at every period, contiguous, valued
at the past's prices, joined to the live figure; older than a day before the start, the
same from a server of the seed started two days later."""

from __future__ import annotations

import asyncio
import itertools
import urllib.request
from typing import Any

import msgspec
import pytest
from conftest import StartServer
from timing import SECONDS

from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market
from tickerplant.market.units import DAY_MS, HOUR_MS, MINUTE_MS

# the past's open interest answered, not how the listener moves it:
# on uvloop alone (tests/conftest.py); the listeners' and the client's own tests cover both loops
pytestmark = pytest.mark.uvloop_only

T0 = 1_795_000_000_000 + 17_345  # 2026-11-18T08:53:37.345Z
STILL = {"actions_per_s": 1e-9, "seed": 5}


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10 * SECONDS) as response:
        return msgspec.json.decode(response.read())


async def _hist(port: int, query: str) -> list[dict[str, Any]]:
    rows = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/futures/data/openInterestHist?{query}")
    assert isinstance(rows, list)
    return rows


async def test_thirty_days_of_open_interest_from_the_past(start_server: StartServer) -> None:
    plant = await start_server(clock=ManualClock(T0), simulator=STILL)
    port = plant.listeners[Market.UM].port
    days = await _hist(port, "symbol=BTCUSDT&period=1d&limit=30")
    assert [r["timestamp"] for r in days] == list(range(T0 - T0 % DAY_MS - 29 * DAY_MS, T0, DAY_MS))
    hours = await _hist(port, "symbol=BTCUSDT&period=1h&limit=500")
    times = [r["timestamp"] for r in hours]
    assert times == list(range(times[0], times[0] + 500 * HOUR_MS, HOUR_MS)) and times[-1] == T0 - T0 % HOUR_MS
    klines = await asyncio.to_thread(
        _get, f"http://127.0.0.1:{port}/fapi/v1/klines?symbol=BTCUSDT&interval=1h&startTime={times[0]}&limit=499"
    )
    for row, kline in zip(hours, klines, strict=False):  # valued at the past's price of the moment
        price = float(row["sumOpenInterestValue"]) / float(row["sumOpenInterest"])
        assert abs(price / float(kline[1]) - 1) < 0.002
    quantities = [float(r["sumOpenInterest"]) for r in hours]
    assert max(quantities) / min(quantities) > 1.05  # it moves
    assert all(0.8 < b / a < 1.25 for a, b in itertools.pairwise(quantities))  # smoothly
    # the live figure joins the last past point (5 minutes apart)
    recent = await _hist(port, "symbol=BTCUSDT&period=5m&limit=3")
    now = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/fapi/v1/openInterest?symbol=BTCUSDT")
    live = float(now["openInterest"])
    assert float(recent[-1]["sumOpenInterest"]) == live  # the live market's first point
    assert abs(float(recent[-2]["sumOpenInterest"]) / live - 1) < 0.01  # the past's last, 5 minutes before
    # paged from a start, as ccxt pages
    start = T0 - 20 * DAY_MS
    paged = await _hist(port, f"symbol=ETHUSDT&period=5m&limit=500&startTime={start}")
    first = start + -start % (5 * MINUTE_MS)
    assert [r["timestamp"] for r in paged] == list(range(first, first + 500 * 5 * MINUTE_MS, 5 * MINUTE_MS))
    coin = await asyncio.to_thread(
        _get, f"http://127.0.0.1:{plant.listeners[Market.CM].port}/futures/data/openInterestHist?pair=BTCUSD&contractType=ALL&period=1d&limit=30"
    )
    assert len(coin) == 30 and all(float(r["sumOpenInterest"]) > 0 for r in coin)


async def test_older_than_a_day_before_the_start_it_is_the_seeds(start_server: StartServer) -> None:
    today = await start_server(clock=ManualClock(T0), simulator=STILL)
    later = await start_server(clock=ManualClock(T0 + 2 * DAY_MS + 3 * HOUR_MS), simulator=STILL)
    query = f"symbol=SOLUSDT&period=1h&limit=200&startTime={T0 - 15 * DAY_MS}"
    first = await _hist(today.listeners[Market.UM].port, query)
    again = await _hist(later.listeners[Market.UM].port, query)
    assert len(first) == 200 and first == again
