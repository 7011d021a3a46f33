from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickerplant.market.book.order_book import OrderBook
from tickerplant.market.updates import BookUpdate, Level


def _book() -> OrderBook:
    book = OrderBook()
    for price, qty in ((100, 5), (99, 7), (97, 1)):
        book.set_level(True, price, qty)
    for price, qty in ((101, 3), (103, 4), (102, 2)):
        book.set_level(False, price, qty)
    return book


def test_empty_book() -> None:
    book = OrderBook()
    assert book.best_bid() is None and book.best_ask() is None
    assert book.top_bids(5) == [] and book.top_asks(5) == []
    assert not book.is_crossed()
    assert len(book) == 0 and book.last_update_id == 0


def test_best_and_top_levels() -> None:
    book = _book()
    assert book.best_bid() == Level(100, 5)
    assert book.best_ask() == Level(101, 3)
    assert book.top_bids(2) == [Level(100, 5), Level(99, 7)]
    assert book.top_asks(10) == [Level(101, 3), Level(102, 2), Level(103, 4)]
    assert book.top_bids(0) == [] and book.top_asks(-1) == []
    assert (book.bid_count, book.ask_count, len(book)) == (3, 3, 6)


def test_set_level_replaces_and_removes() -> None:
    book = _book()
    book.set_level(True, 99, 1)
    assert book.bids[99] == 1 and book.bid_count == 3
    book.set_level(True, 100, 0)
    assert book.best_bid() == Level(99, 1)
    book.set_level(False, 150, 0)  # removing an absent level is harmless
    assert book.ask_prices == [101, 102, 103]
    with pytest.raises(ValueError):
        book.set_level(False, 101, -1)


def test_apply_update() -> None:
    book = _book()
    book.apply(BookUpdate("X", 42, 0, (Level(100, 0), Level(98, 2)), (Level(101, 9),), 45))
    assert book.best_bid() == Level(99, 7)
    assert book.bid_prices == [97, 98, 99]
    assert book.best_ask() == Level(101, 9)
    assert (book.last_update_id, book.next_update_id) == (42, 45), "the id reserved for the next update"
    book.load([Level(99, 1)], [Level(101, 1)], 50)
    assert (book.last_update_id, book.next_update_id) == (50, 0), "a snapshot loaded reserves nothing"


def test_is_crossed() -> None:
    book = _book()
    book.set_level(True, 101, 1)
    assert book.is_crossed()
    book.set_level(True, 101, 0)
    book.set_level(False, 100, 1)  # locked counts as crossed
    assert book.is_crossed()


def test_load_replaces_everything() -> None:
    book = _book()
    book.load([Level(10, 1), Level(11, 0), Level(9, 2)], [Level(12, 3)], 7)
    assert book.bid_prices == [9, 10] and book.bids == {9: 2, 10: 1}
    assert book.ask_prices == [12] and book.last_update_id == 7


def test_take_buys_up_the_asks_to_a_limit() -> None:
    book = _book()
    assert book.take(False, 4, 102) == [Level(101, 3), Level(102, 1)]
    assert book.asks == {102: 1, 103: 4} and book.ask_prices == [102, 103]
    assert book.take(False, 10, 102) == [Level(102, 1)]  # stops at the limit
    assert book.take(False, 100, 1 << 62) == [Level(103, 4)]
    assert book.ask_prices == [] and book.asks == {}


def test_take_sells_down_the_bids() -> None:
    book = _book()
    assert book.take(True, 12, 0) == [Level(100, 5), Level(99, 7)]
    assert book.bids == {97: 1}
    assert book.take(True, 1, 98) == []


@st.composite
def _operations(draw: st.DrawFn) -> list[tuple[bool, int, int]]:
    return draw(
        st.lists(
            st.tuples(st.booleans(), st.integers(1, 40), st.integers(0, 5)), max_size=200
        )
    )


@given(_operations(), st.integers(0, 45))
def test_book_matches_a_brute_force_model(ops: list[tuple[bool, int, int]], n: int) -> None:
    book = OrderBook()
    model: dict[bool, dict[int, int]] = {True: {}, False: {}}
    for is_bid, price, qty in ops:
        book.set_level(is_bid, price, qty)
        if qty:
            model[is_bid][price] = qty
        else:
            model[is_bid].pop(price, None)
    assert book.bids == model[True] and book.asks == model[False]
    assert book.bid_prices == sorted(model[True])
    assert book.ask_prices == sorted(model[False])
    bids = sorted(model[True].items(), reverse=True)
    asks = sorted(model[False].items())
    assert book.top_bids(n) == [Level(p, q) for p, q in bids[:n]]
    assert book.top_asks(n) == [Level(p, q) for p, q in asks[:n]]
    assert book.best_bid() == (Level(*bids[0]) if bids else None)
    assert book.best_ask() == (Level(*asks[0]) if asks else None)
    assert book.is_crossed() == bool(bids and asks and bids[0][0] >= asks[0][0])


@given(
    st.dictionaries(st.integers(1, 50), st.integers(1, 9), max_size=30),
    st.integers(1, 100),
    st.integers(0, 51),
)
def test_take_fills_best_first_within_the_limit(
    asks: dict[int, int], qty: int, limit: int
) -> None:
    book = OrderBook()
    for price, resting in asks.items():
        book.set_level(False, price, resting)
    fills = book.take(False, qty, limit)
    eligible = sorted(p for p in asks if p <= limit)
    assert [f.price for f in fills] == eligible[: len(fills)]
    assert sum(f.qty for f in fills) == min(qty, sum(asks[p] for p in eligible))
    for fill in fills[:-1]:
        assert fill.qty == asks[fill.price]  # every level but the last is taken whole
    for price, resting in asks.items():
        taken = sum(f.qty for f in fills if f.price == price)
        assert book.asks.get(price, 0) == resting - taken
    assert book.ask_prices == sorted(book.asks)
