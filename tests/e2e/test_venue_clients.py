"""Signed requests from third-party clients over a real socket: python-binance (HMAC and
Ed25519), ccxt (HMAC and Ed25519) and Binance's modular SDK (RSA) read their account's
balance; the failures of part 1 §10 come back as Binance answers them."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import ccxt.pro as ccxtpro
import pytest
from binance import AsyncClient
from binance.exceptions import BinanceAPIException
from binance_common.configuration import ConfigurationRestAPI
from binance_hosts import python_binance_at
from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
    DerivativesTradingUsdsFutures,
)
from ccxt_hosts import point
from conftest import StartServer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, generate_private_key
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from ports import free_port
from rawws import RawWebSocket
from timing import eventually

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock, SystemClock
from tickerplant.feeds.simulator.pump import SimulatedMarket
from tickerplant.market.instruments import Market
from tickerplant.venue.auth.accounts import KeyType
from tickerplant.venue.auth.signing import hmac_hex
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.domain.money import parse_amount

STILL = {"actions_per_s": 1e-9}


@dataclass
class Key:
    api_key: str
    secret: str  # the HMAC secret, or the private key in PEM the client signs with


@dataclass
class Venue:
    path: Path
    store: AccountStore
    alice: int
    bob: int
    alice_hmac: Key
    alice_ed25519: Key
    alice_rsa: Key
    bob_hmac: Key


def _private_pem(private: Any) -> str:
    return str(private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode())


def _public_pem(private: Any) -> str:
    return str(private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode())


@functools.cache  # one a process: each test's own made 2,048 bits afresh, ~70 ms of a core a test
def _rsa_key() -> RSAPrivateKey:
    """An RSA key for alice's third API key: what the tests check is that each client signs
    with an RSA key the venue knows, not which key it is (each test's database is its own)."""
    return generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def venue(tmp_path: Path) -> Iterator[Venue]:
    store = AccountStore(tmp_path / "venue.db")
    now = SystemClock().now_ms()
    alice = store.create_account("alice", [(Market.UM, "USDT", parse_amount("10000")),
                                           (Market.CM, "BTC", parse_amount("1.5"))], now)  # fmt: skip
    bob = store.create_account("bob", [(Market.UM, "USDT", parse_amount("42.125"))], now)
    ed, rsa = Ed25519PrivateKey.generate(), _rsa_key()
    keys = [
        Key(store.add_key(alice.account_id, KeyType.HMAC, "A" * 64, now_ms=now).api_key, "A" * 64),
        Key(store.add_key(alice.account_id, KeyType.ED25519, _public_pem(ed), now_ms=now).api_key, _private_pem(ed)),
        Key(store.add_key(alice.account_id, KeyType.RSA, _public_pem(rsa), now_ms=now).api_key, _private_pem(rsa)),
        Key(store.add_key(bob.account_id, KeyType.HMAC, "B" * 64, now_ms=now).api_key, "B" * 64),
    ]
    yield Venue(tmp_path / "venue.db", store, alice.account_id, bob.account_id, *keys)
    store.close()


@pytest.fixture
async def plant(start_server: StartServer, venue: Venue) -> Tickerplant:
    return await start_server(simulator=STILL, venue_db=str(venue.path))


@pytest.fixture
async def closing() -> AsyncIterator[list[Any]]:
    made: list[Any] = []
    yield made
    for client in made:
        await (client.close_connection() if isinstance(client, AsyncClient) else client.close())


async def python_binance(plant: Tickerplant, made: list[Any], key: Key, *, pem: bool = False) -> AsyncClient:
    um, cm = (f"http://127.0.0.1:{plant.listeners[m].port}" for m in (Market.UM, Market.CM))
    signing = {"private_key": key.secret} if pem else {"api_secret": key.secret}
    client = await python_binance_at(um, cm, key.api_key, **signing)
    made.append(client)
    return client


class MovingMarket:
    """A server on a manual clock with a simulated market at 400 actions a second, and
    alice's python-binance client, its timestamps on that clock."""

    def __init__(self, plant: Tickerplant, clock: ManualClock, client: AsyncClient) -> None:
        source = plant.source
        assert isinstance(source, SimulatedMarket)
        self.plant, self.clock, self.client, self.source = plant, clock, client, source
        self.engine = plant.engines[Market.UM]
        client.timestamp_offset = clock.now_ms() - int(time.time() * 1000)

    async def advance(self, ms: int) -> None:
        """``ms`` later, once the simulated market has stepped to it."""
        clock, source = self.clock, self.source
        clock.advance(ms)
        await eventually(lambda: source.stepped_ms >= clock.now_ms())
        # the client's time from here on: set once the market has stepped (a few minutes of it
        # can take a second of real time, which python-binance's clock would run ahead, -1021)
        self.client.timestamp_offset = clock.now_ms() - int(time.time() * 1000)


async def moving_market(
    start_server: StartServer, venue: Venue, closing: list[Any], start_ms: int, seed: int
) -> MovingMarket:
    clock = ManualClock(start_ms)
    simulator = {"actions_per_s": 400.0, "seed": seed}
    plant = await start_server(clock=clock, simulator=simulator, venue_db=str(venue.path))
    return MovingMarket(plant, clock, await python_binance(plant, closing, venue.alice_hmac))


async def user_stream(plant: Tickerplant, key: Key) -> RawWebSocket:
    """The key's account's user data stream: a listen key by REST, its raw connection, once the
    server holds it."""
    um = plant.listeners[Market.UM]
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{um.port}/fapi/v1/listenKey"
        async with session.post(url, headers={"X-MBX-APIKEY": key.api_key}) as response:
            listen_key = (await response.json())["listenKey"]
    held = len(um.streams.connections) if um.streams is not None else 0
    user = await RawWebSocket.connect(um.port, f"/private/ws?listenKey={listen_key}")
    await eventually(lambda: um.streams is not None and len(um.streams.connections) == held + 1)
    return user


def ccxt_usdm(plant: Tickerplant, made: list[Any], key: Key) -> Any:
    # at its defaults but for a user setting (ccxt_hosts.py)
    exchange = ccxtpro.binanceusdm({"apiKey": key.api_key, "secret": key.secret, "enableRateLimit": False})
    local = f"http://127.0.0.1:{plant.listeners[Market.UM].port}"
    made.append(exchange)
    return point(exchange, {"https://fapi.binance.com": local, "https://api.binance.com": local})


USDT_10000 = {
    "asset": "USDT", "balance": "10000.00000000", "crossWalletBalance": "10000.00000000",
    "crossUnPnl": "0.00000000", "availableBalance": "10000.00000000", "maxWithdrawAmount": "10000.00000000",
    "marginAvailable": True,
}  # fmt: skip
UM_KEYS = [
    "accountAlias", "asset", "balance", "crossWalletBalance", "crossUnPnl", "availableBalance",
    "maxWithdrawAmount", "marginAvailable", "updateTime",
]  # fmt: skip
CM_KEYS = [
    "accountAlias", "asset", "balance", "withdrawAvailable", "crossWalletBalance", "crossUnPnl",
    "availableBalance", "updateTime",
]  # fmt: skip


async def test_python_binance_hmac_reads_both_markets(plant: Tickerplant, venue: Venue, closing: list[Any]) -> None:
    client = await python_binance(plant, closing, venue.alice_hmac)
    alias = venue.store.account(venue.alice).alias
    rows = await client.futures_account_balance()  # GET /fapi/v3/balance
    assert [r["asset"] for r in rows] == ["USDT", "USDC", "BNB", "BTC", "ETH", "FDUSD", "BFUSD"]
    assert list(rows[0]) == UM_KEYS  # Binance's key order (part 3 §4.1)
    assert {k: v for k, v in rows[0].items() if k not in ("accountAlias", "updateTime")} == USDT_10000
    assert rows[0]["accountAlias"] == alias and rows[0]["updateTime"] > 0
    assert rows[1]["balance"] == "0.00000000" and rows[1]["updateTime"] == 0
    coin = await client.futures_coin_account_balance()  # GET /dapi/v1/balance
    assert list(coin[0]) == CM_KEYS
    btc = next(r for r in coin if r["asset"] == "BTC")
    assert (btc["balance"], btc["withdrawAvailable"], btc["accountAlias"]) == ("1.50000000", "1.50000000", alias)


async def test_python_binance_ed25519(plant: Tickerplant, venue: Venue, closing: list[Any]) -> None:
    client = await python_binance(plant, closing, venue.alice_ed25519, pem=True)
    rows = await client.futures_account_balance()
    assert rows[0]["balance"] == "10000.00000000"


@pytest.mark.parametrize("which", ["alice_hmac", "alice_ed25519"])
async def test_ccxt_signs_hmac_and_ed25519(plant: Tickerplant, venue: Venue, closing: list[Any], which: str) -> None:
    exchange = ccxt_usdm(plant, closing, getattr(venue, which))
    for call in (exchange.fapiprivatev3_get_balance, exchange.fapiprivatev2_get_balance):
        rows = await call()  # timestamp first, recvWindow 10000, urlencoded (part 1 §11)
        assert rows[0]["asset"] == "USDT" and rows[0]["balance"] == "10000.00000000"


async def test_binance_sdk_rsa(plant: Tickerplant, venue: Venue) -> None:
    port = plant.listeners[Market.UM].port
    configuration = ConfigurationRestAPI(
        api_key=venue.alice_rsa.api_key, private_key=venue.alice_rsa.secret,
        base_path=f"http://127.0.0.1:{port}",
    )  # fmt: skip
    client = DerivativesTradingUsdsFutures(config_rest_api=configuration)
    response = await asyncio.to_thread(client.rest_api.futures_account_balance_v3)
    rows = response.data()
    assert (rows[0].asset, rows[0].balance) == ("USDT", "10000.00000000")


async def test_binance_sdk_toggles_the_bnb_fee_discount(plant: Tickerplant, venue: Venue) -> None:
    """``GET``/``POST /fapi/v1/feeBurn`` (part 3 §2.1) as the SDK calls them; the v2 account
    shows the setting."""
    port = plant.listeners[Market.UM].port
    configuration = ConfigurationRestAPI(
        api_key=venue.bob_hmac.api_key, api_secret=venue.bob_hmac.secret,
        base_path=f"http://127.0.0.1:{port}",
    )  # fmt: skip
    api = DerivativesTradingUsdsFutures(config_rest_api=configuration).rest_api
    assert (await asyncio.to_thread(api.get_bnb_burn_status)).data().fee_burn is False
    toggled = (await asyncio.to_thread(api.toggle_bnb_burn_on_futures_trade, fee_burn="true")).data()
    assert (toggled.code, toggled.msg) == (200, "success")
    assert (await asyncio.to_thread(api.get_bnb_burn_status)).data().fee_burn is True
    assert (await asyncio.to_thread(api.account_information_v2)).data().fee_burn is True
    await asyncio.to_thread(api.toggle_bnb_burn_on_futures_trade, fee_burn="false")
    assert (await asyncio.to_thread(api.get_bnb_burn_status)).data().fee_burn is False


async def test_a_key_reads_its_own_account_only(plant: Tickerplant, venue: Venue, closing: list[Any]) -> None:
    bob = await python_binance(plant, closing, venue.bob_hmac)
    rows = await bob.futures_account_balance()
    assert rows[0]["balance"] == "42.12500000"
    assert rows[0]["accountAlias"] == venue.store.account(venue.bob).alias
    # no parameter names another account: the account is the key's alone
    rows = await bob.futures_account_balance(accountId=venue.alice, accountAlias="x")
    assert rows[0]["balance"] == "42.12500000"
    coin = await bob.futures_coin_account_balance()
    assert all(r["balance"] == "0.00000000" for r in coin)  # alice's BTC is not bob's
    # alice's key signed with bob's secret, and bob's key with alice's: -1022
    for key, secret in ((venue.alice_hmac.api_key, venue.bob_hmac.secret), (venue.bob_hmac.api_key, venue.alice_hmac.secret)):
        crossed = await python_binance(plant, closing, Key(key, secret))
        with pytest.raises(BinanceAPIException) as refused:
            await crossed.futures_account_balance()
        assert (refused.value.status_code, refused.value.code) == (400, -1022)


@pytest.mark.parametrize("market", [Market.UM, Market.CM])
async def test_a_key_cannot_keep_alive_close_or_hear_another_accounts_listen_key(
    plant: Tickerplant, venue: Venue, market: Market
) -> None:
    """A listen key is its key's account's alone (part 4 §1.1): bob's key naming alice's
    listen key keeps alive or closes only his own (none: -1125), never hers, which stays live."""
    path = "/fapi/v1/listenKey" if market is Market.UM else "/dapi/v1/listenKey"
    url = f"http://127.0.0.1:{plant.listeners[market].port}{path}"
    alice, bob = ({"X-MBX-APIKEY": key.api_key} for key in (venue.alice_hmac, venue.bob_hmac))
    async with aiohttp.ClientSession() as http:
        async with http.post(url, headers=alice) as made:
            listen_key = (await made.json())["listenKey"]
        for method in ("PUT", "DELETE"):
            async with http.request(method, f"{url}?listenKey={listen_key}", headers=bob) as answer:
                told = await answer.json()  # his own key's answer (another test may have made one), or none
                assert told.get("listenKey") != listen_key and told.get("code", -1125) == -1125, (method, told)
        async with http.put(url, headers=alice) as kept:  # hers, untouched
            assert (kept.status, (await kept.json())["listenKey"]) == (200, listen_key)


async def _refused(client: AsyncClient) -> tuple[int, int, str]:
    with pytest.raises(BinanceAPIException) as refused:
        await client.futures_account_balance()
    return refused.value.status_code, refused.value.code, refused.value.message


async def test_failures_over_the_wire(plant: Tickerplant, venue: Venue, closing: list[Any]) -> None:
    unknown = await python_binance(plant, closing, Key("Z" * 64, "Z" * 64))
    assert await _refused(unknown) == (401, -2015, "Invalid API-key, IP, or permissions for action.")
    late = await python_binance(plant, closing, venue.alice_hmac)
    late.timestamp_offset = -20_000  # python-binance sends recvWindow=10000
    assert await _refused(late) == (400, -1021, "Timestamp for this request is outside of the recvWindow.")
    early = await python_binance(plant, closing, venue.alice_hmac)
    early.timestamp_offset = 5_000
    assert await _refused(early) == (400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.")
    now = SystemClock().now_ms()
    no_reading = venue.store.add_key(venue.alice, KeyType.HMAC, "R" * 64, reading=False, now_ms=now)
    assert (await _refused(await python_binance(plant, closing, Key(no_reading.api_key, "R" * 64))))[:2] == (401, -2015)
    fenced = venue.store.add_key(venue.alice, KeyType.HMAC, "F" * 64, networks=("10.0.0.0/8",), now_ms=now)
    assert await _refused(await python_binance(plant, closing, Key(fenced.api_key, "F" * 64))) == (
        401, -2015, "Invalid API-key, IP, or permissions for action, request ip: 127.0.0.1"
    )  # fmt: skip
    venue.store.set_disabled(venue.alice, True)
    assert (await _refused(await python_binance(plant, closing, venue.alice_hmac)))[:2] == (401, -2015)


async def test_missing_parts_and_weight(start_server: StartServer, venue: Venue) -> None:
    # on a clock that stands still (the requests signed by it): the weights below add up in one
    # minute, which the system clock turned among the requests now and then
    plant = await start_server(clock=ManualClock(SystemClock().now_ms()), simulator=STILL, venue_db=str(venue.path))
    base = f"http://127.0.0.1:{plant.listeners[Market.UM].port}/fapi/v3/balance"
    key = {"X-MBX-APIKEY": venue.alice_hmac.api_key}
    ts = f"timestamp={plant.clock.now_ms()}"
    signature = hmac_hex(venue.alice_hmac.secret, ts.encode())
    async with aiohttp.ClientSession() as session:

        async def get(query: str, headers: dict[str, str], url: str = base) -> tuple[int, Any, str]:
            async with session.get(f"{url}?{query}", headers=headers) as response:
                return response.status, await response.json(), response.headers["X-MBX-USED-WEIGHT-1M"]

        assert (await get(ts, {}))[:2] == (401, {"code": -2014, "msg": "API-key format invalid."})
        assert (await get("", key))[:2] == (400, {
            "code": -1102, "msg": "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."
        })  # fmt: skip
        assert (await get(ts, key))[:2] == (400, {
            "code": -1102, "msg": "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."
        })  # fmt: skip
        wrong = ("1" if signature[0] == "0" else "0") + signature[1:]  # one hex digit changed
        assert (await get(f"{ts}&signature={wrong}", key))[1]["code"] == -1022
        status, body, used = await get(f"{ts}&signature={signature.upper()}", key)  # hex in any case (§4.2)
        assert status == 200 and body[0]["asset"] == "USDT"
        assert used == str(5 * 5)  # five requests of weight 5, refusals included (§7.2)
        cm = f"http://127.0.0.1:{plant.listeners[Market.CM].port}/dapi/v1/balance"
        assert (await get(ts, {}, cm))[2] == "1"  # COIN-M's balance weighs 1 (part 3 §2.2)
        status, body, _ = await get("", {}, base.replace("v3", "v1"))  # removed before 2025 (part 3 §1)
        assert (status, body) == (404, {"code": -5000, "msg": "Path /fapi/v1/balance, Method GET is invalid"})
        # the reads that weigh more without a symbol (part 1 §7.5), each asked twice: the second's weight
        fapi, dapi = base.removesuffix("/v3/balance"), cm.removesuffix("/v1/balance")
        for url, symbol, weights in ((f"{fapi}/v1/apiTradingStatus", "BTCUSDT", (1, 10)),
                                     (f"{fapi}/v1/forceOrders", "BTCUSDT", (20, 50)),
                                     (f"{dapi}/v1/forceOrders", "BTCUSD_PERP", (20, 50)),
                                     (f"{dapi}/v2/leverageBracket", "BTCUSD_PERP", (1, 2))):  # fmt: skip
            for query, weight in ((f"symbol={symbol}&{ts}", weights[0]), (ts, weights[1])):
                signed = f"{query}&signature={hmac_hex(venue.alice_hmac.secret, query.encode())}"
                (first, _, before), (again, _, after) = [await get(signed, key, url) for _ in range(2)]
                assert (first, again, int(after) - int(before)) == (200, 200, weight), (url, query)


async def test_signed_bodies_reach_only_the_methods_an_endpoint_has(plant: Tickerplant, venue: Venue) -> None:
    """A signed request with its parameters in a form body (part 1 §3.1, signed over query
    then body, §4.1) on a GET-only endpoint gets Binance's 404 ``-5000`` naming its method,
    never the GET's answer; a GET's body is not read (§3.1: a GET's parameters are its
    query's); the pooled connection carries them all."""
    base = f"http://127.0.0.1:{plant.listeners[Market.UM].port}/fapi/v3/balance"
    key = {"X-MBX-APIKEY": venue.alice_hmac.api_key, "Content-Type": "application/x-www-form-urlencoded"}
    ts = f"timestamp={SystemClock().now_ms()}"
    in_body = f"{ts}&signature={hmac_hex(venue.alice_hmac.secret, ts.encode())}"
    split_query, split_body = "recvWindow=5000", f"&{ts}"
    split_signature = hmac_hex(venue.alice_hmac.secret, (split_query + split_body).encode())
    async with aiohttp.ClientSession() as session:

        async def call(method: str, query: str, body: str) -> tuple[int, Any]:
            url = f"{base}?{query}" if query else base
            async with session.request(method, url, data=body.encode(), headers=key) as response:
                return response.status, await response.json()

        assert await call("POST", "", in_body) == (
            404, {"code": -5000, "msg": "Path /fapi/v3/balance, Method POST is invalid"}
        )  # fmt: skip
        assert await call("DELETE", split_query, f"{split_body}&signature={split_signature}") == (
            404, {"code": -5000, "msg": "Path /fapi/v3/balance, Method DELETE is invalid"}
        )  # fmt: skip
        status, body = await call("GET", in_body, "recvWindow=1&not=signed")
        assert status == 200 and body[0]["asset"] == "USDT"
        status, body = await call("GET", "", in_body)  # signed in a GET's body: not read
        assert (status, body["code"]) == (400, -1102)


async def test_no_secret_reaches_a_log_line_a_metric_or_the_dashboard(
    start_server: StartServer, venue: Venue, closing: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Signed requests that succeed and fail, every logger at DEBUG: neither HMAC secret nor
    any private key appears in the log, in /metrics, in /api/status or in the dashboard."""
    caplog.set_level("DEBUG")
    plant = await start_server(simulator=STILL, venue_db=str(venue.path), admin_port=free_port())
    alice = await python_binance(plant, closing, venue.alice_hmac)
    assert (await alice.futures_account_balance())[0]["asset"] == "USDT"
    await alice.futures_coin_account_balance()
    forged = await python_binance(plant, closing, Key(venue.alice_hmac.api_key, venue.bob_hmac.secret))
    assert (await _refused(forged))[1] == -1022
    unknown = await python_binance(plant, closing, Key("Z" * 64, venue.alice_hmac.secret))
    assert (await _refused(unknown))[1] == -2015
    um = plant.listeners[Market.UM]
    async with aiohttp.ClientSession() as session:  # a listen key held: a bearer credential
        url = f"http://127.0.0.1:{um.port}/fapi/v1/listenKey"
        async with session.post(url, headers={"X-MBX-APIKEY": venue.alice_hmac.api_key}) as response:
            listen_key = (await response.json())["listenKey"]
    user = await RawWebSocket.connect(um.port, f"/private/ws?listenKey={listen_key}")
    await eventually(lambda: um.streams is not None and len(um.streams.connections) == 1)
    # the key with a stray character (read from a file with its newline, a trailing `@`):
    # names that never deliver, logged as such, and still the credential
    # and as a symbol (the reason quotes it), and with its last character changed (most of it)
    strays = (f"/ws/{listen_key}%0A", f"/private/stream?streams={listen_key}@", f"/ws/{listen_key}Q@aggTrade",
              f"/ws/{listen_key[:-1]}-@aggTrade")  # fmt: skip
    for stray in strays:
        strayed = await RawWebSocket.connect(um.port, stray)
        await strayed.close()
    await eventually(lambda: caplog.text.count("which will never deliver") >= len(strays))
    seen = [caplog.text]
    async with aiohttp.ClientSession() as session:
        for path in ("/metrics", "/api/status", "/", "/static/overview.js"):
            async with session.get(f"{plant.admin_url()}{path}") as response:
                assert response.status == 200, path
                seen.append(await response.text())
    await user.close()
    assert all(listen_key not in text for text in seen)  # not even among the busiest streams
    assert all(listen_key[:24] not in text and listen_key[-25:-1] not in text for text in seen)  # nor most of it
    secrets = [venue.alice_hmac.secret, venue.bob_hmac.secret, venue.alice_ed25519.secret, venue.alice_rsa.secret]
    for text in seen:
        for secret in secrets:
            assert secret not in text
            assert secret.splitlines()[1 if "PRIVATE" in secret else 0] not in text
