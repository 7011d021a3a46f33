"""Algo orders through ``Engine.apply`` without sockets: a trigger's child, its algo rows
and its events are the trigger command's one journal commit and its outcome, in the order
the user data stream sends them (part 4 §4.3 item 10); a malformed algo order is refused at
the wire's parse and journals nothing."""

from __future__ import annotations

import sqlite3
from fractions import Fraction
from pathlib import Path

import msgspec
import pytest
from test_engine import ALICE, BOB, Book, Deposits

from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import AlgoTriggers
from tickerplant.venue.domain.events import AccountUpdate, AlgoUpdate, Event, OrderUpdate
from tickerplant.venue.domain.listing import Listing
from tickerplant.venue.journal.sqlite_journal import SqliteJournal
from tickerplant.venue.risk.risk import check_stop_limit
from tickerplant.venue.wire.algo_rest import new_algo
from tickerplant.venue.wire.order_entry import amend_order, cancel_order, new_order

NOW = 1_790_000_000_000
STOP = {"algotype": "CONDITIONAL", "symbol": "BTCUSDT", "side": "BUY", "type": "STOP_MARKET",
        "quantity": "0.001", "triggerprice": "61000", "workingtype": "MARK_PRICE"}  # fmt: skip


@pytest.fixture
def journal(tmp_path: Path) -> SqliteJournal:
    AccountStore(tmp_path / "venue.db").close()
    return SqliteJournal(tmp_path / "venue.db")


def said(event: Event) -> tuple[str, str]:
    if isinstance(event, AlgoUpdate):
        return "ALGO_UPDATE", event.algo.status
    if isinstance(event, OrderUpdate):
        return "ORDER_TRADE_UPDATE", event.execution
    assert isinstance(event, AccountUpdate)
    return "ACCOUNT_UPDATE", event.reason


def test_a_triggers_child_and_its_algo_rows_are_one_commit_its_events_the_outcome_in_order(
    journal: SqliteJournal,
) -> None:
    book = Book()
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), book, Deposits(), journal)
    placed, _ = new_algo(engine, ALICE, STOP, NOW)
    # an earlier command's events not yet drained: not the trigger's
    new_order(engine, ALICE, {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeinforce": "GTC",
                              "quantity": "0.001", "price": "59000"}, NOW)  # fmt: skip
    commits = journal.commits
    book.marks["BTCUSDT"] = Fraction(61000)
    outcome = engine.apply(AlgoTriggers(()), NOW + 1)
    assert journal.commits == commits + 1  # the child's order and fill, the algo's rows: one batch
    assert [said(e) for e in outcome.events] == [
        ("ALGO_UPDATE", "TRIGGERING"), ("ALGO_UPDATE", "TRIGGERED"), ("ORDER_TRADE_UPDATE", "NEW"),
        ("ORDER_TRADE_UPDATE", "TRADE"), ("ACCOUNT_UPDATE", "ORDER"), ("ALGO_UPDATE", "FINISHED"),
    ]  # fmt: skip
    triggered, child_new = outcome.events[1], outcome.events[2]
    assert isinstance(triggered, AlgoUpdate) and isinstance(child_new, OrderUpdate)
    assert triggered.algo.child_id == child_new.order.order_id == placed.child_id
    # TRIGGERED names the child, its figures at 0 (part 4 §4.3 item 10); FINISHED has them
    finished = outcome.events[-1]
    assert isinstance(finished, AlgoUpdate) and (triggered.child_executed, finished.child_executed) == ("", "0.001")
    db = sqlite3.connect(journal.path)
    (state,) = db.execute("SELECT state FROM venue_algo_orders WHERE algo_id = ?", (placed.algo_id,)).fetchone()
    assert msgspec.json.decode(state)["status"] == "FINISHED"
    (status,) = db.execute("SELECT status FROM venue_orders WHERE order_id = ?", (placed.child_id,)).fetchone()
    assert status == "FILLED"
    db.close()
    journal.close()


