"""The venue under `tickerplant serve --workers 2`, as a user runs it: orders placed over
connections the kernel spreads across both gateways meet the plant's one engine; a gateway
killed (SIGKILL) loses none of them (its clients reconnect and query), nor does the plant
killed in the middle of a burst of orders and restarted from its journal (a countdownCancelAll
it acknowledged still runs out); the user data stream flows on either gateway, to a
raw connection and to ccxt.pro's ``watch_orders``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import ccxt.pro as ccxtpro
import pytest
from binance_hosts import python_binance_at
from ccxt_hosts import point
from served_workers import get_json, recent_past, serve_workers
from timing import LOOK_S, SECONDS, eventually

from tickerplant.clock import SystemClock
from tickerplant.market.instruments import Market
from tickerplant.venue.auth.accounts import KeyType
from tickerplant.venue.auth.signing import hmac_hex
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.domain.money import parse_amount

pytestmark = [pytest.mark.loopback, pytest.mark.uvloop_only]  # the server processes run uvloop

SECRET = "S" * 64
# restart_delay_s: the killed gateway and plant come back a quarter second after their exit,
# not the default second (what is checked is what they keep; the delay is test_supervision's)
QUICK = """
restart_delay_s = 0.25
venue_db = "{db}"
legacy_fill_fields = true
legacy_conditional_orders = ["um"]

[simulator]
history_s = 60
book_levels = 20
actions_per_s = 1e-9
"""


def _pids(log: list[str]) -> dict[str, int]:
    text = "".join(log)
    return {name: int(pid) for name, pid in re.findall(r"(plant|gateway \d) started .*\(pid (\d+)\)", text)}


async def _place(base: str, api_key: str, price: str, n: int, **more: str) -> dict[str, Any]:
    """One order on a connection of its own (closed after: the next lands where the kernel
    puts it), signed by hand (``more``: its other parameters, in place of a LIMIT's)."""
    params = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01",
              "price": price, "newClientOrderId": f"spread-{n}", "timestamp": SystemClock().now_ms()}  # fmt: skip
    if more:
        params = {k: v for k, v in params.items() if k not in ("timeInForce", "price")} | more
    query = urlencode(params)
    query += "&signature=" + hmac_hex(SECRET, query.encode())
    connector = aiohttp.TCPConnector(force_close=True)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.post(f"{base}/fapi/v1/order?{query}", headers={"X-MBX-APIKEY": api_key}) as response,
    ):
        answer: dict[str, Any] = await response.json()
        assert response.status == 200, answer
        return answer


async def _ccxt_trades(port: int, api_key: str, price: float) -> None:
    """ccxt.pro on the shared port: its orders and its user data stream, wherever each of its
    connections lands."""
    exchange = ccxtpro.binanceusdm({
        "apiKey": api_key, "secret": SECRET, "enableRateLimit": False, "timeout": 10_000,  # user settings (ccxt_hosts.py)
    })  # fmt: skip
    point(exchange, {"https://fapi.binance.com": f"http://127.0.0.1:{port}",
                      "https://api.binance.com": f"http://127.0.0.1:{port}",  # its sapi calls, by the gateways
                      "wss://fstream.binance.com": f"ws://127.0.0.1:{port}"})  # fmt: skip
    symbol = "BTC/USDT:USDT"
    try:
        await exchange.load_markets()
        watching = asyncio.ensure_future(exchange.watch_orders(symbol))
        placed = []
        async with asyncio.timeout(20 * SECONDS):
            while not watching.done() or watching.exception() is not None:  # until an order is seen
                if watching.done():  # closed 1012 by a gateway meeting the restarted plant: again
                    watching = asyncio.ensure_future(exchange.watch_orders(symbol))
                placed.append((await exchange.create_order(symbol, "limit", "buy", 0.01, price))["id"])
                await asyncio.wait({watching}, timeout=0.5)
        seen = watching.result()
        assert seen[-1]["id"] in placed and seen[-1]["status"] == "open"
        assert {o["id"] for o in await exchange.fetch_open_orders(symbol)} >= set(placed)
    finally:
        await exchange.close()


