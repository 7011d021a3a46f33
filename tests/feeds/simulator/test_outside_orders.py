"""Outside orders in the simulated book (feeds/simulator/outside.py, impact.py),
without sockets: a taker takes level by level with the symbol's next trade ids and
never a side bare; its volume moves the fair price by the square-root law, half for good and
half decaying over five minutes; and once the book has refilled, the mid sits at that fair
price: a large buy leaves the market higher by what the law says."""

from __future__ import annotations

import math

from tickerplant.feeds.simulator.impact import DECAY_MS, IMPACT_Y, PERMANENT, impact
from tickerplant.feeds.simulator.simulator import DEFAULT_START_MS, Simulator
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.updates import BookUpdate, Trade

ETH = [i for i in catalogue(Market.UM, DEFAULT_START_MS) if i.symbol == "ETHUSDT"]


def _mid(simulator: Simulator) -> float:
    book = simulator.books["ETHUSDT"]
    return (book.bid_prices[-1] + book.ask_prices[0]) / 2


def _run(simulator: Simulator, start_ms: int, ms: int) -> int:
    t = start_ms
    for _ in range(ms // 250):
        t += 250
        simulator.advance(t)
    return t


def test_a_taker_takes_level_by_level_with_the_next_trade_ids() -> None:
    simulator = Simulator(ETH, seed=1, actions_per_s=400.0, book_levels=20)
    book = simulator.books["ETHUSDT"]
    asks = [(p, book.asks[p]) for p in book.ask_prices[:3]]
    qty = asks[0][1] + asks[1][1] + 1
    first_id = next(t.trade_id for t in simulator.outside.take("ETHUSDT", False, 1, 0, DEFAULT_START_MS)[0])
    trades, updates = simulator.outside.take("ETHUSDT", True, qty, asks[2][0], DEFAULT_START_MS)
    assert [(t.trade_id, t.price, t.qty, t.buyer_is_maker) for t in trades] == [
        (first_id + 1, asks[0][0], asks[0][1], False), (first_id + 2, asks[1][0], asks[1][1], False),
        (first_id + 3, asks[2][0], 1, False),
    ]  # fmt: skip
    assert updates[:3] == trades and isinstance(updates[3], BookUpdate)
    assert book.ask_prices[0] == asks[2][0] and book.asks[asks[2][0]] == asks[2][1] - 1
    everything, _ = simulator.outside.take("ETHUSDT", True, 10**15, 10**15, DEFAULT_START_MS)
    assert everything and book.ask_prices  # a side is never swept bare
    assert isinstance(trades[0], Trade)


def test_the_fair_price_moves_by_the_law_half_for_good() -> None:
    simulator = Simulator(ETH, seed=2, actions_per_s=400.0, book_levels=300)
    inst = ETH[0]
    t = _run(simulator, DEFAULT_START_MS, 2_000)
    before = simulator.fair_price("ETHUSDT")
    trades, _ = simulator.outside.take("ETHUSDT", True, 10**12, 10**15, t)
    qty = sum(trade.qty for trade in trades)
    law = impact(inst.daily_volatility, qty, simulator.daily_volume("ETHUSDT"))
    assert law == IMPACT_Y * inst.daily_volatility * math.sqrt(qty / simulator.daily_volume("ETHUSDT"))
    assert abs(math.log(simulator.fair_price("ETHUSDT") / before) - law) <= inst.tick / before
    driver = simulator._by_symbol["ETHUSDT"].driver
    assert driver.pressure == (1 - PERMANENT) * law
    last = driver.last_ms
    t = _run(simulator, t, 15_000)
    assert math.isclose(driver.pressure, (1 - PERMANENT) * law * math.exp(-(driver.last_ms - last) / DECAY_MS))


def test_after_a_large_buy_the_book_refills_around_the_moved_fair_price() -> None:
    offsets, laws = [], []
    for seed in range(10):
        simulator = Simulator(ETH, seed=seed, actions_per_s=400.0, book_levels=300)
        t = _run(simulator, DEFAULT_START_MS, 2_000)
        mid_before = _mid(simulator)
        trades, _ = simulator.outside.take("ETHUSDT", True, 10**12, 10**15, t)  # some 300 levels
        laws.append(impact(ETH[0].daily_volatility, sum(x.qty for x in trades), simulator.daily_volume("ETHUSDT")))
        assert math.log(_mid(simulator) / mid_before) > laws[-1]  # at once: the asks are gone
        _run(simulator, t, 15_000)
        offsets.append(math.log(_mid(simulator) / simulator.fair_price("ETHUSDT")))
    law = sum(laws) / len(laws)
    assert law > 30 * ETH[0].tick / mid_before  # tens of ticks: a move the test can see
    assert max(abs(o) for o in offsets) < law / 4  # refilled: the mid is back at the fair price
    assert abs(sum(offsets) / len(offsets)) < law / 20
