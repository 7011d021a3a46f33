"""A book followed from somebody else's diff stream and snapshots (§4.9), and what the
market view makes of it: no sockets, literal events."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from tickerplant.market.book.followed import (
    BookMessage,
    DepthSync,
    Diff,
    FollowedBook,
    Snapshot,
    book_streams,
    read_diff,
    read_snapshot,
)
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.market.plant.view import MarketView

NOW_MS = 1_767_225_600_000
BTC = next(i for i in catalogue(Market.UM, NOW_MS) if i.symbol == "BTCUSDT")
_message = msgspec.json.Decoder(BookMessage)


def diff(
    first: int, last: int, previous: int, bids: Sequence[tuple[int, int]] = (), asks: Sequence[tuple[int, int]] = ()
) -> Diff:
    return Diff(first, last, previous, last * 10, list(bids), list(asks))


def decoded(payloads: list[bytes]) -> list[BookMessage]:
    return [_message.decode(p) for p in payloads]


NO_BOOK = BookMessage(0, 0, [], [], True)


def test_the_fastest_diff_stream_keeps_the_book() -> None:
    names = ["btcusdt@depth@500ms", "btcusdt@depth", "btcusdt@depth5@100ms", "ethusdt@depth@500ms", "btcusdt@trade"]
    assert book_streams(names) == {"btcusdt@depth": "BTCUSDT", "ethusdt@depth@500ms": "ETHUSDT"}
    assert book_streams([*names, "btcusdt@depth@100ms"])["btcusdt@depth@100ms"] == "BTCUSDT"


def test_buffered_events_sync_on_a_snapshot_inside_them() -> None:
    sync = DepthSync()
    assert decoded(sync.event(diff(101, 105, 100, bids=[(10, 1)]))) == [NO_BOOK], "the views learn a book is kept"
    assert sync.wants_snapshot and not sync.synced
    assert sync.event(diff(106, 110, 105, asks=[(20, 2)])) == []
    assert sync.event(diff(111, 115, 110, bids=[(10, 0), (9, 3)])) == []
    # the snapshot is at 107: the event 101-105 is dropped (step 3), 106-110 applies (step 4)
    out = decoded(sync.snapshot(Snapshot(107, 1070, [(10, 1), (8, 4)], [(20, 5)])))
    assert out == [
        BookMessage(1070, 107, [(10, 1), (8, 4)], [(20, 5)], True),
        BookMessage(1100, 110, [], [(20, 2)]),
        BookMessage(1150, 115, [(10, 0), (9, 3)], []),
    ]
    assert sync.synced and not sync.wants_snapshot
    assert sync.book.last_update_id == 115
    assert sync.book.top_bids(5) == [(9, 3), (8, 4)] and sync.book.top_asks(5) == [(20, 2)]
    assert decoded(sync.event(diff(116, 118, 115, asks=[(21, 1)]))) == [BookMessage(1180, 118, [], [(21, 1)])]
    assert sync.event(diff(117, 118, 116)) == [], "a duplicate changes nothing"


def test_a_snapshot_older_than_the_stream_is_refused_and_another_wanted() -> None:
    sync = DepthSync()
    sync.event(diff(101, 105, 100))
    assert sync.snapshot(Snapshot(99, 0, [(1, 1)], [])) == []
    assert sync.wants_snapshot and not sync.synced
    # ccxt's variant: pu == lastUpdateId follows straight on
    assert decoded(sync.snapshot(Snapshot(100, 0, [(1, 1)], [])))[0].u == 100
    assert sync.synced and sync.book.last_update_id == 105


def test_a_snapshot_ahead_of_every_event_waits_for_one_that_reaches_it() -> None:
    sync = DepthSync()
    sync.event(diff(101, 105, 100))
    assert sync.snapshot(Snapshot(108, 0, [(1, 1)], [])) == []
    assert not sync.wants_snapshot, "held, not refused"
    out = decoded(sync.event(diff(106, 110, 105, bids=[(2, 2)])))
    assert [m.u for m in out] == [108, 110] and sync.book.last_update_id == 110


def test_a_pu_break_drops_the_book_until_a_new_snapshot() -> None:
    sync = DepthSync()
    sync.event(diff(101, 105, 100))
    sync.snapshot(Snapshot(103, 0, [(1, 1)], [(5, 1)]))
    assert decoded(sync.event(diff(110, 112, 109))) == [NO_BOOK]
    assert not sync.synced and sync.wants_snapshot and sync.resyncs == 1
    assert _message.decode(sync.full()) == NO_BOOK
    out = decoded(sync.snapshot(Snapshot(111, 0, [(2, 2)], [(6, 1)])))
    assert [m.u for m in out] == [111, 112], "the breaking event starts the new buffer"


def test_a_break_inside_the_buffer_starts_again_from_it() -> None:
    sync = DepthSync()
    sync.event(diff(101, 105, 100))
    sync.event(diff(120, 125, 119))  # 106-119 never came
    assert decoded(sync.snapshot(Snapshot(103, 0, [], []))) == [NO_BOOK]
    assert sync.wants_snapshot and sync.resyncs == 0, "never synced in the views' eyes"
    assert [m.u for m in decoded(sync.snapshot(Snapshot(122, 0, [], [])))] == [122, 125]


def test_a_loss_drops_the_book_and_the_next_event_asks_again() -> None:
    sync = DepthSync()
    assert sync.lost() == [], "nothing to drop"
    sync.event(diff(101, 105, 100))
    sync.snapshot(Snapshot(104, 0, [(1, 1)], []))
    assert decoded(sync.lost()) == [NO_BOOK] and not sync.wants_snapshot
    sync.event(diff(130, 131, 129))
    assert sync.wants_snapshot


def test_the_wire_bytes_in_the_instruments_units() -> None:
    payload = (
        b'{"e":"depthUpdate","E":2,"T":1,"s":"BTCUSDT","U":5,"u":7,"pu":4,'
        b'"b":[["87000.10","1.500"]],"a":[["87000.20","0.000"]]}'
    )
    assert read_diff(payload, BTC) == Diff(5, 7, 4, 1, [(8700010, 1500)], [(8700020, 0)])
    body = b'{"lastUpdateId":6,"E":3,"T":2,"bids":[["87000.10","1.000"]],"asks":[]}'
    assert read_snapshot(body, BTC) == Snapshot(6, 2, [(8700010, 1000)], [])
    book = FollowedBook(BTC)
    assert [m.stream for m in book.event(payload)] == ["btcusdt@depthDiff"]
    assert book.snapshot(b'{"lastUpdateId":6,"bids":[["1.001","1"]],"asks":[]}') == [], "finer digits"
    assert book.unreadable == 1 and book.wants_snapshot, "an unreadable snapshot is asked for again"
    assert [_message.decode(m.payload).u for m in book.snapshot(body)] == [6, 7]
    (dropped,) = book.event(b'{"e":"depthUpdate"}')
    assert _message.decode(dropped.payload) == NO_BOOK and book.unreadable == 2, "an unreadable event drops the book"


def test_the_view_answers_the_followed_book_and_no_book_while_unsynced() -> None:
    view = MarketView(Market.UM, [BTC])
    symbol = view.symbol("BTCUSDT")
    assert symbol is not None
    top = b'{"e":"bookTicker","u":9,"s":"BTCUSDT","b":"87000.10","B":"1.000","a":"87000.20","A":"2.000","T":1,"E":1}'
    view.receive([StreamMessage("btcusdt@bookTicker", top)])
    assert view.book(symbol).last_update_id == 9, "no book followed: the top of book stands in"
    book = FollowedBook(BTC)
    event = (
        b'{"e":"depthUpdate","E":2,"T":1,"s":"BTCUSDT","U":5,"u":7,"pu":4,'
        b'"b":[["87000.10","1.500"]],"a":[]}'
    )
    view.receive(book.event(event))
    answer = view.book(symbol)
    assert answer.last_update_id == 0 and len(answer) == 0, "a book is kept but not synced: none"
    view.receive(book.snapshot(b'{"lastUpdateId":6,"T":1,"bids":[["87000.00","1.000"]],"asks":[["87000.20","3.000"]]}'))
    answer = view.book(symbol)
    assert answer.last_update_id == 7
    assert answer.top_bids(5) == [(8700010, 1500), (8700000, 1000)] and answer.top_asks(5) == [(8700020, 3000)]
    view.receive(book.lost())
    assert view.book(symbol).last_update_id == 0 and len(view.book(symbol)) == 0


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_any_snapshot_moment_ends_in_the_reference_book(data: st.DataObject) -> None:
    """A random book's changes cut into events; a snapshot taken at a random id arrives
    after a random number of them: the followed book ends equal to the reference."""
    changes = data.draw(
        st.lists(st.tuples(st.booleans(), st.integers(1, 30), st.integers(0, 5)), min_size=1, max_size=60)
    )
    cuts = sorted(set(data.draw(st.lists(st.integers(1, len(changes)), max_size=20))) | {len(changes)})
    reference: dict[bool, dict[int, int]] = {True: {}, False: {}}
    states: list[tuple[dict[int, int], dict[int, int]]] = [({}, {})]  # the book after each id
    for is_bid, price, qty in changes:
        side = reference[is_bid]
        if qty:
            side[price] = qty
        else:
            side.pop(price, None)
        states.append((dict(reference[True]), dict(reference[False])))
    events, start = [], 0
    for end in cuts:
        step = changes[start:end]
        bids = {p: q for b, p, q in step if b}
        asks = {p: q for b, p, q in step if not b}
        events.append(Diff(start + 1, end, start, end, sorted(bids.items()), sorted(asks.items())))
        start = end
    first_seen = data.draw(st.integers(0, len(events) - 1))  # the stream is joined here
    taken = data.draw(st.integers(events[first_seen].first_id, len(changes)))  # snapshot's id
    arrives = data.draw(st.integers(first_seen + 1, len(events)))  # after this many events
    sync = DepthSync()
    for n, event in enumerate(events[first_seen:], start=first_seen + 1):
        sync.event(event)
        if n == arrives:
            bids, asks = states[taken]
            sync.snapshot(Snapshot(taken, 0, sorted(bids.items()), sorted(asks.items())))
    assert sync.synced
    assert sync.book.last_update_id == len(changes)
    assert sync.book.bids == reference[True] and sync.book.asks == reference[False]
