"""tickerplant.client.WebSocketAPI against a real tickerplant."""

from __future__ import annotations

import asyncio

import pytest
from conftest import StartServer

from tickerplant.client.ws_api import ApiError, RateLimited, WebSocketAPI
from tickerplant.market.instruments import Market


async def test_concurrent_requests_are_matched_by_id(start_server: StartServer) -> None:
    plant = await start_server(simulator={"actions_per_s": 1e-9})
    async with WebSocketAPI(plant.url(Market.UM) + "/ws-fapi/v1") as api:
        symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"] * 10
        books = await asyncio.gather(*(api.ticker_book(s) for s in symbols))
        assert [b["symbol"] for b in books] == symbols
        prices = await api.ticker_price()
        assert {p["symbol"] for p in prices} == set(plant.plants[Market.UM].symbols)
        depth = await api.depth("BTCUSDT", 5)
        assert depth["lastUpdateId"] == plant.plants[Market.UM].symbols["BTCUSDT"].book.last_update_id
        assert api.weight_limit == 2400 and api.weight_used >= 40 * 2
        with pytest.raises(ApiError) as bad:
            await api.ticker_book("NOPE")
        assert (bad.value.status, bad.value.code) == (400, -1121)


async def test_slows_down_before_the_limit_instead_of_running_into_429(start_server: StartServer) -> None:
    plant = await start_server(request_weight_per_min=40, simulator={"actions_per_s": 1e-9})
    async with WebSocketAPI(plant.url(Market.UM) + "/ws-fapi/v1", weight_margin=0.9) as api:
        await api.ticker_price("BTCUSDT")  # learn the limit from rateLimits
        assert api.weight_limit == 40
        sent = 0
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(1.0):  # the client waits for the next minute instead
                while True:
                    await api.ticker_book("BTCUSDT")
                    sent += 1
        assert sent > 0 and api.weight_used <= 40


async def test_honours_429_and_418(start_server: StartServer) -> None:
    plant = await start_server(request_weight_per_min=9, simulator={"actions_per_s": 1e-9})  # handshake 5
    async with WebSocketAPI(plant.url(Market.UM) + "/ws-fapi/v1", weight_margin=10.0) as api:
        await api.ticker_book("BTCUSDT")
        await api.ticker_book("BTCUSDT")
        with pytest.raises(RateLimited) as limited:
            await api.ticker_book("BTCUSDT")
        assert limited.value.status == 429 and limited.value.retry_at_ms > 0
        with pytest.raises(TimeoutError):  # it will not send again before retryAfter
            async with asyncio.timeout(0.5):
                await api.ticker_book("BTCUSDT")
