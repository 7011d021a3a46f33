"""Binance's modular SDK at its defaults (but for its base URL) reads the simulated past as
it reads Binance's: its REST client's timeout is 1 s a try (3 tries more, a second apart and
longer), and a bot's first `kline_candlestick_data(symbol, '1d')` (Binance's 500) asks 500
cold days. The past's workers draw them while the first try waits; a try the SDK gave up on
leaves them drawing, and what they drew kept, so a later try finds them made or in flight
(market/history/farming.py's ``InFlight``) and its answer comes."""

from __future__ import annotations

import asyncio

import pytest
from binance_common.configuration import ConfigurationRestAPI
from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
    DerivativesTradingUsdsFutures,
)
from binance_sdk_derivatives_trading_usds_futures.rest_api.models import KlineCandlestickDataIntervalEnum
from conftest import StartServer

from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market
from tickerplant.market.units import DAY_MS

T0 = 1_795_000_000_000 + 17_345


@pytest.mark.alone  # its answer within the client's timeout: tests/machine_alone.py
async def test_the_sdk_at_its_defaults_reads_500_cold_daily_candles(start_server: StartServer) -> None:
    plant = await start_server(clock=ManualClock(T0), simulator={"actions_per_s": 1e-9, "seed": 53})
    config = ConfigurationRestAPI(base_path=f"http://127.0.0.1:{plant.listeners[Market.UM].port}")
    assert (config.timeout, config.retries) == (1000, 3)
    sdk = DerivativesTradingUsdsFutures(config_rest_api=config)
    daily = KlineCandlestickDataIntervalEnum.INTERVAL_1d.value
    # the SDK's REST client blocks: on a thread, the server's loop answering meanwhile
    answer = await asyncio.to_thread(sdk.rest_api.kline_candlestick_data, symbol="DOTUSDT", interval=daily)
    rows = answer.data()
    today = T0 - T0 % DAY_MS
    assert [row[0] for row in rows] == list(range(today - 499 * DAY_MS, today + DAY_MS, DAY_MS))
