"""The market's stores are at their steady size from the start, so an idle server's memory
does not grow over its first minutes: the books' hash tables, the market view's book and
klines (its backlogs applied after each ticker, not only once they pass their bound), the
simulator's tracked positions.

Sans-I/O, as the server runs it: ``Simulator`` → ``Plant`` → ``MarketView``, warmed as the
pump warms them, then two minutes of the default 400 actions a second in 20 ms steps."""

from __future__ import annotations

import random
import sys

import pytest

import tickerplant.market.book.depth as depth_module
from tickerplant.feeds.simulator.positions import MAX_POSITIONS
from tickerplant.feeds.simulator.simulator import Simulator
from tickerplant.market.book.order_book import OrderBook, settle_table
from tickerplant.market.demand import Subscribed
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.market.plant.plant import Plant
from tickerplant.market.plant.view import MarketView

T0 = 1_767_225_600_000
SYMBOLS = ("BTCUSDT", "ETHUSDT")


def _churn(book: OrderBook, rng: random.Random, levels: int, actions: int) -> None:
    """Levels come and go on the bid side, about ``levels`` of them held."""
    for _ in range(actions):
        price = rng.randrange(1, 2 * levels)
        book.set_level(True, price, rng.randrange(1, 5) if len(book) < levels else 0)


def test_a_settled_book_keeps_its_tables_through_churn() -> None:
    rng = random.Random(3)
    unsettled, settled = OrderBook(), OrderBook()
    for book in (unsettled, settled):
        for price in range(1, 1_151):
            book.set_level(True, price, 1)
    settled.settle()
    built, steady = sys.getsizeof(unsettled.bids), sys.getsizeof(settled.bids)
    for book in (unsettled, settled):
        _churn(book, rng, 1_150, 20_000)
    assert sys.getsizeof(settled.bids) == steady  # the table it started with
    assert sys.getsizeof(unsettled.bids) == steady > built  # where churn takes an unsettled one


def test_settling_keeps_the_contents() -> None:
    side = {price: price * 10 for price in range(1, 500)}
    settle_table(side)
    assert side == {price: price * 10 for price in range(1, 500)}
    empty: dict[int, int] = {}
    settle_table(empty)
    assert empty == {}


def _table_sizes(sim: Simulator, plant: Plant, view: MarketView) -> list[int]:
    books = [sim.books[s] for s in SYMBOLS]
    books += [plant.symbols[s].book for s in SYMBOLS]
    books += [view.symbols[s].book for s in SYMBOLS]
    return [sys.getsizeof(side) for book in books for side in (book.bids, book.asks)]


def test_an_idle_market_is_at_its_steady_size_from_the_start() -> None:
    instruments = [inst for inst in catalogue(Market.UM, T0) if inst.symbol in SYMBOLS]
    sim = Simulator(instruments, seed=5, start_ms=T0)
    plant = Plant(Market.UM, instruments, now_ms=T0)
    view = MarketView(Market.UM, instruments)
    # the warm start, as the pump gives it (feeds/simulator/pump.py)
    history = sim.warm_history(T0, 3_600_000)
    plant.warm(history)
    view.receive(plant.history(history))
    current: list[StreamMessage] = []
    plant.snapshot(T0, current)
    view.receive(current)
    view.receive([])  # the next batch: the tickers' symbols are applied one a batch, in line
    # the view applied its warm start's trades after the tickers that followed them
    assert [len(view.symbols[s].trade_backlog) for s in SYMBOLS] == [0, 0]
    books: list[StreamMessage] = []
    for update in sim.initial_updates(T0):
        plant.apply(update, T0, books)
    plant.end_batch(T0, books)
    plant.start_depth_chains()
    view.receive(books)
    # the tracked positions at the cap from the start, less the few seeded past their liquidation
    assert min(len(sim.positions(s)) for s in SYMBOLS) > 0.9 * MAX_POSITIONS

    now, started, tables, klines = T0, [], [0], [0]
    for step in range(1, 6_001):
        now = T0 + 20 * step
        out: list[StreamMessage] = []
        for update in sim.advance(now):
            plant.apply(update, now, out)
        plant.end_batch(now, out)
        if now >= plant.next_tick_ms:
            plant.tick(now, out)
        view.receive(out)
        if step == 150:  # 3 s in: the view's first tickers have come
            started = _table_sizes(sim, plant, view)
            assert all(view.symbols[s].book.last_update_id for s in SYMBOLS)  # built, not waiting
    tables = _table_sizes(sim, plant, view)
    assert tables == started  # not one table grew in two minutes of trading
    for symbol in SYMBOLS:
        sv = view.symbols[symbol]
        assert len(view.book(sv)) == len(plant.symbols[symbol].book)
    klines = [len(view.symbols[s].klines.series("1m")) for s in SYMBOLS]
    assert all(k > 0 for k in klines)


