"""MarketStreams' consumer side, its sans-I/O core ``Delivery``: frames and connection
events in as plain bytes and calls, items out as ``async for`` hands them out. Order,
dedup, gaps, unknown payloads, malformed frames, drops and backpressure, a batch boundary
apart or not. No event loop, no socket."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from tickerplant.client import backlog as backlog_module
from tickerplant.client.backlog import Lagged
from tickerplant.client.delivery import Delivery, StreamItem
from tickerplant.client.events import BookTicker, Reply, Trade, UnknownEvent
from tickerplant.client.sequencing import Gap, GapReason

BOOK = "btcusdt@bookTicker"
T0_MS = 1_767_225_600_000


def book(symbol: str, u: int, stream: str | None = None) -> bytes:
    name = stream or f"{symbol.lower()}@bookTicker"
    return (
        f'{{"stream":"{name}","data":{{"e":"bookTicker","u":{u},"s":"{symbol}","b":"1.5","B":"2",'
        f'"a":"1.6","A":"3","T":{u},"E":{u}}}}}'
    ).encode()


def trade(symbol: str, t: int) -> bytes:
    return (
        f'{{"stream":"{symbol.lower()}@trade","data":{{"e":"trade","E":{t},"T":{t},"s":"{symbol}",'
        f'"t":{t},"p":"1.5","q":"2","X":"MARKET","m":true}}}}'
    ).encode()


# a stream the client does not type (spec §4.12)
CONTRACT_INFO = b'{"stream":"!contractInfo","data":{"e":"contractInfo","E":5,"s":"BTCUSDT","cs":"TRADING"}}'


def take(delivery: Delivery) -> StreamItem:
    """What ``MarketStreams.__anext__`` hands out next (LookupError: nothing is held)."""
    while not delivery.ready:
        if not delivery.pending:
            raise LookupError("nothing held")
        delivery.settle()
    return delivery.ready.popleft()


def drain(delivery: Delivery) -> list[StreamItem]:
    """Every item held, in the order ``async for`` hands them out."""
    items: list[StreamItem] = []
    while True:
        try:
            items.append(take(delivery))
        except LookupError:
            return items


def describe(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if isinstance(item, BookTicker):
            out.append(("book", item.symbol, item.update_id))
        elif isinstance(item, Trade):
            out.append(("trade", item.symbol, item.trade_id))
        elif isinstance(item, Gap):
            out.append(("gap", item.symbol, item.reason))
        elif isinstance(item, UnknownEvent):
            out.append(("unknown", item.stream))
        elif isinstance(item, Lagged):
            out.append(("lagged", item.dropped))
        else:
            out.append(item)
    return out


def feed(delivery: Delivery, connection_id: int, *frames: bytes) -> None:
    for frame in frames:
        delivery.file(connection_id, frame)


@pytest.fixture(params=[1, 3, 256], ids=["batch1", "batch3", "batch256"])
def batch(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Every test runs with batches of one item, of a few and of the default size."""
    size: int = request.param
    monkeypatch.setattr(backlog_module, "BATCH", size)
    return size


def test_events_in_order_duplicates_dropped_unknown_in_place(batch: int) -> None:
    delivery = Delivery(numbers=str)
    feed(delivery, 1, book("BTCUSDT", 10), trade("ETHUSDT", 7), book("BTCUSDT", 10), CONTRACT_INFO)
    feed(delivery, 1, book("ETHUSDT", 3), book("BTCUSDT", 9), book("BTCUSDT", 12), trade("ETHUSDT", 8))
    assert describe(drain(delivery)) == [
        ("book", "BTCUSDT", 10),
        ("trade", "ETHUSDT", 7),
        ("unknown", "!contractInfo"),
        ("book", "ETHUSDT", 3),
        ("book", "BTCUSDT", 12),
        ("trade", "ETHUSDT", 8),
    ]


def test_frames_off_the_fast_path_keep_their_place_and_replies_go_back(batch: int) -> None:
    delivery = Delivery(numbers=str)
    feed(delivery, 1, book("BTCUSDT", 1))
    raw = b'{"e":"bookTicker","u":2,"s":"BTCUSDT","b":"1.5","B":"2","a":"1.6","A":"3","T":2,"E":2}'
    assert delivery.off_path(1, raw) is None
    assert delivery.off_path(1, b'{"result":null,"id":7}') == Reply(7, None)
    assert delivery.off_path(1, b'{"e":"contractInfo","E":5,"s":"BTCUSDT","cs":"TRADING"}') is None
    feed(delivery, 1, book("BTCUSDT", 3))
    spaced = b'{"stream": "btcusdt@bookTicker", "data": {"e":"bookTicker","u":4,"s":"BTCUSDT","b":"1.5",'
    spaced += b'"B":"2","a":"1.6","A":"3","T":4,"E":4}}'
    assert delivery.off_path(1, spaced) is None
    assert describe(drain(delivery)) == [
        ("book", "BTCUSDT", 1),
        ("book", "BTCUSDT", 2),
        ("unknown", None),
        ("book", "BTCUSDT", 3),
        ("book", "BTCUSDT", 4),
    ]


