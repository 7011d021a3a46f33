"""A private request's checks, in the order of spec part 1 §10, each failure with Binance's
code, text and HTTP status (part 1 §6.2, §6.3, §9.1; overview decision 5).

The surface has done steps 1 and 2 (the route; the IP's weight, charged first, so a
refused request still costs it). ``authorize`` does the rest of what comes before an
endpoint reads its parameters:

3. parse the query and the body; a name twice in one part: 400 ``-1101``;
4. the key: ``X-MBX-APIKEY`` missing or not a key's shape: 401 ``-2014``; no such key: 401
   ``-2015``;
5. SIGNED: ``timestamp`` missing, empty or not an integer, then ``signature`` missing: 400
   ``-1102`` naming it;
6. the timing rule of §5.1 with ``recvWindow`` (default 5000, above 60000 taken as 60000,
   decision 4): 400 ``-1021``, one text for a request too old, another for one 1000 ms or
   more ahead;
7. the signature over the bytes as received (``signing``): 400 ``-1022``;
8. the key's permissions, the key or its account disabled, its IP restriction: 401
   ``-2015``, the caller's address appended for the IP restriction (§9.1, Unresolved 7).

Parameter names are matched without regard to case (decision 4); a name in both parts
takes the query's value (§3.1). Steps 3 and 7 read the same bytes: ``read_request`` reads
them once for both (the parameters, the signed bytes and the signature), as
``parameters`` and ``signing.signed_string`` would each. The account comes from the key alone, never from a
parameter (ARCHITECTURE.md, "Accounts are walls").
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import NamedTuple, Protocol
from urllib.parse import parse_qsl

from tickerplant.protocol.errors import RequestRefused, mandatory, not_valid, refusal
from tickerplant.protocol.recv_window import AHEAD_MS, DEFAULT_RECV_WINDOW_MS, MAX_RECV_WINDOW_MS
from tickerplant.venue.auth.accounts import API_KEY_FORMAT, Account, ApiKey
from tickerplant.venue.auth.signing import SignedString, signed_string, verify
from tickerplant.venue.domain.order_params import LONG_MAX, parse_long

__all__ = [
    "BAD_KEY_FORMAT",
    "BAD_SIGNATURE",
    "DEFAULT_RECV_WINDOW_MS",
    "MAX_RECV_WINDOW_MS",
    "REJECTED_KEY",
    "Authorized",
    "Keys",
    "PrivateRequest",
    "ReadRequest",
    "Security",
    "authorize",
    "check_timing",
    "key_check",
    "parameters",
    "permitted",
    "query_pairs",
    "read_request",
    "vouched",
]


BAD_KEY_FORMAT = refusal(-2014, "API-key format invalid.", 401)  # a new exception each: refusal
_REJECTED_TEXT = "Invalid API-key, IP, or permissions for action"
REJECTED_KEY = refusal(-2015, f"{_REJECTED_TEXT}.", 401)
BAD_SIGNATURE = refusal(-1022, "Signature for this request is not valid.")
_DUPLICATE = refusal(-1101, "Duplicate values for a parameter detected.")
_TOO_OLD = refusal(-1021, "Timestamp for this request is outside of the recvWindow.")
_AHEAD = refusal(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")
_new = tuple.__new__


class Security(enum.Enum):
    """An endpoint's security type (part 1 §2)."""

    MARKET_DATA = "MARKET_DATA"  # the key only
    USER_STREAM = "USER_STREAM"  # the key only
    TRADE = "TRADE"  # key, timestamp and signature; the key must allow trading
    USER_DATA = "USER_DATA"  # key, timestamp and signature

    def __init__(self, value: str) -> None:
        # a plain attribute, read on every private request: a property of an enum is a
        # Python-level call and its members' lookups (~2,800 instructions under CPython 3.11)
        self.signed = value in ("TRADE", "USER_DATA")


_TRADE = Security.TRADE  # a member as a constant: an enum class's attribute costs ~1,000


class PrivateRequest(NamedTuple):
    query: bytes  # the raw query string, without its "?"
    body: bytes  # the raw body (b"" for GET)
    api_key: str | None  # X-MBX-APIKEY as received; None: no such header
    ip: str  # the caller's address


