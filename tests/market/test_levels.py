"""``updates.levels``: the ``Level`` of each price and quantity, as ``Level`` makes them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickerplant.market.updates import Level, levels


@given(st.lists(st.tuples(st.integers(1, 10**12), st.integers(0, 10**12)), max_size=50))
def test_levels_are_as_level_makes_them(pairs: list[tuple[int, int]]) -> None:
    made = levels([price for price, _ in pairs], (qty for _, qty in pairs))
    assert made == tuple(Level(price, qty) for price, qty in pairs)
    assert all(type(level) is Level for level in made)
    assert [(level.price, level.qty) for level in made] == pairs


def test_a_price_without_its_quantity_is_refused() -> None:
    with pytest.raises(ValueError):
        levels([1, 2], [3])
