"""The WebSocket API's trading methods without sockets (trading part 1 §8.3–§8.9): frames in,
frames out, over a real store, the engine of ``test_engine`` and a manual clock (time is an
argument). The signing vector is §8.5's; the order of checks §10's."""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from test_engine import Book, Kept

from tickerplant.market.instruments import Market, catalogue
from tickerplant.protocol.request_weight import RequestWeight
from tickerplant.protocol.ws_api import WsSession
from tickerplant.venue.auth.accounts import ApiKey, KeyType
from tickerplant.venue.auth.checks import Security
from tickerplant.venue.auth.keyring import Keyring
from tickerplant.venue.auth.signing import hmac_hex, verify
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.auth.ws_checks import authorize_ws, read_params, signed_forms
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.money import parse_amount
from tickerplant.venue.userstream.listen_keys import ListenKeys
from tickerplant.venue.wire.rest import PrivateRest
from tickerplant.venue.wire.ws_trading import WsTrading

NOW = 1_790_000_000_000
IP = "203.0.113.7"
SECRET_A, SECRET_B = "A" * 64, "B" * 64
SEED = bytes(range(32))  # part 1 §4.4's Ed25519 key
VECTOR_SECRET = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"  # §4.2


def _public(private: Ed25519PrivateKey) -> str:
    return private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


class Venue:
    def __init__(self, path: Path) -> None:
        self.store = AccountStore(path)
        um = [(Market.UM, "USDT", parse_amount("10000"))]
        self.alice = self.store.create_account("alice", um, now_ms=1).account_id
        self.bob = self.store.create_account("bob", um, now_ms=1).account_id
        self.hmac = self.store.add_key(self.alice, KeyType.HMAC, SECRET_A, now_ms=1).api_key
        self.ed = Ed25519PrivateKey.from_private_bytes(SEED)
        self.ed_key = self.store.add_key(self.alice, KeyType.ED25519, _public(self.ed), now_ms=1).api_key
        self.bob_key = self.store.add_key(self.bob, KeyType.HMAC, SECRET_B, now_ms=1).api_key
        self.keys = Keyring(path)
        self.book = Book()
        self.engine = Engine(Market.UM, catalogue(Market.UM, NOW), self.book, self.keys, Kept())
        self.listen_keys = ListenKeys()
        rest = PrivateRest(Market.UM, self.keys, RequestWeight(), ["BTC"], self.engine, self.listen_keys)
        self.drained: list[int] = []
        self.api = WsTrading(rest, self.drained.append)


@pytest.fixture
def venue(tmp_path: Path) -> Iterator[Venue]:
    made = Venue(tmp_path / "venue.db")
    yield made
    made.keys.close()
    made.store.close()


def signed(params: dict[str, Any], api_key: str, secret: str = SECRET_A, now: int = NOW) -> dict[str, Any]:
    params = {"apiKey": api_key, "timestamp": now, **params}
    payload = "&".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in sorted(params.items()))
    return params | {"signature": hmac_hex(secret, payload.encode())}


def ed_signed(venue: Venue, params: dict[str, Any], now: int = NOW) -> dict[str, Any]:
    params = {"apiKey": venue.ed_key, "timestamp": now, **params}
    payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    return params | {"signature": base64.b64encode(venue.ed.sign(payload.encode())).decode()}


def call(
    venue: Venue, method: str, params: dict[str, Any] | None = None, *, session: WsSession | None = None,
    now: int = NOW, rate_limits: bool = True,
) -> dict[str, Any]:  # fmt: skip
    request: dict[str, Any] = {"id": "r1", "method": method}
    if params is not None:
        request["params"] = params
    reply = venue.api.answer(json.dumps(request).encode(), session, IP, now, rate_limits)
    answer: dict[str, Any] = json.loads(reply.reply)
    assert answer["status"] == reply.status and reply.method == method
    return answer


LIMIT_BUY = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.010",
             "price": "59000.00"}  # fmt: skip


