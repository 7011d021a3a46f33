"""A fault profile under `tickerplant serve --workers 2`, as a user runs it (docs/faults.md):
every kind applies as in one process, decided once by the plant whichever gateway a
connection lands on: an order told 503 "Unknown error…" is in ``openOrders``; a maintenance
window answers an account's private endpoints 503 while the market data answers 200; a
WebSocket API session is cut without a close frame and its order not placed; a slow
acknowledgement comes after the order's user data event, a WebSocket API reply held comes
late, a ``-1007``'s order lands after it; an event dropped never comes, and REST still has
the order; a user data connection is cut without a close frame; an event held comes late, after its
order's answer. Each fault is counted once in the server's ``/metrics`` and
listed under its market in ``/api/status``.

One server for all of it (a test of its own per fault would start four processes each): the
accounts are apart, so each fault hits only its own."""

from __future__ import annotations

import asyncio
import json
import re
import time
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from served_workers import get_json, recent_past, serve_workers
from timing import LOOK_S, SECONDS

from tickerplant.clock import SystemClock
from tickerplant.market.instruments import Market
from tickerplant.venue.auth.accounts import KeyType
from tickerplant.venue.auth.signing import hmac_hex
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.domain.money import parse_amount

pytestmark = [pytest.mark.loopback, pytest.mark.uvloop_only]  # the server processes run uvloop

SECRETS = {"alice": "A" * 64, "bob": "B" * 64, "carol": "C" * 64, "dave": "D" * 64, "erin": "E" * 64}
SLOW_ACK_MS = 400
REPLY_DELAY_MS = 300
EVENT_DELAY_MS = 300
CONFIG = """
venue_db = "{db}"
request_weight_per_min = 1_000_000  # the test polls openOrders until the -1007's order lands

[simulator]
history_s = 60
book_levels = 20
actions_per_s = 1e-9
{past}
[faults]
profile_text = '''
[[fault]]
kind = "unknown-error"      # 503 -1000, the order placed
rate = 1
placed = 1
symbols = ["BTCUSDT"]
accounts = [{alice}]

[[fault]]
kind = "session-drop"       # the WebSocket API session cut, the order not placed
rate = 1
symbols = ["ETHUSDT"]
accounts = [{alice}]

[[fault]]
kind = "slow-ack"           # the answer late, its user data event on time
rate = 1
delay_ms = {slow_ack_ms}
symbols = ["SOLUSDT"]
accounts = [{alice}]

[[fault]]
kind = "reply-delay"        # the WebSocket API's reply late, the order placed at once
rate = 1
delay_ms = {reply_delay_ms}
symbols = ["LINKUSDT"]
accounts = [{alice}]

[[fault]]
kind = "timeout"            # 503 -1007, the order placed after the answer
rate = 1
delay_ms = 100
symbols = ["XRPUSDT"]
accounts = [{alice}]

[[fault]]
kind = "stream-drop"        # dave's user data connections cut without a close frame
rate = 1
accounts = [{dave}]

[[fault]]
kind = "maintenance"        # every private endpoint of bob's 503
rate = 1
accounts = [{bob}]

[[fault]]
kind = "event-drop"         # carol's orders' events never sent
rate = 1
accounts = [{carol}]
endpoints = ["ORDER_TRADE_UPDATE"]

[[fault]]
kind = "event-delay"        # erin's orders' events held, the answers not
rate = 1
delay_ms = {event_delay_ms}
accounts = [{erin}]
endpoints = ["ORDER_TRADE_UPDATE"]
'''
"""


