"""The venue's reading of a replay's or relay's market (``venue/book/published.py``): a level's
quantity looked up, as the walk of the side would find it, and the mark from the view."""

from __future__ import annotations

import random

from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.plant.view import MarketView
from tickerplant.venue.book.published import PublishedMarket

NOW = 1_790_000_000_000


def test_a_levels_quantity_is_the_walks() -> None:
    insts = [i for i in catalogue(Market.UM, NOW) if i.symbol == "BTCUSDT"]
    view = MarketView(Market.UM, insts)
    symbol_view = view.symbol("BTCUSDT")
    assert symbol_view is not None
    book = view.book(symbol_view)
    rng = random.Random(3)
    for _ in range(500):
        bid = rng.random() < 0.5
        price = 6_000_000 - rng.randrange(1, 3000) if bid else 6_000_000 + rng.randrange(0, 3000)
        book.set_level(bid, price, rng.choice([0, rng.randrange(1, 10_000)]))
    market = PublishedMarket(view)
    for bids in (True, False):
        walked = dict(market.levels("BTCUSDT", bids))
        for price in range(5_997_000, 6_003_000, 7):
            assert market.quantity_at("BTCUSDT", bids, price) == walked.get(price, 0)
    assert market.quantity_at("NOPE", True, 6_000_000) == 0
    assert market.mark("BTCUSDT") is None  # no mark state yet
