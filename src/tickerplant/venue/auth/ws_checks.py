"""A WebSocket API request's parameters, key, timestamp and signature (trading part 1 §8.3,
§8.5, §8.6), in the order of part 1 §10 as ``checks.authorize`` goes through them for REST.

There are no raw bytes to check a signature over: the payload is made from the params as
parsed, every param but ``signature`` sorted by name, ``name=value`` joined by ``&``, a
string as its content, a number as its JSON text (``43187.00`` stays so), a boolean
``true``/``false`` (decision 3). Clients differ in how they write values outside
``A-Za-z0-9-_.~`` (§8.5's table), so a signature verifies against any of: the raw values,
``urlencode``'s (Binance's modular SDK, nautilus), ``encodeURIComponent``'s (tiagosiebler),
and the raw values with booleans as Python writes them (python-binance signs ``str(True)``).
A signature is taken percent-decoded (python-binance URL-encodes even base64).

The key is the ``apiKey`` param, else the key ``session.logon`` put on the connection; a
request on a logged-on session needs no ``apiKey`` nor ``signature``, but a SIGNED method
still needs its ``timestamp`` (§8.6). ``session.logon`` itself takes Ed25519 keys only and
refuses a ``recvWindow`` above 60000 (decision 4).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import NamedTuple
from urllib.parse import quote, quote_plus

import msgspec

from tickerplant.protocol.errors import RequestRefused, mandatory, not_valid
from tickerplant.protocol.ws_api import WsSession
from tickerplant.venue.auth.accounts import API_KEY_FORMAT, Account, ApiKey, KeyType
from tickerplant.venue.auth.checks import (
    BAD_KEY_FORMAT,
    BAD_SIGNATURE,
    REJECTED_KEY,
    Authorized,
    Keys,
    Security,
    check_timing,
    permitted,
)
from tickerplant.venue.auth.signing import verify
from tickerplant.venue.domain.order_params import parse_long

__all__ = [
    "SESSION_REVOKED", "SessionRevoked", "WsParams", "authorize_ws", "check_session", "read_params",
    "signed_forms",
]  # fmt: skip


class SessionRevoked(RequestRefused):
    """A logged-on key that has since been revoked, disabled or restricted: the session ends
    and the reply is unsolicited, ``"id": null`` (§8.6's example; §8.4: ``id`` is null for
    unsolicited errors), as Binance's: a client that matches replies by id waits for the
    request's own as it would on Binance, so it is tested against what it will meet."""


# a new exception at each raise, as ``protocol.errors.refusal``'s
_REVOKED_MSG = "Invalid API-key, IP, or permissions for action."
SESSION_REVOKED = functools.partial(SessionRevoked, -2015, _REVOKED_MSG, 401)
_URI_SAFE = "-_.!~*'()"  # what encodeURIComponent leaves as it is


class WsParams(NamedTuple):
    sent: dict[str, str]  # by name as sent: the value as signed (see the module's docstring)
    booleans: frozenset[str]  # the names whose value was a JSON boolean

    @property
    def by_name(self) -> dict[str, str]:
        """By lower-case name, as the endpoints read them (decision 4)."""
        return {name.lower(): value for name, value in self.sent.items()}


def read_params(params: dict[str, msgspec.Raw]) -> WsParams:
    """The request's params rendered as text; a null one is as if not sent; an object or
    an array ``-1130`` naming it (no futures method takes one)."""
    sent: dict[str, str] = {}
    booleans = []
    for name, raw in params.items():
        text = bytes(raw)
        first = text[:1]
        if first == b'"':
            sent[name] = msgspec.json.decode(text, type=str)
        elif first in (b"{", b"["):
            raise not_valid(name)
        elif text != b"null":
            sent[name] = text.decode()
            if text in (b"true", b"false"):
                booleans.append(name)
    if len({name.lower() for name in sent}) != len(sent):  # decision 4: one name in two cases
        raise RequestRefused(-1101, "Duplicate values for a parameter detected.")  # as REST's query
    return WsParams(sent, frozenset(booleans))


