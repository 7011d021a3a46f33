"""The resting orders a public trade reaches without the one book (``venue/book/maker_index.py``):
two engines take the same commands and trades, one reading the index, the other every
resting order in the order they came to rest (``Order.rested``: a moved order behind those
resting before its move) as the engine did before it; each step's events and journal
batches are the same, and the index stays bounded."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection

import msgspec
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_engine import ALICE, BOB, NOW, Book, Deposits, Kept, order

from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.book.maker_index import _SLACK, MakerIndex
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import Trades
from tickerplant.venue.domain.orders import Order, seeded_client_ids
from tickerplant.venue.wire.order_entry import amend_order, cancel_order, new_order


class EveryOrder(MakerIndex):
    """What the engine read before the index: every resting order, in the order they came
    to rest (the engine keeps its resting orders as they were first placed: the order of rest
    is their ``rested`` stamp)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine

    def met(
        self, symbol: str, sellers_took: bool, price: int, resting: Collection[Order],
        find: Callable[[int], Order | None],
    ) -> list[Order]:  # fmt: skip
        return sorted(self.engine.resting(symbol), key=lambda o: (o.rested, o.order_id))


class Bounded(MakerIndex):
    """The index, its bound checked after every use (no slack: the bound is twice what rests)."""

    def __init__(self) -> None:
        super().__init__(slack=0)
        self.uses = 0

    def add(self, order: Order, resting: Collection[Order]) -> None:
        super().add(order, resting)
        assert len(self) <= 2 * len(resting) + 1  # + the order itself, not yet in `resting` when new
        self.uses += 1

    def met(
        self, symbol: str, sellers_took: bool, price: int, resting: Collection[Order],
        find: Callable[[int], Order | None],
    ) -> list[Order]:  # fmt: skip
        reached = super().met(symbol, sellers_took, price, resting, find)
        assert len(self) <= max(2 * len(resting), 1)
        self.uses += 1
        return reached


def trade(price: int, qty: int, sellers_took: bool, at: int) -> StreamMessage:
    payload = {"e": "aggTrade", "E": at, "a": 1, "s": "BTCUSDT", "p": f"{price / 100:.2f}", "q": f"{qty / 1000:.3f}",
               "nq": "0", "f": 1, "l": 1, "T": at, "m": sellers_took}  # fmt: skip
    return StreamMessage("btcusdt@aggTrade", msgspec.json.encode(payload))


