"""What the simulator keeps per symbol (``SimulatedSymbol``)."""

from __future__ import annotations

import math
import random

from tickerplant.feeds.simulator.book_shape import BookShape
from tickerplant.feeds.simulator.fair_price import FairPrice
from tickerplant.feeds.simulator.order_flow import OrderSizes
from tickerplant.feeds.simulator.positions import Positions
from tickerplant.feeds.simulator.simulated_book import SimulatedBook
from tickerplant.market.instruments import Instrument
from tickerplant.market.updates import Trade

__all__ = ["IDS_PER_MS", "SimulatedSymbol"]

# A symbol's update and trade ids start this much higher per ms its simulator starts after
# 2026-01-01 (``ids_from``). No symbol's ids run that fast (the busiest makes tens of
# updates a ms at the simulator's `max`, each taking four update ids at most with the ids
# hidden before the next, ``simulator._HIDDEN_ID_BITS``), so a simulator restarted with the
# same seed goes on above every id it sent before, as a Binance stream's ids do, on any
# host whose clock is right; one starting on 2026-01-01 (ManualClock's default) makes the
# ids it always made.
IDS_PER_MS = 1000


class SimulatedSymbol:
    """Everything the simulator keeps for one symbol: its book and how it is shaped, its
    order sizes, its fair-price driver, its id counters, and its leveraged positions and open
    interest (``positions``). Bounded by design: the book holds at most its shape's ``high``
    levels a side plus the few one action adds (about 1,350 at the default 1,000,
    ``book_shape``); the positions at most ``positions.MAX_POSITIONS``; the rest is a fixed
    set of numbers."""

    __slots__ = (
        "base_price",
        "book",
        "driver",
        "first_live_trade_id",
        "inst",
        "min_qty",
        "next_agg_id",
        "next_trade_id",
        "next_update_id",
        "positions",
        "shape",
        "sizes",
        "step",
        "symbol",
        "tick",
    )

    def __init__(
        self,
        inst: Instrument,
        driver: FairPrice,
        rng: random.Random,
        book_levels: int,
        positions_rng: random.Random,
        ids_from: int = 0,
    ) -> None:
        self.inst = inst
        self.symbol = inst.symbol
        self.book = SimulatedBook()  # with the venue's resting orders in it (simulated_book.py)
        self.driver = driver
        self.base_price = float(inst.initial_price)
        self.tick = inst.tick
        self.step = inst.step
        self.sizes = OrderSizes(inst)
        self.shape = BookShape(inst, book_levels)
        self.min_qty = self.sizes.min_lots * inst.step
        # Ids look like a market that has been running for years; ``ids_from`` moves them
        # up with the start time, so a restart goes on above them (``Simulator``).
        self.next_update_id = rng.randrange(10**11, 10**13) + ids_from
        self.next_trade_id = rng.randrange(10**8, 6 * 10**9) + ids_from
        self.first_live_trade_id = self.next_trade_id
        # aggregate trade ids, a sequence of their own at about four in ten of the trade ids,
        # as Binance's (market/history/counts.py); ``Simulator`` gives the past's next
        self.next_agg_id = self.next_trade_id * 2 // 5
        self.positions = Positions(inst, positions_rng, self.sizes.mean_lots * inst.step)

    def trade(self, time_ms: int, price: int, qty: int, buyer_is_maker: bool) -> Trade:
        """A public trade with the next trade id, its own aggregate with the next aggregate
        id (a fill of one taker at one price: every level a sweep takes is its own price)."""
        trade_id, agg_id = self.next_trade_id, self.next_agg_id
        trade = Trade(self.symbol, trade_id, time_ms, price, qty, buyer_is_maker, True, agg_id)
        self.next_trade_id += 1
        self.next_agg_id += 1
        return trade

    def fair(self) -> float:
        driver = self.driver
        if driver.pressure:  # an outside taker's transient impact (impact.py)
            return self.base_price * driver.factor * math.exp(driver.pressure)
        return self.base_price * driver.factor
