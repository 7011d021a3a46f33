"""Decision 1's ``--legacy-conditional-orders`` without sockets (``algo/legacy.py``): a
conditional order on ``…/v1/order`` is one order from placement to fill, its events an
order's, its reads an order's, kept through a restart."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from test_engine import ALICE, BOB, Book, Deposits, Kept

from tickerplant.market.instruments import Market, catalogue
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.book.ports import Journal
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import AlgoTriggers, ExpireGoodTill
from tickerplant.venue.domain.events import AlgoUpdate, OrderUpdate
from tickerplant.venue.domain.orders import OrderStatus
from tickerplant.venue.journal.sqlite_journal import SqliteJournal
from tickerplant.venue.payloads.order_payloads import placed, read
from tickerplant.venue.wire.order_entry import amend_order, cancel_all, cancel_order, new_order

NOW = 1_790_000_000_000


def engine(journal: Journal | None = None, legacy: bool = True) -> tuple[Engine, Book]:
    market = Book()
    made = Engine(Market.UM, catalogue(Market.UM, NOW), market, Deposits(), journal or Kept())
    made.legacy_conditional = legacy
    return made, market


def stop(**more: str) -> dict[str, str]:
    base = {"symbol": "BTCUSDT", "side": "BUY", "type": "STOP_MARKET", "quantity": "0.001",
            "stopprice": "60500.00", "workingtype": "MARK_PRICE"}  # fmt: skip
    return base | {k.lower(): v for k, v in more.items()}


def code(call: object, *args: object) -> int:
    with pytest.raises(RequestRefused) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value.code


def told(venue: Engine) -> list[tuple[str, str, str, int]]:
    """The events since the last look: (kind, execution, type as told, order id)."""
    made = []
    for event in venue.outbox.take():
        if isinstance(event, OrderUpdate):
            made.append(("ORDER", event.execution, event.order.shown_type, event.order.order_id))
        elif isinstance(event, AlgoUpdate):
            made.append(("ALGO", event.algo.status, event.algo.type, event.algo.algo_id))
    return made


def test_without_the_setting_a_conditional_type_is_refused_4120() -> None:
    venue, _ = engine(legacy=False)
    assert code(new_order, venue, ALICE, stop(), NOW) == -4120


def test_a_stop_market_is_one_order_from_placement_to_fill() -> None:
    venue, market = engine()
    first_id = venue.next_order_id["BTCUSDT"]
    order = new_order(venue, ALICE, stop(newClientOrderId="my-stop"), NOW).order
    assert order is not None and order.order_id == first_id  # an order id, of its symbol's sequence
    body = placed(order, venue.instruments["BTCUSDT"])
    assert (body["status"], body["type"], body["origType"], body["stopPrice"], body["workingType"]) == (
        "NEW", "STOP_MARKET", "STOP_MARKET", "60500.00", "MARK_PRICE",
    )  # fmt: skip
    assert body["clientOrderId"] == "my-stop" and body["price"] == "0"
    assert told(venue) == [("ORDER", "NEW", "STOP_MARKET", first_id)]  # no ALGO_UPDATE
    assert venue.open_orders(ALICE, "BTCUSDT") == [order] and venue.open_orders(ALICE, None) == [order]
    assert venue.find(ALICE, "BTCUSDT", None, "my-stop") is order
    assert venue.algos.open_orders(ALICE, with_legacy=False) == []  # not the algo endpoints'
    # nothing reserved (decision 7): the account's open-order figures are as before
    assert list(venue.seat(ALICE, "BTCUSDT").values) == [0, 0]
    modify = {"symbol": "BTCUSDT", "orderid": str(first_id), "side": "BUY", "quantity": "0.002", "price": "60000"}
    assert code(amend_order, venue, ALICE, modify, NOW) == -5025  # only a LIMIT may be modified
    # the mark reaches its stop price: it expires as the order it becomes is placed, same id
    market.marks["BTCUSDT"] = Fraction(60500)
    venue.apply(AlgoTriggers(()), NOW + 1_000)
    events = told(venue)
    assert events[:2] == [("ORDER", "EXPIRED", "STOP_MARKET", first_id), ("ORDER", "NEW", "MARKET", first_id)]
    assert events[-1] == ("ORDER", "TRADE", "MARKET", first_id)
    done = venue.find(ALICE, "BTCUSDT", first_id, None)
    assert done is not None and done.status is OrderStatus.FILLED
    row = read(done, venue.instruments["BTCUSDT"])
    assert (row["type"], row["origType"], row["stopPrice"], row["status"]) == (
        "MARKET", "STOP_MARKET", "60500.00", "FILLED",
    )  # fmt: skip
    assert row["time"] == NOW and row["updateTime"] == NOW + 1_000 and row["clientOrderId"] == "my-stop"
    assert venue.next_order_id["BTCUSDT"] == first_id + 1  # the id was the one it kept
    assert venue.open_orders(ALICE, None) == []


def test_a_waiting_order_is_cancelled_as_an_order_and_by_cancel_all() -> None:
    venue, _ = engine()
    one = new_order(venue, ALICE, stop(), NOW).order
    two = new_order(venue, ALICE, stop(type="TAKE_PROFIT", price="59000.00", stopPrice="59500.00",
                                      timeInForce="GTC"), NOW).order  # fmt: skip
    assert one is not None and two is not None
    told(venue)
    gone = cancel_order(venue, ALICE, {"symbol": "BTCUSDT", "orderid": str(one.order_id)}, NOW + 1)
    assert gone.status is OrderStatus.CANCELED and placed(gone, venue.instruments["BTCUSDT"])["type"] == "STOP_MARKET"
    assert told(venue) == [("ORDER", "CANCELED", "STOP_MARKET", one.order_id)]
    assert code(cancel_order, venue, ALICE, {"symbol": "BTCUSDT", "orderid": str(one.order_id)}, NOW + 2) == -2011
    cancel_all(venue, ALICE, "BTCUSDT", NOW + 3)
    assert told(venue) == [("ORDER", "CANCELED", "TAKE_PROFIT", two.order_id)]
    assert venue.open_orders(ALICE, None) == [] and venue.algos.open_orders(ALICE) == []


def test_a_trailing_stop_shows_its_activation_and_rate() -> None:
    venue, _ = engine()
    trailing = stop(type="TRAILING_STOP_MARKET", side="SELL", activationPrice="60100.00", callbackRate="1.5")
    del trailing["stopprice"]
    order = new_order(venue, ALICE, trailing, NOW).order
    assert order is not None
    body = placed(order, venue.instruments["BTCUSDT"])
    keys = list(body)
    assert keys[keys.index("origType") + 1 : keys.index("origType") + 3] == ["activatePrice", "priceRate"]
    assert (body["activatePrice"], body["priceRate"], body["stopPrice"]) == ("60100.00", "1.5", "0.00")
    too_fast = stop(type="TRAILING_STOP_MARKET", callbackRate="15")  # the legacy endpoint's 10 % at most
    assert code(new_order, venue, ALICE, too_fast, NOW) == -2007


def test_a_restart_keeps_the_waiting_order_and_what_a_triggered_one_became(tmp_path: Path) -> None:
    AccountStore(tmp_path / "venue.db").close()
    journal = SqliteJournal(tmp_path / "venue.db")
    venue, market = engine(journal)
    waiting = new_order(venue, ALICE, stop(stopPrice="62000.00"), NOW).order
    fired = new_order(venue, ALICE, stop(), NOW).order
    assert waiting is not None and fired is not None
    market.marks["BTCUSDT"] = Fraction(60500)
    venue.apply(AlgoTriggers(()), NOW + 1_000)  # the first waits, the second filled
    again, _ = engine(journal)
    journal.load(again)
    assert [o.order_id for o in again.open_orders(ALICE, None)] == [waiting.order_id]
    assert not again.resting("BTCUSDT")  # resting in no book
    assert again.algos.legacy_on(ALICE)[0].order_id == waiting.order_id
    back = again.find(ALICE, "BTCUSDT", fired.order_id, None)
    assert back is not None and back.status is OrderStatus.FILLED and back.trigger is not None
    assert read(back, again.instruments["BTCUSDT"])["origType"] == "STOP_MARKET"
    gone = cancel_order(again, ALICE, {"symbol": "BTCUSDT", "orderid": str(waiting.order_id)}, NOW + 2_000)
    assert gone.status is OrderStatus.CANCELED
    journal.close()


def test_a_close_position_stop_expires_with_the_position_it_closes() -> None:
    """GTE_GTC (part 2 §4.3): the position closed, its ``closePosition`` stop ends, told as an
    order's EXPIRED with ``er`` "6" (``engine/algo_told.py``), listed no more."""
    venue, _ = engine()
    new_order(venue, ALICE, {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}, NOW)
    guard = new_order(venue, ALICE, stop(side="SELL", stopPrice="59000.00", closePosition="true",
                                         quantity=""), NOW).order  # fmt: skip
    assert guard is not None and placed(guard, venue.instruments["BTCUSDT"])["closePosition"] is True
    told(venue)
    new_order(venue, ALICE, {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.001"}, NOW + 1)
    updates = [e for e in venue.outbox.take() if isinstance(e, OrderUpdate) and e.order.order_id == guard.order_id]
    assert [(e.execution, e.status, e.expiry) for e in updates] == [("EXPIRED", OrderStatus.EXPIRED, "6")]
    assert venue.open_orders(ALICE, None) == [] and venue.algos.open_orders(ALICE) == []
    assert venue.find(ALICE, "BTCUSDT", guard.order_id, None).status is OrderStatus.EXPIRED  # type: ignore[union-attr]


def test_a_client_id_is_unique_among_the_open_orders_and_stops_and_a_refusal_takes_no_id() -> None:
    venue, _ = engine()
    limit = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeinforce": "GTC", "quantity": "0.001",
             "price": "50000.00", "newclientorderid": "mine"}  # fmt: skip
    new_order(venue, ALICE, limit, NOW)
    before = venue.next_order_id["BTCUSDT"]
    assert code(new_order, venue, ALICE, stop(newClientOrderId="mine"), NOW) == -4116  # an open LIMIT's
    assert code(new_order, venue, ALICE, stop(stopPrice="59000.00"), NOW) == -2021  # would trigger at once
    assert venue.next_order_id["BTCUSDT"] == before  # nothing taken by a refusal
    new_order(venue, ALICE, stop(newClientOrderId="guard"), NOW)
    assert code(new_order, venue, ALICE, stop(newClientOrderId="guard"), NOW) == -4116  # an open stop's
    assert code(new_order, venue, ALICE, limit | {"newclientorderid": "guard"}, NOW) == -4116  # by a LIMIT too


def test_a_gtd_stop_expires_untriggered_at_its_date_and_one_triggered_near_it_still_trades() -> None:
    """A GTD STOP waiting for its trigger ends EXPIRED at its goodTillDate (``er`` "0"), as a
    resting GTD order does; one that triggers less than 600 s before its date still becomes
    its LIMIT order, which lives until the same date (the 600 s rule is a new order's)."""
    venue, market = engine()
    date = NOW + 700_000
    gtd = {"type": "STOP", "price": "60600.00", "timeInForce": "GTD", "goodTillDate": str(date)}
    waits = new_order(venue, ALICE, stop(stopPrice="62000.00", **gtd), NOW).order
    near = new_order(venue, ALICE, stop(**gtd), NOW).order
    assert waits is not None and near is not None
    assert venue.algos.next_date() == date
    told(venue)
    market.marks["BTCUSDT"] = Fraction(60500)  # the second's trigger, 500 s before its date
    venue.apply(AlgoTriggers(()), date - 500_000)
    child = venue.find(ALICE, "BTCUSDT", near.order_id, None)
    assert child is not None and child.trigger is not None and child.trigger.triggered
    assert child.good_till_ms == date and child.status is OrderStatus.FILLED  # it met the asks at once
    told(venue)
    venue.apply(ExpireGoodTill(), date - 1)
    assert told(venue) == [] and venue.algos.next_date() == date
    venue.apply(ExpireGoodTill(), date)
    events = [e for e in venue.outbox.take() if isinstance(e, OrderUpdate)]
    assert [(e.execution, e.order.order_id, e.expiry, e.order.shown_type) for e in events] == [
        ("EXPIRED", waits.order_id, "0", "STOP"),
    ]  # fmt: skip
    assert venue.open_orders(ALICE, None) == [] and venue.algos.next_date() is None


def test_a_waiting_stop_counts_against_the_symbols_open_order_limit() -> None:
    venue, _ = engine()
    most = venue.listings["BTCUSDT"].filters.max_num_orders  # 200
    limit = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeinforce": "GTC", "quantity": "0.001",
             "price": "50000.00"}  # fmt: skip
    new_order(venue, ALICE, stop(), NOW)
    for _ in range(most - 2):
        new_order(venue, ALICE, limit, NOW)
    new_order(venue, ALICE, stop(), NOW)  # the limit's last place
    assert len(venue.open_orders(ALICE, "BTCUSDT")) == most
    assert code(new_order, venue, ALICE, limit, NOW) == -2025
    assert code(new_order, venue, ALICE, stop(), NOW) == -2025


