# ruff: noqa: F811  (test_engine's fixtures are parameters here)
"""A MARKET order meets no level past ``mark × (1 ± marketTakeBound)`` (trading spec part 2
§8, -4131), the bound put on the tick grid inward from its exact value: a sell's bound is
the exact value's ceiling on the grid, never a tick under it (the exact value truncated to
a whole price unit first let a sell reach one tick past the bound)."""

from __future__ import annotations

from fractions import Fraction

from test_engine import ALICE, NOW, Book, Deposits, Kept, book, engine, journal, order, refusal  # noqa: F401

from tickerplant.venue.core.engine import Engine
from tickerplant.venue.wire.order_entry import new_order


def test_a_market_sell_meets_no_bid_a_tick_under_its_exact_bound(engine: Engine, book: Book) -> None:
    # BTCUSDT: bound 5 %, tick 0.10 (10 units); mark × 0.95 = 57000.005 exactly: its grid
    # ceiling is 57000.10, so a best bid at 57000.00 is past the bound
    book.marks["BTCUSDT"] = Fraction(11_400_001, 190)
    book.bids = [(5_700_000, 1000)]
    assert refusal(new_order, engine, ALICE, order(side="SELL", type="MARKET", quantity="0.001"), NOW) == (
        -4131, "The counterparty's best price does not meet the PERCENT_PRICE filter limit."
    )  # fmt: skip
    book.bids = [(5_700_010, 1000)]  # at the bound's grid ceiling: taken
    placed = new_order(engine, ALICE, order(side="SELL", type="MARKET", quantity="0.001"), NOW + 1).order
    assert placed is not None and placed.status.value == "FILLED"


def test_a_market_buy_meets_no_ask_a_tick_over_its_exact_bound(engine: Engine, book: Book) -> None:
    # mark × 1.05 = 63000.005: its grid floor is 63000.00
    book.marks["BTCUSDT"] = Fraction(12_600_001, 210)
    book.asks = [(6_300_010, 1000)]
    assert refusal(new_order, engine, ALICE, order(type="MARKET", quantity="0.001"), NOW)[0] == -4131
    book.asks = [(6_300_000, 1000)]
    placed = new_order(engine, ALICE, order(type="MARKET", quantity="0.001"), NOW + 1).order
    assert placed is not None and placed.status.value == "FILLED"
