"""Modifying an order without sockets (part 2 §5), on test_engine's book by hand, and the
batch lists parsed as python-binance sends them (part 2 §7)."""

from __future__ import annotations

from fractions import Fraction
from types import SimpleNamespace

import pytest
from test_engine import ALICE, NOW, Book, Kept, book, engine, journal, order  # noqa: F401

from tickerplant.market.instruments import MAX_MOVE_ORDER_LIMIT
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.events import OrderUpdate
from tickerplant.venue.domain.orders import OrderStatus
from tickerplant.venue.wire import batches
from tickerplant.venue.wire.amendments import amendments
from tickerplant.venue.wire.order_entry import amend_order, new_order


def rest(engine: Engine, **params: str) -> int:  # noqa: F811
    placed = new_order(engine, ALICE, order(**params), NOW)
    assert placed.order is not None and placed.order.status is OrderStatus.NEW
    engine.outbox.take()
    return placed.order.order_id


def change(engine: Engine, order_id: int, qty: str, price: str, side: str = "BUY") -> object:  # noqa: F811
    params = {"symbol": "BTCUSDT", "orderid": str(order_id), "side": side, "quantity": qty, "price": price}
    return amend_order(engine, ALICE, params, NOW + 1)[0]


def code(call: object, *args: object) -> int:
    with pytest.raises(RequestRefused) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value.code


def test_a_change_keeps_the_order_and_loses_its_place(engine: Engine, journal: Kept) -> None:  # noqa: F811
    order_id = rest(engine, quantity="0.001", price="59990.00")
    changed = change(engine, order_id, "0.002", "59998.00")
    assert (changed.order_id, changed.orig_qty, changed.price, changed.status) == (  # type: ignore[attr-defined]
        order_id, 2, 5_999_800, OrderStatus.NEW,
    )  # fmt: skip
    assert changed.queue_ahead == 2000  # type: ignore[attr-defined]  # behind what rests at its new price
    (amended,) = engine.outbox.take()
    assert isinstance(amended, OrderUpdate) and amended.execution == "AMENDMENT"
    assert journal.batches[-1].orders[0].price == 5_999_800
    assert code(change, engine, order_id, "0.002", "59998.00") == -5027  # nothing to change
    assert code(change, engine, order_id, "0.002", "59998.00", "SELL") == -1117
    assert code(change, engine, order_id, "0.002", "59998.005") == -1111  # precision, as a new order's
    assert code(change, engine, 999, "0.002", "59998.00") == -2013


def test_a_changes_refusals_come_in_a_new_orders_order(engine: Engine) -> None:  # noqa: F811
    """The side's text first, then the quantity and the price as read, then the filters, and
    only then the order and the side against the order's (``order_params.parse_amended``)."""
    order_id = rest(engine, quantity="0.001", price="59990.00")
    assert code(change, engine, order_id, "", "59998.00", "HOLD") == -1117  # before the missing quantity
    assert code(change, engine, order_id, "", "59998.00", "SELL") == -1102
    assert code(change, engine, order_id, "0.002", "", "SELL") == -1102
    assert code(change, engine, order_id, "0.0021", "59998.00", "SELL") == -1111
    assert code(change, engine, order_id, "0.002", "59998.01", "SELL") == -4014  # the tick is 0.10
    assert code(change, engine, order_id, "0", "59998.00") == -4003
    # the parameters before the order (part 1 §10: step 10 before step 11)
    assert code(change, engine, 999, "1e999", "59998.00") == -1100
    assert code(change, engine, 999, "0.002", "59998.01") == -4014
    assert code(change, engine, 999, "0.002", "59998.00") == -2013


