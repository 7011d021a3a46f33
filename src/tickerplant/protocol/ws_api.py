"""The WebSocket API envelope, without I/O (spec §5, §6).

One JSON request per text frame, ``{"id":…,"method":…,"params":{…}}``; one reply per
request, ``{"id":…,"status":…,"result"|"error":…,"rateLimits":[…]}`` with the id echoed
as sent. Weight is charged per IP against the budget REST shares (§5.5); over it the
reply is 429, and an IP that keeps going is banned: 418, and the connection closes.
Signature fields (`apiKey`, `timestamp`, `signature`, `recvWindow`) are ignored on these
public methods (§5.2).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import msgspec

from tickerplant.protocol.errors import (
    CLOSE_BANNED,
    CloseReason,
    RequestRefused,
    mandatory,
    rate_limit_error,
)
from tickerplant.protocol.json_errors import NotJson, parse_json
from tickerplant.protocol.limits import RequestWeight
from tickerplant.protocol.market_data import MarketData, Method, Spliced

__all__ = ["OTHER_METHOD", "WS_API_METHODS", "WsApi", "WsApiReply"]

WS_API_METHODS = ("ticker.price", "ticker.book", "depth")  # the market-data methods (§6)
OTHER_METHOD = "other"  # a request's method label when it names none of them: a client's text never is

_encode = msgspec.json.encode


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


class WsApi:
    """The WebSocket API of one market: parse, charge, answer."""

    def __init__(self, data: MarketData, weight: RequestWeight) -> None:
        self.data = data
        self.weight = weight
        self._methods = {name: data.methods[name] for name in WS_API_METHODS}

    def receive(self, frame: bytes, ip: str, now_ms: int, *, rate_limits_default: bool = True) -> WsApiReply:
        request_id, name, parsed = self._parse(frame)
        params: dict[str, Any]
        method: Method | None
        if isinstance(parsed, RequestRefused):
            # Malformed requests cost weight too, so a flood of them meets 429 and 418.
            method, params, show_limits, weight = None, {}, False, 1
        else:
            method, params = parsed
            # The official SDK sends booleans and numbers as strings ("false", "5").
            show_limits = params.get("returnRateLimits", rate_limits_default) not in (False, "false")
            try:
                weight = method.weight(params)
            except RequestRefused:
                weight = 1  # a request refused for its parameters still costs weight (§7.1)
        verdict = self.weight.charge(ip, weight, now_ms)
        limits = self._rate_limits(verdict.used) if show_limits else None
        if verdict.status != 200:
            error = rate_limit_error(verdict, ip, self.weight.limit)
            data = {"serverTime": now_ms, "retryAfter": now_ms + verdict.retry_after_ms}
            reply = self._error(request_id, error, limits, data)
            return WsApiReply((reply,), CLOSE_BANNED if verdict.status == 418 else None, name, error.status)
        if method is None:
            assert isinstance(parsed, RequestRefused)
            return WsApiReply((self._error(request_id, parsed, None),), None, name, parsed.status)
        try:
            result = method.answer(params, now_ms)
        except RequestRefused as error:
            return WsApiReply((self._error(request_id, error, limits),), None, name, error.status)
        # Written from bytes, as msgspec writes the object {"id","status","result",
        # "rateLimits"} (no spaces, the id as sent): a depth answer's levels are not copied.
        head = b'{"id":%b,"status":200,"result":' % _encode(request_id)
        end = b"}" if limits is None else b',"rateLimits":%b}' % limits
        if type(result) is Spliced:
            return WsApiReply((head + result.head, result.tail, end), None, name)
        return WsApiReply((head + _encode(result) + end,), None, name)

    def _parse(self, frame: bytes) -> tuple[Any, str, tuple[Method, dict[str, Any]] | RequestRefused]:
        """The request's id (None when it cannot be echoed), its method's label (one of
        ``WS_API_METHODS``, else ``OTHER_METHOD``) and its method and params."""
        other = OTHER_METHOD
        try:
            request = parse_json(frame)
        except NotJson:  # not JSON, too deep, or a string of invalid UTF-8: never raised on
            return None, other, RequestRefused(-1000, "Malformed request: the frame is not valid JSON.")
        if not isinstance(request, dict):
            return None, other, RequestRefused(-1000, "Malformed request: expected an object.")
        request_id = request.get("id")
        if request_id is not None and type(request_id) not in (int, str):
            return None, other, RequestRefused(-1130, "Data sent for parameter 'id' is not valid.")
        method_name = request.get("method")
        if not isinstance(method_name, str) or not method_name:
            return request_id, other, mandatory("method")
        # A version prefix ("v1/ticker.price") names the same method (§5.2).
        name = method_name.rpartition("/")[2]
        method = self._methods.get(name)
        label = other if method is None else name
        params = request.get("params", {})
        if not isinstance(params, dict):
            return request_id, label, RequestRefused(-1130, "Data sent for parameter 'params' is not valid.")
        if method is None:
            return request_id, label, RequestRefused(-1000, f"Unknown method '{method_name}'.")
        return request_id, label, (method, params)

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

