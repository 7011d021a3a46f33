"""What makers do to a simulated book (``simulator``): the action's own passive orders (a
quote at the touch, a limit order behind it, a cancel near it) and, besides them:

- **Churn of the deep book**: at a level drawn uniformly from a side, a cancel, a new order
  in the hole beyond it, or a new size, so the deep book lives too.
- **Following the fair price**: when the best ask has fallen ``_FOLLOW_SLACK`` ticks below
  the fair price (or the best bid risen as far above it), makers pull up to
  ``_FOLLOW_LEVELS`` stale quotes and move the queues behind the new touch, so the touch
  stays a tick wide while the price walks.

Each does a bounded amount of work: a level or two, ``_FOLLOW_LEVELS`` + 3 at most. Every
level set is noted in the simulator's changed-price lists, which make the action's
``BookUpdate``. Randomness is the simulator's own stream, drawn in a fixed order.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from tickerplant.feeds.simulator.order_flow import placement_ticks
from tickerplant.feeds.simulator.symbol import SimulatedSymbol

__all__ = ["BookUpkeep"]

# Deep churn: a cancel, else an order in the hole beyond (a resize where there is none).
# Inserts outnumber cancels, so the depth holds where holes are as common as they are here.
_P_CHURN_CANCEL = 0.35
_P_CHURN_INSERT = 0.9
_FOLLOW_LEVELS = 2  # stale quotes pulled per action at most
_FOLLOW_SLACK = 2.5  # ticks the fair price passes the touch by before makers react
_P_LADDER = 0.5  # of passive orders: a market maker's, sized to the book's profile
_CANCEL_DEPTH = 5.0  # mean index, from the touch, of the level a near cancel hits


class BookUpkeep:
    """The makers' side of the simulator's actions, over its random stream and the lists of
    prices each side changed in the action under way (``(asks, bids)``, indexed by
    ``is_bid``)."""

    __slots__ = ("_changed", "_random")

    def __init__(self, random_: Callable[[], float], changed: tuple[list[int], list[int]]) -> None:
        self._random = random_
        self._changed = changed

    def _set(self, state: SimulatedSymbol, is_bid: bool, price: int, qty: int) -> None:
        state.book.set_level(is_bid, price, qty)
        self._changed[is_bid].append(price)

    def churn(self, state: SimulatedSymbol, is_bid: bool) -> None:
        """The deep book lives too: at a level drawn uniformly from the side, a cancel, a
        new order in the hole beyond it, or a new size."""
        random_, book, tick, shape = self._random, state.book, state.tick, state.shape
        prices = book.bid_prices if is_bid else book.ask_prices
        count = len(prices)
        index = int(random_() * count)
        price = prices[index]
        best = prices[-1] if is_bid else prices[0]
        u = random_()
        if u < _P_CHURN_CANCEL and count > 1:
            self._set(state, is_bid, price, 0)
            return
        beyond_index = index - 1 if is_bid else index + 1
        if u < _P_CHURN_INSERT and 0 <= beyond_index < count:
            hole = abs(prices[beyond_index] - price) // tick
            if hole > 1:
                offset = (1 + int(random_() * (hole - 1))) * tick
                price = price - offset if is_bid else price + offset
        distance = abs(best - price) // tick
        self._set(state, is_bid, price, shape.level_qty(distance, 1, random_()))

    def follow(self, state: SimulatedSymbol, fair: float) -> None:
        """When the fair price has passed the best ask (bid) by the slack, makers pull up to
        ``_FOLLOW_LEVELS`` stale asks (bids), requeue the best one at the fair price, and
        move the bid (ask) queue up behind the new best ask (bid)."""
        book, tick = state.book, state.tick
        half = tick / 2
        slack = tick * _FOLLOW_SLACK
        if book.ask_prices[0] + slack < fair:
            is_bid, prices, side = False, book.ask_prices, book.asks
            requeue = math.ceil(fair / tick - 0.5) * tick
        elif book.bid_prices[-1] - slack > fair:
            is_bid, prices, side = True, book.bid_prices, book.bids
            requeue = math.floor(fair / tick + 0.5) * tick
        else:
            return
        queue = 0  # the best queue, which its makers requeue
        for _ in range(_FOLLOW_LEVELS):
            stale = prices[-1] if is_bid else prices[0]
            if len(prices) == 1 or ((stale - half <= fair) if is_bid else (stale + half >= fair)):
                break
            queue = queue or book.own(is_bid, stale)  # the venue's orders stay (simulated_book.py)
            self._set(state, is_bid, stale, 0)
        if queue:
            self._set(state, is_bid, requeue, side.get(requeue, 0) + queue)
        if is_bid:
            self._move_queue(state, False, book.bid_prices[-1] + tick)
        else:
            self._move_queue(state, True, book.ask_prices[0] - tick)

    def _move_queue(self, state: SimulatedSymbol, is_bid: bool, target: int) -> None:
        """Makers move the best queue to ``target``, a better price, and someone
        fills one tick of the hole they leave."""
        book, tick = state.book, state.tick
        side = book.bids if is_bid else book.asks
        best = book.bid_prices[-1] if is_bid else book.ask_prices[0]
        if (target <= best) if is_bid else (target >= best):
            return
        queue = book.own(is_bid, best)  # the venue's orders stay (simulated_book.py)
        self._set(state, is_bid, best, 0)
        self._set(state, is_bid, target, side.get(target, 0) + queue)
        hole = abs(target - best) // tick
        if hole > 1:
            offset = (1 + int(self._random() * (hole - 1))) * tick
            price = best + offset if is_bid else best - offset
            lots = state.sizes.lots(self._random()) * state.step
            self._set(state, is_bid, price, side.get(price, 0) + lots)

    # -- the action's own passive orders (``simulator``'s mix) ----------------------------

    def quote(self, state: SimulatedSymbol, is_bid: bool) -> None:
        """A maker steps in front of a spread wider than a tick, else joins the queue at
        the best price."""
        book, tick = state.book, state.tick
        bid, ask = book.bid_prices[-1], book.ask_prices[0]
        qty = state.shape.quote_qty(self._random())
        if is_bid:
            price = bid + tick if bid + tick < ask else bid
            self._set(state, True, price, book.bids.get(price, 0) + qty)
        else:
            price = ask - tick if ask - tick > bid else ask
            self._set(state, False, price, book.asks.get(price, 0) + qty)

    def place(self, state: SimulatedSymbol, is_bid: bool) -> None:
        """A passive limit order some ticks behind its side's best (never past the far
        end): a trader's, sized like any order, or a market maker's, sized to the profile."""
        book, tick = state.book, state.tick
        ticks = placement_ticks(self._random())
        if self._random() < _P_LADDER:
            qty = state.shape.level_qty(ticks, 1, self._random())
        else:
            qty = state.sizes.lots(self._random()) * state.step
        behind = ticks * tick
        if is_bid:
            prices = book.bid_prices
            price = max(prices[-1] - behind, prices[0])
            self._set(state, True, price, book.bids.get(price, 0) + qty)
        else:
            prices = book.ask_prices
            price = min(prices[0] + behind, prices[-1])
            self._set(state, False, price, book.asks.get(price, 0) + qty)

    def cancel(self, state: SimulatedSymbol, is_bid: bool) -> None:
        """A cancel near the touch: of the whole level, or of half of it."""
        book = state.book
        prices = book.bid_prices if is_bid else book.ask_prices
        count = len(prices)
        index = min(count - 1, int(-math.log(1.0 - self._random()) * _CANCEL_DEPTH))
        price = prices[-1 - index] if is_bid else prices[index]
        remaining = 0
        if self._random() < 0.5 or count == 1:
            resting = (book.bids if is_bid else book.asks)[price]
            remaining = resting // (2 * state.step) * state.step
            if remaining < state.min_qty:
                remaining = 0 if count > 1 else resting
        self._set(state, is_bid, price, remaining)
