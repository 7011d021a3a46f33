"""RawStreams' sans-I/O core, ``RawDelivery``: stamped frames and connection events in,
``RawMessage``, ``StreamsLost`` and ``Lagged`` out, with plain bytes and no event loop."""

from __future__ import annotations

import msgspec
import pytest

from tickerplant.client.backlog import Lagged
from tickerplant.client.events import Reply
from tickerplant.client.raw_delivery import RawDelivery, RawItem, RawMessage, StreamsLost

BOOK = "btcusdt@bookTicker"
T0_MS = 1_767_225_600_000
T0_NS = T0_MS * 1_000_000


def frame(u: int, stream: str = BOOK) -> bytes:
    return f'{{"stream":"{stream}","data":{{"e":"bookTicker","u":{u}}}}}'.encode()


def take(delivery: RawDelivery) -> RawItem:
    """What ``RawStreams.__anext__`` hands out next (LookupError: nothing is held)."""
    while not delivery.ready:
        if not delivery.pending:
            raise LookupError("nothing held")
        delivery.settle()
    return delivery.ready.popleft()


def drain(delivery: RawDelivery) -> list[RawItem]:
    items: list[RawItem] = []
    while True:
        try:
            items.append(take(delivery))
        except LookupError:
            return items


def ids(items: list[RawItem]) -> list[object]:
    return [
        msgspec.json.decode(i.data)["u"] if isinstance(i, RawMessage) else i
        for i in items
    ]  # fmt: skip


def test_payloads_byte_for_byte_with_receive_times_and_losses_in_order() -> None:
    delivery = RawDelivery()
    delivery.file(1, (frame(1), T0_NS))
    delivery.file(1, (b'{"stream":"!miniTicker@arr","data":[{"e":"24hrMiniTicker"}]}', T0_NS + 5))
    delivery.lost([BOOK], T0_MS + 1, 1)
    delivery.retired([BOOK], 2)  # on purpose: nothing to report
    delivery.file(3, (frame(2), T0_NS + 9))
    assert drain(delivery) == [
        RawMessage(BOOK, b'{"e":"bookTicker","u":1}', T0_NS),
        RawMessage("!miniTicker@arr", b'[{"e":"24hrMiniTicker"}]', T0_NS + 5),
        StreamsLost((BOOK,), T0_MS + 1),
        RawMessage(BOOK, b'{"e":"bookTicker","u":2}', T0_NS + 9),
    ]


def test_replies_go_back_and_other_frames_are_not_relayed_but_counted() -> None:
    """Off the compact combined form, a reply goes back to the shell; anything else (a raw
    frame, a combined frame unusually spaced, a frame that is not JSON) is not handed out,
    and counted with the start of the last, so that a relay can say what it passed over."""
    delivery = RawDelivery()
    assert delivery.off_path(1, b'{"result":null,"id":3}') == Reply(3, None)
    assert (delivery.passed_over, delivery.last_passed_over) == (0, b""), "a reply is not passed over"
    assert delivery.off_path(1, b'{"e":"bookTicker","u":1}') is None
    assert delivery.off_path(1, b'{ "stream":"btcusdt@bookTicker","data":{"u":2}}') is None
    long = b"not json" + b"x" * 200
    assert delivery.off_path(1, long) is None
    assert drain(delivery) == []
    assert (delivery.passed_over, delivery.last_passed_over) == (3, long[:80])


def test_a_rollover_overlap_hands_out_each_payload_once() -> None:
    delivery = RawDelivery()
    delivery.file(1, (frame(1), T0_NS))
    delivery.overlap_began()
    delivery.file(2, (frame(1), T0_NS))
    delivery.file(2, (frame(2), T0_NS))
    delivery.file(1, (frame(2), T0_NS))
    delivery.file(1, (frame(3), T0_NS))
    delivery.file(2, (frame(3), T0_NS))
    delivery.retired([BOOK], 1)
    delivery.overlap_ended()
    delivery.file(2, (frame(4), T0_NS))
    assert ids(drain(delivery)) == [1, 2, 3, 4]
    delivery.file(2, (frame(4), T0_NS))  # after the overlap: a repeat is the server's
    assert ids(drain(delivery)) == [4]


def test_copies_filed_before_the_overlap_ended_are_dropped_when_consumed_later() -> None:
    delivery = RawDelivery()
    delivery.overlap_began()
    delivery.file(1, (frame(1), T0_NS))
    delivery.file(2, (frame(1), T0_NS))
    delivery.overlap_ended()
    delivery.file(2, (frame(2), T0_NS))
    assert ids(drain(delivery)) == [1, 2]


def test_a_dropped_loss_is_part_of_lagged() -> None:
    delivery = RawDelivery(pause_at=0, resume_at=0, max_buffered=2)
    delivery.file(1, (frame(1), T0_NS))
    assert ids([take(delivery)]) == [1]
    delivery.lost([BOOK], T0_MS, 1)
    delivery.file(2, (frame(2), T0_NS))
    delivery.file(2, (frame(3), T0_NS))
    assert ids(drain(delivery)) == [Lagged(1), 2, 3], "the loss, not the connection mark"


def test_a_frame_that_is_not_combined_raises_in_its_place() -> None:
    delivery = RawDelivery()
    delivery.file(1, (frame(1), T0_NS))
    delivery.file(1, (b'{"stream":"x"}', T0_NS))
    delivery.file(1, (frame(2), T0_NS))
    assert ids([take(delivery)]) == [1]
    with pytest.raises(msgspec.DecodeError):
        take(delivery)
    assert ids(drain(delivery)) == [2]
