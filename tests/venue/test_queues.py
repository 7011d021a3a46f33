"""A resting order's place in an observed book's queue (``venue/book/observed.Queues``, no one
book): the market's trades and its `@depthDiff` changes at the order's price move it by the
engine's queue model (``market/book/queue.py``), in the order the market sent them; an
engine reading every order by hand agrees, and what the queues keep stays bounded."""

from __future__ import annotations

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st
from test_engine import ALICE, BOB, NOW, Book, Deposits, Kept, order

from tickerplant.market.book.followed import BookMessage
from tickerplant.market.book.queue import QUEUE_MODELS, RISK_AVERSE, Position, QueueModel, queue_model
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.book.observed import _SLACK, _TIMES
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import Trades
from tickerplant.venue.domain.orders import Order, OrderStatus, Side, seeded_client_ids
from tickerplant.venue.wire.order_entry import amend_order, cancel_order, new_order

BID = 5_999_900  # 59999.00, 1.000 displayed in test_engine's Book


def trade(price: int, qty: int, sellers_took: bool, at: int = NOW + 1) -> StreamMessage:
    payload = {"e": "aggTrade", "E": at, "a": 1, "s": "BTCUSDT", "p": f"{price / 100:.2f}", "q": f"{qty / 1000:.3f}",
               "nq": "0", "f": 1, "l": 1, "T": at, "m": sellers_took}  # fmt: skip
    return StreamMessage("btcusdt@aggTrade", msgspec.json.encode(payload))


def depth(
    book: Book, bids: list[tuple[int, int]], asks: list[tuple[int, int]] = (), u: int = 1
) -> StreamMessage:  # type: ignore[assignment]
    """A `@depthDiff` of these levels (quantity 0 removes one), applied to ``book`` too, as
    the view applies it before the engine reads the message."""
    for side, changes in ((book.bids, bids), (book.asks, asks)):
        levels = dict(side)
        for price, qty in changes:
            levels[price] = qty
        side[:] = sorted(((p, q) for p, q in levels.items() if q), reverse=side is book.bids)
    return StreamMessage("btcusdt@depthDiff", msgspec.json.encode(BookMessage(NOW, u, bids, list(asks))))


def engine_with(book: Book, model: QueueModel | None = None) -> Engine:
    deposits = Deposits()
    deposits.rows[BOB] = deposits.rows[ALICE]
    return Engine(Market.UM, catalogue(Market.UM, NOW), book, deposits, Kept(), client_ids=seeded_client_ids(3),
                  queue_model=model)  # fmt: skip


def rest(engine: Engine, price: int = BID, qty: str = "1.000", side: str = "BUY", now: int = NOW) -> Order:
    placed = new_order(engine, ALICE, order(side=side, quantity=qty, price=f"{price / 100:.2f}"), now).order
    assert placed is not None and placed.status is OrderStatus.NEW
    return placed


def test_cancels_at_its_price_clamp_what_is_ahead_to_the_level_then_a_trade_fills_it() -> None:
    book = Book()
    engine = engine_with(book)
    resting = rest(engine)
    assert resting.queue_ahead == 1000
    engine.apply(Trades(tuple([depth(book, [(BID, 1500)])])), NOW + 1)  # joined behind it: nothing moves
    assert resting.queue_ahead == 1000
    engine.apply(Trades(tuple([depth(book, [(BID, 200)])])), NOW + 2)  # 1.300 cancelled: at most 0.200 ahead
    assert resting.queue_ahead == 200
    engine.apply(Trades(tuple([trade(BID, 500, True)])), NOW + 3)
    assert (resting.executed_qty, resting.queue_ahead) == (300, 0)
    # in one delivery, in the order sent: the trade before the change it explains
    other = rest(engine, BID - 100, now=NOW + 4)  # 59998.00: 2.000 ahead
    engine.apply(Trades(tuple([trade(BID - 100, 500, True, NOW + 5), depth(book, [(BID - 100, 1000)])])), NOW + 5)
    assert (other.executed_qty, other.queue_ahead) == (0, 1000)


def test_a_probability_model_moves_it_up_sooner_than_the_risk_averse_one() -> None:
    orders = {}
    for name in ("risk-averse", "power-prob-1"):
        book = Book()
        engine = engine_with(book, queue_model(name))
        resting = rest(engine)  # 1.000 ahead
        engine.apply(Trades(tuple([depth(book, [(BID, 3000)])])), NOW + 1)  # 2.000 joined behind
        # 1.000 cancelled: front 1000, back 2000, p = 2000/3000; est = 1000 - 1000/3 = 666.7 -> 667
        engine.apply(Trades(tuple([depth(book, [(BID, 2000)])])), NOW + 2)
        engine.apply(Trades(tuple([trade(BID, 800, True)])), NOW + 3)
        orders[name] = resting
    assert (orders["risk-averse"].queue_ahead, orders["risk-averse"].executed_qty) == (200, 0)
    assert (orders["power-prob-1"].queue_ahead, orders["power-prob-1"].executed_qty) == (0, 133)


