"""The Algo Order book without sockets (part 2 §4.2): each type's trigger direction, the
trailing stop's activation and callback, the refusals, and a round trip through the
journal. Orders are placed as the wire does: parsed (``algo_params``), then applied."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_engine import Book, Deposits, Kept, order

from tickerplant.market.instruments import Market, catalogue
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.book.ports import Journal
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.algo_order import AlgoOrder
from tickerplant.venue.domain.algo_params import parse_new_algo
from tickerplant.venue.domain.commands import PlaceAlgo
from tickerplant.venue.domain.events import AlgoUpdate
from tickerplant.venue.engine.algo_book import MAX_OPEN
from tickerplant.venue.journal.sqlite_journal import SqliteJournal
from tickerplant.venue.wire.order_entry import new_order

NOW = 1_790_000_000_000
PRICE = 6_000_000  # 60000.00
PROTECT = "0.0500"  # BTCUSDT's triggerProtect


def book(journal: Journal | None = None) -> Engine:
    """An engine whose last trade and mark are ``PRICE``."""
    engine = Engine(Market.UM, catalogue(Market.UM, NOW), Book(), Deposits(), journal or Kept())
    engine.algos.last["BTCUSDT"] = PRICE
    return engine


def place(engine: Engine, account_id: int, params: dict[str, str]) -> AlgoOrder:
    new = parse_new_algo(params, engine.instruments, NOW, engine.ledger(account_id).hedge)
    order = engine.apply(PlaceAlgo(account_id, new), NOW).algo
    assert order is not None
    return order


def algo(kind: str, side: str, **more: str) -> dict[str, str]:
    base = {"algotype": "CONDITIONAL", "symbol": "BTCUSDT", "side": side, "type": kind, "quantity": "0.001"}
    return base | {k.lower(): v for k, v in more.items()}


def code(call: object, *args: object) -> int:
    with pytest.raises(RequestRefused) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value.code



def test_a_price_protected_order_waits_while_the_mark_and_the_last_price_diverge() -> None:
    """Part 2 §4.2's table: with ``priceProtect``, at its trigger the mark and the contract
    price may be at most ``triggerProtect`` (5 %) apart; while they are further, the order
    does not trigger. Without it, the same prices trigger it."""
    algos = book()
    guarded = place(algos, 1, algo("STOP_MARKET", "SELL", triggerPrice="59000.00", priceProtect="true"))
    plain = place(algos, 1, algo("STOP_MARKET", "SELL", triggerPrice="59000.00"))
    mark = 6_250_000  # 62500: the last trade 58900 is 5.76 % below it
    assert algos.algos.due("BTCUSDT", 5_890_000, mark, NOW + 1, PROTECT) == [plain]
    assert guarded.status == "NEW"
    assert algos.algos.due("BTCUSDT", 5_890_000, 6_200_000, NOW + 2, PROTECT) == [guarded]  # 5.0 %: at the bound
    marked = place(algos, 1, algo("STOP_MARKET", "SELL", triggerPrice="59000.00", priceProtect="TRUE",
                                  workingType="MARK_PRICE"))  # fmt: skip
    assert algos.algos.due("BTCUSDT", 5_000_000, 5_890_000, NOW + 3, PROTECT) == []  # 15 % apart
    assert algos.algos.due("BTCUSDT", 5_700_000, 5_890_000, NOW + 4, PROTECT) == [marked]  # 3.2 %
    lone = place(algos, 1, algo("STOP_MARKET", "SELL", triggerPrice="59000.00", priceProtect="true",
                                workingType="MARK_PRICE"))  # fmt: skip
    assert algos.algos.due("BTCUSDT", None, 5_890_000, NOW + 5, PROTECT) == [lone]  # no last price: nothing to compare

@pytest.mark.parametrize(
    ("kind", "side", "trigger", "fires", "stays"),
    [
        ("STOP_MARKET", "SELL", "59000.00", 5_890_000, 5_910_000),  # stop-loss of a long: price falls
        ("STOP_MARKET", "BUY", "61000.00", 6_110_000, 6_090_000),
        ("TAKE_PROFIT_MARKET", "SELL", "61000.00", 6_100_000, 6_099_900),
        ("TAKE_PROFIT_MARKET", "BUY", "59000.00", 5_900_000, 5_900_100),
    ],
)
def test_each_type_triggers_going_its_way(kind: str, side: str, trigger: str, fires: int, stays: int) -> None:
    algos = book()
    placed = place(algos, 1, algo(kind, side, triggerPrice=trigger))
    assert algos.algos.due("BTCUSDT", stays, PRICE, NOW + 1, PROTECT) == []
    assert algos.algos.due("BTCUSDT", fires, PRICE, NOW + 2, PROTECT) == [placed] and placed.status == "TRIGGERING"
    assert algos.algos.due("BTCUSDT", fires, PRICE, NOW + 3, PROTECT) == []  # once


def test_mark_price_working_type_reads_the_mark() -> None:
    algos = book()
    placed = place(algos, 1, algo("STOP_MARKET", "SELL", triggerPrice="59000.00", workingType="MARK_PRICE"))
    assert algos.algos.due("BTCUSDT", 5_000_000, PRICE, NOW + 1, PROTECT) == []  # the last trade is not the mark
    assert algos.algos.due("BTCUSDT", PRICE, 5_899_999, NOW + 2, PROTECT) == [placed]


def test_a_trailing_stop_activates_then_follows_the_best_price() -> None:
    algos = book()
    placed = place(algos, 1, algo("TRAILING_STOP_MARKET", "SELL", activatePrice="60500.00", callbackRate="1"))
    for price in (6_040_000, 6_050_000, 6_200_000, 6_140_000):  # activated at 60500, best 62000
        assert algos.algos.due("BTCUSDT", price, PRICE, NOW, PROTECT) == []
    assert algos.algos.due("BTCUSDT", 6_138_000, PRICE, NOW, PROTECT) == [placed]  # 62000 × 0.99 = 61380
    late = algo("TRAILING_STOP_MARKET", "SELL", activatePrice="59000.00", callbackRate="1")
    assert code(place, algos, 1, late) == -2021
    assert code(place, algos, 1, algo("TRAILING_STOP_MARKET", "SELL", callbackRate="25")) == -2007


@pytest.mark.parametrize(("side", "best", "fires"), [("BUY", 5_900_000, 5_959_000), ("SELL", 6_100_000, 6_039_000)])
def test_a_trailing_stop_placed_before_any_price_activates_at_the_first(side: str, best: int, fires: int) -> None:
    algos = book()
    del algos.algos.last["BTCUSDT"]  # no trade noted yet (a start, a replay's or a relay's first moments)
    placed = place(algos, 1, algo("TRAILING_STOP_MARKET", side, callbackRate="1"))
    assert placed.extreme == 0  # no latest price to default the activation to
    assert algos.algos.due("BTCUSDT", PRICE, PRICE, NOW + 1, PROTECT) == [] and placed.extreme == PRICE  # activated
    assert algos.algos.due("BTCUSDT", best, PRICE, NOW + 2, PROTECT) == []  # the best price since
    assert algos.algos.due("BTCUSDT", fires, PRICE, NOW + 3, PROTECT) == [placed]  # 1 % back from it


def test_refusals() -> None:
    algos = book()
    assert code(place, algos, 1, algo("STOP_MARKET", "SELL", triggerPrice="61000.00")) == -2021
    assert code(place, algos, 1, algo("LIMIT", "SELL", triggerPrice="59000.00")) == -1116
    assert code(place, algos, 1, algo("STOP_MARKET", "SELL", triggerPrice="0")) == -4006  # sent: "less than zero"
    assert code(place, algos, 1, algo("STOP_MARKET", "SELL")) == -1102  # not sent
    close = algo("STOP_MARKET", "SELL", triggerPrice="59000.00", closePosition="true") | {"quantity": ""}
    place(algos, 1, close)
    assert code(place, algos, 1, close) == -4130  # one of each type per direction
    take = algo("TAKE_PROFIT_MARKET", "SELL", triggerPrice="61000.00", closePosition="true") | {"quantity": ""}
    place(algos, 1, take)  # beside the stop: the position's bracket
    assert code(place, algos, 1, take | {"triggerPrice": "62000.00"}) == -4130
    assert code(place, algos, 1, close | {"quantity": "0.001"}) == -4137
    for _ in range(MAX_OPEN - 2):
        place(algos, 1, algo("STOP_MARKET", "SELL", triggerPrice="59000.00"))
    assert code(place, algos, 1, algo("STOP_MARKET", "SELL", triggerPrice="59000.00")) == -4045
    assert place(algos, 2, algo("STOP_MARKET", "SELL", triggerPrice="59000.00"))  # per account


def _close(kind: str, trigger: str, **more: str) -> dict[str, str]:
    return algo(kind, "SELL", triggerPrice=trigger, closePosition="true", **more) | {"quantity": ""}


def test_a_close_position_order_expires_with_its_position() -> None:
    """GTE_GTC (part 2 §4.3's EXPIRED, "a GTE_GTC conditional whose position was closed"):
    the position's stop and take profit end when it is closed, not when they would trigger."""
    engine = book()
    market = {"type": "MARKET", "timeinforce": ""}
    new_order(engine, 1, order(**market, quantity="0.002"), NOW)
    stop, take = place(engine, 1, _close("STOP_MARKET", "59000.00")), place(engine, 1, _close("TAKE_PROFIT_MARKET", "61000.00"))
    plain = place(engine, 1, algo("STOP_MARKET", "SELL", triggerPrice="59000.00", reduceOnly="true"))
    new_order(engine, 1, order(**market, side="SELL", quantity="0.001"), NOW + 1)
    assert stop.status == take.status == "NEW"  # halved: they still close what is left
    engine.outbox.take()
    new_order(engine, 1, order(**market, side="SELL", quantity="0.001"), NOW + 2)
    assert (stop.status, take.status, plain.status) == ("EXPIRED", "EXPIRED", "NEW")
    told = [e.algo for e in engine.outbox.take() if isinstance(e, AlgoUpdate)]
    assert [(a.algo_id, a.status, a.update_ms) for a in told] == [(stop.algo_id, "EXPIRED", NOW + 2),
                                                                  (take.algo_id, "EXPIRED", NOW + 2)]  # fmt: skip
    new_order(engine, 1, order(**market, quantity="0.001"), NOW + 3)  # a new position: a bracket of its own
    again = place(engine, 1, _close("STOP_MARKET", "59000.00"))  # no -4130 from the old one
    assert again.status == "NEW"
    new_order(engine, 1, order(**market, side="SELL", quantity="0.002"), NOW + 4)  # long 0.001 turned short
    assert again.status == "EXPIRED"  # its long was closed on the way
    cover = place(engine, 1, algo("STOP_MARKET", "BUY", triggerPrice="61000.00", closePosition="true") | {"quantity": ""})
    new_order(engine, 1, order(**market, quantity="0.001"), NOW + 5)  # the short closed
    assert cover.status == "EXPIRED"


def test_in_hedge_mode_only_the_closed_sides_orders_expire() -> None:
    engine = book()
    engine.modes.set(1, True)
    market = {"type": "MARKET", "timeinforce": ""}
    new_order(engine, 1, order(**market, quantity="0.001", positionSide="LONG"), NOW)
    new_order(engine, 1, order(**market, side="SELL", quantity="0.001", positionSide="SHORT"), NOW)
    long_stop = place(engine, 1, _close("STOP_MARKET", "59000.00", positionSide="LONG"))
    short_stop = place(engine, 1, algo("STOP_MARKET", "BUY", triggerPrice="61000.00", closePosition="true",
                                       positionSide="SHORT") | {"quantity": ""})  # fmt: skip
    new_order(engine, 1, order(**market, side="SELL", quantity="0.001", positionSide="LONG"), NOW + 1)
    assert (long_stop.status, short_stop.status) == ("EXPIRED", "NEW")


def test_the_journal_keeps_them(tmp_path: Path) -> None:
    AccountStore(tmp_path / "venue.db").close()
    journal = SqliteJournal(tmp_path / "venue.db")
    kept = place(book(journal), 1, algo("STOP", "SELL", triggerPrice="59000.00", price="58900.00"))
    again = book()
    journal.load(again)
    assert again.algos.open_orders(1) == [kept] and again.algos.next_id == kept.algo_id + 1
    journal.close()


@pytest.mark.parametrize(("market", "symbol", "text"), [
    (Market.UM, "BTCUSDT", "Quantity must be zero with closePosition equals true"),
    (Market.CM, "BTCUSD_PERP", "Quantity must be zero with closePosition equals true."),  # part 1 §6.2: CM adds '.'
])  # fmt: skip
def test_a_close_position_with_a_quantity_is_refused_in_its_markets_words(market: Market, symbol: str, text: str) -> None:
    listed = {inst.symbol: inst for inst in catalogue(market, NOW)}
    params = algo("STOP_MARKET", "SELL", triggerPrice="59000.0", closePosition="true") | {"symbol": symbol, "quantity": "1"}
    with pytest.raises(RequestRefused) as caught:
        parse_new_algo(params, listed, NOW, False)
    assert (caught.value.code, caught.value.msg) == (-4137, text)


def test_a_gtd_algo_order_not_triggered_by_its_date_expires_then() -> None:
    from tickerplant.venue.domain.commands import ExpireGoodTill

    algos = book()
    date = NOW + 700_000
    waiting = place(algos, 1, algo("STOP", "BUY", triggerPrice="62000.00", price="62100.00", timeInForce="GTD",
                                   goodTillDate=str(date)))  # fmt: skip
    algos.outbox.take()
    algos.apply(ExpireGoodTill(), date)
    (event,) = [e for e in algos.outbox.take() if isinstance(e, AlgoUpdate)]
    assert (event.algo.algo_id, event.algo.status, event.algo.reason) == (
        waiting.algo_id, "EXPIRED", "Good till date passed",
    )  # fmt: skip
    assert algos.algos.open_orders(1) == [] and algos.algos.next_date() is None


def test_an_algo_orders_child_does_not_fail_on_a_client_id_an_open_order_holds() -> None:
    """``clientAlgoId`` and ``clientOrderId`` are apart: an open LIMIT may hold the id an algo
    order holds; at its trigger the child then takes one the venue makes, not -4116."""
    from tickerplant.venue.domain.commands import AlgoTriggers

    algos = book()
    stop = place(algos, 1, algo("STOP_MARKET", "BUY", triggerPrice="60100.00", clientAlgoId="shared"))
    limit = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeinforce": "GTC", "quantity": "0.001",
             "price": "50000.00", "newclientorderid": "shared"}  # fmt: skip
    new_order(algos, 1, limit, NOW)
    algos.algos.last["BTCUSDT"] = 6_010_000
    algos.apply(AlgoTriggers(()), NOW + 1)
    assert stop.status == "FINISHED" and stop.child_id is not None
    child = algos.find(1, "BTCUSDT", stop.child_id, None)
    assert child is not None and child.client_order_id != "shared" and child.executed_qty == 1
