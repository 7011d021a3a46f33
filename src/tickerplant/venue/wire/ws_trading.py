"""The WebSocket API's trading, account, user-stream and session methods of one market
(trading part 1 §8.6–§8.9), without I/O: a request frame, the connection's session, the
caller and the time in; the reply frame out.

Each method is its REST twin (§8.7's table) over the same ``PrivateRest`` and so the same
engine, accounts and listen keys: a WebSocket order is a REST order, its events go to the
user data stream alike (the listener drains the engine after each request, as after a
REST one). What differs is around the answer:

- the frame: ``{"id":…,"status":…,"result"|"error":…,"rateLimits":[…]}``, the id echoed
  whenever the frame holds one that reads as an id (INT, STRING or null, §8.3), refusals
  too (``params`` not an object): clients match replies by id and would wait for one that
  never comes; the one unsolicited error, the session's key revoked since its logon, is
  ``"id": null`` as Binance's (§8.4, §8.6); a refusal carries REST's code and text and its
  HTTP status (400, 401, 429, 418);
- the key: the ``apiKey`` param or the session's, the signature over the sorted params
  (``ws_checks.py``);
- weights: §8.7's (``order.place`` 0, ``order.cancel``/``order.status`` 1, ``account.*`` 5,
  ``userDataStream.*`` 1, ``session.*`` 2), charged to the IP first, the REST budget;
- ``rateLimits`` (unless ``returnRateLimits`` is false for the request or the connection):
  the IP's ``REQUEST_WEIGHT``, and for an order placed or modified the account's ``ORDERS`` counts
  first, 10 s then 1 min (COIN-M: 1 min), as the doc's ``order.place`` example lists them.

Methods: UM ``order.place``, ``order.cancel``, ``order.status``, ``account.status``/``.balance``/
``.position`` (the REST v2 twins) and their ``v2/`` names (the v3 twins), COIN-M the same
without ``v2/`` (§8.7); ``order.modify`` (``PUT …/order``, counted as an order);
``userDataStream.start``/``.ping``/``.stop`` and ``session.logon``/``.status``/``.logout`` on both;
``algoOrder.place``/``.cancel`` on USDⓈ-M only (the Algo Order service's ``POST``/``DELETE
…/algoOrder``; ws-dapi has none, §8.7).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import msgspec

from tickerplant.market.instruments import Market
from tickerplant.protocol.errors import CLOSE_BANNED, RequestRefused, not_valid
from tickerplant.protocol.request_weight import rate_limit_error
from tickerplant.protocol.ws_api import OTHER_METHOD, WsApiReply, WsSession, limits_shown
from tickerplant.venue.auth.checks import Authorized, Security
from tickerplant.venue.auth.ws_checks import (
    SessionRevoked,
    WsParams,
    authorize_ws,
    check_session,
    read_params,
)
from tickerplant.venue.wire import algo_rest
from tickerplant.venue.wire.rest import Headed, PrivateRest

__all__ = ["WsAdmitted", "WsMethod", "WsTrading"]

_encode = msgspec.json.encode
_INTERVALS = {10_000: ("SECOND", 10), 60_000: ("MINUTE", 1)}  # an order window's name in rateLimits


class _Request(msgspec.Struct):
    id: int | str | None = None
    method: str = ""
    params: dict[str, msgspec.Raw] = {}


class _Id(msgspec.Struct):
    id: int | str | None = None


_read_request = msgspec.json.Decoder(_Request).decode
_read_id = msgspec.json.Decoder(_Id).decode


def _request_id(frame: bytes) -> int | str | None:
    """The frame's id where it reads as one (§8.3), whatever else in the frame does not."""
    try:
        return _read_id(frame).id
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


class WsMethod(NamedTuple):
    security: Security
    weight: int  # REQUEST_WEIGHT (§8.7)
    answer: Callable[[Authorized, int], Any]  # (the authorized request, now) -> a JSON value
    places: bool = False  # counts orders: its rateLimits show the account's ORDERS


