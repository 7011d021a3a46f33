"""The gateway's traffic counters the metrics read (``gateway/traffic.py``): bounded label
sets, the latency buckets, and the WebSocket API's method and status read from the wire."""

from __future__ import annotations

from tickerplant.gateway.traffic import (
    LATENCY_BUCKETS_S,
    MAX_CLOSE_REASONS,
    OTHER,
    RECENT_CLOSES,
    Traffic,
)
from tickerplant.protocol.errors import CLOSE_SLOW_CONSUMER, CloseReason


def test_close_reasons_past_the_bound_of_their_code_are_other_and_the_recent_ring_is_bounded() -> None:
    traffic = Traffic()
    for i in range(MAX_CLOSE_REASONS + 10):
        traffic.closed(i, "streams", CloseReason(1000, f"reason {i}"), "127.0.0.1:1")
    traffic.closed(0, "streams", CloseReason(1000, "reason 0"), "127.0.0.1:1")  # known: its own
    assert len(traffic.closes) == MAX_CLOSE_REASONS + 1  # and "other"
    assert traffic.closes[("streams", 1000, OTHER)] == 10
    assert traffic.closes[("streams", 1000, "reason 0")] == 2
    for surface in ("streams", "ws_api"):  # another code keeps its own reasons
        traffic.closed(5, surface, CLOSE_SLOW_CONSUMER, "10.0.0.1:2")
        assert traffic.closes[(surface, 1008, CLOSE_SLOW_CONSUMER.reason)] == 1
    for i in range(RECENT_CLOSES):
        traffic.closed(1000 + i, "streams", CLOSE_SLOW_CONSUMER, "10.0.0.1:3")
    assert len(traffic.recent_closes) == RECENT_CLOSES  # the last 50 only
    assert [c.time_ms for c in traffic.recent_closes] == list(range(1000, 1000 + RECENT_CLOSES))


def test_requests_fall_in_their_latency_bucket() -> None:
    traffic = Traffic()
    first_ns = round(LATENCY_BUCKETS_S[0] * 1e9)
    for elapsed_ns in (0, first_ns, first_ns * 3 // 2, 10 * 10**9):
        traffic.request("rest", "/fapi/v1/ping", 200, elapsed_ns)
    tally = traffic.requests[("rest", "/fapi/v1/ping", 200)]
    assert tally is traffic.tally("rest", "/fapi/v1/ping", 200)  # the one a caller may keep
    assert tally.count == 4 and tally.nanoseconds == first_ns * 5 // 2 + 10 * 10**9
    assert tally.seconds == tally.nanoseconds / 1e9
    # a bound is "less than or equal" (Prometheus' le): the bound itself is in its bucket, and
    # one nanosecond past it is in the next
    assert tally.buckets[0] == 2 and tally.buckets[1] == 1 and tally.buckets[-1] == 1
    tally.observe(first_ns + 1)
    assert tally.buckets[1] == 2
