"""tickerplant.client.WebSocketAPI's private methods: signed with an HMAC, Ed25519 or RSA key
(trading spec part 1 §8.5), the key alone for the user data stream, and a session logged on
with an Ed25519 key (§8.6); against a real tickerplant's venue, and the signing itself
against the spec's test vector."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import StartServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, generate_private_key

from tickerplant.app import Tickerplant
from tickerplant.client import ApiError, Signer, WebSocketAPI
from tickerplant.client.ws_signing import payload
from tickerplant.clock import SystemClock
from tickerplant.market.instruments import Market
from tickerplant.market.units import fixed
from tickerplant.venue.auth.accounts import KeyType
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.domain.money import parse_amount

STILL = {"actions_per_s": 1e-9}
# the spec's vector (§8.5: HMAC with §4.2's secret, Ed25519 with §4.4's seed 00 01 … 1f)
VECTOR_KEY = "dbefbc809e3e83c283a984c3a1459732ea7db1360ca80c5c2c8867408d28cc83"
VECTOR_SECRET = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"
VECTOR_PEM = """-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f
-----END PRIVATE KEY-----
"""
VECTOR_ORDER = {"symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC", "quantity": 1,
                "price": Decimal("0.2")}  # fmt: skip
VECTOR_MS = 1668481559918


def test_a_request_is_signed_as_the_spec_signs_it() -> None:
    hmac_signed = Signer(VECTOR_KEY, secret=VECTOR_SECRET).sign(VECTOR_ORDER, VECTOR_MS)
    assert payload(hmac_signed) == (
        b"apiKey=dbefbc809e3e83c283a984c3a1459732ea7db1360ca80c5c2c8867408d28cc83&price=0.2&quantity=1"
        b"&side=SELL&symbol=BTCUSDT&timeInForce=GTC&timestamp=1668481559918&type=LIMIT"
    )
    assert hmac_signed["signature"] == "6c234b8c451d6a8acfbecab86dd2edfef98ce9ead9334407a297d2e461064e29"
    ed_signed = Signer(VECTOR_KEY, private_key=VECTOR_PEM).sign(VECTOR_ORDER, VECTOR_MS)
    assert ed_signed["signature"] == (
        "TAyqxS/qkyPa7ForGQhLW8PVHXAVM4dQ4pSoFpfceg//kLw/iMC+isCVdlpBL8iZKhnTWAzZyFAqWYgxqM/fDw=="
    )
    # a session's request: its timestamp (and recvWindow) alone, nothing of the key
    quiet = Signer(VECTOR_KEY, secret=VECTOR_SECRET, recv_window=5000).sign({"symbol": "X"}, 7, with_key=False)
    assert quiet == {"symbol": "X", "timestamp": 7, "recvWindow": 5000}
    # values as the frame carries them: booleans true/false, numbers as their tokens
    assert payload({"b": True, "a": 1.5, "c": "x y"}) == b"a=1.5&b=true&c=x y"


def test_a_signer_takes_one_kind_of_key() -> None:
    with pytest.raises(ValueError, match="give one"):
        Signer("k")
    with pytest.raises(ValueError, match="give one"):
        Signer("k", secret="s", private_key=VECTOR_PEM)


@dataclass
class Keys:
    path: Path
    hmac: Signer
    ed25519: Signer
    rsa: Signer
    wrong: Signer  # the HMAC key's, signed with another secret


def _pem(private: Ed25519PrivateKey | object, public: bool = False) -> str:
    if public:
        shown = private.public_key().public_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return shown.decode()  # type: ignore[no-any-return]
    made = private.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return made.decode()  # type: ignore[no-any-return]


@functools.cache  # one a process: each test's own made 2,048 bits afresh, ~70 ms of a core a test
def _rsa_key() -> RSAPrivateKey:
    """An RSA key to sign with: what the tests check is that the client signs with an RSA key
    the venue knows, not which key it is (each test's database is its own)."""
    return generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def keys(tmp_path: Path) -> Iterator[Keys]:
    store = AccountStore(tmp_path / "venue.db")
    now = SystemClock().now_ms()
    alice = store.create_account("alice", [(Market.UM, "USDT", parse_amount("10000"))], now)
    ed, rsa = Ed25519PrivateKey.generate(), _rsa_key()
    hmac_key = store.add_key(alice.account_id, KeyType.HMAC, "A" * 64, now_ms=now).api_key
    ed_key = store.add_key(alice.account_id, KeyType.ED25519, _pem(ed, public=True), now_ms=now).api_key
    rsa_key = store.add_key(alice.account_id, KeyType.RSA, _pem(rsa, public=True), now_ms=now).api_key
    yield Keys(
        tmp_path / "venue.db", Signer(hmac_key, secret="A" * 64), Signer(ed_key, private_key=_pem(ed)),
        Signer(rsa_key, private_key=_pem(rsa)), Signer(hmac_key, secret="B" * 64),
    )  # fmt: skip
    store.close()


def _below_bid(plant: Tickerplant, ticks: int) -> str:
    engine = plant.engines[Market.UM]
    bid = next(engine.data.levels("BTCUSDT", True))[0]
    return fixed(bid - ticks * 10, engine.instruments["BTCUSDT"].price_decimals)


async def test_orders_placed_and_cancelled_with_each_kind_of_key(start_server: StartServer, keys: Keys) -> None:
    plant = await start_server(simulator=STILL, venue_db=str(keys.path))
    url = plant.url(Market.UM) + "/ws-fapi/v1"
    for signer in (keys.hmac, keys.ed25519, keys.rsa):
        async with WebSocketAPI(url, signer=signer) as api:
            price = _below_bid(plant, 100)
            placed = await api.place_order(
                "BTCUSDT", "BUY", "LIMIT", timeInForce="GTC", quantity=Decimal("0.010"), price=price
            )
            assert (placed["status"], placed["price"], placed["origQty"]) == ("NEW", price, "0.010")
            engine = plant.engines[Market.UM]
            assert engine.resting_order("BTCUSDT", placed["orderId"]) is not None  # the venue's own
            status = await api.signed("order.status", {"symbol": "BTCUSDT", "orderId": placed["orderId"]})
            assert status["status"] == "NEW"
            cancelled = await api.cancel_order("BTCUSDT", order_id=placed["orderId"])
            assert cancelled["status"] == "CANCELED"
            account = await api.signed("account.status", weight=5)
            assert account["totalWalletBalance"] == "10000.00000000"


async def test_a_session_logged_on_signs_nothing_more_and_logs_out(start_server: StartServer, keys: Keys) -> None:
    plant = await start_server(simulator=STILL, venue_db=str(keys.path))
    async with WebSocketAPI(plant.url(Market.UM) + "/ws-fapi/v1", signer=keys.ed25519) as api:
        logged = await api.logon()
        assert logged["apiKey"] == keys.ed25519.api_key and api.logged_on
        assert (await api.session_status())["apiKey"] == keys.ed25519.api_key
        placed = await api.place_order(
            "BTCUSDT", "SELL", "LIMIT", timeInForce="GTC", quantity="0.010", price=_below_bid(plant, -2000)
        )
        assert placed["status"] == "NEW"  # taken on the session's key: no apiKey, no signature sent
        assert (await api.cancel_order("BTCUSDT", orig_client_order_id=placed["clientOrderId"]))["status"] == "CANCELED"
        assert (await api.logout())["apiKey"] is None and not api.logged_on
        account = await api.signed("account.status", weight=5)  # signed again, one by one
        assert account["totalWalletBalance"] == "10000.00000000"


async def test_the_servers_refusals_come_back_as_binances(start_server: StartServer, keys: Keys) -> None:
    plant = await start_server(simulator=STILL, venue_db=str(keys.path))
    url = plant.url(Market.UM) + "/ws-fapi/v1"
    async with WebSocketAPI(url, signer=keys.wrong) as api:
        with pytest.raises(ApiError) as bad:
            await api.signed("account.status", weight=5)
        assert (bad.value.status, bad.value.code) == (400, -1022)
    async with WebSocketAPI(url, signer=keys.hmac) as api:
        with pytest.raises(ApiError) as bad:
            await api.logon()  # an HMAC key does not log on (§8.6)
        assert (bad.value.code, api.logged_on) == (-1022, False)
        started = await api.keyed("userDataStream.start")  # the key alone
        assert len(started["listenKey"]) == 64
    async with WebSocketAPI(url) as api:
        with pytest.raises(ValueError, match="signer"):
            await api.signed("account.status")