class WsAdmitted(NamedTuple):
    """A request ``WsTrading.admit`` let through to its method's endpoint."""

    request_id: int | str | None
    method: str  # as requested
    authorized: Authorized
    used: int  # the IP's weight used, for rateLimits
    show_limits: bool  # whether the reply carries rateLimits


def _ws_account(rest: PrivateRest, v2: bool, authorized: Authorized, now_ms: int) -> Any:
    """``account.status`` (``v2``: REST's ``/fapi/v2/account``) or ``v2/account.status`` (v3's),
    in the WebSocket API's shapes (``account_payloads.account``)."""
    return rest.account_answer(authorized, v2=v2, ws=True)


def _session_method(authorized: Authorized, now_ms: int) -> Any:
    raise AssertionError("the session methods are answered by WsTrading.answer")


class WsTrading:
    """The private WebSocket API methods of one market listener (``protocol.ws_api.PrivateMethods``)."""

    def __init__(self, rest: PrivateRest, after: Callable[[int], object] | None = None) -> None:
        """``rest``: the listener's private REST surface, whose endpoints answer; ``after``:
        called with the time after every request (the listener's user data drain)."""
        self.rest = rest
        self._after = after
        um = rest.market is Market.UM
        p = "/fapi" if um else "/dapi"
        twins: dict[str, tuple[str, str, int, bool]] = {
            "order.place": ("POST", f"{p}/v1/order", 0, True),
            "order.modify": ("PUT", f"{p}/v1/order", 0 if um else 1, True),
            "order.cancel": ("DELETE", f"{p}/v1/order", 1, False),
            "order.status": ("GET", f"{p}/v1/order", 1, False),
            "userDataStream.start": ("POST", f"{p}/v1/listenKey", 1, False),
            "userDataStream.ping": ("PUT", f"{p}/v1/listenKey", 1, False),
            "userDataStream.stop": ("DELETE", f"{p}/v1/listenKey", 1, False),
        }
        if um:  # ws-dapi has no algoOrder.* and no v2/ names (§8.7)
            twins |= {
                "algoOrder.place": ("POST", "/fapi/v1/algoOrder", 0, True),  # §8.7, the Algo Order service
                "algoOrder.cancel": ("DELETE", "/fapi/v1/algoOrder", 1, False),
                "account.status": ("GET", "/fapi/v2/account", 5, False),
                "v2/account.status": ("GET", "/fapi/v3/account", 5, False),
                "account.balance": ("GET", "/fapi/v2/balance", 5, False),
                "v2/account.balance": ("GET", "/fapi/v3/balance", 5, False),
                "account.position": ("GET", "/fapi/v2/positionRisk", 5, False),
                "v2/account.position": ("GET", "/fapi/v3/positionRisk", 5, False),
            }
        else:
            twins |= {
                "account.status": ("GET", "/dapi/v1/account", 5, False),
                "account.balance": ("GET", "/dapi/v1/balance", 5, False),
                "account.position": ("GET", "/dapi/v1/positionRisk", 5, False),
            }
        self.methods: dict[str, WsMethod] = {}
        for name, (verb, path, weight, places) in twins.items():
            endpoint = rest.routes.get((verb, path))
            if endpoint is not None:  # only what the REST surface serves (an engine, listen keys)
                self.methods[name] = WsMethod(endpoint.security, weight, endpoint.answer, places)
        if "algoOrder.place" in self.methods and rest.engine is not None:  # fewer times in force
            ws_place = functools.partial(algo_rest.place, rest.engine, tifs=algo_rest.WS_TIFS)
            self.methods["algoOrder.place"] = self.methods["algoOrder.place"]._replace(answer=ws_place)
        if um:  # the account reads' WebSocket shapes differ from their REST twins' (part 3 §4.2)
            for name, v2 in (("account.status", True), ("v2/account.status", False)):
                if name in self.methods:
                    answer = functools.partial(_ws_account, rest, v2)
                    self.methods[name] = self.methods[name]._replace(answer=answer)
        self.methods |= {  # answered in ``answer`` itself: they read and write the session
            "session.logon": WsMethod(Security.USER_DATA, 2, _session_method),
            "session.status": WsMethod(Security.MARKET_DATA, 2, _session_method),
            "session.logout": WsMethod(Security.MARKET_DATA, 2, _session_method),
        }
        self.names = frozenset(self.methods)

    def answer(
        self, frame: bytes, session: WsSession | None, ip: str, now_ms: int, rate_limits_default: bool
    ) -> WsApiReply:
        admitted = self.admit(frame, session, ip, now_ms, rate_limits_default)
        if isinstance(admitted, WsApiReply):
            return admitted
        return self.perform(admitted, now_ms)

    def admit(
        self, frame: bytes, session: WsSession | None, ip: str, now_ms: int, rate_limits_default: bool
    ) -> WsApiReply | WsAdmitted:
        """What comes before the method's endpoint: the frame read, the IP's weight, the
        session's methods (answered here), the key and signature (``ws_checks``); the reply
        when that is all, else the request admitted for ``perform``. Under ``--workers`` a
        gateway admits and the plant performs (``venue/wire/forwarded.py``)."""
        unreadable: RequestRefused | None = None
        try:
            request = _read_request(frame)
        except (msgspec.DecodeError, msgspec.ValidationError) as unread:
            named = "id" if "`$.id`" in str(unread) else "params"
            request = _Request(_request_id(frame) if named != "id" else None, OTHER_METHOD)
            unreadable = not_valid(named)
        name = request.method
        method = self.methods.get(name)
        bad: RequestRefused | None = unreadable
        params = WsParams({}, frozenset())
        if bad is None:
            try:
                params = read_params(request.params)
            except RequestRefused as refused:
                bad = refused
        try:  # shown on refusals too (§8.4), the connection's choice where the request's is bad
            show = limits_shown(params.sent.get("returnRateLimits"), rate_limits_default)
        except RequestRefused as refused:
            show, bad = rate_limits_default, bad or refused
        verdict = self.rest.weight.charge(ip, 1 if method is None else method.weight, now_ms)
        limits = self._limits(verdict.used) if show else None
        if verdict.status != 200:
            error = rate_limit_error(verdict, ip, self.rest.weight.limit)
            data = {"serverTime": now_ms, "retryAfter": now_ms + verdict.retry_after_ms}
            close = CLOSE_BANNED if verdict.status == 418 else None
            return WsApiReply((self._frame(request.id, error, limits, data),), close, name, error.status)
        try:
            if bad is not None:
                raise bad
            assert method is not None  # an unread frame's method is OTHER_METHOD, and it is bad
            logged_on = session is not None and session.api_key is not None
            if logged_on and name in ("session.status", "session.logout"):  # revoked since: ended (§8.6)
                check_session(session, self.rest.accounts, ip)
            if name == "session.status":
                result = self._status(session, rate_limits_default, now_ms)
            elif name == "session.logout":
                if session is not None:
                    session.api_key = session.authorized_since = None
                result = self._status(session, rate_limits_default, now_ms)
            else:
                logon = name == "session.logon"
                authorized = authorize_ws(
                    params, method.security, self.rest.accounts, session, ip, now_ms, logon=logon
                )
                if not logon:
                    return WsAdmitted(request.id, name, authorized, verdict.used, show)
                if session is not None:
                    session.api_key, session.authorized_since = authorized.key.api_key, now_ms
                result = self._status(session, rate_limits_default, now_ms)
        except RequestRefused as refused:
            # the session's key revoked since its logon: unsolicited, id null (§8.4, §8.6)
            reply_id = None if isinstance(refused, SessionRevoked) else request.id
            return WsApiReply((self._frame(reply_id, refused, limits),), None, name, refused.status)
        body: dict[str, Any] = {"id": request.id, "status": 200, "result": result}
        if limits is not None:
            body["rateLimits"] = limits
        return WsApiReply((_encode(body),), None, name, 200)

    def perform(self, admitted: WsAdmitted, now_ms: int) -> WsApiReply:
        """The method's endpoint for an admitted request, framed with its ``rateLimits``."""
        name = admitted.method
        try:
            method = self.methods[name]
            result = method.answer(admitted.authorized, self.rest.venue_ms(method.security, now_ms))
            if isinstance(result, Headed):
                result = result.value
        except RequestRefused as refused:
            return self.refused(admitted, refused, now_ms)
        finally:
            if self._after is not None:
                self._after(now_ms)
        body: dict[str, Any] = {"id": admitted.request_id, "status": 200, "result": result}
        limits = self._limits_of(admitted, now_ms)
        if limits is not None:
            body["rateLimits"] = limits
        return WsApiReply((_encode(body),), None, name, 200)

    def refusal(
        self, request_id: int | str | None, refused: RequestRefused, used: int, show: bool
    ) -> WsApiReply:
        """``refused`` as a reply to an admitted request, with the IP's weight in
        ``rateLimits`` when shown (the plant no longer knows the key, ``venue/wire/forwarded.py``)."""
        limits = self._limits(used) if show else None
        return WsApiReply((self._frame(request_id, refused, limits),), None, OTHER_METHOD, refused.status)

    def refused(self, admitted: WsAdmitted, refused: RequestRefused, now_ms: int) -> WsApiReply:
        """``refused`` as the reply to ``admitted``: its method's own refusal, or a fault's
        (``gateway/fault_ws.py``), with the same ``rateLimits``."""
        frame = self._frame(admitted.request_id, refused, self._limits_of(admitted, now_ms))
        return WsApiReply((frame,), None, admitted.method, refused.status)

    def _limits_of(self, admitted: WsAdmitted, now_ms: int) -> list[dict[str, Any]] | None:
        """The ``rateLimits`` of a reply to ``admitted`` (None: not shown): the IP's weight,
        after the account's ``ORDERS`` counts as they stand for an order-placing method (§8.4)."""
        if not admitted.show_limits:
            return None
        limits = self._limits(admitted.used)
        method = self.methods[admitted.method]
        if method.places:  # counted on the venue's time (a replay's own)
            venue_ms = self.rest.venue_ms(method.security, now_ms)
            return self._orders(admitted.authorized.account.account_id, venue_ms) + limits
        return limits

    # -- pieces ----------------------------------------------------------------------------

    def _status(self, session: WsSession | None, rate_limits_default: bool, now_ms: int) -> dict[str, Any]:
        """session.logon's, .status's and .logout's result (§8.6)."""
        return {
            "apiKey": None if session is None else session.api_key,
            "authorizedSince": None if session is None else session.authorized_since,
            "connectedSince": now_ms if session is None else session.connected_since,
            "returnRateLimits": rate_limits_default,
            "serverTime": now_ms,
        }

    def _limits(self, used: int) -> list[dict[str, Any]]:
        return [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                 "limit": self.rest.weight.limit, "count": used}]  # fmt: skip

    def _orders(self, account_id: int, now_ms: int) -> list[dict[str, Any]]:
        engine = self.rest.engine
        if engine is None:
            return []
        return [
            {"rateLimitType": "ORDERS", "interval": _INTERVALS[window][0],
             "intervalNum": _INTERVALS[window][1], "limit": limit, "count": count}
            for window, limit, count in engine.counts.current(account_id, now_ms)
        ]  # fmt: skip

    @staticmethod
    def _frame(
        request_id: Any, error: RequestRefused, limits: list[dict[str, Any]] | None,
        data: dict[str, int] | None = None,
    ) -> bytes:  # fmt: skip
        detail: dict[str, Any] = {"code": error.code, "msg": error.msg}
        if data is not None:
            detail["data"] = data
        body: dict[str, Any] = {"id": request_id, "status": error.status, "error": detail}
        if limits is not None:
            body["rateLimits"] = limits
        return _encode(body)
