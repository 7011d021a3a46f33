from __future__ import annotations

import itertools
import math
import random
import statistics
from bisect import bisect_left, bisect_right
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tickerplant.feeds.simulator.book_shape import BookShape
from tickerplant.feeds.simulator.order_flow import OrderSizes
from tickerplant.feeds.simulator.simulator import Simulator
from tickerplant.market.book.order_book import OrderBook
from tickerplant.market.instruments import Instrument, Market, catalogue
from tickerplant.market.updates import BookUpdate, Liquidation, MarketUpdate, OpenInterest, Trade

NOW_MS = 1_767_225_600_000
UM = catalogue(Market.UM, NOW_MS)
CM = catalogue(Market.CM, NOW_MS)
BOTH = UM + CM


def _simulator(seed: int = 7, instruments: Sequence[Instrument] = BOTH, book_levels: int = 1000) -> Simulator:
    return Simulator(instruments, seed=seed, start_ms=NOW_MS, book_levels=book_levels)


# What holds at any depth is checked on the shallowest books: they build in a tenth of the time
SHALLOW = 20


def _run(sim: Simulator, steps: int, every_ms: int = 10) -> list[MarketUpdate]:
    updates: list[MarketUpdate] = list(sim.initial_updates(NOW_MS))
    for k in range(1, steps + 1):
        updates.extend(sim.advance(NOW_MS + k * every_ms))
    return updates


class _Mirror:
    """Checks a stream of updates the way a downstream consumer would see it."""

    def __init__(self, instruments: Sequence[Instrument]) -> None:
        self.instruments = {inst.symbol: inst for inst in instruments}
        self.books = {symbol: OrderBook() for symbol in self.instruments}
        self.last_update_id: dict[str, int] = {}
        self.reserved_id: dict[str, int] = {}  # the next_id of each symbol's last update
        self.hidden_ids: list[int] = []  # per update after a symbol's first: the ids skipped before it
        self.last_trade_id: dict[str, int] = {}
        self.pending: list[Trade] = []  # trades of the action whose BookUpdate is due
        self.actions = 0
        self.trading_actions = 0
        self.liquidations = 0

    def feed(self, updates: Sequence[MarketUpdate]) -> None:
        for update in updates:
            if isinstance(update, Trade):
                self.check_trade(update)
            elif isinstance(update, BookUpdate):
                self.check_book_update(update)
            elif isinstance(update, Liquidation):
                self.check_liquidation(update)
            else:
                assert isinstance(update, OpenInterest)
                inst = self.instruments[update.symbol]
                assert update.qty >= 0 and update.qty % inst.step == 0
        assert not self.pending, "trades must be followed by their action's book update"

    def check_liquidation(self, order: Liquidation) -> None:
        # a liquidation is an action of its own: its fills, itself, then its book update
        assert self.pending and all(t.symbol == order.symbol for t in self.pending)
        assert all(t.buyer_is_maker is not order.is_buy for t in self.pending)
        assert order.filled_qty == sum(t.qty for t in self.pending) <= order.qty
        worst = min(t.price for t in self.pending) if not order.is_buy else max(t.price for t in self.pending)
        assert (worst <= order.price) if order.is_buy else (worst >= order.price)  # its limit
        self.liquidations += 1

    def check_trade(self, trade: Trade) -> None:
        inst = self.instruments[trade.symbol]
        if self.pending:
            assert trade.symbol == self.pending[0].symbol
            assert trade.time_ms == self.pending[0].time_ms
            assert trade.buyer_is_maker == self.pending[0].buyer_is_maker
        assert trade.trade_id > self.last_trade_id.get(trade.symbol, -1)
        self.last_trade_id[trade.symbol] = trade.trade_id
        assert trade.qty > 0 and trade.qty % inst.step == 0
        # The mirror still shows the book from before the action: the trade must have
        # hit a level resting on the side the aggressor took from, within its quantity.
        # (An action's fills are at distinct levels, so each is checked against the
        # untouched level.)
        book = self.books[trade.symbol]
        resting = book.bids if trade.buyer_is_maker else book.asks
        assert trade.price in resting
        assert trade.qty <= resting[trade.price]
        assert all(trade.price != earlier.price for earlier in self.pending)
        self.pending.append(trade)

    def check_book_update(self, update: BookUpdate) -> None:
        inst = self.instruments[update.symbol]
        if self.pending:
            assert update.symbol == self.pending[0].symbol
            assert update.time_ms == self.pending[0].time_ms
            self.trading_actions += 1
            self.pending = []
        self.actions += 1
        assert update.update_id > self.last_update_id.get(update.symbol, -1)
        if update.symbol in self.last_update_id:
            # the id the previous update reserved (a snapshot before this one reports it, §4.9)
            assert update.update_id == self.reserved_id[update.symbol]
            self.hidden_ids.append(update.update_id - self.last_update_id[update.symbol] - 1)
        assert update.next_id > update.update_id
        self.last_update_id[update.symbol] = update.update_id
        self.reserved_id[update.symbol] = update.next_id
        assert update.bids or update.asks
        for level in update.bids + update.asks:
            assert level.price > 0 and level.price % inst.tick == 0
            assert level.qty >= 0 and level.qty % inst.step == 0
        book = self.books[update.symbol]
        book.apply(update)
        assert not book.is_crossed()
        assert book.bid_count > 0 and book.ask_count > 0