async def test_orders_survive_a_killed_gateway_and_a_killed_plant(tmp_path: Path) -> None:
    db = tmp_path / "venue.db"
    store = AccountStore(db)
    now = SystemClock().now_ms()
    alice = store.create_account("alice", [(Market.UM, "USDT", parse_amount("100000"))], now)
    api_key = store.add_key(alice.account_id, KeyType.HMAC, SECRET, now_ms=now).api_key
    store.close()
    config = tmp_path / "venue.toml"
    config.write_text(QUICK.format(db=db) + recent_past())
    async with serve_workers("--config", str(config)) as served:
        (port,) = re.findall(r"USDⓈ-M streams  ws://[\d.]+:(\d+)/ws", "".join(served.log))
        base = f"http://127.0.0.1:{port}"
        client = await python_binance_at(base, None, api_key, SECRET)
        try:
            book = await client.futures_orderbook_ticker(symbol="BTCUSDT")
            price = f"{Decimal(book['bidPrice']) - 1000:.1f}"
            placed = [await _place(base, api_key, price, n) for n in range(12)]
            assert len({order["orderId"] for order in placed}) == 12
            # a stop on /fapi/v1/order (legacy_conditional_orders): an order of the plant's too
            high = f"{Decimal(book['askPrice']) + 1000:.2f}"
            placed.append(await _place(base, api_key, price, 12, type="STOP_MARKET", stopPrice=high))
            assert (placed[-1]["type"], placed[-1]["stopPrice"]) == ("STOP_MARKET", high)
            # the plant answers them (the venue is its), in the shape its configuration asks for
            assert [k for k in placed[0] if k in ("price", "avgPrice", "cumQty", "cumQuote")] == [
                "price", "avgPrice", "cumQty", "cumQuote",
            ]  # fmt: skip
            async with aiohttp.ClientSession() as session, session.get(f"{served.admin}/metrics") as response:
                metrics = await response.text()  # the plant's counts, merged with the gateways'
            counted = re.findall(r'tickerplant_venue_orders_total\{([^}]*)\} (\S+)', metrics)
            assert [float(n) for labels, n in counted if 'execution="NEW"' in labels and 'type="LIMIT"' in labels] == [12.0]
            assert [float(n) for labels, n in counted if 'type="STOP_MARKET"' in labels] == [1.0]
            # the dashboard's account page: the plant's engines, asked by the supervisor
            async with aiohttp.ClientSession() as session, session.get(f"{served.admin}/api/accounts/1") as response:
                shown = await response.json()
            assert len(shown["trading"]["um"]["openOrders"]) == 13, shown

            async def all_up() -> bool:
                status = await get_json(f"{served.admin}/api/status")
                return all(worker["up"] for worker in status["workers"])

            async def listed() -> list[dict[str, Any]]:
                orders: list[dict[str, Any]] = await client.futures_get_all_orders(symbol="BTCUSDT")
                return orders

            async def one(n: int) -> None:
                with contextlib.suppress(aiohttp.ClientError, AssertionError):  # not acknowledged: may be there
                    placed.append(await _place(base, api_key, price, n))

            headers = {"X-MBX-APIKEY": api_key}
            async with aiohttp.ClientSession() as session, session.post(f"{base}/fapi/v1/listenKey", headers=headers) as r:
                listen_key = (await r.json())["listenKey"]  # the plant's: journaled before it was answered

            for victim in ("gateway 1", "plant"):
                pid = _pids(served.log)[victim]
                if victim == "plant":  # in the middle of a burst of orders on many connections
                    # and after a countdownCancelAll acknowledged: the plant's, journaled, so the
                    # restarted plant cancels the ETHUSDT order when it runs out (part 2 §6.7)
                    eth = await client.futures_orderbook_ticker(symbol="ETHUSDT")
                    counted_down = await client.futures_create_order(
                        symbol="ETHUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.010",
                        price=f"{Decimal(eth['bidPrice']) - 100:.2f}",
                    )  # fmt: skip
                    before = len(placed)
                    burst = [asyncio.ensure_future(one(100 + n)) for n in range(40)]
                    await eventually(lambda: len(placed) >= before + 10, 10 * SECONDS)  # noqa: B023
                    # set last, so that however slow the burst was the plant dies before it runs out
                    await client.futures_countdown_cancel_all(symbol="ETHUSDT", countdownTime=3000)
                    ask = {"symbol": "ETHUSDT", "orderId": counted_down["orderId"]}
                    assert (await client.futures_get_order(**ask))["status"] == "NEW"
                os.kill(pid, signal.SIGKILL)
                if victim == "plant":
                    for sending in burst:  # what is still waiting was not acknowledged
                        sending.cancel()
                    await asyncio.gather(*burst, return_exceptions=True)
                said = f"{victim} (pid {pid}) exited with -9; restarting it"
                await eventually(lambda: any(said in line for line in served.log), 10 * SECONDS)  # noqa: B023
                await eventually(lambda: _pids(served.log)[victim] != pid, 30 * SECONDS)  # noqa: B023
                async with asyncio.timeout(30 * SECONDS):
                    while not await all_up():  # the restarted process serves (each ask a request)
                        pass
                orders = await listed()
                by_id = {order["orderId"]: order for order in orders}
                assert {order["orderId"] for order in placed} <= set(by_id), victim  # every acknowledged one
                assert all(by_id[o["orderId"]]["clientOrderId"] == o["clientOrderId"] for o in placed)
                assert all(order["status"] == "NEW" for order in orders)
                assert by_id[placed[12]["orderId"]]["type"] == "STOP_MARKET", victim  # kept as it was
                async with aiohttp.ClientSession() as session, session.put(f"{base}/fapi/v1/listenKey", headers=headers) as r:
                    assert (r.status, await r.json()) == (200, {"listenKey": listen_key}), victim  # still live
            async with asyncio.timeout(20 * SECONDS):  # the countdown the killed plant acknowledged
                while (await client.futures_get_order(**ask))["status"] != "CANCELED":
                    await asyncio.sleep(LOOK_S)

            # the user data stream on whichever gateway, an order through whichever other
            key = (await client.futures_stream_get_listen_key())
            # (the key's connection is held once its handshake is answered: picows_server)
            # every gateway met the restarted plant (and closed the old run's streams) at its first
            # frame, sent before its first answer: a connection made since is fed, never closed
            stream = f"ws://127.0.0.1:{port}/private/ws/{key}"
            async with aiohttp.ClientSession() as session, session.ws_connect(stream) as ws:
                last = await _place(base, api_key, price, 99)
                message = await asyncio.wait_for(ws.receive(), 10 * SECONDS)
            assert message.type is aiohttp.WSMsgType.TEXT, (message, ws.close_code)
            event = json.loads(message.data)
            got = (event["e"], event["o"]["i"], event["o"]["c"])
            assert got == ("ORDER_TRADE_UPDATE", last["orderId"], "spread-99")
            await _ccxt_trades(port, api_key, float(price))
        finally:
            await client.close_connection()
