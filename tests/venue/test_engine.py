"""The engine without sockets: a book and a mark by hand, a journal that keeps batches, time
as an argument. Figures are worked out by hand from part 3 §7 (worked example A's rates)."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from functools import partial

import msgspec
import pytest

from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.auth.accounts import Balance
from tickerplant.venue.clearing.liquidation import check
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import Trades
from tickerplant.venue.domain.events import AccountUpdate, Batch, Made, OrderUpdate
from tickerplant.venue.domain.money import parse_amount
from tickerplant.venue.domain.orders import OrderStatus
from tickerplant.venue.engine import history
from tickerplant.venue.wire.order_entry import cancel_order, new_order
from tickerplant.venue.wire.settings_routes import set_dual_side, set_leverage, set_margin_type

NOW = 1_790_000_000_000
ALICE, BOB = 1, 2


class Book:
    """BTCUSDT (price 2 decimals, quantity 3): asks 60000.00 ×1, 60001.00 ×2; bids
    59999.00 ×1, 59998.00 ×2; mark 60000."""

    def __init__(self) -> None:
        self.bids = [(5_999_900, 1000), (5_999_800, 2000)]
        self.asks = [(6_000_000, 1000), (6_000_100, 2000)]
        self.marks: dict[str, Fraction] = {"BTCUSDT": Fraction(60000)}

    def levels(self, symbol: str, bids: bool) -> Iterator[tuple[int, int]]:
        return iter(self.bids if bids else self.asks) if symbol == "BTCUSDT" else iter(())

    def quantity_at(self, symbol: str, bids: bool, price: int) -> int:
        return next((q for p, q in self.levels(symbol, bids) if p == price), 0)

    def mark(self, symbol: str) -> Fraction | None:
        return self.marks.get(symbol)

    def book_id(self, symbol: str) -> int | None:
        return None  # fixed levels: every taker meets them whole

    def halted(self, symbol: str) -> bool:
        return False  # no followed book here


class Deposits:
    def __init__(self) -> None:
        self.rows = {
            ALICE: [Balance(ALICE, Market.UM, "USDT", parse_amount("10000"), 1)],
            BOB: [Balance(BOB, Market.UM, "USDT", parse_amount("10"), 1)],
        }

    def balances(self, account_id: int) -> list[Balance]:
        return self.rows.get(account_id, [])


class Kept:
    def __init__(self) -> None:
        self.batches: list[Batch] = []

    def commit(self, batch: Batch) -> None:
        self.batches.append(batch)


@pytest.fixture
def book() -> Book:
    return Book()


@pytest.fixture
def journal() -> Kept:
    return Kept()


@pytest.fixture
def engine(book: Book, journal: Kept) -> Engine:
    return Engine(Market.UM, catalogue(Market.UM, NOW), book, Deposits(), journal)


def order(**params: str) -> dict[str, str]:
    base = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeinforce": "GTC"}
    return base | {k.lower(): v for k, v in params.items()}


def refusal(call: object, *args: object, **kwargs: object) -> tuple[int, str]:
    with pytest.raises(RequestRefused) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value.code, caught.value.msg


def test_a_resting_order_has_identity_and_is_journaled_before_the_answer(
    engine: Engine, journal: Kept
) -> None:
    placed = new_order(engine, ALICE, order(quantity="0.010", price="59000"), NOW)
    assert placed.order is not None and placed.ack is not None
    first = placed.order
    one = engine.first_order_ids["BTCUSDT"]  # the symbol's first id, drawn from the seed (venue/domain/ids.py)
    assert (first.order_id, first.status, len(first.client_order_id)) == (one, OrderStatus.NEW, 22)
    assert first.client_order_id.isalnum()
    second = new_order(engine,
        ALICE, order(quantity="0.010", price="59000", newClientOrderId="x-Cb7ytekJabc"), NOW
    ).order
    assert second is not None and (second.order_id, second.client_order_id) == (one + 1, "x-Cb7ytekJabc")
    assert [b.orders[0].order_id for b in journal.batches] == [one, one + 1]
    # unique among the account's open orders only
    assert refusal(partial(new_order, engine), ALICE, order(quantity="0.010", price="59000", newClientOrderId="x-Cb7ytekJabc"), NOW) == (
        -4116, "clientOrderId is duplicated")  # fmt: skip
    assert new_order(engine,
        BOB, order(quantity="0.001", price="59000", newClientOrderId="x-Cb7ytekJabc"), NOW
    ).order
    cancel_order(engine, ALICE, {"symbol": "BTCUSDT", "origclientorderid": "x-Cb7ytekJabc"}, NOW + 1)
    again = new_order(engine,
        ALICE, order(quantity="0.010", price="59000", newClientOrderId="x-Cb7ytekJabc"), NOW + 2
    )
    assert again.order is not None and again.order.order_id == one + 3  # ids per symbol, across accounts



def test_a_client_id_finds_the_latest_order_holding_it(engine: Engine) -> None:
    """``origClientOrderId``: the open order holding it (no later one can share it), else
    the newest closed one on that symbol, never another symbol's."""
    def query(symbol: str = "BTCUSDT") -> int:
        return history.order(engine, ALICE, {"symbol": symbol, "origclientorderid": "bot-1"}, NOW, open_only=False).order_id

    first = new_order(engine, ALICE, order(quantity="0.010", price="59000", newClientOrderId="bot-1"), NOW).order
    assert first is not None and query() == first.order_id
    cancel_order(engine, ALICE, {"symbol": "BTCUSDT", "orderid": str(first.order_id)}, NOW + 1)
    second = new_order(engine, ALICE, order(quantity="0.010", price="59000", newClientOrderId="bot-1"), NOW + 2).order
    assert second is not None and query() == second.order_id  # the open one, not the cancelled
    cancel_order(engine, ALICE, {"symbol": "BTCUSDT", "origclientorderid": "bot-1"}, NOW + 3)
    assert second.status is OrderStatus.CANCELED and first.status is OrderStatus.CANCELED
    assert query() == second.order_id  # both closed: the newest
    other = new_order(engine, ALICE, order(symbol="ETHUSDT", quantity="0.010", price="3000", newClientOrderId="bot-1"),
                         NOW + 4).order  # fmt: skip
    assert other is not None and query("ETHUSDT") == other.order_id
    assert query() == second.order_id  # an open one on another symbol does not stand in