def test_same_seed_same_updates_and_different_seed_different() -> None:
    first = _run(_simulator(seed=11, book_levels=SHALLOW), 300)
    again = _run(_simulator(seed=11, book_levels=SHALLOW), 300)
    other = _run(_simulator(seed=12, book_levels=SHALLOW), 300)
    assert first == again
    assert first != other


def test_restarted_with_the_same_seed_its_ids_go_on_upward() -> None:
    """A stream's ids only grow, across a restart too (the plant restarted, docs/operations.md, Scale-out):
    the ids' bases move up with the start time faster than the busiest symbol's ids run."""
    busy = [inst for inst in UM if inst.symbol == "BTCUSDT"]  # every action on one symbol
    first = Simulator(busy, seed=7, actions_per_s=200_000.0, start_ms=NOW_MS, book_levels=SHALLOW)
    updates = list(first.initial_updates(NOW_MS))
    for k in range(1, 101):  # 100 ms at 200,000 actions a second
        updates.extend(first.advance(NOW_MS + k))
    last_u = max(u.update_id for u in updates if isinstance(u, BookUpdate))
    last_t = max(t.trade_id for t in updates if isinstance(t, Trade))
    again = Simulator(busy, seed=7, actions_per_s=200_000.0, start_ms=NOW_MS + 100, book_levels=SHALLOW)
    after = list(again.initial_updates(NOW_MS + 100)) + again.advance(NOW_MS + 110)
    assert min(u.update_id for u in after if isinstance(u, BookUpdate)) > last_u
    assert min(t.trade_id for t in after if isinstance(t, Trade)) > last_t


def test_invariants_hold_after_every_action() -> None:
    sim = _simulator()
    mirror = _Mirror(BOTH)
    mirror.feed(sim.initial_updates(NOW_MS))
    for k in range(1, 3001):
        mirror.feed(sim.advance(NOW_MS + k * 10))
    assert mirror.actions == sim.action_count + len(BOTH) + sim.liquidation_count
    assert mirror.liquidations == sim.liquidation_count
    # ids hidden between updates, as Binance's chains skip them (§4.9): 0 to 3, each often
    assert set(mirror.hidden_ids) == {0, 1, 2, 3}
    assert all(mirror.hidden_ids.count(n) > len(mirror.hidden_ids) / 8 for n in range(4))
    for symbol, book in sim.books.items():
        mirrored = mirror.books[symbol]
        assert mirrored.bids == book.bids and mirrored.asks == book.asks
        assert mirrored.bid_prices == book.bid_prices
        assert mirrored.ask_prices == book.ask_prices
        assert mirrored.last_update_id == book.last_update_id
        assert not book.is_crossed()


def test_a_lively_market() -> None:
    sim = _simulator()
    mirror = _Mirror(BOTH)
    mirror.feed(_run(sim, 6000))  # a minute
    assert sim.action_count > 20_000  # hundreds of book changes per second
    assert 0.10 <= mirror.trading_actions / mirror.actions <= 0.25
    assert len(mirror.last_trade_id) > len(BOTH) // 2  # trading spread over the symbols
    for symbol, book in sim.books.items():
        inst = mirror.instruments[symbol]
        spread = (book.ask_prices[0] - book.bid_prices[-1]) // inst.tick
        assert spread >= 1
        # the book tracks the fair price
        mid = (book.ask_prices[0] + book.bid_prices[-1]) / 2
        assert abs(mid / sim.fair_price(symbol) - 1) < 0.01


