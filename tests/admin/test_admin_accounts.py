"""The venue's accounts and keys on the admin listener (``admin/accounts.py``), over a real
socket: an account made there trades at once with python-binance; deposits, keys,
disabling and revoking take effect on the market port at the next request; the guard's
refusals hold; no secret is shown but once, to the caller, and none is logged."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from binance.exceptions import BinanceAPIException
from binance_hosts import python_binance_at
from conftest import StartServer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from ports import free_port

from tickerplant import app
from tickerplant.admin import accounts
from tickerplant.market.instruments import Market
from tickerplant.venue.wire.administration import trading_view

STILL = {"actions_per_s": 1e-9}


@pytest.fixture
def quick_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    """A delete's settle (``SETTLE_S``, a second of wall time) made a hundredth of it: it lets
    what the server authorized before the delete be journaled, and these tests delete only
    once every request they sent is answered (committed). The settle itself is
    tests/venue/test_account_delete.py's."""
    monkeypatch.setattr(accounts, "SETTLE_S", 0.01)


async def call(session: aiohttp.ClientSession, base: str, method: str, path: str, body: Any = None) -> Any:
    if body is None and method == "POST":
        body = {}  # a state change is a JSON POST (admin/guard.py)
    async with session.request(method, base + path, json=body) as response:
        return response.status, await response.json()


