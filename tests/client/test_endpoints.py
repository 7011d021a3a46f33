"""Which market a stream URL serves, asked of a real tickerplant."""

from __future__ import annotations

import pytest
from conftest import StartServer

from tickerplant.client.endpoints import fetch, market_of, rest_base
from tickerplant.market.instruments import Market


def test_rest_twins() -> None:
    assert rest_base("wss://fstream.binance.com") == "https://fapi.binance.com"
    assert rest_base("wss://dstream.binance.com/stream") == "https://dapi.binance.com"
    assert rest_base("ws://127.0.0.1:8765") == "http://127.0.0.1:8765"


async def test_market_of_a_tickerplant_listener(start_server: StartServer) -> None:
    plant = await start_server()
    assert await market_of(plant.url(Market.UM)) is Market.UM
    assert await market_of(plant.url(Market.CM)) is Market.CM
    assert await market_of("wss://fstream.binance.com") is Market.UM  # by name, no network
    assert b"serverTime" in await fetch(rest_base(plant.url(Market.UM)) + "/fapi/v1/time")
    with pytest.raises(OSError):
        await fetch(rest_base(plant.url(Market.UM)) + "/fapi/v1/nothing")
