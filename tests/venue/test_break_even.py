"""``breakEvenPrice`` (part 3 §7.7): the entry moved by the commission rate paid on opening,
the doc's 0.385 × 1.0002 opened as a maker. What maker fills opened of a position
(``Position.maker_amt``) is kept as it opens, shrinks pro rata (down) as it closes, is the
rest of a flip by a maker fill, and comes back from the journal."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from test_engine import ALICE, NOW, Book, Deposits

from tickerplant.market.instruments import Market, catalogue
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.contract import Contract, Position
from tickerplant.venue.domain.events import Batch
from tickerplant.venue.domain.orders import PositionSide, Side
from tickerplant.venue.journal.sqlite_journal import SqliteJournal

MAKER, TAKER = Fraction(2, 10_000), Fraction(5, 10_000)


def _contract() -> Contract:
    (inst,) = [i for i in catalogue(Market.UM, NOW) if i.symbol == "BTCUSDT"]
    return Contract(inst)


def _break_even(contract: Contract, position: Position) -> Fraction:
    return Fraction(*contract.break_even(position.amt, position.cost, position.maker_amt, MAKER, TAKER))


def test_the_rate_paid_on_opening_weighted_by_what_each_fill_opened() -> None:
    contract, position = _contract(), Position()
    at = 6_000_000  # 60,000.00
    contract.settle(position, Side.BUY, 3_000, at, NOW, maker=True)  # 3 BTC as a maker
    assert position.maker_amt == 3_000 and _break_even(contract, position) == 60_000 * (1 + MAKER)
    contract.settle(position, Side.BUY, 1_000, at, NOW)  # 1 as a taker
    assert position.maker_amt == 3_000
    assert _break_even(contract, position) == 60_000 * (1 + (3 * MAKER + TAKER) / 4)
    contract.settle(position, Side.SELL, 2_000, at, NOW, maker=True)  # closing: pro rata, down
    assert (position.amt, position.maker_amt) == (2_000, 1_500)
    contract.settle(position, Side.SELL, 1_999, at, NOW)
    assert (position.amt, position.maker_amt) == (1, 0)  # 1,500 × 1 / 2,000, rounded down
    contract.settle(position, Side.SELL, 3_001, at, NOW, maker=True)  # flipped by a maker: the rest its
    assert (position.amt, position.maker_amt) == (-3_000, 3_000)
    assert _break_even(contract, position) == 60_000 * (1 - MAKER)  # a short's: below its entry
    contract.settle(position, Side.BUY, 3_000, at, NOW, maker=True)
    assert (position.amt, position.maker_amt) == (0, 0)


def test_what_maker_fills_opened_comes_back_from_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "venue.db"
    path.touch()
    journal = SqliteJournal(path)
    contract = _contract()
    position = Position(side=PositionSide.BOTH)
    contract.settle(position, Side.SELL, 500, 6_000_000, NOW, maker=True)
    contract.settle(position, Side.SELL, 500, 6_000_000, NOW)
    journal.commit(Batch(positions=[(ALICE, "BTCUSDT", position)]))
    journal.close()
    again = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), SqliteJournal(path))
    SqliteJournal(path).load(again)
    back = again.ledger(ALICE).position("BTCUSDT")
    assert (back.amt, back.maker_amt, back.entry) == (-1_000, 500, 60_000)
