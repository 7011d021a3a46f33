"""The user data stream's transport over real sockets (trading part 4 §1, §2; overview
decisions 2 and 10): listen keys by REST from python-binance and raw requests, every URL
form clients dial, the events of one account on its key's connections only, the `events`
filter and the combined wrapper's names, DELETE going silent, and expiry after 60 minutes
without a keep-alive (`listenKeyExpired`, then a close) on a ManualClock.

The events pushed here are handed to the listener's user data streams
(``Listener.user_data.streams.push``), where the venue's engine hands its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest
from binance import AsyncClient, BinanceSocketManager
from binance_hosts import python_binance_at
from conftest import StartServer
from rawws import CLOSE, TEXT, RawWebSocket, close_code
from timing import eventually

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock, SystemClock
from tickerplant.market.instruments import Market
from tickerplant.protocol.user_streams import LISTEN_KEY
from tickerplant.venue.auth.accounts import KeyType
from tickerplant.venue.auth.signing import hmac_hex
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.domain.money import parse_amount
from tickerplant.venue.userstream.listen_keys import VALIDITY_MS

STILL = {"actions_per_s": 1e-9}
ALICE_SECRET, BOB_SECRET = "A" * 64, "B" * 64


@dataclass
class Accounts:
    path: Path
    alice: int
    bob: int
    alice_key: str
    bob_key: str


@pytest.fixture
def accounts(tmp_path: Path) -> Iterator[Accounts]:
    store = AccountStore(tmp_path / "venue.db")
    now = SystemClock().now_ms()
    alice = store.create_account("alice", [(Market.UM, "USDT", parse_amount("1000"))], now)
    bob = store.create_account("bob", [(Market.UM, "USDT", parse_amount("1000"))], now)
    alice_key = store.add_key(alice.account_id, KeyType.HMAC, ALICE_SECRET, now_ms=now).api_key
    bob_key = store.add_key(bob.account_id, KeyType.HMAC, BOB_SECRET, now_ms=now).api_key
    yield Accounts(tmp_path / "venue.db", alice.account_id, bob.account_id, alice_key, bob_key)
    store.close()


@pytest.fixture
async def clients() -> AsyncIterator[list[AsyncClient]]:
    made: list[AsyncClient] = []
    yield made
    for client in made:
        await client.close_connection()


def account_update(balance: str, when: int) -> bytes:
    """A transfer's ``ACCOUNT_UPDATE`` as part 4 §3.4 captures it (``m=DEPOSIT``, ``P=[]``)."""
    return (
        b'{"e":"ACCOUNT_UPDATE","T":%d,"E":%d,"a":{"B":[{"a":"USDT","wb":"%s","cw":"%s","bc":"100"}],'
        b'"P":[],"m":"DEPOSIT"}}' % (when, when + 1, balance.encode(), balance.encode())
    )


def order_update(when: int) -> bytes:
    return b'{"e":"ORDER_TRADE_UPDATE","T":%d,"E":%d,"o":{"s":"BTCUSDT","x":"NEW","X":"NEW"}}' % (when, when)


async def listen_key(session: aiohttp.ClientSession, port: int, method: str, api_key: str, market: str = "fapi") -> Any:
    url = f"http://127.0.0.1:{port}/{market}/v1/listenKey"
    async with session.request(method, url, headers={"X-MBX-APIKEY": api_key}) as response:
        return response.status, await response.json()


async def binance_client(plant: Tickerplant, made: list[AsyncClient], api_key: str, secret: str) -> AsyncClient:
    um, cm = (f"http://127.0.0.1:{plant.listeners[m].port}" for m in (Market.UM, Market.CM))
    client = await python_binance_at(um, cm, api_key, secret)
    made.append(client)
    return client


