"""Operators change accounts while a single-process server trades: ``tickerplant accounts``
in processes of their own and the admin API in the server's, beside bursts of orders, and
the server killed with SIGKILL again and again in the middle of a burst. Every order it
acknowledged is in the journal under its id, every operator change is in the database and
took effect on the running server at its next request, and the file passes SQLite's
``PRAGMA integrity_check`` after every kill.

What this guards (the journal's checkpoint, now ``venue/journal/checkpointer.py``'s process): a
descriptor of the database opened and closed inside the server drops the process's POSIX locks on it, and the next
``tickerplant accounts`` deleted the WAL under the running server: from then on nothing it
committed survived a kill, and the operator's changes never reached it."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from pathlib import Path

import aiohttp
import pytest
from ports import free_port
from served_venue import SECRET, serve, signed
from timing import SECONDS, eventually

from tickerplant.clock import SystemClock
from tickerplant.market.instruments import Market
from tickerplant.venue.auth.accounts import KeyType
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.domain.money import parse_amount

ROUNDS = 2
INITIAL = parse_amount("1000000")


async def _accounts_command(path: Path, *args: str) -> str:
    """``tickerplant accounts --db path …`` in a process of its own: what it printed."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tickerplant.cli", "accounts", "--db", str(path), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    printed, _ = await process.communicate()
    assert process.returncode == 0, printed
    return printed.decode()


def _printed_key(printed: str) -> tuple[str, str]:
    """The API key and the secret ``keys add`` printed."""
    fields = dict(line.split(None, 1) if not line.startswith("api key") else ("key", line[7:])
                  for line in printed.splitlines() if line.startswith(("api key", "secret")))  # fmt: skip
    return fields["key"].strip(), fields["secret"].strip()


def _journaled(path: Path) -> dict[str, int]:
    """clientOrderId → orderId of every order in the journal, after ``integrity_check``."""
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        return dict(db.execute("SELECT client_order_id, order_id FROM venue_orders"))
    finally:
        db.close()


@pytest.mark.timeout(180)  # three starts of a real server, and a dozen commands' own processes
async def test_operators_beside_a_trading_server_lose_nothing_to_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "venue.db"
    store = AccountStore(path)
    now = SystemClock().now_ms()
    alice = store.create_account("alice", [(Market.UM, "USDT", INITIAL)], now).account_id
    alice_key = store.add_key(alice, KeyType.HMAC, SECRET, now_ms=now).api_key
    bob = store.create_account("bob", [(Market.UM, "USDT", INITIAL)], now).account_id
    bob_key = store.add_key(bob, KeyType.HMAC, SECRET, now_ms=now).api_key
    store.close()
    port, admin_port = free_port(), free_port()
    base, admin = f"http://127.0.0.1:{port}/fapi", f"http://127.0.0.1:{admin_port}/api"
    acknowledged: dict[str, int] = {}  # clientOrderId -> orderId, as the answers said
    deposited = 0
    added: list[tuple[str, str]] = []  # keys the operator made, the last one live
    for round_ in range(ROUNDS):
        async with serve(path, port, admin_port) as process, aiohttp.ClientSession() as session:
            depth = await (await session.get(f"{base}/v1/depth?symbol=ETHUSDT&limit=5")).json()
            below = f"{float(depth['bids'][-1][0]) - 20:.2f}"

            async def one(client_id: str, session: aiohttp.ClientSession = session, price: str = below) -> None:
                query = f"symbol=ETHUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.010&price={price}"
                try:
                    status, body = await signed(
                        session, "POST", f"{base}/v1/order", alice_key, f"{query}&newClientOrderId={client_id}"
                    )
                except aiohttp.ClientError:
                    return  # killed before it answered: not acknowledged, so it may be lost
                assert status == 200, body
                acknowledged[client_id] = body["orderId"]

            async def burst(tag: str, n: int, round_: int = round_) -> None:
                await asyncio.gather(*(one(f"r{round_}{tag}{i}") for i in range(n)))

            await burst("a", 15)
            before = path.stat()  # the checkpoint after those orders changes the file itself
            await eventually(lambda: path.stat()[6:] != before[6:], 10 * SECONDS)  # noqa: B023

            async def deposit_by_admin() -> None:
                async with session.post(f"{admin}/accounts/{alice}/deposit", json={"amounts": "USDT=2"}) as r:
                    assert r.status == 200, await r.text()

            changes = [
                _accounts_command(path, "keys", "add", str(alice)),
                _accounts_command(path, "deposit", str(alice), "USDT=1"),
                _accounts_command(path, "disable" if round_ % 2 == 0 else "enable", str(bob)),
                deposit_by_admin(),
                *([_accounts_command(path, "keys", "revoke", added[-1][0])] if added else []),
            ]
            results = await asyncio.gather(burst("b", 25), *changes)
            deposited += parse_amount("3")
            revoked = added[-1][0] if added else None
            added.append(_printed_key(str(results[1])))

            # each change took effect at the server's next request
            new_key, new_secret = added[-1]
            status, body = await signed(session, "GET", f"{base}/v2/balance", new_key, "", new_secret)
            assert status == 200, body
            wallet = next(b for b in body if b["asset"] == "USDT")["balance"]
            assert parse_amount(wallet) <= INITIAL + deposited  # trading only took fees, never gave
            status, body = await signed(session, "GET", f"{base}/v2/balance", bob_key, "")
            assert (status, body.get("code") if status != 200 else None) == (
                (401, -2015) if round_ % 2 == 0 else (200, None))  # fmt: skip
            if revoked is not None:
                status, body = await signed(session, "GET", f"{base}/v2/balance", revoked, "", SECRET)
                assert (status, body["code"]) == (401, -2015)

            sending = asyncio.ensure_future(burst("c", 20))
            await eventually(lambda: sum(c.startswith(f"r{round_}c") for c in acknowledged) >= 5, 30 * SECONDS)  # noqa: B023
            process.send_signal(signal.SIGKILL)  # in the middle of the burst
            await sending
        assert process.returncode in (-signal.SIGKILL, 255)  # 255: another child watcher took it
        journaled = _journaled(path)
        assert {c: journaled.get(c) for c in acknowledged} == acknowledged  # every one, under its id

    async with serve(path, port, admin_port), aiohttp.ClientSession() as session:
        status, every = await signed(session, "GET", f"{base}/v1/allOrders", alice_key, "symbol=ETHUSDT&limit=1000")
        assert status == 200, every
        assert {c: {o["clientOrderId"]: o["orderId"] for o in every}.get(c) for c in acknowledged} == acknowledged
    store = AccountStore(path)
    try:
        usdt = next(b for b in store.balances(alice) if b.asset == "USDT")
        assert usdt.amount == INITIAL + deposited  # every deposit, by either door
        assert [k.api_key for k in store.keys(alice)] == [alice_key, added[-1][0]]  # the revokes held
        assert store.account(bob).disabled is (ROUNDS % 2 == 1)
    finally:
        store.close()
