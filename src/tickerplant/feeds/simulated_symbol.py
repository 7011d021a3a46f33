"""What the simulator keeps per symbol (``SimulatedSymbol``)."""

from __future__ import annotations

import random

from tickerplant.feeds.book_shape import BookShape
from tickerplant.feeds.fair_price import FairPrice
from tickerplant.feeds.order_flow import OrderSizes
from tickerplant.feeds.positions import Positions
from tickerplant.market.book import OrderBook
from tickerplant.market.instruments import Instrument

__all__ = ["SimulatedSymbol"]


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
    ) -> None:
        self.inst = inst
        self.symbol = inst.symbol
        self.book = OrderBook()
        self.driver = driver
        self.base_price = float(inst.initial_price)
        self.tick = inst.tick
        self.step = inst.step
        self.sizes = OrderSizes(inst)
        self.shape = BookShape(inst, book_levels)
        self.min_qty = self.sizes.min_lots * inst.step
        # Ids look like a market that has been running for years.
        self.next_update_id = rng.randrange(10**11, 10**13)
        self.next_trade_id = rng.randrange(10**8, 6 * 10**9)
        self.first_live_trade_id = self.next_trade_id
        self.positions = Positions(inst, positions_rng, self.sizes.mean_lots * inst.step)

    def fair(self) -> float:
        return self.base_price * self.driver.factor
