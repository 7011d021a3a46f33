"""The venue split over processes' pieces (a plant and two gateways on one nats-server, in
this process, on a manual clock): a gateway admits (weight, key, signature) and the plant's
engine performs, whichever gateway a request lands on; the user data events reach a key's
connection on any gateway; the plant gone, a command is refused with Binance's 503 codes."""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import msgspec
import nats
import nats.errors
import pytest
from binance import AsyncClient
from binance.exceptions import BinanceAPIException
from binance_hosts import python_binance_at
from nats_servers import nats_url
from rawws import RawWebSocket
from scaleout_setup import start_split, started
from timing import SECONDS, eventually

from tickerplant.bus.venue_link import RUN, WHOLE
from tickerplant.clock import ManualClock
from tickerplant.config import LimitsConfig, ServerConfig, SimulatorConfig
from tickerplant.market.instruments import Market
from tickerplant.scaleout.gateway_process import GatewayProcess
from tickerplant.scaleout.plant_process import PlantProcess
from tickerplant.venue.auth.accounts import KeyType
from tickerplant.venue.auth.signing import hmac_hex
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.domain.money import parse_amount
from tickerplant.venue.wire.forwarded import FORWARD_VERSION, REST, WS, Command, decode_answer

pytestmark = pytest.mark.loopback
__all__ = ["nats_url", "started"]  # the fixtures: a real nats-server, what the test started

ALICE, BOB = "A" * 64, "B" * 64  # HMAC secrets
TEXT = 0x1


def _config(db: Path) -> ServerConfig:
    still = SimulatorConfig(actions_per_s=1e-9, history_s=60.0, book_levels=20)
    no_pings = LimitsConfig(ping_interval_s=3 * 3600.0, pong_timeout_s=3 * 3600.0)  # while an hour passes
    return ServerConfig(um_port=0, cm_port=0, admin_port=0, simulator=still, venue_db=str(db), limits=no_pings)


def _accounts(db: Path, now_ms: int) -> tuple[str, str]:
    store = AccountStore(db)
    try:
        alice = store.create_account("alice", [(Market.UM, "USDT", parse_amount("10000"))], now_ms)
        bob = store.create_account("bob", [(Market.UM, "USDT", parse_amount("10000"))], now_ms)
        alice_key = store.add_key(alice.account_id, KeyType.HMAC, ALICE, now_ms=now_ms).api_key
        bob_key = store.add_key(bob.account_id, KeyType.HMAC, BOB, now_ms=now_ms).api_key
    finally:
        store.close()
    return alice_key, bob_key


async def _split(
    nats_url: str, started: list[Any], tmp_path: Path, gateways: int
) -> tuple[ManualClock, tuple[str, str], PlantProcess, list[GatewayProcess]]:
    """alice and bob in a new database, and a plant with ``gateways`` gateways serving it."""
    clock = ManualClock(int(time.time() * 1000))
    db = tmp_path / "venue.db"
    keys = _accounts(db, clock.now_ms())
    plant, ours = await start_split(_config(db), nats_url, clock, started, gateways=gateways)
    return clock, keys, plant, ours


async def _client(gateway: GatewayProcess, api_key: str, secret: str) -> AsyncClient:
    """Made as python-binance's README shows: ``create`` reads the gateway's time (our clock's)
    for its timestamps' offset."""
    return await python_binance_at(gateway.url(Market.UM).replace("ws://", "http://"), None, api_key, secret)


def _below_bid(gateway: GatewayProcess) -> str:
    bid = gateway.listeners[Market.UM].view.symbols["BTCUSDT"]
    book = json.loads(bid.book_ticker or b"{}")
    return f"{float(book['b']) - 500:.1f}"


async def _signed(
    session: aiohttp.ClientSession, method: str, url: str, api_key: str, secret: str, params: dict[str, Any]
) -> tuple[int, dict[str, str], Any]:
    query = urlencode(params)
    query += "&signature=" + hmac_hex(secret, query.encode())
    async with session.request(method, f"{url}?{query}", headers={"X-MBX-APIKEY": api_key}) as response:
        return response.status, dict(response.headers), await response.json()