def test_initial_books() -> None:
    sim = _simulator()
    updates = sim.initial_updates(NOW_MS)
    books = [u for u in updates if isinstance(u, BookUpdate)]
    assert [u.symbol for u in books] == [inst.symbol for inst in BOTH]
    interest = [u for u in updates if isinstance(u, OpenInterest)]
    assert [u.symbol for u in interest] == [inst.symbol for inst in BOTH]  # with a warm past
    assert all(len(u.history) in (287, 288) for u in interest)  # a day of 5-minute points
    for update, inst in zip(books, BOTH, strict=True):
        assert len(update.bids) >= 1000 and len(update.asks) >= 1000
        assert update.time_ms == NOW_MS
        best_bid, best_ask = update.bids[0].price, update.asks[0].price
        assert best_ask - best_bid == inst.tick
        bid_prices = [level.price for level in update.bids]
        ask_prices = [level.price for level in update.asks]
        assert bid_prices == sorted(set(bid_prices), reverse=True)
        assert ask_prices == sorted(set(ask_prices))
        assert abs(best_bid / inst.initial_price - 1) < 0.001
        assert all(level.qty >= inst.min_qty for level in update.bids + update.asks)


def test_step_performs_exactly_n_actions() -> None:
    sim = _simulator()
    sim.initial_updates(NOW_MS)
    updates = sim.step(1000, NOW_MS + 5)
    assert sum(isinstance(u, BookUpdate) for u in updates) == 1000 + sim.liquidation_count
    assert all(u.time_ms == NOW_MS + 5 for u in updates)
    assert sim.action_count == 1000


@pytest.mark.parametrize("every_ms", [1, 50, 1000])
def test_rate_yields_about_actions_per_s_times_elapsed(every_ms: int) -> None:
    sim = Simulator(UM, seed=3, actions_per_s=400.0, start_ms=NOW_MS, book_levels=SHALLOW)
    elapsed_s = 100
    for k in range(1, elapsed_s * 1000 // every_ms + 1):
        updates = sim.advance(NOW_MS + k * every_ms)
        assert all(u.time_ms == NOW_MS + k * every_ms for u in updates)
    # Poisson with mean 40 000: a standard deviation of 200
    assert abs(sim.action_count - 400 * elapsed_s) < 2_000


def test_a_long_stall_does_not_flood() -> None:
    sim = Simulator(UM, seed=3, actions_per_s=400.0, start_ms=NOW_MS, book_levels=SHALLOW)
    sim.advance(NOW_MS + 3_600_000)
    assert sim.action_count < 400 * 10
    idle = Simulator(UM, seed=3, actions_per_s=0.0, start_ms=NOW_MS, book_levels=SHALLOW)
    assert idle.advance(NOW_MS + 10**6) == []


def test_quarterlies_move_with_their_perpetual() -> None:
    # a few actions a second move every driver: the fair prices walk with time, not with actions
    sim = Simulator(CM, seed=5, actions_per_s=40.0, start_ms=NOW_MS, book_levels=SHALLOW)
    quarterly = next(i for i in CM if i.symbol.startswith("BTCUSD_2"))
    ratio = quarterly.initial_price / next(i for i in CM if i.symbol == "BTCUSD_PERP").initial_price
    for k in range(1, 601):
        sim.advance(NOW_MS + k * 1000)
    moved = sim.fair_price(quarterly.symbol) / sim.fair_price("BTCUSD_PERP")
    assert moved == pytest.approx(ratio, rel=1e-4)


def test_warm_history() -> None:
    sim = _simulator(book_levels=SHALLOW)
    now = NOW_MS + 10_000
    history = sim.warm_history(now)
    assert history == sim.warm_history(now)  # its own random stream: repeatable
    assert [t.time_ms for t in history] == sorted(t.time_ms for t in history)
    assert all(now - 86_400_000 < t.time_ms < now for t in history)
    by_symbol: dict[str, list[Trade]] = {}
    for trade in history:
        by_symbol.setdefault(trade.symbol, []).append(trade)
    assert set(by_symbol) == {inst.symbol for inst in BOTH}
    instruments = {inst.symbol: inst for inst in BOTH}
    for symbol, trades in by_symbol.items():
        inst = instruments[symbol]
        assert 86_400 / 90 < len(trades) < 86_400 / 10  # a trade every 20-60 s or so
        ids = [t.trade_id for t in trades]
        assert ids == sorted(set(ids))
        assert trades[-1].price == sim.fair_price(symbol)  # the walk ends at the fair price
        assert all(t.qty >= inst.min_qty and t.qty % inst.step == 0 for t in trades)
        assert all(t.price > 0 and t.price % inst.tick == 0 for t in trades)
        prices = [t.price for t in trades]
        assert max(prices) / min(prices) < 1.5
    # live ids continue above the history's
    live = [u for u in sim.step(5000, now) if isinstance(u, Trade)]
    assert live
    for trade in live:
        assert trade.trade_id > by_symbol[trade.symbol][-1].trade_id


def test_warm_history_changes_nothing_that_follows() -> None:
    with_history, without = _simulator(seed=9, book_levels=SHALLOW), _simulator(seed=9, book_levels=SHALLOW)
    with_history.warm_history(NOW_MS)
    assert _run(with_history, 200) == _run(without, 200)


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        Simulator([], seed=1)
    with pytest.raises(ValueError):
        Simulator(UM, seed=1, actions_per_s=-1.0)
    with pytest.raises(ValueError):
        Simulator([UM[0], UM[0]], seed=1)
    with pytest.raises(ValueError, match="book_levels must be at least 20"):
        Simulator(UM, seed=1, book_levels=19)


_calls = st.lists(
    st.tuples(st.booleans(), st.integers(0, 2_000), st.integers(0, 300)),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32), _calls)
