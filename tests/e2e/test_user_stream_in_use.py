# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""Binance pushes a user data event only to a key in use (part 4 §2): a listen key no
connection holds gets nothing written for it (the payloads are most of a command's cost),
one a connection holds, bare or by event, gets every event, and once its last connection
goes, nothing again; the key stays live all along."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import msgspec
from binance_hosts import python_binance_at
from test_venue_clients import Venue, closing, plant, venue  # noqa: F401
from test_venue_more import price_from_best
from timing import SECONDS, eventually

from tickerplant.app import Tickerplant
from tickerplant.market.instruments import Market


async def _told(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    async with asyncio.timeout(10 * SECONDS):
        while True:
            message = msgspec.json.decode((await ws.receive()).data)
            if message.get("e") == "ORDER_TRADE_UPDATE":
                return dict(message)


async def test_events_are_written_for_a_key_in_use_only(plant: Tickerplant, venue: Venue, closing: list[Any]) -> None:
    listener = plant.listeners[Market.UM]
    base = f"http://127.0.0.1:{listener.port}"
    client = await python_binance_at(base, None, venue.alice_hmac.api_key, venue.alice_hmac.secret)
    closing.append(client)
    listen_key = await client.futures_stream_get_listen_key()
    pushed = listener.user_data.streams.pushed
    low = price_from_best(plant, True, -50_000)

    async def place() -> int:
        order = await client.futures_create_order(symbol="BTCUSDT", side="BUY", type="LIMIT",
                                                  timeInForce="GTC", quantity="0.010", price=low)  # fmt: skip
        return int(order["orderId"])

    await place()  # a live key, no connection: nothing written
    assert listener.user_data.streams.pushed == pushed
    for path in (f"/private/ws?listenKey={listen_key}", f"/private/ws?listenKey={listen_key}&events=ORDER_TRADE_UPDATE"):
        async with aiohttp.ClientSession() as session, session.ws_connect(f"ws://127.0.0.1:{listener.port}{path}") as ws:
            await eventually(lambda: listener.streams is not None and listener.streams.fanout.holds_key(listen_key))
            order_id = await place()
            told = await _told(ws)
            assert (told["o"]["i"], told["o"]["x"]) == (order_id, "NEW"), path
        assert listener.user_data.streams.pushed > pushed
        await eventually(lambda: not listener.streams.fanout.holds_key(listen_key))  # type: ignore[union-attr]
        pushed = listener.user_data.streams.pushed
        await place()  # its last connection gone: nothing written again
        assert listener.user_data.streams.pushed == pushed, path
    assert await client.futures_stream_keepalive(listenKey=listen_key) == {"listenKey": listen_key}  # live