async def test_python_binance_gets_its_accounts_events_and_no_one_elses(
    start_server: StartServer, accounts: Accounts, clients: list[AsyncClient]
) -> None:
    plant = await start_server(simulator=STILL, venue_db=str(accounts.path))
    alice = await binance_client(plant, clients, accounts.alice_key, ALICE_SECRET)
    bob = await binance_client(plant, clients, accounts.bob_key, BOB_SECRET)
    key = await alice.futures_stream_get_listen_key()  # POST
    assert LISTEN_KEY.fullmatch(key) and await alice.futures_stream_get_listen_key() == key  # the live one
    await alice.futures_stream_keepalive(key)  # PUT, with its stray listenKey parameter
    bob_key = await bob.futures_stream_get_listen_key()
    assert bob_key != key
    cm_key = await alice.futures_coin_stream_get_listen_key()  # one per account and market
    assert cm_key not in (key, bob_key)

    um, cm = plant.listeners[Market.UM], plant.listeners[Market.CM]
    assert um.streams is not None and cm.streams is not None
    sockets = BinanceSocketManager(alice, max_queue_size=100)
    sockets.FSTREAM_URL = f"ws://127.0.0.1:{um.port}/"  # + private/ws?listenKey=<k>
    sockets.DSTREAM_URL = f"ws://127.0.0.1:{cm.port}/"  # + ws/<k>
    bob_sockets = BinanceSocketManager(bob, max_queue_size=100)
    bob_sockets.FSTREAM_URL = sockets.FSTREAM_URL
    mine, bobs = sockets.futures_user_socket(), bob_sockets.futures_user_socket()
    coin = sockets.coin_futures_user_socket()
    for socket in (mine, bobs, coin):
        await socket.__aenter__()
    await eventually(lambda: len(um.streams.connections) == 2 and len(cm.streams.connections) == 1)
    now = plant.clock.now_ms()
    assert um.user_data.streams.push(accounts.alice, "ACCOUNT_UPDATE", account_update("1100", now), now)
    assert um.user_data.streams.push(accounts.bob, "ORDER_TRADE_UPDATE", order_update(now), now)
    assert cm.user_data.streams.push(accounts.alice, "ORDER_TRADE_UPDATE", order_update(now + 5), now)
    assert msgspec.json.decode(account_update("1100", now)) == await mine.recv()
    assert msgspec.json.decode(order_update(now)) == await bobs.recv()
    assert msgspec.json.decode(order_update(now + 5)) == await coin.recv()
    # each got its own and nothing else: one more of alice's comes next on hers
    assert um.user_data.streams.push(accounts.alice, "ORDER_TRADE_UPDATE", order_update(now + 9), now)
    assert msgspec.json.decode(order_update(now + 9)) == await mine.recv()
    # python-binance's read loop sees that it is closing only when a frame comes (or after
    # its 10 s receive timeout): the sockets start closing, then one more event each
    closing = [asyncio.create_task(socket.__aexit__(None, None, None)) for socket in (mine, bobs, coin)]
    await asyncio.sleep(0)
    for listener, account in ((um, accounts.alice), (um, accounts.bob), (cm, accounts.alice)):
        listener.user_data.streams.push(account, "ORDER_TRADE_UPDATE", order_update(now), now)
    await asyncio.gather(*closing)
    assert await alice.futures_stream_close(key) == {}  # DELETE
    with pytest.raises(Exception, match="-1125"):
        await alice.futures_stream_keepalive(key)


