"""A relay whose upstream is lost takes no order on the symbols whose book it no longer has
in sync (``venue/engine/placement.py``, step 0): a new order and a modification get HTTP 503
``-1001`` (part 1 §8.1's 503 "failed, may retry at once"), as Binance answers while its
engine cannot, not an order meeting an empty book; a cancel and the reads go on. Once the
upstream is back and the book synced again, orders are taken again."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
from conftest import StartServer
from test_observed_queue import SECRET, alice
from test_ws_api_trading import hmac_signed, raw
from timing import SECONDS, eventually

from tickerplant.feeds.relay.relay import RelaySource
from tickerplant.market.instruments import Market
from tickerplant.venue.auth.signing import hmac_hex

HALTED = {"code": -1001, "msg": "Internal error; unable to process your request. Please try again."}


def fast() -> Any:
    return iter([0.05] * 10_000)


async def test_a_relay_takes_no_order_while_its_upstream_is_lost(start_server: StartServer, tmp_path: Path) -> None:
    upstream = await start_server()
    port = upstream.listeners[Market.UM].port
    db, api_key = alice(tmp_path)
    relay = await start_server(
        source=RelaySource({Market.UM: upstream.url(Market.UM)}, symbols=["BTCUSDT"],
                           stream_options={"delays": fast}),
        venue_db=str(db),
    )  # fmt: skip
    engine = relay.engines[Market.UM]
    followed = relay.listeners[Market.UM].view.symbol("BTCUSDT")
    assert followed is not None

    def synced() -> bool:  # the relay's own book of the upstream's, in sync (not a top of book)
        return followed.book_kept and not engine.data.halted("BTCUSDT")

    await eventually(synced, 10 * SECONDS)
    here = relay.listeners[Market.UM].port

    async with aiohttp.ClientSession() as session:

        async def call(method: str, query: str) -> tuple[int, Any]:
            query = f"{query}&timestamp={int(time.time() * 1000)}"
            url = f"http://127.0.0.1:{here}/fapi/v1/order?{query}&signature={hmac_hex(SECRET, query.encode())}"
            async with session.request(method, url, headers={"X-MBX-APIKEY": api_key}) as answer:
                return answer.status, await answer.json()

        bid = next(engine.data.levels("BTCUSDT", True))[0]
        low = f"{bid * 9 // 10 // 10 * 10 / 100:.2f}"  # a tenth below the bid, on the tick: it rests
        limit = f"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.010&price={low}"
        status, resting = await call("POST", limit)
        assert (status, resting["status"]) == (200, "NEW"), resting
        assert not engine.data.halted("BTCUSDT")

        await upstream.close()  # the upstream lost: the relay's book is dropped
        await eventually(lambda: engine.data.halted("BTCUSDT"), 10 * SECONDS)
        assert await call("POST", limit) == (503, HALTED)
        assert await call("POST", "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.010") == (503, HALTED)
        moved = f"symbol=BTCUSDT&orderId={resting['orderId']}&side=BUY&quantity=0.010&price={low[:-4]}0.00"
        assert await call("PUT", moved) == (503, HALTED)
        ws = await raw(session, relay)  # the WebSocket API alike
        key = SimpleNamespace(api_key=api_key, secret=SECRET)
        order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.010",
                 "price": low}  # fmt: skip
        reply = await ws.call("order.place", hmac_signed(relay, key, order))  # type: ignore[arg-type]
        assert (reply["status"], reply["error"]) == (503, HALTED)
        await ws.ws.close()
        status, gone = await call("DELETE", f"symbol=BTCUSDT&orderId={resting['orderId']}")
        assert (status, gone["status"]) == (200, "CANCELED"), gone  # a cancel needs no market
        status, shown = await call("GET", f"symbol=BTCUSDT&orderId={resting['orderId']}")
        assert (status, shown["status"]) == (200, "CANCELED")

        await start_server(um_port=port)  # back: the relay reconnects and syncs its book again
        await eventually(synced, 20 * SECONDS)
        status, again = await call("POST", limit)
        assert (status, again["status"]) == (200, "NEW"), again
