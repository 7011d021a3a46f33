"""Resting orders' validity without sockets (``venue/engine/good_till.py``, part 2 §3.3): a
GTD order rests until its date, then ``ExpireGoodTill`` ends it ``EXPIRED`` with its event
and its journal row; a GTC order nothing filled is cancelled a year after it was placed, a
partly filled one stays; one closed before its date is not touched; the dates kept stay
bounded however many orders come and go."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import msgspec
from test_engine import ALICE, NOW, Book, Deposits, Kept

from tickerplant import venue_engines
from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import Cancel, ExpireGoodTill, NewOrder, Place
from tickerplant.venue.domain.events import OrderUpdate
from tickerplant.venue.domain.orders import OrderStatus, OrderType, Side, TimeInForce
from tickerplant.venue.engine.good_till import GTC_VALID_MS, GoodTill

DATE = NOW + 700_000


def _gtd(engine: Engine, price: int, date: int = DATE) -> NewOrder:
    inst = engine.instruments["BTCUSDT"]
    return NewOrder(inst, Side.BUY, OrderType.LIMIT, TimeInForce.GTD, price, 10, False, None, False, date,
                    "NONE", "NONE")  # fmt: skip


def test_a_resting_gtd_order_expires_at_its_date_and_not_before() -> None:
    book, journal = Book(), Kept()
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), book, Deposits(), journal)
    bid = next(book.levels("BTCUSDT", True))[0]
    rests = engine.apply(Place(ALICE, _gtd(engine, bid - 1000)), NOW).order
    gone = engine.apply(Place(ALICE, _gtd(engine, bid - 2000, DATE - 1000)), NOW).order
    gtc = engine.apply(Place(ALICE, _gtd(engine, bid - 3000, 0)._replace(time_in_force=TimeInForce.GTC)), NOW)
    assert rests is not None and gone is not None and gtc.order is not None
    engine.apply(Cancel(ALICE, "BTCUSDT", gone.order_id, None), NOW + 1)  # closed before its date
    assert engine.good_till.next_ms() == DATE - 1000 and len(engine.good_till) == 3  # the GTC's year too
    committed = len(journal.batches)

    early = engine.apply(ExpireGoodTill(), DATE - 1)
    assert early.events == () and rests.status is OrderStatus.NEW and len(journal.batches) == committed
    assert engine.good_till.next_ms() == DATE  # the cancelled one's date passed: dropped, not expired

    expired = engine.apply(ExpireGoodTill(), DATE + 250)
    (event,) = expired.events
    assert isinstance(event, OrderUpdate)
    assert (event.execution, event.status, event.expiry, event.order.order_id) == (
        "EXPIRED", OrderStatus.EXPIRED, "0", rests.order_id)  # fmt: skip
    assert rests.status is OrderStatus.EXPIRED and rests.update_ms == DATE + 250
    assert engine.open_orders(ALICE, "BTCUSDT") == [gtc.order] and engine.good_till.next_ms() == NOW + GTC_VALID_MS
    (batch,) = journal.batches[committed:]
    assert [order.status for order in batch.orders] == [OrderStatus.EXPIRED]
    assert engine.apply(ExpireGoodTill(), DATE + 10_000).events == ()  # once


def test_the_dates_kept_stay_bounded() -> None:
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), Kept())
    bid = next(Book().levels("BTCUSDT", True))[0]
    far = NOW + 365 * 86_400_000
    for n in range(2_000):  # placed and cancelled at once: every date far ahead
        placed = engine.apply(Place(ALICE, _gtd(engine, bid - 1000, far)), NOW + n).order
        assert placed is not None
        engine.apply(Cancel(ALICE, "BTCUSDT", placed.order_id, None), NOW + n)
    assert len(engine.good_till) <= 2 * 1 + 64 + 1


def test_a_good_till_keeps_only_gtd_orders_and_names_each_once() -> None:
    kept = GoodTill()
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), Kept())
    bid = next(Book().levels("BTCUSDT", True))[0]
    placed = [engine.apply(Place(ALICE, _gtd(engine, bid - 1000 * (n + 1), DATE + n)), NOW).order for n in range(3)]
    for order in placed:
        assert order is not None
        kept.add(order)
        kept.add(order)  # twice: named once
    assert [o.order_id for o in kept.due(DATE + 1)] == [placed[0].order_id, placed[1].order_id]  # type: ignore[union-attr]
    assert kept.due(DATE + 1) == [] and kept.next_ms() == DATE + 2


def test_a_gtc_order_nothing_filled_is_cancelled_after_a_year() -> None:
    book = Book()
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), book, Deposits(), Kept())
    bid, ask = next(book.levels("BTCUSDT", True))[0], next(book.levels("BTCUSDT", False))[0]
    gtc = _gtd(engine, bid - 1000, 0)._replace(time_in_force=TimeInForce.GTC)
    whole = engine.apply(Place(ALICE, gtc), NOW).order
    part = engine.apply(Place(ALICE, gtc._replace(price=ask, qty=1_500)), NOW + 5).order  # takes 1.000, rests
    assert whole is not None and part is not None and part.status is OrderStatus.PARTIALLY_FILLED
    assert engine.apply(ExpireGoodTill(), NOW + GTC_VALID_MS - 1).events == ()
    (event,) = engine.apply(ExpireGoodTill(), NOW + GTC_VALID_MS + 10_000).events
    assert isinstance(event, OrderUpdate)
    assert (event.execution, event.order.order_id, whole.status) == ("CANCELED", whole.order_id, OrderStatus.CANCELED)
    assert part.status is OrderStatus.PARTIALLY_FILLED  # partly filled: it stays
    assert engine.open_orders(ALICE, "BTCUSDT") == [part]


def test_an_order_past_its_date_ends_before_the_first_delivery_after_it_can_fill_it() -> None:
    """The first delivery after the date (a restart's, a sparse replay's) holds a trade through
    the order's price: the order expires first, then the trade finds nothing to fill."""
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), Kept())
    gtd = engine.apply(Place(ALICE, _gtd(engine, 5_999_800)), NOW).order
    assert gtd is not None and gtd.status is OrderStatus.NEW
    now = DATE + 60_000
    trade = {"e": "aggTrade", "E": now, "a": 1, "s": "BTCUSDT", "p": "59990.00", "q": "5.000", "nq": "5.000",
             "f": 1, "l": 1, "T": now, "m": True}  # fmt: skip
    messages = [StreamMessage("btcusdt@aggTrade", msgspec.json.encode(trade))]
    keyring = SimpleNamespace(refresh=lambda: None, moved=lambda market: [])
    transfers = venue_engines.OperatorTransfers(keyring)  # type: ignore[arg-type]

    def step(name: str, function: Callable[..., object], *args: object) -> None:
        function(*args)  # no containment: a failure fails the test

    heeded = venue_engines.Heeded.of(engine)
    venue_engines.feed_engine(engine, lambda _: None, ManualClock(now), transfers, heeded, step, None, messages)
    assert (gtd.status, gtd.executed_qty, gtd.update_ms) == (OrderStatus.EXPIRED, 0, now)


def test_gtc_dates_out_of_order_come_due_in_order() -> None:
    """Live GTC placements queue by date; one placed earlier than the last queued (an order
    reloaded from the journal) waits in the heap: ``due`` names them earliest first."""
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), Kept())
    bid = next(Book().levels("BTCUSDT", True))[0]
    gtc = _gtd(engine, bid - 1000, 0)._replace(time_in_force=TimeInForce.GTC)
    late, early, gtd = (
        engine.apply(Place(ALICE, order), at).order
        for order, at in ((gtc, NOW + 50), (gtc._replace(price=bid - 2000), NOW + 10), (_gtd(engine, bid - 3000), NOW))
    )  # fmt: skip
    kept = GoodTill()
    for order in (late, early, gtd):
        assert order is not None
        kept.add(order)
    assert kept.next_ms() == DATE and [o is gtd for o in kept.due(DATE)] == [True]
    assert kept.next_ms() == NOW + 10 + GTC_VALID_MS
    assert kept.due(NOW + 50 + GTC_VALID_MS) == [early, late]