@pytest.mark.parametrize(
    ("sent", "code"),
    [
        (STOP | {"quantity": "abc"}, -1100),  # the parse's: malformed
        (STOP | {"type": "LIMIT"}, -1116),
        (STOP | {"triggerprice": "59000"}, -2021),  # the engine's: the mark is past it already
    ],
)
def test_a_refused_algo_order_journals_nothing(journal: SqliteJournal, sent: dict[str, str], code: int) -> None:
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), journal)
    commits = journal.commits
    with pytest.raises(RequestRefused) as refused:
        new_algo(engine, ALICE, sent, NOW)
    assert refused.value.code == code
    assert journal.commits == commits and engine.algos.every_order() == []
    assert engine.counts.current(ALICE, NOW)[0][2] == 1  # a refused order counts all the same
    journal.close()


@pytest.mark.parametrize(("market", "symbol", "codes"), [
    (Market.UM, "BTCUSDT", (-4183, -4184)), (Market.CM, "BTCUSD_PERP", (-4151, -4152)),
])  # fmt: skip
def test_a_stop_limit_beyond_its_triggers_band_is_refused_in_each_markets_code(
    market: Market, symbol: str, codes: tuple[int, int]
) -> None:
    listed = Listing(next(i for i in catalogue(market, NOW) if i.symbol == symbol))
    contract, f, tick = listed.contract, listed.filters, listed.inst.tick
    trigger = 1000 * tick * 100  # on the tick
    high = trigger * Fraction(f.multiplier_up)
    low = trigger * Fraction(f.multiplier_down)
    check_stop_limit(contract, f, True, int(high) // tick * tick, trigger)  # at the band: passes
    check_stop_limit(contract, f, False, -(-low.numerator // (low.denominator * tick)) * tick, trigger)
    check_stop_limit(contract, f, True, 1, trigger)  # a buy's limit far below its trigger waits: passes
    for buy, price, code in ((True, int(high) + tick, codes[0]), (False, int(low) - tick, codes[1])):
        with pytest.raises(RequestRefused) as refused:
            check_stop_limit(contract, f, buy, price, trigger)
        assert refused.value.code == code and refused.value.msg.startswith("Limit price can't be")


def test_a_refused_child_is_rejected_with_its_text_a_reduce_only_one_cancelled(journal: SqliteJournal) -> None:
    """Part 4 §3.7: REJECTED is the matching engine's denial (the margin check: its text in
    ``rm``); a reduce-only child with nothing to reduce is CANCELED, ``rm`` "Reduce Only
    reject", as the documented example shows."""
    book = Book()
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), book, Deposits(), journal)
    reducing, _ = new_algo(engine, ALICE, STOP | {"reduceonly": "true"}, NOW)  # no position to reduce
    too_big, _ = new_algo(engine, BOB, STOP | {"quantity": "0.010"}, NOW)  # bob's 10 USDT: no 610 at 20x
    book.marks["BTCUSDT"] = Fraction(61000)
    outcome = engine.apply(AlgoTriggers(()), NOW + 1)
    told = {e.algo.algo_id: e.algo for e in outcome.events if isinstance(e, AlgoUpdate)}
    assert (told[reducing.algo_id].status, told[reducing.algo_id].reason) == ("CANCELED", "Reduce Only reject")
    assert (told[too_big.algo_id].status, told[too_big.algo_id].reason) == ("REJECTED", "Margin is insufficient.")
    journal.close()


def _trades(*prices: str) -> tuple[StreamMessage, ...]:
    """One delivery's ``@aggTrade`` payloads on BTCUSDT, in order."""
    return tuple(
        StreamMessage("btcusdt@aggTrade", msgspec.json.encode({
            "e": "aggTrade", "E": NOW, "a": n, "s": "BTCUSDT", "p": price, "q": "0.001", "nq": "0.001",
            "f": n, "l": n, "T": NOW, "m": False,
        }))
        for n, price in enumerate(prices)
    )


def test_each_trade_of_a_delivery_is_the_latest_price_in_its_turn(journal: SqliteJournal) -> None:
    """Part 2 §4.2: a stop triggers on the price going through it, whichever trade of a
    delivery did; a trailing stop's best price is the delivery's best, then its callback."""
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), journal)
    engine.apply(AlgoTriggers(_trades("60000.00")), NOW)  # the last price, for -2021
    stop, _ = new_algo(engine, ALICE, STOP | {"side": "SELL", "triggerprice": "59000", "workingtype": ""}, NOW)
    trailing, _ = new_algo(engine, BOB, {"algotype": "CONDITIONAL", "symbol": "BTCUSDT", "side": "SELL",
                                         "type": "TRAILING_STOP_MARKET", "quantity": "0.001",
                                         "activateprice": "61000", "callbackrate": "1"}, NOW)  # fmt: skip
    outcome = engine.apply(AlgoTriggers(_trades("59100.00", "58990.00", "59050.00")), NOW + 1)
    assert stop.trigger_ms == NOW + 1  # through 59000 and back within the delivery: triggered
    assert next(e.algo.status for e in outcome.events if isinstance(e, AlgoUpdate)) == "TRIGGERING"
    assert (trailing.status, trailing.extreme) == ("NEW", 0)  # not activated yet
    engine.apply(AlgoTriggers(_trades("61000.00", "62000.00", "61300.00")), NOW + 2)
    # activated at 61000, best 62000, then 61300 under its 61380: all within the delivery
    assert trailing.trigger_ms == NOW + 2
    assert engine.algos.last_price("BTCUSDT") == 6_130_000  # the delivery's last trade
    journal.close()


