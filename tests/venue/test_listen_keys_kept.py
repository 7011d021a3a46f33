"""Listen keys outlive the server (part 4 §1.1: a key lives 60 minutes from its start or its
last keep-alive, whatever happens to the servers behind it): each start, keep-alive and close
is journaled before its answer, and a server started again on the journal takes back the keys
still live, so a client that reconnects on its key after a kill -9 is fed at once and its
keep-alive is not ``-1125``. A closed key, one expired meanwhile, one ended early and a
disabled account's are not taken back."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
from ports import free_port
from served_venue import account, serve, signed
from timing import SECONDS

from tickerplant.clock import ManualClock
from tickerplant.gateway.user_data import UserData
from tickerplant.market.instruments import Market
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.journal.group_commit import Stamped
from tickerplant.venue.journal.listen_key_rows import held_listen_keys
from tickerplant.venue.journal.sqlite_journal import SqliteJournal
from tickerplant.venue.userstream.listen_keys import VALIDITY_MS

T0 = 1_767_225_600_000


def test_the_journal_keeps_the_live_keys_and_a_start_takes_back_only_those(tmp_path: Path) -> None:
    path = tmp_path / "venue.db"
    ids = [account(path, name, Market.UM, "USDT", "100")[0] for name in ("a", "b", "c", "d", "e")]
    a, b, c, d, e = ids
    store = AccountStore(path)
    journal = SqliteJournal(path)
    clock = ManualClock(T0)
    first = UserData(clock)
    assert first.keep(Stamped(journal, "um"), held_listen_keys(journal, "um"), store) == 0
    kept_a, kept_b = first.start(a, T0), first.start(b, T0)
    first.start(c, T0)
    first.start(d, T0)
    first.start(e, T0)
    first.close(b)  # closed: its row goes
    assert first.keep_alive(a, T0 + 50 * 60_000) == kept_a  # a lives until T0 + 110 min
    first.streams.expire_early([c], T0)  # by hand here: the streams alone do not journal
    first.streams.expire_early([d], T0)  # ended early (a fault, a revoked key), as drain and _timed do
    first._journal_closed([d])
    store.set_disabled(e, True)
    held = {account_id: (key, until) for account_id, key, until in held_listen_keys(journal, "um")}
    assert held[a] == (kept_a, T0 + 50 * 60_000 + VALIDITY_MS) and b not in held and d not in held
    assert held_listen_keys(journal, "cm") == []  # one market's keys are not the other's

    clock.set(T0 + 61 * 60_000)  # the server starts again after c's hour: a's slid past it
    again = UserData(clock)
    assert again.keep(Stamped(journal, "um"), held_listen_keys(journal, "um"), store) == 1
    assert again.keys.key_of(a, clock.now_ms()) == kept_a
    assert again.keys.accounts(clock.now_ms()) == [a]  # not c (expired), d (ended), e (disabled)
    assert again.start(a, clock.now_ms()) == kept_a  # one key an account, the same one
    assert again.keep_alive(b, clock.now_ms()) is None
    assert kept_b not in {k for _, k, _ in held_listen_keys(journal, "um")}
    assert again.keys.next_expiry_ms() == clock.now_ms() + VALIDITY_MS  # timed again from its keep-alive
    # the rows not taken back were closed: e enabled again finds no old key at a later start
    assert [account_id for account_id, _, _ in held_listen_keys(journal, "um")] == [a]
    store.set_disabled(e, False)
    third = UserData(clock)
    assert third.keep(Stamped(journal, "um"), held_listen_keys(journal, "um"), store) == 1
    assert third.keys.accounts(clock.now_ms()) == [a]
    # a clock behind the journal's (a replay's earlier time): a's end is more than an hour
    # away from it, so it is not taken back to outlive its 60 minutes
    behind = UserData(ManualClock(T0 - 30 * 86_400_000))
    assert behind.keep(Stamped(journal, "um"), held_listen_keys(journal, "um"), store) == 0
    assert held_listen_keys(journal, "um") == []
    store.close()
    journal.close()


async def _received(ws: aiohttp.ClientWebSocketResponse, event: str) -> dict[str, Any]:
    async with asyncio.timeout(20 * SECONDS):
        while True:
            message = msgspec.json.decode((await ws.receive()).data)
            if message.get("e") == event:
                return dict(message)


async def test_a_client_reconnecting_on_its_key_after_kill_9_is_fed_at_once(tmp_path: Path) -> None:
    path = tmp_path / "venue.db"
    _, key = account(path, "alice", Market.UM, "USDT", "10000")
    _, closer = account(path, "bob", Market.UM, "USDT", "10000")
    port = free_port()
    base, header = f"http://127.0.0.1:{port}/fapi/v1", {"X-MBX-APIKEY": key}
    async with serve(path, port) as process, aiohttp.ClientSession() as session:
        async with session.post(f"{base}/listenKey", headers=header) as answer:
            listen_key = (await answer.json())["listenKey"]
        async with session.post(f"{base}/listenKey", headers={"X-MBX-APIKEY": closer}) as answer:
            closed = (await answer.json())["listenKey"]
        async with session.delete(f"{base}/listenKey", headers={"X-MBX-APIKEY": closer}) as answer:
            assert answer.status == 200
        process.send_signal(signal.SIGKILL)  # the answers were given: the keys are journaled
        await process.wait()

    reconnect = f"ws://127.0.0.1:{port}/ws/{listen_key}"  # as a client reconnects on its key
    async with serve(path, port), aiohttp.ClientSession() as session, session.ws_connect(reconnect) as ws:
        # fed before any keep-alive: the key was live again from the start
        depth = await (await session.get(f"{base}/depth?symbol=ETHUSDT&limit=5")).json()
        below = f"{float(depth['bids'][-1][0]) - 20:.2f}"
        query = f"symbol=ETHUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.010&price={below}"
        status, order = await signed(session, "POST", f"{base}/order", key, query)
        assert status == 200, order
        update = await _received(ws, "ORDER_TRADE_UPDATE")
        assert (update["o"]["i"], update["o"]["x"]) == (order["orderId"], "NEW")
        async with session.put(f"{base}/listenKey", headers=header) as answer:
            assert (answer.status, await answer.json()) == (200, {"listenKey": listen_key})
        async with session.post(f"{base}/listenKey", headers=header) as answer:
            assert (await answer.json()) == {"listenKey": listen_key}  # its one key, not a new one
        async with session.put(f"{base}/listenKey", headers={"X-MBX-APIKEY": closer}) as answer:
            assert (answer.status, await answer.json()) == (
                400, {"code": -1125, "msg": "This listenKey does not exist."}
            )  # fmt: skip
    assert closed != listen_key
