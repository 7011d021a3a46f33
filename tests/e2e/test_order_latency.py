"""``serve --latency``: a signed request reaches the venue its entry latency after it was
sent and meets the market as it is then, and its answer comes its response latency later,
in the market's time (a replayed recording on a manual clock), over REST and the WebSocket
API alike (docs/venue.md, "Latency")."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
from conftest import StartServer
from test_observed_queue import BOOK, SECRET, T0_MS, diff, replayed, signed, write_recording
from timing import eventually

from tickerplant.market.instruments import Market
from tickerplant.recording.format import Recorded, RecordedSnapshot
from tickerplant.venue.auth.signing import hmac_hex

ASK_1, ASK_2, ASK_3 = 6_000_100, 6_000_200, 6_000_300  # 60001.00, 60002.00, 60003.00


def thinning(folder: Path) -> None:
    """Asks 60001.00, 60002.00 and 60003.00 (1.000 each); 40 ms on 60001.00 is gone, 140 ms
    on 60002.00 too."""
    snapshot = (
        b'{"lastUpdateId":100,"E":%d,"T":%d,"bids":[["59999.00","1.000"]],'
        b'"asks":[["60001.00","1.000"],["60002.00","1.000"],["60003.00","1.000"]]}' % (T0_MS, T0_MS)
    )
    items = [
        Recorded(T0_MS * 1000, BOOK, diff(99, 101, T0_MS, '[["59998.00","1.000"]]')),
        RecordedSnapshot(T0_MS * 1000, "BTCUSDT", snapshot),
        Recorded((T0_MS + 40) * 1000, BOOK, diff(102, 102, T0_MS + 40, "[]").replace(b'"a":[]', b'"a":[["60001.00","0"]]')),
        Recorded((T0_MS + 140) * 1000, BOOK, diff(103, 103, T0_MS + 140, "[]").replace(b'"a":[]', b'"a":[["60002.00","0"]]')),
        Recorded((T0_MS + 3_600_000) * 1000, BOOK, diff(104, 104, T0_MS + 3_600_000, "[]")),  # still playing
    ]  # fmt: skip
    write_recording(folder, items)


async def turns(n: int = 20) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_an_order_meets_the_market_at_its_arrival_and_is_answered_after_its_response_leg(
    start_server: StartServer, tmp_path: Path
) -> None:
    thinning(tmp_path / "recorded")
    plant, clock, api_key = await replayed(start_server, tmp_path, latency="constant:50,30")
    engine, listener = plant.engines[Market.UM], plant.listeners[Market.UM]
    path = listener._latency
    assert path is not None
    await eventually(lambda: engine.data.quantity_at("BTCUSDT", False, ASK_1) == 1000)

    async def at(when_ms: int) -> None:  # the replay's items up to then played, one by one
        while clock.now_ms() < when_ms:
            clock.set(min(when_ms, clock.next_due_ms or when_ms))
            await turns()

    async with aiohttp.ClientSession() as session:
        call = signed(session, listener.port, clock, api_key)
        await at(T0_MS + 10)
        sent = asyncio.ensure_future(call(
            "POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.500&newOrderRespType=RESULT"
        ))  # fmt: skip
        await eventually(lambda: path.arriving_ms == T0_MS + 60)  # sent at +10: it arrives at +60
        await at(T0_MS + 59)
        assert not engine.resting("BTCUSDT") and not sent.done() and engine.data.quantity_at("BTCUSDT", False, ASK_1) == 0
        await at(T0_MS + 60)  # performed: 60001.00 went at +40, so it takes 60002.00
        await turns()
        assert not sent.done()  # its answer is on its way back until +90
        await at(T0_MS + 90)
        placed = await asyncio.wait_for(sent, 5)
        assert (placed["status"], placed["executedQty"], placed["updateTime"]) == ("FILLED", "0.500", T0_MS + 60)
        await at(T0_MS + 100)

        # the WebSocket API's order.place, sent at +100: it arrives at +150, after 60002.00 went
        url = f"ws://127.0.0.1:{listener.port}/ws-fapi/v1"
        async with session.ws_connect(url) as ws:
            params = {"apiKey": api_key, "quantity": "0.500", "side": "BUY", "symbol": "BTCUSDT",
                      "timestamp": clock.now_ms(), "type": "MARKET"}  # fmt: skip
            payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
            params["signature"] = hmac_hex(SECRET, payload.encode())
            await ws.send_str(json.dumps({"id": "late", "method": "order.place", "params": params}))
            await eventually(lambda: path.arriving_ms == T0_MS + 150)
            await at(T0_MS + 150)
            await at(T0_MS + 179)
            reply = asyncio.ensure_future(ws.receive())
            await turns()
            assert not reply.done()
            await at(T0_MS + 180)
            answer = json.loads((await asyncio.wait_for(reply, 5)).data)
            assert (answer["id"], answer["status"], answer["result"]["updateTime"]) == ("late", 200, T0_MS + 150)

        trades = asyncio.ensure_future(call("GET", "/fapi/v1/userTrades", "symbol=BTCUSDT"))  # a read too
        await eventually(lambda: path.arriving_ms == T0_MS + 230)
        await at(T0_MS + 260)
        assert [(t["price"], t["qty"], t["time"]) for t in await asyncio.wait_for(trades, 5)] == [
            ("60002", "0.500", T0_MS + 60), ("60003", "0.500", T0_MS + 150),
        ]  # fmt: skip