class Client:
    """An account's signed REST requests, each on a connection of its own (the kernel
    spreads them over the gateways)."""

    def __init__(self, base: str, api_key: str, secret: str) -> None:
        self.base = base
        self.api_key = api_key
        self.secret = secret

    async def call(self, method: str, path: str, **params: Any) -> tuple[int, str]:
        status, text, _ = await self.weighed(method, path, **params)
        return status, text

    async def weighed(self, method: str, path: str, **params: Any) -> tuple[int, str, str | None]:
        """``call``'s, and the IP's weight the answer tells."""
        query = urlencode({**params, "timestamp": SystemClock().now_ms()})
        query += "&signature=" + hmac_hex(self.secret, query.encode())
        connector = aiohttp.TCPConnector(force_close=True)
        headers = {"X-MBX-APIKEY": self.api_key}
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            session.request(method, f"{self.base}{path}?{query}", headers=headers) as response,
        ):
            return response.status, await response.text(), response.headers.get("X-MBX-USED-WEIGHT-1M")

    async def open_symbols(self) -> list[str]:
        status, text = await self.call("GET", "/fapi/v1/openOrders")
        assert status == 200, text
        return sorted(order["symbol"] for order in json.loads(text))

    async def listen_key(self) -> str:
        connector = aiohttp.TCPConnector(force_close=True)
        headers = {"X-MBX-APIKEY": self.api_key}
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            session.post(f"{self.base}/fapi/v1/listenKey", headers=headers) as response,
        ):
            assert response.status == 200, await response.text()
            return str((await response.json())["listenKey"])


async def _below_bid(base: str, symbol: str, decimals: int) -> str:
    """A buy's price a tenth under the bid (it rests)."""
    async with aiohttp.ClientSession() as session, session.get(f"{base}/fapi/v1/ticker/bookTicker?symbol={symbol}") as got:
        bid = Decimal((await got.json())["bidPrice"])
    return f"{bid * Decimal('0.9'):.{decimals}f}"


