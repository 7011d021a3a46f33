"""Two days of simulated trading through the plant and a market view, on an injected clock:
every store that grows with traffic stays within the bound its docstring states, and none
grows between hour 24 and hour 48 (the klines of the longer intervals fill up to theirs).

Sans-I/O, as the server runs it: ``Simulator`` → ``Plant`` → ``MarketView``, time moved in
one-minute jumps of 20 actions each on BTCUSDT, so that 48 hours take seconds and it still
trades in most minutes (its 24 h window reaches its bound, not just stays under it)."""

from __future__ import annotations

from dataclasses import dataclass

from tickerplant.feeds.simulator.book_shape import REFILL, BookShape
from tickerplant.feeds.simulator.simulator import Simulator
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.klines.candles import INTERVALS
from tickerplant.market.messages import StreamMessage
from tickerplant.market.plant.plant import Plant
from tickerplant.market.plant.view import MarketView
from tickerplant.market.units import HOUR_MS

T0 = 1_767_225_600_000
STEP_MS = 60_000
ACTIONS_PER_STEP = 20
WINDOW_BUCKETS = 24 * 60 + 1  # a day of minutes and the open one (market/trades/stats.py)
BACKLOG = 256 + 1  # market/plant/view.py
KLINES = 1500  # per interval (market/klines/candles.py)


@dataclass(frozen=True)
class Held:
    """What one symbol holds at one moment, store by store."""

    window: int  # the plant's 24 h window buckets
    plant_levels: int  # the plant's book, both sides
    most_side: int  # the plant's longest side
    depth_backlog: int  # the view's undecoded payloads
    trade_backlog: int
    touched: int  # most prices touched between two pushes of the depth streams, this hour
    klines_1m: int
    klines: int  # every interval
    view_levels: int  # the view's book, after applying its backlog
    texts: int  # the view's level texts and the prices gathered for the next answer


def held(plant: Plant, view: MarketView, symbol: str, touched: int) -> Held:
    state, sv = plant.symbols[symbol], view.symbols[symbol]
    backlogs = len(sv.depth_backlog), len(sv.trade_backlog)
    klines = view.klines(sv)
    book = view.book(sv)
    return Held(
        window=len(state.window),
        plant_levels=len(state.book),
        most_side=max(state.book.bid_count, state.book.ask_count),
        depth_backlog=backlogs[0],
        trade_backlog=backlogs[1],
        touched=touched,
        klines_1m=len(klines.series("1m")),
        klines=sum(len(klines.series(interval)) for interval in INTERVALS),
        view_levels=len(book),
        texts=len(sv.book_text) + sv.book_text.pending,
    )


def test_two_days_of_trading_hold_every_store_within_its_bound() -> None:
    instruments = [inst for inst in catalogue(Market.UM, T0) if inst.symbol == "BTCUSDT"]
    sim = Simulator(instruments, seed=7, start_ms=T0)
    plant = Plant(Market.UM, instruments, now_ms=T0)
    view = MarketView(Market.UM, instruments)
    history = sim.warm_history(T0)  # the day before: the windows and klines start full
    plant.warm(history)
    view.receive(plant.history(history))
    out: list[StreamMessage] = []
    for update in sim.initial_updates(T0):
        plant.apply(update, T0, out)
    plant.end_batch(T0, out)
    plant.start_depth_chains()
    view.receive(out)

    hours: list[Held] = []
    depth = plant.symbols["BTCUSDT"].depth
    touched = 0
    now = T0
    for step in range(1, 48 * HOUR_MS // STEP_MS + 1):
        now = T0 + step * STEP_MS
        out = []
        for update in sim.step(ACTIONS_PER_STEP, now):
            plant.apply(update, now, out)
        plant.end_batch(now, out)
        # prices waiting for a push: touched since the last fold, and folded into each chain
        chained = max(len(chain.bids) + len(chain.asks) for chain in depth.chains)
        touched = max(touched, len(depth.bids_touched) + len(depth.asks_touched), chained)
        if now >= plant.next_tick_ms:
            plant.tick(now, out)
        view.receive(out)
        if now % HOUR_MS == T0 % HOUR_MS:
            hours.append(held(plant, view, "BTCUSDT", touched))
            touched = 0
            if len(hours) % 6 == 0:  # somebody asks for depth now and then
                sv = view.symbols["BTCUSDT"]
                sv.book_text.answer(view.book(sv), 1000)
    assert len(hours) == 48

    shape = BookShape(instruments[0])
    most_levels = 2 * (shape.high + 2 * REFILL)  # about 1,350 a side
    for h in hours:
        assert h.window <= WINDOW_BUCKETS
        assert h.depth_backlog <= BACKLOG and h.trade_backlog <= BACKLOG
        assert h.most_side <= shape.high + 2 * REFILL
        assert h.view_levels == h.plant_levels  # the view mirrors the plant's book
        assert h.touched <= most_levels  # what each depth chain folds in at its push
        assert h.texts <= 2 * 8192 + most_levels
        assert h.klines_1m <= KLINES and h.klines <= KLINES * len(INTERVALS)
    day_one, day_two = hours[23], hours[24:]  # hour 24, then hours 25 to 48
    # Flat from hour 24: each store stays under its bound, and the window at hour 24's size
    assert max(h.window for h in day_two) <= WINDOW_BUCKETS
    assert abs(day_two[-1].window - day_one.window) <= 60  # the minutes that saw no trade vary
    # the 1m klines filled their 1,500 by hour 25 and stay there; longer intervals fill up
    assert [h.klines_1m for h in hours[24:]] == [KLINES] * 24
    assert day_one.window > 1300  # the bound is reached, not just respected
    assert max(h.texts for h in hours) > 0 and max(h.touched for h in hours) > 0  # exercised
