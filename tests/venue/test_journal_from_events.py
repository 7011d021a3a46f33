"""The journal is the events (``domain/events.Made``): every step puts what it makes into one
ordered list, the user data events and the journal's own records; the batch a command
journals is derived from that list alone, and the records never reach a user."""

from __future__ import annotations

from fractions import Fraction

from test_engine import ALICE, BOB, NOW, Book, Deposits, Kept

from tickerplant.market.instruments import Market, catalogue
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import Amend, Cancel, NewOrder, Place
from tickerplant.venue.domain.contract import Position
from tickerplant.venue.domain.events import (
    AccountUpdate,
    AlgoRow,
    Batch,
    Funded,
    Income,
    Made,
    MarginMove,
    ModeChange,
    OrderRow,
    OrderUpdate,
    PositionRow,
    Setting,
    Shown,
    WalletChange,
)
from tickerplant.venue.domain.orders import (
    Amendment,
    Fill,
    Order,
    OrderStatus,
    OrderType,
    PositionSide,
    Side,
    TimeInForce,
)
from tickerplant.venue.wire.settings_routes import set_leverage, set_margin_type

_RECORDS = (OrderRow, PositionRow, WalletChange, AlgoRow, Funded, Setting, ModeChange, Income, MarginMove, Amendment)


def _order(order_id: int, status: OrderStatus = OrderStatus.NEW) -> Order:
    return Order(ALICE, "BTCUSDT", order_id, f"c{order_id}", Side.BUY, OrderType.LIMIT, TimeInForce.GTC,
                 5_900_000, 10, False, 0, NOW, NOW, status)  # fmt: skip


def test_each_item_is_the_row_its_kind_says_and_a_fill_brings_its_wallet_change() -> None:
    fill = Fill(ALICE, "BTCUSDT", 7, 1, Side.BUY, 6_000_000, 10, 0, -25_000, 240_000, "USDT", False, NOW)
    made = Made()
    made.put(OrderUpdate(NOW, ALICE, "NEW", OrderStatus.NEW, _order(1), None, (0, 0)))  # no row of its own
    made.put(OrderUpdate(NOW, ALICE, "TRADE", OrderStatus.FILLED, _order(1, OrderStatus.FILLED), fill, (0, 0)))
    made.put(OrderRow(_order(1, OrderStatus.FILLED)))
    made.put(PositionRow(ALICE, "BTCUSDT", Position(amt=10, cost=60_000_000)))
    shown = (Shown(PositionSide.BOTH, 10, Fraction(60000), None, 0),)  # type: ignore[arg-type]
    made.put(AccountUpdate(NOW, ALICE, "ORDER", "USDT", 0, "BTCUSDT", 0, None, shown))
    made.put(WalletChange(BOB, "USDT", -5, NOW))
    made.put(Setting(ALICE, "BTCUSDT", 25, None))
    made.put(ModeChange(ALICE, hedge=True))
    made.put(Funded("BTCUSDT", NOW))
    income = Income(BOB, "BTCUSDT", "FUNDING_FEE", "USDT", -5, NOW, 3)
    made.put(income)
    batch = made.batch()
    assert batch.fills == [fill]
    assert batch.changes == [(ALICE, "USDT", -25_000 - 240_000, NOW), (BOB, "USDT", -5, NOW)]  # realized − fee
    assert [(o.order_id, o.status) for o in batch.orders] == [(1, OrderStatus.FILLED)]
    assert [(a, s, p.amt) for a, s, p in batch.positions] == [(ALICE, "BTCUSDT", 10)]
    assert batch.settings == [Setting(ALICE, "BTCUSDT", 25, None)] and batch.modes == [ModeChange(ALICE, hedge=True)]
    assert batch.funded == [("BTCUSDT", NOW)] and batch.incomes == [income]
    assert [type(e).__name__ for e in made.events] == ["OrderUpdate", "OrderUpdate", "AccountUpdate"]
    assert not Made().batch()  # nothing made: nothing to journal