def test_a_probability_model_does_not_count_a_trade_twice() -> None:
    book = Book()
    engine = engine_with(book, queue_model("power-prob-1"))
    resting = rest(engine)  # 1.000 ahead
    engine.apply(Trades(tuple([depth(book, [(BID, 3000)])])), NOW + 1)  # 2.000 joined behind
    engine.apply(Trades(tuple([trade(BID, 300, True)])), NOW + 2)  # 0.700 ahead
    # the level's fall is the trade's: nothing cancelled to split (counted again, it would
    # be p = 2300/3000 of 0.300 behind: 700 - 70 = 630)
    engine.apply(Trades(tuple([depth(book, [(BID, 2700)])])), NOW + 3)
    assert resting.queue_ahead == 700
    engine.apply(Trades(tuple([depth(book, [(BID, 2400)])])), NOW + 4)  # 0.300 cancelled: p = 2000/2700
    assert resting.queue_ahead == 623  # 700 - (700/2700)·300 = 622.2 -> 623


def test_a_whole_book_sets_every_level_and_no_book_leaves_them() -> None:
    book = Book()
    engine = engine_with(book)
    buy, sell = rest(engine), rest(engine, 6_000_100, side="SELL")  # 1.000 ahead, 2.000 ahead
    assert (buy.queue_ahead, sell.queue_ahead) == (1000, 2000)
    lost = StreamMessage("btcusdt@depthDiff", msgspec.json.encode(BookMessage(NOW, 0, [], [], snapshot=True)))
    engine.apply(Trades(tuple([lost])), NOW + 1)  # a followed book out of sync: no level is known to have gone
    assert (buy.queue_ahead, sell.queue_ahead) == (1000, 2000)
    whole = BookMessage(NOW, 9, [(BID, 400)], [(6_000_000, 1000)], snapshot=True)  # 60001.00 is gone
    engine.apply(Trades(tuple([StreamMessage("btcusdt@depthDiff", msgspec.json.encode(whole))])), NOW + 2)
    assert (buy.queue_ahead, sell.queue_ahead) == (400, 0)


def test_a_restored_order_is_clamped_at_its_level_first_change() -> None:
    book = Book()
    first = engine_with(book, queue_model("power-prob-1"))
    journaled = rest(first).copy()
    journaled.queue_ahead = 700  # its place when last journaled
    again = engine_with(book, queue_model("power-prob-1"))
    again.restore(journaled)
    restored = again.resting_order("BTCUSDT", journaled.order_id)
    assert restored is not None
    again.apply(Trades(tuple([depth(book, [(BID, 900)])])), NOW + 1)  # no quantity to split from: a clamp only
    assert restored.queue_ahead == 700
    again.apply(Trades(tuple([depth(book, [(BID, 600)])])), NOW + 2)  # read now: the model's split
    # front 700, back 900 - 700 = 200, chg 300, p = 2/9: 700 - (7/9)·300 + 0 = 466.7 -> 467
    assert restored.queue_ahead == 467


def test_what_the_queues_keep_is_bounded_by_the_resting_orders() -> None:
    book = Book()
    engine = engine_with(book)
    placed = rest(engine, 5_900_000, "0.001")
    for n in range(1_000):  # moved from price to price, its level changing at each
        price = 5_900_000 + 10 * (1 + n % 300)
        amend_order(engine, ALICE, {"symbol": "BTCUSDT", "orderid": str(placed.order_id), "side": "BUY",
                               "quantity": "0.001", "price": f"{price / 100:.2f}"}, NOW + 100 * (n + 1))  # fmt: skip
        engine.apply(Trades(tuple([depth(book, [(price, n)])])), NOW + 100 * (n + 1))
        assert len(engine.queues) <= _TIMES + _SLACK
    cancel_order(engine, ALICE, {"symbol": "BTCUSDT", "orderid": str(placed.order_id)}, NOW + 200_000)
    engine.apply(Trades(tuple([depth(book, [(5_900_000, 5)])])), NOW + 200_001)
    assert len(engine.queues) == 0, "a symbol with no resting order keeps nothing"


# -- against every order read by hand ----------------------------------------------------------

BIDS, ASKS = (5_999_800, 5_999_900), (6_000_000, 6_000_100)  # few: events meet at one level
LEVEL = st.tuples(st.booleans(), st.integers(0, 1)).map(lambda b: (b[0], (BIDS if b[0] else ASKS)[b[1]]))
STEP = st.one_of(
    st.tuples(st.just("rest"), LEVEL, st.integers(1, 300)),
    st.tuples(st.just("cancel"), st.integers(0, 40)),
    st.tuples(st.just("move"), st.integers(0, 40), st.integers(0, 1)),
    st.tuples(st.just("trade"), st.sampled_from(BIDS + ASKS), st.integers(1, 3000), st.booleans()),
    st.tuples(st.just("depth"), LEVEL, st.integers(0, 4000)),
    st.tuples(st.just("depth"), LEVEL, st.integers(0, 4000)),
)