def _order(symbol: str, price: str, quantity: str) -> dict[str, Any]:
    return {"symbol": symbol, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": quantity, "price": price}


async def _ws_api_order(port: int, api_key: str, secret: str, order: dict[str, Any]) -> aiohttp.WSMessage:
    """``order.place`` on the WebSocket API; what the connection gave back first."""
    params = {"apiKey": api_key, "timestamp": SystemClock().now_ms(), **order}
    payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    params["signature"] = hmac_hex(secret, payload.encode())
    async with aiohttp.ClientSession() as session, session.ws_connect(f"ws://127.0.0.1:{port}/ws-fapi/v1") as ws:
        await ws.send_str(json.dumps({"id": "drop-me", "method": "order.place", "params": params}))
        return await asyncio.wait_for(ws.receive(), 10 * SECONDS)


async def test_every_fault_kind_applies_under_workers(tmp_path: Path) -> None:
    db = tmp_path / "venue.db"
    store = AccountStore(db)
    now = SystemClock().now_ms()
    ids, keys = {}, {}
    for name, secret in SECRETS.items():
        account = store.create_account(name, [(Market.UM, "USDT", parse_amount("100000"))], now)
        ids[name] = account.account_id
        keys[name] = store.add_key(account.account_id, KeyType.HMAC, secret, now_ms=now).api_key
    store.close()
    config = tmp_path / "faults.toml"
    config.write_text(
        CONFIG.format(db=db, past=recent_past(), slow_ack_ms=SLOW_ACK_MS, reply_delay_ms=REPLY_DELAY_MS, event_delay_ms=EVENT_DELAY_MS, **ids)
    )
    async with serve_workers("--config", str(config), "--seed", "7") as served:
        (port_text,) = re.findall(r"USDⓈ-M streams  ws://[\d.]+:(\d+)/ws", "".join(served.log))
        port = int(port_text)
        base = f"http://127.0.0.1:{port}"
        alice, bob, carol, dave, erin = (Client(base, keys[name], SECRETS[name]) for name in SECRETS)

        # an order told 503 "Unknown error…" is placed: openOrders has it
        btc = _order("BTCUSDT", await _below_bid(base, "BTCUSDT", 1), "0.01")
        status, text = await alice.call("POST", "/fapi/v1/order", **btc)
        assert (status, json.loads(text)["code"]) == (503, -1000), text
        assert await alice.open_symbols() == ["BTCUSDT"]

        # a WebSocket API session cut on order.place: no close frame, no answer, no order
        eth = _order("ETHUSDT", await _below_bid(base, "ETHUSDT", 2), "0.1")
        got = await _ws_api_order(port, keys["alice"], SECRETS["alice"], eth)
        assert got.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR), got  # not CLOSE: no frame
        assert await alice.open_symbols() == ["BTCUSDT"]

        # a WebSocket API reply held REPLY_DELAY_MS, its order placed at once
        link = _order("LINKUSDT", await _below_bid(base, "LINKUSDT", 3), "10")
        sent = time.monotonic()
        got = await _ws_api_order(port, keys["alice"], SECRETS["alice"], link)
        assert json.loads(got.data)["result"]["status"] == "NEW", got
        assert time.monotonic() - sent >= REPLY_DELAY_MS / 1000

        # -1007: told 503, the order placed 100 ms after
        xrp = _order("XRPUSDT", await _below_bid(base, "XRPUSDT", 4), "100")
        status, text = await alice.call("POST", "/fapi/v1/order", **xrp)
        assert (status, json.loads(text)["code"]) == (503, -1007), text
        async with asyncio.timeout(10 * SECONDS):
            while await alice.open_symbols() != ["BTCUSDT", "LINKUSDT", "XRPUSDT"]:
                await asyncio.sleep(LOOK_S)

        # a slow acknowledgement: its ORDER_TRADE_UPDATE first, the answer SLOW_ACK_MS later
        key = await alice.listen_key()
        async with aiohttp.ClientSession() as session, session.ws_connect(f"ws://127.0.0.1:{port}/private/ws/{key}") as ws:
            sol = _order("SOLUSDT", await _below_bid(base, "SOLUSDT", 2), "1")
            sent = time.monotonic()
            placing = asyncio.ensure_future(alice.call("POST", "/fapi/v1/order", **sol))
            event = json.loads((await asyncio.wait_for(ws.receive(), 10 * SECONDS)).data)
            assert (event["e"], event["o"]["s"], placing.done()) == ("ORDER_TRADE_UPDATE", "SOLUSDT", False)
            status, text = await placing
            assert status == 200 and json.loads(text)["status"] == "NEW", text
            assert time.monotonic() - sent >= SLOW_ACK_MS / 1000
        assert await alice.open_symbols() == ["BTCUSDT", "LINKUSDT", "SOLUSDT", "XRPUSDT"]

        # a maintenance window on bob's account: every private endpoint 503, the market's data 200
        weights = []  # not counted (part 1 §7.2), told (§7.3)
        for method, path in (("GET", "/fapi/v2/account"), ("GET", "/fapi/v1/openOrders"), ("POST", "/fapi/v1/order")):
            status, text, used = await bob.weighed(method, path, **(btc if method == "POST" else {}))
            assert (status, text) == (503, "Service Unavailable."), (path, text)
            weights.append(used)
        assert None not in weights, weights  # each gateway tells its own (the not counting: test_fault_clients)
        # the WebSocket API's alike, on the one gateway it is connected to: not counted (the counts
        # are the servers' minute's: asked again if the minute turned among them, as it then
        # starts again from nothing; and if they differ, as a charge the REST requests above made
        # on another gateway may reach this one's shared count among them: a 503 counted would
        # make every round's counts grow)
        for _ in range(3):
            minute = SystemClock().now_ms() // 60_000
            async with aiohttp.ClientSession() as session, session.ws_connect(f"ws://127.0.0.1:{port}/ws-fapi/v1") as ws:
                counts = []
                for n in range(3):
                    params: dict[str, Any] = {"apiKey": bob.api_key, "timestamp": SystemClock().now_ms()}
                    params["signature"] = hmac_hex(bob.secret, urlencode(sorted(params.items())).encode())
                    await ws.send_str(json.dumps({"id": n, "method": "account.status", "params": params}))
                    reply = json.loads((await asyncio.wait_for(ws.receive(), 10 * SECONDS)).data)
                    assert (reply["status"], reply["error"]["msg"]) == (503, "Service Unavailable."), reply
                    counts += [r["count"] for r in reply["rateLimits"] if r["rateLimitType"] == "REQUEST_WEIGHT"]
            if SystemClock().now_ms() // 60_000 == minute and len(set(counts)) == 1:
                break
        assert len(counts) == 3 and len(set(counts)) == 1, counts
        async with aiohttp.ClientSession() as session, session.get(f"{base}/fapi/v1/depth?symbol=BTCUSDT") as depth:
            assert depth.status == 200

        # carol's ORDER_TRADE_UPDATE dropped: the next event (a leverage change's) comes first,
        # and REST still has the order
        key = await carol.listen_key()
        async with aiohttp.ClientSession() as session, session.ws_connect(f"ws://127.0.0.1:{port}/private/ws/{key}") as ws:
            status, text = await carol.call("POST", "/fapi/v1/order", **btc)
            assert status == 200, text
            status, text = await carol.call("POST", "/fapi/v1/leverage", symbol="BTCUSDT", leverage=5)
            assert status == 200, text
            event = json.loads((await asyncio.wait_for(ws.receive(), 10 * SECONDS)).data)
            assert event["e"] == "ACCOUNT_CONFIG_UPDATE", event
        assert await carol.open_symbols() == ["BTCUSDT"]

        # dave's user data connection cut on his order's event, without a close frame (the
        # plant's notice, carried out by the gateway that holds it); REST has the order
        key = await dave.listen_key()
        async with aiohttp.ClientSession() as session, session.ws_connect(f"ws://127.0.0.1:{port}/private/ws/{key}") as ws:
            status, text = await dave.call("POST", "/fapi/v1/order", **btc)
            assert status == 200, text
            got = await asyncio.wait_for(ws.receive(), 10 * SECONDS)
            assert got.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR), got
        assert await dave.open_symbols() == ["BTCUSDT"]

        # erin's ORDER_TRADE_UPDATE held EVENT_DELAY_MS by the plant, the answer not
        key = await erin.listen_key()
        async with aiohttp.ClientSession() as session, session.ws_connect(f"ws://127.0.0.1:{port}/private/ws/{key}") as ws:
            sent = time.monotonic()
            status, text = await erin.call("POST", "/fapi/v1/order", **btc)
            assert status == 200, text
            event = json.loads((await asyncio.wait_for(ws.receive(), 10 * SECONDS)).data)
            assert (event["e"], event["o"]["s"]) == ("ORDER_TRADE_UPDATE", "BTCUSDT"), event
            assert time.monotonic() - sent >= EVENT_DELAY_MS / 1000  # it happened after ``sent``
        assert await erin.open_symbols() == ["BTCUSDT"]

        # each fault counted once (by the plant, whichever gateway took the request), and listed
        async with aiohttp.ClientSession() as session, session.get(f"{served.admin}/metrics") as response:
            metrics = await response.text()
        counted = {
            sample.labels["kind"]: sample.value
            for family in text_string_to_metric_families(metrics) if family.name == "tickerplant_faults"
            for sample in family.samples if sample.labels["market"] == "um"
        }  # fmt: skip
        kinds = ["unknown-error", "session-drop", "reply-delay", "timeout", "slow-ack", *["maintenance"] * 6,
                 "event-drop", "stream-drop", "event-delay"]  # fmt: skip
        assert counted == {kind: kinds.count(kind) for kind in kinds}
        status_now = await get_json(f"{served.admin}/api/status")
        listed = [fault["kind"] for fault in status_now["listeners"]["um"]["faults"]]
        assert sorted(listed) == sorted(kinds)