def test_a_liquidations_client_id_is_not_a_clients_and_finds_the_liquidation(engine: Engine, book: Book) -> None:
    """A system order's client id (a liquidation's ``autoclose-…``) is refused for a client's
    order, -4015 (the venue and its clients know a liquidation by it: part 2 §3.3); the
    liquidation's own is made without -4116's check, and the liquidation is found by it."""
    set_dual_side(engine, ALICE, True)
    set_margin_type(engine, ALICE, "BTCUSDT", "ISOLATED", NOW)
    set_leverage(engine, ALICE, "BTCUSDT", 50, NOW)
    new_order(engine, ALICE, order(type="MARKET", quantity="0.500", positionSide="LONG", timeinforce=""), NOW)
    cid = f"autoclose-{NOW + 5000}{1:06d}"  # the liquidation's id at NOW + 5000
    mine = order(side="SELL", quantity="0.010", price="61000", positionSide="SHORT", newClientOrderId=cid)
    assert refusal(partial(new_order, engine), ALICE, mine, NOW + 1) == (-4015, "Client order id is not valid.")
    book.marks["BTCUSDT"] = Fraction(58000)
    check(engine, "BTCUSDT", NOW + 5000, Made())  # the margin check's step alone: liquidated
    found = history.order(engine, ALICE, {"symbol": "BTCUSDT", "origclientorderid": cid}, NOW, open_only=False)
    assert found.client_order_id == cid and found.status is OrderStatus.FILLED
    assert refusal(partial(cancel_order, engine), ALICE, {"symbol": "BTCUSDT", "origclientorderid": cid}, NOW + 5001)[0] == -2011


