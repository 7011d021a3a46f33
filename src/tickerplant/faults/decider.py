"""The seeded decider: a request, an event or a message in, with the market time; what
fault, if any, befalls it out, as a typed ``Decision`` the wire shell applies.

Rules:

- The profile's faults are tried in order; the first whose family, filters and window
  match and whose draw falls under its ``rate`` decides. A fault that does not match draws
  nothing, so one fault's draws depend only on what it matches, and a run that makes the
  same requests meets the same faults (``random.Random`` seeded by the run's seed and the
  fault's place, one stream per fault).
- A fault changes only what a client is told and when (docs/faults.md): the decision says
  whether the venue is asked at all (``Apply``), never what it does.
- ``-1008`` spares reduce-only and close-position orders as Binance does (trading part 1
  §6.2 503 (4): ``closePosition=true``, ``positionSide=BOTH`` with ``reduceOnly=true``,
  ``LONG`` + ``SELL``, ``SHORT`` + ``BUY``): ``throttle_exempt``.
- Every fault that fires is recorded (``record.FaultRecord``) with its market time.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Mapping
from typing import NamedTuple

from tickerplant.faults import answers
from tickerplant.faults.answers import WireError
from tickerplant.faults.profile import ORDER_ENDPOINTS, Family, Fault, FaultKind, Profile
from tickerplant.faults.record import FaultRecord, Fired

__all__ = ["Apply", "Decision", "FaultDecider", "Timed", "is_diff_depth", "is_timed", "throttle_exempt"]


class Apply(enum.Enum):
    """How a shell applies a decision to a request (before the venue, or after it)."""

    REFUSE = "refuse"  # the error instead; the venue never asked: nothing done
    REPLACE = "replace"  # the venue asked; its answer replaced by the error
    LATER = "later"  # the error now; the venue asked ``delay_ms`` after it
    HOLD = "hold"  # the venue asked; its answer held ``delay_ms`` (its events are not)
    DROP = "drop"  # an event or a message never sent, a connection cut
    DELAY = "delay"  # an event or a reply held ``delay_ms``


class Decision(NamedTuple):
    kind: FaultKind
    apply: Apply
    error: WireError | None  # what the client is told instead, for REFUSE, REPLACE, LATER
    delay_ms: int


class Timed(NamedTuple):
    """A fault that fires once at a market time, on the connections it matches."""

    kind: FaultKind
    at_ms: int
    duration_ms: int | None  # MARKET_STALL: how long (None: to the end); 0 for the others
    symbols: frozenset[str]
    accounts: frozenset[int]


_ERRORS = {
    FaultKind.INTERNAL_ERROR: answers.INTERNAL_ERROR, FaultKind.UNKNOWN_ERROR: answers.UNKNOWN_ERROR,
    FaultKind.TIMEOUT: answers.TIMEOUT, FaultKind.THROTTLED: answers.THROTTLED,
    FaultKind.SERVICE_UNAVAILABLE: answers.SERVICE_UNAVAILABLE,
    FaultKind.REQUEST_TIMEOUT: answers.REQUEST_TIMEOUT,
    FaultKind.MAINTENANCE: answers.MAINTENANCE,
}  # fmt: skip
_DROPPING = {FaultKind.EVENT_DROP, FaultKind.STREAM_DROP, FaultKind.SESSION_DROP, FaultKind.DEPTH_BREAK,
             FaultKind.MARKET_RESET}  # fmt: skip


def is_diff_depth(stream: str) -> bool:
    """``<symbol>@depth`` or ``@depth@<speed>``: the diff depth streams, whose ``pu`` chains
    (market data §4.9); never ``@depth5``/``10``/``20``, the partial books."""
    _, _, kind = stream.partition("@")
    return kind == "depth" or kind.startswith("depth@")


def throttle_exempt(params: Mapping[str, str]) -> bool:
    """Whether ``-1008`` spares this order (part 1 §6.2 503 (4)); names in any case (the
    venue's checks hand them lower-cased)."""
    named = {name.lower(): value for name, value in params.items()}
    if named.get("closeposition", "").lower() == "true":
        return True
    side, position = named.get("side", "").upper(), named.get("positionside", "BOTH").upper()
    if position == "BOTH":
        return named.get("reduceonly", "").lower() == "true"
    return (position, side) in (("LONG", "SELL"), ("SHORT", "BUY"))


class FaultDecider:
    """One per listener: ``profile``'s faults, seeded by ``seed``; ``started_ms``, the
    market time ``+S`` windows count from."""

    def __init__(self, profile: Profile, seed: int, started_ms: int) -> None:
        self.profile = profile
        self.record = FaultRecord()
        self._draws = [random.Random(f"{seed}/{i}") for i in range(len(profile.faults))]
        self._windows = [_window(fault, started_ms) for fault in profile.faults]
        self._families = {fault.kind.family for fault in profile.faults}

    def has(self, family: Family) -> bool:
        """Whether any fault is of ``family``: a shell with none skips asking."""
        return family in self._families

    def decide(
        self,
        family: Family,
        where: str,
        symbol: str,
        account: int | None,
        now_ms: int,
        *,
        exempt: bool = False,
        among: frozenset[str] | None = None,
    ) -> Decision | None:
        """What befalls a request to ``where`` (an endpoint ``"POST /fapi/v1/order"``, a
        WebSocket API method, a stream) for ``symbol`` ("" none) by ``account`` (None: not
        known) at ``now_ms``; ``exempt``: a reduce-only or close-position order, which
        ``THROTTLED`` spares; ``among``: a batch's symbols (upper case), one request that a
        fault narrowed to symbols meets when it names any of them. None: nothing."""
        for i, fault in enumerate(self.profile.faults):
            if fault.kind.family is not family or is_timed(fault):
                continue
            if not self._matches(i, fault, where, symbol, account, now_ms, among):
                continue
            if fault.kind is FaultKind.THROTTLED and exempt:
                continue
            draw = self._draws[i]
            if fault.rate < 1.0 and draw.random() >= fault.rate:
                continue
            decision = self._decision(fault, draw)
            self.record.add(Fired(now_ms, fault.kind, where, symbol, account))
            return decision
        return None

    def maintenance(self, now_ms: int) -> bool:
        """Whether a maintenance window covers the whole venue at ``now_ms`` (no endpoints,
        symbols or accounts named, every request met): what ``GET /sapi/v1/system/status``
        tells, ``{"status":1,"msg":"system_maintenance"}``, as Binance's wallet API does."""
        return any(
            fault.kind is FaultKind.MAINTENANCE and fault.rate >= 1.0
            and not (fault.endpoints or fault.symbols or fault.accounts)
            and start <= now_ms and (end is None or now_ms < end)
            for fault, (start, end) in zip(self.profile.faults, self._windows, strict=True)
        )  # fmt: skip

    def timed(self, family: Family) -> list[Timed]:
        """The one-shot faults of ``family``, each at its market time."""
        found = []
        for fault, (start, end) in zip(self.profile.faults, self._windows, strict=True):
            if fault.kind.family is family and is_timed(fault):
                found.append(Timed(fault.kind, start, None if end is None else end - start, fault.symbols,
                                   fault.accounts))  # fmt: skip
        return found

    def fired(self, kind: FaultKind, where: str, symbol: str, account: int | None, now_ms: int) -> None:
        """A timed fault applied by its shell, recorded as ``decide`` records its own."""
        self.record.add(Fired(now_ms, kind, where, symbol, account))

    def _matches(
        self, i: int, fault: Fault, where: str, symbol: str, account: int | None, now_ms: int,
        among: frozenset[str] | None = None,
    ) -> bool:  # fmt: skip
        start, end = self._windows[i]
        if now_ms < start or (end is not None and now_ms >= end):
            return False
        endpoints = fault.endpoints or (ORDER_ENDPOINTS if fault.kind.family is Family.ORDER else frozenset())
        if endpoints and where not in endpoints:
            return False
        if fault.kind is FaultKind.DEPTH_BREAK and not is_diff_depth(where):
            return False
        if fault.symbols and fault.kind.family is not Family.USER_STREAM and (  # symbols narrow no stream of
            fault.symbols.isdisjoint(among) if among is not None else symbol.upper() not in fault.symbols
        ):  # a key's (docs/faults.md: its events are every symbol's)
            return False
        return not fault.accounts or account in fault.accounts

    def _decision(self, fault: Fault, draw: random.Random) -> Decision:
        kind = fault.kind
        if kind in _DROPPING:
            return Decision(kind, Apply.DROP, None, 0)
        if kind in (FaultKind.EVENT_DELAY, FaultKind.REPLY_DELAY):
            return Decision(kind, Apply.DELAY, None, fault.delay_ms)
        if kind is FaultKind.SLOW_ACK:
            return Decision(kind, Apply.HOLD, None, fault.delay_ms)
        if kind is FaultKind.TIMEOUT:
            return Decision(kind, Apply.LATER, _ERRORS[kind], fault.delay_ms)
        if kind in (FaultKind.UNKNOWN_ERROR, FaultKind.REQUEST_TIMEOUT):
            placed = fault.placed >= 1.0 or (fault.placed > 0.0 and draw.random() < fault.placed)
            return Decision(kind, Apply.REPLACE if placed else Apply.REFUSE, _ERRORS[kind], 0)
        return Decision(kind, Apply.REFUSE, _ERRORS[kind], 0)


# one-shot at ``at`` only; and those that are a share of what passes unless given ``at``
_TIMED_ONLY = frozenset({FaultKind.LISTEN_KEY_EXPIRED, FaultKind.MARKET_STALL, FaultKind.ROLLOVER})
_TIMED_TOO = frozenset({FaultKind.STREAM_DROP, FaultKind.MARKET_RESET})


def is_timed(fault: Fault) -> bool:
    """Fired once at its ``at`` on the connections (``timed``), not drawn per request."""
    return fault.kind in _TIMED_ONLY or (fault.kind in _TIMED_TOO and fault.scheduled)


def _window(fault: Fault, started_ms: int) -> tuple[int, int | None]:
    """The fault's window in market time: [start, end), end None for open-ended."""
    if fault.at_ms is None:
        start = started_ms if fault.duration_ms is not None else -(2**62)
    else:
        start = fault.at_ms + (started_ms if fault.after_start else 0)
    end = None if fault.duration_ms is None else start + fault.duration_ms
    return start, end
