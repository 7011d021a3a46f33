"""A position kept as sums (``contract.Position``: its quantity and Σ q·p, or Σ q/p for an
inverse contract): the entry price, the realized PnL and the unrealized PnL worked out from
them are exactly part 3 §7.7's, where the entry price is averaged fill by fill; a journaled
position's row (its entry price as ``n/d``) reads back into the same sums."""

from __future__ import annotations

import math
import tempfile
from fractions import Fraction
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from test_engine import ALICE, Book, Deposits

from tickerplant.market.instruments import Market, catalogue
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.contract import SUM_DENOMINATOR, Contract, Position, toward_zero
from tickerplant.venue.domain.events import Batch
from tickerplant.venue.domain.money import parse_ratio
from tickerplant.venue.domain.orders import PositionSide, Side
from tickerplant.venue.journal.sqlite_journal import SqliteJournal

NOW = 1_790_000_000_000
BTCUSDT = Contract(next(i for i in catalogue(Market.UM, NOW) if i.symbol == "BTCUSDT"))
BTCUSD_PERP = Contract(next(i for i in catalogue(Market.CM, NOW) if i.symbol == "BTCUSD_PERP"))

_FILLS = st.lists(st.tuples(st.sampled_from(Side), st.integers(1, 5_000), st.integers(1, 10**7)), max_size=12)
_MARKS = st.fractions(min_value=Fraction(1, 100), max_value=10**6, max_denominator=10**8)


def _by_the_definition(
    contract: Contract, fills: list[tuple[Side, int, int]]
) -> tuple[int, Fraction, list[Fraction], bool]:
    """§7.7 fill by fill with the entry price itself averaged: the position, its entry price,
    each fill's realized PnL, and whether the exact sums of every step had a denominator of
    at most ``SUM_DENOMINATOR`` (else the position's were rounded)."""
    amt, entry, realized, exact = 0, Fraction(0), [], True
    size = contract.inst.contract_size
    for side, qty, units in fills:
        price, signed = Fraction(units, contract.price_one), side.sign * qty
        if amt == 0 or (amt > 0) == (signed > 0):
            held, added = abs(amt), qty
            if not held:
                entry = price
            elif contract.inverse:
                entry = (held + added) / (held / entry + added / price)
            else:
                entry = (held * entry + added * price) / (held + added)
            realized.append(Fraction(0))
        else:
            closed = Fraction(min(qty, abs(amt)) * (1 if amt > 0 else -1), contract.qty_one)
            if contract.inverse:
                realized.append(closed * size * (1 / entry - 1 / price))
            else:
                realized.append(closed * (price - entry))
            left = amt + signed
            entry = Fraction(0) if left == 0 else price if (left > 0) != (amt > 0) else entry
        amt += signed
        exact = exact and (not amt or _exact_sum(contract, amt, entry).denominator <= SUM_DENOMINATOR)
    return amt, entry, realized, exact


def _exact_sum(contract: Contract, amt: int, entry: Fraction) -> Fraction:
    """What ``Position.cost`` sums for ``amt`` at ``entry``, exact."""
    return Fraction(*contract.level_value(abs(amt), entry.numerator * contract.price_one, entry.denominator))


@given(_FILLS, _MARKS, st.sampled_from([BTCUSDT, BTCUSD_PERP]))
def test_the_sums_give_the_entry_price_and_the_pnl_of_the_definition(
    fills: list[tuple[Side, int, int]], mark: Fraction, contract: Contract
) -> None:
    position = Position()
    realized = [contract.settle(position, side, qty, units, NOW) for side, qty, units in fills]
    amt, entry, expected, exact = _by_the_definition(contract, fills)
    assert position.cost.den <= SUM_DENOMINATOR
    if exact:
        assert (position.amt, position.entry, realized) == (amt, entry, [toward_zero(r) for r in expected])
        assert contract.unrealized(position, mark) == (contract.pnl(amt, entry, mark) if amt else 0)
    else:  # each rounding errs by at most half the grid's step, and shrinks with the sums
        assert position.amt == amt
        bound = Fraction(len(fills), 2 * SUM_DENOMINATOR)
        assert abs(Fraction(*position.cost) - _exact_sum(contract, amt, entry)) <= bound if amt else not position.cost.num
        assert all(abs(r - toward_zero(e)) <= 1 for r, e in zip(realized, expected, strict=True))
    assert math.gcd(*position.cost) == 1  # in lowest terms: a linear one whole while reductions divide it


def read_back(contract: Contract, position: Position) -> Position:
    """``position`` journaled as alice's on ``contract``'s symbol, and read back by a new engine."""
    market, symbol = contract.inst.market, contract.inst.symbol
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "venue.db"
        AccountStore(path).close()
        journal = SqliteJournal(path)
        journal.commit(Batch(positions=[(ALICE, symbol, position.copy())]))
        journal.close()
        engine = Engine(market, catalogue(market, NOW), Book(), Deposits(), SqliteJournal(path))
        SqliteJournal(path).load(engine)
    return engine.ledger(ALICE).position(symbol)


@settings(max_examples=25, deadline=None)
@given(_FILLS, st.sampled_from([BTCUSDT, BTCUSD_PERP]))
def test_a_journaled_position_reads_back_into_the_same_sums(
    fills: list[tuple[Side, int, int]], contract: Contract
) -> None:
    """The row keeps the entry price as ``n/d`` (as databases written before the sums did):
    read back by an engine, the sums, the entry price and the unrealized PnL are the same."""
    position = Position()
    for side, qty, units in fills:
        contract.settle(position, side, qty, units, NOW)
    again = read_back(contract, position)
    assert (again.amt, again.cost, again.entry) == (position.amt, position.cost, position.entry)
    mark = Fraction(contract.inst.initial_price, contract.price_one)
    assert contract.unrealized(again, mark) == contract.unrealized(position, mark)


def test_a_row_written_before_the_sums_reads_back() -> None:
    """A database written when the position kept its entry price (``"180001/3"``)."""
    position = Position(1500, BTCUSDT.cost_at(1500, *parse_ratio("180001/3")), NOW, 0, PositionSide.BOTH, BTCUSDT)
    assert position.entry == Fraction(180001, 3)
    assert position.cost == (1500 * 180001 * 100 // 3, 1)  # 60000.33… × 1.5 in units: Σ q·p exactly
