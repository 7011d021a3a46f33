"""The gateway's traffic counters the metrics read (``gateway/traffic.py``): bounded label
sets, the latency buckets, and the WebSocket API's method and status read from the wire."""

from __future__ import annotations

from tickerplant.gateway.traffic import (
    LATENCY_BUCKETS_S,
    MAX_CLOSE_REASONS,
    OTHER,
    RECENT_CLOSES,
    Traffic,
    ws_api_method,
    ws_api_status,
)
from tickerplant.protocol.errors import CLOSE_SLOW_CONSUMER, CloseReason
from tickerplant.protocol.ws_api import WS_API_METHODS


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
    for seconds in (0.0, LATENCY_BUCKETS_S[0], LATENCY_BUCKETS_S[0] * 1.5, 10.0):
        traffic.request("rest", "/fapi/v1/ping", 200, seconds)
    tally = traffic.requests[("rest", "/fapi/v1/ping", 200)]
    assert tally.count == 4 and tally.seconds == sum(
        (0.0, LATENCY_BUCKETS_S[0], LATENCY_BUCKETS_S[0] * 1.5, 10.0)
    )
    # a bound is "less than or equal" (Prometheus' le): the bound itself is in its bucket
    assert tally.buckets[0] == 2 and tally.buckets[1] == 1 and tally.buckets[-1] == 1


def test_a_ws_api_request_is_labelled_by_a_known_method_only() -> None:
    assert ws_api_method(b'{"id":1,"method":"v1/ticker.book","params":{}}', WS_API_METHODS) == "ticker.book"
    assert ws_api_method(b'{"id":1,"method":"depth"}', WS_API_METHODS) == "depth"
    for frame in (b'{"method":"anything a client writes"}', b"[1]", b"not json", b'{"method":5}', b"\xff"):
        assert ws_api_method(frame, WS_API_METHODS) == OTHER


def test_a_ws_api_reply_status_is_read_from_its_head() -> None:
    assert ws_api_status(b'{"id":1,"status":200,"result":{}}') == 200
    assert ws_api_status(b'{"id":"\\"status\\":999","status":429,"error":{}}') == 429
    assert ws_api_status(b'{"id":null,"status":400,"error":{}}') == 400
    assert ws_api_status(b"{}") == 0
