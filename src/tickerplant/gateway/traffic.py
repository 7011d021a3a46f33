"""What a listener's clients did, as plain counters the admin listener reads when asked.

The metrics (``admin/metrics.py``) and the status (``/api/status``) are read at scrape
time from what the gateway keeps anyway (its connection sets, the fan-out's routes, the
``LimitCounters``) and from the few counters here. Nothing here runs per message of a
stream: a connection is counted once when it is accepted, a request once when it is
answered, a close once when the server sends it.

Every table is bounded by design: the label values are the code's own (surfaces, known
REST paths and WebSocket API methods, anything else as ``other``; HTTP statuses; close
codes), and the close reasons that vary (the end of a replay, a relay's upstream errors)
are folded into ``other`` past ``MAX_CLOSE_REASONS`` per surface and code: the server's
fixed reasons of the other codes (slow consumer, rate, pong, …) keep their own. The last ``RECENT_CLOSES``
closes are kept for the status page, with the peer that was closed.
"""

from __future__ import annotations

import bisect
from collections import deque
from typing import NamedTuple

from tickerplant.protocol.errors import CloseReason
from tickerplant.protocol.ws_api import OTHER_METHOD

__all__ = [
    "LATENCY_BUCKETS_S",
    "MAX_CLOSE_REASONS",
    "OTHER",
    "RECENT_CLOSES",
    "CloseRecord",
    "RequestTally",
    "Traffic",
]

OTHER = OTHER_METHOD  # the label of every endpoint, method or close reason outside the known set
RECENT_CLOSES = 50  # closes kept for the status page
MAX_CLOSE_REASONS = 16  # distinct reasons per (surface, code) counted before the rest are "other"
# Request latency buckets in seconds (Prometheus' base unit): an answer from the view takes
# tens of microseconds, a 1,000-level depth answer some hundreds.
LATENCY_BUCKETS_S = (0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1)
_LATENCY_BUCKETS_NS = tuple(round(bound * 1e9) for bound in LATENCY_BUCKETS_S)  # what observe compares
_bisect_left = bisect.bisect_left


class CloseRecord(NamedTuple):
    time_ms: int
    surface: str  # "streams" or "ws_api"
    code: int
    reason: str
    peer: str


class RequestTally:
    """Requests of one (surface, endpoint, status): a count, the time they took, and a
    histogram of it over ``LATENCY_BUCKETS_S`` (per bucket, not cumulative; the last slot
    is past the largest bound). Kept in integer nanoseconds: no float is made per request."""

    __slots__ = ("buckets", "count", "nanoseconds")

    def __init__(self) -> None:
        self.count = 0
        self.nanoseconds = 0
        self.buckets = [0] * (len(LATENCY_BUCKETS_S) + 1)

    @property
    def seconds(self) -> float:
        return self.nanoseconds / 1e9

    def observe(self, elapsed_ns: int) -> None:
        """One request that took ``elapsed_ns``: runs once per request answered."""
        self.count += 1
        self.nanoseconds += elapsed_ns
        self.buckets[_bisect_left(_LATENCY_BUCKETS_NS, elapsed_ns)] += 1


class Traffic:
    """One listener's accepted connections, answered requests and sent closes."""

    __slots__ = ("_reasons", "accepted", "closes", "recent_closes", "requests")

    def __init__(self) -> None:
        # connections accepted per surface; "rest": connections that carried REST requests
        # (each counted once, however many requests it carried: keep-alive)
        self.accepted = {"streams": 0, "ws_api": 0, "rest": 0}
        # (surface "rest" or "ws_api", endpoint or method, HTTP status) -> tally
        self.requests: dict[tuple[str, str, int], RequestTally] = {}
        self.closes: dict[tuple[str, int, str], int] = {}  # (surface, code, reason) -> closes sent
        self._reasons: dict[tuple[str, int], int] = {}  # (surface, code) -> its distinct reasons
        self.recent_closes: deque[CloseRecord] = deque(maxlen=RECENT_CLOSES)

    def request(self, surface: str, endpoint: str, status: int, elapsed_ns: int) -> None:
        """A request answered in ``elapsed_ns``."""
        self.tally(surface, endpoint, status).observe(elapsed_ns)

    def tally(self, surface: str, endpoint: str, status: int) -> RequestTally:
        """The tally of (surface, endpoint, status), made at its first request; a caller on a
        per-request path may keep it."""
        key = (surface, endpoint, status)
        tally = self.requests.get(key)
        if tally is None:
            tally = self.requests[key] = RequestTally()
        return tally

    def closed(self, now_ms: int, surface: str, reason: CloseReason, peer: str) -> None:
        key = (surface, reason.code, reason.reason)
        closes = self.closes
        if key not in closes:
            code = (surface, reason.code)
            reasons = self._reasons.get(code, 0)
            if reasons >= MAX_CLOSE_REASONS:
                key = (surface, reason.code, OTHER)
            else:
                self._reasons[code] = reasons + 1
        closes[key] = closes.get(key, 0) + 1
        self.recent_closes.append(CloseRecord(now_ms, surface, reason.code, reason.reason, peer))