async def test_every_url_form_and_the_events_filter(
    start_server: StartServer, accounts: Accounts, caplog: pytest.LogCaptureFixture
) -> None:
    plant = await start_server(simulator=STILL, venue_db=str(accounts.path))
    um = plant.listeners[Market.UM]
    assert um.streams is not None
    async with aiohttp.ClientSession() as session:
        status, body = await listen_key(session, um.port, "POST", accounts.alice_key)
    assert status == 200 and list(body) == ["listenKey"]
    key = body["listenKey"]
    forms = {
        f"/private/ws?listenKey={key}": None,  # ccxt, python-binance, hummingbot: raw
        f"/private/ws?listenKey={key}&events=ORDER_TRADE_UPDATE": None,  # only that event
        f"/private/ws/{key}": None,
        f"/private/stream?listenKey={key}": key,  # tiagosiebler: wrapped under the key
        f"/private/stream?listenKey={key}&events=ACCOUNT_UPDATE%2FMARGIN_CALL": f"{key}@ACCOUNT_UPDATE",
        f"/ws/{key}": None,  # legacy forms: still served (decision 2), with a warning
        f"/ws?listenKey={key}": None,
        f"/stream?streams={key}": key,  # nautilus_trader
        f"/public/ws?listenKey={key}": "silent",  # /public carries no user data
    }
    connected = {path: await RawWebSocket.connect(um.port, path) for path in forms}
    subscribed = await RawWebSocket.connect(um.port, "/private/stream")  # the modular SDK
    subscribed.send_text(b'{"method":"SUBSCRIBE","params":["%s"],"id":1}' % key.encode())
    assert msgspec.json.decode((await subscribed.recv()).payload) == {"result": None, "id": 1}
    await eventually(lambda: len(um.streams.connections) == len(forms) + 1)
    now = plant.clock.now_ms()
    update = account_update("1100", now)
    um.user_data.streams.push(accounts.alice, "ACCOUNT_UPDATE", update, now)
    um.user_data.streams.push(accounts.alice, "ORDER_TRADE_UPDATE", order_update(now), now)
    for path, wrapped in forms.items():
        ws = connected[path]
        if wrapped == "silent":
            continue
        got = [msgspec.json.decode((await ws.recv()).payload) for _ in range(1 if "events=" in path else 2)]
        expected = [update, order_update(now)]
        if "events=ORDER" in path:
            expected = [order_update(now)]
        elif "events=ACCOUNT" in path:
            expected = [update]
        if wrapped is None:
            assert got == [msgspec.json.decode(e) for e in expected], path
        else:
            assert got == [{"stream": wrapped, "data": msgspec.json.decode(e)} for e in expected], path
    first = msgspec.json.decode((await subscribed.recv()).payload)
    assert first == {"stream": key, "data": msgspec.json.decode(update)}
    # nothing more came anywhere, on the silent one neither: a barrier through each
    um.user_data.streams.push(accounts.alice, "MARGIN_CALL", b'{"e":"MARGIN_CALL","E":1}', now)
    wrapped_call = {"stream": f"{key}@MARGIN_CALL", "data": {"e": "MARGIN_CALL", "E": 1}}
    path = f"/private/stream?listenKey={key}&events=ACCOUNT_UPDATE%2FMARGIN_CALL"
    assert msgspec.json.decode((await connected[path].recv()).payload) == wrapped_call
    silent = connected[f"/public/ws?listenKey={key}"]
    silent.send_text(b'{"method":"LIST_SUBSCRIPTIONS","id":7}')
    assert msgspec.json.decode((await silent.recv()).payload) == {"result": [key], "id": 7}  # acknowledged
    for ws in [*connected.values(), subscribed]:
        await ws.close()
    # the legacy forms and /public were warned about, and no log line holds the key
    warned = [r.getMessage() for r in caplog.records if "listen key" in r.getMessage()]
    assert any("no longer serves" in line for line in warned) and any("no user data" in line for line in warned)
    assert not any(key in r.getMessage() or key in str(r.__dict__) for r in caplog.records)