def test_in_hedge_mode_a_stop_that_closes_its_side_shows_reduce_only_from_placement() -> None:
    from tickerplant.venue.wire.settings_routes import set_dual_side

    venue, _ = engine()
    set_dual_side(venue, ALICE, True)
    closes = new_order(venue, ALICE, stop(side="SELL", positionSide="LONG", stopPrice="59000.00"), NOW).order
    opens = new_order(venue, ALICE, stop(positionSide="LONG"), NOW).order
    assert closes is not None and opens is not None
    inst = venue.instruments["BTCUSDT"]
    assert (placed(closes, inst)["reduceOnly"], placed(opens, inst)["reduceOnly"]) == (True, False)
    assert [(e.order.reduce_only, e.order.position_side.value) for e in venue.outbox.take()
            if isinstance(e, OrderUpdate)] == [(True, "LONG"), (False, "LONG")]  # fmt: skip


def test_a_stop_without_its_stop_price_is_told_in_the_legacy_names() -> None:
    venue, _ = engine()
    without = stop()
    del without["stopprice"]
    with pytest.raises(RequestRefused) as caught:
        new_order(venue, ALICE, without, NOW)
    assert (caught.value.code, caught.value.msg) == (
        -1102, "Mandatory parameter 'stopPrice' was not sent, was empty/null, or malformed.",
    )  # fmt: skip
    # ``triggerPrice`` is the algo endpoint's name, not this one's: not read here
    assert code(new_order, venue, ALICE, without | {"triggerprice": "60500.00"}, NOW) == -1102


