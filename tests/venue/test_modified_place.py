"""A modified order loses its place (trading spec part 2 §5): it joins the back of the level at
its new price, behind the venue's orders already resting there, in an observed market (a
replay's or relay's: the public trades fill the venue's orders at a price first come first),
in the simulator's one book, and after a restart from the journal in both (``Order.rested``).

Before, an observed market's trade filled the venue's orders at a price by id, so a modified
order kept the place of its first placement ahead of older orders; and a restart put every
order back by id, so in the one book too a modified order came back ahead of them."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import msgspec
import pytest
from test_engine import ALICE, BOB, NOW, Book
from test_engine import Deposits as TwoAccounts
from test_reference_oracle import Deposits, FixedBook, instruments, published

from tickerplant.clock import SystemClock
from tickerplant.market.instruments import Instrument, Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import Amend, NewOrder, Place, Trades
from tickerplant.venue.domain.money import parse_amount
from tickerplant.venue.domain.orders import OrderStatus, OrderType, Side, TimeInForce
from tickerplant.venue.journal.sqlite_journal import SqliteJournal


@pytest.fixture
def path(tmp_path: Path) -> Path:
    store = AccountStore(tmp_path / "venue.db")
    store.create_account("alice", [(Market.UM, "USDT", parse_amount("10000"))], SystemClock().now_ms())
    store.close()
    return tmp_path / "venue.db"


def _buy(engine: Engine, inst: Instrument, price: int, client_id: str, now_ms: int, account: int = ALICE) -> int:
    new = NewOrder(inst, Side.BUY, OrderType.LIMIT, TimeInForce.GTC, price, 1, False, client_id, False, 0, "NONE",
                   "NONE")  # fmt: skip
    placed = engine.apply(Place(account, new), now_ms).order
    assert placed is not None and placed.status is OrderStatus.NEW
    return placed.order_id


def _statuses(engine: Engine, account: int = ALICE) -> dict[str, str]:
    return {o.client_order_id: o.status.value for o in engine.orders(account, "BTCUSDT")}


@pytest.mark.parametrize("restarted", [False, True])
def test_an_observed_markets_trade_fills_a_modified_order_after_the_older_ones_at_its_price(
    path: Path, restarted: bool
) -> None:
    journal = SqliteJournal(path)
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), TwoAccounts(), journal)
    inst = engine.instruments["BTCUSDT"]
    first = _buy(engine, inst, 5_900_000, "first", NOW)  # 59000.00: id 1
    _buy(engine, inst, 5_950_000, "second", NOW + 1)  # 59500.00, before the first comes there
    engine.apply(Amend(ALICE, "BTCUSDT", first, None, Side.BUY, 1, 5_950_000), NOW + 2)
    if restarted:
        journal.close()
        engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), TwoAccounts(), SqliteJournal(path))
        SqliteJournal(path).load(engine)
    # a seller takes 0.001 at 59500.00, where nothing of the public book rests: one of the two
    trade = {"e": "aggTrade", "E": NOW + 9, "a": 1, "s": "BTCUSDT", "p": "59500.00", "q": "0.001", "nq": "0",
             "f": 1, "l": 1, "T": NOW + 9, "m": True}  # fmt: skip
    engine.apply(Trades((StreamMessage("btcusdt@aggTrade", msgspec.json.encode(trade)),)), NOW + 10)
    assert _statuses(engine) == {"first": "NEW", "second": "FILLED"}


def test_the_one_book_keeps_a_modified_orders_place_behind_the_older_ones_through_a_restart(path: Path) -> None:
    listed = instruments()
    marks = {i.symbol: Fraction(i.initial_price // i.tick * i.tick, 10**i.price_decimals) for i in listed}

    def venue(journal: SqliteJournal) -> Engine:
        book = FixedBook({i.symbol: published(i) for i in listed}, marks)
        return Engine(Market.UM, listed, book, Deposits(), journal, book=book)

    journal = SqliteJournal(path)
    engine = venue(journal)
    inst = engine.instruments["BTCUSDT"]
    best = max(engine.data.levels("BTCUSDT", True))[0]  # the book's levels are 5 ticks apart
    near, far = best - inst.tick, best - 2 * inst.tick  # where only the venue's orders rest
    first = _buy(engine, inst, near, "first", NOW)
    _buy(engine, inst, far, "second", NOW + 1)
    engine.apply(Amend(ALICE, "BTCUSDT", first, None, Side.BUY, 1, far), NOW + 2)
    journal.close()
    engine = venue(SqliteJournal(path))
    SqliteJournal(path).load(engine)
    # another account sells down to the far price: the best level whole, then one of the two
    top = dict(engine.data.levels("BTCUSDT", True))[best]
    sell = NewOrder(inst, Side.SELL, OrderType.LIMIT, TimeInForce.IOC, far, top + 1, False, None, False, 0, "NONE",
                    "NONE")  # fmt: skip
    engine.apply(Place(BOB, sell), NOW + 10)
    assert _statuses(engine) == {"first": "NEW", "second": "FILLED"}
