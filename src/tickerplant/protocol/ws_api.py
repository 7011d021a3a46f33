"""The WebSocket API envelope, without I/O (spec §5, §6).

One JSON request per text frame, ``{"id":…,"method":…,"params":{…}}``; one reply per
request, ``{"id":…,"status":…,"result"|"error":…,"rateLimits":[…]}`` with the id echoed
as sent. Weight is charged per IP against the budget REST shares (§5.5); over it the
reply is 429, and an IP that keeps going is banned: 418, and the connection closes.
Signature fields (`apiKey`, `timestamp`, `signature`, `recvWindow`) are ignored on these
public methods (§5.2), which USDⓈ-M's WebSocket API alone answers: COIN-M's has no
market-data method (trading part 1 §8.7), and names one as unknown (``-1000``).

A request is read once into a small struct (id, method, params left as bytes), and what is
a function of its method and params alone (the method, the params as read, the weight,
whether the reply shows the limits) is kept per (method, params bytes): a client asks the
same few questions again and again under new ids. A ``ticker.book`` answer for one symbol is
kept too, encoded, until that symbol's next bookTicker (the pushed payload it is read from,
``MarketData.ticker_book``). The weight is charged per request as before, and the reply
bytes are those the plain path writes; anything the struct or the table does not take (an
error to answer, another shape) goes the plain way.

The trading, account and user-stream methods (trading part 1 §8.6–§8.9) are another
layer's: ``WsApi.private``, when set, answers the methods it names (``venue/wire/ws_trading.py``),
with the connection's ``WsSession`` (the key ``session.logon`` put on it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Set
from typing import Any, NamedTuple, Protocol

import msgspec

from tickerplant.market.instruments import Market
from tickerplant.market.plant.view import SymbolView
from tickerplant.protocol.errors import CLOSE_BANNED, CloseReason, RequestRefused, mandatory, not_valid
from tickerplant.protocol.json_errors import NotJson, parse_json
from tickerplant.protocol.later import Later
from tickerplant.protocol.market_data import MarketData, Method, Spliced, named_symbol
from tickerplant.protocol.request_weight import RequestWeight, WeightVerdict, rate_limit_error

__all__ = [
    "OTHER_METHOD", "WS_API_METHODS", "AwaitedReply", "PrivateMethods", "WsApi", "WsApiReply", "WsSession",
    "limits_shown",
]  # fmt: skip

WS_API_METHODS = ("ticker.price", "ticker.book", "depth")  # the market-data methods (§6), USDⓈ-M's alone
OTHER_METHOD = "other"  # a request's method label when it names none of them: a client's text never is

_encode = msgspec.json.encode
# ``WsApiReply(…)`` with every field given, on the fast path: ``tuple.__new__`` is what the
# NamedTuple's generated ``__new__`` runs, without that Python frame (~1 µs a request)
_new = tuple.__new__
# Kept (method, params) entries; past it the table starts again (a client sending ever new
# params costs a read each, as on the plain path, and bounded memory).
_KEPT_REQUESTS = 4096
_UNSET = msgspec.UNSET
_NO_PARAMS = b""  # the key of a request without `params` (which reads as {})


def limits_shown(value: object, default: bool) -> bool:
    """Whether a reply carries ``rateLimits``: ``returnRateLimits`` as sent (None: not sent,
    ``default``, the connection's), a JSON boolean or its text in any case, as REST reads a
    boolean (decision 4: ``true``/``false`` and ``True``/``False``); else ``-1130``."""
    if value is None:
        return default
    if value is True or value is False:
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise not_valid("returnRateLimits")


class _Request(msgspec.Struct):
    """What the fast path reads of a request; ``params`` stays JSON, the table's key."""

    id: int | str | msgspec.UnsetType | None = msgspec.UNSET  # unset: the plain path refuses it
    method: str = ""
    params: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET


_read_request = msgspec.json.Decoder(_Request).decode


class _Kept:
    """A request's method and params read once: what every request with them shares."""

    __slots__ = (
        "answer", "answer_at", "label", "method", "params", "show_limits", "source", "stamp", "weight",
    )  # fmt: skip

    def __init__(
        self, label: str, method: Method, params: dict[str, Any], show_limits: bool, weight: int
    ) -> None:
        self.label = label
        self.method = method
        self.params = params
        self.show_limits = show_limits
        self.weight = weight
        # A one-symbol ticker.book: its symbol's view, whose last bookTicker pushed (`stamp`)
        # the encoded answer was made from.
        self.source: SymbolView | None = None
        self.stamp: bytes | None = None
        self.answer = b""
        # A depth request: its answer as a function of the time, symbol and limit read once.
        self.answer_at: Callable[[int], Any] | None = None


class WsApiReply(NamedTuple):
    """The reply as consecutive byte strings (one, or three around a depth answer's shared
    levels: the shell frames them without joining them), whether to close after it, and
    what the metrics label it by: the method asked (one of ``WS_API_METHODS``, version
    prefix dropped, else ``OTHER_METHOD``) and the reply's ``status``."""

    parts: tuple[bytes, ...]
    close: CloseReason | None = None
    method: str = OTHER_METHOD
    status: int = 200

    @property
    def reply(self) -> bytes:
        """The whole reply (``parts`` joined: a copy when there are several)."""
        return self.parts[0] if len(self.parts) == 1 else b"".join(self.parts)


class AwaitedReply(NamedTuple):
    """A reply made elsewhere (the venue in the plant, under ``--workers``): ``then`` is
    given a callback, which it calls once, later (never before it returns), with the reply."""

    then: Callable[[Callable[[WsApiReply], None]], None]


class WsSession:
    """One connection's session (trading part 1 §8.6): when it opened, and the key
    ``session.logon`` authenticated it with (None: not logged on)."""

    __slots__ = ("api_key", "authorized_since", "connected_since")

    def __init__(self, connected_since: int) -> None:
        self.connected_since = connected_since
        self.api_key: str | None = None
        self.authorized_since: int | None = None


class PrivateMethods(Protocol):
    """The methods that need a key (``venue/wire/ws_trading.py``): ``names`` as requested (with a
    version prefix where it names another method, ``v2/account.status``), and the answer
    to a request for one of them."""

    @property
    def names(self) -> Set[str]: ...

    def answer(
        self, frame: bytes, session: WsSession | None, ip: str, now_ms: int, rate_limits_default: bool
    ) -> WsApiReply | AwaitedReply: ...


class WsApi:
    """The WebSocket API of one market: parse, charge, answer."""

    def __init__(
        self, data: MarketData, weight: RequestWeight, market_now: Callable[[], int] | None = None
    ) -> None:
        """``market_now``: the market's present when it is not the server's time, which its
        market data is answered at (``rest.RestApi``'s; the weight stays on the server's)."""
        self.data = data
        self.weight = weight
        self._market_now = market_now
        self.private: PrivateMethods | None = None  # the trading methods, where a venue serves them
        # USDⓈ-M's WebSocket API answers market data (§6). COIN-M's documents none, and Binance's
        # COIN-M SDK has none (trading part 1 §8.7: session, order, account and user data
        # stream methods only): there they are unknown methods, -1000, as every other name is
        um = data.market is Market.UM
        self._methods = {name: data.methods[name] for name in WS_API_METHODS} if um else {}
        self._kept: dict[tuple[str, bytes, bool], _Kept] = {}
        self._limits_for = -1  # the weight limit _limits_head was written for
        self._limits_head = b""

    def receive(
        self, frame: bytes, ip: str, now_ms: int, rate_limits_default: bool = True,
        session: WsSession | None = None,
    ) -> WsApiReply | AwaitedReply:  # fmt: skip
        # ``rate_limits_default`` and ``session`` are positional too: the shell passes them so
        # on every request, where a keyword argument costs a Python call ~0.2 µs more.
        try:
            request = _read_request(frame)
        except Exception:  # whatever it is, the plain path reads it and says so
            return self._receive(frame, ip, now_ms, rate_limits_default)
        if request.id is _UNSET:  # §8.3: mandatory (null is an id)
            return self._receive(frame, ip, now_ms, rate_limits_default)
        params = request.params
        key = (request.method, _NO_PARAMS if params is _UNSET else bytes(params), rate_limits_default)
        kept = self._kept.get(key)
        if kept is None:
            private = self.private
            if private is not None and request.method in private.names:
                return private.answer(frame, session, ip, now_ms, rate_limits_default)
            kept = self._keep(key)
            if kept is None:
                return self._receive(frame, ip, now_ms, rate_limits_default)
        verdict = self.weight.charge(ip, kept.weight, now_ms)
        if verdict.status != 200:
            return self._refused(request.id, verdict, kept.label, ip, now_ms, kept.show_limits)
        source = kept.source
        if source is not None and source.book_ticker is kept.stamp and source.book_ticker is not None:
            result = kept.answer
        else:
            try:
                answer_at, market_now = kept.answer_at, self._market_now
                at = now_ms if market_now is None else market_now()
                answer = kept.method.answer(kept.params, at) if answer_at is None else answer_at(at)
            except RequestRefused as error:
                limits = self._rate_limits(verdict.used) if kept.show_limits else None
                return WsApiReply((self._error(request.id, error, limits),), None, kept.label, error.status)
            if type(answer) is Spliced:
                head = b'{"id":%b,"status":200,"result":%b' % (_encode(request.id), answer.head)
                end = self._limits_end(verdict.used) if kept.show_limits else b"}"
                return _new(WsApiReply, ((head, answer.tail, end), None, kept.label, 200))
            result = _encode(answer)
            if source is not None:
                kept.stamp = source.book_ticker
                kept.answer = result
        if kept.show_limits:
            limits_head = self._limits_head  # _limits_end, inlined on the path nearly every request takes
            if self.weight.limit != self._limits_for:
                limits_head = self._write_limits_head()
            reply = b'{"id":%b,"status":200,"result":%b%b%d}]}' % (
                _encode(request.id), result, limits_head, verdict.used
            )
        else:
            reply = b'{"id":%b,"status":200,"result":%b}' % (_encode(request.id), result)
        return _new(WsApiReply, ((reply,), None, kept.label, 200))

    def _keep(self, key: tuple[str, bytes, bool]) -> _Kept | None:
        """Read a (method, params) the table does not hold; None for one the plain path must
        answer (a refusal: no such method, params that are not an object or not JSON, a
        weight rule that refuses them)."""
        method_name, params_json, rate_limits_default = key
        name = method_name.rpartition("/")[2]  # a version prefix names the same method (§5.2)
        method = self._methods.get(name)
        if not method_name or method is None:
            return None
        try:
            params = parse_json(params_json, serde_depth=False) if params_json else {}  # as _parse reads it
        except NotJson:
            return None
        if not isinstance(params, dict):
            return None
        try:
            show_limits = limits_shown(params.get("returnRateLimits"), rate_limits_default)
            weight = method.weight(params)
        except RequestRefused:
            return None
        kept = _Kept(name, method, params, show_limits, weight)
        if name == "ticker.book":
            # One symbol's answer is its last bookTicker, read (MarketData.ticker_book).
            with contextlib.suppress(RequestRefused):  # the plain answer refuses it each time
                kept.source = named_symbol(self.data.view, params)
        elif method.prepared is not None:  # depth, ticker.price: their params read once
            with contextlib.suppress(RequestRefused):  # the plain answer refuses it each time
                kept.answer_at = method.prepared(params)
        table = self._kept
        if len(table) >= _KEPT_REQUESTS:
            table.clear()
        table[key] = kept
        return kept

    def _limits_end(self, used: int) -> bytes:
        """``,"rateLimits":[…]}``: a reply's end after its result, ``used`` the weight used."""
        limits_head = self._limits_head
        if self.weight.limit != self._limits_for:
            limits_head = self._write_limits_head()
        return b"%b%d}]}" % (limits_head, used)

    def _write_limits_head(self) -> bytes:
        """``,"rateLimits":[{…,"count":`` for the weight limit now: the reply's end, less the
        weight used and ``}]}``."""
        limit = self._limits_for = self.weight.limit
        self._limits_head = (
            b',"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,'
            b'"limit":%d,"count":' % limit
        )
        return self._limits_head

    def _refused(
        self, request_id: Any, verdict: WeightVerdict, name: str, ip: str, now_ms: int, show_limits: bool
    ) -> WsApiReply:
        """The 429 or 418 of a request over the weight (§5.5)."""
        limits = self._rate_limits(verdict.used) if show_limits else None
        error = rate_limit_error(verdict, ip, self.weight.limit)
        data = {"serverTime": now_ms, "retryAfter": now_ms + verdict.retry_after_ms}
        reply = self._error(request_id, error, limits, data)
        return WsApiReply((reply,), CLOSE_BANNED if verdict.status == 418 else None, name, error.status)

    def _receive(self, frame: bytes, ip: str, now_ms: int, rate_limits_default: bool) -> WsApiReply:
        """The plain path: any frame, read and answered step by step."""
        request_id, name, parsed, sent = self._parse(frame)
        params: dict[str, Any]
        method: Method | None
        # rateLimits on every reply unless hidden (§8.4), refusals of the frame itself too:
        # the request's own returnRateLimits where its params read, else the connection's
        try:
            show_limits = limits_shown(sent.get("returnRateLimits"), rate_limits_default)
        except RequestRefused as refused:
            show_limits = rate_limits_default
            if not isinstance(parsed, RequestRefused):
                parsed = refused
        if isinstance(parsed, RequestRefused):
            # Malformed requests cost weight too, so a flood of them meets 429 and 418.
            method, params, weight = None, {}, 1
        else:
            method, params = parsed
            try:
                weight = method.weight(params)
            except RequestRefused:
                weight = 1  # a request refused for its parameters still costs weight (§7.1)
        verdict = self.weight.charge(ip, weight, now_ms)
        if verdict.status != 200:
            return self._refused(request_id, verdict, name, ip, now_ms, show_limits)
        limits = self._rate_limits(verdict.used) if show_limits else None
        if method is None:
            assert isinstance(parsed, RequestRefused)
            return WsApiReply((self._error(request_id, parsed, limits),), None, name, parsed.status)
        try:
            result = method.answer(params, now_ms if self._market_now is None else self._market_now())
            if type(result) is Later:  # a cold past's klines: made whole here (later.py)
                result = result.run()
        except RequestRefused as error:
            return WsApiReply((self._error(request_id, error, limits),), None, name, error.status)
        # Written from bytes, as msgspec writes the object {"id","status","result",
        # "rateLimits"} (no spaces, the id as sent): a depth answer's levels are not copied.
        head = b'{"id":%b,"status":200,"result":' % _encode(request_id)
        end = b"}" if limits is None else b',"rateLimits":%b}' % limits
        if type(result) is Spliced:
            return WsApiReply((head + result.head, result.tail, end), None, name)
        return WsApiReply((head + _encode(result) + end,), None, name)

    def _parse(
        self, frame: bytes
    ) -> tuple[Any, str, tuple[Method, dict[str, Any]] | RequestRefused, dict[str, Any]]:
        """The request's id (None when it cannot be echoed), its method's label (one of
        ``WS_API_METHODS``, else ``OTHER_METHOD``), its method and params, and its params
        as far as they read as an object (a refusal's ``returnRateLimits``)."""
        other = OTHER_METHOD
        try:
            # Nesting is msgspec's line here: the spec does not say the WebSocket API reads
            # with serde_json (its refusals are -1000s, not serde's texts), so its 128 levels
            # are the market streams' (json_errors).
            request = parse_json(frame, serde_depth=False)
        except NotJson:  # not JSON, too deep, or a string of invalid UTF-8: never raised on
            return None, other, RequestRefused(-1000, "Malformed request: the frame is not valid JSON."), {}
        if not isinstance(request, dict):
            return None, other, RequestRefused(-1000, "Malformed request: expected an object."), {}
        params = request.get("params", {})
        sent = params if isinstance(params, dict) else {}
        if "id" not in request:  # §8.3: mandatory, though null is one
            return None, other, mandatory("id"), sent
        request_id = request["id"]
        if request_id is not None and type(request_id) not in (int, str):
            return None, other, not_valid("id"), sent
        method_name = request.get("method")
        if not isinstance(method_name, str) or not method_name:
            return request_id, other, mandatory("method"), sent
        # A version prefix ("v1/ticker.price") names the same method (§5.2).
        name = method_name.rpartition("/")[2]
        method = self._methods.get(name)
        label = other if method is None else name
        if not isinstance(params, dict):
            refused = not_valid("params")
            return request_id, label, refused, sent
        if method is None:
            return request_id, label, RequestRefused(-1000, f"Unknown method '{method_name}'."), sent
        return request_id, label, (method, params), sent

    def _rate_limits(self, used: int) -> bytes:
        return (
            b'[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":%d,"count":%d}]'
            % (self.weight.limit, used)
        )

    @staticmethod
    def _error(
        request_id: Any,
        error: RequestRefused,
        limits: bytes | None,
        data: dict[str, int] | None = None,
    ) -> bytes:
        detail: dict[str, Any] = {"code": error.code, "msg": error.msg}
        if data is not None:
            detail["data"] = data
        body: dict[str, Any] = {"id": request_id, "status": error.status, "error": detail}
        if limits is not None:
            body["rateLimits"] = msgspec.Raw(limits)
        return _encode(body)