class Halting(Book):
    """``Book`` whose followed book may have none in sync (``MarketData.halted``)."""

    def __init__(self) -> None:
        super().__init__()
        self.lost = False

    def halted(self, symbol: str) -> bool:
        return self.lost


def test_a_symbol_with_no_book_in_sync_takes_no_order_and_its_stops_wait(journal: SqliteJournal) -> None:
    """A book followed from elsewhere (a relay's upstream lost): a new order and a
    modification are HTTP 503 ``-1001`` (``placement.HALTED``), a cancel goes on, an algo
    order waits through a price that would trigger it, and triggers at the next one once the
    book is back."""
    book = Halting()
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), book, Deposits(), journal)
    engine.apply(AlgoTriggers(_trades("60000.00")), NOW)
    limit = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeinforce": "GTC", "quantity": "0.001",
             "price": "59000"}  # fmt: skip
    resting = new_order(engine, ALICE, limit, NOW).order
    assert resting is not None
    stop, _ = new_algo(engine, ALICE, STOP | {"side": "SELL", "triggerprice": "59000", "workingtype": ""}, NOW)
    book.lost = True
    moved = limit | {"orderid": str(resting.order_id), "price": "58000"}
    for call, params in ((new_order, limit), (amend_order, moved)):
        with pytest.raises(RequestRefused) as caught:
            call(engine, ALICE, params, NOW + 1)  # type: ignore[operator]
        refusal = caught.value
        assert (refusal.code, refusal.msg, refusal.status) == (
            -1001, "Internal error; unable to process your request. Please try again.", 503)  # fmt: skip
    engine.apply(AlgoTriggers(_trades("58900.00")), NOW + 2)
    assert stop.status == "NEW"  # waits for the book
    cancelled = cancel_order(engine, ALICE, {"symbol": "BTCUSDT", "orderid": str(resting.order_id)}, NOW + 3)
    assert cancelled.status.value == "CANCELED"
    book.lost = False
    engine.apply(AlgoTriggers(_trades("58950.00")), NOW + 4)
    assert stop.trigger_ms == NOW + 4
    journal.close()