async def test_orders_through_either_gateway_meet_one_engine_and_their_events_any_gateway(
    nats_url: str, started: list[Any], tmp_path: Path
) -> None:
    clock, (alice_key, bob_key), plant, (one, two) = await _split(nats_url, started, tmp_path, 2)
    engine = plant.venue.engines[Market.UM]
    alice_one, alice_two = await _client(one, alice_key, ALICE), await _client(two, alice_key, ALICE)
    bob_two = await _client(two, bob_key, BOB)
    started.extend(client.session for client in (alice_one, alice_two, bob_two))  # closed after
    um_two = two.listeners[Market.UM]
    async with aiohttp.ClientSession() as session:
        # the listen key made through one gateway, its stream held on the other
        url = one.url(Market.UM).replace("ws://", "http://") + "/fapi/v1/listenKey"
        async with session.post(url, headers={"X-MBX-APIKEY": alice_key}) as response:
            listen_key = (await response.json())["listenKey"]
        held = len(um_two.streams.connections) if um_two.streams is not None else 0
        user = await RawWebSocket.connect(um_two.port, f"/private/ws/{listen_key}")
        await eventually(lambda: um_two.streams is not None and len(um_two.streams.connections) == held + 1)
        price = _below_bid(one)
        placed = await alice_one.futures_create_order(
            symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.01", price=price
        )
        assert placed["status"] == "NEW" and Decimal(placed["price"]) == Decimal(price)
        assert [o.order_id for o in engine.open_orders(1, "BTCUSDT")] == [placed["orderId"]]  # alice's
        # the other gateway reads the same engine
        seen = await alice_two.futures_get_order(symbol="BTCUSDT", orderId=placed["orderId"])
        assert seen["status"] == "NEW" and seen["clientOrderId"] == placed["clientOrderId"]
        event = json.loads((await user.recv_until(TEXT, 10 * SECONDS)).payload)
        assert event["e"] == "ORDER_TRADE_UPDATE" and event["o"]["i"] == placed["orderId"]
        # bob's key reaches none of alice's orders, on whichever gateway
        with pytest.raises(BinanceAPIException) as refused:
            await bob_two.futures_cancel_order(symbol="BTCUSDT", orderId=placed["orderId"])
        assert refused.value.code == -2011
        # the order counts come back through the plant, the weight from the gateway
        rest = two.url(Market.UM).replace("ws://", "http://") + "/fapi/v1/order"
        params = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                  "quantity": "0.01", "price": price, "timestamp": clock.now_ms()}  # fmt: skip
        status, headers, body = await _signed(session, "POST", rest, alice_key, ALICE, params)
        assert status == 200 and body["status"] == "NEW", body
        assert headers["X-MBX-ORDER-COUNT-1M"] == "2" and int(headers["X-MBX-USED-WEIGHT-1M"]) > 0
        # a bad signature never leaves the gateway
        performed = plant.venue.desk.performed if plant.venue.desk else 0
        status, _, body = await _signed(session, "POST", rest, alice_key, BOB, params)
        assert (status, body["code"]) == (400, -1022)
        assert plant.venue.desk is not None and plant.venue.desk.performed == performed
        # the WebSocket API's order.place on the other gateway, rateLimits with ORDERS
        async with session.ws_connect(one.url(Market.UM) + "/ws-fapi/v1") as ws:
            order = {"apiKey": alice_key, "symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT",
                     "timeInForce": "GTC", "quantity": "0.01", "price": f"{float(price) + 2000:.1f}",
                     "timestamp": clock.now_ms()}  # fmt: skip
            payload = "&".join(f"{k}={v}" for k, v in sorted(order.items()))
            order["signature"] = hmac_hex(ALICE, payload.encode())
            await ws.send_str(json.dumps({"id": "w1", "method": "order.place", "params": order}))
            reply = json.loads(await asyncio.wait_for(ws.receive_str(), 10 * SECONDS))
        assert reply["id"] == "w1" and reply["status"] == 200, reply
        assert reply["result"]["side"] == "SELL"
        kinds = [(limit["rateLimitType"], limit["interval"]) for limit in reply["rateLimits"]]
        assert kinds == [("ORDERS", "SECOND"), ("ORDERS", "MINUTE"), ("REQUEST_WEIGHT", "MINUTE")]
        open_orders = await alice_one.futures_get_open_orders(symbol="BTCUSDT")
        assert len(open_orders) == 3
        # COIN-M's engine answers through its own subject
        coin = two.url(Market.CM).replace("ws://", "http://") + "/dapi/v1/balance"
        status, _, rows = await _signed(session, "GET", coin, alice_key, ALICE, {"timestamp": clock.now_ms()})
        assert status == 200 and rows[0]["accountAlias"], rows
    await user.close()