def test_the_checks_of_part_2_section_8(engine: Engine) -> None:
    cases = [
        (order(symbol="NOPE", quantity="1", price="1"), -1121, "Invalid symbol."),
        (order(side="UP", quantity="1", price="1"), -1117, "Invalid side."),
        (order(type="STOP_MARKET", quantity="1"), -4120,
         "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead."),
        (order(type="ICEBERG", quantity="1"), -1116, "Invalid orderType."),
        (order(timeinforce="DAY", quantity="1", price="1"), -1115, "Invalid timeInForce."),
        (order(quantity="0.001"), -1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed."),
        (order(quantity="0.0001", price="60000"), -1111, "Precision is over the maximum defined for this asset."),
        (order(quantity="0.010", price="60000.05"), -4014, "Price not increased by tick size."),
        (order(quantity="0", price="60000"), -4003, "Quantity less than or equal to zero."),
        (order(quantity="5000", price="60000"), -4005, "Quantity greater than max quantity."),
        (order(quantity="0.010", price="63000.10"), -4016, "Limit price can't be higher than 63000.00"),
        (order(side="SELL", quantity="0.010", price="56999.90"), -4024, "Limit price can't be lower than 57000.00"),
        (order(quantity="0.0001000", price="59000"), -1111, "Precision is over the maximum defined for this asset."),
        (order(quantity="0.000", price="59000"), -4003, "Quantity less than or equal to zero."),
        (order(quantity="0.0010", price="40000"), -4164,
         "Order's notional must be no smaller than 50 (unless you choose reduce only)."),
        (order(quantity="0.010", price="59000", positionSide="LONG"), -4061,
         "Order's position side does not match user's setting."),
        (order(quantity="0.010", price="59000", newClientOrderId="a b"), -4015, "Client order id is not valid."),
        (order(type="MARKET", quantity="0.010", closePosition="true"), -1106,
         "Parameter 'closePosition' sent when not required."),
        (order(quantity="0.010", price="59000", reduceOnly="true"), -2022, "ReduceOnly Order is rejected."),
        (order(quantity="0.010", price="60001", timeinforce="GTX"), -5022,
         "Due to the order could not be executed as maker, the Post Only order will be rejected. "
         "The order will not be recorded in the order history"),
        (order(quantity="3.010", price="60001", timeinforce="FOK"), -5021,
         "Due to the order could not be filled immediately, the FOK order has been rejected."),
        (order(quantity="100", price="59000"), -2019, "Margin is insufficient."),
    ]  # fmt: skip
    for params, code, msg in cases:
        assert refusal(partial(new_order, engine), ALICE, params, NOW) == (code, msg), params
    assert new_order(engine, ALICE, order(quantity="0.0100", price="59000.00"), NOW).order  # exact extra zeros
    assert new_order(engine, ALICE, order(quantity="0.010", price="59000", closePosition="false"), NOW).order


def test_a_taker_walks_the_levels_and_settles_fees_pnl_and_wallet(engine: Engine) -> None:
    placed = new_order(engine, ALICE, order(type="MARKET", quantity="2.000"), NOW)
    filled = placed.order
    assert filled is not None and placed.ack is not None
    assert placed.ack.status is OrderStatus.NEW and placed.ack.executed_qty == 0  # ACK: as accepted
    assert (filled.status, filled.executed_qty) == (OrderStatus.FILLED, 2000)
    fills = engine.fills(ALICE, "BTCUSDT")
    assert [(f.price, f.qty, f.maker) for f in fills] == [(6_000_000, 1000, False), (6_000_100, 1000, False)]
    # commission 0.05 %: 60000 × 1 × 0.0005 = 30, 60001 × 1 × 0.0005 = 30.0005
    assert [f.commission for f in fills] == [parse_amount("30"), parse_amount("30.0005")]
    position = engine.ledger(ALICE).position("BTCUSDT")
    assert (position.amt, position.entry) == (2000, Fraction(120001, 2))
    figures = engine.figures(ALICE, "USDT")
    assert figures.wallet == parse_amount("9939.9995")
    # at mark 60000: uPnL 2 × (60000 − 60000.5) = −1; IM 120000 / 20 = 6000
    assert (figures.unrealized, figures.position_im) == (Fraction(-1), Fraction(6000))
    assert figures.available == Fraction(99399995, 10**4) - 1 - 6000
    # sell 1 at the bid 59999: realized (59999 − 60000.5) × 1 = −1.5, fee 29.9995
    new_order(engine, ALICE, order(type="MARKET", side="SELL", quantity="1.000", reduceOnly="true"), NOW + 1)
    last = engine.fills(ALICE, "BTCUSDT")[-1]
    assert (last.realized_pnl, last.commission) == (-parse_amount("1.5"), parse_amount("29.9995"))
    assert engine.ledger(ALICE).position("BTCUSDT").amt == 1000


def test_ioc_expires_its_rest_and_a_reduce_only_order_is_capped(engine: Engine) -> None:
    ioc = new_order(engine, ALICE, order(quantity="1.500", price="60000", timeinforce="IOC"), NOW).order
    assert ioc is not None and (ioc.status, ioc.executed_qty) == (OrderStatus.EXPIRED, 1000)
    capped = new_order(engine,
        ALICE, order(type="MARKET", side="SELL", quantity="3.000", reduceOnly="true"), NOW
    ).order
    assert capped is not None and capped.executed_qty == 1000 and capped.status is OrderStatus.EXPIRED
    assert engine.ledger(ALICE).position("BTCUSDT").amt == 0


def test_a_resting_order_fills_as_maker_when_trades_reach_it(
    engine: Engine, book: Book, journal: Kept
) -> None:
    book.bids = [(5_999_900, 1000), (5_999_800, 2000)]
    resting = new_order(engine, ALICE, order(quantity="1.000", price="59999"), NOW).order
    assert resting is not None and resting.queue_ahead == 1000  # behind the level's 1.000

    def trade(price: str, qty: str, buyer_is_maker: bool) -> StreamMessage:
        payload = {"e": "aggTrade", "E": NOW, "a": 1, "s": "BTCUSDT", "p": price, "q": qty, "nq": qty,
                   "f": 1, "l": 1, "T": NOW, "m": buyer_is_maker}  # fmt: skip
        return StreamMessage("btcusdt@aggTrade", msgspec.json.encode(payload))

    engine.apply(Trades(tuple([trade("59999.00", "0.600", False)])), NOW + 1)  # a buyer took: not our side
    assert resting.executed_qty == 0 and resting.queue_ahead == 1000
    engine.apply(Trades(tuple([trade("59999.00", "1.300", True)])), NOW + 2)  # 1.000 ahead, then 0.300 ours
    assert (resting.executed_qty, resting.status) == (300, OrderStatus.PARTIALLY_FILLED)
    engine.apply(Trades(tuple([trade("59998.00", "0.001", True)])), NOW + 3)  # through our price: all of it
    assert (resting.executed_qty, resting.status) == (1000, OrderStatus.FILLED)
    fills = engine.fills(ALICE, "BTCUSDT")
    assert [(f.qty, f.maker, f.commission) for f in fills] == [
        (300, True, parse_amount("3.59994")), (700, True, parse_amount("8.39986"))]  # fmt: skip
    assert engine.open_orders(ALICE, None) == []
    events = engine.outbox.take()
    assert [(e.execution, e.status) for e in events if isinstance(e, OrderUpdate)] == [
        ("NEW", OrderStatus.NEW),
        ("TRADE", OrderStatus.PARTIALLY_FILLED),
        ("TRADE", OrderStatus.FILLED),
    ]
    assert [e.positions[0].amt for e in events if isinstance(e, AccountUpdate)] == [300, 1000]
    assert journal.batches[-1].orders[0].status is OrderStatus.FILLED


def test_cancel_query_and_isolation_between_accounts(engine: Engine) -> None:
    placed = new_order(engine, ALICE, order(quantity="0.010", price="59000"), NOW).order
    assert placed is not None
    ref = {"symbol": "BTCUSDT", "orderid": str(placed.order_id)}
    assert refusal(history.order, engine, BOB, ref, NOW, open_only=False) == (-2013, "Order does not exist.")
    assert refusal(partial(cancel_order, engine), BOB, ref, NOW) == (-2011, "Unknown order sent.")
    assert history.order(engine, ALICE, ref, NOW, open_only=False) is placed
    assert cancel_order(engine, ALICE, ref, NOW + 5).status is OrderStatus.CANCELED
    assert refusal(partial(cancel_order, engine), ALICE, ref, NOW) == (-2011, "Unknown order sent.")
    assert refusal(history.order, engine, ALICE, ref, NOW, open_only=True) == (-2013, "Order does not exist.")
    assert refusal(history.order, engine, ALICE, {"symbol": "BTCUSDT"}, NOW, open_only=False) == (
        -1102, "Param 'orderId' or 'origClientOrderId' must be sent, but both were empty/null!")  # fmt: skip


def test_settings(engine: Engine) -> None:
    assert engine.ledger(ALICE).leverage_of(engine.contracts["BTCUSDT"]) == 20  # decision 6
    assert set_leverage(engine, ALICE, "BTCUSDT", 125).max_notional(125) == 50_000
    assert refusal(set_leverage, engine, ALICE, "BTCUSDT", 126) == (-4028, "Leverage 126 is not valid")
    assert refusal(set_margin_type, engine, ALICE, "BTCUSDT", "CROSSED") == (
        -4046,
        "No need to change margin type.",
    )
    set_margin_type(engine, ALICE, "BTCUSDT", "ISOLATED")
    assert refusal(set_dual_side, engine, ALICE, False) == (-4059, "No need to change position side.")
    set_dual_side(engine, ALICE, True)
    assert engine.ledger(ALICE).hedge and engine.modes.is_hedged(ALICE)
    assert refusal(set_dual_side, engine, ALICE, True) == (-4059, "No need to change position side.")


def test_order_count_limits(engine: Engine) -> None:
    for _ in range(300):  # each cancelled: MAX_NUM_ORDERS is not what stops them
        placed = new_order(engine, ALICE, order(quantity="0.001", price="59000"), NOW)
        assert placed.order is not None
        cancel_order(engine, ALICE, {"symbol": "BTCUSDT", "orderid": str(placed.order.order_id)}, NOW)
    assert placed.counts == [("X-MBX-ORDER-COUNT-10S", 300), ("X-MBX-ORDER-COUNT-1M", 300)]
    assert refusal(partial(new_order, engine), ALICE, order(quantity="0.001", price="59000"), NOW) == (
        -1015, "Too many new orders; current limit is 300 orders per TEN_SECONDS.")  # fmt: skip
    # the next 10 s, the same minute: the refused one counted on the minute's window too
    assert new_order(engine, ALICE, order(quantity="0.001", price="59000"), NOW + 10_000).counts == [
        ("X-MBX-ORDER-COUNT-10S", 1), ("X-MBX-ORDER-COUNT-1M", 302)]  # fmt: skip


def test_lowering_the_leverage_past_the_margin_is_refused(engine: Engine) -> None:
    new_order(engine, BOB, order(type="MARKET", timeinforce="", quantity="0.003"), NOW)  # 10 USDT: 180 at 20×
    text = "Leverage is smaller than permitted: insufficient margin balance."
    assert refusal(set_leverage, engine, BOB, "BTCUSDT", 1) == (-2028, text)  # 180 of margin at 1×
    assert engine.ledger(BOB).leverage_of(engine.contracts["BTCUSDT"]) == 20  # unchanged
    assert engine.ledger(BOB).leverage == {}  # checked before it is made: nothing written, nothing undone
    assert refusal(set_leverage, engine, BOB, "BTCUSDT", 2) == (-2028, text)  # the trial's caches its own
    set_leverage(engine, BOB, "BTCUSDT", 125)  # raising it needs nothing
