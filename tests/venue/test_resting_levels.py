"""An account's resting orders on one side, as the sums decision 7 reads (``resting.Resting``):
moved in one pass as orders fill and move between levels, they are the sums made afresh from
the orders as they stand; and the order enumerations' facts, plain attributes of each member,
are what their names say."""

from __future__ import annotations

import random

import pytest

from tickerplant.venue.domain.orders import OrderStatus, OrderType, Side
from tickerplant.venue.domain.resting import Resting

PRICES = (100, 101, 102, 103)  # few levels: orders share them, join and leave them, empty them


def _afresh(orders: dict[int, tuple[int, int]]) -> Resting:
    made = Resting()
    for qty, price in orders.values():
        made.add(qty, price, qty * price)
    return made


@pytest.mark.parametrize("seed", range(4))
def test_a_move_between_shared_levels_leaves_the_sums_made_afresh(seed: int) -> None:
    rng = random.Random(seed)
    rest, orders = Resting(), {}  # order -> (quantity counted, price)
    for n in range(300):
        if rng.random() < 0.3 or not orders:
            qty, price = rng.randrange(1, 5), rng.choice(PRICES)
            rest.add(qty, price, qty * price)
            orders[n] = (qty, price)
        else:  # a fill (same price, less left: maybe none) or a modification (a new price)
            key = rng.choice(list(orders))
            qty, price = orders[key]
            if rng.random() < 0.3:
                now_qty, now_price = rng.randrange(0, qty + 1), price
            else:
                now_qty, now_price = rng.randrange(1, 5), rng.choice(PRICES)
            rest.move(qty, price, qty * price, now_qty, now_price, now_qty * now_price)
            orders[key] = (now_qty, now_price)
        made = _afresh(orders)
        assert (rest.qty, rest.value, rest.levels, rest.prices) == (made.qty, made.value, made.levels, made.prices)


def test_the_enumerations_facts_are_their_members_meanings() -> None:
    assert [s for s in OrderStatus if s.is_open] == [OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED]
    assert (Side.BUY.is_buy, Side.BUY.is_sell, Side.BUY.sign) == (True, False, 1)
    assert (Side.SELL.is_buy, Side.SELL.is_sell, Side.SELL.sign) == (False, True, -1)
    assert [t for t in OrderType if t.is_limit] == [OrderType.LIMIT]
    assert [t for t in OrderType if t.is_market] == [OrderType.MARKET]
    assert Side("SELL") is Side.SELL and OrderStatus("FILLED").is_open is False  # read back by value