def test_any_call_sequence_keeps_the_invariants(seed: int, calls: list[tuple[bool, int, int]]) -> None:
    instruments = UM[:3] + CM[-4:]  # busy perpetuals and thin quarterlies
    sims = [Simulator(instruments, seed=seed, start_ms=NOW_MS, book_levels=SHALLOW) for _ in range(2)]
    mirror = _Mirror(instruments)
    now = NOW_MS
    outputs: list[list[MarketUpdate]] = [list(sim.initial_updates(now)) for sim in sims]
    for use_step, dt, n in calls:
        now += dt
        for sim, out in zip(sims, outputs, strict=True):
            out.extend(sim.step(n, now) if use_step else sim.advance(now))
    assert outputs[0] == outputs[1]
    mirror.feed(outputs[0])
    for symbol, book in sims[0].books.items():
        assert mirror.books[symbol].bids == book.bids
        assert mirror.books[symbol].asks == book.asks


# --- the stylized facts the simulator's docstring lists ---------------------------------


class _Minute:
    """Both markets for a simulated minute at the default rate, sampled every 100 ms."""

    def __init__(self) -> None:
        sim = _simulator(seed=21)
        self.sim = sim
        self.instruments = {inst.symbol: inst for inst in BOTH}
        self.spreads: dict[str, list[int]] = {s: [] for s in self.instruments}  # in ticks
        self.thinnest: dict[str, int] = dict.fromkeys(self.instruments, 10**9)
        self.touch: dict[str, list[float]] = {s: [] for s in self.instruments}  # mean of both
        self.within: dict[str, list[tuple[float, float]]] = {s: [] for s in _SCALED}
        self.trades: dict[str, list[int]] = {s: [] for s in self.instruments}
        self.levels_per_update: list[int] = []
        sim.initial_updates(NOW_MS)
        for k in range(1, 6001):
            for update in sim.advance(NOW_MS + k * 10):
                if isinstance(update, Trade):
                    self.trades[update.symbol].append(update.qty)
                elif isinstance(update, BookUpdate):
                    self.levels_per_update.append(len(update.bids) + len(update.asks))
            if k % 10:
                continue
            for symbol, book in sim.books.items():
                inst = self.instruments[symbol]
                bid, ask = book.bid_prices[-1], book.ask_prices[0]
                self.spreads[symbol].append((ask - bid) // inst.tick)
                self.thinnest[symbol] = min(self.thinnest[symbol], book.bid_count, book.ask_count)
                self.touch[symbol].append((book.bids[bid] + book.asks[ask]) / 2 / 10**inst.qty_decimals)
                if symbol in self.within and k % 500 == 0:
                    self.within[symbol].append(_within_one_percent(inst, book))


_SCALED = ("BTCUSDT", "ETHUSDT", "ATOMUSDT", "BTCUSD_PERP")


def _within_one_percent(inst: Instrument, book: OrderBook) -> tuple[float, float]:
    """Base-asset quantity resting within 1 % of the mid, (bids, asks); contracts' worth on COIN-M."""
    mid = (book.bid_prices[-1] + book.ask_prices[0]) / 2
    low = bisect_left(book.bid_prices, mid * 0.99)
    high = bisect_right(book.ask_prices, mid * 1.01)
    bids = sum(book.bids[p] for p in book.bid_prices[low:]) / 10**inst.qty_decimals
    asks = sum(book.asks[p] for p in book.ask_prices[:high]) / 10**inst.qty_decimals
    if inst.market is Market.CM:  # contracts of contract_size USD, in the base asset
        price = mid / 10**inst.price_decimals
        return bids * inst.contract_size / price, asks * inst.contract_size / price
    return bids, asks


@pytest.fixture(scope="module")
def minute() -> _Minute:
    return _Minute()


def test_books_stay_deep(minute: _Minute) -> None:
    # every side of every symbol, at every moment sampled: a full limit=1000 answer
    assert min(minute.thinnest.values()) >= 1000
    for symbol, book in minute.sim.books.items():
        assert book.bid_count >= 1000 and book.ask_count >= 1000, symbol
        assert not book.is_crossed()
    # ...and the depth is kept a few levels at a time, never by rebuilding
    levels = minute.levels_per_update
    assert sum(levels) / len(levels) < 6
    assert max(levels) <= 40


@pytest.mark.parametrize("levels", [20, 100])
def test_a_shallower_book_keeps_its_depth(levels: int) -> None:
    # book_levels: every side holds at least that many levels after every action, and a
    # margin more (not many more)
    sim = Simulator(BOTH, seed=5, start_ms=NOW_MS, book_levels=levels)
    mirror = _Mirror(BOTH)
    mirror.feed(sim.initial_updates(NOW_MS))
    thinnest = 10**9
    for k in range(1, 1001):
        updates = sim.advance(NOW_MS + k * 10)
        mirror.feed(updates)
        for update in updates:
            book = sim.books[update.symbol]
            thinnest = min(thinnest, book.bid_count, book.ask_count)
    assert sim.action_count > 3_000
    assert thinnest >= levels
    for symbol, book in sim.books.items():
        # ...and not many more: a margin of a few dozen
        assert levels <= book.bid_count < levels + 150 and levels <= book.ask_count < levels + 150
        assert not book.is_crossed()
        assert mirror.books[symbol].bids == book.bids and mirror.books[symbol].asks == book.asks


def test_the_touch_is_one_tick_wide_on_liquid_symbols(minute: _Minute) -> None:
    for symbol in ("BTCUSDT", "ETHUSDT", "BTCUSD_PERP", "ETHUSD_PERP"):
        spreads = minute.spreads[symbol]
        assert sum(s == 1 for s in spreads) / len(spreads) >= 0.8, symbol
    for symbol, spreads in minute.spreads.items():
        assert min(spreads) >= 1, symbol
        assert statistics.median(spreads) <= 2, symbol


def test_depth_at_the_scale_of_the_market(minute: _Minute) -> None:
    # BTCUSDT: several BTC at the touch, hundreds within 1 % of the mid
    assert 1.0 <= statistics.median(minute.touch["BTCUSDT"]) <= 20.0
    for bids, asks in minute.within["BTCUSDT"]:
        assert 100 <= bids <= 2_000 and 100 <= asks <= 2_000
    # the others in proportion to their activity (ETHUSDT 2/3 of BTCUSDT's, ATOMUSDT 1/40)
    value = {
        symbol: statistics.mean(b + a for b, a in minute.within[symbol])
        * minute.sim.fair_price(symbol)
        / 10 ** minute.instruments[symbol].price_decimals
        for symbol in _SCALED
    }
    assert 0.3 <= value["ETHUSDT"] / value["BTCUSDT"] <= 1.5
    assert 0.005 <= value["ATOMUSDT"] / value["BTCUSDT"] <= 0.1
    assert 0.15 <= value["BTCUSD_PERP"] / value["BTCUSDT"] <= 0.8


def test_resting_size_grows_away_from_the_touch(minute: _Minute) -> None:
    # levels 700-1000 out hold more than levels 1-50 (the touch aside), both sides pooled:
    # a trend can leave one side packed with small levels for a while, as in real books
    def band(book: OrderBook, start: int, stop: int) -> list[int]:
        bids = [book.bids[p] for p in reversed(book.bid_prices)][start:stop]
        return bids + [book.asks[p] for p in book.ask_prices[start:stop]]

    for symbol in ("BTCUSDT", "ETHUSDT", "BTCUSD_PERP"):
        book = minute.sim.books[symbol]
        assert statistics.median(band(book, 1, 50)) < statistics.median(band(book, 700, 1000)), symbol


def test_trade_sizes_are_heavy_tailed(minute: _Minute) -> None:
    # An exponential law puts its 99th percentile 6.6 medians out; trade sizes here, like
    # real ones, reach dozens of medians.
    for symbol in ("BTCUSDT", "ETHUSDT", "BTCUSD_PERP"):
        sizes = sorted(minute.trades[symbol])
        assert len(sizes) > 200
        assert sizes[len(sizes) * 99 // 100] / sizes[len(sizes) // 2] > 12, symbol


def test_order_sizes_have_a_power_law_tail() -> None:
    sizes = OrderSizes(next(i for i in UM if i.symbol == "BTCUSDT"))
    rng = random.Random(3)
    draws = sorted(sizes.lots(rng.random()) for _ in range(100_000))
    assert draws[0] >= sizes.min_lots and draws[-1] <= sizes.max_lots
    assert draws[99_000] / draws[50_000] > 20
    mean = statistics.fmean(draws)
    variance = statistics.fmean((d - mean) ** 2 for d in draws)
    kurtosis = statistics.fmean((d - mean) ** 4 for d in draws) / variance**2
    assert kurtosis > 50  # a normal law has 3, an exponential 9


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(BOTH), st.floats(0.0, 1.0, exclude_max=True), st.floats(0.1, 10.0))
def test_order_sizes_are_whole_lots_within_the_limits(inst: Instrument, u: float, scale: float) -> None:
    sizes = OrderSizes(inst)
    assert sizes.min_lots <= sizes.lots(u, scale) <= sizes.max_lots


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(BOTH), st.integers(0, 2**32))
def test_a_built_side_is_deep_ordered_and_on_the_grid(inst: Instrument, seed: int) -> None:
    shape = BookShape(inst)
    rng = random.Random(seed)
    for is_bid, best in ((True, inst.initial_price), (False, inst.initial_price + inst.tick)):
        levels = shape.side(best, is_bid, 1_100, rng.random)
        prices = [level.price for level in levels]
        assert len(levels) == 1_100
        assert prices == sorted(set(prices), reverse=is_bid)
        assert prices[0] == best
        assert all(p > 0 and p % inst.tick == 0 for p in prices)
        assert all(level.qty >= inst.step and level.qty % inst.step == 0 for level in levels)


