"""An observed market (a replay's or relay's book, which cannot react) is liquidity the
venue's orders share: what a venue taker took of a displayed level is gone for the next one
until the book changes, and a public trade's quantity beyond the queue fills the venue's
orders at its price once, oldest first (docs/venue.md, "How orders fill")."""

from __future__ import annotations

from test_engine import ALICE, BOB, NOW, Book, order
from test_queues import BID, engine_with, rest, trade

from tickerplant.venue.domain.commands import Trades
from tickerplant.venue.domain.orders import OrderStatus
from tickerplant.venue.wire.order_entry import new_order


class VersionedBook(Book):
    """test_engine's book with an update id, as a replay's book has (the depth stream's
    ``u``, or the bookTicker's): ``change`` is the market's next update."""

    def __init__(self) -> None:
        super().__init__()
        self.update_id = 1

    def book_id(self, symbol: str) -> int | None:
        return self.update_id

    def halted(self, symbol: str) -> bool:
        return False  # no followed book here

    def change(self) -> None:
        self.update_id += 1


def test_what_a_taker_took_is_gone_for_the_next_until_the_book_changes() -> None:
    book = VersionedBook()  # asks 60000.00 x1.000, 60001.00 x2.000
    engine = engine_with(book)
    first = new_order(engine, ALICE, order(quantity="1.500", price="60001.00", timeInForce="IOC"), NOW).order
    assert first is not None and first.executed_qty == 1500
    # the same book: 60000.00 is gone, 0.500 of 60001.00 too; bob gets the 1.500 left, not 2.000
    second = new_order(engine, BOB, order(quantity="2.000", price="60001.00", timeInForce="IOC"), NOW + 1).order
    assert second is not None and (second.executed_qty, second.status) == (1500, OrderStatus.EXPIRED)
    assert second.cum_quote == 1500 * 6_000_100
    third = new_order(engine, BOB, order(quantity="0.100", price="60001.00", timeInForce="IOC"), NOW + 2).order
    assert third is not None and third.executed_qty == 0  # nothing left of the two levels
    book.change()  # the market's next update: its levels are the market's own again
    fourth = new_order(engine, BOB, order(quantity="1.000", price="60000.00", timeInForce="IOC"), NOW + 3).order
    assert fourth is not None and (fourth.executed_qty, fourth.cum_quote) == (1000, 1000 * 6_000_000)


def test_fixed_levels_without_an_id_are_met_whole_by_every_taker() -> None:
    engine = engine_with(Book())  # no update id: nothing tells a change, nothing is kept
    for n, account in enumerate((ALICE, BOB)):
        taken = new_order(engine, account, order(quantity="1.000", price="60000.00", timeInForce="IOC"), NOW + n)
        assert taken.order is not None and taken.order.executed_qty == 1000


def test_a_trades_excess_fills_the_venues_orders_at_its_price_once_oldest_first() -> None:
    book = VersionedBook()  # 1.000 displayed at 59999.00
    engine = engine_with(book)
    older, newer = rest(engine, qty="0.400"), rest(engine, qty="0.400", now=NOW + 1)
    assert older.queue_ahead == newer.queue_ahead == 1000  # neither is in the displayed book
    engine.apply(Trades((trade(BID, 1500, True, NOW + 2),)), NOW + 2)  # 0.500 beyond the queue
    assert (older.executed_qty, newer.executed_qty) == (400, 100)
    engine.apply(Trades((trade(BID, 200, True, NOW + 3),)), NOW + 3)  # nothing ahead now
    assert (older.status, newer.executed_qty) == (OrderStatus.FILLED, 300)


def test_a_trade_through_the_price_fills_every_order_there() -> None:
    """A trade below a resting buy's price took the whole level: each order at it fills."""
    engine = engine_with(VersionedBook())
    first, second = rest(engine, qty="0.400"), rest(engine, qty="0.400", now=NOW + 1)
    engine.apply(Trades((trade(BID - 100, 100, True, NOW + 2),)), NOW + 2)
    assert first.status is second.status is OrderStatus.FILLED
