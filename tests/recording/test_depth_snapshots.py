"""When the recorder fetches a depth snapshot: at a stream's start, after a loss, after a
``pu`` break, and again when one is older than the stream. No sockets."""

from __future__ import annotations

from tickerplant.recording.depth_snapshots import SnapshotPlan

BOOK = "btcusdt@depth@100ms"


def event(first: int, last: int, previous: int) -> bytes:
    return b'{"e":"depthUpdate","E":1,"T":1,"s":"BTCUSDT","U":%d,"u":%d,"pu":%d,"b":[],"a":[]}' % (
        first, last, previous,
    )  # fmt: skip


def snapshot(last: int) -> bytes:
    return b'{"lastUpdateId":%d,"E":1,"T":1,"bids":[],"asks":[]}' % last


def test_the_fastest_diff_stream_of_each_symbol_is_followed() -> None:
    plan = SnapshotPlan(["BTCUSDT@depth@500ms", "btcusdt@depth@100ms", "btcusdt@depth5", "ethusdt@depth"])
    assert plan.symbols == {BOOK: "BTCUSDT", "ethusdt@depth": "ETHUSDT"}
    assert plan.event("btcusdt@depth@500ms", event(1, 2, 0)) is None, "not the book stream"
    assert plan.event("btcusdt@depth5", b"{}") is None


def test_a_snapshot_at_the_start_then_only_after_a_break_or_a_loss() -> None:
    plan = SnapshotPlan([BOOK])
    assert plan.event(BOOK, event(101, 105, 100)) == "BTCUSDT", "the stream started"
    assert plan.event(BOOK, event(106, 110, 105)) is None, "a fetch is under way"
    assert plan.fetched("BTCUSDT", snapshot(107)) is False
    assert plan.event(BOOK, event(111, 115, 110)) is None, "the chain holds"
    assert plan.event(BOOK, event(120, 125, 119)) == "BTCUSDT", "pu is not the last u"
    assert plan.fetched("BTCUSDT", snapshot(125)) is False
    plan.lost(["BTCUSDT@depth@100ms"])
    assert plan.event(BOOK, event(126, 130, 125)) == "BTCUSDT", "after a loss, even when the chain looks whole"


def test_a_failed_or_too_old_snapshot_is_fetched_again() -> None:
    plan = SnapshotPlan([BOOK])
    plan.event(BOOK, event(101, 105, 100))
    assert plan.fetched("BTCUSDT", None) is True, "the fetch failed"
    assert plan.fetched("BTCUSDT", snapshot(99)) is True, "older than the first event since the start"
    assert plan.fetched("BTCUSDT", snapshot(100)) is False, "pu == lastUpdateId follows straight on"
    plan.event(BOOK, event(120, 125, 119))
    assert plan.fetched("BTCUSDT", b"not json") is True
    assert plan.fetched("BTCUSDT", snapshot(121)) is False