async def test_accounts_and_keys_over_the_admin_listener(
    start_server: StartServer, tmp_path: Path, caplog: pytest.LogCaptureFixture, quick_settle: None
) -> None:
    plant = await start_server(simulator=STILL, venue_db=str(tmp_path / "venue.db"), admin_port=free_port())
    base = plant.admin_url()
    um = f"http://127.0.0.1:{plant.listeners[Market.UM].port}"
    async with aiohttp.ClientSession() as session:
        status, made = await call(session, base, "POST", "/api/accounts", {"name": "alice", "balances": "USDT=10000,BTC=1"})
        assert status == 200 and list(made) == ["account", "apiKey", "keyType", "secretKey", "key"]
        assert made["account"]["name"] == "alice" and made["keyType"] == "HMAC_SHA256"
        account_id, secret = made["account"]["accountId"], made["secretKey"]
        client = await python_binance_at(um, None, made["apiKey"], secret)
        try:
            usdt = [b for b in await client.futures_account_balance() if b["asset"] == "USDT"]
            assert usdt[0]["balance"] == "10000.00000000"  # trades at once

            status, changed = await call(session, base, "POST", f"/api/accounts/{account_id}/deposit", {"amounts": "USDT=5"})
            assert (status, changed[0]["asset"], changed[0]["amount"]) == (200, "USDT", "10005.00000000")
            usdt = [b for b in await client.futures_account_balance() if b["asset"] == "USDT"]
            assert usdt[0]["balance"] == "10005.00000000"
            for amounts, why in (("USDT=100000000000", "the most it holds"), ("USDT=1e400", "not a number"),
                                 ("USDT=١", "not a number"), ("USDT=1_000", "not a number"),
                                 ("", "nothing to move"), (" , ", "nothing to move")):  # fmt: skip
                status, refused = await call(session, base, "POST", f"/api/accounts/{account_id}/deposit",
                                             {"amounts": amounts})  # fmt: skip
                assert status == 400 and why in refused["msg"], refused  # refused, not a 500
            # one change, all or none: a refused entry leaves the others unmade
            status, refused = await call(session, base, "POST", f"/api/accounts/{account_id}/withdraw",
                                         {"amounts": "USDT=10,NOPE=1"})  # fmt: skip
            assert status == 400 and "below zero" in refused["msg"]
            usdt = [b for b in await client.futures_account_balance() if b["asset"] == "USDT"]
            assert usdt[0]["balance"] == "10005.00000000"
            many = ",".join(f"A{n}=1" for n in range(65))  # one transaction holds the journal's lock
            status, refused = await call(session, base, "POST", f"/api/accounts/{account_id}/deposit",
                                         {"amounts": many})  # fmt: skip
            assert status == 400 and "at most 64" in refused["msg"]
            nested = '{"amounts": "USDT=1", "x": ' + "[" * 5_000 + "]" * 5_000 + "}"  # past the decoder's depth
            for path in (f"/api/accounts/{account_id}/deposit", "/api/replay/speed"):
                async with session.post(base + path, data=nested, headers={"Content-Type": "application/json"}) as got:
                    assert got.status == 400, path  # refused, not a 500 and a traceback
            # routing's refusals are the listener's JSON too, a 405 with its methods (it was aiohttp's text)
            assert await call(session, base, "GET", "/api/accounts/abc") == (404, {"code": -1, "msg": "Not Found"})
            async with session.get(f"{base}/api/accounts/{account_id}/deposit") as answer:
                assert (answer.status, await answer.json()) == (405, {"code": -1, "msg": "Method Not Allowed"})
                assert answer.headers["Allow"] == "POST"
            for huge in ("/api/accounts/99999999999999999999999", "/api/accounts/" + "9" * 5000):
                # past SQLite's integers, or past the digits Python converts: none such, not a 500 nor a 400
                assert (await call(session, base, "GET", huge))[0] == 404
                assert (await call(session, base, "POST", f"{huge}/deposit", {"amounts": "USDT=1"}))[0] == 404
                assert (await call(session, base, "GET", f"{huge}/report.json"))[0] == 404
            huge = "99999999999999999999999"  # named as sent, not as a number it overflowed to
            for method, path, body in (("GET", "", None), ("POST", "/deposit", {"amounts": "USDT=1"}),
                                       ("GET", "/report.json", None)):  # fmt: skip
                assert await call(session, base, method, f"/api/accounts/{huge}{path}", body) == (
                    404, {"code": -1, "msg": f"no account {huge}"}
                )
            status, refused = await call(session, base, "GET", f"/api/accounts/{account_id}/report.json?from=99999999999999999999999")
            assert status == 400 and "past the year 9999" in refused["msg"]

            public = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
            status, ed = await call(session, base, "POST", f"/api/accounts/{account_id}/keys",
                                    {"publicKey": public.decode(), "permissions": "reading"})  # fmt: skip
            assert status == 200 and ed["keyType"] == "ED25519" and "secretKey" not in ed
            assert ed["key"]["permissions"] == ["reading"]

            status, shown = await call(session, base, "GET", f"/api/accounts/{account_id}")
            assert status == 200 and len(shown["apiKeys"]) == 2 and {b["asset"] for b in shown["balances"]} == {"USDT", "BTC"}
            listed = (await call(session, base, "GET", "/api/accounts"))[1]
            assert [(a["accountId"], a["keys"]) for a in listed] == [(account_id, 2)]

            assert (await call(session, base, "POST", f"/api/accounts/{account_id}/disable"))[1]["disabled"] is True
            with pytest.raises(BinanceAPIException) as caught:
                await client.futures_account_balance()
            assert caught.value.code == -2015
            assert (await call(session, base, "POST", f"/api/accounts/{account_id}/enable"))[1]["disabled"] is False
            assert await client.futures_account_balance()
            assert await call(session, base, "POST", f"/api/keys/{made['apiKey']}/revoke") == (200, {})
            with pytest.raises(BinanceAPIException) as caught:
                await client.futures_account_balance()
            assert caught.value.code == -2015
        finally:
            await client.close_connection()

        # what the command or the guard refuses
        assert (await call(session, base, "POST", "/api/accounts", {"balances": "USDT=lots"}))[0] == 400
        assert (await call(session, base, "POST", "/api/accounts", {"nme": "typo"}))[0] == 400
        assert (await call(session, base, "POST", f"/api/accounts/{account_id}/withdraw", {"amounts": "USDT=99999"}))[0] == 400
        assert (await call(session, base, "GET", "/api/accounts/999"))[0] == 404
        assert (await call(session, base, "POST", "/api/keys/nosuchkey/revoke"))[0] == 404
        async with session.post(base + "/api/accounts", data="name=x", headers={"Content-Type": "text/plain"}) as r:
            assert r.status == 415  # not JSON: a cross-site form cannot make accounts
        async with session.post(base + "/api/accounts", json={}, headers={"Origin": "http://evil.example"}) as r:
            assert r.status == 403
        for action in ("delete", "disable", "enable"):  # a field a command does not take: 400, nothing done
            status, refused = await call(session, base, "POST", f"/api/accounts/{account_id}/{action}", {"nme": 1})
            assert status == 400 and "nme" in refused["msg"], refused
        assert (await call(session, base, "POST", "/api/keys/nosuchkey/revoke", {"nme": 1}))[0] == 400
        assert (await call(session, base, "GET", f"/api/accounts/{account_id}"))[0] == 200  # still there
        assert await call(session, base, "POST", f"/api/accounts/{account_id}/delete") == (200, {})
        assert (await call(session, base, "GET", f"/api/accounts/{account_id}"))[0] == 404
    assert not any(secret in record.getMessage() for record in caplog.records)


