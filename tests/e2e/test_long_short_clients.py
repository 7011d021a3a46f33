"""The long/short ratios over a real socket (protocol/long_short.py): ccxt's
``fetch_long_short_ratio_history`` at its defaults on both markets, python-binance's three
USDⓈ-M calls, the rows' keys in the captures' order, Binance's 30 days and paging, and
the parameters' refusals."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from decimal import Decimal
from typing import Any

import msgspec
from binance import AsyncClient
from binance_sdk_derivatives_trading_usds_futures.rest_api.models import (
    LongShortRatioPeriodEnum,
    TakerBuySellVolumePeriodEnum,
    TopTraderLongShortRatioAccountsPeriodEnum,
    TopTraderLongShortRatioPositionsPeriodEnum,
)
from conftest import StartServer
from test_binance_sdk import sdk
from test_ccxt import coinm, exchanges, usdm  # noqa: F401 (exchanges is a fixture)
from test_python_binance import client_for, clients  # noqa: F401 (clients is a fixture)
from timing import SECONDS

from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market
from tickerplant.market.units import DAY_MS, HOUR_MS, MINUTE_MS

T0 = 1_795_000_000_000 + 17_345  # 2026-11-18T08:53:37.345Z
STILL = {"actions_per_s": 1e-9, "seed": 5}
PATHS = ("globalLongShortAccountRatio", "topLongShortAccountRatio", "topLongShortPositionRatio")


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10 * SECONDS) as response:
            return response.status, msgspec.json.decode(response.read())
    except urllib.error.HTTPError as error:
        return error.code, msgspec.json.decode(error.read())


async def _rows(port: int, path: str, query: str) -> tuple[int, Any]:
    return await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/futures/data/{path}?{query}")


async def test_three_ratios_on_both_markets_in_binances_shapes(start_server: StartServer) -> None:
    plant = await start_server(clock=ManualClock(T0), simulator=STILL)
    um, cm = plant.listeners[Market.UM].port, plant.listeners[Market.CM].port
    seen = []
    for path in PATHS:
        status, rows = await _rows(um, path, "symbol=BTCUSDT&period=1d")
        assert status == 200 and len(rows) == 30  # the default limit
        assert [r["timestamp"] for r in rows] == list(range(T0 - T0 % DAY_MS - 29 * DAY_MS, T0, DAY_MS))
        assert list(rows[0]) == ["symbol", "longAccount", "longShortRatio", "shortAccount", "timestamp"]
        for row in rows:
            long_share, short_share = float(row["longAccount"]), float(row["shortAccount"])
            assert row["symbol"] == "BTCUSDT" and abs(long_share + short_share - 1) < 1e-9
            assert abs(float(row["longShortRatio"]) - long_share / short_share) <= 0.00005 + 1e-9
            assert len(row["longAccount"]) == 6  # 4 decimals
        seen.append(rows)
        status, coin = await _rows(cm, path, "pair=BTCUSD&period=1h&limit=5")
        shares = ["longPosition", "shortPosition"] if "Position" in path else ["longAccount", "shortAccount"]
        assert status == 200 and list(coin[0]) == [shares[0], "longShortRatio", shares[1], "pair", "timestamp"]
        assert [r["timestamp"] for r in coin] == list(range(T0 - T0 % HOUR_MS - 4 * HOUR_MS, T0, HOUR_MS))
    assert seen[0] != seen[1] and seen[1] != seen[2] and seen[0] != seen[2]  # three figures
    # paged from a start, as ccxt pages
    start = T0 - 20 * DAY_MS
    status, paged = await _rows(um, PATHS[0], f"symbol=ETHUSDT&period=5m&limit=500&startTime={start}")
    first = start + -start % (5 * MINUTE_MS)
    assert status == 200
    assert [r["timestamp"] for r in paged] == list(range(first, first + 500 * 5 * MINUTE_MS, 5 * MINUTE_MS))
    # the same figure whichever window asks
    status, later = await _rows(um, PATHS[0], f"symbol=ETHUSDT&period=5m&limit=3&startTime={first}")
    assert status == 200 and later == paged[:3]
    # the last 30 days, as Binance keeps them: an older start refused, as Binance refuses it
    status, month = await _rows(um, PATHS[0], f"symbol=ETHUSDT&period=1d&limit=500&startTime={T0 - 30 * DAY_MS}")
    assert status == 200 and len(month) == 30 and month[0]["timestamp"] >= T0 - 30 * DAY_MS
    old_start = {"code": -1130, "msg": "parameter 'startTime' is invalid."}
    for path in (*PATHS, "takerlongshortRatio", "openInterestHist"):
        assert await _rows(um, path, f"symbol=ETHUSDT&period=1d&startTime={T0 - 35 * DAY_MS}") == (400, old_start)
    # refusals: Binance's codes
    missing = {"code": -1102, "msg": "Mandatory parameter 'period' was not sent, was empty/null, or malformed."}
    assert await _rows(um, PATHS[0], "symbol=BTCUSDT") == (400, missing)
    assert (await _rows(um, PATHS[0], "symbol=BTCUSDT&period=1d&limit=501"))[1]["code"] == -1130
    assert (await _rows(um, PATHS[0], "symbol=NOPEUSDT&period=1d"))[1]["code"] == -1121
    assert (await _rows(cm, PATHS[0], "pair=NOPEUSD&period=1d"))[1]["code"] == -1121
    too_late = f"symbol=BTCUSDT&period=1d&startTime={T0}&endTime={T0 - 1}"
    assert (await _rows(um, PATHS[0], too_late))[1]["code"] == -1023


async def test_ccxt_and_python_binance_at_their_defaults(
    start_server: StartServer,
    exchanges: list[Any],  # noqa: F811
    clients: list[AsyncClient],  # noqa: F811
) -> None:
    plant = await start_server(clock=ManualClock(T0), simulator=STILL)
    linear, inverse = usdm(plant), coinm(plant)
    exchanges.extend([linear, inverse])
    history = await linear.fetch_long_short_ratio_history("BTC/USDT:USDT")  # period 1d, Binance's 30
    assert len(history) == 30 and history[-1]["timestamp"] == T0 - T0 % DAY_MS
    assert all(h["symbol"] == "BTC/USDT:USDT" and h["longShortRatio"] > 0 for h in history)
    coin = await inverse.fetch_long_short_ratio_history("BTC/USD:BTC", "4h", limit=6)
    assert len(coin) == 6 and all(c["longShortRatio"] > 0 for c in coin)
    client = await client_for(plant, clients)
    for call in (client.futures_global_longshort_ratio, client.futures_top_longshort_account_ratio,
                 client.futures_top_longshort_position_ratio):  # fmt: skip
        rows = await call(symbol="BTCUSDT", period="15m", limit=4)
        assert [r["timestamp"] for r in rows] == [T0 - T0 % (15 * MINUTE_MS) - k * 15 * MINUTE_MS for k in (3, 2, 1, 0)]
    assert await client.futures_index_info() == []  # GET /fapi/v1/indexInfo: no composite index
    takers = await client.futures_taker_longshort_ratio(symbol="BTCUSDT", period="1h", limit=3)
    assert [t["timestamp"] for t in takers] == [T0 - T0 % HOUR_MS - k * HOUR_MS for k in (3, 2, 1)]


async def test_the_takers_volumes_are_the_klines_of_each_closed_period(start_server: StartServer) -> None:
    """`takerlongshortRatio`: each closed period's taker buy volume and the rest of its
    volume, as its kline of that interval says, to the unit; the open period left out."""
    plant = await start_server(clock=ManualClock(T0), simulator=STILL)
    um = plant.listeners[Market.UM].port
    for period, ms in (("5m", 5 * MINUTE_MS), ("4h", 4 * HOUR_MS), ("1d", DAY_MS)):
        status, rows = await _rows(um, "takerlongshortRatio", f"symbol=ETHUSDT&period={period}&limit=12")
        assert status == 200 and len(rows) == 12
        assert list(rows[0]) == ["buySellRatio", "buyVol", "sellVol", "timestamp"]
        last = T0 - T0 % ms - ms  # the last closed period
        assert [r["timestamp"] for r in rows] == list(range(last - 11 * ms, last + 1, ms))
        url = f"http://127.0.0.1:{um}/fapi/v1/klines?symbol=ETHUSDT&interval={period}&startTime={rows[0]['timestamp']}&limit=12"
        status, klines = await asyncio.to_thread(_get, url)
        for row, kline in zip(rows, klines, strict=True):
            assert row["timestamp"] == kline[0]
            buys, volume = Decimal(kline[9]), Decimal(kline[5])
            assert (Decimal(row["buyVol"]), Decimal(row["sellVol"])) == (buys, volume - buys)
            assert len(row["buyVol"].split(".")[1]) == 4
            assert abs(Decimal(row["buySellRatio"]) - buys / (volume - buys)) <= Decimal("0.00005")
    month = T0 - 30 * DAY_MS
    status, paged = await _rows(um, "takerlongshortRatio", f"symbol=ETHUSDT&period=1h&startTime={month}&limit=3")
    assert status == 200
    assert [r["timestamp"] for r in paged] == [month + -month % HOUR_MS + k * HOUR_MS for k in range(3)]
    assert (await _rows(um, "takerlongshortRatio", "symbol=ETHUSDT&period=3m"))[1]["code"] == -1102
    cm = plant.listeners[Market.CM].port
    assert (await _rows(cm, "takerlongshortRatio", "pair=BTCUSD&period=1h"))[1]["code"] == -5000  # COIN-M's is another


async def test_the_ratios_begin_where_the_past_begins(start_server: StartServer) -> None:
    """With ``--history-start`` (or a listing) inside the 30 days, the first point is its
    first boundary: as `openInterestHist`'s."""
    begins = T0 - 8 * DAY_MS - 5 * HOUR_MS
    plant = await start_server(clock=ManualClock(T0), simulator=STILL | {"history_start_ms": begins})
    um = plant.listeners[Market.UM].port
    status, rows = await _rows(um, PATHS[0], "symbol=BTCUSDT&period=1d&limit=30")
    first_day = begins + -begins % DAY_MS
    assert status == 200 and [r["timestamp"] for r in rows] == list(range(first_day, T0, DAY_MS))
    status, interest = await _rows(um, "openInterestHist", "symbol=BTCUSDT&period=1d&limit=30")
    assert status == 200 and [r["timestamp"] for r in interest] == [r["timestamp"] for r in rows]