class _HalfHour:
    """Six USDⓈ-M perpetuals for half an hour at 60 actions/s, BTCUSDT sampled each second."""

    def __init__(self) -> None:
        sim = Simulator(UM[:6], seed=4, actions_per_s=60.0, start_ms=NOW_MS)
        self.mids: list[float] = []
        self.actions: list[int] = []  # BTCUSDT actions in each second
        count = 0
        for k in range(1, 18_001):
            for update in sim.advance(NOW_MS + k * 100):
                count += isinstance(update, BookUpdate) and update.symbol == "BTCUSDT"
            if k % 10 == 0:
                book = sim.books["BTCUSDT"]
                self.mids.append((book.bid_prices[-1] + book.ask_prices[0]) / 2)
                self.actions.append(count)
                count = 0


def _autocorrelation(xs: Sequence[float], lag: int) -> float:
    mean = statistics.fmean(xs)
    variance = sum((x - mean) ** 2 for x in xs)
    return sum((xs[i] - mean) * (xs[i + lag] - mean) for i in range(len(xs) - lag)) / variance


@pytest.fixture(scope="module")
def half_hour() -> _HalfHour:
    return _HalfHour()


def test_volatility_clusters(half_hour: _HalfHour) -> None:
    # |returns| of a constant-volatility walk are uncorrelated; clustered, they are not
    mids = half_hour.mids
    moves = [abs(math.log(b / a)) for a, b in itertools.pairwise(mids)]
    assert statistics.fmean(_autocorrelation(moves, lag) for lag in range(1, 6)) > 0.05


def test_activity_clusters(half_hour: _HalfHour) -> None:
    # Poisson counts at a constant rate are uncorrelated from second to second
    assert _autocorrelation(half_hour.actions, 1) > 0.3
    assert _autocorrelation(half_hour.actions, 5) > 0.2
