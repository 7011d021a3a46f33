"""The documented limits of one connection, as a clocked state machine without I/O.

spec §2.4: the server pings every 3 minutes; any pong (solicited or not, any payload)
counts as liveness; no pong for 10 minutes closes; a connection lives at most 24 hours.
spec §2.5: more than 10 incoming messages per second closes with 1008 "Too many requests".
What counts is unspecified for futures; like spot we count text frames, pings and pongs.
The WebSocket API counts no text frames (its weight budget is the limit) but allows "at
most 5" ping and pong frames a second (trading part 1 §8.2): past them it closes as the
streams do (``on_control``).

The shell calls ``on_incoming`` / ``on_pong`` as frames arrive and ``poll(now)`` when
``next_deadline_ms`` passes; ``poll`` says whether to ping or to close. The numbers are a
``ConnectionRules`` of this module's own, in milliseconds: the shell translates whatever
its configuration looks like into them.

``LimitCounters`` counts how often clients ran into each limit docs/operations.md lists, for the
listener (plain ints, the figures the metrics endpoint is to export): each is counted where
its close or refusal happens, once; ``request_weight.RequestWeight`` counts its own 429s and
418s there.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass
from typing import NamedTuple

from tickerplant.market.units import HOUR_MS, MINUTE_MS, SECOND_MS
from tickerplant.protocol.errors import (
    CLOSE_BANNED,
    CLOSE_INVALID_JSON,
    CLOSE_INVALID_REQUEST,
    CLOSE_LIFETIME,
    CLOSE_PONG_TIMEOUT,
    CLOSE_SLOW_CONSUMER,
    CLOSE_TOO_MANY_REQUESTS,
    CloseReason,
)

__all__ = [
    "LIMITS",
    "MAX_STREAMS_PER_CONNECTION",
    "ConnectionLimits",
    "ConnectionRules",
    "Due",
    "LimitCounters",
    "LimitState",
]

MAX_STREAMS_PER_CONNECTION = 1024  # streams one market-stream connection may hold (§2.5)
_RATE_WINDOW_MS = SECOND_MS


@dataclass(frozen=True, slots=True)
class ConnectionRules:
    """The keep-alive, lifetime and rate rules of one connection; the defaults are
    Binance's documented values (spec §2.4, §2.5)."""

    ping_interval_ms: int = 3 * MINUTE_MS  # the server pings every 3 minutes
    pong_timeout_ms: int = 10 * MINUTE_MS  # no pong for 10 minutes closes
    max_age_ms: int = 24 * HOUR_MS  # a connection lives at most 24 hours
    max_incoming_rate: int = 10  # incoming messages (text, ping, pong) per second
    max_control_rate: int = 5  # the WebSocket API's pings and pongs per second (part 1 §8.2)


