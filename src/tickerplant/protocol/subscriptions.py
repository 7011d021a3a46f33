"""The live subscription protocol of one market-stream connection, without I/O (spec §3).

``SubscriptionSession.receive(frame)`` takes one text frame and returns an ``Outcome``: the
reply bytes to send, the names added and removed, and a close to perform. Rules:

- Replies are ``{"result":…,"id":…}`` or ``{"error":{"code":…,"msg":…},"id":…}`` (§3.3).
- ``id`` is an unsigned 64-bit integer or a string, echoed with its JSON type (§3.2).
- Every well-formed SUBSCRIBE is acknowledged, known stream or not; names are stored
  exactly as sent, in subscription order, duplicates ignored (§3.4).
- Only two things close: a frame that is not JSON (code 3, §2.7) and stream 1025
  (code 4, then 1008 "Invalid request", §2.5), or names past the bytes a connection or the
  process may hold (answered as stream 1025 is: ``subscription_budget.py``).
- The error texts are serde_json's, with line and column computed from the input (§3.3):
  a frame that is not JSON as its parser says it (``json_errors.py``), one that is no
  request as its derived struct does (``control_request.py``: a field named twice is
  refused there, and its id, ambiguous, is not echoed).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any, NamedTuple

import msgspec

from tickerplant.protocol.control_request import complaint
from tickerplant.protocol.errors import (
    BAD_ID,
    BAD_PROPERTY_NAME,
    BAD_PROPERTY_VALUE,
    CLOSE_INVALID_JSON,
    CLOSE_INVALID_REQUEST,
    TOO_MANY_PARAMETERS,
    TOO_MANY_SUBSCRIPTIONS,
    UNKNOWN_PROPERTY,
    CloseReason,
    StreamError,
)
from tickerplant.protocol.json_errors import NotJson, parse_json
from tickerplant.protocol.limits import MAX_STREAMS_PER_CONNECTION
from tickerplant.protocol.subscription_budget import NAME_COST, SubscriptionBudget, name_bytes, within

__all__ = ["Method", "Outcome", "SessionState", "SubscriptionSession", "error_frame"]

_MAX_ID = 2**64 - 1
_encode = msgspec.json.encode


class Method(enum.Enum):
    SUBSCRIBE = "SUBSCRIBE"
    UNSUBSCRIBE = "UNSUBSCRIBE"
    LIST_SUBSCRIPTIONS = "LIST_SUBSCRIPTIONS"
    SET_PROPERTY = "SET_PROPERTY"
    GET_PROPERTY = "GET_PROPERTY"


class SessionState(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"  # a fatal error was answered; every later frame is ignored


class Outcome(NamedTuple):
    reply: bytes | None = None
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    close: CloseReason | None = None
    combined_changed: bool = False


_IGNORED = Outcome()


def error_frame(error: StreamError, request_id: Any) -> bytes:
    return b'{"error":{"code":%d,"msg":%s},"id":%s}' % (
        error.code,
        _encode(error.msg),
        _encode(request_id),
    )


def _result_frame(result: Any, request_id: Any) -> bytes:
    return b'{"result":%s,"id":%s}' % (_encode(result), _encode(request_id))


def _valid_id(value: Any) -> bool:
    # bool is an int in Python, but `true` is no request ID.
    if type(value) is int:
        return 0 <= value <= _MAX_ID
    return type(value) is str


class SubscriptionSession:
    """Subscription state of one connection: its names, its `combined` property."""

    def __init__(
        self,
        initial: Iterable[str] = (),
        *,
        combined: bool,
        max_streams: int = MAX_STREAMS_PER_CONNECTION,
        budget: SubscriptionBudget | None = None,
    ) -> None:
        self.state = SessionState.OPEN
        self.combined = combined
        self.max_streams = max_streams
        self._names: dict[str, None] = dict.fromkeys(initial)
        self.held_bytes = name_bytes(self._names)  # theirs now
        self._budget = budget  # the process' (``charge`` to ``release``), None: no such bound
        self._charged = False

    @property
    def cost(self) -> int:
        """What its names count against the process' bound (``SubscriptionBudget``)."""
        return self.held_bytes + NAME_COST * len(self._names)

    def charge(self) -> None:
        """Its names, the URL's, counted in the process' bound (the connection open), once."""
        if self._budget is not None and not self._charged:
            self._charged = True
            self._budget.charge(self.cost)

    def release(self) -> None:
        """Its names no longer counted (the connection closed), once."""
        if self._budget is not None and self._charged:
            self._charged = False
            self._budget.give(self.cost)

    @property
    def names(self) -> list[str]:
        return list(self._names)

    def receive(self, frame: bytes | str) -> Outcome:
        if self.state is SessionState.CLOSED:
            return _IGNORED
        try:
            request = parse_json(frame)
        except NotJson as exc:  # §2.7: answered, then the connection is closed
            self.state = SessionState.CLOSED
            error = StreamError(3, f"Invalid JSON: {exc.what}")
            return Outcome(reply=error_frame(error, None), close=CLOSE_INVALID_JSON)
        data = frame.encode() if isinstance(frame, str) else frame
        found = complaint(data, request)  # serde's derived struct's (§3.3), a duplicate field too
        if found is not None:
            echoed = None if found.duplicate_id or type(request) is not dict else self._echoable(request)
            return self._error(StreamError(2, f"Invalid request: {found.what}"), echoed)
        method = Method(request["method"])
        request_id = request.get("id", None)
        if not _valid_id(request_id):
            return self._error(BAD_ID, None)
        params = request.get("params", [])
        return _HANDLERS[method](self, params, request_id)

    # -- methods (§3.1) ---------------------------------------------------------------

    def _subscribe(self, params: Any, request_id: Any) -> Outcome:
        names = self._stream_params(params)
        if names is None:
            return self._error(self._bad_params(params), request_id)
        fresh = [name for name in dict.fromkeys(names) if name not in self._names]
        size = name_bytes(fresh)
        budget = self._budget if self._charged else None
        if not within(len(self._names) + len(fresh), self.held_bytes + size, self.max_streams) or (
            budget is not None and not budget.take(size + NAME_COST * len(fresh))
        ):
            self.state = SessionState.CLOSED
            return Outcome(
                reply=error_frame(TOO_MANY_SUBSCRIPTIONS, request_id),
                close=CLOSE_INVALID_REQUEST,
            )
        self._names.update(dict.fromkeys(fresh))
        self.held_bytes += size
        return Outcome(reply=_result_frame(None, request_id), added=tuple(fresh))

    def _unsubscribe(self, params: Any, request_id: Any) -> Outcome:
        names = self._stream_params(params)
        if names is None:
            return self._error(self._bad_params(params), request_id)
        gone = [name for name in dict.fromkeys(names) if name in self._names]
        for name in gone:
            del self._names[name]
        size = name_bytes(gone)
        self.held_bytes -= size
        if self._budget is not None and self._charged:
            self._budget.give(size + NAME_COST * len(gone))
        return Outcome(reply=_result_frame(None, request_id), removed=tuple(gone))

    def _list(self, params: Any, request_id: Any) -> Outcome:
        if params not in ([], None):
            return self._error(TOO_MANY_PARAMETERS, request_id)
        return Outcome(reply=_result_frame(list(self._names), request_id))

    def _set_property(self, params: Any, request_id: Any) -> Outcome:
        if not isinstance(params, list) or not params or type(params[0]) is not str:
            return self._error(BAD_PROPERTY_NAME, request_id)
        if len(params) > 2:
            return self._error(TOO_MANY_PARAMETERS, request_id)
        if params[0] != "combined":
            return self._error(UNKNOWN_PROPERTY, request_id)
        if len(params) < 2 or type(params[1]) is not bool:
            return self._error(BAD_PROPERTY_VALUE, request_id)
        changed = params[1] != self.combined
        self.combined = params[1]
        return Outcome(reply=_result_frame(None, request_id), combined_changed=changed)

    def _get_property(self, params: Any, request_id: Any) -> Outcome:
        if not isinstance(params, list) or not params or type(params[0]) is not str:
            return self._error(BAD_PROPERTY_NAME, request_id)
        if len(params) > 1:
            return self._error(TOO_MANY_PARAMETERS, request_id)
        if params[0] != "combined":
            return self._error(UNKNOWN_PROPERTY, request_id)
        return Outcome(reply=_result_frame(self.combined, request_id))

    # -- helpers ---------------------------------------------------------------------

    @staticmethod
    def _stream_params(params: Any) -> list[str] | None:
        if isinstance(params, list) and all(type(name) is str for name in params):
            return params
        return None

    @staticmethod
    def _bad_params(params: Any) -> StreamError:
        if not isinstance(params, list):
            return StreamError(2, "Invalid request: invalid type for `params`, expected a sequence")
        return StreamError(2, "Invalid request: invalid type for stream name, expected a string")

    @staticmethod
    def _echoable(request: dict[str, Any]) -> Any:
        request_id = request.get("id")
        return request_id if _valid_id(request_id) else None

    @staticmethod
    def _error(error: StreamError, request_id: Any) -> Outcome:
        return Outcome(reply=error_frame(error, request_id))


_HANDLERS = {
    Method.SUBSCRIBE: SubscriptionSession._subscribe,
    Method.UNSUBSCRIBE: SubscriptionSession._unsubscribe,
    Method.LIST_SUBSCRIPTIONS: SubscriptionSession._list,
    Method.SET_PROPERTY: SubscriptionSession._set_property,
    Method.GET_PROPERTY: SubscriptionSession._get_property,
}