PRICES = st.integers(5_999_000, 6_001_000).map(lambda p: p // 10 * 10)  # the tick: 0.10
STEP = st.one_of(
    st.tuples(st.just("rest"), st.sampled_from([ALICE, BOB]), st.booleans(), PRICES, st.integers(1, 30)),
    st.tuples(st.just("cancel"), st.integers(0, 40)),
    st.tuples(st.just("move"), st.integers(0, 40), PRICES),
    st.tuples(st.just("trade"), PRICES, st.integers(1, 3000), st.booleans()),
)


def _apply(engine: Engine, step: tuple[object, ...], ids: list[tuple[int, int]], now: int) -> object:
    try:
        if step[0] == "rest":
            _, who, buy, price, qty = step
            params = order(side="BUY" if buy else "SELL", quantity=f"{qty / 1000:.3f}", price=f"{price / 100:.2f}")  # type: ignore[operator]
            placed = new_order(engine, who, params, now)  # type: ignore[arg-type]
            if placed.order is not None:
                ids.append((who, placed.order.order_id))  # type: ignore[arg-type]
        elif step[0] in ("cancel", "move") and ids:
            who, order_id = ids[step[1] % len(ids)]  # type: ignore[operator]
            if step[0] == "cancel":
                cancel_order(engine, who, {"symbol": "BTCUSDT", "orderid": str(order_id)}, now)
            else:
                found = engine.find(who, "BTCUSDT", order_id, None)
                side = "BUY" if found is None else found.side.value
                qty = "0.001" if found is None else f"{found.orig_qty / 1000:.3f}"
                amend_order(engine, who, {"symbol": "BTCUSDT", "orderid": str(order_id), "side": side, "quantity": qty,
                                     "price": f"{step[2] / 100:.2f}"}, now)  # type: ignore[operator]  # fmt: skip
        elif step[0] == "trade":
            _, price, qty, sellers_took = step
            engine.apply(Trades(tuple([trade(price, qty, sellers_took, now)])), now)  # type: ignore[arg-type]
    except RequestRefused as refused:
        return refused.code
    return None


def _engine(journal: Kept) -> Engine:
    deposits = Deposits()
    deposits.rows[BOB] = deposits.rows[ALICE]
    ids = seeded_client_ids(7)
    return Engine(Market.UM, catalogue(Market.UM, NOW), Book(), deposits, journal, client_ids=ids)


def plain(value: object) -> object:
    """``value`` with every order as its fields (an ``Order`` equals only itself)."""
    if isinstance(value, Order):
        return ("Order", *(plain(v) for v in msgspec.structs.astuple(value)))
    if isinstance(value, (tuple, list)):
        return type(value).__name__, [plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return type(value).__name__, [plain(getattr(value, f.name)) for f in dataclasses.fields(value)]
    return value


@settings(max_examples=60, deadline=None)
@given(st.lists(STEP, max_size=60))
# two buys at one price, the first placed moved there from another after the second came:
# the trade fills the second first (the moved one rests behind it)
@example([("rest", ALICE, False, 5_999_000, 1), ("rest", ALICE, True, 5_999_010, 1),
          ("rest", ALICE, True, 5_999_000, 1), ("move", 1, 5_999_000), ("trade", 5_999_000, 1, True)])
def test_a_trade_reaches_the_orders_the_walk_of_every_resting_order_reaches(steps: list[tuple[object, ...]]) -> None:
    kept, walked = Kept(), Kept()
    indexed, reference = _engine(kept), _engine(walked)
    indexed.makers, reference.makers = Bounded(), EveryOrder(reference)
    ids: list[tuple[int, int]] = []
    ref_ids: list[tuple[int, int]] = []
    for n, step in enumerate(steps):
        now = NOW + 1 + n
        assert _apply(indexed, step, ids, now) == _apply(reference, step, ref_ids, now)
        assert plain(indexed.outbox.take()) == plain(reference.outbox.take())
        assert plain(kept.batches) == plain(walked.batches)


def test_the_index_is_bounded_by_the_resting_orders() -> None:
    """Nothing is kept before a symbol's first trade; after it, an order moved back and forth
    leaves stale entries, which are dropped, not kept."""
    engine = _engine(Kept())
    placed = new_order(engine, ALICE, order(quantity="0.001", price="59000.00"), NOW).order
    assert placed is not None
    for n in range(1_000):
        price = "59000.00" if n % 2 else "59000.10"
        amend_order(engine, ALICE, {"symbol": "BTCUSDT", "orderid": str(placed.order_id), "side": "BUY",
                               "quantity": "0.001", "price": price}, NOW + 1 + 100 * n)  # fmt: skip
    assert len(engine.makers) == 0  # no trade yet: nothing kept
    find = lambda i: engine.resting_order("BTCUSDT", i)  # noqa: E731
    reached = engine.makers.met("BTCUSDT", True, 5_900_000, engine.resting("BTCUSDT"), find)
    assert reached == [placed] and len(engine.makers) == 1  # made at the first trade
    for n in range(1_000):  # kept from then on, bounded
        price = "59000.00" if n % 2 else "59000.10"
        amend_order(engine, ALICE, {"symbol": "BTCUSDT", "orderid": str(placed.order_id), "side": "BUY",
                               "quantity": "0.001", "price": price}, NOW + 200_000 + 100 * n)  # fmt: skip
        assert len(engine.makers) <= 2 + _SLACK
    reached = engine.makers.met("BTCUSDT", True, 5_900_000, engine.resting("BTCUSDT"), find)
    assert reached == [placed]  # once, though several entries hold its price


def test_a_trade_after_a_sweep_reads_no_more_than_twice_what_still_rests() -> None:
    """A trade through every buy but one: the index is made again at the next trade, which
    then reads what still rests, not the swept orders' entries."""
    engine = _engine(Kept())
    engine.makers = MakerIndex(slack=0)
    for n in range(150):  # MAX_NUM_ORDERS is 200
        new_order(engine, ALICE, order(quantity="0.001", price=f"{59_000 - n}.00"), NOW + 100 * n)
    far = new_order(engine, ALICE, order(quantity="0.001", price="50000.00"), NOW + 20_000).order
    engine.apply(Trades(tuple([trade(5_800_000, 1_000_000, True, NOW + 30_000)])), NOW + 30_000)
    assert list(engine.resting("BTCUSDT")) == [far]
    assert len(engine.makers) == 151  # the swept entries, until the index is used again
    looked: list[int] = []

    def find(order_id: int) -> Order | None:
        looked.append(order_id)
        return engine.resting_order("BTCUSDT", order_id)

    assert engine.makers.met("BTCUSDT", True, 5_850_000, engine.resting("BTCUSDT"), find) == []
    assert len(engine.makers) == 1 and looked == []


@pytest.mark.parametrize("sellers_took", [True, False])
def test_a_trade_reaches_only_its_side_at_or_beyond_its_price(sellers_took: bool) -> None:
    engine = _engine(Kept())
    rested = {}
    for price in ("59990.00", "59995.00", "60005.00", "60010.00"):
        side = "BUY" if price < "60000" else "SELL"
        placed = new_order(engine, ALICE, order(side=side, quantity="0.001", price=price), NOW).order
        assert placed is not None
        rested[price] = placed

    def reached(price: int) -> list[str]:
        find = lambda i: engine.resting_order("BTCUSDT", i)  # noqa: E731
        met = engine.makers.met("BTCUSDT", sellers_took, price, engine.resting("BTCUSDT"), find)
        return [f"{o.price / 100:.2f}" for o in met]

    if sellers_took:  # the buys at or above
        assert reached(5_999_500) == ["59995.00"]
        assert reached(5_999_000) == ["59990.00", "59995.00"]  # oldest first
        assert reached(6_000_000) == []
    else:  # the sells at or below
        assert reached(6_000_500) == ["60005.00"]
        assert reached(6_001_000) == ["60005.00", "60010.00"]
        assert reached(6_000_000) == []
