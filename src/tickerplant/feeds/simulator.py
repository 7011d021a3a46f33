"""A synthetic market: real limit order books driven by random order flow.

Every symbol has an ``OrderBook`` and a latent *fair price*. The fair price is a geometric
random walk with the instrument's daily volatility, shared by the instruments of one base
asset (BTCUSD_PERP and the BTCUSD quarterlies move together, their basis stays put).
Order flow arrives as a Poisson process of *actions*, each on one symbol chosen by
activity weight:

- a limit order a geometric number of ticks from the fair price, on a random side; one
  priced through the opposite best is marketable, matches up to its limit and rests the
  rest. This is how the book follows the fair price: when the fair price moves, new
  orders cross the stale side;
- a cancel: of a quote the fair price has moved through, else preferably of a level far
  from the touch, so the book follows the price and stale depth goes away;
- a market order, which walks the opposite side.

Trades come only from matching, so the trade, ticker, kline and depth streams the plant
derives agree with each other. Each action yields exactly one ``BookUpdate`` (absolute
quantities, 0 removes a level, spec §4.9), preceded by the ``Trade``s it caused, all
stamped with the same time. No side is ever left empty and the book is never crossed.

Nothing here reads a clock or the global ``random``: time is an argument and all
randomness comes from ``random.Random`` instances seeded from ``seed``, so a seed and a
sequence of calls replay exactly.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate

from tickerplant.feeds.simulated_history import simulated_history
from tickerplant.market.book import OrderBook
from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.units import DAY_MS
from tickerplant.market.updates import BookUpdate, Level, MarketUpdate, Trade

__all__ = ["DEFAULT_START_MS", "Simulator"]

DEFAULT_START_MS = 1_767_225_600_000  # 2026-01-01T00:00Z, ManualClock's default

# The action mix. Marketable limit orders add to the trades of market orders; together
# they make roughly a fifth of all actions trade, about what a busy futures book shows.
_P_MARKET = 0.05
_P_CANCEL = 0.30  # the rest are limit orders
_MIN_LEVELS = 12  # a side this thin is not cancelled from
_MAX_LEVELS = 60  # a side this deep gets a cancel instead of one more limit order
_INITIAL_LEVELS = (20, 50)
_REFILL_LEVELS = 5
_P_CANCEL_WHOLE = 0.5  # otherwise a cancel halves the level

# Limit prices: a share of the orders sits within a tick or two of the fair price (mean
# offset 1 tick), keeping spreads tight; the rest spreads over about the move the symbol
# makes in a second, bounded so that every book keeps a few dozen levels of depth.
_TIGHT_SHARE = 0.4
_TIGHT_INV_LOG = 1.0 / math.log(0.5)
_WIDE_OFFSET_MIN_TICKS = 15.0
_WIDE_OFFSET_MAX_TICKS = 40.0
_ORDER_NOTIONAL = 2_000.0  # mean order size, USDT on USDⓈ-M, USD on COIN-M
_MARKET_ORDER_SCALE = 1.5  # market orders are a bit larger than resting ones

_MAX_BACKLOG_MS = 5_000  # after a longer stall (a suspended laptop), skip the backlog
_MAX_MOVE_MS = 3_600_000  # so a wrong start_ms cannot move a price by months of volatility


class _FairPrice:
    """The latent driver shared by every instrument of one base asset, as a factor."""

    __slots__ = ("factor", "last_ms", "sigma")

    def __init__(self, daily_volatility: float, start_ms: int) -> None:
        self.factor = 1.0
        self.last_ms = start_ms
        self.sigma = daily_volatility / math.sqrt(DAY_MS)  # stdev per sqrt(ms)


class _SymbolState:
    __slots__ = (
        "base_price",
        "book",
        "driver",
        "first_live_trade_id",
        "inst",
        "max_lots",
        "mean_lots",
        "min_lots",
        "next_trade_id",
        "next_update_id",
        "step",
        "symbol",
        "tick",
        "wide_inv_log",
    )

    def __init__(self, inst: Instrument, driver: _FairPrice, rng: random.Random) -> None:
        self.inst = inst
        self.symbol = inst.symbol
        self.book = OrderBook()
        self.driver = driver
        self.base_price = float(inst.initial_price)
        self.tick = inst.tick
        self.step = inst.step
        self.min_lots = max(1, -(-inst.min_qty // inst.step))
        self.max_lots = max(self.min_lots, inst.max_qty // inst.step)
        price = inst.initial_price / 10**inst.price_decimals
        lot = inst.step / 10**inst.qty_decimals
        lot_value = price * lot if inst.market is Market.UM else inst.contract_size * lot
        self.mean_lots = max(float(self.min_lots), _ORDER_NOTIONAL / lot_value)
        ticks_per_s = (
            inst.daily_volatility * math.sqrt(1000 / DAY_MS) * inst.initial_price / inst.tick
        )
        wide = min(_WIDE_OFFSET_MAX_TICKS, max(_WIDE_OFFSET_MIN_TICKS, ticks_per_s))
        self.wide_inv_log = 1.0 / math.log(wide / (1.0 + wide))  # geometric with mean `wide`
        # Ids look like a market that has been running for years.
        self.next_update_id = rng.randrange(10**11, 10**13)
        self.next_trade_id = rng.randrange(10**8, 6 * 10**9)
        self.first_live_trade_id = self.next_trade_id

    def fair(self) -> float:
        return self.base_price * self.driver.factor


class Simulator:
    """A seeded synthetic market over ``instruments``; see the module docstring.

    The books are built at construction around each instrument's initial price, so
    ``books`` and ``fair_price`` are valid at once; ``initial_updates`` publishes them.
    """

    def __init__(
        self,
        instruments: Sequence[Instrument],
        seed: int,
        actions_per_s: float = 400.0,
        start_ms: int = DEFAULT_START_MS,
    ) -> None:
        if not instruments:
            raise ValueError("a simulator needs at least one instrument")
        if actions_per_s < 0:
            raise ValueError("actions_per_s must not be negative")
        self.seed = seed
        self.actions_per_s = actions_per_s
        self.action_count = 0
        self._rng = random.Random(seed)
        self._random = self._rng.random
        drivers: dict[str, _FairPrice] = {}
        self._states: list[_SymbolState] = []
        for inst in instruments:
            driver = drivers.get(inst.base_asset)
            if driver is None:
                driver = drivers[inst.base_asset] = _FairPrice(inst.daily_volatility, start_ms)
            self._states.append(_SymbolState(inst, driver, self._rng))
        self._by_symbol = {state.symbol: state for state in self._states}
        if len(self._by_symbol) != len(self._states):
            raise ValueError("duplicate symbols")
        self._drivers = list(drivers.values())
        self._cumulative_activity = list(accumulate(max(0.0, i.activity) for i in instruments))
        self._total_activity = self._cumulative_activity[-1]
        if self._total_activity <= 0:
            raise ValueError("at least one instrument needs a positive activity")
        self.books: dict[str, OrderBook] = {s.symbol: s.book for s in self._states}
        for state in self._states:
            self._build_book(state)
        self._next_action_ms = start_ms + self._interarrival_ms()

    # --- public surface ----------------------------------------------------------------

    def fair_price(self, symbol: str) -> int:
        """The latent fair price of ``symbol`` in price units, on its tick grid."""
        state = self._by_symbol[symbol]
        return max(state.tick, round(state.fair() / state.tick) * state.tick)

    def initial_updates(self, now_ms: int) -> list[BookUpdate]:
        """One update per symbol holding every level of its book: what a mirror starts from."""
        updates = []
        for state in self._states:
            book = state.book
            bids = tuple(Level(p, book.bids[p]) for p in reversed(book.bid_prices))
            asks = tuple(Level(p, book.asks[p]) for p in book.ask_prices)
            updates.append(self._book_update(state, now_ms, bids, asks))
        return updates

    def advance(self, now_ms: int) -> list[MarketUpdate]:
        """Perform the actions that fell due up to ``now_ms``, all stamped ``now_ms``.

        Actions arrive as a Poisson process of rate ``actions_per_s``; the arrival time
        of the next one carries over between calls, so any calling rhythm yields the
        same expected count.
        """
        next_ms = self._next_action_ms
        if now_ms - next_ms > _MAX_BACKLOG_MS:
            next_ms = now_ms - _MAX_BACKLOG_MS
        count = 0
        while next_ms <= now_ms:
            count += 1
            next_ms += self._interarrival_ms()
        self._next_action_ms = next_ms
        return self.step(count, now_ms)

    def step(self, n: int, now_ms: int) -> list[MarketUpdate]:
        """Perform exactly ``n`` actions stamped ``now_ms``, whatever the rate."""
        out: list[MarketUpdate] = []
        act = self._act
        for _ in range(n):
            act(now_ms, out)
        self.action_count += n
        return out

    def warm_history(self, now_ms: int, window_ms: int = DAY_MS) -> list[Trade]:
        """A plausible past ``window_ms`` of trades for every symbol, ascending in time
        (``simulated_history``); asking for it changes nothing that follows."""
        return simulated_history(self._states, self.seed, now_ms, window_ms)

    # --- the order flow ----------------------------------------------------------------

    def _interarrival_ms(self) -> float:
        if self.actions_per_s <= 0:
            return math.inf
        return -math.log(1.0 - self._random()) * 1000.0 / self.actions_per_s

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
            driver.factor *= math.exp(driver.sigma * math.sqrt(elapsed) * self._rng.gauss())
            driver.last_ms = now_ms
        is_bid = random_() < 0.5  # the side of the order: a bid buys, an ask sells
        kind = random_()
        book = state.book
        if kind < _P_MARKET:
            if book.ask_prices if is_bid else book.bid_prices:
                qty = self._order_lots(state, _MARKET_ORDER_SCALE) * state.step
                self._match(state, is_bid, qty, -1, now_ms, out)
                return
        elif kind < _P_MARKET + _P_CANCEL:
            if len(book.bid_prices if is_bid else book.ask_prices) > _MIN_LEVELS:
                self._cancel(state, is_bid, now_ms, out)
                return
        elif len(book.bid_prices if is_bid else book.ask_prices) >= _MAX_LEVELS:
            self._cancel(state, is_bid, now_ms, out)
            return
        self._limit_order(state, is_bid, now_ms, out)

    def _order_lots(self, state: _SymbolState, scale: float = 1.0) -> int:
        # exponential sizes, whole lots: many small orders, a few large ones
        mean = (state.mean_lots - state.min_lots) * scale
        lots = state.min_lots + int(-math.log(1.0 - self._random()) * mean)
        return lots if lots < state.max_lots else state.max_lots

    def _offset_ticks(self, state: _SymbolState) -> int:
        # One uniform draw serves both halves of the mixture: its halves are uniform too.
        u = self._random()
        if u < _TIGHT_SHARE:
            return int(math.log(1.0 - u / _TIGHT_SHARE) * _TIGHT_INV_LOG)
        return int(math.log((1.0 - u) / (1.0 - _TIGHT_SHARE)) * state.wide_inv_log)

    def _limit_order(
        self, state: _SymbolState, is_bid: bool, now_ms: int, out: list[MarketUpdate]
    ) -> None:
        book, tick = state.book, state.tick
        qty = self._order_lots(state) * state.step
        offset = self._offset_ticks(state)
        fair_ticks = state.fair() / tick
        if is_bid:
            price = max(tick, (math.floor(fair_ticks) - offset) * tick)
            marketable = bool(book.ask_prices) and price >= book.ask_prices[0]
        else:
            price = (math.ceil(fair_ticks) + offset) * tick
            marketable = bool(book.bid_prices) and price <= book.bid_prices[-1]
        if marketable:
            self._match(state, is_bid, qty, price, now_ms, out)
            return
        total = (book.bids if is_bid else book.asks).get(price, 0) + qty
        book.set_level(is_bid, price, total)
        level = (Level(price, total),)
        bids, asks = (level, ()) if is_bid else ((), level)
        out.append(self._book_update(state, now_ms, bids, asks))

    def _match(
        self,
        state: _SymbolState,
        is_buy: bool,
        qty: int,
        limit: int,
        now_ms: int,
        out: list[MarketUpdate],
    ) -> None:
        """An aggressive order: fills level by level, rests the remainder at ``limit``
        (none for a market order, ``limit`` -1), refills the side if it swept it bare."""
        book, symbol = state.book, state.symbol
        if is_buy:
            fills = book.take(False, qty, limit if limit >= 0 else 1 << 62)
            rest = book.asks
        else:
            fills = book.take(True, qty, limit if limit >= 0 else 0)
            rest = book.bids
        trade_id = state.next_trade_id
        taken: list[Level] = []
        filled = 0
        for price, fill in fills:
            out.append(Trade(symbol, trade_id, now_ms, price, fill, not is_buy))
            trade_id += 1
            filled += fill
            taken.append(Level(price, rest.get(price, 0)))
        state.next_trade_id = trade_id
        own: tuple[Level, ...] = ()
        if limit >= 0 and filled < qty:
            total = (book.bids if is_buy else book.asks).get(limit, 0) + qty - filled
            book.set_level(is_buy, limit, total)
            own = (Level(limit, total),)
        if not (book.ask_prices if is_buy else book.bid_prices):
            taken.extend(self._refill(state, not is_buy, fills[-1].price if fills else limit))
        bids, asks = (own, tuple(taken)) if is_buy else (tuple(taken), own)
        out.append(self._book_update(state, now_ms, bids, asks))

    def _refill(self, state: _SymbolState, is_bid: bool, last_price: int) -> list[Level]:
        """Fresh depth on a side a sweep emptied, just beyond both the last fill and the
        opposite best, as market makers would requote."""
        book, tick = state.book, state.tick
        if is_bid:
            price = min(last_price, book.ask_prices[0] if book.ask_prices else last_price) - tick
        else:
            price = max(last_price, book.bid_prices[-1] if book.bid_prices else last_price) + tick
        levels: list[Level] = []
        for _ in range(_REFILL_LEVELS):
            if price < tick:
                break
            qty = self._order_lots(state) * state.step
            book.set_level(is_bid, price, qty)
            levels.append(Level(price, qty))
            price += (-tick if is_bid else tick) * (1 + self._offset_ticks(state))
        return levels

    def _cancel(
        self, state: _SymbolState, is_bid: bool, now_ms: int, out: list[MarketUpdate]
    ) -> None:
        book = state.book
        prices = book.bid_prices if is_bid else book.ask_prices
        count = len(prices)
        fair = state.fair()
        remaining = 0
        if prices[-1] > fair if is_bid else prices[0] < fair:
            # The touch is on the wrong side of the fair price: makers pull the stale quote,
            # which is how the book follows the price without trading all the way.
            price = prices[-1] if is_bid else prices[0]
        else:
            u = self._random()
            # u² favours the far end of the side: depth a moving price left behind
            from_far = int(count * u * u)
            price = prices[from_far if is_bid else count - 1 - from_far]
        resting = (book.bids if is_bid else book.asks)[price]
        if self._random() >= _P_CANCEL_WHOLE:
            remaining = resting // (2 * state.step) * state.step
            if remaining < state.min_lots * state.step:
                remaining = 0
        book.set_level(is_bid, price, remaining)
        level = (Level(price, remaining),)
        bids, asks = (level, ()) if is_bid else ((), level)
        out.append(self._book_update(state, now_ms, bids, asks))

    def _book_update(
        self, state: _SymbolState, now_ms: int, bids: tuple[Level, ...], asks: tuple[Level, ...]
    ) -> BookUpdate:
        update_id = state.next_update_id
        state.next_update_id = update_id + 1
        state.book.last_update_id = update_id
        return BookUpdate(state.symbol, update_id, now_ms, bids, asks)

    # --- construction and history ------------------------------------------------------

    def _build_book(self, state: _SymbolState) -> None:
        rng, book, tick = self._rng, state.book, state.tick
        best_bid = max(tick, math.floor(state.fair() / tick) * tick)
        best_ask = best_bid + tick * rng.randint(1, 3)
        for is_bid, price, sign in ((True, best_bid, -1), (False, best_ask, 1)):
            for depth in range(rng.randint(*_INITIAL_LEVELS)):
                if price < tick:
                    break
                # depth thickens away from the touch, as resting size does in real books
                lots = self._order_lots(state) + self._order_lots(state) * depth // 8
                book.set_level(is_bid, price, lots * state.step)
                price += sign * tick * (1 + self._offset_ticks(state) // 2)
