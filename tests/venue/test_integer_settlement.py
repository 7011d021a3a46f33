"""A fill's commission and ``baseQty``, a funding fee and a position's figures (notional,
uPnL, initial and maintenance margin) worked out in integers (``Contract``: one numerator
and denominator, one division) are the definitions of part 3 §7 and §9 in exact fractions,
rounded once as Binance rounds: commission and ``baseQty`` down (§10), a funding fee and a
PnL toward zero (§4.3), margins down; in both markets."""

from __future__ import annotations

import math
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from tickerplant.market.instruments import Market, catalogue
from tickerplant.venue.domain.contract import Contract, Position, toward_zero
from tickerplant.venue.domain.orders import Side

NOW = 1_790_000_000_000
_CONTRACTS = [
    Contract(next(i for i in catalogue(m, NOW) if i.symbol == s))
    for m, s in ((Market.UM, "BTCUSDT"), (Market.UM, "DOGEUSDT"), (Market.CM, "BTCUSD_PERP"))
]
_MARKS = st.fractions(min_value=Fraction(1, 100), max_value=10**6, max_denominator=10**8)
_RATES = st.fractions(min_value=Fraction(-3, 100), max_value=Fraction(3, 100), max_denominator=10**6)


def _notional(contract: Contract, qty: int, price: Fraction) -> Fraction:
    """§7.1 by its text: linear ``q × price``, inverse ``q × CS / price``."""
    q = Fraction(qty, contract.qty_one)
    return q * contract.inst.contract_size / price if contract.inverse else q * price


def _down(amount: Fraction) -> int:
    return math.floor(amount * 10**8)


@given(st.sampled_from(_CONTRACTS), st.integers(1, 10**6), st.integers(1, 10**8), _RATES, _MARKS, st.integers(-10**6, 10**6))
def test_fees_and_funding_are_the_exact_figures_rounded(
    contract: Contract, qty: int, units: int, rate: Fraction, mark: Fraction, amt: int
) -> None:
    price = Fraction(units, contract.price_one)
    fee = abs(rate)
    assert contract.commission(qty, units, fee) == _down(_notional(contract, qty, price) * fee)
    assert contract.base(qty, units) == _down(_notional(contract, qty, price))
    cap = contract.brackets[0].mmr  # part 3 §9 "Caps": the rate charged, clamped to ±MMR
    charged = max(-cap, min(cap, rate))
    assert contract.funding_fee(amt, mark, rate) == toward_zero(-_notional(contract, amt, mark) * charged)


@given(
    st.sampled_from(_CONTRACTS), st.lists(st.tuples(st.integers(1, 5_000), st.integers(1, 10**7)), min_size=1, max_size=4),
    st.sampled_from(Side), _MARKS, st.integers(1, 125),
)  # fmt: skip
def test_a_positions_figures_are_the_exact_figures_rounded(
    contract: Contract, fills: list[tuple[int, int]], side: Side, mark: Fraction, leverage: int
) -> None:
    position = Position()
    for qty, units in fills:
        contract.settle(position, side, qty, units, NOW)
    entry, amt = position.entry, position.amt
    notional = _notional(contract, amt, mark)
    q = Fraction(amt, contract.qty_one)
    if contract.inverse:
        upnl = q * contract.inst.contract_size * (1 / entry - 1 / mark)
    else:
        upnl = q * (mark - entry)
    bracket = next((b for b in contract.brackets if abs(notional) <= b.cap), contract.brackets[-1])
    maint = max(Fraction(0), abs(notional) * bracket.mmr - bracket.cum)
    expected = (toward_zero(upnl), _down(abs(notional) / leverage), _down(maint))
    assert contract.valued(position, mark, leverage) == expected
    assert contract.notional_e8(amt, mark) == toward_zero(notional)


def test_an_inverse_upnl_on_the_grid_is_written_whole() -> None:
    """Long 1 BTCUSD_PERP at 30 000 (1/30 000 has no end in decimals), mark 120 000: uPnL
    100 × (1/30 000 − 1/120 000) = 0.0025 exactly, written 0.00250000 (a Σ q/p rounded
    by any amount below it would write 0.00249999): why the inverse sums stay exact."""
    contract = _CONTRACTS[-1]
    position = Position()
    contract.settle(position, Side.BUY, 1, 30_000 * contract.price_one, NOW)
    assert contract.unrealized_e8(position, Fraction(120_000)) == 250_000
    assert contract.settle(position, Side.SELL, 1, 120_000 * contract.price_one, NOW) == 250_000
