"""A symbol's open-order margin kept per side (``ledger/side_margins.py``): a change drops its
own side's value only, and a check's expected value is kept only for the very change it was
worked out for."""

from __future__ import annotations

from tickerplant.venue.domain.orders import Order, OrderType, Side, TimeInForce
from tickerplant.venue.ledger.seat import Seat
from tickerplant.venue.ledger.side_margins import MarginKey, SideMargins

NOW = 1_790_000_000_000
KEY: MarginKey = (6_000_000, 100, 0, 20, False)


def _order(side: Side, price: int, qty: int) -> Order:
    return Order(
        1, "BTCUSDT", 7, "c7", side, OrderType.LIMIT, TimeInForce.GTC, price, qty, False, 0, NOW, NOW
    )


def test_a_change_drops_its_own_side_only_and_a_new_key_keeps_nothing() -> None:
    margins, seat = SideMargins(), Seat("BTCUSDT", None)
    margins.at(seat, KEY)[:] = [5, 9]
    margins.changed(seat, False, _order(Side.BUY, 5_990_000, 1), 1)
    assert margins.at(seat, KEY) == [None, 9]
    margins.changed(seat, True)  # an order closed
    assert margins.at(seat, KEY) == [None, None]
    margins.at(seat, KEY)[:] = [5, 9]
    assert margins.at(seat, (6_000_100, 100, 0, 20, False)) == [None, None]  # the mark moved


def test_an_expected_margin_is_kept_for_the_change_it_was_found_for_only() -> None:
    margins, seat = SideMargins(), Seat("BTCUSDT", None)
    margins.at(seat, KEY)[:] = [5, 9]
    order = _order(Side.BUY, 5_990_000, 2)
    margins.expect(order, 2, 5_980_000, KEY, 6)
    order.price = 5_980_000
    margins.changed(seat, False, order, 2)  # the change the check weighed
    assert margins.at(seat, KEY) == [6, 9]
    margins.expect(order, 2, 5_970_000, KEY, 4)
    order.price = 5_960_000  # another change than the one weighed: worked out again
    margins.changed(seat, False, order, 2)
    assert margins.at(seat, KEY) == [None, 9]
    margins.at(seat, KEY)[0] = 4
    margins.expect(order, 2, 5_960_000, KEY, 3)
    margins.changed(seat, False, _order(Side.BUY, 5_960_000, 2), 2)  # another order
    assert margins.at(seat, KEY) == [None, 9]
    margins.changed(seat, False, order, 2)  # the expectation was used up
    assert margins.at(seat, KEY) == [None, 9]
    margins.at(seat, KEY)[0] = 4
    margins.expect(order, 2, 5_960_000, KEY, 3)
    margins.changed(seat, False, order, 1)  # what rests of it is not what the check counted
    assert margins.at(seat, KEY) == [None, 9]
