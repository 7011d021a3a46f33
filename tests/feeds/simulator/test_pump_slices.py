"""The simulated market's step cut into parts (feeds/simulator/pump.py): the simulator stepped
only when something falls due (``Simulator.next_due_ms``), the second's sample a few symbols
at a time (``SimulatedDerivatives.sample_parts``), each family of pushes published on its own
(``Plant.tick_parts``, ``Dispatcher.ticks``; the ticker snapshot 8 symbols at a time). Each part is bounded, and together they make
what the whole did: the same seeded actions at the same times, the same values, the same
messages in the same order per market."""

from __future__ import annotations

import math

from test_pump import _Bus  # every delivery, in order

from tickerplant.feeds.simulator.derivatives import SimulatedDerivatives
from tickerplant.feeds.simulator.pump import Dispatcher
from tickerplant.feeds.simulator.simulator import Simulator
from tickerplant.market.instruments import Instrument, Market, catalogue
from tickerplant.market.plant.plant import Plant
from tickerplant.market.updates import MarketUpdate, MarkPrice

T0 = 1_767_225_600_000 + 999_400  # 600 ms before a whole second: samples and cadences fall due
FUNDING = 1_767_254_400_000  # 08:00Z: a sample at a funding time pays it in its first part


def _instruments(now_ms: int = T0) -> list[Instrument]:
    return [i for market in Market for i in catalogue(market, now_ms)]


def _stepped(simulator: Simulator, now_ms: int) -> list[MarketUpdate]:
    return simulator.step(simulator.due(now_ms), now_ms)


def test_a_simulator_stepped_only_when_something_falls_due_makes_what_one_stepped_each_millisecond_makes() -> None:
    # 400 actions a second: a step each millisecond finds nothing to do about 2 times in 3;
    # stepped at next_due_ms alone (and at whatever time the shell wakes later), the same
    # actions with the same stamps, the same liquidations and open interests
    each, woken = (Simulator(_instruments(), seed=4, start_ms=T0, book_levels=20) for _ in range(2))
    every: list[MarketUpdate] = []
    due: list[MarketUpdate] = []
    steps = 0
    for now_ms in range(T0, T0 + 3_000):
        every += _stepped(each, now_ms)
        if now_ms >= woken.next_due_ms:
            due += _stepped(woken, now_ms)
            steps += 1
        else:  # nothing due: a step would do nothing at all
            assert woken.due(now_ms) == 0
    assert due == every and len(every) > 1_000
    assert steps < 0.6 * 3_000, f"{steps} steps in 3 s"


def test_a_rate_of_zero_falls_due_only_for_its_looks() -> None:
    simulator = Simulator(_instruments(), seed=4, actions_per_s=0.0, start_ms=T0, book_levels=20)
    simulator.step(0, T0)
    assert T0 < simulator.next_due_ms <= T0 + 20  # the positions' next look (_CHECK_MS)


def test_a_sample_in_parts_holds_at_most_size_symbols_each_and_the_values_of_a_whole_one() -> None:
    insts = _instruments(FUNDING)
    simulator = Simulator(insts, seed=2, start_ms=FUNDING - 900, book_levels=20)
    whole, parted = (SimulatedDerivatives(insts, seed=2, start_ms=FUNDING - 900) for _ in range(2))
    for second_ms in (FUNDING, FUNDING + 1000):  # the first pays the funding
        _stepped(simulator, second_ms)
        at_once = whole.sample(second_ms, simulator.books, simulator.fair_price, lambda symbol: None)
        parts = list(parted.sample_parts(second_ms, simulator.books, simulator.fair_price, lambda symbol: None, 8))
        assert [u for part in parts for u in part] == at_once
        assert len(parts) == math.ceil(len(insts) / 8)
        assert all(sum(type(u) is MarkPrice for u in part) <= 8 for part in parts)
        assert parted.next_ms == whole.next_ms == second_ms + 1000


def _dispatcher(instruments: list[Instrument]) -> tuple[Dispatcher, _Bus, Simulator]:
    simulator = Simulator(instruments, seed=9, start_ms=T0, book_levels=20)
    plants = {m: Plant(m, [i for i in instruments if i.market is m], now_ms=T0) for m in Market}
    bus = _Bus()
    dispatcher = Dispatcher(plants, bus)  # type: ignore[arg-type]
    dispatcher(simulator.initial_updates(T0, interest_past=False), T0)
    for plant in plants.values():
        plant.start_depth_chains()
    bus.deliveries.clear()
    return dispatcher, bus, simulator


_FAMILIES = (  # a stream's kind (after its symbol), by its start: the family it is pushed with
    ("depth", "depth"), ("rpiDepth", "depth"), ("kline", "klines"), ("continuousKline", "klines"),
    ("miniTicker", "tickers"), ("ticker", "tickers"), ("!miniTicker", "arrays"), ("!ticker", "arrays"),
    ("!bookTicker", "book tickers"), ("forceOrder", "notes"), ("openInterest", "notes"),
    ("!forceOrder", "notes"), ("mark", "marks"), ("index", "marks"), ("!mark", "marks"),
)  # fmt: skip


def _family(stream: str) -> str:
    kind = stream if stream.startswith("!") else stream.partition("@")[2]
    return next((family for start, family in _FAMILIES if kind.startswith(start)), kind)


def test_the_pushes_published_a_family_at_a_time_are_those_of_one_tick_in_its_order() -> None:
    # Two seconds of steps: one dispatcher ticks with the batch (__call__), the other
    # publishes the batch (actions) and then each family of pushes apart (ticks). Per
    # market, the same messages in the same order; apart, no delivery of a tick holds two
    # families (Plant.tick_parts)
    instruments = _instruments()
    whole, whole_bus, whole_sim = _dispatcher(instruments)
    parted, parted_bus, parted_sim = _dispatcher(instruments)
    ticked_apart = snapshots = 0
    for now_ms in range(T0 + 1, T0 + 2_100):
        whole(_stepped(whole_sim, now_ms), now_ms)
        parted.actions(_stepped(parted_sim, now_ms), now_ms)
        before = len(parted_bus.deliveries)
        for _ in parted.ticks(now_ms):
            ticked_apart += 1
        for _, messages in parted_bus.deliveries[before:]:
            assert len({_family(stream) for stream, _ in messages}) == 1, [stream for stream, _ in messages]
            snapshot = sum(stream.endswith("@ticker") for stream, _ in messages)
            assert snapshot <= 8  # the ticker snapshot 8 symbols a delivery
            snapshots += snapshot > 0
    for market in Market:
        one = [m for delivered, messages in whole_bus.deliveries if delivered is market for m in messages]
        apart = [m for delivered, messages in parted_bus.deliveries if delivered is market for m in messages]
        assert apart == one
    assert ticked_apart > 20
    assert snapshots > 4  # COIN-M's 3 and USDⓈ-M's 1 snapshots (14 and 26 symbols): in more deliveries