async def test_a_withdrawal_cannot_take_what_trading_has_spent(start_server: StartServer, tmp_path: Path) -> None:
    """The wallet is the operator's deposits and what trading changed: after a round trip
    paid its commission, withdrawing the whole deposit is refused (the admin API and the
    command alike, ``AccountStore``), and withdrawing what is left empties the wallet."""
    plant = await start_server(simulator=STILL, venue_db=str(tmp_path / "venue.db"), admin_port=free_port())
    base = plant.admin_url()
    um = f"http://127.0.0.1:{plant.listeners[Market.UM].port}"
    async with aiohttp.ClientSession() as session:
        made = (await call(session, base, "POST", "/api/accounts", {"balances": "USDT=10000"}))[1]
        account_id = made["account"]["accountId"]
        client = await python_binance_at(um, None, made["apiKey"], made["secretKey"])
        try:
            for side in ("BUY", "SELL"):  # a round trip: its commission paid twice
                await client.futures_create_order(symbol="ETHUSDT", side=side, type="MARKET", quantity="1")
            (usdt,) = [b for b in await client.futures_account_balance() if b["asset"] == "USDT"]
            assert Decimal(usdt["balance"]) < 10000
            status, refused = await call(session, base, "POST", f"/api/accounts/{account_id}/withdraw",
                                         {"amounts": "USDT=10000"})  # fmt: skip
            assert status == 400 and f"it holds {usdt['balance']}" in refused["msg"], refused
            assert [b["balance"] for b in await client.futures_account_balance() if b["asset"] == "USDT"] == [
                usdt["balance"]
            ]  # nothing moved
            status, _ = await call(session, base, "POST", f"/api/accounts/{account_id}/withdraw",
                                   {"amounts": f"USDT={usdt['balance']}"})  # fmt: skip
            assert status == 200
            assert [b["balance"] for b in await client.futures_account_balance() if b["asset"] == "USDT"] == [
                "0.00000000"
            ]
        finally:
            await client.close_connection()


async def test_a_disabled_accounts_user_data_stream_is_ended_at_its_next_event(
    start_server: StartServer, tmp_path: Path
) -> None:
    """A disabled account is refused from its next request, and its user data stream ends
    at its next event: ``listenKeyExpired``, then the connection closed, as a revoked key's
    WebSocket API session ends (part 1 §8.6); the key is gone, so a new connection on it
    gets nothing."""
    plant = await start_server(simulator=STILL, venue_db=str(tmp_path / "venue.db"), admin_port=free_port())
    base, port = plant.admin_url(), plant.listeners[Market.UM].port
    async with aiohttp.ClientSession() as session:
        made = (await call(session, base, "POST", "/api/accounts", {"balances": "USDT=100"}))[1]
        account_id = made["account"]["accountId"]
        client = await python_binance_at(f"http://127.0.0.1:{port}", None, made["apiKey"], made["secretKey"])
        try:
            listen_key = await client.futures_stream_get_listen_key()
        finally:
            await client.close_connection()
        async with session.ws_connect(f"ws://127.0.0.1:{port}/private/ws/{listen_key}") as user:
            await call(session, base, "POST", f"/api/accounts/{account_id}/deposit", {"amounts": "USDT=1"})
            told = await user.receive_json(timeout=5)  # enabled: told
            if told["a"]["B"][0]["wb"] == "100.00000000":  # the opening balance, settled at the market's
                told = await user.receive_json(timeout=5)  # first delivery: after the stream began, when late
            assert (told["a"]["m"], told["a"]["B"][0]["wb"]) == ("DEPOSIT", "101.00000000")
            assert (await call(session, base, "POST", f"/api/accounts/{account_id}/disable"))[0] == 200
            await call(session, base, "POST", f"/api/accounts/{account_id}/deposit", {"amounts": "USDT=1"})
            expired = await user.receive_json(timeout=5)
            assert (expired.get("e"), expired.get("listenKey")) == ("listenKeyExpired", listen_key), expired
            assert (await user.receive(timeout=5)).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


