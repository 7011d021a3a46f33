"""The venue's resting orders in the simulated book (``simulated_book.py``), without sockets: their
place in the queue, the trades that fill them (one public trade per maker order), the
simulator's cancels that never take them and come off the back of the queue, and the
simulated flow living around them."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from tickerplant.clock import ManualClock
from tickerplant.config import SimulatorConfig
from tickerplant.feeds.simulator.one_book import OneBook
from tickerplant.feeds.simulator.pump import SimulatedMarket
from tickerplant.feeds.simulator.simulated_book import MakerFill, SimulatedBook
from tickerplant.feeds.simulator.simulator import DEFAULT_START_MS, Simulator
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.updates import BookUpdate, Level, Trade

BID = True


def _book(qty: int = 100) -> SimulatedBook:
    book = SimulatedBook()
    book.set_level(BID, 1000, qty)
    book.set_level(BID, 999, 50)
    book.set_level(False, 1001, 70)
    return book


def test_an_order_joins_the_back_of_its_level_and_is_in_the_depth() -> None:
    book = _book()
    assert book.hold(7, BID, 1000, 30) == 100  # the 100 before it
    assert book.hold(8, BID, 1000, 5) == 130  # and the next behind both
    assert book.bids[1000] == 135 and book.own(BID, 1000) == 100


def test_a_fill_takes_the_queue_from_the_front_one_trade_per_maker_order() -> None:
    book = _book()
    book.hold(7, BID, 1000, 30)
    book.hold(8, BID, 1000, 5)
    assert book.take(BID, 60, 0, first_trade_id=500) == [Level(1000, 60)]  # all in front of ours
    assert book.drain() == [] and book.ahead(7) == 40
    fills = book.take(BID, 60, 0, first_trade_id=501)  # 40 more in front, then 20 of ours
    assert fills == [Level(1000, 40), Level(1000, 20)]
    assert book.drain() == [MakerFill(7, 502, 1000, 20, 0)]
    assert book.ahead(7) == 0 and book.ahead(8) == 10  # the 10 left of 7 before it
    fills = book.take(BID, 100, 0, first_trade_id=503)  # through the level: both filled
    assert fills == [Level(1000, 10), Level(1000, 5), Level(999, 50), ]  # fmt: skip
    assert book.drain() == [MakerFill(7, 503, 1000, 10, 0), MakerFill(8, 504, 1000, 5, 0)]
    assert book.held == ({}, {}) and book.queues == {} and 1000 not in book.bids


def test_the_simulators_cancels_leave_the_venues_quantity_and_come_off_the_back() -> None:
    book = _book()
    book.hold(7, BID, 1000, 30)
    book.set_level(BID, 1000, 0)  # a maker pulls the whole level: the venue's stays
    assert book.bids[1000] == 30 and book.own(BID, 1000) == 0 and book.ahead(7) == 0
    book.set_level(BID, 1000, 80)  # 50 join behind it
    assert book.ahead(7) == 0
    book.hold(8, BID, 1000, 10)
    assert book.ahead(8) == 80
    book.set_level(BID, 1000, 60)  # 30 cancelled: nothing of the simulator's is behind 8,
    assert book.ahead(8) == 50  # so they came from the 50 between 7 and 8: 30 + 20 before it
    assert book.own(BID, 1000) == 20


def test_withdrawing_an_order_moves_those_behind_it_up() -> None:
    book = _book()
    book.hold(7, BID, 1000, 30)
    book.hold(8, BID, 1000, 5)
    gone = book.withdraw(7)
    assert gone is not None and gone.qty == 30
    assert book.bids[1000] == 105 and book.ahead(8) == 100
    assert book.withdraw(7) is None
    book.withdraw(8)
    assert book.bids[1000] == 100 and book.held == ({}, {})


def test_a_level_only_the_venue_holds_is_not_the_simulators_to_trim() -> None:
    book = _book()
    book.hold(7, BID, 900, 30)  # far below the book
    assert book.bid_prices == [900, 999, 1000] and book.own_prices(BID) == [999, 1000]
    assert book.own_prices(False) is book.ask_prices  # nothing held there: the live list


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 3), st.integers(990, 1010), st.integers(0, 60)), max_size=40))
def test_the_span_the_simulator_reads_is_that_of_its_own_prices(steps: list[tuple[bool, int, int, int]]) -> None:
    """``own_span`` (asked after every action) is ``own_prices``' length and ends, whatever
    the venue holds and where: inside the book, at its ends, beyond them, alone or not."""
    book, key = _book(), 0
    for is_bid, kind, price, qty in steps:
        if kind == 0 and qty:
            key += 1
            book.hold(key, is_bid, price, qty)
        elif kind == 1 and book.orders:
            book.withdraw(sorted(book.orders)[qty % len(book.orders)])
        else:
            book.set_level(is_bid, price, qty)
        for side in (True, False):
            prices = book.own_prices(side)
            assert book.own_span(side) == ((len(prices), prices[0], prices[-1]) if prices else (0, 0, 0))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 60), st.integers(0, 3)), max_size=40))
def test_the_queue_stays_whole_whatever_happens(steps: list[tuple[int, int, int]]) -> None:
    """Random holds, withdrawals, the simulator's sets and takers at two prices: the level
    always holds every venue order, each order's place is within the level behind the ones
    before it, and every unit of a venue order is filled once or still rests."""
    book = _book()
    placed: dict[int, int] = {}
    key = 0
    for kind, qty, which in steps:
        price = 1000 - which % 2
        if kind == 0:
            key += 1
            book.hold(key, BID, price, qty)
            placed[key] = qty
        elif kind == 1 and placed:
            book.withdraw(sorted(placed)[which % len(placed)])
        elif kind == 2:
            book.set_level(BID, price, qty if which else 0)
        else:
            book.take(BID, qty, 999 if which < 2 else 1000)
        for (is_bid, at), queue in book.queues.items():
            level = (book.bids if is_bid else book.asks)[at]
            assert book.held[is_bid][at] == sum(o.qty for o in queue) <= level
            end = 0
            for order in queue:
                assert order.ahead >= end and order.qty > 0
                end = order.ahead + order.qty
            assert end <= level
    filled: dict[int, int] = {}
    for fill in book.drain():
        filled[fill.key] = filled.get(fill.key, 0) + fill.qty
    for k, qty in placed.items():
        resting = book.orders[k].qty if k in book.orders else 0
        assert filled.get(k, 0) + resting <= qty  # withdrawn ones took the rest away
        if k in book.orders:
            assert filled.get(k, 0) + resting == qty


def _simulator() -> Simulator:
    wanted = ("BTCUSDT", "ETHUSDT", "XRPUSDT")
    instruments = [i for i in catalogue(Market.UM, DEFAULT_START_MS) if i.symbol in wanted]
    return Simulator(instruments, seed=4, actions_per_s=400.0)


def test_the_simulated_flow_trades_a_resting_order_and_prints_its_fill() -> None:
    simulator = _simulator()
    book = simulator.books["BTCUSDT"]
    bid = book.bid_prices[-1]
    ahead, updates = simulator.outside.rest("BTCUSDT", 1, True, bid, 5, DEFAULT_START_MS)
    assert ahead == book.bids[bid] - 5
    assert next(u for u in updates if isinstance(u, BookUpdate)).bids == (Level(bid, ahead + 5),)
    trades: list[Trade] = []
    t = DEFAULT_START_MS
    while not (matched := simulator.outside.matched()):
        t += 100
        trades += [u for u in simulator.advance(t) if isinstance(u, Trade) and u.symbol == "BTCUSDT"]
        assert t < DEFAULT_START_MS + 600_000, "never filled"
    ((symbol, fill),) = matched
    assert symbol == "BTCUSDT" and fill.key == 1 and fill.price == bid
    trade = next(x for x in trades if x.trade_id == fill.trade_id)
    assert (trade.price, trade.qty, trade.buyer_is_maker) == (bid, fill.qty, True)  # its own trade
    before = [x for x in trades if x.trade_id < fill.trade_id and x.price == bid and x.buyer_is_maker]
    assert sum(x.qty for x in before) <= ahead  # no more than what was in front traded first


def test_the_flow_goes_on_around_resting_orders_and_never_crosses_them() -> None:
    simulator = _simulator()
    book = simulator.books["ETHUSDT"]
    tick = simulator._by_symbol["ETHUSDT"].tick
    bid, ask = book.bid_prices[-1], book.ask_prices[0]
    orders = [(1, True, bid - 3 * tick), (2, False, ask + 5 * tick), (3, True, bid - 20000 * tick)]
    for key, is_bid, price in orders:
        simulator.outside.rest("ETHUSDT", key, is_bid, price, 1000, DEFAULT_START_MS)
    shape = simulator._by_symbol["ETHUSDT"].shape
    t = DEFAULT_START_MS
    for _ in range(3000):
        t += 20
        simulator.advance(t)
        assert book.bid_prices[-1] < book.ask_prices[0]
        assert len(book.own_prices(True)) <= shape.high + 2 * 8
    held = {k: o.qty for k, o in book.orders.items()}
    filled = {}
    for _, fill in simulator.outside.matched():
        filled[fill.key] = filled.get(fill.key, 0) + fill.qty
    for key, _, _ in orders:
        assert held.get(key, 0) + filled.get(key, 0) == 1000
    assert 3 in held and book.bids[bid - 20000 * tick] >= held[3]  # the far one still there
    assert shape.low <= len(book.own_prices(True))  # and the book around it as deep as ever


async def test_each_markets_engine_is_told_the_fills_of_its_own_markets_orders_alone() -> None:
    # One simulator trades both markets' books; each market's engine reads it through a
    # OneBook of its own. A USDⓈ-M delivery settling matches must not take (and lose: no
    # such order is that engine's) a COIN-M order's fill, nor the other way round.
    wanted = ("BTCUSDT", "BTCUSD_PERP")
    instruments = [i for m in Market for i in catalogue(m, DEFAULT_START_MS) if i.symbol in wanted]
    source = SimulatedMarket(SimulatorConfig(), ManualClock(DEFAULT_START_MS))
    simulator = source.simulator = Simulator(instruments, seed=4, actions_per_s=400.0)
    books = {symbol: OneBook(source, _NoMarks(), [symbol]) for symbol in wanted}  # one market each
    for key, symbol in enumerate(wanted):
        books[symbol].rest(symbol, key, True, simulator.books[symbol].bid_prices[-1], 5, DEFAULT_START_MS, None)
    told: dict[str, set[str]] = {symbol: set() for symbol in wanted}
    t = DEFAULT_START_MS
    while not all(told.values()):
        t += 100
        simulator.advance(t)
        for symbol, book in books.items():
            matched = {match[0] for match in book.matched()}
            assert matched <= {symbol}, "another market's fill"
            told[symbol] |= matched
        assert t < DEFAULT_START_MS + 1_200_000, "never filled"


class _NoMarks:
    def mark(self, symbol: str) -> Fraction | None:
        return None