async def test_delete_goes_silent_and_sixty_minutes_without_a_keep_alive_end_the_key(
    start_server: StartServer, accounts: Accounts
) -> None:
    clock = ManualClock(SystemClock().now_ms())
    plant = await start_server(
        clock=clock, simulator=STILL, venue_db=str(accounts.path), limits={"ping_interval_s": 3 * 3600.0, "pong_timeout_s": 3 * 3600.0}
    )  # no pings (and pong deadlines) while the hour passes
    um = plant.listeners[Market.UM]
    assert um.streams is not None
    async with aiohttp.ClientSession() as session:
        key = (await listen_key(session, um.port, "POST", accounts.alice_key))[1]["listenKey"]
        bob_key = (await listen_key(session, um.port, "POST", accounts.bob_key))[1]["listenKey"]
        alice_ws = await RawWebSocket.connect(um.port, f"/private/ws?listenKey={key}")
        bob_ws = await RawWebSocket.connect(um.port, f"/private/ws?listenKey={bob_key}")
        # by event: the expiry all the same, once (part 4 Unresolved 6), under its own item's name
        events = "events=ORDER_TRADE_UPDATE/ACCOUNT_UPDATE"
        filtered = await RawWebSocket.connect(um.port, f"/private/ws?listenKey={key}&{events}")
        wrapped = await RawWebSocket.connect(um.port, f"/private/stream?listenKey={key}&{events}")
        await eventually(lambda: len(um.streams.connections) == 4)

        # Bob keeps his alive at 59 minutes; Alice does not
        clock.advance(VALIDITY_MS - 60_000)
        assert await listen_key(session, um.port, "PUT", accounts.bob_key) == (200, {"listenKey": bob_key})
        clock.advance(60_000)
        expired = msgspec.json.decode((await alice_ws.recv_until(TEXT)).payload)
        assert expired == {"e": "listenKeyExpired", "E": clock.now_ms(), "listenKey": key}
        closing = await alice_ws.recv_until(CLOSE)
        assert close_code(closing) == (1000, "listenKey expired")
        for ws, name in ((filtered, None), (wrapped, f"{key}@listenKeyExpired")):  # not another event's
            frames = [await ws.recv()]
            while frames[-1].opcode != CLOSE:
                frames.append(await ws.recv())
            (text,) = [msgspec.json.decode(f.payload) for f in frames if f.opcode == TEXT]
            assert text == (expired if name is None else {"stream": name, "data": expired})
        assert await listen_key(session, um.port, "PUT", accounts.alice_key) == (
            400, {"code": -1125, "msg": "This listenKey does not exist."},
        )  # fmt: skip
        new = (await listen_key(session, um.port, "POST", accounts.alice_key))[1]["listenKey"]
        assert new != key  # a new key after expiry

        # Bob's lives on; DELETE ends it at once, silently: the socket stays, nothing comes
        now = clock.now_ms()
        assert um.user_data.streams.push(accounts.bob, "ORDER_TRADE_UPDATE", order_update(now), now)
        assert (await bob_ws.recv()).opcode == TEXT
        assert await listen_key(session, um.port, "DELETE", accounts.bob_key) == (200, {})
        assert not um.user_data.streams.push(accounts.bob, "ORDER_TRADE_UPDATE", order_update(now), now)
        bob_ws.send_text(b'{"method":"LIST_SUBSCRIPTIONS","id":2}')
        assert msgspec.json.decode((await bob_ws.recv()).payload) == {"result": [bob_key], "id": 2}
        # a key is one account's: Bob's key header never touches Alice's key
        assert await listen_key(session, um.port, "PUT", accounts.bob_key) == (
            400, {"code": -1125, "msg": "This listenKey does not exist."},
        )  # fmt: skip
        assert await listen_key(session, um.port, "PUT", accounts.alice_key) == (200, {"listenKey": new})
        assert (await listen_key(session, um.port, "POST", "x" * 64))[0] == 401  # -2015, as any private call
    await bob_ws.close()
    await alice_ws.close()


