# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""ccxt.pro's ``create_order_ws`` (binanceusdm at its defaults, its hosts replaced) against
the WebSocket API's faults (docs/faults.md), the server on a manual clock:

- ``reply-delay``: ccxt sets no timeout of its own on a WebSocket API request, so it never
  raises ``RequestTimeout``: it waits, while REST already lists the order, and returns the
  order when the reply comes, 20 s later on the server's clock;
- ``session-drop``: ``NetworkError``, nothing placed; the next ``create_order_ws`` dials a
  new session and places its order.
"""

from __future__ import annotations

import asyncio

import ccxt
import ccxt.pro as ccxtpro
from ccxt_hosts import point
from conftest import StartServer
from test_fault_client_user_streams import turns
from test_fault_clients import limit_below
from test_venue_clients import STILL, Venue, venue  # noqa: F401
from timing import eventually

from tickerplant.clock import ManualClock, SystemClock
from tickerplant.faults.profile import FaultKind
from tickerplant.market.instruments import Market

DELAY_MS = 20_000  # the profiles' default: past every client's timeout that has one
PROFILE = f"""
[[fault]]
kind = "session-drop"
rate = 1
symbols = ["SOLUSDT"]
endpoints = ["order.place"]

[[fault]]
kind = "reply-delay"
rate = 1
delay_ms = {DELAY_MS}
symbols = ["LINKUSDT"]
"""


async def test_ccxt_pro_create_order_ws_on_web_socket_api_faults(
    start_server: StartServer, venue: Venue
) -> None:
    clock = ManualClock(SystemClock().now_ms())
    plant = await start_server(
        clock=clock, simulator=STILL, venue_db=str(venue.path), faults={"profile_text": PROFILE}
    )
    um = plant.listeners[Market.UM]
    assert um.faults is not None
    record = um.faults.decider.record
    local = f"http://127.0.0.1:{um.port}"
    exchange = ccxtpro.binanceusdm({"apiKey": venue.alice_hmac.api_key, "secret": venue.alice_hmac.secret})
    point(exchange, {"https://fapi.binance.com": local, "https://api.binance.com": local,
                     "wss://ws-fapi.binance.com": f"ws://127.0.0.1:{um.port}"})  # fmt: skip

    def catch_up() -> None:  # ccxt stamps its requests by the system's clock
        clock.advance(max(0, SystemClock().now_ms() - clock.now_ms()))

    def order(symbol: str) -> tuple[str, str, str, float, float]:
        quantity, price = limit_below(plant, symbol)
        return f"{symbol[:-4]}/USDT:USDT", "limit", "buy", float(quantity), float(price)

    try:
        catch_up()
        await exchange.load_markets()
        # a session dropped: NetworkError, nothing placed; the next order goes on a new session
        catch_up()
        try:
            await exchange.create_order_ws(*order("SOLUSDT"))
        except ccxt.NetworkError as error:
            dropped = f"{type(error).__name__}: {error}"
        assert dropped == "NetworkError: Connection closed by remote server, closing code 1006"
        assert await exchange.fetch_open_orders("SOL/USDT:USDT") == []
        catch_up()
        placed = await exchange.create_order_ws(*order("BTCUSDT"))
        assert [o["id"] for o in await exchange.fetch_open_orders("BTC/USDT:USDT")] == [placed["id"]]

        # a reply held: the order is in REST at once; ccxt waits for the reply, however late
        catch_up()
        placing = asyncio.ensure_future(exchange.create_order_ws(*order("LINKUSDT")))
        await eventually(lambda: FaultKind.REPLY_DELAY in record.counts)
        listed = await exchange.fetch_open_orders("LINK/USDT:USDT")
        await turns()
        assert len(listed) == 1 and not placing.done()
        clock.advance(DELAY_MS)
        assert (await placing)["id"] == listed[0]["id"]
    finally:
        await exchange.close()
    assert record.counts == {FaultKind.SESSION_DROP: 1, FaultKind.REPLY_DELAY: 1}