def test_a_stop_whose_order_is_refused_at_its_trigger_says_why_as_usds_m_did() -> None:
    """Its order refused (the margin: bob holds 10 USDT): ``CONDITIONAL_ORDER_TRIGGER_REJECT``
    with the refusal's text (part 4 §3.8, USDⓈ-M's until 2025-12-15), then its ``EXPIRED``."""
    import msgspec

    from tickerplant.venue.userstream.user_events import written

    venue, market = engine()
    order = new_order(venue, BOB, stop(quantity="0.010"), NOW).order
    assert order is not None
    venue.outbox.take()
    market.marks["BTCUSDT"] = Fraction(60500)
    venue.apply(AlgoTriggers(()), NOW + 1)
    payloads = [(kind, msgspec.json.decode(body)) for _, kind, body in written(venue, venue.outbox.take(), str)]
    assert [kind for kind, _ in payloads] == ["CONDITIONAL_ORDER_TRIGGER_REJECT", "ORDER_TRADE_UPDATE"]
    reject, expired = payloads[0][1], payloads[1][1]
    assert list(reject) == ["e", "E", "T", "or"]
    assert reject["or"] == {"s": "BTCUSDT", "i": order.order_id, "r": "Margin is insufficient."}
    assert (expired["o"]["x"], expired["o"]["i"], expired["o"]["o"], expired["o"]["er"]) == (
        "EXPIRED", order.order_id, "STOP_MARKET", "0",
    )  # fmt: skip


