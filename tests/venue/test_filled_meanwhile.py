"""A resting order the simulated flow filled in the one book while its fill waited for the
next delivery (``resting.settle_pending``): a loaded machine's simulator catches up a batch
at a time and answers requests between batches, publishing after the last, so a cancel, a
modification or a GTD order's date can come in between. The command sees the order as the
book has it: filled.

Before, the order was cancelled (its fill then met no resting order and was lost: the
public trade printed, the account never had it), or moved and rested again with its filled
quantity, or, crossing, settled twice (an exception: the client answered 503 ``-1000``)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from test_reference_oracle import NOW, Deposits, FixedBook, Kept, instruments, published

from tickerplant.market.instruments import Market
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import Amend, Cancel, CancelAll, ExpireGoodTill, NewOrder, Place
from tickerplant.venue.domain.events import OrderUpdate
from tickerplant.venue.domain.orders import OrderStatus, OrderType, Side, TimeInForce, seeded_client_ids

ALICE = 1


def _venue() -> tuple[Engine, FixedBook]:
    listed = instruments()
    marks = {i.symbol: Fraction(i.initial_price // i.tick * i.tick, 10**i.price_decimals) for i in listed}
    book = FixedBook({i.symbol: published(i) for i in listed}, marks)
    engine = Engine(Market.UM, listed, book, Deposits(), Kept(), client_ids=seeded_client_ids("meanwhile"), book=book)
    return engine, book


def _resting_bid(engine: Engine, qty: int) -> tuple[int, int]:
    """A GTC buy resting at the best bid: its id and price."""
    inst = engine.instruments["BTCUSDT"]
    price = max(engine.data.levels("BTCUSDT", True))[0]
    new = NewOrder(inst, Side.BUY, OrderType.LIMIT, TimeInForce.GTC, price, qty, False, None, True, 0, "NONE", "NONE")
    placed = engine.apply(Place(ALICE, new), NOW).order
    assert placed is not None and placed.status is OrderStatus.NEW
    return placed.order_id, price


FLOW_MS = NOW + 1  # the flow's trades; the commands after, at NOW + 2 on


def _flow_sells(book: FixedBook, price: int, qty: int) -> None:
    """The simulated flow's sell reaching down to ``price`` in the book itself at ``FLOW_MS``,
    the engine not told (its match waits in the book for the next delivery)."""
    book.books["BTCUSDT"].take(True, qty, price, 900_000, FLOW_MS)


def _updates(events: tuple[object, ...], order_id: int) -> list[tuple[str, str]]:
    return [(e.execution, e.status.value) for e in events if isinstance(e, OrderUpdate) and e.order.order_id == order_id]


@pytest.mark.parametrize("command", ["cancel", "cancel all"])
def test_a_cancel_of_an_order_filled_meanwhile_keeps_its_fill(command: str) -> None:
    engine, book = _venue()
    order_id, price = _resting_bid(engine, 2)
    level = book.books["BTCUSDT"].quantity(True, price)
    _flow_sells(book, price, level)  # the whole level: the order too
    if command == "cancel":
        with pytest.raises(RequestRefused) as refusal:
            engine.apply(Cancel(ALICE, "BTCUSDT", order_id, None), NOW + 2)
        assert refusal.value.code == -2011  # filled: nothing to cancel
        events = tuple(engine.outbox.take())
    else:
        events = engine.apply(CancelAll(ALICE, "BTCUSDT"), NOW + 2).events
    assert _updates(events, order_id)[-1] == ("TRADE", "FILLED")
    assert ("CANCELED", "CANCELED") not in _updates(events, order_id)
    (fill,) = [e for e in events if isinstance(e, OrderUpdate) and e.fill is not None]
    assert fill.time_ms == fill.fill.time_ms == FLOW_MS  # the public trade's T, not the cancel's time
    position = engine.seat(ALICE, "BTCUSDT").ledger.position("BTCUSDT")
    assert position.amt == 2  # the account has what the book traded


def test_a_modification_of_an_order_filled_meanwhile_is_refused_and_keeps_its_fill() -> None:
    engine, book = _venue()
    order_id, price = _resting_bid(engine, 2)
    _flow_sells(book, price, book.books["BTCUSDT"].quantity(True, price))
    inst = engine.instruments["BTCUSDT"]
    with pytest.raises(RequestRefused) as refusal:
        engine.apply(Amend(ALICE, "BTCUSDT", order_id, None, Side.BUY, 2, price + inst.tick), NOW + 2)
    assert refusal.value.code == -2013
    assert _updates(tuple(engine.outbox.take()), order_id)[-1] == ("TRADE", "FILLED")


@pytest.mark.parametrize("crossing", [False, True])
def test_a_modification_of_an_order_partly_filled_meanwhile_moves_what_is_left(crossing: bool) -> None:
    engine, book = _venue()
    order_id, price = _resting_bid(engine, 5)
    ahead = book.books["BTCUSDT"].quantity(True, price) - 5
    _flow_sells(book, price, ahead + 3)  # three of its five
    inst = engine.instruments["BTCUSDT"]
    # up a tick (resting), or up to the best ask (crossing: it takes what is left there)
    to = min(engine.data.levels("BTCUSDT", False))[0] if crossing else price + inst.tick
    outcome = engine.apply(Amend(ALICE, "BTCUSDT", order_id, None, Side.BUY, 5, to), NOW + 2)
    order = outcome.order
    assert order is not None
    assert _updates(outcome.events, order_id)[0] == ("TRADE", "PARTIALLY_FILLED")  # the fill first
    position = engine.seat(ALICE, "BTCUSDT").ledger.position("BTCUSDT")
    if crossing:
        assert (order.status, order.executed_qty, position.amt) == (OrderStatus.FILLED, 5, 5)
    else:  # two rest at the new price, not five
        assert (order.status, order.executed_qty, position.amt) == (OrderStatus.PARTIALLY_FILLED, 3, 3)
        assert book.books["BTCUSDT"].orders[order_id].qty == 2


def test_a_gtd_order_filled_before_its_date_came_is_filled_not_expired() -> None:
    # the delivery that ends it at its date comes after the book filled it (good_till.py)
    engine, book = _venue()
    inst = engine.instruments["BTCUSDT"]
    price = max(engine.data.levels("BTCUSDT", True))[0]
    date = NOW + 3_600_000
    new = NewOrder(inst, Side.BUY, OrderType.LIMIT, TimeInForce.GTD, price, 2, False, None, True, date, "NONE", "NONE")
    placed = engine.apply(Place(ALICE, new), NOW).order
    assert placed is not None
    _flow_sells(book, price, book.books["BTCUSDT"].quantity(True, price))
    events = engine.apply(ExpireGoodTill(), date + 1).events
    assert _updates(events, placed.order_id) == [("TRADE", "FILLED")]
    assert engine.seat(ALICE, "BTCUSDT").ledger.position("BTCUSDT").amt == 2
