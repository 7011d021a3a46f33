"""Decision 7's open-order margin (``margin.Contract.open_order_margin``): a linear
contract's, computed in integers, is exactly the definition's, order by order in
``Fraction``s through ``order_cost``."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from tickerplant.market.instruments import Market, catalogue
from tickerplant.venue.ledger import Ledger
from tickerplant.venue.margin import Contract
from tickerplant.venue.orders import Order, OrderType, PositionSide, Side, TimeInForce

NOW = 1_790_000_000_000

BTCUSDT = Contract(next(i for i in catalogue(Market.UM, 1_790_000_000_000) if i.symbol == "BTCUSDT"))
BTCUSD_PERP = Contract(next(i for i in catalogue(Market.CM, 1_790_000_000_000) if i.symbol == "BTCUSD_PERP"))


def _definition(orders: list[tuple[Side, int, int]], held: int, mark: Fraction, leverage: int) -> Fraction:
    """Per side: the part beyond what would close the opposite position, its orders' costs
    (initial margin at their price plus the open loss against mark) pro rata; the larger."""
    sides = []
    for side in (Side.BUY, Side.SELL):
        mine = [(qty, price) for s, qty, price in orders if s is side and qty > 0]
        total = sum(qty for qty, _ in mine)
        if not total:
            sides.append(Fraction(0))
            continue
        share = Fraction(max(0, total - max(0, -side.sign * held)), total)
        costs = (BTCUSDT.order_cost(side, qty, BTCUSDT.price(price), mark, leverage) for qty, price in mine)
        sides.append(sum(costs, Fraction(0)) * share)
    return max(sides)


@given(
    st.lists(st.tuples(st.sampled_from(Side), st.integers(0, 5_000), st.integers(1, 10**7)), max_size=8),
    st.integers(-6_000, 6_000),
    st.fractions(min_value=Fraction(1, 100), max_value=10**6, max_denominator=10**8),
    st.integers(1, 125),
)
def test_linear_open_order_margin_is_the_definition(
    orders: list[tuple[Side, int, int]], held: int, mark: Fraction, leverage: int
) -> None:
    assert BTCUSDT.open_order_margin(orders, held, mark, leverage) == _definition(orders, held, mark, leverage)


@given(
    st.lists(st.tuples(st.sampled_from(Side), st.integers(0, 5_000), st.integers(1, 10**7)), max_size=8),
    st.tuples(st.sampled_from(Side), st.integers(0, 5_000), st.integers(1, 10**7)),
    st.integers(-6_000, 6_000),
    st.fractions(min_value=Fraction(1, 100), max_value=10**6, max_denominator=10**8),
    st.integers(1, 125),
    st.sampled_from([BTCUSDT, BTCUSD_PERP]),
)
def test_the_margins_without_and_with_an_order_are_the_definitions(
    orders: list[tuple[Side, int, int]], extra: tuple[Side, int, int], held: int, mark: Fraction,
    leverage: int, contract: Contract,
) -> None:  # fmt: skip
    """What a new order's margin check reads in one pass: both values, each the definition's."""
    without, with_ = contract.open_order_margins(orders, held, mark, leverage, extra)
    assert without == contract.open_order_margin(orders, held, mark, leverage)
    assert with_ == contract.open_order_margin([*orders, extra], held, mark, leverage)
    if contract is BTCUSDT:
        assert with_ == _definition([*orders, extra], held, mark, leverage)


@given(
    st.lists(st.tuples(st.sampled_from(Side), st.integers(1, 5_000), st.integers(1, 10**7), st.booleans()),
             max_size=8),
    st.tuples(st.sampled_from(Side), st.integers(1, 5_000), st.integers(1, 10**7), st.booleans()),
    st.integers(-6_000, 6_000),
    st.fractions(min_value=Fraction(1, 100), max_value=10**6, max_denominator=10**8),
    st.booleans(),
)
def test_a_ledgers_margins_without_and_with_an_order_are_its_open_order_margins(
    resting: list[tuple[Side, int, int, bool]], extra: tuple[Side, int, int, bool], held: int, mark: Fraction,
    hedge: bool,
) -> None:  # fmt: skip
    """``Ledger.open_order_ims`` (a placement's margin check, in one pass) against
    ``open_order_im`` without the order and with it counted as resting, in either mode."""
    ledger = Ledger(1, hedge=hedge)
    if not hedge:
        ledger.position("BTCUSDT").amt = held

    def made(n: int, side: Side, qty: int, price: int, reduce_only: bool) -> Order:
        return Order(1, "BTCUSDT", n, f"c{n}", side, OrderType.LIMIT, TimeInForce.GTC, price, qty, reduce_only, 0,
                     NOW, NOW, position_side=PositionSide.LONG if hedge else PositionSide.BOTH)  # fmt: skip

    for n, row in enumerate(resting, start=1):
        ledger.opened(made(n, *row))
    order = made(len(resting) + 1, *extra)
    without, with_ = ledger.open_order_ims(BTCUSDT, mark, order, extra[1])
    assert without == ledger.open_order_im(BTCUSDT, mark)
    assert with_ == ledger.open_order_im(BTCUSDT, mark, [(order, extra[1])])
