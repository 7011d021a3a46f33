"""ccxt's ``fetch_ohlcv`` with ``price='mark'`` and ``price='index'`` (and
``'premiumIndex'``) against the server (spec §7.8), each candle checked against the mark
states the plant published in its minute."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from conftest import StartServer
from price_samples import QUIET, caught_up, expected, premium, record, run_for
from test_ccxt import coinm, usdm

from tickerplant.clock import ManualClock
from tickerplant.market.derivatives.mark_streams import MarkState
from tickerplant.market.instruments import Market
from tickerplant.market.klines.candles import open_time


@pytest.fixture
async def opened() -> AsyncIterator[list[Any]]:
    exchanges: list[Any] = []
    yield exchanges
    for exchange in exchanges:
        await exchange.close()


def candles(rows: list[list[object]]) -> list[list[float]]:
    """REST rows as ccxt parses them: [time, open, high, low, close, volume]."""
    return [[float(str(r[0])), *(float(str(v)) for v in r[1:6])] for r in rows]


def mark(s: MarkState) -> str:
    return s.p


def index(s: MarkState) -> str:
    return s.i


async def test_ccxt_fetch_ohlcv_mark_index_and_premium(start_server: StartServer, opened: list[Any]) -> None:
    clock = ManualClock()
    plant = await start_server(clock=clock, simulator=QUIET)
    um, cm = record(plant, Market.UM, "BTCUSDT"), record(plant, Market.CM, "BTCUSD_PERP")
    await run_for(plant, Market.UM, clock, 2 * 60 + 5, "BTCUSDT")
    await caught_up(plant, Market.CM, "BTCUSD_PERP", um[-1].t)  # the same second, COIN-M
    first = open_time("1m", um[0].t) + 60_000  # the first minute recorded whole

    usd = usdm(plant)
    opened.append(usd)
    for price, of in (("mark", mark), ("index", index), ("premiumIndex", premium)):
        got = await usd.fetch_ohlcv("BTC/USDT:USDT", "1m", since=first, params={"price": price})
        assert got == candles(expected(um, "1m", of, first)), price
        assert got  # two minutes at least

    coin = coinm(plant)
    opened.append(coin)
    for price, of in (("mark", mark), ("index", index)):
        got = await coin.fetch_ohlcv("BTC/USD:BTC", "1m", since=first, params={"price": price})
        assert got == candles(expected(cm, "1m", of, first)), price
        assert got