def test_the_signing_vector_of_section_8_5() -> None:
    params = read_params({})._replace(sent={
        "apiKey": "dbefbc809e3e83c283a984c3a1459732ea7db1360ca80c5c2c8867408d28cc83", "symbol": "BTCUSDT",
        "side": "SELL", "type": "LIMIT", "timeInForce": "GTC", "quantity": "1", "price": "0.2",
        "timestamp": "1668481559918",
    })  # fmt: skip
    payload = next(signed_forms(params))
    assert payload == (
        b"apiKey=dbefbc809e3e83c283a984c3a1459732ea7db1360ca80c5c2c8867408d28cc83&price=0.2&quantity=1&side=SELL"
        b"&symbol=BTCUSDT&timeInForce=GTC&timestamp=1668481559918&type=LIMIT"
    )
    assert hmac_hex(VECTOR_SECRET, payload) == "6c234b8c451d6a8acfbecab86dd2edfef98ce9ead9334407a297d2e461064e29"
    public = _public(Ed25519PrivateKey.from_private_bytes(SEED))
    ed = ApiKey("k" * 64, 1, KeyType.ED25519, public, True, True, (), False, 0)
    sent = b"TAyqxS/qkyPa7ForGQhLW8PVHXAVM4dQ4pSoFpfceg//kLw/iMC+isCVdlpBL8iZKhnTWAzZyFAqWYgxqM/fDw=="
    assert verify(ed, payload, sent)


def test_raw_and_percent_encoded_values_and_json_types(venue: Venue) -> None:
    """Numbers keep their JSON text, booleans are true/false (or True/False as python-binance
    signs them), and a value with reserved characters may be signed raw or encoded."""
    read = read_params({k: json.dumps(v).encode() for k, v in {"a": 43187.00, "b": True, "c": "x y/z"}.items()})  # type: ignore[misc]
    assert read.sent == {"a": "43187.0", "b": "true", "c": "x y/z"} and read.booleans == {"b"}
    forms = list(signed_forms(read))
    assert forms == [b"a=43187.0&b=true&c=x y/z", b"a=43187.0&b=true&c=x+y%2Fz", b"a=43187.0&b=true&c=x%20y%2Fz",
                     b"a=43187.0&b=True&c=x y/z"]  # fmt: skip
    raw = json.loads('{"id":1,"method":"order.status","params":{"price":43187.00}}')
    assert raw["params"]["price"] == 43187.0  # (what json would make of it; the server keeps "43187.00")
    frame = b'{"price":43187.00,"n":null}'
    assert read_params(msgspec.json.decode(frame, type=dict[str, msgspec.Raw])).sent == {"price": "43187.00"}


def test_place_status_cancel_with_rate_limits_and_the_drain(venue: Venue) -> None:
    placed = call(venue, "order.place", signed(LIMIT_BUY | {"newClientOrderId": "mine:1/2"}, venue.hmac))
    assert placed["status"] == 200, placed
    result = placed["result"]
    assert (result["status"], result["clientOrderId"], result["price"]) == ("NEW", "mine:1/2", "59000.00")
    assert placed["rateLimits"] == [
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300, "count": 1},
        {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200, "count": 1},
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400, "count": 0},
    ]
    assert venue.drained == [NOW]
    ref = {"symbol": "BTCUSDT", "orderId": result["orderId"]}
    status = call(venue, "order.status", signed(ref, venue.hmac))
    assert status["result"]["status"] == "NEW" and status["result"]["time"] == NOW
    assert [x["rateLimitType"] for x in status["rateLimits"]] == ["REQUEST_WEIGHT"]
    assert status["rateLimits"][0]["count"] == 1
    # bob's key finds nothing of alice's: not by orderId, not by client id
    assert call(venue, "order.status", signed(ref, venue.bob_key, SECRET_B))["error"] == {
        "code": -2013, "msg": "Order does not exist."}  # fmt: skip
    assert call(venue, "order.cancel", signed(ref, venue.bob_key, SECRET_B))["error"]["code"] == -2011
    cancelled = call(venue, "order.cancel", signed({"symbol": "BTCUSDT", "origClientOrderId": "mine:1/2"},
                                                   venue.hmac), rate_limits=False)  # fmt: skip
    assert cancelled["result"]["status"] == "CANCELED" and "rateLimits" not in cancelled
    assert venue.engine.open_orders(venue.alice, None) == []
    # returnRateLimits in the request wins over the connection's default
    quiet = call(venue, "order.status", signed(ref | {"returnRateLimits": False}, venue.hmac))
    assert "rateLimits" not in quiet and quiet["result"]["status"] == "CANCELED"


