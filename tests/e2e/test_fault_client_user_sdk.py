# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""Binance's modular SDK (binance-sdk-derivatives-trading-usds-futures: a listen key by
``rest_api.start_user_data_stream``, ``websocket_streams.user_data(key)``, at its defaults
but for its URLs) against the user data stream's faults (docs/faults.md), one account per
fault, the server on a manual clock:

- an ``ORDER_TRADE_UPDATE`` dropped: the handler's first event is the market order's
  ``TradeLite``; ``current_all_open_orders`` has the order;
- events held 3 s: the handler is called once the server's clock is 3 s on;
- the connection cut without a close frame: the connection's ``close`` event, and the SDK
  stays closed (it dials again only on a ``serverShutdown`` event or before the 24th hour);
- the listen key expired early: the handler gets ``ListenKeyExpired``, then ``close``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from binance_common.configuration import ConfigurationRestAPI, ConfigurationWebSocketStreams
from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
    DerivativesTradingUsdsFutures,
)
from conftest import StartServer
from test_fault_client_user_streams import EXPIRES_AT_S, dialled, faulted_user_streams, turns
from test_fault_clients import limit_below
from test_venue_clients import STILL, Key, Venue, venue  # noqa: F401
from timing import eventually

from tickerplant.app import Tickerplant
from tickerplant.clock import SystemClock
from tickerplant.faults.profile import FaultKind
from tickerplant.market.instruments import Market

DELAY_MS = 3_000


@pytest.fixture
async def sdks() -> AsyncIterator[list[DerivativesTradingUsdsFutures]]:
    made: list[DerivativesTradingUsdsFutures] = []
    yield made
    for sdk in made:
        await sdk.websocket_streams.close_connection(close_session=True)


def sdk_of(plant: Tickerplant, key: Key) -> DerivativesTradingUsdsFutures:
    port = plant.listeners[Market.UM].port
    return DerivativesTradingUsdsFutures(
        config_rest_api=ConfigurationRestAPI(
            api_key=key.api_key, api_secret=key.secret, base_path=f"http://127.0.0.1:{port}"
        ),
        # the SDK appends /stream and opens /market/stream, /public/stream and /private/stream
        config_ws_streams=ConfigurationWebSocketStreams(stream_url=f"ws://127.0.0.1:{port}"),
    )


async def test_the_sdk_on_user_data_stream_faults(
    start_server: StartServer, venue: Venue, sdks: list[DerivativesTradingUsdsFutures]
) -> None:
    made, clock, start_ms, plant, streams, record = await faulted_user_streams(start_server, venue)
    heard: dict[str, list[Any]] = {name: [] for name in made}  # each account's events and connection events

    def names(name: str) -> list[str]:
        return [seen if isinstance(seen, str) else type(seen).__name__ for seen in heard[name]]

    clients = {name: sdk_of(plant, key) for name, (_, key) in made.items()}
    sdks.extend(clients.values())

    keys: dict[str, str] = {}

    async def listen(name: str) -> None:
        sdk = clients[name]
        listen_key = (
            await asyncio.to_thread(lambda: sdk.rest_api.start_user_data_stream().data())
        ).listen_key
        keys[name] = listen_key
        connection = await sdk.websocket_streams.create_connection()
        stream = await connection.user_data(listen_key)
        stream.on("message", lambda data: heard[name].append(data.actual_instance))
        for event in ("close", "reconnect"):
            connection.on_connection(event, lambda e=event: heard[name].append(e))

    await asyncio.gather(*(listen(name) for name in made))  # each subscription takes the SDK half a second
    await eventually(lambda: len(streams.connections) == 3 * len(made))  # market, public, private each
    assert [dialled(plant, key) for key in keys.values()] == [1] * len(made)  # the private one

    def catch_up() -> None:  # the SDK stamps its requests by the system's clock
        clock.advance(max(0, SystemClock().now_ms() - clock.now_ms()))

    async def new_order(name: str, **params: Any) -> Any:
        catch_up()
        return await asyncio.to_thread(lambda: clients[name].rest_api.new_order(**params).data())

    quantity, price = limit_below(plant, "LINKUSDT")
    limit = {"symbol": "LINKUSDT", "side": "BUY", "type": "LIMIT", "time_in_force": "GTC",
             "quantity": float(quantity), "price": float(price)}  # fmt: skip

    # dropped: the handler's first event is the market order's; REST has the limit order
    resting = await new_order("d", **limit)
    await new_order("d", symbol="BTCUSDT", side="BUY", type="MARKET", quantity=0.002)
    await eventually(lambda: bool(heard["d"]))
    assert names("d")[0] == "TradeLite"
    catch_up()
    listed = await asyncio.to_thread(
        lambda: clients["d"].rest_api.current_all_open_orders(symbol="LINKUSDT").data()
    )
    assert [row.order_id for row in listed] == [resting.order_id]

    # cut: a close event, and the SDK stays closed
    catch_up()
    await asyncio.to_thread(
        lambda: clients["c"].rest_api.change_initial_leverage(symbol="BTCUSDT", leverage=7)
    )
    await eventually(lambda: names("c") == ["close"])
    await eventually(lambda: dialled(plant, keys["c"]) == 0)

    # late: nothing until the server's clock is DELAY_MS on
    placed = await new_order("l", **limit)
    await eventually(lambda: FaultKind.EVENT_DELAY in record.counts)
    await turns()
    assert heard["l"] == []
    clock.advance(DELAY_MS)
    await eventually(lambda: names("l") == ["OrderTradeUpdate"])
    (event,) = heard["l"]
    assert event.o.i == placed.order_id and clock.now_ms() - event.E == DELAY_MS

    # expired: ListenKeyExpired, then close
    clock.advance(start_ms + EXPIRES_AT_S * 1000 - clock.now_ms())
    await eventually(lambda: names("x") == ["ListenKeyExpired", "close"])
    await turns()
    await eventually(lambda: dialled(plant, keys["x"]) == 0)
    await turns()
    assert dialled(plant, keys["c"]) == dialled(plant, keys["x"]) == 0  # neither dialled again
    assert names("c") == ["close"]
    assert record.counts == {FaultKind.EVENT_DROP: 3, FaultKind.STREAM_DROP: 1, FaultKind.EVENT_DELAY: 1,
                             FaultKind.LISTEN_KEY_EXPIRED: 1}  # fmt: skip