class Keys(Protocol):
    """Where keys and accounts are looked up (``keyring.Keyring``, or a test's table)."""

    # moves each time the operator's tables are read again (an account deleted or disabled
    # is seen then: ``gateway/user_data.py`` ends its keys)
    loads: int

    def key(self, api_key: str) -> ApiKey | None: ...

    def account(self, account_id: int) -> Account | None: ...


class Authorized(NamedTuple):
    key: ApiKey
    account: Account
    params: dict[str, str]  # by lower-case name, query over body, percent-decoded


def parameters(query: bytes, body: bytes) -> dict[str, str]:
    """The request's parameters by lower-case name, the query's over the body's (§3.1);
    ``-1101`` for a name twice in one part."""
    merged: dict[str, str] = {}
    for part in (body, query):
        pairs = query_pairs(part)
        own = {name.lower(): value for name, value in pairs}
        if len(own) != len(pairs):
            raise _DUPLICATE()
        merged.update(own)
    return merged


def query_pairs(part: bytes) -> list[tuple[str, str]]:
    """``parse_qsl(part, keep_blank_values=True)``'s pairs; without a ``%`` or a ``+`` there is
    nothing to unquote, and the split alone is some four times cheaper (a signed request's
    query is read on every order)."""
    text = part.decode("utf-8", errors="replace")
    if part.find(b"%") >= 0 or part.find(b"+") >= 0:  # not ``in``: see ``_plain``
        return parse_qsl(text, keep_blank_values=True)
    return [(name, value) for item in text.split("&") if item for name, _, value in (item.partition("="),)]


class ReadRequest(NamedTuple):
    params: dict[str, str]  # ``parameters``'
    signed: SignedString  # ``signing.signed_string``'


def read_request(query: bytes, body: bytes) -> ReadRequest:
    """``parameters(query, body)`` and ``signed_string(query, body)`` (``-1101`` as the
    first raises it), in one pass over each part when neither holds a ``%``, a ``+`` or a
    byte past ASCII (a signed request as clients send one): nothing to unquote, its text's
    offsets its bytes'. Else each as it stands."""
    params, payload, signature, repeated = _read(query, body)
    return ReadRequest(params, SignedString(payload, signature, repeated))


def _read(query: bytes, body: bytes) -> tuple[dict[str, str], bytes, bytes | None, bool]:
    """``read_request``'s parameters, payload, signature and whether it repeats, as a plain
    tuple: ``authorize`` reads them on every signed request."""
    if not body and _plain(query):  # an order or a cancel sent in its query alone: one part
        own, payload, signature = _read_plain(query)
        return own, payload, signature, False
    if not (_plain(query) and _plain(body)):
        return parameters(query, body), *signed_string(query, body)
    params, body_payload, body_signature = _read_plain(body)
    own, query_payload, query_signature = _read_plain(query)
    params.update(own)
    signature = query_signature if query_signature is not None else body_signature
    repeated = query_signature is not None and body_signature is not None
    return params, query_payload + body_payload, signature, repeated


def _plain(part: bytes) -> bool:
    # ``find``, not ``in``: CPython 3.11's ``bytes.__contains__`` first tries its argument as an
    # int, and a ``bytes`` one costs it a formatted TypeError, made and dropped (~1,800
    # instructions; 350 ns against 200 for the two finds, on every signed request)
    return part.find(b"%") < 0 and part.find(b"+") < 0 and part.isascii()


def _read_plain(part: bytes) -> tuple[dict[str, str], bytes, bytes | None]:
    """One plain part's parameters (``-1101`` for a name twice), the part without its
    signature pair (and the ``&`` joining it), and the signature's value (None: none)."""
    if not part:
        return {}, part, None
    items = part.decode("ascii").split("&")
    pairs = [item.partition("=") for item in items if item]
    own = {name.lower(): value for name, _, value in pairs}
    if len(own) != len(pairs):
        raise _DUPLICATE()
    signature = own.get("signature")
    if signature is None:
        return own, part, None
    # one pair named signature, whatever its case (two would be -1101): most often the last
    last = items[-1]
    if last.partition("=")[0].lower() == "signature":
        payload = part[: -len(last) - 1] if len(items) > 1 else b""
    else:
        payload = "&".join(item for item in items if item.partition("=")[0].lower() != "signature").encode()
    return own, payload, signature.encode()