def test_a_change_that_crosses_takes_and_a_post_only_one_is_cancelled(engine: Engine) -> None:  # noqa: F811
    order_id = rest(engine, quantity="0.001", price="59990.00")
    filled = change(engine, order_id, "0.001", "60000.00")
    assert filled.status is OrderStatus.FILLED  # type: ignore[attr-defined]
    kinds = [e.execution for e in engine.outbox.take() if isinstance(e, OrderUpdate)]
    assert kinds == ["AMENDMENT", "TRADE"]
    maker = rest(engine, quantity="0.001", price="59990.00", timeInForce="GTX")
    assert change(engine, maker, "0.001", "60000.00").status is OrderStatus.CANCELED  # type: ignore[attr-defined]


def test_batch_lists_as_clients_send_them() -> None:
    sent = '[{"symbol": "BTCUSDT", "quantity": 0.001, "price": 60000, "reduceOnly": False, "side": "BUY"}]'
    (item,) = batches.elements({"batchorders": sent})
    assert item == {"symbol": "BTCUSDT", "quantity": "0.001", "price": "60000", "reduceonly": "false", "side": "BUY"}
    kept = '[{"newClientOrderId": "a-True-b", "x": "say \\"False\\"", "reduceOnly": True}]'  # words in strings
    assert batches.elements({"batchorders": kept}) == [
        {"newclientorderid": "a-True-b", "x": 'say "False"', "reduceonly": "true"}
    ]
    assert batches.elements({"batchorders": '[{"price": 1e-05}]'}) == [{"price": "0.00001"}]
    # null is as if not sent (the order parser reads every parameter sent: "None" is no decimal)
    assert batches.elements({"batchorders": '[{"price": "1", "stopPrice": null}]'}) == [
        {"price": "1"}]  # fmt: skip
    for bad in ("[]", "{}", "not json", '[{"a": 1}]' * 2, str([{"a": 1}] * 6).replace("'", '"')):
        with pytest.raises(RequestRefused):
            batches.elements({"batchorders": bad})
    assert batches.id_list({"orderidlist": "[1,2]"}, "orderIdList") == [1, 2]
    assert batches.id_list({}, "orderIdList") is None
    # numbers or quoted strings (part 5 §3 row 7: JavaScript clients' 64-bit ids)
    assert batches.id_list({"orderidlist": '["1", 2]'}, "orderIdList") == [1, 2]
    for bad in ('["1.5"]', '["x"]', '[true]', '["-1"]', '["' + "9" * 20 + '"]'):
        with pytest.raises(RequestRefused):
            batches.id_list({"orderidlist": bad}, "orderIdList")
    with pytest.raises(RequestRefused) as caught:  # more than 10 (part 2 §7)
        batches.id_list({"orderidlist": str(list(range(11)))}, "orderIdList")
    assert (caught.value.code, caught.value.msg) == (-4032, "Exceed maximum cancel order size.")
    with pytest.raises(RequestRefused) as caught:  # a modification batch: -4082's one text
        batches.elements({"batchorders": "[]"})
    assert (caught.value.code, caught.value.msg) == (-4082, "Invalid number of batch place orders.")


def test_each_change_is_an_order_amendment_row(engine: Engine, journal: Kept) -> None:  # noqa: F811
    order_id = rest(engine, quantity="0.001", price="59990.00")
    change(engine, order_id, "0.002", "59998.00")
    params = {"symbol": "BTCUSDT", "orderid": str(order_id), "side": "BUY", "quantity": "0.002",
              "price": "59997.50", "modifyid": "123"}  # fmt: skip
    amend_order(engine, ALICE, params, NOW + 2)
    assert journal.batches[-1].amendments[0].nth == 2
    alice = SimpleNamespace(account_id=ALICE)
    asked = SimpleNamespace(account=alice, params={"symbol": "BTCUSDT", "orderid": str(order_id)})
    rows = amendments(engine, asked, NOW + 3)  # type: ignore[arg-type]
    assert rows == [
        {"amendmentId": 1, "symbol": "BTCUSDT", "pair": "BTCUSDT", "orderId": order_id,
         "clientOrderId": rows[0]["clientOrderId"], "time": NOW + 1,
         "amendment": {"price": {"before": "59990", "after": "59998"}, "origQty": {"before": "0.001", "after": "0.002"},
                       "count": 1}},
        {"amendmentId": 2, "symbol": "BTCUSDT", "pair": "BTCUSDT", "orderId": order_id,
         "clientOrderId": rows[0]["clientOrderId"], "time": NOW + 2,
         "amendment": {"price": {"before": "59998", "after": "59997.5"}, "origQty": {"before": "0.002", "after": "0.002"},
                       "count": 2, "modifyId": 123}},
    ]  # fmt: skip
    asked.params |= {"limit": "1"}
    assert [r["amendmentId"] for r in amendments(engine, asked, NOW + 3)] == [2]  # type: ignore[arg-type]
    asked.params = {"symbol": "BTCUSDT", "orderid": "999"}
    assert code(amendments, engine, asked, NOW + 3) == -2013


