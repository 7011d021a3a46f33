"""A fault profile: TOML text read once into typed values, every mistake refused with the
fault and the key it is in, before the server starts (docs/faults.md, "The profile file").

A profile is a list of ``[[fault]]`` tables, tried in order; each names its ``kind`` and
when it fires: a ``rate`` (the share of the requests, events or messages it matches), a
window (``at`` a market time, for ``for_s`` seconds), or both (that share inside the
window). ``at`` is a Unix time in ms, an ISO 8601 time (UTC unless it says), or ``+S`` /
``+Ss`` / ``+Mm`` / ``+Hh`` after the server's start. ``endpoints`` (``"POST
/fapi/v1/order"``, a WebSocket API method such as ``"order.place"``), ``symbols`` and
``accounts`` narrow what it matches; an empty list matches all. ``placed`` is the share of
unknown outcomes whose order is placed; ``delay_ms`` how late an answer, an order or an
event comes.
"""

from __future__ import annotations

import enum
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "ONE_SHOT",
    "ORDER_ENDPOINTS",
    "Family",
    "Fault",
    "FaultKind",
    "Profile",
    "ProfileError",
    "parse_profile",
]


class Family(enum.Enum):
    """Where a fault is applied: each wire shell asks only for its own."""

    ORDER = "order"  # order entry, REST and the WebSocket API's order methods
    MAINTENANCE = "maintenance"  # every private endpoint
    USER_STREAM = "user-stream"  # the user data stream's connections and events
    WS_API = "ws-api"  # the WebSocket API's sessions and replies
    MARKET = "market"  # the market streams


class FaultKind(enum.Enum):
    """Every fault, by the name a profile gives it (docs/faults.md lists what Binance says
    of each)."""

    INTERNAL_ERROR = "internal-error"  # -1001, 503: failed, nothing done
    UNKNOWN_ERROR = "unknown-error"  # -1000, 503 "Unknown error…": placed or not (``placed``)
    TIMEOUT = "timeout"  # -1007: answered at once, the order placed ``delay_ms`` after
    THROTTLED = "throttled"  # -1008, 503: new orders refused, reduce-only/close-position exempt
    SERVICE_UNAVAILABLE = "service-unavailable"  # 503 "Service Unavailable.": failed
    REQUEST_TIMEOUT = "request-timeout"  # 408: placed or not (``placed``, default none)
    SLOW_ACK = "slow-ack"  # placed now, its events now, the answer ``delay_ms`` later
    MAINTENANCE = "maintenance"  # every private endpoint 503 "Service Unavailable."
    EVENT_DELAY = "event-delay"  # user data events held ``delay_ms``
    EVENT_DROP = "event-drop"  # a user data event never sent (REST still has it)
    STREAM_DROP = "stream-drop"  # a user data connection cut, no close frame
    LISTEN_KEY_EXPIRED = "listen-key-expired"  # ``listenKeyExpired`` early, the key ended
    SESSION_DROP = "session-drop"  # a WebSocket API connection cut on a request, unanswered
    REPLY_DELAY = "reply-delay"  # a WebSocket API reply held ``delay_ms``
    MARKET_STALL = "market-stall"  # the market streams silent for ``for_s``, then resumed
    DEPTH_BREAK = "depth-break"  # a diff depth message lost: the next one's ``pu`` breaks the chain
    MARKET_RESET = "market-reset"  # the market stream connections cut, no close frame
    ROLLOVER = "rollover"  # the 24 h disconnect (§2.4) brought forward to ``at``

    @property
    def family(self) -> Family:
        return _FAMILIES[self]


_FAMILIES = {
    **dict.fromkeys(
        [FaultKind.INTERNAL_ERROR, FaultKind.UNKNOWN_ERROR, FaultKind.TIMEOUT, FaultKind.THROTTLED,
         FaultKind.SERVICE_UNAVAILABLE, FaultKind.REQUEST_TIMEOUT, FaultKind.SLOW_ACK],
        Family.ORDER,
    ),
    FaultKind.MAINTENANCE: Family.MAINTENANCE,
    **dict.fromkeys(
        [FaultKind.EVENT_DELAY, FaultKind.EVENT_DROP, FaultKind.STREAM_DROP, FaultKind.LISTEN_KEY_EXPIRED],
        Family.USER_STREAM,
    ),
    FaultKind.SESSION_DROP: Family.WS_API,
    FaultKind.REPLY_DELAY: Family.WS_API,
    **dict.fromkeys(
        [FaultKind.MARKET_STALL, FaultKind.DEPTH_BREAK, FaultKind.MARKET_RESET, FaultKind.ROLLOVER],
        Family.MARKET,
    ),
}  # fmt: skip

