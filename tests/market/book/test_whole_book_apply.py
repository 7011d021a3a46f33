"""A whole book applied to an empty one (``OrderBook.apply``, a source's first book) leaves
what setting its levels one at a time leaves: the same dicts, in the same order, and the
same sorted prices, in the lists the book had."""

from __future__ import annotations

import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickerplant.market.book.order_book import OrderBook
from tickerplant.market.updates import BookUpdate, Level

_levels = st.lists(st.builds(Level, st.integers(1, 60), st.integers(0, 9)), max_size=40).map(tuple)


def _one_by_one(update: BookUpdate) -> OrderBook:
    book = OrderBook()
    for price, qty in update.bids:
        book.set_level(True, price, qty)
    for price, qty in update.asks:
        book.set_level(False, price, qty)
    book.last_update_id, book.next_update_id = update.update_id, update.next_id
    return book


@given(_levels, _levels)
def test_a_whole_book_is_its_levels_one_by_one(bids: tuple[Level, ...], asks: tuple[Level, ...]) -> None:
    update = BookUpdate("BTCUSDT", 7, 1, bids, asks, 9)
    book = OrderBook()
    lists = book.bids, book.asks, book.bid_prices, book.ask_prices
    book.apply(update)
    expected = _one_by_one(update)
    assert (book.bids, book.asks, book.bid_prices, book.ask_prices) == (
        expected.bids, expected.asks, expected.bid_prices, expected.ask_prices,
    )  # fmt: skip
    assert list(book.bids.items()) == list(expected.bids.items())  # the order the prices came in
    assert list(book.asks.items()) == list(expected.asks.items())
    assert (book.bids, book.asks, book.bid_prices, book.ask_prices) == lists  # the same objects…
    assert all(a is b for a, b in zip((book.bids, book.asks, book.bid_prices, book.ask_prices), lists, strict=True))
    assert sys.getsizeof(book.bids) == sys.getsizeof(expected.bids)  # …and tables
    assert (book.last_update_id, book.next_update_id) == (7, 9)
    book.apply(BookUpdate("BTCUSDT", 9, 2, bids[:3], asks[:3], 11))  # and on it, as ever
    again = _one_by_one(update)
    for price, qty in bids[:3]:
        again.set_level(True, price, qty)
    for price, qty in asks[:3]:
        again.set_level(False, price, qty)
    assert (book.bids, book.bid_prices, book.asks, book.ask_prices) == (
        again.bids, again.bid_prices, again.asks, again.ask_prices,
    )  # fmt: skip


def test_a_negative_quantity_in_a_whole_book_is_refused() -> None:
    with pytest.raises(ValueError):
        OrderBook().apply(BookUpdate("BTCUSDT", 1, 1, (Level(5, 1), Level(4, -1)), (), 2))
