"""``serve --latency``: a signed request reaches the venue its entry latency after it was
sent and meets the market as it is then, and its answer comes its response latency later,
in the market's time (a replayed recording on a manual clock), over REST and the WebSocket
API alike (docs/venue.md, "Latency")."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable
from pathlib import Path

import aiohttp
from conftest import StartServer
from test_observed_queue import BOOK, SECRET, T0_MS, alice, diff, replayed, signed, write_recording
from timing import eventually

from tickerplant.clock import ManualClock, Timer
from tickerplant.config import ReplayConfig
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
    assert listener._latency is not None
    path = listener._latency.path
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


class RoundingClock(ManualClock):
    """A manual clock read to the nanosecond, whose timers round as the wall clock's do
    (``SystemClock.call_at``: the delay from now rounded up to a whole millisecond when the
    timer is set), so two timers for one millisecond set a fraction of one apart fire in
    either order."""

    def __init__(self, start_ms: int) -> None:
        super().__init__(start_ms)
        self.fraction_ns = 0  # within the millisecond ``now_ms`` reads

    def now_ns(self) -> int:
        return super().now_ns() + self.fraction_ns

    def call_at(self, when_ms: float, callback: Callable[[], object]) -> Timer:
        now = self.now_ns() / 1_000_000
        return super().call_at(now + max(0, math.ceil(when_ms - now)), callback)

    def set(self, now_ms: int, fraction_ns: int = 0) -> None:
        super().set(now_ms)
        self.fraction_ns = fraction_ns


async def test_a_cancel_sent_after_its_order_is_performed_after_it_when_both_arrive_in_one_millisecond(
    start_server: StartServer, tmp_path: Path
) -> None:
    # the order sent at +10.9 ms with a 50 ms entry leg, its cancel at +11.1 with 49: both
    # arrive at +60, and the wall clock's timers would run the cancel first (-2011, the order
    # left open); one session's requests are performed and answered in the order sent
    thinning(tmp_path / "recorded")
    legs = tmp_path / "legs.csv"
    legs.write_text(f"time_ms,entry_ms,response_ms\n{T0_MS + 10},50,0\n{T0_MS + 11},49,0\n")
    db, api_key = alice(tmp_path)
    clock = RoundingClock(T0_MS)
    replay = ReplayConfig(paths=(str(tmp_path / "recorded"),), speed=1.0)
    plant = await start_server(clock=clock, venue_db=str(db), replay=replay, latency=f"file:{legs}")
    engine, listener = plant.engines[Market.UM], plant.listeners[Market.UM]
    assert listener._latency is not None
    lane = listener._latency.arrivals
    await eventually(lambda: engine.data.quantity_at("BTCUSDT", False, ASK_1) == 1000)

    def frame(method: str, params: dict[str, object]) -> str:
        params = {**params, "apiKey": api_key, "symbol": "BTCUSDT", "timestamp": clock.now_ms()}
        payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        return json.dumps({"id": method, "method": method, "params": {**params, "signature": hmac_hex(SECRET, payload.encode())}})

    async with aiohttp.ClientSession() as session, session.ws_connect(f"ws://127.0.0.1:{listener.port}/ws-fapi/v1") as ws:
        clock.set(T0_MS + 10, 900_000)
        order = {"side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.010", "price": "59000.00",
                 "newClientOrderId": "first"}  # fmt: skip
        await ws.send_str(frame("order.place", order))
        await eventually(lambda: len(lane) == 1)
        clock.set(T0_MS + 11, 100_000)
        await ws.send_str(frame("order.cancel", {"origClientOrderId": "first"}))
        await eventually(lambda: len(lane) == 2)
        for ms in (61, 62, 63):  # performed at +60.9 (committed), answered when the clock next moves
            clock.set(T0_MS + ms)
            await turns()
        answers = [json.loads((await asyncio.wait_for(ws.receive(), 5)).data) for _ in range(2)]
    assert [(a["id"], a["status"]) for a in answers] == [("order.place", 200), ("order.cancel", 200)], answers
    assert answers[1]["result"]["status"] == "CANCELED" and not engine.resting("BTCUSDT")
