"""A position's sums are two integers (``money.Ratio``), kept by the rule docs/venue.md
"Settlement" states: exact in lowest terms while the denominator is at most 10**18, else the
nearest 1e-18 of their unit, ties to even. Checked against ``Fraction``'s own rounding (an
oracle that shares none of the integer code), and on the ties and the halves where a
truncation or a round-half-up would differ."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickerplant.market.instruments import Market, catalogue
from tickerplant.venue.domain.contract import SUM_DENOMINATOR, Contract, Position, bounded
from tickerplant.venue.domain.money import Ratio, parse_ratio
from tickerplant.venue.domain.orders import Side

NOW = 1_790_000_000_000
BTCUSD_PERP = Contract(next(i for i in catalogue(Market.CM, NOW) if i.symbol == "BTCUSD_PERP"))


@given(st.integers(0, 10**40), st.integers(1, 10**40))
def test_the_sums_are_the_exact_value_or_its_nearest_step_of_1e_18(num: int, den: int) -> None:
    exact = Fraction(num, den)
    kept = bounded(num, den)
    if exact.denominator <= SUM_DENOMINATOR:
        assert Fraction(*kept) == exact
    else:  # ``round`` of a Fraction is to the nearest, ties to even
        assert Fraction(*kept) == Fraction(round(exact * SUM_DENOMINATOR), SUM_DENOMINATOR)
    assert kept.den > 0 and math.gcd(*kept) == 1


@pytest.mark.parametrize(
    ("num", "den", "units"),
    [
        (3, 2 * SUM_DENOMINATOR, 2),  # 1.5 steps: the even 2, not 1 (down) ...
        (9, 2 * SUM_DENOMINATOR, 4),  # 4.5: the even 4, not 5 (half up)
        (7, 2 * SUM_DENOMINATOR, 4),  # 3.5: 4
        (3, 5 * SUM_DENOMINATOR, 1),  # 0.6: the nearest, not 0 (truncated)
        (2, 5 * SUM_DENOMINATOR, 0),  # 0.4: 0
        (10**18 + 1, 10**18 + 2, 10**18 - 1),  # the next smaller step below 1, with ties far
    ],
)
def test_a_sum_off_the_grid_rounds_to_the_nearest_step_ties_to_even(num: int, den: int, units: int) -> None:
    g = math.gcd(units, SUM_DENOMINATOR)
    assert bounded(num, den) == Ratio(units // g, SUM_DENOMINATOR // g)


def test_a_position_holds_integers_and_its_journal_row_reads_back_in_integers() -> None:
    position = Position()
    for qty, price in ((3, 300_001), (5, 299_993), (7, 300_007), (2, 299_999)):
        BTCUSD_PERP.settle(position, Side.SELL, qty, price, NOW)
    assert type(position.cost) is Ratio and {type(part) for part in position.cost} == {int}
    num, den = position.entry_ratio
    assert Fraction(num, den) == position.entry and math.gcd(num, den) == 1
    again = BTCUSD_PERP.cost_at(abs(position.amt), *parse_ratio(f"{num}/{den}"))
    assert again == position.cost  # the rounded sums, exactly
    assert parse_ratio("4/2") == (2, 1) and parse_ratio("60000") == (60000, 1)
