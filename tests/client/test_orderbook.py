"""LocalBook, the client's sans-I/O local order book (spec §4.9 steps 1–6), with plain
values: no sockets, no clock."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import msgspec
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tickerplant.client.orderbook import (
    BookResync,
    BookUpdate,
    DepthSnapshot,
    LocalBook,
    ResyncReason,
)
from tickerplant.market.payloads.events import DepthUpdate

D = Decimal
Levels = Sequence[tuple[str, str]]


def ev(
    first: int, final: int, previous: int, bids: Levels = (), asks: Levels = (), t: int = 1
) -> DepthUpdate[Decimal]:
    return DepthUpdate(
        event_time=t, transaction_time=t, symbol="BTCUSDT",
        first_update_id=first, final_update_id=final, previous_final_update_id=previous,
        bids=[(D(p), D(q)) for p, q in bids], asks=[(D(p), D(q)) for p, q in asks],
    )  # fmt: skip


def snap(last: int, bids: Levels = (), asks: Levels = ()) -> DepthSnapshot:
    return DepthSnapshot(
        last_update_id=last, bids=[(D(p), D(q)) for p, q in bids], asks=[(D(p), D(q)) for p, q in asks]
    )


BOOK_100 = snap(100, bids=[("10.0", "1"), ("9.9", "2"), ("9.8", "3")], asks=[("10.1", "1"), ("10.2", "2")])


def synced_at_100() -> LocalBook:
    book = LocalBook("BTCUSDT")
    book.event(ev(95, 100, 90))
    assert book.snapshot(BOOK_100) == [BookUpdate("BTCUSDT", 100, 1, snapshot_id=100)]
    return book


def test_events_are_buffered_until_a_snapshot_and_one_is_asked_for_after_the_first() -> None:
    book = LocalBook("BTCUSDT")
    assert not book.wants_snapshot and not book.synced and book.best_bid() is None
    assert book.event(ev(95, 98, 90)) == []
    assert book.wants_snapshot and book.buffered == 1
    assert book.event(ev(99, 103, 98, bids=[("10.0", "5")])) == []
    assert book.snapshot(BOOK_100) == [BookUpdate("BTCUSDT", 103, 1, snapshot_id=100)]
    assert book.synced and book.update_id == 103 and not book.wants_snapshot
    assert book.best_bid() == (D("10.0"), D("5")) and book.best_ask() == (D("10.1"), D("1"))
    assert book.buffered == 0


def test_events_before_the_snapshot_are_dropped_and_the_first_must_straddle_it() -> None:
    book = LocalBook("BTCUSDT")
    book.event(ev(80, 90, 70, bids=[("1", "1")]))  # u < 100: dropped (step 3)
    book.event(ev(91, 100, 90, bids=[("10.0", "7")]))  # U <= 100 <= u: the first applied
    book.event(ev(101, 104, 100, asks=[("10.1", "0")]))
    assert book.snapshot(BOOK_100) == [BookUpdate("BTCUSDT", 104, 1, snapshot_id=100)]
    assert book.bids() == [(D("10.0"), D("7")), (D("9.9"), D("2")), (D("9.8"), D("3"))]
    assert book.asks() == [(D("10.2"), D("2"))]


def test_an_event_following_straight_on_the_snapshot_id_syncs_as_ccxt_accepts_it() -> None:
    book = LocalBook("BTCUSDT")
    book.event(ev(103, 105, 100, bids=[("9.9", "0")]))  # U > 100 but pu == 100
    assert book.snapshot(BOOK_100) == [BookUpdate("BTCUSDT", 105, 1, snapshot_id=100)]
    assert book.bids(5) == [(D("10.0"), D("1")), (D("9.8"), D("3"))]


def test_a_snapshot_older_than_the_buffer_asks_for_another_and_keeps_the_buffer() -> None:
    book = LocalBook("BTCUSDT")
    book.event(ev(101, 104, 99))
    assert book.snapshot(snap(97)) == [] and book.wants_snapshot and book.buffered == 1
    assert book.snapshot(snap(102, bids=[("1", "1")])) == [BookUpdate("BTCUSDT", 104, 1, snapshot_id=102)]


def test_a_snapshot_ahead_of_every_event_waits_for_one_that_reaches_it() -> None:
    book = LocalBook("BTCUSDT")
    book.event(ev(90, 95, 85))
    assert book.snapshot(BOOK_100) == [] and not book.wants_snapshot and book.buffered == 0
    assert book.event(ev(96, 99, 95)) == []  # still before the snapshot: dropped
    assert book.event(ev(100, 102, 99, asks=[("10.3", "4")])) == [
        BookUpdate("BTCUSDT", 102, 1, snapshot_id=100)
    ]
    assert book.asks(1) == [(D("10.1"), D("1"))] and book.asks()[-1] == (D("10.3"), D("4"))


def test_a_pu_break_drops_the_book_and_restarts_from_the_breaking_event() -> None:
    book = synced_at_100()
    assert book.event(ev(101, 103, 100, bids=[("10.0", "2")])) == [BookUpdate("BTCUSDT", 103, 1)]
    assert book.event(ev(110, 112, 108)) == [BookResync("BTCUSDT", ResyncReason.CHAIN_BROKEN, 103)]
    assert not book.synced and book.resyncs == 1 and book.best_bid() is None and book.bids() == []
    assert book.wants_snapshot and book.buffered == 1
    assert book.snapshot(snap(111, bids=[("5", "5")])) == [BookUpdate("BTCUSDT", 112, 1, snapshot_id=111)]


def test_duplicates_are_ignored_once_synced() -> None:
    book = synced_at_100()
    book.event(ev(101, 103, 100, bids=[("10.0", "2")]))
    assert book.event(ev(101, 103, 100, bids=[("10.0", "9")])) == []
    assert book.event(ev(95, 100, 90)) == []
    assert book.update_id == 103 and book.best_bid() == (D("10.0"), D("2"))


def test_a_lost_connection_drops_the_book_and_the_buffer() -> None:
    book = synced_at_100()
    assert book.connection_lost() == [BookResync("BTCUSDT", ResyncReason.STREAM_LOST, 100)]
    assert not book.wants_snapshot, "asked for once the stream delivers again"
    book.event(ev(150, 152, 140))
    assert book.wants_snapshot
    assert book.connection_lost() == [], "not synced: nothing the user held is dropped"
    assert book.buffered == 0 and book.resyncs == 1


def test_zero_deletes_and_deleting_an_absent_level_is_fine() -> None:
    book = synced_at_100()
    book.event(ev(101, 101, 100, bids=[("10.0", "0.000"), ("7.5", "0")], asks=[("10.1", "0")]))
    assert book.best_bid() == (D("9.9"), D("2"))
    assert book.best_ask() == (D("10.2"), D("2"))
    book.event(ev(102, 102, 101, asks=[("10.2", "0"), ("10.20", "0")]))
    assert book.best_ask() is None and book.asks() == []


def test_prices_are_exact_and_equal_spellings_are_one_level() -> None:
    book = synced_at_100()
    book.event(ev(101, 101, 100, bids=[("10.00", "4.000")]))  # the same price as "10.0"
    assert book.bids(1) == [(D("10.0"), D("4"))] and len(book.bids()) == 3


def test_top_n_is_clipped_and_ordered() -> None:
    book = synced_at_100()
    assert book.bids(2) == [(D("10.0"), D("1")), (D("9.9"), D("2"))]
    assert book.bids(0) == [] and book.asks(0) == [] and len(book.asks(50)) == 2


def test_a_break_inside_the_buffer_keeps_the_rest_and_asks_again() -> None:
    book = LocalBook("BTCUSDT")
    book.event(ev(95, 100, 90))
    book.event(ev(105, 106, 104))  # pu 104 is not 100: the buffer breaks here
    assert book.snapshot(BOOK_100) == [] and book.wants_snapshot and book.buffered == 1
    assert not book.synced and book.bids() == []
    assert book.snapshot(snap(105)) == [BookUpdate("BTCUSDT", 106, 1, snapshot_id=105)]


def test_the_buffer_is_bounded() -> None:
    book = LocalBook("BTCUSDT", max_buffered=3)
    for u in range(1, 10):
        book.event(ev(u, u, u - 1))
    assert book.buffered == 3
    assert book.snapshot(snap(2)) == [] and book.wants_snapshot, "too old for what is kept"
    assert book.snapshot(snap(7)) == [BookUpdate("BTCUSDT", 9, 1, snapshot_id=7)]


def test_a_snapshot_that_races_a_sync_changes_nothing() -> None:
    book = synced_at_100()
    assert book.snapshot(snap(90)) == [] and book.update_id == 100


def test_the_snapshot_struct_reads_both_markets_bodies() -> None:
    um = b'{"lastUpdateId":1027024,"E":1589436922972,"T":1589436922959,"bids":[["4.00000000","431.00000000"]],"asks":[["4.00000200","12.00000000"]]}'
    cm = b'{"lastUpdateId":16769853,"symbol":"BTCUSD_PERP","pair":"BTCUSD","E":1,"T":2,"bids":[],"asks":[["9.1","3"]]}'
    one = msgspec.json.decode(um, type=DepthSnapshot)
    assert one.last_update_id == 1027024 and one.bids == [(D("4.00000000"), D("431.00000000"))]
    two = msgspec.json.decode(cm, type=DepthSnapshot)
    assert (two.symbol, two.pair, two.asks) == ("BTCUSD_PERP", "BTCUSD", [(D("9.1"), D("3"))])


def test_the_core_imports_no_io() -> None:
    path = Path(__file__).parents[2] / "src" / "tickerplant" / "client" / "orderbook.py"
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    roots = {name.split(".")[0] for name in imported}
    assert not roots & {"asyncio", "socket", "picows", "time", "urllib", "os"}, roots


# -- the property: any connection moment, any loss, always the true book ----------------


@dataclass
class Market:
    """A true book and the diff chain it produced: ``states[k]`` is the book after
    ``events[k - 1]``, at id ``ids[k]`` (``ids[0]`` is the book's id before any event)."""

    events: list[DepthUpdate[Decimal]] = field(default_factory=list)
    states: list[tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)

    def snapshot(self, k: int) -> DepthSnapshot:
        bids, asks = self.states[k]
        return DepthSnapshot(
            last_update_id=self.ids[k],
            bids=sorted(bids.items(), reverse=True),
            asks=sorted(asks.items()),
        )

    def index_of(self, update_id: int) -> int:
        return self.ids.index(update_id)


change = st.tuples(st.booleans(), st.integers(1, 30), st.sampled_from([0, 0, 1, 2, 3, 17]))
event_changes = st.lists(change, min_size=1, max_size=5)


@st.composite
def markets(draw: st.DrawFn) -> Market:
    market = Market()
    bids = {D(p) / 10: D(draw(st.integers(1, 9))) for p in draw(st.sets(st.integers(1, 30), max_size=8))}
    asks = {D(p) / 10 + 5: D(draw(st.integers(1, 9))) for p in draw(st.sets(st.integers(1, 30), max_size=8))}
    last = draw(st.integers(1, 10**12))
    market.states.append((dict(bids), dict(asks)))
    market.ids.append(last)
    for n in range(draw(st.integers(10, 40))):
        hidden = draw(st.sampled_from([0, 0, 0, 1, 7]))  # live chains skip ids (§4.9)
        span = draw(st.integers(0, 3))
        first = last + 1 + hidden
        final = first + span
        changed_b: dict[Decimal, Decimal] = {}
        changed_a: dict[Decimal, Decimal] = {}
        for is_bid, tick, qty in draw(event_changes):
            side, changed, price = (
                (bids, changed_b, D(tick) / 10) if is_bid else (asks, changed_a, D(tick) / 10 + 5)
            )
            quantity = D(qty) / 1000 if qty else D("0.000")
            changed[price] = quantity
            if quantity:
                side[price] = quantity
            else:
                side.pop(price, None)
        market.events.append(
            DepthUpdate(
                event_time=n, transaction_time=n, symbol="BTCUSDT",
                first_update_id=first, final_update_id=final, previous_final_update_id=last,
                bids=list(changed_b.items()), asks=list(changed_a.items()),
            )
        )  # fmt: skip
        market.states.append((dict(bids), dict(asks)))
        market.ids.append(final)
        last = final
    return market


# What happens at each step of the client's life, in the order it meets them.
FEED, DUPLICATE, SKIP, RECONNECT, SNAPSHOT, LATE_SNAPSHOT = range(6)
actions = st.lists(
    st.tuples(
        st.sampled_from([*[FEED] * 6, SNAPSHOT, SNAPSHOT, DUPLICATE, SKIP, RECONNECT, LATE_SNAPSHOT]),
        st.integers(-4, 3),
    ),
    min_size=15,
    max_size=80,
)


def assert_true_book(book: LocalBook, market: Market) -> None:
    if not book.synced:
        assert book.bids() == [] and book.asks() == []
        return
    assert book.update_id is not None
    true = market.snapshot(market.index_of(book.update_id))
    assert book.bids() == true.bids and book.asks() == true.asks


@settings(max_examples=120, deadline=None)
@given(market=markets(), start=st.integers(0, 10), steps=actions)
def test_any_connection_moment_and_any_loss_ends_in_the_true_book(
    market: Market, start: int, steps: list[tuple[int, int]]
) -> None:
    n = len(market.events)
    book = LocalBook("BTCUSDT")
    synced_on_the_way = 0
    sent = min(start, n - 1)  # the client's stream starts after events[:sent]
    for action, offset in steps:
        if sent >= n - 1:
            break  # keep the last event for the catch-up below
        if action == FEED:
            book.event(market.events[sent])
            sent += 1
        elif action == DUPLICATE and sent:
            book.event(market.events[max(0, sent - 1 - abs(offset) % 3)])
        elif action == SKIP:
            sent = min(n - 1, sent + 1 + abs(offset) % 3)  # lost without notice: pu says so
        elif action == RECONNECT:
            book.connection_lost()
            sent = min(n - 1, sent + abs(offset) % 3)
        elif action == SNAPSHOT and book.wants_snapshot:
            # the server has sent events[:sent]; a snapshot is taken at any boundary, older
            # (REST ahead of the stream is as possible as behind) or newer
            book.snapshot(market.snapshot(min(n, max(0, sent + offset))))
        elif action == LATE_SNAPSHOT:
            book.snapshot(market.snapshot(min(n, max(0, sent + offset))))  # a fetch that lands late
        assert_true_book(book, market)
        synced_on_the_way += book.synced
    event("synced before the catch-up" if synced_on_the_way else "synced only in the catch-up")
    while sent < n:  # the stream carries on; every snapshot asked for is answered
        items = book.event(market.events[sent])
        sent += 1
        if book.wants_snapshot:
            items += book.snapshot(market.snapshot(sent))
        assert all(isinstance(item, BookUpdate | BookResync) for item in items)
        assert_true_book(book, market)
    assert book.synced and book.update_id == market.ids[n]
    assert book.bids() == market.snapshot(n).bids and book.asks() == market.snapshot(n).asks
