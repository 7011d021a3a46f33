"""A scripted trading session played twice on a ManualClock, against two servers started
from copies of one accounts database with the same seed: every REST answer (status,
`Date`, the weight and order-count headers, body) and every user data stream payload is
byte for byte the same. The one thing that differs is the listen key, a
bearer credential drawn from the OS's randomness: it is compared by position, not bytes."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import aiohttp
from conftest import StartServer
from rawws import TEXT, RawWebSocket
from timing import eventually

from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market
from tickerplant.venue.auth.accounts import KeyType
from tickerplant.venue.auth.signing import hmac_hex
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.domain.money import parse_amount

T0 = 1_790_000_000_000
SECRET = "R" * 64
HEADERS = ("date", "x-mbx-used-weight", "x-mbx-used-weight-1m", "x-mbx-order-count-10s", "x-mbx-order-count-1m")


async def play(start_server: StartServer, db: Path) -> list[bytes]:
    clock = ManualClock(T0)
    plant = await start_server(clock=clock, simulator={"actions_per_s": 1e-9, "seed": 5}, venue_db=str(db),
                               limits={"ping_interval_s": 3600.0, "pong_timeout_s": 3600.0})  # fmt: skip
    um = plant.listeners[Market.UM]
    assert um.streams is not None
    api_key = AccountStore(db).keys(1)[0].api_key
    transcript: list[bytes] = []
    bid = next(plant.engines[Market.UM].data.levels("BTCUSDT", True))[0]
    low = f"{(bid - 50_000) / 100:.2f}"
    async with aiohttp.ClientSession() as session:

        async def call(method: str, path: str, query: str = "") -> Any:
            query = "&".join(filter(None, (query, f"timestamp={clock.now_ms()}")))
            query += f"&signature={hmac_hex(SECRET, query.encode())}"
            url = f"http://127.0.0.1:{um.port}{path}?{query}"
            async with session.request(method, url, headers={"X-MBX-APIKEY": api_key}) as answer:
                body = await answer.read()
                kept = [f"{h}: {answer.headers[h]}" for h in HEADERS if h in answer.headers]
                transcript.append(f"{method} {path} {answer.status} {kept}".encode() + b" " + body)
                clock.advance(250)
                return await answer.json() if body.startswith((b"{", b"[")) else None

        key = (await call("POST", "/fapi/v1/listenKey"))["listenKey"]
        user = await RawWebSocket.connect(um.port, f"/private/ws?listenKey={key}")
        await eventually(lambda: len(um.streams.connections) == 1)

        async def events() -> None:  # what the stream carried so far: up to a barrier's reply
            user.send_text(b'{"method":"LIST_SUBSCRIPTIONS","id":1}')
            while (frame := await user.recv_until(TEXT)).payload != b'{"result":["%s"],"id":1}' % key.encode():
                transcript.append(frame.payload.replace(key.encode(), b"<listenKey>"))

        order = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.010"
        resting = await call("POST", "/fapi/v1/order", f"{order}&price={low}")  # its client id made by the venue
        await call("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.020&newOrderRespType=RESULT")
        await events()
        await call("PUT", "/fapi/v1/order", f"symbol=BTCUSDT&orderId={resting['orderId']}&side=BUY&quantity=0.020&price={low}")
        await call("POST", "/fapi/v1/algoOrder",
                   "algoType=CONDITIONAL&symbol=BTCUSDT&side=SELL&type=STOP_MARKET&quantity=0.010"
                   f"&triggerPrice={(bid - 200_000) / 100:.2f}&reduceOnly=true")  # fmt: skip
        await call("DELETE", "/fapi/v1/order", f"symbol=BTCUSDT&orderId={resting['orderId']}")
        await events()
        for path, query in (("/fapi/v3/account", ""), ("/fapi/v3/positionRisk", ""), ("/fapi/v1/userTrades", "symbol=BTCUSDT"),
                            ("/fapi/v1/allOrders", "symbol=BTCUSDT"), ("/fapi/v1/income", ""), ("/fapi/v1/openAlgoOrders", "")):  # fmt: skip
            await call("GET", path, query)
        await user.close()
    return [line.replace(key.encode(), b"<listenKey>") for line in transcript]


async def test_a_session_replays_byte_for_byte(start_server: StartServer, tmp_path: Path) -> None:
    original = tmp_path / "accounts.db"
    store = AccountStore(original)
    account = store.create_account("alice", [(Market.UM, "USDT", parse_amount("10000"))], T0)
    store.add_key(account.account_id, KeyType.HMAC, SECRET, now_ms=T0)
    store.close()
    first, second = tmp_path / "first.db", tmp_path / "second.db"
    shutil.copy(original, first)
    shutil.copy(original, second)
    one = await play(start_server, first)
    two = await play(start_server, second)
    assert len(one) >= 20
    assert any(b'"e":"ORDER_TRADE_UPDATE"' in line for line in one) and any(b"AMENDMENT" in line for line in one)
    for a, b in zip(one, two, strict=True):
        assert a == b
