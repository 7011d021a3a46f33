"""An order's journal row and its placement answer, as written on every order placed or
cancelled: the same row and the same bytes whatever they are read with."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import msgspec
import pytest

from tickerplant.market.instruments import Market, catalogue
from tickerplant.venue.domain.events import Batch
from tickerplant.venue.domain.orders import (
    Order,
    OrderStatus,
    OrderType,
    PositionSide,
    Side,
    TimeInForce,
    Trigger,
)
from tickerplant.venue.journal.rows import ORDER_COLUMNS, order_from_row, order_row
from tickerplant.venue.journal.schema import prepare
from tickerplant.venue.journal.sqlite_journal import SqliteJournal
from tickerplant.venue.journal.writes import ORDER_UPSERT
from tickerplant.venue.payloads.order_payloads import placed

NOW = 1_764_170_000_000


def _order(**changed: object) -> Order:
    o = Order(
        7,
        "BTCUSDT",
        42,
        "p1",
        Side.BUY,
        OrderType.LIMIT,
        TimeInForce.GTC,
        8_512_340,
        1,
        False,
        0,
        NOW,
        NOW + 1,
    )
    for name, value in changed.items():
        setattr(o, name, value)
    return o


def _stored(row: tuple[object, ...]) -> list[tuple[object, ...]]:
    db = sqlite3.connect(":memory:", isolation_level=None)
    prepare(db)
    db.execute(ORDER_UPSERT, row)
    columns = [c.strip() for c in ORDER_COLUMNS.split(",")]
    return db.execute(
        f"SELECT {', '.join(f'{c}, typeof({c})' for c in columns)} FROM venue_orders"
    ).fetchall()


def test_an_orders_row_is_its_fields_enum_values_and_the_int_sqlite_stores_for_a_bool() -> None:
    combos = itertools.product(Side, OrderType, TimeInForce, OrderStatus, PositionSide, (False, True))
    for side, kind, tif, status, position_side, reduce_only in combos:
        o = _order(side=side, type=kind, time_in_force=tif, status=status, position_side=position_side,
                   reduce_only=reduce_only)  # fmt: skip
        row = order_row(o)
        assert row == (
            o.symbol, o.order_id, o.account_id, o.client_order_id, side.value, kind.value, tif.value,
            o.price, o.orig_qty, reduce_only, o.good_till_ms, o.time_ms, o.update_ms, status.value,
            o.executed_qty, o.cum_quote, o.cum_base, o.queue_ahead, o.price_match, o.stp_mode,
            o.amendments, position_side.value, o.arrival_mid_x2, str(o.cum_base_fine), "", o.rested,
        )  # fmt: skip
        assert all(type(value) in (int, str) for value in row)  # bound without an adapter's lookup
        back = order_from_row(row)
        assert msgspec.structs.astuple(back) == msgspec.structs.astuple(o)
    # a legacy conditional order's trigger, as JSON, and back (``algo/legacy.py``)
    for triggered in (0, 9):
        trigger = Trigger("TRAILING_STOP_MARKET", 0, "MARK_PRICE", True, False, 6_000_000, "1.5", 7, triggered)
        o = _order(trigger=trigger)
        assert order_row(o)[-2] == f'["TRAILING_STOP_MARKET",0,"MARK_PRICE",true,false,6000000,"1.5",7,{triggered}]'
        assert order_from_row(order_row(o)).trigger == trigger
    # stored as the bool itself was: 1 and 0, integers
    for reduce_only in (False, True):
        as_bool = (*order_row(_order())[:9], reduce_only, *order_row(_order())[10:])
        assert _stored(order_row(_order(reduce_only=reduce_only))) == _stored(as_bool)


def test_a_placement_answer_is_binances_bytes() -> None:
    um = next(i for i in catalogue(Market.UM, NOW) if i.symbol == "BTCUSDT")
    cm = next(i for i in catalogue(Market.CM, NOW) if i.symbol == "BTCUSD_PERP")
    assert msgspec.json.encode(placed(_order(), um)) == (
        b'{"orderId":42,"symbol":"BTCUSDT","status":"NEW","clientOrderId":"p1","price":"85123.40",'
        b'"origQty":"0.001","executedQty":"0.000","cumQty":"0.000","timeInForce":"GTC","type":"LIMIT",'
        b'"reduceOnly":false,"closePosition":false,"side":"BUY","positionSide":"BOTH","stopPrice":"0.00",'
        b'"workingType":"CONTRACT_PRICE","priceProtect":false,"origType":"LIMIT","priceMatch":"NONE",'
        b'"selfTradePreventionMode":"NONE","goodTillDate":0,"updateTime":1764170000001}'
    )
    market = _order(symbol="BTCUSD_PERP", type=OrderType.MARKET, side=Side.SELL, status=OrderStatus.FILLED,
                    executed_qty=1, position_side=PositionSide.SHORT, reduce_only=True)  # fmt: skip
    assert msgspec.json.encode(placed(market, cm)) == (
        b'{"orderId":42,"symbol":"BTCUSD_PERP","pair":"BTCUSD","status":"FILLED","clientOrderId":"p1",'
        b'"price":"0","origQty":"1","executedQty":"1","cumQty":"1","timeInForce":"GTC","type":"MARKET",'
        b'"reduceOnly":true,"closePosition":false,"side":"SELL","positionSide":"SHORT","stopPrice":"0.0",'
        b'"workingType":"CONTRACT_PRICE","priceProtect":false,"origType":"MARKET","priceMatch":"NONE",'
        b'"selfTradePreventionMode":"NONE","updateTime":1764170000001}'
    )


def test_a_staged_orders_row_is_written_once_and_its_identity_kept(tmp_path: Path) -> None:
    path = tmp_path / "venue.db"
    sqlite3.connect(path).close()
    journal = SqliteJournal(path)
    journal.stage(Batch(orders=[_order()]))  # one order's row: alone
    journal.stage(Batch(orders=[_order(order_id=43), _order(order_id=44)]))  # two: together
    journal.stage(Batch(orders=[_order(status=OrderStatus.CANCELED, update_ms=NOW + 2)]))
    with pytest.raises(sqlite3.IntegrityError):  # its client id changed: a bug, refused
        journal.stage(Batch(orders=[_order(client_order_id="p2")]))
    journal.commit_staged()
    db = journal.reader()
    assert db is not None
    rows = db.execute("SELECT order_id, client_order_id, status, update_ms FROM venue_orders").fetchall()
    assert rows == [(42, "p1", "CANCELED", NOW + 2), (43, "p1", "NEW", NOW + 1), (44, "p1", "NEW", NOW + 1)]
    journal.close()