async def test_a_key_ends_on_every_gateway_and_without_a_plant_a_command_is_refused_503(
    nats_url: str, started: list[Any], tmp_path: Path
) -> None:
    clock, (alice_key, _), plant, (one, two) = await _split(nats_url, started, tmp_path, 2)
    um_two = two.listeners[Market.UM]
    async with aiohttp.ClientSession() as session:
        url = one.url(Market.UM).replace("ws://", "http://") + "/fapi/v1/listenKey"
        async with session.post(url, headers={"X-MBX-APIKEY": alice_key}) as response:
            listen_key = (await response.json())["listenKey"]
        user = await RawWebSocket.connect(um_two.port, f"/private/ws/{listen_key}")
        await eventually(lambda: um_two.streams is not None and len(um_two.streams.connections) == 1)
        clock.advance(60 * 60 * 1000)  # part 4 §1.3: 60 minutes without a keepalive
        expired = json.loads((await user.recv_until(TEXT, 10 * SECONDS)).payload)
        assert (expired["e"], expired["listenKey"]) == ("listenKeyExpired", listen_key)
        closed = await user.recv_until(0x8, 10 * SECONDS)
        assert int.from_bytes(closed.payload[:2], "big") == 1000
        assert closed.payload[2:] == b"listenKey expired"
        await plant.close()  # no plant: nothing takes the command, and the client is told so
        started.remove(plant)
        # the gateway's own connection is told nobody answers the subject (a command that
        # meets the plant's last moments is -1007 instead: its outcome unknown, as it is)
        async with asyncio.timeout(10 * SECONDS):
            while True:
                try:
                    await two.bus.client.request("tp.um.venue", b"", timeout=1)
                except nats.errors.NoRespondersError:
                    break
                except nats.errors.TimeoutError:
                    continue
        rest = two.url(Market.UM).replace("ws://", "http://") + "/fapi/v1/openOrders"
        params = {"symbol": "BTCUSDT", "timestamp": clock.now_ms()}
        status, headers, body = await _signed(session, "GET", rest, alice_key, ALICE, params)
        assert (status, body["code"]) == (503, -1001), body
        assert int(headers["X-MBX-USED-WEIGHT-1M"]) >= 1  # charged by the gateway, as any request
        status, _, body = await _signed(session, "GET", rest, alice_key, BOB, params)
        assert (status, body["code"]) == (400, -1022)  # what the gateway decides, it still does
    await user.close()


async def _asked(nats_url: str, subject: str, command: Command) -> Any:
    """``command`` sent on the venue subject as a gateway sends it; the plant's answer."""
    client = await nats.connect(nats_url)
    try:
        reply = await client.request(subject, msgspec.msgpack.encode(command), timeout=10 * SECONDS)
    finally:
        await client.close()
    assert reply.data[0] == WHOLE
    answer = decode_answer(reply.data[1 + RUN.size :])  # after the plant's run
    assert answer is not None
    return answer.status, json.loads(answer.body)


async def test_the_plant_refuses_what_comes_late_and_what_is_the_gateway_s(
    nats_url: str, started: list[Any], tmp_path: Path
) -> None:
    clock, (alice_key, _), plant, _ = await _split(nats_url, started, tmp_path, 1)
    desk, engine = plant.venue.desk, plant.venue.engines[Market.UM]
    assert desk is not None
    now = clock.now_ms()
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeinforce": "GTC", "quantity": "0.01",
             "price": "10000.0", "timestamp": str(now)}  # fmt: skip
    subject = "tp.um.venue"

    def rest(params: dict[str, str], deadline_ms: int) -> Command:
        return Command(FORWARD_VERSION, REST, "POST", "/fapi/v1/order", alice_key, "127.0.0.1", params, 1, deadline_ms)

    # past its deadline (its client was told -1007): not done
    status, body = await _asked(nats_url, subject, rest(order, now - 1))
    assert (status, body["code"]) == (503, -1007) and desk.expired == 1
    # the engine's own recvWindow check: reached the plant 6 s after its timestamp
    clock.advance(6_000)
    status, body = await _asked(nats_url, subject, rest(order, clock.now_ms() + 10_000))
    assert (status, body) == (400, {"code": -5028, "msg": "Timestamp for this request is outside of the ME recvWindow."})
    with_window = order | {"recvwindow": "60000"}  # within its own window: placed
    status, body = await _asked(nats_url, subject, rest(with_window, clock.now_ms() + 10_000))
    assert status == 200 and body["status"] == "NEW"
    assert len(engine.open_orders(1, "BTCUSDT")) == 1
    # a session method is the gateway's: refused in the WebSocket API's frame, its id echoed
    logon = Command(FORWARD_VERSION, WS, "session.logon", "", alice_key, "127.0.0.1", {}, 2,
                    clock.now_ms() + 10_000, "w7")  # fmt: skip
    status, body = await _asked(nats_url, subject, logon)
    assert (status, body["id"], body["status"], body["error"]["code"]) == (500, "w7", 500, -1000)
