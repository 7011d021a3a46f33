"""Binance's modular SDK's market streams (at its defaults but for its URL) when a
``market-reset`` cuts the connection without a close frame (docs/faults.md), the simulated
market driven on a manual clock: the SDK's connection emits ``close`` and stays closed; its
stream hands over nothing more, and a bot must dial again itself (the same as its user data
stream's, ``test_fault_client_user_sdk.py``).

(python-binance's sockets are not tested here: what they do after such a cut depends on a
race in their read loop, docs/faults.md.)
"""

from __future__ import annotations

from typing import Any

from binance_common.configuration import ConfigurationWebSocketStreams
from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
    DerivativesTradingUsdsFutures,
)
from binance_sdk_derivatives_trading_usds_futures.websocket_streams.models.enums import (
    DiffBookDepthStreamsUpdateSpeedEnum as DiffSpeed,
)
from conftest import StartServer
from driven_clock import driven
from timing import SECONDS, eventually

from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market

PROFILE = """
[[fault]]
kind = "market-reset"
at = "+2s"
symbols = ["SOLUSDT"]
"""


async def test_the_sdk_stays_closed_after_a_market_reset(start_server: StartServer) -> None:
    clock = ManualClock()
    plant = await start_server(clock=clock, faults={"profile_text": PROFILE})
    um = plant.listeners[Market.UM]
    assert um.streams is not None
    connections, port = um.streams.connections, um.port
    sdk = DerivativesTradingUsdsFutures(
        config_ws_streams=ConfigurationWebSocketStreams(stream_url=f"ws://127.0.0.1:{port}")
    )
    await sdk.websocket_streams.create_connection()
    heard: list[Any] = []
    closed_at: list[int] = []  # how many messages the SDK had handed over when it closed
    stream = await sdk.websocket_streams.diff_book_depth_streams(
        symbol="solusdt", update_speed=DiffSpeed.UPDATE_SPEED_100ms.value
    )
    stream.on("message", heard.append)
    sdk.websocket_streams.on_connection("close", lambda *_: closed_at.append(len(heard)))
    opened = len(connections)  # the SDK's three: /market/stream, /public/stream, /private/stream
    try:
        async with driven(plant, clock):
            await eventually(lambda: bool(closed_at) and len(connections) == opened - 1, 20 * SECONDS)
            until = clock.now_ms() + 5_000  # five market seconds on
            await eventually(lambda: clock.now_ms() >= until, 20 * SECONDS)
        # not dialled again: the cut connection stays gone, and nothing more was handed over.
        # (Its code says it never will: binance_common's receive loop emits ``close`` and
        # discards the connection; it dials again only on a ``serverShutdown`` event or for
        # its scheduled renewal.)
        assert len(connections) == opened - 1 and 0 < closed_at[0] == len(heard)
    finally:
        await sdk.websocket_streams.close_connection(close_session=True)
