# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""python-binance's futures user socket (``BinanceSocketManager(client).futures_user_socket()``,
at its defaults but for its host) against the user data stream's faults (docs/faults.md),
one account per fault, the server on a manual clock:

- an ``ORDER_TRADE_UPDATE`` dropped: ``recv()`` hands the next event instead (the market
  order's ``TRADE_LITE``); ``futures_get_open_orders`` has the order;
- events held 3 s: ``recv()`` returns the event once the server's clock is 3 s on;
- the connection cut without a close frame: ``recv()`` returns
  ``{"e": "error", "type": "ConnectionClosedError"}``, and the socket dials again on its
  own (after its 1 or 2 s back-off) with the same listen key: the next order's event comes;
- the listen key expired early: ``recv()`` returns ``listenKeyExpired``, then
  ``{"e": "error", "type": "BinanceWebsocketClosed"}``; the socket dials the dead key again
  and hears nothing (its keep-alive, every five minutes, would find the new key).
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import msgspec
from binance import BinanceSocketManager
from conftest import StartServer
from rawws import TEXT
from test_fault_client_user_streams import (
    EXPIRES_AT_S,
    dialled,
    faulted_user_streams,
    fresh_stream,
    place,
    turns,
)
from test_fault_clients import limit_below
from test_venue_clients import STILL, Venue, closing, python_binance, venue  # noqa: F401
from timing import SECONDS, eventually

from tickerplant.clock import SystemClock
from tickerplant.faults.profile import FaultKind
from tickerplant.market.instruments import Market

DELAY_MS = 3_000
ROLLOVER_AT_S = EXPIRES_AT_S + 1  # every connection closed (1001): the sockets' read loops end


async def test_python_binance_on_user_data_stream_faults(
    start_server: StartServer, venue: Venue, closing: list[Any]
) -> None:
    rollover = f'\n[[fault]]\nkind = "rollover"\nat = "+{ROLLOVER_AT_S}s"\n'
    made, clock, start_ms, plant, streams, record = await faulted_user_streams(start_server, venue, rollover)
    um = plant.listeners[Market.UM]
    clients = {name: await python_binance(plant, closing, key) for name, (_, key) in made.items()}

    def catch_up() -> None:  # python-binance stamps its requests by the system's clock
        clock.advance(max(0, SystemClock().now_ms() - clock.now_ms()))

    sockets = {}
    for name, client in clients.items():
        manager = BinanceSocketManager(client)
        manager.FSTREAM_URL = f"ws://127.0.0.1:{um.port}/"  # + private/ws?listenKey=<key>
        sockets[name] = manager.futures_user_socket()
        await sockets[name].__aenter__()
    await eventually(lambda: len(streams.connections) == len(sockets))
    quantity, price = limit_below(plant, "LINKUSDT")
    order = {"symbol": "LINKUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": quantity,
             "price": price}  # fmt: skip

    # dropped: recv() hands the next event; REST has the order
    catch_up()
    resting = await clients["d"].futures_create_order(**order)
    await clients["d"].futures_create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.002")
    assert (await sockets["d"].recv())["e"] == "TRADE_LITE"
    assert [o["orderId"] for o in await clients["d"].futures_get_open_orders(symbol="LINKUSDT")] == [
        resting["orderId"]
    ]

    # cut: an error message, then the socket dials again on its own (1 or 2 s later)
    cut_key = await clients["c"].futures_stream_get_listen_key()  # the live key: the socket's
    catch_up()
    await clients["c"].futures_change_leverage(symbol="BTCUSDT", leverage=7)
    cut = [await sockets["c"].recv() for _ in range(2)]
    await eventually(lambda: dialled(plant, cut_key) == 0)  # its back-off is a second at least
    assert cut == [{"e": "error", "type": "ConnectionClosedError", "m": "no close frame received or sent"},
                   {"e": "error", "type": "BinanceWebsocketClosed", "m": "Connection closed. Reconnecting..."}]  # fmt: skip

    # late: nothing until the server's clock is DELAY_MS on
    receiving = asyncio.ensure_future(sockets["l"].recv())
    catch_up()
    placed = await clients["l"].futures_create_order(**order)
    await eventually(lambda: FaultKind.EVENT_DELAY in record.counts)
    await turns()
    assert not receiving.done()
    clock.advance(DELAY_MS)
    event = await receiving
    assert event["o"]["i"] == placed["orderId"] and clock.now_ms() - event["E"] == DELAY_MS

    # expired: listenKeyExpired, an error message, then the dead key dialled again
    listen_key = await clients["x"].futures_stream_get_listen_key()  # the live key: the socket's
    clock.advance(start_ms + EXPIRES_AT_S * 1000 - clock.now_ms())
    expired = await sockets["x"].recv()
    assert expired == {"e": "listenKeyExpired", "E": clock.now_ms(), "listenKey": listen_key}
    assert await sockets["x"].recv() == {"e": "error", "type": "BinanceWebsocketClosed",
                                         "m": "Connection closed. Reconnecting..."}  # fmt: skip
    await eventually(lambda: dialled(plant, listen_key) == 0)
    # both sockets back by their own back-off: the cut one, and the expired one on its dead key
    await eventually(lambda: dialled(plant, cut_key) == dialled(plant, listen_key) == 1, 5 * SECONDS)
    async with aiohttp.ClientSession() as http:
        receiving = asyncio.ensure_future(sockets["c"].recv())
        placed = await place(http, plant, made["c"][1], "LINKUSDT")
        event = await receiving
        assert event["e"] == "ORDER_TRADE_UPDATE" and event["o"]["i"] == placed["orderId"]
        receiving = asyncio.ensure_future(sockets["x"].recv())
        fresh = await fresh_stream(http, plant, made["x"][1])
        await place(http, plant, made["x"][1], "LINKUSDT")
    assert msgspec.json.decode((await fresh.recv_until(TEXT)).payload)["e"] == "ORDER_TRADE_UPDATE"
    await turns()
    assert not receiving.done()  # on the new key's stream it came; on python-binance's never
    receiving.cancel()
    await fresh.close()

    # python-binance's read loop sees that it is closing only when a frame comes: the
    # sockets start closing, then the rollover closes every connection
    leaving = [asyncio.ensure_future(socket.__aexit__(None, None, None)) for socket in sockets.values()]
    await turns()
    clock.advance(start_ms + ROLLOVER_AT_S * 1000 - clock.now_ms())
    await asyncio.gather(*leaving)
    assert record.counts == {FaultKind.EVENT_DROP: 3, FaultKind.STREAM_DROP: 1, FaultKind.EVENT_DELAY: 1,
                             FaultKind.LISTEN_KEY_EXPIRED: 1, FaultKind.ROLLOVER: 1}  # fmt: skip
