"""Pooled clients over tickerplant's kept-alive REST: requests.Session (the transport of
python-binance and Binance's SDK) and ccxt's aiohttp session each make many calls on one
connection, counted by the listener (``Traffic.accepted["rest"]``)."""

from __future__ import annotations

import asyncio
from typing import Any

import requests
from conftest import StartServer
from test_ccxt import usdm
from timing import eventually

from tickerplant.market.instruments import Market


async def test_pooled_clients_open_one_connection_for_many_calls(start_server: StartServer) -> None:
    """requests.Session (python-binance's and the SDK's transport), and ccxt's aiohttp."""
    plant = await start_server()
    listener = plant.listeners[Market.UM]
    base = f"http://127.0.0.1:{listener.port}"

    def with_requests() -> list[Any]:
        with requests.Session() as session:
            return [session.get(f"{base}/fapi/v1/ticker/price?symbol=BTCUSDT", timeout=5).json() for _ in range(10)]

    answers = await asyncio.to_thread(with_requests)
    assert {a["symbol"] for a in answers} == {"BTCUSDT"}
    await eventually(lambda: listener.traffic.accepted["rest"] == 1)
    exchange = usdm(plant)
    try:
        await exchange.load_markets()
        for _ in range(5):
            await exchange.fetch_ticker("BTC/USDT:USDT")
            await exchange.fetch_order_book("BTC/USDT:USDT", limit=5)
    finally:
        await exchange.close()
    assert listener.traffic.accepted["rest"] == 2  # ccxt's one, beside requests'
