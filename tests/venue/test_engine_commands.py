"""Commands in, events out (``Engine.apply``, docs/venue.md "Commands in, events out"): a
command's outcome holds the events it caused, in order, whatever waited in the outbox before
it or was taken since, and a refused command journals nothing."""

from __future__ import annotations

from typing import Any

import pytest
from test_engine import ALICE, NOW, Book, Deposits, Kept

from tickerplant.market.instruments import Market, catalogue
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import Cancel, NewOrder, Place, SetLeverage
from tickerplant.venue.domain.events import AccountUpdate, ConfigUpdate, OrderUpdate
from tickerplant.venue.domain.orders import OrderType, Side, TimeInForce
from tickerplant.venue.domain.outbox import EVENTS_KEPT, Outbox


def _event(n: int) -> ConfigUpdate:
    """An event numbered ``n`` (its time), to tell it apart."""
    return ConfigUpdate(n, ALICE, "BTCUSDT", 20)


def test_the_outbox_keeps_the_newest_events_up_to_its_bound() -> None:
    outbox = Outbox()
    outbox.extend(tuple(_event(n) for n in range(EVENTS_KEPT + 5)))  # one command's
    outbox.extend((_event(-1), _event(-2)))  # another's
    taken = outbox.take()
    assert len(taken) == EVENTS_KEPT and taken[0].time_ms == 7  # the oldest dropped
    assert [e.time_ms for e in taken[-2:]] == [-1, -2]
    assert outbox.take() == []
    outbox.extend((_event(1), _event(2)))
    outbox.extend((_event(3),))
    assert [[e.time_ms for e in made] for made in outbox.take_made()] == [[1, 2], [3]]  # by command


def _order(engine: Engine, side: Side, kind: OrderType, price: int, qty: int) -> NewOrder:
    inst = engine.instruments["BTCUSDT"]
    tif = TimeInForce.GTC
    return NewOrder(inst, side, kind, tif, price, qty, False, None, False, 0, "NONE", "NONE")


def test_an_outcome_holds_its_own_events_in_order_and_a_refusal_journals_nothing() -> None:
    book, journal = Book(), Kept()
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), book, Deposits(), journal)
    bid = next(book.levels("BTCUSDT", True))[0]  # 59999.00
    engine.outbox.extend((_event(-1),))  # what waited is not the command's
    rested = engine.apply(Place(ALICE, _order(engine, Side.BUY, OrderType.LIMIT, bid - 1000, 10)), NOW)
    assert rested.order is not None and rested.ack is not None
    assert [(type(e).__name__, getattr(e, "execution", None)) for e in rested.events] == [("OrderUpdate", "NEW")]
    taken = engine.apply(Place(ALICE, _order(engine, Side.SELL, OrderType.MARKET, 0, 5)), NOW + 1)
    kinds: list[Any] = [type(e) for e in taken.events]
    assert kinds[0] is OrderUpdate and AccountUpdate in kinds  # NEW, then its fills' TRADE and ACCOUNT_UPDATE
    assert engine.outbox.take()[0] == _event(-1)
    committed = len(journal.batches)
    with pytest.raises(RequestRefused):
        engine.apply(SetLeverage(ALICE, "BTCUSDT", 1_000), NOW + 2)  # -4028
    with pytest.raises(RequestRefused):
        engine.apply(Cancel(ALICE, "BTCUSDT", 999, None), NOW + 2)  # -2011
    assert len(journal.batches) == committed and engine.ledger(ALICE).leverage == {}
    cancelled = engine.apply(Cancel(ALICE, "BTCUSDT", rested.order.order_id, None), NOW + 3)
    assert cancelled.order is rested.order and [e.execution for e in cancelled.events] == ["CANCELED"]  # type: ignore[union-attr]
    assert len(journal.batches) == committed + 1