async def test_binances_sdk_reads_them_into_its_models(start_server: StartServer) -> None:
    """Binance's SDK (its pydantic models: strings, ``timestamp`` an int) over the three
    ratios and the takers' volumes, each point the same as the raw answer's."""
    plant = await start_server(clock=ManualClock(T0), simulator=STILL)
    rest, um = sdk(plant).rest_api, plant.listeners[Market.UM].port
    asked = (
        ("globalLongShortAccountRatio", rest.long_short_ratio, LongShortRatioPeriodEnum.PERIOD_1h),
        ("topLongShortAccountRatio", rest.top_trader_long_short_ratio_accounts,
         TopTraderLongShortRatioAccountsPeriodEnum.PERIOD_1h),
        ("topLongShortPositionRatio", rest.top_trader_long_short_ratio_positions,
         TopTraderLongShortRatioPositionsPeriodEnum.PERIOD_1h),
        ("takerlongshortRatio", rest.taker_buy_sell_volume, TakerBuySellVolumePeriodEnum.PERIOD_1h),
    )  # fmt: skip
    for path, call, period in asked:
        made = await asyncio.to_thread(lambda c=call, p=period: c(symbol="BTCUSDT", period=p, limit=5).data())
        status, raw = await _rows(um, path, "symbol=BTCUSDT&period=1h&limit=5")
        assert status == 200 and len(made) == 5
        read = [m.to_dict() for m in made]
        assert all(r.pop("additional_properties") == {} for r in read)  # every key the model's
        assert read == raw