async def test_an_account_holding_orders_or_a_position_is_not_deleted(
    start_server: StartServer, tmp_path: Path, quick_settle: None
) -> None:
    """Deleting an account while it holds a resting order, an algo order or a position is
    refused, naming them (they would go on trading, be funded and liquidated for an account
    nobody can reach); once they are cancelled and closed, it is deleted."""
    plant = await start_server(simulator=STILL, venue_db=str(tmp_path / "venue.db"), admin_port=free_port())
    base, um = plant.admin_url(), f"http://127.0.0.1:{plant.listeners[Market.UM].port}"
    async with aiohttp.ClientSession() as session:
        made = (await call(session, base, "POST", "/api/accounts", {"balances": "USDT=100000"}))[1]
        account_id = made["account"]["accountId"]
        client = await python_binance_at(um, None, made["apiKey"], made["secretKey"])
        try:
            await client.futures_create_order(symbol="ETHUSDT", side="BUY", type="MARKET", quantity="1")
            bid = (await client.futures_order_book(symbol="ETHUSDT"))["bids"][-1][0]
            await client.futures_create_order(symbol="ETHUSDT", side="BUY", type="LIMIT", timeInForce="GTC",
                                              quantity="1", price=bid)  # fmt: skip
            await client.futures_create_order(symbol="ETHUSDT", side="SELL", type="STOP_MARKET", quantity="1",
                                              stopPrice=str(round(float(bid) * 0.9, 2)))  # fmt: skip
            status, refused = await call(session, base, "POST", f"/api/accounts/{account_id}/delete")
            assert status == 400, refused
            assert "1 open order(s), 1 open algo order(s), 1 position(s)" in refused["msg"], refused
            assert (await client.futures_account())["positions"]  # nothing was deleted: its key works
            await client.futures_cancel_all_open_orders(symbol="ETHUSDT")
            await client.futures_cancel_all_open_orders(symbol="ETHUSDT", conditional=True)
            status, refused = await call(session, base, "POST", f"/api/accounts/{account_id}/delete")
            assert status == 400 and refused["msg"].startswith(f"account {account_id} still holds 1 position(s):")
            await client.futures_create_order(symbol="ETHUSDT", side="SELL", type="MARKET", quantity="1",
                                              reduceOnly="true")  # fmt: skip
            assert (await call(session, base, "POST", f"/api/accounts/{account_id}/delete")) == (200, {})
            with pytest.raises(BinanceAPIException) as gone:
                await client.futures_account()
            assert gone.value.code == -2015
        finally:
            await client.close_connection()


async def test_the_account_page_reads_the_engines_on_their_loop_and_changes_nothing(
    start_server: StartServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The account page's trading (positions, open orders, fills) is read on the loop that
    runs the engines, not in the thread the database's reads run in, where the loop could be
    changing it meanwhile; and reading an account that never traded makes nothing for it in
    the engines (no ledger, no seat a symbol)."""
    threads: list[int] = []

    def recording(engines: Any, account_id: int) -> Any:
        threads.append(threading.get_ident())
        return trading_view(engines, account_id)

    monkeypatch.setattr(app, "trading_view", recording)
    plant = await start_server(simulator=STILL, venue_db=str(tmp_path / "venue.db"), admin_port=free_port())
    base = plant.admin_url()
    async with aiohttp.ClientSession() as session:
        status, made = await call(session, base, "POST", "/api/accounts", {"name": "bob", "balances": "USDT=100"})
        assert status == 200
        account_id = made["account"]["accountId"]
        engines = plant.engines.values()
        before = [(len(engine.ledgers), len(engine.seats)) for engine in engines]
        status, shown = await call(session, base, "GET", f"/api/accounts/{account_id}")
    assert status == 200 and shown["trading"] == {
        market: {"positions": [], "openOrders": [], "fills": []} for market in ("um", "cm")
    }  # fmt: skip
    assert threads == [threading.get_ident()]  # this loop's thread: the server's, in process
    assert [(len(engine.ledgers), len(engine.seats)) for engine in engines] == before