def test_a_refused_placement_shows_the_order_counts(venue: Venue) -> None:
    refused = call(venue, "order.place", signed({k: v for k, v in LIMIT_BUY.items() if k != "quantity"}, venue.hmac))
    assert refused["status"] == 400
    assert refused["error"] == {
        "code": -1102, "msg": "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed."}  # fmt: skip
    assert [x.get("count") for x in refused["rateLimits"]] == [1, 1, 0]


def test_the_order_of_checks(venue: Venue) -> None:
    good = signed(LIMIT_BUY, venue.hmac)
    assert call(venue, "order.place", {k: v for k, v in good.items() if k != "apiKey"})["error"]["code"] == -1102
    assert call(venue, "order.place", good | {"apiKey": "short"})["error"] == {
        "code": -2014, "msg": "API-key format invalid."}  # fmt: skip
    unknown = call(venue, "order.place", good | {"apiKey": "Z" * 64})
    assert (unknown["status"], unknown["error"]["code"]) == (401, -2015)
    no_ts = call(venue, "order.place", {k: v for k, v in good.items() if k != "timestamp"})["error"]
    assert no_ts["msg"] == "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."
    no_sig = call(venue, "order.place", {k: v for k, v in good.items() if k != "signature"})["error"]
    assert no_sig["msg"] == "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."
    stale = call(venue, "order.place", good, now=NOW + 5001)
    assert stale["error"] == {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}
    assert call(venue, "order.place", good, now=NOW - 1000)["error"]["code"] == -1021
    assert call(venue, "order.place", good | {"signature": "00"})["error"] == {
        "code": -1022, "msg": "Signature for this request is not valid."}  # fmt: skip
    assert call(venue, "order.place", good | {"price": "59000.0"})["error"]["code"] == -1022  # signed 59000.00
    # recvWindow above 60000 is taken as 60000 on these methods (decision 4)
    wide = signed(LIMIT_BUY | {"recvWindow": 99999999}, venue.hmac)
    assert call(venue, "order.place", wide, now=NOW + 60_000)["status"] == 200
    assert venue.engine.open_orders(venue.bob, None) == []


def test_session_logon_status_logout(venue: Venue) -> None:
    session = WsSession(NOW - 10)
    status = call(venue, "session.status", session=session)
    assert status["result"] == {"apiKey": None, "authorizedSince": None, "connectedSince": NOW - 10,
                                "returnRateLimits": True, "serverTime": NOW}  # fmt: skip
    assert status["rateLimits"][0]["count"] == 2
    # HMAC keys cannot log on (-1022, part 1 Unresolved 16); nor a recvWindow above 60000
    assert call(venue, "session.logon", signed({}, venue.hmac), session=session)["error"]["code"] == -1022
    wide = call(venue, "session.logon", ed_signed(venue, {"recvWindow": 60001}), session=session)
    assert wide["error"] == {"code": -1130, "msg": "Data sent for parameter 'recvWindow' is not valid."}
    assert session.api_key is None
    logon = call(venue, "session.logon", ed_signed(venue, {}), session=session, now=NOW + 5)
    assert logon["result"] == {"apiKey": venue.ed_key, "authorizedSince": NOW + 5, "connectedSince": NOW - 10,
                               "returnRateLimits": True, "serverTime": NOW + 5}  # fmt: skip
    # now a request needs its timestamp only
    placed = call(venue, "order.place", LIMIT_BUY | {"timestamp": NOW}, session=session)
    assert placed["status"] == 200, placed
    no_ts = call(venue, "order.status", {"symbol": "BTCUSDT", "orderId": 1}, session=session)
    assert no_ts["error"]["code"] == -1102
    account = call(venue, "v2/account.status", {"timestamp": NOW}, session=session)["result"]
    assert "feeTier" not in account  # v3's shape: the symbols with an open order or a position
    assert [p["symbol"] for p in account["positions"]] == ["BTCUSDT"]
    assert "feeTier" in call(venue, "account.status", {"timestamp": NOW}, session=session)["result"]
    # a request's own key and signature win for that request: bob's key reads bob's
    bob = call(venue, "order.status", signed({"symbol": "BTCUSDT", "orderId": 1}, venue.bob_key, SECRET_B),
               session=session)  # fmt: skip
    assert bob["error"]["code"] == -2013
    # logout: the connection stays, the key goes
    out = call(venue, "session.logout", session=session)
    assert out["result"]["apiKey"] is None and out["result"]["authorizedSince"] is None
    assert call(venue, "order.status", {"symbol": "BTCUSDT", "orderId": 1, "timestamp": NOW},
                session=session)["error"]["code"] == -1102  # fmt: skip  # apiKey


