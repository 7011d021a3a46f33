"""The simulated market's past over a real socket (``feeds/simulator/pump.py`` with
``market/history`` and ``protocol/past.py``): REST answers klines from each symbol's listing
date, the same bytes from servers started days apart with the same seed, and the live
market takes over where the past's path and trade ids are at the start."""

from __future__ import annotations

import asyncio
import itertools
import json
import urllib.error
import urllib.request
from decimal import Decimal
from typing import Any

from conftest import StartServer
from timing import SECONDS, eventually

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock
from tickerplant.feeds.simulator.pump import SimulatedMarket
from tickerplant.market.history.counts import id_bases
from tickerplant.market.instruments import Market
from tickerplant.market.units import DAY_MS, HOUR_MS, MINUTE_MS

T0 = 1_795_000_000_000 + 17_345  # 2026-11-18T08:53:37.345Z, mid-minute
STILL = {"actions_per_s": 1e-9, "seed": 5}  # a market that does not move


async def raw(plant: Tickerplant, market: Market, path: str) -> bytes:
    url = plant.url(market).replace("ws://", "http://") + path

    def fetch() -> bytes:
        with urllib.request.urlopen(url, timeout=10 * SECONDS) as response:
            body: bytes = response.read()
            return body

    return await asyncio.get_running_loop().run_in_executor(None, fetch)


async def rows(plant: Tickerplant, market: Market, path: str) -> Any:
    return json.loads(await raw(plant, market, path))


def _source(plant: Tickerplant) -> SimulatedMarket:
    assert isinstance(plant.source, SimulatedMarket)
    return plant.source