def authorize(request: PrivateRequest, security: Security, keys: Keys, now_ms: int) -> Authorized:
    """Steps 3 to 8 of §10 (see the module's docstring); ``RequestRefused`` at the first
    that fails."""
    params, payload, signature, repeated = _read(request.query, request.body)  # 3
    api_key = request.api_key  # 4
    if api_key is None or API_KEY_FORMAT.fullmatch(api_key) is None:
        raise BAD_KEY_FORMAT()
    key = keys.key(api_key)
    if key is None:
        raise REJECTED_KEY()
    if security.signed:
        timestamp = parse_long(params.get("timestamp", ""), "timestamp")  # 5
        if not signature:
            raise mandatory("signature")
        check_timing(timestamp, params.get("recvwindow"), now_ms)  # 6
        if repeated or not verify(key, payload, signature):  # 7
            raise BAD_SIGNATURE()
    # 8; Authorized(…) without the NamedTuple's generated Python __new__ (once a request)
    return _new(Authorized, (key, permitted(key, security, keys, request.ip), params))


def key_check(keys: Keys | None, api_key: str | None, ip: str, now_ms: int) -> Callable[[], None]:
    """A MARKET_DATA endpoint's check (§2), to run once its weight is charged: ``api_key``
    (``X-MBX-APIKEY``) a key of ``keys`` that may read from ``ip`` (``-2014``, ``-2015`` as a
    signed endpoint's), no signature; ``keys`` None (no venue): no key is valid."""

    def check() -> None:
        if keys is None:
            raise REJECTED_KEY()
        authorize(PrivateRequest(b"", b"", api_key, ip), Security.MARKET_DATA, keys, now_ms)

    return check


def vouched(api_key: str, security: Security, keys: Keys, ip: str, params: dict[str, str]) -> Authorized:
    """A request another process admitted (``venue/wire/forwarded.py``: a gateway checked the
    signature and the timing) authorized again here, from the key alone: step 8 against
    this process' view of the keys, so a key revoked or an account disabled since is
    refused (401 ``-2015``)."""
    key = keys.key(api_key)
    if key is None:
        raise REJECTED_KEY()
    return Authorized(key, permitted(key, security, keys, ip), params)


def permitted(key: ApiKey, security: Security, keys: Keys, ip: str) -> Account:
    """Step 8: the key's account, if the key, its account, its permissions and its IP
    restriction allow ``security`` from ``ip``; else 401 ``-2015``."""
    account = keys.account(key.account_id)
    if account is None or account.disabled or key.disabled or not key.reading:
        raise REJECTED_KEY()
    if security is _TRADE and not key.trading:
        raise REJECTED_KEY()
    if not key.allows(ip):
        raise RequestRefused(-2015, f"{_REJECTED_TEXT}, request ip: {ip}", 401)
    return account


def check_timing(timestamp: int, recv_window: str | None, now_ms: int, *, refuse_above: bool = False) -> None:
    """§5.1: ``timestamp < serverTime + 1000 and serverTime - timestamp <= recvWindow``;
    ``refuse_above``: a ``recvWindow`` above 60000 is ``-1130`` (the WebSocket API's
    ``session.logon``, §8.6, decision 4), not taken as 60000."""
    window = DEFAULT_RECV_WINDOW_MS
    if recv_window is not None:
        # Not an integer, not positive, or past a LONG (a LONG parameter, part 2 §3.1):
        # -1130 (§5.2 leaves -1100 or -1130 open). Read as an int once, never 5,000 digits.
        plain = recv_window.isascii() and recv_window.isdigit() and len(recv_window) <= 19
        sent = int(recv_window) if plain else 0
        if not 0 < sent <= LONG_MAX or (refuse_above and sent > MAX_RECV_WINDOW_MS):
            raise not_valid("recvWindow")
        window = min(sent, MAX_RECV_WINDOW_MS)
    if timestamp >= now_ms + AHEAD_MS:
        raise _AHEAD()
    if now_ms - timestamp > window:
        raise _TOO_OLD()