def test_a_command_that_changed_only_orders_journals_their_rows_and_no_other_table() -> None:
    moved = Amendment(ALICE, "BTCUSDT", 1, 1, "c1", NOW, 5_900_000, 5_910_000, 10, 10, 1, None)
    made = Made()
    made.put(OrderUpdate(NOW, ALICE, "AMENDMENT", OrderStatus.NEW, _order(1), None, (0, 0)))
    made.put(moved)
    made.put(OrderRow(_order(1)))
    made.put(OrderRow(_order(2, OrderStatus.CANCELED)))
    batch = made.batch()
    assert [(o.order_id, o.status) for o in batch.orders] == [(1, OrderStatus.NEW), (2, OrderStatus.CANCELED)]
    assert list(batch.amendments) == [moved]
    assert not (batch.fills or batch.positions or batch.changes or batch.settings or batch.incomes
                or batch.algos or batch.margin_moves or batch.modes or batch.funded)  # fmt: skip
    made.put(Funded("BTCUSDT", NOW))  # one more table: the same rows, and its own
    every = made.batch()
    assert (every.orders, list(every.amendments), list(every.funded)) == (batch.orders, [moved], [("BTCUSDT", NOW)])
    # a table the batch of orders alone does not write is the one shared empty tuple, not a
    # list of its own
    assert batch.market is None and batch.fills == () and batch.fills is Batch([]).fills


def test_withdrawn_items_are_put_again_after_the_one_that_comes_first() -> None:
    made = Made()
    made.put(Funded("A", 1))
    mark = made.mark()
    made.put(Funded("B", 2))
    made.put(Funded("C", 3))
    taken = made.withdraw(mark)
    made.put(Funded("D", 4))
    for item in taken:
        made.put(item)
    assert made.batch().funded == [("A", 1), ("D", 4), ("B", 2), ("C", 3)]


def test_a_sessions_journal_is_what_its_events_and_records_say_and_no_user_sees_a_record() -> None:
    """Per command, the batch committed holds exactly the fills the outcome's
    ``ORDER_TRADE_UPDATE``s carry, each with its wallet change, and the user data stream
    (``outbox``) gets the outcome's events, never a record."""
    book, journal = Book(), Kept()
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), book, Deposits(), journal)
    now = NOW
    set_leverage(engine, ALICE, "BTCUSDT", 10, now)
    set_margin_type(engine, ALICE, "BTCUSDT", "ISOLATED", now)
    inst = engine.instruments["BTCUSDT"]

    def new(side: Side, kind: OrderType, tif: TimeInForce, price: int, qty: int) -> Place:
        return Place(ALICE, NewOrder(inst, side, kind, tif, price, qty, False, None, False, 0, "NONE", "NONE"))

    first = engine.apply(new(Side.BUY, OrderType.LIMIT, TimeInForce.GTC, 5_900_000, 10), now).order
    assert first is not None
    commands = [
        new(Side.BUY, OrderType.MARKET, TimeInForce.GTC, 0, 500),  # takes 60000.00
        new(Side.SELL, OrderType.LIMIT, TimeInForce.IOC, 5_999_800, 200),  # takes 59999.00
        Amend(ALICE, "BTCUSDT", first.order_id, None, Side.BUY, 20, 5_910_000),
        Cancel(ALICE, "BTCUSDT", first.order_id, None),
    ]
    engine.outbox.take()
    for command in commands:
        now += 10
        before = len(journal.batches)
        outcome = engine.apply(command, now)
        fills = [e.fill for e in outcome.events if isinstance(e, OrderUpdate) and e.fill is not None]
        (batch,) = journal.batches[before:]
        assert list(batch.fills) == fills
        for fill in fills:
            assert (fill.account_id, "USDT", fill.realized_pnl - fill.commission, fill.time_ms) in batch.changes
        delivered = engine.outbox.take()
        assert tuple(delivered) == outcome.events and not any(isinstance(e, _RECORDS) for e in delivered)
        assert batch.orders  # each of these commands left an order's row
    assert any(b.fills for b in journal.batches) and any(b.positions for b in journal.batches)
    assert any(b.margin_moves for b in journal.batches) and any(b.settings for b in journal.batches)
    assert any(b.amendments for b in journal.batches)  # the modification's row


def test_the_batch_type_is_the_journals_rows_only() -> None:
    assert not Batch() and Batch(funded=[("BTCUSDT", NOW)])