# the order-entry faults' endpoints when a fault names none: new orders, by REST and by the
# WebSocket API (part 1 §6.2 names -1008's: order, batchOrders, order/test)
ORDER_ENDPOINTS = frozenset({
    "POST /fapi/v1/order", "POST /dapi/v1/order", "POST /fapi/v1/batchOrders", "POST /dapi/v1/batchOrders",
    "POST /fapi/v1/order/test", "POST /dapi/v1/order/test", "order.place",
})  # fmt: skip
# the faults that happen to connections at a time, once, never to a share of what passes
ONE_SHOT = frozenset({FaultKind.LISTEN_KEY_EXPIRED, FaultKind.MARKET_STALL, FaultKind.ROLLOVER})
_DELAY_MS = {
    FaultKind.TIMEOUT: 1_000, FaultKind.SLOW_ACK: 2_000, FaultKind.EVENT_DELAY: 5_000,
    FaultKind.REPLY_DELAY: 20_000,
}  # fmt: skip
_PLACED = {FaultKind.UNKNOWN_ERROR: 0.5, FaultKind.REQUEST_TIMEOUT: 0.0}
_KEYS = {"kind", "rate", "at", "for_s", "endpoints", "symbols", "accounts", "placed", "delay_ms"}
_AFTER = re.compile(r"^\+(\d+(?:\.\d+)?)([smh]?)$")
_AT_MOST_MS = 100 * 366 * 86_400_000  # a century after the start: past any run (at, for_s, delay_ms)
_LAST_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: the last time an ``at`` of Unix ms may name
_UNIT_MS = {"": 1000, "s": 1000, "m": 60_000, "h": 3_600_000}


class ProfileError(ValueError):
    """A profile that cannot be used, saying where."""


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind
    rate: float  # the share of what it matches that it hits, 0..1
    at_ms: int | None  # the window's start, market time; None: from the start
    after_start: bool  # ``at_ms`` counts from the server's start (``+S``), not from the epoch
    duration_ms: int | None  # the window's length; None: to the end
    endpoints: frozenset[str]  # empty: the kind's (ORDER_ENDPOINTS for order entry), or all
    symbols: frozenset[str]
    accounts: frozenset[int]
    placed: float  # UNKNOWN_ERROR, REQUEST_TIMEOUT: the share whose order is placed
    delay_ms: int  # TIMEOUT, SLOW_ACK, EVENT_DELAY, REPLY_DELAY

    @property
    def scheduled(self) -> bool:
        """Given a time to fire at: a one-shot on the connections (a drop, an expiry, a
        rollover, a stall) rather than a share of what passes."""
        return self.at_ms is not None


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    faults: tuple[Fault, ...]


