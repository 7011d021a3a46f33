"""An account's seat at a symbol (``venue/ledger/seat.py``): the one object a command on the
pair finds, holding its kept orders and its open orders' sums, and belonging to the account's
ledger whatever made it."""

from __future__ import annotations

from test_engine import ALICE, NOW, Book, Deposits, Kept, order

from tickerplant.market.instruments import Market, catalogue
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.contract import Position
from tickerplant.venue.domain.orders import PositionSide
from tickerplant.venue.wire.order_entry import new_order
from tickerplant.venue.wire.settings_routes import set_leverage


def _engine() -> Engine:
    return Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), Kept())


def test_a_command_finds_the_ledgers_seat_with_its_orders_and_sums() -> None:
    engine = _engine()
    placed = new_order(engine, ALICE, order(quantity="0.010", price="59000"), NOW).order
    assert placed is not None
    seat = engine.seat(ALICE, "BTCUSDT")
    assert seat is engine.ledger(ALICE).seat("BTCUSDT") and seat.ledger is engine.ledger(ALICE)
    assert seat.orders[placed.order_id] is placed and engine.kept(ALICE, "BTCUSDT") is seat
    assert seat.values == [placed.orig_qty * placed.price, 0] and seat.changes == 1


def test_a_seat_a_leverage_check_makes_is_not_the_accounts() -> None:
    """A lower leverage is checked on a trial ledger (``Ledger.with_leverage``), whose figures
    read the seat of every symbol held: one it makes there (a position restored from the
    journal has none yet) stays the trial's, and the account's is its own ledger's."""
    engine = _engine()
    contract = engine.contracts["BTCUSDT"]
    ledger = engine.ledger(ALICE)
    ledger.positions[("BTCUSDT", PositionSide.BOTH)] = Position(  # as the journal restores one
        amt=1000, cost=contract.level_value(1000, 6_000_000), side=PositionSide.BOTH
    )
    assert "BTCUSDT" not in ledger.seats
    set_leverage(engine, ALICE, "BTCUSDT", 10, NOW)
    assert ledger.leverage["BTCUSDT"] == 10
    assert engine.seat(ALICE, "BTCUSDT").ledger is ledger