async def test_the_past_starts_at_the_listing_and_is_the_same_from_any_start(start_server: StartServer) -> None:
    early = await start_server(clock=ManualClock(T0), simulator=STILL)
    late = await start_server(clock=ManualClock(T0 + 3 * DAY_MS + 17 * MINUTE_MS), simulator=STILL)
    btc = early.instruments[Market.UM][0]
    assert btc.symbol == "BTCUSDT"
    first = await rows(early, Market.UM, "/fapi/v1/klines?symbol=BTCUSDT&interval=1m&startTime=0&limit=3")
    assert first[0][0] == -(-btc.onboard_ms // MINUTE_MS) * MINUTE_MS
    assert [r[0] for r in first] == [first[0][0] + i * MINUTE_MS for i in range(3)]
    at = T0 - 2 * DAY_MS
    for market, path in (
        (Market.UM, f"/fapi/v1/klines?symbol=ETHUSDT&interval=1m&startTime={at}&limit=1000"),
        (Market.UM, f"/fapi/v1/klines?symbol=BTCUSDT&interval=15m&startTime={at}&limit=50"),
        (Market.UM, f"/fapi/v1/continuousKlines?pair=BTCUSDT&contractType=PERPETUAL&interval=1h&startTime={at}&limit=24"),
        (Market.CM, f"/dapi/v1/klines?symbol=BTCUSD_PERP&interval=5m&startTime={at}&endTime={at + DAY_MS}&limit=100"),
        (Market.UM, f"/fapi/v1/klines?symbol=SOLUSDT&interval=1m&endTime={T0 - DAY_MS}&limit=10"),
        (Market.UM, f"/fapi/v1/markPriceKlines?symbol=BTCUSDT&interval=1m&startTime={at}&limit=500"),
        (Market.UM, f"/fapi/v1/indexPriceKlines?pair=ETHUSDT&interval=1h&startTime={at}&limit=24"),
        (Market.CM, f"/dapi/v1/premiumIndexKlines?symbol=BTCUSD_PERP&interval=15m&startTime={at}&endTime={at + DAY_MS}"
                    "&limit=50"),
        (Market.UM, f"/fapi/v1/fundingRate?symbol=BTCUSDT&startTime={at}&endTime={T0 - DAY_MS}"),
        (Market.CM, "/dapi/v1/fundingRate?symbol=ETHUSD_PERP&startTime=0&limit=3"),
    ):
        assert await raw(early, market, path) == await raw(late, market, path), path
    # aggTrades by id reach back to the listing day, the same trades on both; each server
    # numbers them from its start's base, the later start above (market/history/counts.py)
    (early_trades, early_agg), (late_trades, late_agg) = id_bases(T0), id_bases(T0 + 3 * DAY_MS + 17 * MINUTE_MS)
    assert late_trades > early_trades and late_agg > early_agg
    listed = []
    for server, trades, aggs in ((early, early_trades, early_agg), (late, late_trades, late_agg)):
        rows_ = await rows(server, Market.UM, f"/fapi/v1/aggTrades?symbol=XRPUSDT&fromId={aggs + 1}&limit=50")
        listed.append([{**r, "a": r["a"] - aggs, "f": r["f"] - trades, "l": r["l"] - trades} for r in rows_])
    assert listed[0] == listed[1] and len(listed[0]) == 50
    past = _source(early).past
    assert past is not None
    xrp = past.tape("XRPUSDT")
    listing = xrp.minute(xrp.first_minute)  # its ids count from the listing day's start
    assert (listed[0][0]["a"], listed[0][0]["f"]) == (listing.first_agg_id, listing.kline.first_id)


async def test_the_live_market_takes_over_where_the_past_is(start_server: StartServer) -> None:
    clock = ManualClock(T0)
    plant = await start_server(clock=clock, simulator={"actions_per_s": 4000.0, "seed": 5})
    source = _source(plant)
    past, simulator = source.past, source.simulator
    assert past is not None and simulator is not None
    for symbol in ("BTCUSDT", "DOGEUSDT", "ETHUSD_PERP"):
        start_price = past.price_at(symbol, T0)
        assert simulator.fair_price(symbol) == start_price
        inst = past.instruments[symbol]
        # the last past minute closes at the live start's price: one path
        (last,) = past.klines(symbol, "1m", None, None, 1, T0)
        assert last.close == start_price and last.close_ms == T0 - T0 % MINUTE_MS - 1
        assert inst.symbol == symbol
    # the hour of the start: the past's minutes since 08:00 in the candle the view answers
    hour = await rows(plant, Market.UM, "/fapi/v1/klines?symbol=BTCUSDT&interval=1h&limit=2")
    minutes = past.klines("BTCUSDT", "1m", T0 - T0 % HOUR_MS, None, 60, T0)
    assert hour[-1][0] == T0 - T0 % HOUR_MS and hour[-1][8] == sum(k.count for k in minutes)
    before = past.klines("BTCUSDT", "1h", None, None, 1, T0)[0]
    assert hour[0][0] == before.open_ms and hour[0][8] == before.count
    # live trades: their ids and their aggregates' ids go on from the past's, one by one
    # (market/history/counts.py)
    clock.advance(3_000)
    async with asyncio.timeout(30 * SECONDS):
        while source.stepped_ms < T0 + 3_000:
            await asyncio.sleep(0)
    trade_base, agg_base = id_bases(T0)  # this start's numbering of the past and the live ids
    first_trade, first_agg = past.live_ids("BTCUSDT", T0)
    assert first_trade == minutes[-1].last_id + 1
    first_trade, first_agg = first_trade + trade_base, first_agg + agg_base
    trades = await rows(plant, Market.UM, f"/fapi/v1/aggTrades?symbol=BTCUSDT&fromId={first_agg - 10}&limit=100")
    ids = [t["a"] for t in trades]
    assert ids == list(range(first_agg - 10, first_agg - 10 + len(ids))) and len(ids) > 10
    assert all(b["f"] == a["l"] + 1 for a, b in itertools.pairwise(trades))  # every trade, once
    assert trades[9]["l"] == minutes[-1].last_id + trade_base and trades[10]["f"] == first_trade
    assert all(t["a"] < t["f"] for t in trades)  # a sequence of their own, smaller
    assert trades[9]["T"] < T0 - T0 % MINUTE_MS and trades[10]["T"] >= T0


async def test_history_start_moves_where_the_past_begins(start_server: StartServer) -> None:
    begin = T0 - 5 * DAY_MS
    plant = await start_server(clock=ManualClock(T0), simulator={**STILL, "history_start_ms": begin})
    first = await rows(plant, Market.UM, "/fapi/v1/klines?symbol=BTCUSDT&interval=1h&startTime=0&limit=2")
    assert first[0][0] == begin - begin % HOUR_MS  # the hour holding its first whole minute


def _summed(rows_: list[list[Any]]) -> list[Any]:
    """One kline row of consecutive rows: the first's open, the extremes, the last's close,
    every sum (volume, quote volume, count, taker buy volume and quote volume)."""
    ints = {8}
    sums = [
        sum(int(r[i]) for r in rows_) if i in ints else str(sum(Decimal(r[i]) for r in rows_))
        for i in (5, 7, 8, 9, 10)
    ]
    high, low = max(Decimal(r[2]) for r in rows_), min(Decimal(r[3]) for r in rows_)
    return [rows_[0][1], high, low, rows_[-1][4], *sums]


def _as_summed(row: list[Any]) -> list[Any]:
    return [row[1], Decimal(row[2]), Decimal(row[3]), row[4], *(str(Decimal(row[i])) for i in (5, 7)), row[8],
            *(str(Decimal(row[i])) for i in (9, 10))]  # fmt: skip


async def test_an_interval_open_at_the_start_holds_its_whole_past(start_server: StartServer) -> None:
    """The kline of a week, a month, open at the live start holds every minute of its
    interval's past, not only the warm start's last day: it is the sum of its days (§7.8,
    the last element is the current kline); and a mark price kline open at the start holds
    its interval's past minutes before the live samples, the sum of its hours."""
    plant = await start_server(clock=ManualClock(T0), simulator={"actions_per_s": 40.0, "seed": 5})
    week, month = 1_794_787_200_000, 1_793_491_200_000  # Monday 2026-11-16, 2026-11-01 (UTC)
    for interval, opened in (("1w", week), ("1M", month)):
        days = await rows(plant, Market.UM, f"/fapi/v1/klines?symbol=BTCUSDT&interval=1d&startTime={opened}&limit=40")
        assert days[0][0] == opened and days[-1][0] == T0 // DAY_MS * DAY_MS
        (whole,) = await rows(plant, Market.UM, f"/fapi/v1/klines?symbol=BTCUSDT&interval={interval}&limit=1")
        assert whole[0] == opened
        assert _as_summed(whole) == _summed(days), interval
    hour = T0 // HOUR_MS * HOUR_MS
    for path in ("markPriceKlines?symbol=ETHUSDT", "indexPriceKlines?pair=ETHUSDT"):
        day_start = T0 // DAY_MS * DAY_MS
        hours = await rows(plant, Market.UM, f"/fapi/v1/{path}&interval=1h&startTime={day_start}&limit=24")
        assert hours[-1][0] == hour and int(hours[-1][8]) >= 6 * 60  # the start's hour: its 6 minutes before
        (day,) = await rows(plant, Market.UM, f"/fapi/v1/{path}&interval=1d&limit=1")
        assert day[0] == day_start
        assert day[1] == hours[0][1] and day[4] == hours[-1][4]
        assert Decimal(day[2]) == max(Decimal(h[2]) for h in hours)
        assert Decimal(day[3]) == min(Decimal(h[3]) for h in hours)
        assert int(day[8]) == sum(int(h[8]) for h in hours)


async def test_agg_trades_with_only_an_end_time_reach_into_the_past(start_server: StartServer) -> None:
    """`aggTrades` with only `endTime` answers the last `limit` up to it (§7.9), the past's
    where the live market holds none: the same rows as a window that ends there."""
    clock = ManualClock(T0)
    plant = await start_server(clock=clock, simulator={"actions_per_s": 40.0, "seed": 5})
    for market, symbol in ((Market.UM, "BTCUSDT"), (Market.CM, "BTCUSD_PERP")):
        prefix = "/fapi" if market is Market.UM else "/dapi"
        for end in (T0 - 95_000, T0 - 60 * MINUTE_MS + 7):
            window = await rows(plant, market, f"{prefix}/v1/aggTrades?symbol={symbol}&startTime={end - 2 * MINUTE_MS}"
                                               f"&endTime={end}&limit=1000")  # fmt: skip
            assert 5 <= len(window) < 1000 and window[-1]["T"] <= end
            last = await rows(plant, market, f"{prefix}/v1/aggTrades?symbol={symbol}&endTime={end}&limit=5")
            assert last == window[-5:], (symbol, end)
    clock.advance(2_000)  # the live market trades; its rows come after the past's
    source = _source(plant)
    await eventually(lambda: source.stepped_ms >= T0 + 2_000, 30 * SECONDS)  # a deadline, no wait
    now = clock.now_ms()
    latest = await rows(plant, Market.UM, "/fapi/v1/aggTrades?symbol=BTCUSDT&limit=20")
    up_to_now = await rows(plant, Market.UM, f"/fapi/v1/aggTrades?symbol=BTCUSDT&endTime={now}&limit=20")
    assert up_to_now == latest and [r["a"] for r in up_to_now] == list(range(latest[0]["a"], latest[0]["a"] + 20))


async def test_coin_m_klines_keep_to_200_days_and_end_at_the_latest(start_server: StartServer) -> None:
    """COIN-M's kline windows (§7.8): at most 200 days between startTime and endTime
    (-1127); a start alone ends 200 days later, not past now; the most recent `limit`
    before the end are answered. USDⓈ-M's are the first `limit` from a start. (An end
    alone, 200 days back: ``tests/protocol/test_kline_windows.py``.)"""
    plant = await start_server(clock=ManualClock(T0), simulator={"actions_per_s": 40.0, "seed": 5})
    today = T0 // DAY_MS * DAY_MS
    for path in ("klines?symbol=BTCUSD_PERP", "markPriceKlines?symbol=BTCUSD_PERP", "indexPriceKlines?pair=BTCUSD"):
        wide = await raw_status(plant, Market.CM, f"/dapi/v1/{path}&interval=1d&startTime={T0 - 201 * DAY_MS}&endTime={T0}")
        assert wide == (400, {"code": -1127, "msg": "More than 4800 hours between startTime and endTime."})
        latest = await rows(plant, Market.CM, f"/dapi/v1/{path}&interval=1d&startTime={T0 - 10 * DAY_MS}&limit=3")
        assert [r[0] for r in latest] == [today - 2 * DAY_MS, today - DAY_MS, today], path
        within = await rows(plant, Market.CM, f"/dapi/v1/{path}&interval=1d&startTime={T0 - 30 * DAY_MS}"
                                              f"&endTime={T0 - 5 * DAY_MS}&limit=2")  # fmt: skip
        assert [r[0] for r in within] == [today - 6 * DAY_MS, today - 5 * DAY_MS], path
    first = await rows(plant, Market.UM, f"/fapi/v1/klines?symbol=BTCUSDT&interval=1d&startTime={T0 - 10 * DAY_MS}&limit=3")
    assert [r[0] for r in first] == [today - 9 * DAY_MS, today - 8 * DAY_MS, today - 7 * DAY_MS]


async def raw_status(plant: Tickerplant, market: Market, path: str) -> tuple[int, Any]:
    url = plant.url(market).replace("ws://", "http://") + path

    def fetch() -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(url, timeout=10 * SECONDS) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as refused:
            return refused.code, json.loads(refused.read())

    return await asyncio.get_running_loop().run_in_executor(None, fetch)
