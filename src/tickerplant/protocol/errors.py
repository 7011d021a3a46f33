"""Binance's error codes and messages, and WebSocket close reasons, in one place.

Market-stream control errors are small positive codes in
``{"error":{"code":…,"msg":…},"id":…}`` (spec §3.3, §8.2). REST and WebSocket API
requests are refused with negative codes and an HTTP status (§8.1): a
``RequestRefused``, which each surface writes in its own envelope.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

__all__ = [
    "BAD_ID",
    "BAD_PROPERTY_NAME",
    "BAD_PROPERTY_VALUE",
    "BAD_SYMBOL",
    "CLOSE_BANNED",
    "CLOSE_FINISHED",
    "CLOSE_INVALID_JSON",
    "CLOSE_INVALID_REQUEST",
    "CLOSE_LIFETIME",
    "CLOSE_PONG_TIMEOUT",
    "CLOSE_SHUTDOWN",
    "CLOSE_SLOW_CONSUMER",
    "CLOSE_SOURCE_FAILED",
    "CLOSE_TOO_MANY_REQUESTS",
    "CLOSE_UPSTREAM_LOST",
    "TOO_MANY_PARAMETERS",
    "TOO_MANY_SUBSCRIPTIONS",
    "UNKNOWN_PROPERTY",
    "CloseReason",
    "RequestRefused",
    "StreamError",
    "closing",
    "mandatory",
    "not_valid",
    "refusal",
    "unknown_path",
]


class StreamError(NamedTuple):
    code: int
    msg: str


class CloseReason(NamedTuple):
    code: int  # WebSocket close code
    reason: str


def closing(code: int, reason: str) -> CloseReason:
    """A close with ``reason`` cut to a close frame's 123 bytes of UTF-8 (RFC 6455 §5.5),
    whatever its characters (a file's name in it may be any)."""
    encoded = reason.encode()
    return CloseReason(code, reason if len(encoded) <= 123 else encoded[:120].decode(errors="ignore") + "...")


UNKNOWN_PROPERTY = StreamError(0, "Unknown property")
BAD_PROPERTY_VALUE = StreamError(1, "Invalid value type: expected Boolean")
BAD_PROPERTY_NAME = StreamError(2, "Invalid request: property name must be a string")
BAD_ID = StreamError(2, "Invalid request: request ID must be an unsigned integer")
TOO_MANY_PARAMETERS = StreamError(2, "Invalid request: too many parameters")
TOO_MANY_SUBSCRIPTIONS = StreamError(4, "Too many subscriptions")

# Measured on the live service (spec §2.5, §8.3).
CLOSE_TOO_MANY_REQUESTS = CloseReason(1008, "Too many requests")
CLOSE_INVALID_REQUEST = CloseReason(1008, "Invalid request")
# The WebSocket API's close after a 418 (§5.5); the reason text is ours.
CLOSE_BANNED = CloseReason(1008, "IP banned for exceeding the request weight limit")
# Binance's codes for these are unspecified (spec §11.1); ours are documented in docs/operations.md.
CLOSE_INVALID_JSON = CloseReason(1008, "Invalid JSON")
CLOSE_LIFETIME = CloseReason(1001, "Connection reached its maximum age")
CLOSE_PONG_TIMEOUT = CloseReason(1008, "No pong received in time")
CLOSE_SLOW_CONSUMER = CloseReason(1008, "Slow consumer: send buffer full")
CLOSE_SHUTDOWN = CloseReason(1001, "Server shutting down")
# Never sent: a connection shed for the process' memory is aborted, and its client sees
# 1006 (no close frame, RFC 6455 §7.1.5); recorded as such (gateway/send_budget.py).
CLOSE_SHED = CloseReason(1006, "Shed: the server's send buffers are full")
# Never sent either: a fault profile's lost connection, cut without a close frame
# (docs/faults.md); a WebSocket API reply carrying it cuts its connection unanswered.
CLOSE_CUT = CloseReason(1006, "Cut: a fault profile's lost connection")
# tickerplant's own: a source's events (not Binance's) end or break a stream.
CLOSE_FINISHED = CloseReason(1000, "Replay finished")
CLOSE_UPSTREAM_LOST = 1012  # with the reason the source gives; clients reconnect and see a gap
CLOSE_SOURCE_FAILED = 1011  # the source broke off (a bad file); the reason says what


# -- REST and WebSocket API (§8.1) ----------------------------------------------------------


class RequestRefused(Exception):
    """A REST or WebSocket API request refused with a Binance error code (§8.1).

    Not the client's ``tickerplant.client.ApiError``, which is what a client raises on
    receiving such a refusal."""

    def __init__(self, code: int, msg: str, status: int = 400, retry_after_s: int | None = None) -> None:
        super().__init__(msg)
        self.code = code  # Binance's code, negative, e.g. -1121
        self.msg = msg  # the live text where known, else the documented one
        self.status = status  # the HTTP status paired with it (§8.1: 400, 404, 429, 418)
        self.retry_after_s = retry_after_s  # a 429's Retry-After: when its window resets


def refusal(code: int, msg: str, status: int = 400) -> Callable[[], RequestRefused]:
    """A refusal raised again and again (``raise BAD_SYMBOL()``): a new exception at each call.
    One exception object raised at every bad request would keep every raise's traceback: each
    raise adds the frames it passes to the object's ``__traceback__``, and they hold their
    locals, so a client sending bad symbols or an unknown key grew a server by ~7 kB a request
    (``tests/gateway/test_refusal_memory.py``, which also keeps modules free of exception
    objects)."""
    return functools.partial(RequestRefused, code, msg, status)


BAD_SYMBOL = refusal(-1121, "Invalid symbol.")


def mandatory(name: str) -> RequestRefused:
    return RequestRefused(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def not_valid(name: str) -> RequestRefused:
    """A value its parameter does not take (trading part 1 §6.3's -1130 with its name; part 3
    §12 gives it for an ENUM's bad value)."""
    return RequestRefused(-1130, f"Data sent for parameter '{name}' is not valid.")


def empty(name: str) -> RequestRefused:
    """An optional parameter sent with no value (``symbol=``: spec §8.1's -1105 and its case)."""
    return RequestRefused(-1105, f"Parameter '{name}' was empty.")


def unknown_path(path: str, method: str = "GET") -> RequestRefused:
    """The live 404 for a path, or a path's method, the service does not have (trading part
    1 §6.2: ``Path /fapi/v1/positionRisk, Method GET is invalid``)."""
    return RequestRefused(-5000, f"Path {path}, Method {method} is invalid", 404)