class LimitState(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class Due(NamedTuple):
    send_ping: bool = False
    close: CloseReason | None = None


_NOTHING = Due()


class ConnectionLimits:
    __slots__ = (
        "_arrivals",
        "_controls",
        "_max_controls",
        "_max_rate",
        "_next_ping_ms",
        "_ping_interval_ms",
        "_pong_deadline_ms",
        "_pong_timeout_ms",
        "expires_ms",
        "state",
    )

    def __init__(self, rules: ConnectionRules, now_ms: int) -> None:
        self.state = LimitState.OPEN
        self._ping_interval_ms = rules.ping_interval_ms
        self._pong_timeout_ms = rules.pong_timeout_ms
        self._max_rate = rules.max_incoming_rate
        self.expires_ms = now_ms + rules.max_age_ms
        self._next_ping_ms = now_ms + self._ping_interval_ms
        self._pong_deadline_ms = now_ms + self._pong_timeout_ms
        # Arrival times of the last `max_rate` messages: the next one is over the limit
        # when the oldest of them is less than a second old.
        self._arrivals: deque[int] = deque(maxlen=max(1, self._max_rate))
        self._max_controls = rules.max_control_rate
        self._controls: deque[int] = deque(maxlen=max(1, self._max_controls))

    @property
    def next_deadline_ms(self) -> int:
        return min(self._next_ping_ms, self._pong_deadline_ms, self.expires_ms)

    def on_incoming(self, now_ms: int) -> CloseReason | None:
        """A text frame, ping or pong arrived; returns a close when it breaks the rate."""
        return self._arrive(self._arrivals, self._max_rate, now_ms)

    def on_control(self, now_ms: int) -> CloseReason | None:
        """A ping or pong arrived on a WebSocket API connection; a close when it breaks
        their own rate."""
        return self._arrive(self._controls, self._max_controls, now_ms)

    def _arrive(self, arrivals: deque[int], most: int, now_ms: int) -> CloseReason | None:
        """One more arrival into ``arrivals`` (the last ``most`` of them): the next is over
        the limit when the oldest of them is less than a second old."""
        if self.state is LimitState.CLOSED:
            return None
        if len(arrivals) == most and now_ms - arrivals[0] < _RATE_WINDOW_MS:
            self.state = LimitState.CLOSED
            return CLOSE_TOO_MANY_REQUESTS
        arrivals.append(now_ms)
        return None

    def on_pong(self, now_ms: int) -> None:
        self._pong_deadline_ms = now_ms + self._pong_timeout_ms

    def poll(self, now_ms: int) -> Due:
        if self.state is LimitState.CLOSED:
            return _NOTHING
        if now_ms >= self.expires_ms:
            self.state = LimitState.CLOSED
            return Due(close=CLOSE_LIFETIME)
        if now_ms >= self._pong_deadline_ms:
            self.state = LimitState.CLOSED
            return Due(close=CLOSE_PONG_TIMEOUT)
        if now_ms >= self._next_ping_ms:
            self._next_ping_ms = now_ms + self._ping_interval_ms
            return Due(send_ping=True)
        return _NOTHING


# -- how often each limit was hit ---------------------------------------------------------
#
# Closes of a WebSocket connection, by the reason the gateway sends (``closed``):
# too_many_requests (1008, §2.5), pong_timeout (1008), max_age (1001, §2.4),
# too_many_subscriptions (code 4 then 1008 "Invalid request"), invalid_json (code 3 then
# 1008), slow_consumer (1008; streams and WebSocket API), banned (1008 after a 418),
# message_too_big (1009, reassembled), protocol_error (1002: a stray continuation, a new
# message inside a fragmented one, a reserved bit), invalid_utf8 (1007), frame_refused (a
# frame picows' parser refuses: 1002, or 1009), close_timeout (a closing connection aborted
# with what was queued for it untaken). Refusals of a request: by status, a request head
# refused before routing (``head_refused``: 414, 431, 405, 400, 505, and 426 for another
# WebSocket version); url_too_many_streams (400); out_of_files (503: no file descriptor
# left); weight_refused (429) and weight_banned (418), REST and the WebSocket API alike.
# The set is fixed: the counters take no more memory however many clients come.

LIMITS = (
    "too_many_requests",
    "pong_timeout",
    "max_age",
    "too_many_subscriptions",
    "invalid_json",
    "slow_consumer",
    "banned",
    "message_too_big",
    "protocol_error",
    "invalid_utf8",
    "frame_refused",
    "close_timeout",
    "request_line_too_long",
    "header_fields_too_large",
    "method_not_allowed",
    "bad_request_head",
    "body_too_large",
    "body_not_by_length",
    "http_version",
    "websocket_version",
    "url_too_many_streams",
    "out_of_files",
    "accept_failed",
    "head_timeout",
    "weight_refused",
    "weight_banned",
    "memory_shed",
)
_BY_REASON = {
    CLOSE_TOO_MANY_REQUESTS: "too_many_requests",
    CLOSE_PONG_TIMEOUT: "pong_timeout",
    CLOSE_LIFETIME: "max_age",
    CLOSE_INVALID_REQUEST: "too_many_subscriptions",  # the one close that says so (§2.5)
    CLOSE_INVALID_JSON: "invalid_json",
    CLOSE_SLOW_CONSUMER: "slow_consumer",
    CLOSE_BANNED: "banned",
}
# The gateway's own RFC 6455 closes carry their own reasons; their codes tell them apart.
_BY_CODE = {1009: "message_too_big", 1002: "protocol_error", 1007: "invalid_utf8"}
_BY_STATUS = {
    414: "request_line_too_long",
    431: "header_fields_too_large",
    405: "method_not_allowed",
    400: "bad_request_head",
    413: "body_too_large",  # a body past http_head.MAX_BODY_BYTES
    411: "body_not_by_length",  # a body by Transfer-Encoding, not Content-Length
    505: "http_version",
    426: "websocket_version",
}


class LimitCounters:
    """One counter per limit in ``LIMITS``, each a plain int attribute."""

    __slots__ = LIMITS

    too_many_requests: int
    pong_timeout: int
    max_age: int
    too_many_subscriptions: int
    invalid_json: int
    slow_consumer: int
    banned: int
    message_too_big: int
    protocol_error: int
    invalid_utf8: int
    frame_refused: int
    close_timeout: int
    request_line_too_long: int
    header_fields_too_large: int
    method_not_allowed: int
    bad_request_head: int
    body_too_large: int
    body_not_by_length: int
    http_version: int
    websocket_version: int
    url_too_many_streams: int
    out_of_files: int  # a new connection answered 503: no file descriptor left
    accept_failed: int  # accept() failed (the client gone, or no memory or descriptor for it)
    head_timeout: int  # closed: a request head (or its body) not complete in time
    weight_refused: int
    weight_banned: int
    memory_shed: int  # aborted: the process' unsent bytes passed their bound (send_budget)

    def __init__(self) -> None:
        for name in LIMITS:
            setattr(self, name, 0)

    def closed(self, reason: CloseReason) -> None:
        """Count a close the gateway sends, if a limit made it (a shutdown or the end of a
        replay is no limit)."""
        name = _BY_REASON.get(reason) or _BY_CODE.get(reason.code)
        if name is not None:
            setattr(self, name, getattr(self, name) + 1)

    def head_refused(self, status: int) -> None:
        """Count a request head refused before routing, by its status."""
        name = _BY_STATUS.get(status)
        if name is not None:
            setattr(self, name, getattr(self, name) + 1)

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in LIMITS}
