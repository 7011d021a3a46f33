"""Binance's modular SDK over TLS, as docs/operations.md's recipe runs it: `tickerplant tls
init`'s CA trusted through the environment for its REST client (``REQUESTS_CA_BUNDLE``:
requests), and given to its WebSocket clients as their ``https_agent`` (a context of their
own; aiohttp's default one would read ``SSL_CERT_FILE`` had it been exported before the
import); `https://` and `wss://` URLs on one port."""

from __future__ import annotations

import asyncio
import datetime
import ssl
from pathlib import Path

import pytest
from binance_common.configuration import (
    ConfigurationRestAPI,
    ConfigurationWebSocketAPI,
    ConfigurationWebSocketStreams,
)
from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
    DerivativesTradingUsdsFutures,
)
from conftest import StartServer

from tickerplant import tls
from tickerplant.market.instruments import Market


async def test_the_sdk_s_rest_and_websocket_api_over_tls(
    start_server: StartServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = tls.init(tmp_path, datetime.datetime.now(datetime.UTC))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(issued.ca))
    trusting = ssl.create_default_context(cafile=str(issued.ca))
    plant = await start_server(tls_cert=str(issued.cert), tls_key=str(issued.key))
    port = plant.listeners[Market.UM].port
    client = DerivativesTradingUsdsFutures(
        config_rest_api=ConfigurationRestAPI(base_path=f"https://localhost:{port}"),
        config_ws_api=ConfigurationWebSocketAPI(
            stream_url=f"wss://localhost:{port}/ws-fapi/v1", https_agent=trusting
        ),
        config_ws_streams=ConfigurationWebSocketStreams(stream_url=f"wss://localhost:{port}", https_agent=trusting),
    )
    rest = await asyncio.to_thread(lambda: client.rest_api.symbol_order_book_ticker(symbol="BTCUSDT").data())
    assert rest.actual_instance.symbol == "BTCUSDT"
    await client.websocket_api.create_connection()
    try:
        depth = (await client.websocket_api.order_book(symbol="BTCUSDT", limit=5)).data()
        assert len(depth.result.additional_properties["bids"]) == 5
    finally:
        await client.websocket_api.close_connection(close_session=True)