def test_a_change_is_margined_as_the_new_order_it_becomes(engine: Engine, journal: Kept) -> None:  # noqa: F811
    """BOB has 10 USDT at 20x (mark 60000). His buy of 0.003 at 50000 holds 7.50; moved to
    59000 it holds 8.85, at the same quantity (no quantity added); moved to 61000 it would
    hold 9.15 of initial margin and 3.00 of open loss against the mark: 12.15, more than he
    has. -2019, the order left as it was; a new order of the same would be refused alike."""
    from test_engine import BOB

    def bob(quantity: str, price: str, order_id: int | None = None) -> object:
        if order_id is None:
            return new_order(engine, BOB, order(quantity=quantity, price=price), NOW).order
        params = {"symbol": "BTCUSDT", "orderid": str(order_id), "side": "BUY", "quantity": quantity, "price": price}
        return amend_order(engine, BOB, params, NOW + 1)[0]

    placed = bob("0.003", "50000.00")
    order_id = placed.order_id  # type: ignore[attr-defined]
    assert bob("0.003", "59000.00", order_id).price == 5_900_000  # type: ignore[attr-defined]
    committed = len(journal.batches)
    assert code(bob, "0.003", "61000.00", order_id) == -2019  # the price alone raises the margin
    assert code(bob, "0.003", "61000.00") == -2019  # as a new order of the same
    assert len(journal.batches) == committed  # nothing journaled
    kept = engine.open_orders(BOB, "BTCUSDT")
    assert [(o.order_id, o.price, o.orig_qty) for o in kept] == [(order_id, 5_900_000, 3)]
    assert bob("0.002", "60000.00", order_id).orig_qty == 2  # type: ignore[attr-defined]  # less: within 10


def test_reduce_only_on_a_change_is_a_check_alone(engine: Engine, book: Book) -> None:  # noqa: F811
    """USDⓈ-M's ``reduceOnly`` on ``PUT …/order`` since 2026-09-15 (part 2 §1, §5): the
    original order must be reduce-only (-5047), and then MIN_NOTIONAL is not checked."""
    plain = rest(engine, quantity="0.010", price="59990.00")

    def flagged(order_id: int, qty: str, price: str, side: str = "BUY", flag: str = "true") -> object:
        params = {"symbol": "BTCUSDT", "orderid": str(order_id), "side": side, "quantity": qty, "price": price,
                  "reduceonly": flag}  # fmt: skip
        return amend_order(engine, ALICE, params, NOW + 1)[0]

    with pytest.raises(RequestRefused) as caught:
        flagged(plain, "0.011", "59990.00")
    assert (caught.value.code, caught.value.msg) == (-5047, "The original order is not a reduce-only order.")
    assert code(flagged, plain, "0.011", "59990.00", "BUY", "maybe") == -1130
    assert flagged(plain, "0.011", "59990.00", "BUY", "false").orig_qty == 11  # type: ignore[attr-defined]
    new_order(engine, ALICE, order(side="SELL", type="MARKET", timeinforce="", quantity="0.010"), NOW)  # a short
    book.marks["BTCUSDT"] = Fraction(40000)  # a buy far under the asks, inside PERCENT_PRICE
    closing = rest(engine, quantity="0.010", price="40000.00", reduceonly="true")
    assert code(change, engine, closing, "0.001", "40000.00") == -5029  # 40 USDT: under BTCUSDT's 50
    changed = flagged(closing, "0.001", "40000.00")  # said reduce-only, and it is: not checked
    assert changed.orig_qty == 1 and changed.reduce_only  # type: ignore[attr-defined]


