"""A depth answer's levels from kept texts are the bytes of writing the book afresh,
however the book moved in between, and the texts stay as many as the book's levels."""

from __future__ import annotations

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from tickerplant.market.book.order_book import OrderBook
from tickerplant.market.book.text import BookText
from tickerplant.market.units import fixed

changes = st.lists(st.tuples(st.booleans(), st.integers(1, 80), st.integers(0, 5)), max_size=40)


def fresh(book: OrderBook, limit: int, pd: int, qd: int) -> bytes:
    return msgspec.json.encode(
        {
            "bids": [[fixed(p, pd), fixed(q, qd)] for p, q in book.top_bids(limit)],
            "asks": [[fixed(p, pd), fixed(q, qd)] for p, q in book.top_asks(limit)],
        }
    )[1:]


@given(
    st.lists(st.tuples(changes, st.booleans(), st.sampled_from([0, 1, 5, 20, 1000])), min_size=1, max_size=8),
    st.integers(0, 8),
    st.integers(0, 3),
)
def test_every_answer_equals_the_book_written_afresh(
    steps: list[tuple[list[tuple[bool, int, int]], bool, int]], pd: int, qd: int
) -> None:
    book, text = OrderBook(), BookText(pd, qd)
    for levels, replace, limit in steps:
        if replace:  # a snapshot replaces the book (the view's "snapshot" events)
            book.clear()
            text.replaced()
        else:
            text.touched([p for is_bid, p, _ in levels if is_bid], [p for is_bid, p, _ in levels if not is_bid])
        for is_bid, price, qty in levels:
            book.set_level(is_bid, price if is_bid else price + 100, qty)
        if not replace:  # asks sit above the bids; touched() was told the bid-side price
            text.touched([], [price + 100 for is_bid, price, _ in levels if not is_bid])
        assert text.answer(book, limit) == fresh(book, limit, pd, qd)
        assert len(text) == len(book.bids) + len(book.asks)


def test_prices_touched_without_anybody_asking_stay_bounded() -> None:
    book, text = OrderBook(), BookText(2, 3)
    book.set_level(True, 100, 1)
    text.answer(book, 5)
    for price in range(1, 5000):  # a day of a drifting book nobody asked about
        text.touched([price], [])
    assert text.answer(book, 5) == b'"bids":[["1.00","0.001"]],"asks":[]}'
    assert text.answer(OrderBook(), 0) == b'"bids":[],"asks":[]}'


def test_prices_gathered_for_the_next_answer_are_bounded_by_design() -> None:
    book, text = OrderBook(), BookText(2, 3)
    book.set_level(True, 100, 1)
    book.set_level(False, 200, 1)
    text.answer(book, 5)
    for price in range(1, 100_000):  # a week of a wandering book, and nobody asks
        text.touched([price], [price + 100_000])
        assert text.pending <= 2 * 8192 + 2
    book.set_level(True, 150, 2)
    assert text.answer(book, 5) == b'"bids":[["1.50","0.002"],["1.00","0.001"]],"asks":[["2.00","0.001"]]}'
    assert text.pending == 0
