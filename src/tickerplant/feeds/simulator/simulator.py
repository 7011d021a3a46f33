"""A synthetic market: deep limit order books driven by random order flow.

Every symbol has an ``OrderBook`` of at least ``book_levels`` price levels a side (1,000 by
default, kept between 1,150 and 1,350), shaped like a real futures book (``book_shape``),
and follows a latent *fair price* whose volatility and activity cluster (``fair_price``).
Order flow arrives as a Poisson process of *actions* at ``actions_per_s`` across all
symbols, each on one symbol chosen by its activity weight (times its asset's current
activity multiplier). An action is one of:

- a taker order (market, or a limit priced through the opposite best that rests what it
  cannot fill), heavy-tailed in size (``order_flow``), on the side the fair price leans
  to more often than not; it sweeps at most ``_MAX_SWEEP`` levels;
- a maker quote: one stepping in front when the spread is wider than a tick, else
  joining the queue at the best price;
- a passive limit order a power-law number of ticks behind its side's best;
- a cancel, whole or half, of a level near the touch;
- churn of the deep book: a cancel, a new order in a hole, or a resized level, anywhere.

After its order, every action lets the book *follow* the fair price: makers pull stale
quotes and move the queues behind the new touch, so the touch stays a tick wide while the
price walks (the churn and the following are ``book_upkeep``'s). Last, the far ends keep the
depth: a side thinner than its ``BookShape.low`` gets up to ``book_shape.REFILL`` new levels
beyond its far end, one deeper than its ``BookShape.high`` loses its farthest. Each action
so does a bounded amount of work and changes a handful of levels, whatever the depth.

Leveraged positions and open interest move with the taker orders (``positions``); after a
step, every ``_CHECK_MS`` at most, each mark price is checked against its symbol's positions'
liquidation prices, and a crossed one sends its liquidation order through the book as an
action of its own: its ``Trade``s, a ``Liquidation``, its ``BookUpdate`` (``liquidations``;
cascades included). Each symbol's ``OpenInterest`` goes out at most once a second, when it moved.

Trades come only from matching, so the trade, ticker, kline and depth streams the plant
derives agree with each other. Each action yields the ``Trade``s it caused, then exactly
one ``BookUpdate`` (absolute quantities, 0 removes a level, spec §4.9), all stamped with
the same time; trade ids increase by one per fill, update ids by one per action plus 0 to
3 hidden ones drawn from the seed (§4.9: Binance's chains skip ids, `U` > `pu` + 1), each
update reserving the next one's (``BookUpdate.next_id``); update ids from a base that grows
with the start time (``simulated_symbol.IDS_PER_MS``), trade ids too unless given (the past's).

Stylized facts, each checked by a test in ``tests/feeds/test_simulator.py``:

- depth: every side holds at least ``book_levels`` (1,000) levels at every moment sampled,
  so a ``limit=1000`` depth answer is full, kept a few levels per action
  (``test_books_stay_deep``, and ``test_a_shallower_book_keeps_its_depth`` for a smaller
  ``book_levels``). The one exception is physical: bids of a symbol whose price falls below
  that many ticks have fewer prices left;
- the touch is one tick wide most of the time on the liquid symbols
  (``test_the_touch_is_one_tick_wide_on_liquid_symbols``);
- size rests at the scale of the real market and grows away from the touch: BTCUSDT holds
  several BTC at the touch and hundreds within 1 % of the mid; thinner contracts less, in
  proportion to their activity (``test_depth_at_the_scale_of_the_market``,
  ``test_resting_size_grows_away_from_the_touch``);
- order and trade sizes are heavy-tailed: the 99th percentile of trade sizes lies more than
  a dozen medians out, where an exponential law gives under seven, and the kurtosis of
  order sizes runs into the thousands (``test_trade_sizes_are_heavy_tailed``,
  ``test_order_sizes_have_a_power_law_tail``);
- volatility clusters: absolute mid returns are positively autocorrelated at short lags
  (``test_volatility_clusters``); activity clusters too: a symbol's per-second action
  counts are autocorrelated, where a constant-rate Poisson flow's are not
  (``test_activity_clusters``);
- never crossed, no side ever empty, ids and update contract as above
  (``test_invariants_hold_after_every_action`` and the property test);
- deterministic per seed (``test_same_seed_same_updates_and_different_seed_different``).

Memory is bounded by design: per symbol a book of about 1,350 levels a side at most
(``book_shape``), ``positions.MAX_POSITIONS`` positions and fixed numbers; ``step`` keeps
none of the updates it returns. Nothing here reads a clock or the global ``random``: time is
an argument and all randomness comes from ``random.Random`` instances seeded from ``seed``,
so a seed and a sequence of calls replay exactly.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from itertools import accumulate

from tickerplant.feeds.simulator import book_shape
from tickerplant.feeds.simulator.book_upkeep import BookUpkeep
from tickerplant.feeds.simulator.fair_price import FairPrice, Regimes
from tickerplant.feeds.simulator.history import simulated_history
from tickerplant.feeds.simulator.hourly import HourlyActivity
from tickerplant.feeds.simulator.impact import pressure_after
from tickerplant.feeds.simulator.liquidations import liquidate
from tickerplant.feeds.simulator.order_flow import placement_ticks
from tickerplant.feeds.simulator.outside import OutsideOrders
from tickerplant.feeds.simulator.positions import Positions, open_interest_history, seed_each
from tickerplant.feeds.simulator.simulated_book import SimulatedBook
from tickerplant.feeds.simulator.symbol import IDS_PER_MS, SimulatedSymbol
from tickerplant.market.instruments import Instrument
from tickerplant.market.units import DAY_MS, MINUTE_MS, SECOND_MS
from tickerplant.market.updates import BookUpdate, Level, MarketUpdate, OpenInterest, Trade, levels

__all__ = ["DEFAULT_START_MS", "Simulator"]

DEFAULT_START_MS = 1_767_225_600_000  # 2026-01-01T00:00Z, ManualClock's default

# The action mix (cumulative thresholds). About an eighth of actions trade.
_P_TAKE = 0.13
_P_QUOTE = _P_TAKE + 0.24
_P_PLACE = _P_QUOTE + 0.28
_P_CANCEL = _P_PLACE + 0.25  # the rest churn the deep book (book_upkeep)
_P_MARKET = 0.5  # of taker orders; the others are limit orders priced through the touch
_TAKER_SCALE = 1.5  # taker orders run larger than resting ones
_MAX_SWEEP = 8  # levels a taker order reaches at most (price protection)
_LEAN = 0.3  # how far the fair price's lean tilts the taker side from even
_LEAN_TICKS = 4.0  # a lean of this many ticks tilts it fully

_SCALE_RATE = 400.0  # actions a second the books' sizes are those of (the default rate)
_MAX_BACKLOG_MS = 5_000  # after a longer stall (a suspended laptop), skip the backlog
_MAX_MOVE_MS = 3_600_000  # so a wrong start_ms cannot move a price by months of volatility
_CHECK_MS = 20  # the mark prices are checked against the positions this often at most
_HIDDEN_ID_BITS = 2  # 0 to 3 update ids hidden before each update: the bits drawn
_INTEREST_HISTORY_MS = DAY_MS  # the warm open-interest history: a day of 5-minute points


class Simulator:
    """A seeded synthetic market over ``instruments``; see the module docstring. The books
    are built at construction around each instrument's initial price, so ``books`` and
    ``fair_price`` are valid at once; ``initial_updates`` publishes them."""

    def __init__(
        self,
        instruments: Sequence[Instrument],
        seed: int,
        actions_per_s: float = 400.0,
        start_ms: int = DEFAULT_START_MS,
        book_levels: int = book_shape.TARGET_LEVELS,
        # each symbol's first trade id and aggregate trade id, where its past ends
        trade_ids: Mapping[str, tuple[int, int]] | None = None,
        activity: Callable[[str, int], float] | None = None,
    ) -> None:
        if not instruments:
            raise ValueError("a simulator needs at least one instrument")
        if actions_per_s < 0:
            raise ValueError("actions_per_s must not be negative")
        if book_levels < book_shape.MIN_LEVELS:
            raise ValueError(f"book_levels must be at least {book_shape.MIN_LEVELS}, not {book_levels}")
        self.seed = seed
        self.actions_per_s = actions_per_s
        self.action_count = 0
        self.liquidation_count = 0  # liquidation orders that traded, actions of their own
        # the mark price positions are liquidated at, in price units (the pump sets it to
        # SimulatedDerivatives.mark_units); None: the fair price stands in for it
        self.mark_price: Callable[[str], int] | None = None
        self._rng = random.Random(seed)
        self._random = self._rng.random
        positions_rng = random.Random(f"{seed}/positions")  # apart: the order flow is as before
        self._hidden_ids = random.Random(f"{seed}/update-ids").getrandbits  # apart too
        drivers: dict[str, FairPrice] = {}
        self._states: list[SimulatedSymbol] = []
        for inst in instruments:
            driver = drivers.get(inst.base_asset)
            if driver is None:
                driver = drivers[inst.base_asset] = FairPrice(inst.daily_volatility, start_ms)
            ids_from = max(0, start_ms - DEFAULT_START_MS) * IDS_PER_MS  # upward after a restart
            state = SimulatedSymbol(inst, driver, self._rng, book_levels, positions_rng, ids_from)
            if trade_ids is not None:  # the live trades go on from the past's ids
                state.next_trade_id, state.next_agg_id = trade_ids[inst.symbol]
                state.first_live_trade_id = state.next_trade_id
            self._states.append(state)
        # in the order of the instruments, MAX_POSITIONS a symbol (positions.seed_each)
        seeds = [(s.positions, s.inst.initial_price, s.sizes.lots) for s in self._states]
        seed_each(seeds, positions_rng, (seed, tuple(instruments)))
        self._by_symbol = {state.symbol: state for state in self._states}
        if len(self._by_symbol) != len(self._states):
            raise ValueError("duplicate symbols")
        self._instrument_activity = sum(max(0.0, i.activity) for i in instruments)
        if self._instrument_activity <= 0:
            raise ValueError("at least one instrument needs a positive activity")
        self._regimes = Regimes(list(drivers.values()), self._rng, start_ms)
        self._cumulative_activity: list[float] = []
        self._total_activity = 0.0
        # as busy each hour as the past was (hourly.py): actions_per_s is the week's mean
        self._hours = HourlyActivity(
            activity, [s.symbol for s in self._states], [s.inst.activity for s in self._states], actions_per_s
        )
        self._hours.enter(start_ms)
        self._reweigh()
        self.books: dict[str, SimulatedBook] = {s.symbol: s.book for s in self._states}
        for state in self._states:
            self._build_book(state)
        self._next_action_ms = start_ms + self._interarrival_ms()
        self._next_interest_ms = start_ms  # the next report of the open interests
        self._next_check_ms = start_ms  # the next look at the positions (_CHECK_MS)
        self._looked()  # next_due_ms, moved by due and step only
        # the prices each side changed in the action under way
        self._changed: tuple[list[int], list[int]] = ([], [])  # (asks, bids): index by is_bid
        self._upkeep = BookUpkeep(self._random, self._changed)
        by_symbol, changed = self._by_symbol, self._changed  # the venue's orders in them: outside.py
        self.outside = OutsideOrders(by_symbol, changed, self._flush, self._random, self.daily_volume)

    # --- public surface ----------------------------------------------------------------

    def fair_price(self, symbol: str) -> int:
        """The latent fair price of ``symbol`` in price units, on its tick grid."""
        state = self._by_symbol[symbol]
        return max(state.tick, round(state.fair() / state.tick) * state.tick)

    def positions(self, symbol: str) -> Positions:
        """``symbol``'s leveraged positions and open interest (``positions``)."""
        return self._by_symbol[symbol].positions

    def trade_ids_above(self, symbol: str, taken: int) -> None:
        """``symbol``'s next trade id past ``taken`` (ids somebody holds: a venue journal's
        fills), its aggregate ids moved as far: see ``pump.SimulatedMarket.trade_ids_above``."""
        state = self._by_symbol[symbol]
        shift = taken + 1 - state.next_trade_id
        if shift > 0:
            state.next_trade_id += shift
            state.next_agg_id += shift
            state.first_live_trade_id = state.next_trade_id

    def shock(self, symbol: str, factor: float) -> None:
        """Move the fair price of ``symbol``'s asset by ``factor`` at once (news)."""
        self._by_symbol[symbol].driver.factor *= factor

    def daily_volume(self, symbol: str) -> float:
        """What the simulator's own takers trade of ``symbol`` in a day at the rate its
        books are sized for (``_SCALE_RATE``, whatever ``--sim-rate`` is: a slower market
        is as deep, not thinner), in quantity units: the impact law's V."""
        state = self._by_symbol[symbol]
        share = max(0.0, state.inst.activity) / self._instrument_activity
        taker: float = state.sizes.mean_lots * _TAKER_SCALE * state.step
        return _SCALE_RATE * share * _P_TAKE * taker * DAY_MS / SECOND_MS

    def initial_updates(self, now_ms: int, *, interest_past: bool = True) -> list[MarketUpdate]:
        """One update per symbol holding every level of its book: what a mirror starts from;
        then each symbol's open interest, with a warm past (``_INTEREST_HISTORY_MS``) unless
        the server has a past of its own (``market/history/interest.py``)."""
        updates: list[MarketUpdate] = []
        for state in self._states:
            book, bid_prices = state.book, state.book.bid_prices[::-1]
            bids = levels(bid_prices, map(book.bids.__getitem__, bid_prices))
            asks = levels(book.ask_prices, map(book.asks.__getitem__, book.ask_prices))
            updates.append(self._book_update(state, now_ms, bids, asks))
        rng = random.Random(f"{self.seed}/open-interest")
        for state in self._states:
            mark = self._liquidation_mark_units(state)
            past = open_interest_history(
                state.positions, mark, state.driver.sigma, rng, now_ms, _INTEREST_HISTORY_MS, 5 * MINUTE_MS
            ) if interest_past else ()
            updates.append(OpenInterest(state.symbol, now_ms, state.positions.open_interest, mark, past))
            state.positions.changed = False
        return updates

    def advance(self, now_ms: int) -> list[MarketUpdate]:
        """Perform the actions that fell due up to ``now_ms``, all stamped ``now_ms``."""
        return self.step(self.due(now_ms), now_ms)

    def due(self, now_ms: int) -> int:
        """How many actions fell due up to ``now_ms``, taken (to ``step`` at once or a batch
        at a time). Actions arrive as a Poisson process of rate ``actions_per_s``; the
        arrival time of the next carries over, so any calling rhythm gives the same count."""
        next_ms = self._next_action_ms
        if now_ms - next_ms > _MAX_BACKLOG_MS:
            next_ms = now_ms - _MAX_BACKLOG_MS
        count = 0
        while next_ms <= now_ms:
            count += 1
            next_ms += self._interarrival_ms()
        self._next_action_ms = next_ms
        self._due_ms = min(math.ceil(min(next_ms, 1 << 62)), self._looks_ms)  # 1 << 62: a rate of 0
        return count

    @property
    def next_due_ms(self) -> int:
        """The first ms a step has anything to do at (an action, a look): a shell may sleep till
        then. Kept as ``due`` and ``step`` move it, the only calls that do (a shell asks at each look)."""
        return self._due_ms

    def _looked(self) -> None:  # a step moved its looks: the next due time with them
        looks = (self._next_check_ms, self._next_interest_ms, self._hours.next_ms, self._regimes.next_ms)
        self._looks_ms = min(looks)
        self._due_ms = min(math.ceil(min(self._next_action_ms, 1 << 62)), self._looks_ms)

    def step(self, n: int, now_ms: int) -> list[MarketUpdate]:
        """Perform exactly ``n`` actions stamped ``now_ms``, whatever the rate."""
        if now_ms >= self._hours.next_ms and self._hours.enter(now_ms):
            self._reweigh()
        if now_ms >= self._regimes.next_ms:
            self._regimes.step(now_ms)
            self._reweigh()
        out: list[MarketUpdate] = []
        act = self._act
        for _ in range(n):
            act(now_ms, out)
        self.action_count += n
        if now_ms >= self._next_check_ms:  # the liquidation engine samples the mark prices
            self._next_check_ms = now_ms + _CHECK_MS
            for state in self._states:
                mark, positions = self._liquidation_mark_units(state), state.positions
                if mark <= positions.long_trigger or mark >= positions.short_trigger:
                    self._liquidate(state, mark, now_ms, out)
        if now_ms >= self._next_interest_ms:  # at most once a second, the ones that moved
            self._next_interest_ms = now_ms - now_ms % SECOND_MS + SECOND_MS
            for state in self._states:
                if state.positions.changed:
                    state.positions.changed = False
                    oi = state.positions.open_interest
                    out.append(OpenInterest(state.symbol, now_ms, oi, self._liquidation_mark_units(state)))
        self._looked()
        return out

    def warm_history(self, now_ms: int, window_ms: int = DAY_MS) -> list[Trade]:
        """Plausible past trades (``simulated_history``) to feed a plant by hand; the server's
        past is ``market/history``'s. Asking for it changes nothing that follows."""
        return simulated_history(self._states, self.seed, now_ms, window_ms)

    # --- choosing and dispatching actions ----------------------------------------------

    def _interarrival_ms(self) -> float:
        rate = self._hours.rate
        if rate <= 0:
            return math.inf
        return -math.log(1.0 - self._random()) * 1000.0 / rate

    def _reweigh(self) -> None:
        """Each symbol's share of the flow: its activity times its asset's current mood
        (times how busy its past is this hour)."""
        weights = (
            max(0.0, s.inst.activity) * s.driver.activity * f
            for s, f in zip(self._states, self._hours.factors, strict=True)
        )
        self._cumulative_activity = list(accumulate(weights))
        self._total_activity = self._cumulative_activity[-1]

    def _act(self, now_ms: int, out: list[MarketUpdate]) -> None:
        random_ = self._random
        cumulative = self._cumulative_activity
        # hi= keeps a draw rounded up to the total on the last symbol
        state = self._states[
            bisect_right(cumulative, random_() * self._total_activity, 0, len(cumulative) - 1)
        ]
        driver = state.driver
        elapsed = now_ms - driver.last_ms
        if elapsed > 0:
            elapsed = min(elapsed, _MAX_MOVE_MS)
            driver.factor *= math.exp(driver.vol_sigma * math.sqrt(elapsed) * self._rng.gauss())
            driver.last_ms = now_ms
            if driver.pressure:
                driver.pressure = pressure_after(driver.pressure, elapsed)
        fair = state.fair()  # price units, off the tick grid
        changed = self._changed
        is_bid = random_() < 0.5
        kind = random_()
        if kind < _P_TAKE:
            self._take(state, fair, now_ms, out)
        elif kind < _P_QUOTE:
            self._upkeep.quote(state, is_bid)
        elif kind < _P_PLACE:
            self._upkeep.place(state, is_bid)
        elif kind < _P_CANCEL:
            self._upkeep.cancel(state, is_bid)
        else:
            self._upkeep.churn(state, is_bid)
        self._upkeep.follow(state, fair)
        state.shape.keep_depth(state.book, random_, changed)
        self._flush(state, now_ms, out)

    def _liquidation_mark_units(self, state: SimulatedSymbol) -> int:
        # without a mark, the fair price on the tick grid stands in
        return self.fair_price(state.symbol) if self.mark_price is None else self.mark_price(state.symbol)

    def _liquidate(self, state: SimulatedSymbol, mark: int, now_ms: int, out: list[MarketUpdate]) -> None:
        """Liquidate the positions the mark has crossed, one by one, each an action of its
        own whose fills move the fair price, so perhaps the mark past the next (a cascade)."""
        while (position := state.positions.due(mark)) is not None:
            liquidation = liquidate(state, position, now_ms, self._changed, out)
            if liquidation is not None:
                out.append(liquidation)
                state.shape.keep_depth(state.book, self._random, self._changed)
                self._flush(state, now_ms, out)
                self.liquidation_count += 1
            mark = self._liquidation_mark_units(state)

    def _flush(self, state: SimulatedSymbol, now_ms: int, out: list[MarketUpdate]) -> None:
        """The action's ``BookUpdate``: every level it changed, once, at its new quantity."""
        changed = self._changed
        asks_changed, bids_changed = changed
        if len(bids_changed) > 1:
            bids_changed = list(dict.fromkeys(bids_changed))
        if len(asks_changed) > 1:
            asks_changed = list(dict.fromkeys(asks_changed))
        bids, asks = state.book.bids, state.book.asks
        bid_levels = tuple([Level(p, bids.get(p, 0)) for p in bids_changed])
        ask_levels = tuple([Level(p, asks.get(p, 0)) for p in asks_changed])
        out.append(self._book_update(state, now_ms, bid_levels, ask_levels))
        changed[0].clear()
        changed[1].clear()

    def _book_update(
        self, state: SimulatedSymbol, now_ms: int, bids: tuple[Level, ...], asks: tuple[Level, ...]
    ) -> BookUpdate:
        update_id = state.next_update_id
        # the next update's id, past the ids hidden before it (§4.9), reserved now
        next_id = state.next_update_id = update_id + 1 + self._hidden_ids(_HIDDEN_ID_BITS)
        state.book.last_update_id = update_id
        return BookUpdate(state.symbol, update_id, now_ms, bids, asks, next_id)

    # --- the orders ----------------------------------------------------------------------

    def _take(self, state: SimulatedSymbol, fair: float, now_ms: int, out: list[MarketUpdate]) -> None:
        """A taker order: fills level by level up to ``_MAX_SWEEP`` levels, never the whole
        side; a limit order rests what it could not fill at its limit, a market order (with
        price protection) drops it."""
        random_, book, tick = self._random, state.book, state.tick
        bid, ask = book.bid_prices[-1], book.ask_prices[0]
        lean = (2 * fair - bid - ask) / (2 * tick * _LEAN_TICKS)  # the fair price's pull
        lean = -1.0 if lean < -1.0 else 1.0 if lean > 1.0 else lean
        is_buy = random_() < 0.5 + _LEAN * lean
        qty = state.sizes.lots(random_(), _TAKER_SCALE) * state.step
        opposite = book.ask_prices if is_buy else book.bid_prices
        if len(opposite) < 2:  # never sweep a side bare (bids squeezed against a price of 0)
            self._upkeep.place(state, is_buy)
            return
        reach = min(_MAX_SWEEP, len(opposite) - 1)
        rests = random_() >= _P_MARKET
        through = placement_ticks(random_()) * tick
        if is_buy:
            limit = min(opposite[reach - 1], ask + through) if rests else opposite[reach - 1]
        else:
            limit = max(opposite[-reach], bid - through) if rests else opposite[-reach]
        fills = book.take(not is_buy, qty, limit, state.next_trade_id, now_ms)
        taken = self._changed[not is_buy]
        filled = 0
        for price, fill in fills:
            out.append(state.trade(now_ms, price, fill, not is_buy))
            filled += fill
            taken.append(price)
        if rests and filled < qty:
            own = book.bids if is_buy else book.asks
            book.set_level(is_buy, limit, own.get(limit, 0) + qty - filled)
            self._changed[is_buy].append(limit)
        if filled:
            state.positions.traded(is_buy, filled, price, now_ms)

    # --- construction ------------------------------------------------------------------

    def _build_book(self, state: SimulatedSymbol) -> None:
        shape, tick = state.shape, state.tick
        best_bid = max(tick, math.floor(state.fair() / tick) * tick)
        bid_prices, bid_qtys = shape.side_columns(best_bid, True, shape.initial, self._random)
        ask_prices, ask_qtys = shape.side_columns(best_bid + tick, False, shape.initial, self._random)
        state.book.load(zip(bid_prices, bid_qtys, strict=True), zip(ask_prices, ask_qtys, strict=True), 0)
        state.book.settle()  # its tables at their steady size from the start (market/book/order_book.py)
