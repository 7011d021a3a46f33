"""A position's sums (``contract.Position.cost``) stay bounded however long it lives: exact
while the denominator is at most ``SUM_DENOMINATOR`` (10**18), else rounded to its grid
(nearest, ties to even), so that a market maker's position of 10,000 fills at distinct
prices keeps a small sum; its entry price and uPnL, written at 8 decimals, stay within
1e-8 of the exact ones (each rounding errs by at most half the grid's step: ``n`` of them by
``n × 0.5e-18`` of the sum's unit), and a journaled rounded sum reads back into itself."""

from __future__ import annotations

import random
from fractions import Fraction

from test_position_sums import read_back

from tickerplant.market.instruments import Market, catalogue
from tickerplant.venue.domain.contract import SUM_DENOMINATOR, Contract, Position
from tickerplant.venue.domain.orders import Side

NOW = 1_790_000_000_000
BTCUSDT = Contract(next(i for i in catalogue(Market.UM, NOW) if i.symbol == "BTCUSDT"))
BTCUSD_PERP = Contract(next(i for i in catalogue(Market.CM, NOW) if i.symbol == "BTCUSD_PERP"))


def _fills(count: int) -> list[tuple[Side, int, int]]:
    """A market maker's long BTCUSD_PERP: ``count`` fills at distinct prices about 50 000
    (price units of 0.1), one in five a sell of a tenth of the position."""
    rng = random.Random(7)
    prices = rng.sample(range(450_000, 550_000), count)
    amt, fills = 0, []
    for k, price in enumerate(prices):
        if k % 5 == 4 and amt >= 10:
            fills.append((Side.SELL, amt // 10, price))
            amt -= amt // 10
        else:
            qty = rng.randint(1, 100)
            fills.append((Side.BUY, qty, price))
            amt += qty
    return fills


def _exact(fills: list[tuple[Side, int, int]]) -> tuple[int, int, int, Fraction]:
    """§7.7's Σ q/p of the long position of ``fills``, exact, as a numerator and a
    denominator never reduced (a gcd of these integers costs more than the sums), and the
    most a position's rounded sums can err from it: each change rounds by at most half the
    grid's step, and a reduction shrinks the error carried with the sums, pro rata."""
    amt, num, den, bound = 0, 0, 1, 0  # bound in 1e-30, rounded up: at most 5e11 per change
    for side, qty, price in fills:
        if side is Side.BUY:
            num, den = num * price + qty * den, den * price
            amt += qty
        else:  # a reduction keeps the entry price: the sums shrink pro rata
            num, den, bound = num * (amt - qty), den * amt, -(-bound * (amt - qty) // amt)
            amt -= qty
        bound += 10**30 // (2 * SUM_DENOMINATOR)
    return amt, num, den, Fraction(bound, 10**30)


def test_a_position_of_ten_thousand_fills_keeps_a_bounded_sum_near_the_exact_one() -> None:
    contract, fills = BTCUSD_PERP, _fills(10_000)
    position = Position()
    for side, qty, price in fills:
        contract.settle(position, side, qty, price, NOW)
    amt, num, den, bound = _exact(fills)
    cost = Fraction(*position.cost)
    assert position.amt == amt and 1 < cost.denominator <= SUM_DENOMINATOR
    assert abs(cost.numerator * den - num * cost.denominator) <= bound * cost.denominator * den
    assert bound <= Fraction(len(fills), 2 * SUM_DENOMINATOR)  # n roundings: n × 0.5e-18 at most
    # entry price N / (Σ × price_one) in 1e-8, rounded down as written: within one unit
    price_one, e8 = contract.price_one, 10**8
    exact_entry = amt * den * e8 // (num * price_one)
    assert abs(position.entry.numerator * e8 // position.entry.denominator - exact_entry) <= 1
    # proven here: |ΔEP| <= EP × bound / (Σ − bound) below 1e-8 (the two written differ by a unit at most)
    assert Fraction(exact_entry + 1, e8) * bound / (cost - bound) < Fraction(1, e8)
    # uPnL N × CS × (1/EP − 1/mark) = CS / qty_one × (Σ × price_one − N / mark), toward zero
    mark = Fraction(1_000_003, 19)  # about 52 632, with no end in decimals
    size, one = contract.inst.contract_size, contract.qty_one
    upnl = size * (num * price_one * mark.numerator - amt * mark.denominator * den) * e8
    exact_upnl = (1 if upnl > 0 else -1) * (abs(upnl) // (one * den * mark.numerator))  # no gcd of these
    assert abs(contract.unrealized_e8(position, mark) - exact_upnl) <= 1
    # proven: |ΔuPnL| <= CS × price_one / qty_one × bound coin (n × 5e-16 in BTCUSD_PERP)
    assert Fraction(size * price_one, one) * bound < Fraction(1, e8)


def test_a_rounded_sum_reads_back_from_the_journal_into_itself() -> None:
    """The row keeps the entry price ``N / (Σ × price_one)`` exact: read back, the rounded
    sum is the same ``Fraction``, as are the entry price and the uPnL."""
    contract = BTCUSD_PERP
    position = Position()
    for qty, price in ((3, 300_001), (5, 299_993), (7, 300_007), (2, 299_999)):
        contract.settle(position, Side.SELL, qty, price, NOW)
    assert Fraction(*position.cost).denominator == SUM_DENOMINATOR  # rounded (1e-18 has no smaller step here)
    again = read_back(contract, position)
    assert (again.amt, again.cost, again.entry) == (position.amt, position.cost, position.entry)
    mark = Fraction(31_000)
    assert contract.unrealized_e8(again, mark) == contract.unrealized_e8(position, mark)


def test_a_linear_sum_divided_by_many_reductions_stays_bounded() -> None:
    """A linear Σ q·p is an integer until a reduction leaves it off them (``n/N`` of it);
    each further partial reduction multiplies its denominator by the next size, so it is
    bounded as an inverse one is."""
    contract, position = BTCUSDT, Position()
    rng = random.Random(11)
    for k in range(400):
        price = 600_000 + rng.randrange(10_000)
        if k % 2:
            contract.settle(position, Side.SELL, max(1, position.amt // 3), price, NOW)
        else:
            contract.settle(position, Side.BUY, rng.randint(1, 997), price, NOW)
    assert position.amt > 0 and 1 < Fraction(*position.cost).denominator <= SUM_DENOMINATOR