def parse_profile(text: str) -> Profile:
    """``text``, a TOML profile, as typed values; ``ProfileError`` names what is wrong."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"not TOML: {exc}") from None
    unknown = set(document) - {"name", "fault"}
    if unknown:
        raise ProfileError(f"unknown keys {sorted(unknown)}: a profile has a name and [[fault]] tables")
    tables = document.get("fault", [])
    if not isinstance(tables, list):
        raise ProfileError("fault: write each as a [[fault]] table")
    for i, table in enumerate(tables, 1):
        if not isinstance(table, dict):
            raise ProfileError(f"fault {i}: write each as a [[fault]] table, not {table!r}")
    faults = tuple(_fault(i, table) for i, table in enumerate(tables, 1))
    return Profile(str(document.get("name", "")), faults)


def _fault(number: int, table: Mapping[str, Any]) -> Fault:
    where = f"fault {number}"
    unknown = set(table) - _KEYS
    if unknown:
        raise ProfileError(f"{where}: unknown keys {sorted(unknown)}")
    try:
        kind = FaultKind(table["kind"])
    except (KeyError, ValueError):
        raise ProfileError(f"{where}: kind is one of {[k.value for k in FaultKind]}") from None
    where = f"fault {number} ({kind.value})"
    at_ms, after_start = _at(where, table.get("at"))
    duration_ms = None
    if "for_s" in table:
        duration_ms = round(_number(where, "for_s", table["for_s"], 0.0, _AT_MOST_MS / 1000) * 1000)
    windowed = at_ms is not None or duration_ms is not None
    if "rate" not in table and not windowed:
        raise ProfileError(f"{where}: give a rate, a window (at, for_s), or both")
    if kind in ONE_SHOT and at_ms is None:
        raise ProfileError(f"{where}: give at, the market time it fires")
    if duration_ms == 0:  # a window that never opens: a fault that never fires
        raise ProfileError(f"{where}: for_s 0 is a window that never opens")
    # what a one-shot never reads, refused rather than dropped without a word
    if kind in ONE_SHOT and "rate" in table:
        raise ProfileError(f"{where}: rate is not {kind.value}'s: it fires once, at at")
    if kind in ONE_SHOT and kind is not FaultKind.MARKET_STALL and "for_s" in table:
        raise ProfileError(f"{where}: for_s is not {kind.value}'s: it fires once, at at")
    for key, kinds in (("placed", _PLACED), ("delay_ms", _DELAY_MS)):  # a setting its kind never reads
        if key in table and kind not in kinds:
            raise ProfileError(f"{where}: {key} is for {', '.join(sorted(k.value for k in kinds))} alone")
    rate = _number(where, "rate", table.get("rate", 1.0), 0.0, 1.0)
    placed = _number(where, "placed", table.get("placed", _PLACED.get(kind, 0.0)), 0.0, 1.0)
    delay = table.get("delay_ms", _DELAY_MS.get(kind, 0))
    delay_ms = int(_number(where, "delay_ms", delay, 0.0, _AT_MOST_MS))
    if delay_ms != delay:  # 0.5 was 0 without a word
        raise ProfileError(f"{where}: delay_ms is a whole number of milliseconds, not {delay!r}")
    accounts = _names(where, "accounts", table.get("accounts", []), int)
    if accounts and kind.family is Family.MARKET:  # it never matched: no account asks for them
        raise ProfileError(f"{where}: accounts narrow no market stream fault (every client's streams)")
    return Fault(
        kind, rate, at_ms, after_start, duration_ms,
        _names(where, "endpoints", table.get("endpoints", []), str),
        frozenset(s.upper() for s in _names(where, "symbols", table.get("symbols", []), str)),
        accounts, placed, delay_ms,
    )  # fmt: skip


def _number(where: str, key: str, value: Any, low: float, high: float | None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ProfileError(f"{where}: {key} is a finite number, not {value!r}")
    if value < low or (high is not None and value > high):
        raise ProfileError(f"{where}: {key} {value} is outside {low:g}..{high if high is not None else ''}")
    return float(value)


def _names(where: str, key: str, value: Any, kind: type) -> frozenset[Any]:
    if not isinstance(value, list) or not all(isinstance(v, kind) and not isinstance(v, bool) for v in value):
        raise ProfileError(f"{where}: {key} is a list of {kind.__name__}")
    return frozenset(value)


def _at(where: str, value: Any) -> tuple[int | None, bool]:
    """``at``: (ms, whether it counts from the start)."""
    if value is None:
        return None, False
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value <= _LAST_MS:  # a time no clock reads: the fault would never fire
            raise ProfileError(f"{where}: at {value} is no time a replay or a clock reaches (Unix ms)")
        return value, False
    if isinstance(value, datetime):
        stamped = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return _at(where, round(stamped.timestamp() * 1000))
    if isinstance(value, str):
        after = _AFTER.match(value.strip())
        if after:
            ms = float(after.group(1)) * _UNIT_MS[after.group(2)]
            if not math.isfinite(ms) or ms > _AT_MOST_MS:
                raise ProfileError(f"{where}: at {value!r} is past any time a replay or a clock reaches")
            return round(ms), True
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return _at(where, parsed)
    raise ProfileError(f"{where}: at is Unix ms, an ISO 8601 time or +S/+Ss/+Mm/+Hh, not {value!r}")
