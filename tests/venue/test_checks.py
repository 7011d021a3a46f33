"""Part 1 §10's order of checks, each failure with its code, text and status, driven
through the real store: a request that fails two checks gets the earlier one's answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickerplant.market.instruments import Market
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.auth.accounts import KeyType
from tickerplant.venue.auth.checks import (
    PrivateRequest,
    Security,
    authorize,
    parameters,
    query_pairs,
    read_request,
)
from tickerplant.venue.auth.keyring import Keyring
from tickerplant.venue.auth.signing import hmac_hex, signed_string
from tickerplant.venue.auth.store import AccountStore

SECRET = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"  # part 1 §4.2
NOW = 1_591_702_613_943
IP = "203.0.113.7"


class Venue:
    def __init__(self, path: Path) -> None:
        self.store = AccountStore(path)
        account = self.store.create_account("a", [(Market.UM, "USDT", 10**12)], now_ms=1)
        self.account_id = account.account_id
        self.key = self.store.add_key(account.account_id, KeyType.HMAC, SECRET, now_ms=1).api_key
        self.keys = Keyring(path)


@pytest.fixture
def venue(tmp_path: Path) -> Iterator[Venue]:
    made = Venue(tmp_path / "venue.db")
    yield made
    made.keys.close()
    made.store.close()


def signed(query: str, secret: str = SECRET, body: str = "") -> bytes:
    return f"{query}&signature={hmac_hex(secret, (query + body).encode())}".encode()


def refusal(venue: Venue, query: bytes, api_key: str | None = "", *, security: Security = Security.USER_DATA,
            now: int = NOW, ip: str = IP, body: bytes = b"") -> tuple[int, int, str]:  # fmt: skip
    request = PrivateRequest(query, body, venue.key if api_key == "" else api_key, ip)
    with pytest.raises(RequestRefused) as refused:
        authorize(request, security, venue.keys, now)
    return refused.value.code, refused.value.status, refused.value.msg


TS = f"timestamp={NOW}"
MISSING_TS = (-1102, 400, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.")
MISSING_SIG = (-1102, 400, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")
TOO_OLD = (-1021, 400, "Timestamp for this request is outside of the recvWindow.")
AHEAD = (-1021, 400, "Timestamp for this request was 1000ms ahead of the server's time.")
BAD_SIG = (-1022, 400, "Signature for this request is not valid.")
REJECTED = (-2015, 401, "Invalid API-key, IP, or permissions for action.")
BAD_FORMAT = (-2014, 401, "API-key format invalid.")


def test_a_good_request_is_its_account(venue: Venue) -> None:
    request = PrivateRequest(signed(f"{TS}&recvWindow=5000"), b"", venue.key, IP)
    authorized = authorize(request, Security.USER_DATA, venue.keys, NOW + 5000)
    assert authorized.account.account_id == venue.account_id
    assert authorized.params["recvwindow"] == "5000"


def test_the_order_of_checks(venue: Venue) -> None:
    # 3: a name twice in one part, before anything about the key
    assert refusal(venue, b"a=1&a=2", None) == (-1101, 400, "Duplicate values for a parameter detected.")
    assert refusal(venue, b"a=1&A=2", None)[0] == -1101  # names without regard to case
    # 4: no key, a malformed key, an unknown key; before any timestamp or signature
    assert refusal(venue, b"", None) == BAD_FORMAT
    assert refusal(venue, b"", "short") == BAD_FORMAT
    assert refusal(venue, b"", "k" * 63 + "!") == BAD_FORMAT
    assert refusal(venue, b"", "k" * 64) == REJECTED
    # 5: timestamp, then signature
    assert refusal(venue, b"signature=00") == MISSING_TS
    assert refusal(venue, b"timestamp=&signature=00") == MISSING_TS
    assert refusal(venue, b"timestamp=12a&signature=00") == MISSING_TS
    assert refusal(venue, TS.encode()) == MISSING_SIG
    assert refusal(venue, f"{TS}&signature=".encode()) == MISSING_SIG
    # 6: the window, before the signature (a wrong signature outside the window is -1021)
    assert refusal(venue, f"{TS}&signature=00".encode(), now=NOW + 5001) == TOO_OLD
    assert refusal(venue, f"{TS}&signature=00".encode(), now=NOW - 1000) == AHEAD
    # 7: the signature, before the key's permissions and IP
    assert refusal(venue, f"{TS}&signature=00".encode()) == BAD_SIG
    assert refusal(venue, signed(TS, secret="other")) == BAD_SIG


def test_the_timing_rule(venue: Venue) -> None:
    """§5.1: timestamp < serverTime + 1000 and serverTime - timestamp <= recvWindow."""
    for now in (NOW - 999, NOW, NOW + 5000):
        authorize(PrivateRequest(signed(TS), b"", venue.key, IP), Security.USER_DATA, venue.keys, now)
    assert refusal(venue, signed(TS), now=NOW - 1000) == AHEAD
    assert refusal(venue, signed(TS), now=NOW + 5001) == TOO_OLD
    window = f"{TS}&recvWindow=100"
    authorize(PrivateRequest(signed(window), b"", venue.key, IP), Security.USER_DATA, venue.keys, NOW + 100)
    assert refusal(venue, signed(window), now=NOW + 101) == TOO_OLD
    # above 60000 taken as 60000, not refused (§5.2, decision 4)
    huge = f"{TS}&recvWindow=9999999"
    authorize(PrivateRequest(signed(huge), b"", venue.key, IP), Security.USER_DATA, venue.keys, NOW + 60_000)
    assert refusal(venue, signed(huge), now=NOW + 60_001) == TOO_OLD
    for bad in ("0", "-5", "5.5", "x"):
        assert refusal(venue, signed(f"{TS}&recvWindow={bad}"))[:2] == (-1130, 400)


def test_permissions_ip_and_disabled_come_last(venue: Venue) -> None:
    store = venue.store
    read_only = store.add_key(venue.account_id, KeyType.HMAC, SECRET, trading=False, now_ms=2).api_key
    authorize(PrivateRequest(signed(TS), b"", read_only, IP), Security.USER_DATA, venue.keys, NOW)
    assert refusal(venue, signed(TS), read_only, security=Security.TRADE) == REJECTED
    no_reading = store.add_key(venue.account_id, KeyType.HMAC, SECRET, reading=False, now_ms=2).api_key
    assert refusal(venue, signed(TS), no_reading) == REJECTED
    assert refusal(venue, f"{TS}&signature=00".encode(), no_reading) == BAD_SIG  # the signature first
    fenced = store.add_key(venue.account_id, KeyType.HMAC, SECRET, networks=("10.0.0.0/8",), now_ms=2).api_key
    authorize(PrivateRequest(signed(TS), b"", fenced, "10.1.2.3"), Security.USER_DATA, venue.keys, NOW)
    authorize(PrivateRequest(signed(TS), b"", fenced, "::ffff:10.1.2.3"), Security.USER_DATA, venue.keys, NOW)
    assert refusal(venue, signed(TS), fenced) == (
        -2015, 401, f"Invalid API-key, IP, or permissions for action, request ip: {IP}"
    )  # fmt: skip
    store.set_disabled(venue.account_id, True)
    assert refusal(venue, signed(TS)) == REJECTED
    store.set_disabled(venue.account_id, False)
    authorize(PrivateRequest(signed(TS), b"", venue.key, IP), Security.USER_DATA, venue.keys, NOW)
    store.revoke(venue.key)
    assert refusal(venue, signed(TS)) == REJECTED


def test_key_only_security_needs_no_signature(venue: Venue) -> None:
    authorize(PrivateRequest(b"", b"", venue.key, IP), Security.USER_STREAM, venue.keys, NOW)
    assert refusal(venue, b"", None, security=Security.USER_STREAM) == BAD_FORMAT


def test_parameters_query_over_body_and_case() -> None:
    assert parameters(b"Symbol=A&x=%41", b"symbol=B&y=2") == {"symbol": "A", "x": "A", "y": "2"}
    with pytest.raises(RequestRefused):
        parameters(b"", b"y=1&y=2")
    assert parameters(b"y=1", b"y=2") == {"y": "1"}  # across parts: the query's (§3.1)


def test_the_body_is_signed_after_the_query(venue: Venue) -> None:
    body = f"recvWindow=5000&{TS}"
    sig = hmac_hex(SECRET, b"symbol=BTCUSDT" + body.encode())
    request = PrivateRequest(b"symbol=BTCUSDT", f"{body}&signature={sig}".encode(), venue.key, IP)
    assert authorize(request, Security.TRADE, venue.keys, NOW).params["symbol"] == "BTCUSDT"
    joined = PrivateRequest(b"symbol=BTCUSDT", f"{body}&signature={hmac_hex(SECRET, b'symbol=BTCUSDT&' + body.encode())}".encode(), venue.key, IP)
    with pytest.raises(RequestRefused):  # signed with an "&" between the parts: not what Binance signs
        authorize(joined, Security.TRADE, venue.keys, NOW)


@given(st.binary(max_size=60) | st.text(alphabet="ab=&;%+2B0 é", max_size=40).map(str.encode))
def test_parameters_split_as_parse_qsl_does(part: bytes) -> None:
    expected = parse_qsl(part.decode("utf-8", errors="replace"), keep_blank_values=True)
    assert query_pairs(part) == expected


def _both(query: bytes, body: bytes) -> object:
    """``parameters`` and ``signed_string`` as each reads the bytes, or the refusal."""
    try:
        return parameters(query, body), signed_string(query, body)
    except RequestRefused as refused:
        return refused.code


def _read(query: bytes, body: bytes) -> object:
    try:
        read = read_request(query, body)
    except RequestRefused as refused:
        return refused.code
    return read.params, read.signed


_PARTS = st.binary(max_size=50) | st.lists(
    st.sampled_from(["a=1", "A=2", "signature=ff", "Signature=0", "signature", "b=", "", "x=%41", "y=+", "é=1"]),
    max_size=6,
).map(lambda items: "&".join(items).encode())


@given(_PARTS, _PARTS)
def test_one_pass_reads_what_the_two_read(query: bytes, body: bytes) -> None:
    assert _read(query, body) == _both(query, body)


@pytest.mark.parametrize(
    ("query", "payload"),
    [
        (b"a=1&signature=ff", b"a=1"),
        (b"signature=ff&a=1", b"a=1"),
        (b"a=1&SIGNATURE=ff&b=2", b"a=1&b=2"),
        (b"a=1&signature=ff&", b"a=1&"),
        (b"signature=ff", b""),
        (b"a=1&&signature=ff", b"a=1&"),
    ],
)
def test_one_pass_takes_the_signature_pair_out_wherever_it_stands(query: bytes, payload: bytes) -> None:
    read = read_request(query, b"")
    assert read.signed == (payload, b"ff", False) == signed_string(query, b"")
    assert read.params["signature"] == "ff"