def test_a_rollover_overlap_is_delivered_once_and_a_trade_jump_is_a_gap(batch: int) -> None:
    delivery = Delivery(numbers=str)
    feed(delivery, 1, trade("BTCUSDT", 1), trade("BTCUSDT", 2))
    feed(delivery, 2, trade("BTCUSDT", 2), trade("BTCUSDT", 3))
    feed(delivery, 1, trade("BTCUSDT", 3))
    feed(delivery, 2, trade("BTCUSDT", 6))
    assert describe(drain(delivery)) == [
        ("trade", "BTCUSDT", 1),
        ("trade", "BTCUSDT", 2),
        ("trade", "BTCUSDT", 3),
        ("gap", "BTCUSDT", GapReason.TRADE_IDS_SKIPPED),
        ("trade", "BTCUSDT", 6),
    ]


def test_a_lost_connection_makes_the_next_bookticker_a_gap(batch: int) -> None:
    delivery = Delivery(numbers=str)
    feed(delivery, 1, book("BTCUSDT", 1), book("BTCUSDT", 2))
    delivery.lost([BOOK], T0_MS, 1)
    feed(delivery, 2, book("BTCUSDT", 5))
    assert describe(drain(delivery)) == [
        ("book", "BTCUSDT", 1),
        ("book", "BTCUSDT", 2),
        ("gap", "BTCUSDT", GapReason.RECONNECTED),
        ("book", "BTCUSDT", 5),
    ]


@pytest.mark.parametrize(
    "bad",
    [b'{"stream":"btcusdt@bookTicker","data":{', b'{"stream":"btcusdt@bookTicker"}', b'{"e":"bookTicker",'],
    ids=["not JSON", "not combined", "not JSON off the fast path"],
)
def test_a_malformed_frame_raises_in_its_place(batch: int, bad: bytes) -> None:
    delivery = Delivery(numbers=str)
    feed(delivery, 1, book("BTCUSDT", 1), book("BTCUSDT", 2))
    if bad.startswith(b'{"stream":'):
        delivery.file(1, bad)
    else:
        delivery.off_path(1, bad)
    feed(delivery, 1, book("BTCUSDT", 3))
    got = [take(delivery), take(delivery)]
    with pytest.raises(msgspec.DecodeError):
        take(delivery)
    got.extend(drain(delivery))
    assert describe(got) == [("book", "BTCUSDT", 1), ("book", "BTCUSDT", 2), ("book", "BTCUSDT", 3)]


def test_what_could_not_be_buffered_is_one_lagged_item_in_its_place(batch: int) -> None:
    delivery = Delivery(numbers=str, pause_at=2, resume_at=1, max_buffered=4)
    feed(delivery, 1, *(book("BTCUSDT", u) for u in range(1, 8)))
    # The connection's mark and items 1-2 were dropped to keep 4 held; the two messages
    # are reported where they were.
    assert delivery.held == 4
    assert describe(drain(delivery)) == [("lagged", 3)] + [("book", "BTCUSDT", u) for u in range(4, 8)]


def test_max_buffered_below_pause_at_is_the_bound_all_the_same(batch: int) -> None:
    """``max_buffered`` is the hard bound whatever ``pause_at`` is: one below it drops the
    oldest (one ``Lagged`` in their place) before reading pauses, where it was first checked
    once ``pause_at`` items were held (50,000 by default)."""
    decisions: list[bool] = []
    delivery = Delivery(numbers=str, pause_at=100, resume_at=10, max_buffered=4, reading=decisions.append)
    feed(delivery, 1, *(book("BTCUSDT", u) for u in range(1, 8)))
    assert delivery.held == 4 and decisions == []  # bounded, not paused
    assert describe(drain(delivery)) == [("lagged", 3)] + [("book", "BTCUSDT", u) for u in range(4, 8)]


def test_reading_pauses_above_pause_at_and_resumes_at_resume_at(batch: int) -> None:
    decisions: list[bool] = []
    delivery = Delivery(numbers=str, pause_at=10, resume_at=4, reading=decisions.append)
    feed(delivery, 1, *(book("BTCUSDT", u) for u in range(1, 10)))
    assert decisions == [] and not delivery.paused  # the connection's mark and 9 frames
    feed(delivery, 1, book("BTCUSDT", 10))
    assert decisions == [False] and delivery.paused
    feed(delivery, 1, book("BTCUSDT", 11))  # the rest of a read still arrives
    assert decisions == [False], "decided once"
    while not decisions[-1]:
        assert isinstance(take(delivery), BookTicker)
        # Reading resumes once what is left to settle is down to resume_at, not before.
        assert delivery.held <= 4 or not decisions[-1]
    assert decisions == [False, True] and not delivery.paused and delivery.held <= 4
    assert describe(drain(delivery))[-1] == ("book", "BTCUSDT", 11)