def test_a_revoked_sessions_next_reply_is_unsolicited(venue: Venue) -> None:
    """Part 1 §8.6: the next request gets ``{"id": null, "status": 401, …}`` (§8.4)."""
    session = WsSession(NOW)
    call(venue, "session.logon", ed_signed(venue, {}), session=session)
    venue.store.revoke(venue.ed_key)
    revoked = call(venue, "account.balance", {"timestamp": NOW}, session=session)
    assert revoked["id"] is None and (revoked["status"], revoked["error"]["code"]) == (401, -2015)
    assert session.api_key is None


def test_user_data_stream_methods_need_the_key_only(venue: Venue) -> None:
    started = call(venue, "userDataStream.start", {"apiKey": venue.hmac})
    key = started["result"]["listenKey"]
    assert venue.listen_keys.key_of(venue.alice, NOW + 1) == key
    assert call(venue, "userDataStream.start", {"apiKey": venue.ed_key})["result"] == {"listenKey": key}
    assert call(venue, "userDataStream.ping", {"apiKey": venue.hmac, "listenKey": key})["result"] == {
        "listenKey": key}  # fmt: skip
    assert call(venue, "userDataStream.stop", {"apiKey": venue.hmac})["result"] == {}
    assert call(venue, "userDataStream.ping", {"apiKey": venue.hmac})["error"] == {
        "code": -1125, "msg": "This listenKey does not exist."}  # fmt: skip
    assert call(venue, "userDataStream.start", {})["error"]["code"] == -1102
    assert call(venue, "userDataStream.start", {"apiKey": "Z" * 64})["error"]["code"] == -2015


def test_account_methods_and_weights(venue: Venue) -> None:
    balance = call(venue, "account.balance", signed({}, venue.hmac))
    assert balance["result"][0]["asset"] == "USDT" and balance["rateLimits"][0]["count"] == 5
    assert call(venue, "v2/account.balance", signed({}, venue.hmac))["result"][0]["balance"] == "10000.00000000"
    positions = call(venue, "account.position", signed({"symbol": "BTCUSDT"}, venue.hmac))["result"]
    assert [p["symbol"] for p in positions] == ["BTCUSDT"]
    assert call(venue, "v2/account.position", signed({}, venue.hmac))["result"] == []
    assert {"order.place", "account.status", "v2/account.status", "session.logon", "userDataStream.start"} <= (
        venue.api.names
    )
    assert "order.modify" in venue.api.names  # PUT …/order's twin


def test_order_modify(venue: Venue) -> None:
    placed = call(venue, "order.place", signed(LIMIT_BUY, venue.hmac))["result"]
    change = {"symbol": "BTCUSDT", "side": "BUY", "orderId": placed["orderId"], "quantity": "0.020",
              "price": "58900.00", "modifyId": 7}  # fmt: skip
    modified = call(venue, "order.modify", signed(change, venue.hmac), now=NOW + 1)
    assert modified["status"] == 200, modified
    result = modified["result"]
    assert (result["price"], result["origQty"], result["modifyId"]) == ("58900.00", "0.020", 7)
    assert [x["count"] for x in modified["rateLimits"]] == [2, 2, 0]  # a modify counts as an order
    assert venue.engine.open_orders(venue.alice, None)[0].price == 5_890_000
    bob = call(venue, "order.modify", signed(change, venue.bob_key, SECRET_B), now=NOW + 1)
    assert bob["status"] == 400 and venue.engine.open_orders(venue.alice, None)[0].orig_qty == 20