async def signed_post(
    session: aiohttp.ClientSession, port: int, path: str, api_key: str, query: str, now_ms: int | None = None
) -> Any:
    """Signed at ``now_ms``: the server's time when it runs on a manual clock (the real time
    may be ahead of it by more than Binance's second)."""
    query = f"{query}&timestamp={SystemClock().now_ms() if now_ms is None else now_ms}"
    signature = hmac_hex(ALICE_SECRET, query.encode())
    url = f"http://127.0.0.1:{port}{path}?{query}&signature={signature}"
    async with session.post(url, headers={"X-MBX-APIKEY": api_key}) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def test_a_key_on_the_other_market_s_listener_is_an_unknown_key_there(
    start_server: StartServer, accounts: Accounts
) -> None:
    """Part 4 §2.1, §2.5: a USDⓈ-M key is fstream's, a COIN-M key dstream's; dialled on the
    other host it is a key that host does not know: the handshake completes, the
    subscription is acknowledged and nothing is ever sent, its expiry included (the
    connection stays open), exactly as for a key nobody made."""
    clock = ManualClock(SystemClock().now_ms())
    plant = await start_server(
        clock=clock, simulator=STILL, venue_db=str(accounts.path),
        limits={"ping_interval_s": 3 * 3600.0, "pong_timeout_s": 3 * 3600.0},
    )  # fmt: skip
    um, cm = plant.listeners[Market.UM], plant.listeners[Market.CM]
    assert um.streams is not None and cm.streams is not None
    async with aiohttp.ClientSession() as session:
        um_key = (await listen_key(session, um.port, "POST", accounts.alice_key))[1]["listenKey"]
        cm_key = (await listen_key(session, cm.port, "POST", accounts.alice_key, "dapi"))[1]["listenKey"]
        unknown = "u" * 64
        own = {
            um.port: await RawWebSocket.connect(um.port, f"/private/ws?listenKey={um_key}"),
            cm.port: await RawWebSocket.connect(cm.port, f"/ws/{cm_key}"),
        }
        forms = ("/ws/{k}", "/private/ws?listenKey={k}", "/stream?streams={k}")
        other = {  # (listener, form) -> (the other market's key there, an unknown key there)
            (port, form): (
                await RawWebSocket.connect(port, form.format(k=key)),
                await RawWebSocket.connect(port, form.format(k=unknown)),
            )
            for port, key in ((cm.port, um_key), (um.port, cm_key))
            for form in forms
        }
        assert all(ws.status == 101 for pair in other.values() for ws in pair)  # the handshake completes
        await eventually(lambda: len(um.streams.connections) == len(cm.streams.connections) == 7)

        # each market's engine reports a leverage change to its own key: ACCOUNT_CONFIG_UPDATE
        query = "symbol=BTCUSDT&leverage=7"
        await signed_post(session, um.port, "/fapi/v1/leverage", accounts.alice_key, query, clock.now_ms())
        query = "symbol=BTCUSD_PERP&leverage=9"
        await signed_post(session, cm.port, "/dapi/v1/leverage", accounts.alice_key, query, clock.now_ms())
        for port, symbol, leverage in ((um.port, "BTCUSDT", 7), (cm.port, "BTCUSD_PERP", 9)):
            event = msgspec.json.decode((await own[port].recv()).payload)
            assert event["e"] == "ACCOUNT_CONFIG_UPDATE" and event["ac"] == {"s": symbol, "l": leverage}

        # then an hour without a keep-alive: both keys expire on their own listeners
        clock.advance(VALIDITY_MS)
        for ws, key in ((own[um.port], um_key), (own[cm.port], cm_key)):
            assert msgspec.json.decode((await ws.recv_until(TEXT)).payload)["listenKey"] == key
            assert close_code(await ws.recv_until(CLOSE)) == (1000, "listenKey expired")

        # on the other listener neither the events nor the expiry came, and the connection
        # answers as an unknown key's does: LIST_SUBSCRIPTIONS is a barrier behind anything
        # that was queued for it
        for (port, form), (dialled, stranger) in other.items():
            key = um_key if port == cm.port else cm_key
            for ws, named in ((dialled, key), (stranger, unknown)):
                ws.send_text(b'{"method":"LIST_SUBSCRIPTIONS","id":3}')
                frame = await ws.recv()
                assert frame.opcode == TEXT, (port, form)
                assert msgspec.json.decode(frame.payload) == {"result": [named], "id": 3}, (port, form)
        for ws in [*own.values(), *(ws for pair in other.values() for ws in pair)]:
            await ws.close()


async def test_a_filtered_connection_gets_a_commands_events_in_their_order(
    start_server: StartServer, accounts: Accounts
) -> None:
    """Part 4 §4.3: one command's events go out in the order they were made, to a connection
    that takes two of their names (``events=``, or a SUBSCRIBE of ``<key>@<event>`` each) as
    to one that takes the key: the fan-out joined each name's frames at its flush, and such a
    connection got every ``ACCOUNT_UPDATE`` of a MARKET order's fills before its
    ``ORDER_TRADE_UPDATE``s (one ``E``: nothing a client could put back in order by)."""
    plant = await start_server(simulator=STILL, venue_db=str(accounts.path))
    um = plant.listeners[Market.UM]
    assert um.streams is not None
    async with aiohttp.ClientSession() as session:
        key = (await listen_key(session, um.port, "POST", accounts.alice_key))[1]["listenKey"]
    whole = await RawWebSocket.connect(um.port, f"/private/ws?listenKey={key}")
    filtered = await RawWebSocket.connect(um.port, f"/private/ws?listenKey={key}&events=ORDER_TRADE_UPDATE/ACCOUNT_UPDATE")
    subscribed = await RawWebSocket.connect(um.port, "/private/stream")
    subscribed.send_text(b'{"method":"SUBSCRIBE","params":["%s@ORDER_TRADE_UPDATE","%s@ACCOUNT_UPDATE"],"id":1}'
                         % (key.encode(), key.encode()))  # fmt: skip
    assert msgspec.json.decode((await subscribed.recv()).payload) == {"result": None, "id": 1}
    await eventually(lambda: len(um.streams.connections) == 3)
    now = plant.clock.now_ms()
    made = [(order_update(now), "ORDER_TRADE_UPDATE")] + [
        (account_update(str(1000 + n), now), "ACCOUNT_UPDATE") if n % 2 else (order_update(now + n), "ORDER_TRADE_UPDATE")
        for n in range(1, 7)
    ]  # a MARKET order's: its NEW, then a fill's ACCOUNT_UPDATE and ORDER_TRADE_UPDATE, three times
    for payload, event in made:  # one loop turn: one flush
        um.user_data.streams.push(accounts.alice, event, payload, now)
    expected = [msgspec.json.decode(payload) for payload, _ in made]
    for ws in (whole, filtered):
        assert [msgspec.json.decode((await ws.recv()).payload) for _ in made] == expected
    got = [msgspec.json.decode((await subscribed.recv()).payload) for _ in made]
    assert [(g["stream"], g["data"]) for g in got] == [(f"{key}@{e}", d) for (_, e), d in zip(made, expected, strict=True)]
    for ws in (whole, filtered, subscribed):
        await ws.close()