def test_frames_keep_their_connection_when_the_oldest_items_are_dropped(batch: int) -> None:
    # During a rollover both connections carry the stream, so losing the old one loses
    # nothing, provided the frames of the new one are still known to be its own after the
    # oldest held items were dropped to stay under max_buffered.
    # The new one's first frame (u 2) is ahead of the old's last (u 1), before it overlapped
    # the old: it is held, and the old's loss releases it after a gap (the old may have
    # lost updates between 1 and 2 in flight: sequencing.py), then the new one carries on.
    delivery = Delivery(numbers=str, pause_at=0, resume_at=0, max_buffered=3)
    feed(delivery, 1, book("BTCUSDT", 1))
    first = take(delivery)
    feed(delivery, 2, book("BTCUSDT", 2))
    delivery.lost([BOOK], T0_MS, 1)
    feed(delivery, 2, book("BTCUSDT", 3))
    assert describe([first, *drain(delivery)]) == [
        ("book", "BTCUSDT", 1), ("gap", "BTCUSDT", GapReason.RECONNECTED), ("book", "BTCUSDT", 2),
        ("book", "BTCUSDT", 3),
    ]  # fmt: skip


def test_after_a_rollover_a_real_loss_of_the_successor_is_still_a_gap() -> None:
    delivery = Delivery(numbers=str)
    feed(delivery, 1, book("BTCUSDT", 1))
    feed(delivery, 2, book("BTCUSDT", 1), book("BTCUSDT", 2))
    feed(delivery, 1, book("BTCUSDT", 2))
    delivery.retired([BOOK], 1)  # the rollover is done: the old connection closed on purpose
    feed(delivery, 2, book("BTCUSDT", 3))
    delivery.lost([BOOK], T0_MS, 2)  # a real loss
    feed(delivery, 3, book("BTCUSDT", 50))
    assert describe(drain(delivery)) == [
        ("book", "BTCUSDT", 1), ("book", "BTCUSDT", 2), ("book", "BTCUSDT", 3),
        ("gap", "BTCUSDT", GapReason.RECONNECTED), ("book", "BTCUSDT", 50),
    ]  # fmt: skip


def test_a_loss_pushed_out_by_the_hard_bound_still_counts() -> None:
    delivery = Delivery(numbers=str, pause_at=0, resume_at=0, max_buffered=2)
    feed(delivery, 1, book("BTCUSDT", 1))
    assert describe([take(delivery)]) == [("book", "BTCUSDT", 1)]
    delivery.lost([BOOK], T0_MS, 1)
    feed(delivery, 2, book("BTCUSDT", 10), book("BTCUSDT", 11), book("BTCUSDT", 12))  # the loss falls out
    assert describe(drain(delivery)) == [
        ("lagged", 1),  # only the dropped message is counted
        ("gap", "BTCUSDT", GapReason.RECONNECTED),  # the loss still holds, in its place
        ("book", "BTCUSDT", 11),
        ("book", "BTCUSDT", 12),
    ]
    delivery.lost([BOOK], T0_MS + 1, 2)
    feed(delivery, 3, book("BTCUSDT", 100))
    assert ("gap", "BTCUSDT", GapReason.RECONNECTED) in describe(drain(delivery))


def test_the_hard_bound_holds_when_frames_alternate_between_connections() -> None:
    delivery = Delivery(numbers=str, pause_at=0, resume_at=0, max_buffered=10)
    for u in range(1, 2001):
        feed(delivery, 1 if u % 2 else 2, book("BTCUSDT" if u % 2 else "ETHUSDT", u))
        assert delivery.held <= 10
    items = drain(delivery)
    assert isinstance(items[0], Lagged) and len(items) <= 10


def test_unsubscribe_forgets_after_what_was_already_received() -> None:
    delivery = Delivery(numbers=str)
    feed(delivery, 1, trade("BTCUSDT", 1), trade("BTCUSDT", 2))
    delivery.forget(["btcusdt@trade"])  # what unsubscribe() files
    feed(delivery, 1, trade("BTCUSDT", 100))  # subscribed again later: starts afresh
    assert describe(drain(delivery)) == [
        ("trade", "BTCUSDT", 1), ("trade", "BTCUSDT", 2), ("trade", "BTCUSDT", 100)
    ]  # fmt: skip


def test_nothing_is_decoded_until_it_is_consumed() -> None:
    delivery = Delivery(numbers=str)
    feed(delivery, 1, b'{"stream":"btcusdt@bookTicker","data":{')
    assert delivery.pending and not delivery.ready, "a malformed frame costs the reader nothing"
    with pytest.raises(msgspec.DecodeError):
        take(delivery)
    assert not delivery.pending
