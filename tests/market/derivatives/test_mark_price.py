"""The mark price, premium and funding formulas (market/derivatives/mark_price.py), over integers."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from tickerplant.market.derivatives.mark_price import (
    BASIS_WINDOW_S,
    CLAMP,
    DEFAULT_CAP,
    FUNDING_INTERVAL_MS,
    INTEREST_RATE,
    ONE,
    BasisAverage,
    PremiumAverage,
    SettleAverage,
    funding_rate,
    impact_price,
    mark_price,
    next_funding_ms,
    premium_index,
    price_to_mark,
    round_div,
)
from tickerplant.market.units import HOUR_MS, MINUTE_MS

T0 = 1_767_225_600_000  # 2026-01-01T00:00Z, a funding time


def test_funding_happens_at_0_8_and_16_utc() -> None:
    assert next_funding_ms(T0) == T0 + 8 * HOUR_MS
    assert next_funding_ms(T0 - 1) == T0
    assert next_funding_ms(T0 + 15 * HOUR_MS + 59 * MINUTE_MS) == T0 + 16 * HOUR_MS
    assert FUNDING_INTERVAL_MS == 8 * HOUR_MS


def test_impact_price_walks_the_book_and_takes_the_last_level_in_part() -> None:
    # USDⓈ-M, price 2 decimals, qty 3: 1 BTC at 100.00 and 1 BTC at 99.00; 150 USDT of
    # notional fills 1 BTC at 100 and 50/99 BTC at 99: average 150 / (1 + 50/99).
    levels = [(10_000, 1_000), (9_900, 1_000)]
    got = impact_price(levels, 150, price_decimals=2, qty_decimals=3, contract_size=1, inverse=False)
    expected = Fraction(150) / (1 + Fraction(50, 99))
    assert got == round(expected * ONE)
    # within the first level: its price
    assert impact_price(levels, 50, price_decimals=2, qty_decimals=3, contract_size=1, inverse=False) == 100 * ONE
    # deeper than the book: the average over all of it
    deep = impact_price(levels, 10**6, price_decimals=2, qty_decimals=3, contract_size=1, inverse=False)
    assert deep == round(Fraction(199) / 2 * ONE)
    assert impact_price([], 100, price_decimals=2, qty_decimals=3, contract_size=1, inverse=False) is None


def _rational_impact_price(
    levels: list[tuple[int, int]], notional: int, pd: int, qd: int, size: int, inverse: bool
) -> int | None:
    """The definition, in ``Fraction``s (what impact_price computed before it went to integers)."""
    remaining, base = Fraction(notional), Fraction(0)
    for price_units, qty_units in levels:
        price, qty = Fraction(price_units, 10**pd), Fraction(qty_units, 10**qd)
        value = qty * size if inverse else price * qty
        if value >= remaining:
            base += remaining / price
            remaining = Fraction(0)
            break
        base += value / price
        remaining -= value
    if not base:
        return None
    average = (Fraction(notional) - remaining) / base
    return round_div(average.numerator * ONE, average.denominator)


@given(
    st.lists(st.tuples(st.integers(1, 10**8), st.integers(1, 10**6)), max_size=12),
    st.integers(1, 10**7), st.integers(0, 8), st.integers(0, 4), st.sampled_from([1, 10, 100]), st.booleans(),
)  # fmt: skip
def test_impact_price_in_integers_is_the_rational_definition(
    levels: list[tuple[int, int]], notional: int, pd: int, qd: int, size: int, inverse: bool
) -> None:
    sizes = {"price_decimals": pd, "qty_decimals": qd, "contract_size": size, "inverse": inverse}
    assert impact_price(levels, notional, **sizes) == _rational_impact_price(levels, notional, pd, qd, size, inverse)  # type: ignore[arg-type]


def test_impact_price_on_coin_m_counts_usd_contracts() -> None:
    # 2 contracts of 100 USD at 100.0 and 2 at 50.0; 300 USD: 200 USD buys 2 coins at 100,
    # 100 USD buys 2 coins at 50: average 300 / 4 = 75.
    levels = [(1000, 2), (500, 2)]
    got = impact_price(levels, 300, price_decimals=1, qty_decimals=0, contract_size=100, inverse=True)
    assert got == 75 * ONE


def test_premium_index_is_zero_while_the_index_lies_between_the_impact_prices() -> None:
    index = 100 * ONE
    assert premium_index(99 * ONE, 101 * ONE, index) == 0
    assert premium_index(102 * ONE, 103 * ONE, index) == 2 * ONE // 100  # +2 %
    assert premium_index(97 * ONE, 99 * ONE, index) == -(ONE // 100)  # −1 %


def test_funding_rate_is_the_interest_rate_while_the_premium_is_small() -> None:
    assert funding_rate(0) == INTEREST_RATE == 10_000  # 0.01 %
    assert funding_rate(40_000) == INTEREST_RATE  # the clamp absorbs up to ±0.05 %
    assert funding_rate(100_000) == 100_000 - CLAMP
    assert funding_rate(-100_000) == -100_000 + CLAMP
    assert funding_rate(10 * ONE) == DEFAULT_CAP
    assert funding_rate(-10 * ONE) == -DEFAULT_CAP


@given(st.lists(st.integers(-5_000_000, 5_000_000), min_size=1, max_size=200))
def test_funding_rate_equals_the_formula_over_the_premium_samples(samples: list[int]) -> None:
    average = PremiumAverage()
    for sample in samples:
        average.add(sample)
    # Binance's time weighting: the k-th sample counts k times
    weighted = Fraction(sum(k * p for k, p in enumerate(samples, 1)), sum(range(1, len(samples) + 1)))
    assert abs(average.average() - weighted) <= Fraction(1, 2)
    p = average.average()
    expected = max(-DEFAULT_CAP, min(DEFAULT_CAP, p + max(-CLAMP, min(CLAMP, INTEREST_RATE - p))))
    assert funding_rate(p) == expected
    average.reset()
    assert average.average() == 0


@given(
    index=st.integers(1, 10**14),
    rate=st.integers(-DEFAULT_CAP, DEFAULT_CAP),
    until=st.integers(0, FUNDING_INTERVAL_MS),
    basis=st.integers(-(10**12), 10**12),
    last=st.one_of(st.none(), st.integers(1, 10**14)),
)
def test_mark_price_is_the_median_and_price_1_stays_within_the_cap(
    index: int, rate: int, until: int, basis: int, last: int | None
) -> None:
    price1 = index + round_div(index * rate * until, ONE * FUNDING_INTERVAL_MS)
    price2 = index + basis
    mark = mark_price(index, rate, until, basis, last)
    third = price2 if last is None else last
    assert mark == sorted((price1, price2, third))[1]
    # price 1 is within the funding cap of the index (±0.3 %, half a unit of rounding)
    assert abs(price1 - index) * ONE <= DEFAULT_CAP * index + ONE
    # the mark never leaves the range price 1 and the others span
    assert min(price1, price2, third) <= mark <= max(price1, price2, third)


def test_a_delivery_contract_is_marked_at_price_2() -> None:
    assert mark_price(100 * ONE, None, 0, 3 * ONE, 90 * ONE) == 103 * ONE


def test_the_basis_average_keeps_the_last_30_minutes_in_a_fixed_ring() -> None:
    ring = BasisAverage()
    assert ring.average() == 0
    for second in range(BASIS_WINDOW_S):
        ring.add(1_000 if second % 2 else -1_000)
    assert ring.count == BASIS_WINDOW_S and ring.average() == 0
    for _ in range(BASIS_WINDOW_S):
        ring.add(500)  # the old samples leave as the new arrive
    assert ring.count == BASIS_WINDOW_S and ring.average() == 500


def test_the_settle_price_is_the_mean_index_of_the_half_hour() -> None:
    settle = SettleAverage()
    settle.add(T0 + 1_000, 100)
    settle.add(T0 + 2_000, 200)
    assert settle.value() == 150
    settle.add(T0 + 30 * MINUTE_MS, 400)  # a new half hour starts over
    assert settle.value() == 400


def test_prices_become_8_decimal_units_exactly() -> None:
    assert price_to_mark(9_000_010, 2) == 9_000_010 * 10**6
    assert price_to_mark(52_000, 7) == 520_000