def _texts(plant: Plant, symbol: str) -> tuple[int, int]:
    depth = plant.symbols[symbol].depth
    return len(depth.bid_levels), len(depth.ask_levels)


class _Market:
    """A simulated market and its plant following ``demand``, as a serving process's plant
    follows its connections' (``Subscribed``), its books' chains started."""

    def __init__(self, demand: Subscribed) -> None:
        instruments = [inst for inst in catalogue(Market.UM, T0) if inst.symbol in SYMBOLS]
        self.sim = Simulator(instruments, seed=5, start_ms=T0)
        self.plant = Plant(Market.UM, instruments, now_ms=T0)
        books: list[StreamMessage] = []
        for update in self.sim.initial_updates(T0):
            self.plant.apply(update, T0, books)
        self.plant.end_batch(T0, books)
        self.plant.start_depth_chains()
        self.plant.follow(demand)
        self.now = T0

    def step(self, out: list[StreamMessage]) -> bool:
        """20 ms of trading into ``out``; whether the plant ticked."""
        self.now += 20
        for update in self.sim.advance(self.now):
            self.plant.apply(update, self.now, out)
        self.plant.end_batch(self.now, out)
        if self.now < self.plant.next_tick_ms:
            return False
        self.plant.tick(self.now, out)
        return True

    def trade(self, seconds: int) -> list[StreamMessage]:
        out: list[StreamMessage] = []
        for _ in range(seconds * 50):
            self.step(out)
        return out


def test_the_depth_texts_are_kept_while_somebody_takes_the_symbols_depth_and_only_then() -> None:
    """Kept for nobody, a depth text held its level's integers from when it was written
    while the book moved on (the memory benchmark's first minutes: ~6 MB over the catalogue,
    and ~16 MB of texts from the start)."""
    demand = Subscribed()
    market = _Market(demand)
    plant = market.plant
    market.trade(2)
    assert [_texts(plant, s) for s in SYMBOLS] == [(0, 0), (0, 0)]  # nobody takes depth
    demand.hold("btcusdt@depth@100ms")
    pushed = market.trade(1)
    btc = plant.symbols["BTCUSDT"].book
    assert _texts(plant, "BTCUSDT") == (len(btc.bids), len(btc.asks))  # the whole book's, at once
    assert _texts(plant, "ETHUSDT") == (0, 0)
    assert any(m.stream == "btcusdt@depth@100ms" for m in pushed)
    demand.release("btcusdt@depth@100ms")
    market.trade(1)
    assert [_texts(plant, s) for s in SYMBOLS] == [(0, 0), (0, 0)]
    plant.follow(None)  # a plant behind the bus: every stream, so every symbol's texts
    assert [_texts(plant, s) for s in SYMBOLS] == [
        (len(plant.symbols[s].book.bids), len(plant.symbols[s].book.asks)) for s in SYMBOLS
    ]


def test_a_demand_taking_many_symbols_depth_has_their_texts_written_a_few_at_each_tick(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A deep book's texts are ~5 ms of the loop: a client taking forty symbols' depth at
    once would hold it 0.2 s; they are written ``TEXTS_A_LOOK`` symbols a look instead."""
    monkeypatch.setattr(depth_module, "TEXTS_A_LOOK", 1)
    demand = Subscribed()
    market = _Market(demand)
    demand.hold("btcusdt@depth20@100ms")
    demand.hold("ethusdt@depth")
    kept = []
    while len(kept) < 3:
        if market.step([]):
            kept.append(sum(1 for s in SYMBOLS if market.plant.symbols[s].depth.texts_kept))
    assert kept == [1, 2, 2]  # one symbol a look, then both


def test_the_texts_a_push_wrote_before_they_were_written_whole_go_when_nobody_takes_depth(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(depth_module, "TEXTS_A_LOOK", 0)  # never written whole: pushes alone write
    demand = Subscribed()
    market = _Market(demand)
    demand.hold("btcusdt@depth@100ms")
    market.trade(1)
    assert sum(_texts(market.plant, "BTCUSDT")) > 0  # the levels its pushes named
    demand.release("btcusdt@depth@100ms")
    market.trade(1)
    assert _texts(market.plant, "BTCUSDT") == (0, 0)