def test_two_symbols_stops_of_one_order_id_are_two_orders() -> None:
    """Order ids are per symbol (ids.py): two symbols' sequences may meet. A legacy stop's
    order id is not its algo id, so two stops under one order id stay apart."""
    venue, _ = engine()
    venue.next_order_id["ETHUSDT"] = venue.next_order_id["BTCUSDT"]
    btc = new_order(venue, ALICE, stop(), NOW).order
    eth = new_order(venue, ALICE, stop(symbol="ETHUSDT", quantity="0.010", stopPrice="99000.00"), NOW).order
    assert btc is not None and eth is not None and btc.order_id == eth.order_id
    assert len(venue.open_orders(ALICE, None)) == 2 and venue.algos.open_count(ALICE) == 2
    assert {a.algo_id for a in venue.algos.open_orders(ALICE)} != {btc.order_id}  # algo ids of their own
    cancel_order(venue, ALICE, {"symbol": "BTCUSDT", "orderid": str(btc.order_id)}, NOW + 1)
    assert venue.open_orders(ALICE, None) == [venue.find(ALICE, "ETHUSDT", eth.order_id, None)]
    assert [a.symbol for a in venue.algos.open_orders(ALICE)] == ["ETHUSDT"]  # the BTC one no longer waits


def test_at_its_trigger_a_stop_expires_before_its_orders_fills_are_told() -> None:
    """A client taking fills from TRADE_LITE (nautilus, part 4 §4.3's note) must meet the
    stop's EXPIRED (er 8) first, then its order as a fresh taker's (§4.3 item 2); that EXPIRED's
    ``b``/``a`` are the open orders before its order was placed."""
    import msgspec

    from tickerplant.venue.userstream.user_events import written

    venue, market = engine()
    new_order(venue, ALICE, {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeinforce": "GTC",
                             "quantity": "0.001", "price": "50000.00"}, NOW)  # fmt: skip
    new_order(venue, ALICE, stop(type="STOP", price="59000.00", timeInForce="GTC", side="SELL",
                                 stopPrice="59500.00", quantity="0.002"), NOW)  # fmt: skip
    venue.outbox.take()
    market.marks["BTCUSDT"] = Fraction(59400)
    venue.apply(AlgoTriggers(()), NOW + 1)
    shown = [(kind, msgspec.json.decode(body)) for _, kind, body in written(venue, venue.outbox.take(), str)]
    kinds = [(kind, body["o"]["x"] if kind == "ORDER_TRADE_UPDATE" else "") for kind, body in shown]
    assert kinds == [
        ("ORDER_TRADE_UPDATE", "EXPIRED"), ("TRADE_LITE", ""), ("ORDER_TRADE_UPDATE", "NEW"),
        ("ACCOUNT_UPDATE", ""), ("ORDER_TRADE_UPDATE", "TRADE"),
    ]  # fmt: skip
    assert shown[0][1]["o"]["er"] == "8"
    # one whose LIMIT order rests: its EXPIRED's sells are those before, its order's NEW's with it
    new_order(venue, ALICE, stop(type="STOP", price="61000.00", timeInForce="GTC", side="SELL",
                                 stopPrice="59300.00", quantity="0.002"), NOW + 2)  # fmt: skip
    venue.outbox.take()
    market.marks["BTCUSDT"] = Fraction(59200)
    venue.apply(AlgoTriggers(()), NOW + 3)
    told_now = [msgspec.json.decode(body)["o"] for _, _, body in written(venue, venue.outbox.take(), str)]
    assert [(o["x"], o["b"], o["a"]) for o in told_now] == [("EXPIRED", "50", "0"), ("NEW", "50", "122")]


