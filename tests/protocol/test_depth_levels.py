"""A depth answer's levels written from kept texts are the bytes of writing them afresh."""

from __future__ import annotations

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from tickerplant.market.units import fixed
from tickerplant.protocol.depth_levels import LevelText

levels = st.dictionaries(st.integers(1, 10**7), st.integers(1, 10**6), max_size=60)


def fresh(bids: list[tuple[int, int]], asks: list[tuple[int, int]], pd: int, qd: int) -> bytes:
    return msgspec.json.encode(
        {
            "bids": [[fixed(p, pd), fixed(q, qd)] for p, q in bids],
            "asks": [[fixed(p, pd), fixed(q, qd)] for p, q in asks],
        }
    )[1:]


@given(st.lists(st.tuples(levels, levels), min_size=1, max_size=8), st.integers(0, 8), st.integers(0, 3))
def test_every_answer_equals_a_fresh_encoding_and_the_table_stays_bounded(
    books: list[tuple[dict[int, int], dict[int, int]]], pd: int, qd: int
) -> None:
    text = LevelText(pd, qd)
    for bid_side, ask_side in books:
        bids = sorted(bid_side.items(), reverse=True)
        asks = sorted(ask_side.items())
        assert text.answer(bids, asks) == fresh(bids, asks, pd, qd)
        assert len(text) <= 2 * (4 * 60 + 64)


def test_an_empty_book_and_a_moved_quantity() -> None:
    text = LevelText(2, 3)
    assert text.answer([], []) == b'"bids":[],"asks":[]}'
    assert text.answer([(10_000, 5)], [(10_001, 7)]) == b'"bids":[["100.00","0.005"]],"asks":[["100.01","0.007"]]}'
    assert text.answer([(10_000, 6)], []) == b'"bids":[["100.00","0.006"]],"asks":[]}'
