"""Binance's error codes and messages, and WebSocket close reasons, in one place.

Market-stream control errors are small positive codes in
``{"error":{"code":…,"msg":…},"id":…}`` (spec §3.3, §8.2).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "BAD_ID",
    "BAD_PROPERTY_NAME",
    "BAD_PROPERTY_VALUE",
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
    "StreamError",
]


class StreamError(NamedTuple):
    code: int
    msg: str


class CloseReason(NamedTuple):
    code: int  # WebSocket close code
    reason: str


UNKNOWN_PROPERTY = StreamError(0, "Unknown property")
BAD_PROPERTY_VALUE = StreamError(1, "Invalid value type: expected Boolean")
BAD_PROPERTY_NAME = StreamError(2, "Invalid request: property name must be a string")
BAD_ID = StreamError(2, "Invalid request: request ID must be an unsigned integer")
TOO_MANY_PARAMETERS = StreamError(2, "Invalid request: too many parameters")
TOO_MANY_SUBSCRIPTIONS = StreamError(4, "Too many subscriptions")

# Measured on the live service (spec §2.5, §8.3).
CLOSE_TOO_MANY_REQUESTS = CloseReason(1008, "Too many requests")
CLOSE_INVALID_REQUEST = CloseReason(1008, "Invalid request")
# Binance's codes for these are unspecified (spec §11.1); ours are documented in the README.
CLOSE_INVALID_JSON = CloseReason(1008, "Invalid JSON")
CLOSE_LIFETIME = CloseReason(1001, "Connection reached its maximum age")
CLOSE_PONG_TIMEOUT = CloseReason(1008, "No pong received in time")
CLOSE_SLOW_CONSUMER = CloseReason(1008, "Slow consumer: send buffer full")
CLOSE_SHUTDOWN = CloseReason(1001, "Server shutting down")
# tickerplant's own: a source's events (not Binance's) end or break a stream.
CLOSE_FINISHED = CloseReason(1000, "Replay finished")
CLOSE_UPSTREAM_LOST = 1012  # with the reason the source gives; clients reconnect and see a gap
CLOSE_SOURCE_FAILED = 1011  # the source broke off (a bad file); the reason says what