def test_a_waiting_stop_holds_the_margin_type_and_a_test_order_is_checked_as_a_new_one() -> None:
    from tickerplant.venue.wire.settings_routes import set_margin_type

    venue, _ = engine()
    waiting = new_order(venue, ALICE, stop(), NOW).order
    assert waiting is not None
    assert code(set_margin_type, venue, ALICE, "BTCUSDT", "ISOLATED", NOW) == -4067  # an open order's
    # /order/test: every check a placement makes, nothing made
    ids = venue.next_order_id["BTCUSDT"]
    with pytest.raises(RequestRefused) as caught:
        new_order(venue, ALICE, stop(stopPrice="59000.00"), NOW, test=True)
    assert caught.value.code == -2021  # would trigger at once
    assert new_order(venue, ALICE, stop(newClientOrderId="fresh"), NOW, test=True).order is None
    assert venue.next_order_id["BTCUSDT"] == ids and len(venue.open_orders(ALICE, None)) == 1
    cancel_order(venue, ALICE, {"symbol": "BTCUSDT", "orderid": str(waiting.order_id)}, NOW + 1)
    set_margin_type(venue, ALICE, "BTCUSDT", "ISOLATED", NOW + 2)


def test_a_trailing_stop_without_an_activation_price_shows_the_price_it_activated_at() -> None:
    venue, _ = engine()
    venue.algos.last["BTCUSDT"] = 6_000_000
    trailing = stop(type="TRAILING_STOP_MARKET", side="SELL", callbackRate="1", workingType="CONTRACT_PRICE")
    del trailing["stopprice"]
    order = new_order(venue, ALICE, trailing, NOW).order
    assert order is not None
    assert placed(order, venue.instruments["BTCUSDT"])["activatePrice"] == "60000.00"  # the latest price