async def test_a_deleted_accounts_streams_end_in_both_markets_though_it_has_one_wallet(
    start_server: StartServer, accounts: Accounts
) -> None:
    """``accounts delete`` ends the account's user data streams (docs/venue.md, "Accounts"):
    ``listenKeyExpired``, then closed, on USDⓈ-M and COIN-M alike. Alice has no COIN-M wallet,
    so the delete tells that market nothing of her (its WITHDRAW is USDⓈ-M's): her COIN-M
    stream stayed open, silent, until its key's hour ran out."""
    plant = await start_server(simulator=STILL, venue_db=str(accounts.path))
    um, cm = plant.listeners[Market.UM], plant.listeners[Market.CM]
    async with aiohttp.ClientSession() as session:
        keys = {
            "fapi": (await listen_key(session, um.port, "POST", accounts.alice_key))[1]["listenKey"],
            "dapi": (await listen_key(session, cm.port, "POST", accounts.alice_key, "dapi"))[1]["listenKey"],
        }
        streams = {
            "fapi": await RawWebSocket.connect(um.port, f"/private/ws?listenKey={keys['fapi']}"),
            "dapi": await RawWebSocket.connect(cm.port, f"/ws/{keys['dapi']}"),
        }
        await eventually(lambda: um.streams is not None and cm.streams is not None
                         and len(um.streams.connections) == len(cm.streams.connections) == 1)  # fmt: skip
        store = AccountStore(accounts.path)
        try:
            store.delete(accounts.alice)
        finally:
            store.close()
        for market, ws in streams.items():
            expired = msgspec.json.decode((await ws.recv_until(TEXT)).payload)
            assert (expired["e"], expired["listenKey"]) == ("listenKeyExpired", keys[market]), market
            assert close_code(await ws.recv_until(CLOSE)) == (1000, "listenKey expired"), market


async def test_list_subscriptions_on_private_ws_lists_the_events_sorted(
    start_server: StartServer, accounts: Accounts
) -> None:
    """Trading part 4 §2.2: one item per key×event, sorted, whatever the URL's order."""
    plant = await start_server(simulator=STILL, venue_db=str(accounts.path))
    um = plant.listeners[Market.UM]
    async with aiohttp.ClientSession() as session:
        _, body = await listen_key(session, um.port, "POST", accounts.alice_key)
    key = body["listenKey"]
    events = "ORDER_TRADE_UPDATE/ACCOUNT_UPDATE/listenKeyExpired/MARGIN_CALL"
    ws = await RawWebSocket.connect(um.port, f"/private/ws?listenKey={key}&events={events}")
    ws.send_text(b'{"method":"LIST_SUBSCRIPTIONS","id":1}')
    assert (await ws.recv()).payload == b'{"result":["%s@ACCOUNT_UPDATE","%s@MARGIN_CALL",' % (
        key.encode(),
        key.encode(),
    ) + b'"%s@ORDER_TRADE_UPDATE","%s@listenKeyExpired"],"id":1}' % (key.encode(), key.encode())
    await ws.close()