def test_a_change_priced_by_price_match(engine: Engine) -> None:  # noqa: F811
    """USDⓈ-M's ``price`` is optional on ``PUT …/order`` since 2026-04-21, for ``priceMatch``
    (part 2 §5's table): the book prices the change; not with ``price`` (-1106); a mode not
    known -5037; the order then shows the mode."""
    order_id = rest(engine, quantity="0.001", price="59990.00")

    def matched(match: str, price: str = "") -> object:
        params = {"symbol": "BTCUSDT", "orderid": str(order_id), "side": "BUY", "quantity": "0.001",
                  "pricematch": match, "price": price}  # fmt: skip
        return amend_order(engine, ALICE, params, NOW + 1)[0]

    assert code(matched, "QUEUE", "59990.00") == -1106
    no_quantity = {"symbol": "BTCUSDT", "orderid": str(order_id), "side": "BUY", "pricematch": "QUEUE", "price": "1"}
    assert code(amend_order, engine, ALICE, no_quantity, NOW + 1) == -1102  # presence before the combination
    unknown = {"symbol": "BTCUSDT", "orderid": "999", "side": "BUY", "quantity": "0.001", "pricematch": "QUEUE_5"}
    assert code(amend_order, engine, ALICE, unknown, NOW + 1) == -2013  # the order before the book's fifth level
    assert code(matched, "BOGUS") == -5037
    changed = matched("QUEUE")  # the best bid: 59999.00
    assert (changed.price, changed.price_match) == (5_999_900, "QUEUE")  # type: ignore[attr-defined]
    assert code(matched, "QUEUE") == -5027  # the same price, mode and quantity: nothing to change
    assert code(matched, "QUEUE_5") == -5041  # two bids: no fifth
    back = change(engine, order_id, "0.001", "59990.00")  # a price sent: no mode any more
    assert (back.price, back.price_match) == (5_999_000, "NONE")  # type: ignore[attr-defined]


def test_an_order_takes_max_move_order_limit_modifications_and_no_more(engine: Engine) -> None:  # noqa: F811
    """Part 2 §5: "fewer than 10 000 modifications per order", exchangeInfo's
    ``maxMoveOrderLimit``: that many are taken (each its ``orderAmendment`` count), the next is
    ``-5026`` "Exceed maximum modify order limit." (COIN-M ``-4198``); the order stands."""
    order_id = rest(engine, quantity="0.001", price="59990.00")
    params = {"symbol": "BTCUSDT", "orderid": str(order_id), "side": "BUY", "quantity": "0.001"}
    for n in range(1, MAX_MOVE_ORDER_LIMIT + 1):  # 60 ms apart: within the order-rate limits
        amend_order(engine, ALICE, params | {"price": ("59991.00", "59992.00")[n % 2]}, NOW + 60 * n)
    engine.outbox.take()
    with pytest.raises(RequestRefused) as caught:
        amend_order(engine, ALICE, params | {"price": "59993.00"}, NOW + 60 * (MAX_MOVE_ORDER_LIMIT + 1))
    assert (caught.value.code, caught.value.msg) == (-5026, "Exceed maximum modify order limit.")
    (kept,) = engine.open_orders(ALICE, "BTCUSDT")
    assert (kept.amendments, kept.price, kept.status) == (MAX_MOVE_ORDER_LIMIT, 5_999_100, OrderStatus.NEW)