def test_a_legacy_stop_and_an_algo_order_of_one_account_stay_apart() -> None:
    """Each endpoint's own: ``allOpenOrders`` cancels the legacy stop, not the algo order;
    ``algoOpenOrders`` the algo order, not the stop; a client id held by either is refused
    to the other while both are open (-4116)."""
    from tickerplant.venue.domain.algo_params import parse_new_algo
    from tickerplant.venue.domain.commands import CancelAllAlgos, PlaceAlgo

    venue, _ = engine()
    params = {"algotype": "CONDITIONAL", "symbol": "BTCUSDT", "side": "BUY", "type": "STOP_MARKET",
              "quantity": "0.001", "triggerprice": "61000.00", "clientalgoid": "shared"}  # fmt: skip
    algo = venue.apply(PlaceAlgo(ALICE, parse_new_algo(params, venue.instruments, NOW, False)), NOW).algo
    assert algo is not None
    assert code(new_order, venue, ALICE, stop(newClientOrderId="shared"), NOW) == -4116
    legacy = new_order(venue, ALICE, stop(newClientOrderId="mine"), NOW).order
    assert legacy is not None and venue.algos.open_orders(ALICE, with_legacy=False) == [algo]
    cancel_all(venue, ALICE, "BTCUSDT", NOW + 1)  # allOpenOrders
    assert algo.status == "NEW" and venue.open_orders(ALICE, None) == []
    again = new_order(venue, ALICE, stop(newClientOrderId="mine"), NOW + 2).order
    venue.apply(CancelAllAlgos(ALICE, "BTCUSDT"), NOW + 3)  # algoOpenOrders
    assert algo.status == "CANCELED" and venue.open_orders(ALICE, None) == [again]


def test_another_account_can_neither_read_cancel_nor_modify_a_stop() -> None:
    """Security: a legacy stop is its account's order alone, by id and by client id."""
    from tickerplant.venue.engine import history

    venue, _ = engine()
    mine = new_order(venue, ALICE, stop(newClientOrderId="alice-stop"), NOW).order
    assert mine is not None
    by_id = {"symbol": "BTCUSDT", "orderid": str(mine.order_id)}
    by_client = {"symbol": "BTCUSDT", "origclientorderid": "alice-stop"}
    for ref in (by_id, by_client):
        assert code(cancel_order, venue, BOB, ref, NOW + 1) == -2011
        modify = ref | {"side": "BUY", "quantity": "0.002", "price": "60000.00"}
        assert code(amend_order, venue, BOB, modify, NOW + 1) == -2013
    assert venue.find(BOB, "BTCUSDT", mine.order_id, None) is None and venue.open_orders(BOB, None) == []
    assert venue.find(BOB, "BTCUSDT", None, "alice-stop") is None
    for open_only in (False, True):  # GET order, openOrder
        with pytest.raises(RequestRefused) as caught:
            history.order(venue, BOB, by_id, NOW + 1, open_only=open_only)
        assert caught.value.code == -2013
    cancel_all(venue, BOB, "BTCUSDT", NOW + 1)
    assert venue.open_orders(ALICE, None) == [mine] and mine.status is OrderStatus.NEW