def test_authorize_ws_takes_a_python_binance_signature(venue: Venue) -> None:
    """python-binance signs str(True) and URL-encodes the (base64) signature."""
    params = {"apiKey": venue.ed_key, "reduceOnly": True, "symbol": "BTCUSDT", "timestamp": NOW}
    payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    signature = quote(base64.b64encode(venue.ed.sign(payload.encode())).decode(), safe="")
    raw = {k: json.dumps(v).encode() for k, v in (params | {"signature": signature}).items()}
    read = read_params({k: msgspec.Raw(v) for k, v in raw.items()})
    authorized = authorize_ws(read, Security.TRADE, venue.keys, None, IP, NOW)
    assert authorized.account.account_id == venue.alice and authorized.params["reduceonly"] == "true"
    assert dataclasses.replace(authorized.key).api_key == venue.ed_key


def test_order_count_and_weight_limits(venue: Venue) -> None:
    bad = signed({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET"}, venue.hmac)  # no quantity
    for _ in range(300):  # every order counts, refused ones too
        assert call(venue, "order.place", bad)["error"]["code"] == -1102
    over = call(venue, "order.place", bad)
    assert (over["status"], over["error"]) == (
        429, {"code": -1015, "msg": "Too many new orders; current limit is 300 orders per TEN_SECONDS."})  # fmt: skip
    # refused at the 10 s count, and counted on the minute's as well (part 1 Unresolved 11: every
    # order past auth and timing counts, later refusals too)
    assert [x["count"] for x in over["rateLimits"]] == [301, 301, 0]
    # the IP's weight, REST's budget: account.balance costs 5 (§8.7)
    used = call(venue, "account.balance", signed({}, venue.hmac))["rateLimits"][0]["count"]
    venue.api.rest.weight.limit = used + 5
    assert call(venue, "account.balance", signed({}, venue.hmac))["status"] == 200
    refused = call(venue, "account.balance", signed({}, venue.hmac))
    assert (refused["status"], refused["error"]["code"]) == (429, -1003)
    assert refused["error"]["data"]["serverTime"] == NOW


def test_a_signature_over_the_urlencoded_form_and_bad_frames(venue: Venue) -> None:
    """The modular SDK signs ``urlencode(sorted(params))``: ``a:b/c`` as ``a%3Ab%2Fc``."""
    params = {"apiKey": venue.hmac, "origClientOrderId": "a:b/c", "symbol": "BTCUSDT", "timestamp": str(NOW)}
    signature = hmac_hex(SECRET_A, urlencode(sorted(params.items())).encode())
    found = call(venue, "order.status", params | {"signature": signature})
    assert found["error"]["code"] == -2013  # verified; no such order
    # the id is echoed whenever it reads as one (INT, STRING or null, §8.3), the params or not
    for frame, request_id, named in (
        (b'{"id":1.5,"method":"order.status"}', None, "id"),
        (b'{"id":1,"method":"order.status","params":[1]}', 1, "params"),
        (b'{"id":"p2","method":"order.place","params":"symbol=BTCUSDT"}', "p2", "params"),
        (b'{"method":"order.status","params":null,"id":"p3"}', "p3", "params"),
        (b'{"id":null,"method":"order.status","params":7}', None, "params"),
    ):
        reply = json.loads(venue.api.answer(frame, None, IP, NOW, True).reply)
        assert reply.pop("rateLimits")[0]["rateLimitType"] == "REQUEST_WEIGHT"  # shown unless hidden (§8.4)
        assert reply == {"id": request_id, "status": 400,
                         "error": {"code": -1130, "msg": f"Data sent for parameter '{named}' is not valid."}}  # fmt: skip
    nested = call(venue, "order.status", {"symbol": {"a": 1}})
    assert nested["error"] == {"code": -1130, "msg": "Data sent for parameter 'symbol' is not valid."}