class ByHand:
    """Each resting order's place kept apart, every order read at every event: the rules of
    ``market/book/queue.py`` applied per order, with the level each last read."""

    def __init__(self, model: QueueModel) -> None:
        self.model = model
        self.places: dict[int, tuple[Position, int]] = {}  # order id -> place, level last read

    def arrived(self, order: Order, level: int) -> None:
        self.places[order.order_id] = (Position(level), level)

    def traded(self, resting: list[Order], price: int, qty: int, sellers_took: bool) -> None:
        for o in resting:
            buy = o.side is Side.BUY
            if buy != sellers_took or (price > o.price if buy else price < o.price):
                continue  # not its side, or not as far as its price
            at, level = self.places[o.order_id]
            moved = self.model.trade(at, qty, o.remaining) if price == o.price else self.model.through(at, 0)
            self.places[o.order_id] = moved.position, level

    def changed(self, resting: list[Order], buy: bool, price: int, new: int) -> None:
        for o in resting:
            if (o.side is Side.BUY) == buy and o.price == price:
                at, level = self.places[o.order_id]
                self.places[o.order_id] = self.model.depth(at, level, new), new


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(QUEUE_MODELS)), st.lists(STEP, min_size=10, max_size=60))
def test_the_engine_moves_each_order_as_every_order_read_by_hand(
    name: str, steps: list[tuple[object, ...]]
) -> None:
    book = Book()
    model = QUEUE_MODELS[name]
    engine, hand = engine_with(book, model), ByHand(model)
    ids: list[int] = []
    for n, step in enumerate(steps):
        now = NOW + 1 + n
        resting = list(engine.resting("BTCUSDT"))
        try:
            if step[0] == "rest":
                _, (buy, price), qty = step  # type: ignore[misc]
                side = "BUY" if buy else "SELL"
                params = order(side=side, quantity=f"{qty / 1000:.3f}", price=f"{price / 100:.2f}")  # type: ignore[operator]
                placed = new_order(engine, ALICE, params, now).order
                if placed is not None and placed.status.is_open:
                    ids.append(placed.order_id)
                    hand.arrived(placed, book.quantity_at("BTCUSDT", buy, placed.price))  # type: ignore[arg-type]
            elif step[0] in ("cancel", "move") and ids:
                order_id = ids[step[1] % len(ids)]  # type: ignore[operator]
                found = engine.resting_order("BTCUSDT", order_id)
                if step[0] == "cancel":
                    cancel_order(engine, ALICE, {"symbol": "BTCUSDT", "orderid": str(order_id)}, now)
                elif found is not None:  # to the other level of its side
                    levels = BIDS if found.side is Side.BUY else ASKS
                    price = f"{levels[step[2]] / 100:.2f}"  # type: ignore[index]
                    amend_order(engine, ALICE, {"symbol": "BTCUSDT", "orderid": str(order_id), "side": found.side.value,
                                           "quantity": f"{found.orig_qty / 1000:.3f}", "price": price}, now)  # fmt: skip
                    if found.status.is_open:
                        buy = found.side is Side.BUY
                        hand.arrived(found, book.quantity_at("BTCUSDT", buy, found.price))
            elif step[0] == "trade":
                _, price, qty, sellers_took = step
                hand.traded(resting, price, qty, sellers_took)  # type: ignore[arg-type]
                engine.apply(Trades(tuple([trade(price, qty, sellers_took, now)])), now)  # type: ignore[arg-type]
            elif step[0] == "depth":
                _, (buy, price), qty = step  # type: ignore[misc]
                hand.changed(resting, buy, price, qty)  # type: ignore[arg-type]
                message = depth(book, [(price, qty)] if buy else [], [] if buy else [(price, qty)])  # type: ignore[list-item]
                engine.apply(Trades(tuple([message])), now)
        except RequestRefused:
            pass
        now_resting = list(engine.resting("BTCUSDT"))
        assert {o.order_id: o.queue_ahead for o in now_resting} == {
            o.order_id: hand.places[o.order_id][0].ahead for o in now_resting
        }, step
        for o in now_resting:
            assert 0 <= o.queue_ahead <= book.quantity_at("BTCUSDT", o.side is Side.BUY, o.price)
        assert len(engine.queues) <= _TIMES * len(now_resting) + _SLACK + 1
    assert RISK_AVERSE.name in QUEUE_MODELS


def test_a_payload_the_engine_cannot_read_is_passed_over_and_the_trades_after_it_fill() -> None:
    """A relayed upstream's payload that does not read (not an aggTrade, a price finer than
    the instrument's ticks) is passed over as the market view passes it over: the trades of
    the same delivery after it fill all the same (the whole delivery's fills were lost)."""
    book = Book()
    engine = engine_with(book)
    resting = rest(engine)
    finer = trade(BID, 500, True)  # its price one digit past the ticks
    unreadable = [
        StreamMessage("btcusdt@aggTrade", b'{"stream":"btcusdt@aggTrade","data":123}'),
        StreamMessage(finer.stream, finer.payload.replace(b'"59999.00"', b'"59999.001"')),
        StreamMessage("btcusdt@depthDiff", b"[1,2"),
    ]
    engine.apply(Trades(tuple([*unreadable, trade(BID, 1500, True)])), NOW + 1)  # 1.000 ahead, then 0.500 of it
    assert resting.executed_qty == 500