def signed_forms(params: WsParams) -> Iterator[bytes]:
    """What the client may have signed, most likely first (see the module's docstring), each
    once, each made only when asked for: the raw form verifies a request as most clients
    sign it, and each encoded form costs ~8 µs of ``quote`` over an order's ten names and
    values, twice per order and its cancel when made whether needed or not."""
    # every param but the signature, its name in any case (overview decision 4, as REST's)
    items = sorted([(n, v) for n, v in params.sent.items() if len(n) != 9 or n.lower() != "signature"])
    raw = "&".join([f"{n}={v}" for n, v in items])
    yield raw.encode()
    made = {raw}
    for form in _encoded_forms(items, params.booleans):
        if form not in made:
            made.add(form)
            yield form.encode()


def _encoded_forms(items: list[tuple[str, str]], booleans: frozenset[str]) -> Iterator[str]:
    yield "&".join(f"{quote_plus(n)}={quote_plus(v)}" for n, v in items)
    yield "&".join(f"{quote(n, _URI_SAFE)}={quote(v, _URI_SAFE)}" for n, v in items)
    if booleans:
        yield "&".join(f"{n}={v.capitalize() if n in booleans else v}" for n, v in items)


def authorize_ws(
    params: WsParams, security: Security, keys: Keys, session: WsSession | None, ip: str, now_ms: int,
    *, logon: bool = False,
) -> Authorized:  # fmt: skip
    """§10's steps 4 to 8 for a WebSocket API request (the module's docstring); ``logon``:
    ``session.logon``'s own rules. ``SESSION_REVOKED`` when the session's key no longer
    serves."""
    by_name = params.by_name
    api_key = by_name.get("apikey")
    signature = by_name.get("signature")
    on_session = (  # a method that reads no signature (USER_STREAM's) ignores a stray one, as REST's
        not logon and session is not None and session.api_key is not None
        and not (signature and security.signed) and api_key in (None, session.api_key)
    )  # fmt: skip
    account: Account | None = None
    if on_session:  # the session's key revoked, disabled or restricted since: the session ends
        key, account = check_session(session, keys, ip)
    else:
        if api_key is None or api_key == "":
            raise mandatory("apiKey")
        if API_KEY_FORMAT.fullmatch(api_key) is None:
            raise BAD_KEY_FORMAT()
        found = keys.key(api_key)
        if found is None:
            raise REJECTED_KEY()
        key = found
    if security.signed:
        timestamp = parse_long(by_name.get("timestamp", ""), "timestamp")
        if not on_session and not signature:
            raise mandatory("signature")
        check_timing(timestamp, by_name.get("recvwindow"), now_ms, refuse_above=logon)
        if not on_session:
            assert signature is not None
            if logon and key.key_type is not KeyType.ED25519:
                raise BAD_SIGNATURE()  # only Ed25519 keys log on (§8.6; Unresolved 16's choice)
            sent = signature.encode()
            if not any(verify(key, payload, sent) for payload in signed_forms(params)):
                raise BAD_SIGNATURE()
    if account is None:
        return Authorized(key, permitted(key, security, keys, ip), by_name)
    if security is Security.TRADE and not key.trading:
        raise REJECTED_KEY()  # a reading key's session stays, refused trading as REST is
    return Authorized(key, account, by_name)


def check_session(session: WsSession | None, keys: Keys, ip: str) -> tuple[ApiKey, Account]:
    """The session's key and its account; ``SESSION_REVOKED``, the session ended, when the key
    has been revoked, or its account disabled or its IP refused since ``session.logon``
    (§8.6: the *next* request gets it, whichever it is); ``SESSION_REVOKED`` too without a
    session key (a caller asks only of a logged-on session)."""
    key = None if session is None or session.api_key is None else keys.key(session.api_key)
    try:
        if key is None:
            raise SESSION_REVOKED()
        return key, permitted(key, Security.USER_DATA, keys, ip)
    except RequestRefused:
        if session is not None:
            _end(session)
        raise SESSION_REVOKED() from None


def _end(session: WsSession) -> None:
    session.api_key = None
    session.authorized_since = None
