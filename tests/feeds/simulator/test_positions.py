"""Leveraged positions, open interest and liquidations in the simulator (feeds/simulator/positions.py,
feeds/simulator/liquidations.py): the prices, the order of liquidation, the bounds, the accounting,
and the market they make: liquidations every minute, cascades on a fast move."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter

import pytest

from tickerplant.feeds.simulator.positions import (
    MAX_POSITIONS,
    Positions,
    forget_seedings,
    open_interest_history,
)
from tickerplant.feeds.simulator.simulator import Simulator
from tickerplant.market.instruments import Instrument, Market, catalogue
from tickerplant.market.updates import BookUpdate, Liquidation, OpenInterest, Trade

NOW_MS = 1_767_225_600_000
UM = catalogue(Market.UM, NOW_MS)
CM = catalogue(Market.CM, NOW_MS)
BTCUSDT = next(i for i in UM if i.symbol == "BTCUSDT")
BTCUSD = next(i for i in CM if i.symbol == "BTCUSD_PERP")
SOLUSDT = next(i for i in UM if i.symbol == "SOLUSDT")


def _positions(inst: Instrument, seed: int = 1) -> Positions:
    return Positions(inst, random.Random(seed), mean_order_qty=100 * inst.step)


# -- liquidation and bankruptcy prices --------------------------------------------------


def _equity_linear(is_long: bool, entry: float, price: float, leverage: int) -> float:
    """Margin plus profit per unit of base, linear contract."""
    return entry / leverage + (price - entry if is_long else entry - price)


def _equity_inverse(is_long: bool, entry: float, price: float, leverage: int) -> float:
    """Margin plus profit in coin per USD of contract, inverse contract."""
    return 1 / (entry * leverage) + ((1 / entry - 1 / price) if is_long else (1 / price - 1 / entry))


@pytest.mark.parametrize("inst", [BTCUSDT, SOLUSDT, BTCUSD], ids=lambda i: i.symbol)
@pytest.mark.parametrize("is_long", [True, False], ids=["long", "short"])
@pytest.mark.parametrize("leverage", [5, 20, 75])
def test_liquidation_is_where_equity_meets_maintenance_and_bankruptcy_where_it_is_gone(
    inst: Instrument, is_long: bool, leverage: int
) -> None:
    positions = _positions(inst)
    entry = inst.initial_price
    liq, bankrupt = positions.prices(is_long, entry, leverage)
    tick, mmr = inst.tick, positions.mmr
    assert liq % tick == 0 and bankrupt % tick == 0
    # ordered: the liquidation price lies between the entry and the bankruptcy price
    assert (bankrupt < liq < entry) if is_long else (entry < liq < bankrupt)
    if inst.market is Market.UM:
        at_liq = _equity_linear(is_long, entry, liq, leverage) - mmr * liq
        at_bankrupt = _equity_linear(is_long, entry, bankrupt, leverage)
        assert abs(at_liq) <= 2 * tick and abs(at_bankrupt) <= tick
    else:
        at_liq = _equity_inverse(is_long, entry, liq, leverage) - mmr / liq
        at_bankrupt = _equity_inverse(is_long, entry, bankrupt, leverage)
        per_tick = tick / liq**2  # what one tick moves 1/price by
        assert abs(at_liq) <= 2 * per_tick and abs(at_bankrupt) <= 2 * per_tick


def test_the_maximum_leverage_and_maintenance_rate() -> None:
    assert (_positions(BTCUSDT).max_leverage, _positions(BTCUSDT).mmr) == (125, 0.004)
    assert _positions(SOLUSDT).max_leverage == 75
    with pytest.raises(ValueError):
        _positions(SOLUSDT).open(True, 1, 100, 100)
    # at 125x a long is liquidated 0.4 % below its entry, bankrupt 0.8 % below
    liq, bankrupt = _positions(BTCUSDT).prices(True, 9_000_000, 125)
    assert liq == pytest.approx(9_000_000 * 0.992 / 0.996, abs=10)
    assert bankrupt == 9_000_000 * 0.992


# -- which position goes first; the bound ----------------------------------------------------


def test_due_takes_the_long_with_the_highest_and_the_short_with_the_lowest_price() -> None:
    positions = Positions(BTCUSDT, random.Random(1), 1.0)
    entry = BTCUSDT.initial_price
    loose = positions.open(True, 5, entry, 10)
    tight = positions.open(True, 7, entry, 100)
    short = positions.open(False, 3, entry, 50)
    assert positions.long_trigger == tight.liquidation and positions.short_trigger == short.liquidation
    assert positions.due(entry) is None
    assert positions.due(tight.liquidation) is tight
    assert positions.due(tight.liquidation) is None  # the looser one holds
    assert positions.due(loose.liquidation - 10 * BTCUSDT.tick) is loose
    assert positions.due(short.liquidation) is short
    assert len(positions) == 0 and positions.tracked_qty == 0


def test_positions_are_bounded_and_the_oldest_leaves_first() -> None:
    positions = Positions(BTCUSDT, random.Random(1), 1.0)
    opened = [positions.open(i % 2 == 0, 1 + i, BTCUSDT.initial_price, 20) for i in range(MAX_POSITIONS + 40)]
    assert len(positions) == MAX_POSITIONS
    assert positions.positions() == opened[40:]
    assert positions.tracked_qty == sum(p.qty for p in opened[40:])


def _drained(positions: Positions) -> list[tuple[bool, int, int, int, int]]:
    """Every position in the order ``due`` liquidates them: the longs, highest liquidation
    price first, then the shorts, lowest first (ties in the order they were tracked in)."""
    order = []
    for mark in (1, 1 << 60):
        while (position := positions.due(mark)) is not None:
            order.append((position.is_long, position.qty, position.entry, position.leverage, position.liquidation))
    return order


@pytest.mark.parametrize("inst", [BTCUSDT, BTCUSD], ids=lambda i: i.symbol)
def test_the_seeded_positions_are_tracked_as_opening_them_one_at_a_time_tracks_them(inst: Instrument) -> None:
    seeded = _positions(inst)
    # a price of 2,000 ticks: entries 0.3 % apart are a few ticks apart, and many positions
    # share a liquidation price (their order among them is the order they were tracked in)
    seeded.seed(2_000 * inst.tick, [1 + n % 7 for n in range(MAX_POSITIONS)])
    one_by_one = _positions(inst)
    for p in seeded.positions():
        one_by_one.open(p.is_long, p.qty, p.entry, p.leverage)
    assert 0.9 * MAX_POSITIONS < len(seeded) <= MAX_POSITIONS  # the few past their price left out
    def state(p: Positions) -> tuple[int, int, int, int, bool]:
        return p.long_trigger, p.short_trigger, p.tracked_qty, p.open_interest, p.changed

    assert state(seeded) == state(one_by_one)
    drained = _drained(seeded)
    assert drained == _drained(one_by_one)
    assert len({(d[0], d[4]) for d in drained}) < len(drained) / 2
    # past the cap, the oldest leave first, as they do when opened
    full = _positions(inst)
    first = [full.open(True, 1, inst.initial_price, 20) for _ in range(100)]
    full.seed(inst.initial_price, [2] * MAX_POSITIONS)
    kept = full.positions()
    n = sum(p.qty == 1 for p in kept)  # the first ones still tracked
    assert len(kept) == MAX_POSITIONS and n < len(first)
    assert kept[:n] == first[len(first) - n :] and all(p.qty == 2 for p in kept[n:])


# -- open interest accounting ----------------------------------------------------------------


def test_open_interest_rises_with_openings_falls_with_closings_and_holds_the_tracked() -> None:
    positions = _positions(BTCUSDT)
    target = positions.target
    assert positions.open_interest == target and target % BTCUSDT.step == 0
    rises = falls = 0
    previous = positions.open_interest
    for k in range(20_000):
        positions.traded(k % 2 == 0, 50 * BTCUSDT.step, BTCUSDT.initial_price, NOW_MS + 10 * k)
        change = positions.open_interest - previous
        assert abs(change) <= 50 * BTCUSDT.step
        rises += change > 0
        falls += change < 0
        previous = positions.open_interest
        assert positions.open_interest >= positions.tracked_qty
    assert rises > 5_000 and falls > 5_000
    # it wanders around its target
    assert 0.5 * target < positions.open_interest < 1.5 * target


def test_a_liquidation_closes_its_position_in_the_open_interest() -> None:
    positions = _positions(BTCUSDT)
    before = positions.open_interest
    position = positions.open(True, 40, BTCUSDT.initial_price, 50)
    assert positions.open_interest == before  # tracked out of what is open already
    assert positions.due(position.liquidation) is position
    assert positions.open_interest == before - 40 and positions.changed


def test_open_interest_history_joins_the_present() -> None:
    positions = _positions(BTCUSDT)
    past = open_interest_history(positions, 9_000_000, 1e-5, random.Random(3), NOW_MS + 7, 86_400_000, 300_000)
    assert len(past) == 288
    times = [t for t, _, _ in past]
    assert times == sorted(times) and all(t % 300_000 == 0 for t in times) and times[-1] == NOW_MS
    assert all(q % BTCUSDT.step == 0 and q > 0 and p % BTCUSDT.tick == 0 for _, q, p in past)
    again = open_interest_history(positions, 9_000_000, 1e-5, random.Random(3), NOW_MS + 7, 86_400_000, 300_000)
    assert past == again


# -- the simulated market ------------------------------------------------------------------


def test_at_least_one_liquidation_a_minute() -> None:
    # Both markets at the default rate (400 actions/s), five simulated minutes. The positions
    # are tracked on a clock of simulated time, not per action, so a faster flow (--sim-rate
    # max) tracks them at the same pace with more orders to open them: not fewer.
    sim = Simulator(UM + CM, seed=2, start_ms=NOW_MS, book_levels=20)
    sim.initial_updates(NOW_MS)
    per_minute: Counter[int] = Counter()
    symbols: set[str] = set()
    for k in range(1, 5 * 60 * 5 + 1):
        now = NOW_MS + 200 * k
        for update in sim.advance(now):
            if isinstance(update, Liquidation):
                per_minute[(now - NOW_MS - 1) // 60_000] += 1
                symbols.add(update.symbol)
    assert all(per_minute[minute] >= 1 for minute in range(5)), per_minute
    assert sum(per_minute.values()) == sim.liquidation_count
    assert len(symbols) > 5


def test_a_liquidation_trades_through_the_book_to_at_most_its_bankruptcy_price() -> None:
    sim = Simulator(UM[:1], seed=4, start_ms=NOW_MS, book_levels=20)
    position = sim.positions("BTCUSDT").open(True, 2_000, sim.fair_price("BTCUSDT"), 125)
    sim.shock("BTCUSDT", position.liquidation / sim.fair_price("BTCUSDT"))
    out = sim.step(1, NOW_MS)
    index = next(i for i, u in enumerate(out) if isinstance(u, Liquidation) and u.price == position.bankruptcy)
    order = out[index]
    assert isinstance(order, Liquidation) and not order.is_buy and order.qty == 2_000
    fills = []
    for update in reversed(out[:index]):
        if not isinstance(update, Trade):
            break
        fills.insert(0, update)
    assert fills and all(t.buyer_is_maker for t in fills)  # a sell took the bids
    assert all(t.price >= position.bankruptcy for t in fills)
    assert sum(t.qty for t in fills) == order.filled_qty
    notional = sum(t.price * t.qty for t in fills)
    assert order.avg_price == (notional + order.filled_qty // 2) // order.filled_qty
    assert isinstance(out[index + 1], BookUpdate)  # an action of its own
    assert position not in sim.positions("BTCUSDT").positions()


def test_a_fast_move_makes_a_cascade() -> None:
    # Five longs whose liquidation prices sit a few bid levels apart, each big enough to
    # sweep past the next. A shock crosses only the first; each one's fills push the fair
    # price (the mark's stand-in) through the next one's price, and so on down.
    sim = Simulator(UM[:1], seed=5, start_ms=NOW_MS, book_levels=100)
    book, positions = sim.books["BTCUSDT"], sim.positions("BTCUSDT")
    bids = book.bid_prices  # ascending
    mine = []
    for k in range(1, 6):
        target = bids[-1 - 6 * k]
        entry = round(target * (1 - positions.mmr) / (1 - 1 / 125) / BTCUSDT.tick) * BTCUSDT.tick + 5 * BTCUSDT.tick
        qty = sum(book.bids[p] for p in bids[-(6 * k + 12) :])
        mine.append(positions.open(True, qty, entry, 125))
    liqs = [p.liquidation for p in mine]
    assert liqs == sorted(liqs, reverse=True)
    fair = sim.fair_price("BTCUSDT")
    shocked = (liqs[0] + liqs[1]) / 2
    sim.shock("BTCUSDT", shocked / fair)
    assert liqs[1] < sim.fair_price("BTCUSDT") <= liqs[0]  # the shock alone crosses the first only
    out = sim.step(1, NOW_MS)
    order_of = {p.bankruptcy: i for i, p in enumerate(mine)}
    seen = []
    last_fill: int | None = None
    pushed: int | None = None  # the last fill before the action under way
    for update in out:
        if isinstance(update, Trade):
            last_fill = update.price
        elif isinstance(update, Liquidation) and update.price in order_of:
            index = order_of[update.price]
            if index > 0:
                # what pushed the mark past this one: the fills before it
                assert pushed is not None and pushed <= liqs[index]
            seen.append(index)
        elif isinstance(update, BookUpdate):
            pushed = last_fill
    assert seen == [0, 1, 2, 3, 4]
    assert sim.fair_price("BTCUSDT") <= liqs[-1]


def test_open_interest_is_reported_at_most_once_a_second() -> None:
    sim = Simulator(UM, seed=6, actions_per_s=4000.0, start_ms=NOW_MS, book_levels=20)
    sim.initial_updates(NOW_MS)
    last: dict[str, int] = {}
    reports = 0
    for k in range(1, 3001):
        now = NOW_MS + k
        for update in sim.advance(now):
            if isinstance(update, OpenInterest):
                assert update.symbol not in last or update.time_ms // 1000 > last[update.symbol] // 1000
                last[update.symbol] = update.time_ms
                assert update.qty == sim.positions(update.symbol).open_interest
                reports += 1
    assert reports >= len(UM)


def test_positions_are_liquidated_at_the_mark_price_the_simulator_is_given() -> None:
    # The pump hands the simulator the mark price it streams (SimulatedDerivatives.mark_units):
    # a mark under a long's liquidation price liquidates it, wherever the fair price is.
    sim = Simulator(UM[:1], seed=3, start_ms=NOW_MS, book_levels=100)
    positions = sim.positions("BTCUSDT")
    fair = sim.fair_price("BTCUSDT")
    position = positions.open(True, 1_000, fair, 125)
    sim.mark_price = lambda symbol: position.liquidation + BTCUSDT.tick
    out = sim.step(1, NOW_MS)
    assert position in positions.positions()  # the mark has not crossed it
    assert not any(isinstance(u, Liquidation) and u.price == position.bankruptcy for u in out)
    sim.mark_price = lambda symbol: position.liquidation
    out = sim.step(1, NOW_MS + 1_000)  # the engine samples the mark every 20 ms at most
    assert any(isinstance(u, Liquidation) and u.price == position.bankruptcy for u in out)
    assert position not in positions.positions()
    assert sim.fair_price("BTCUSDT") > position.liquidation  # the fair price never crossed it


def test_a_simulator_seeded_again_is_its_first_seedings_twin() -> None:
    """``seed_each`` keeps a seeding for a second simulator of the same seed and instruments:
    that one holds the same positions and goes on exactly as the first (a seed of its own
    here, so the first is seeded, not kept; BTCUSDT's price moved, so a third is seeded)."""

    def run(sim: Simulator) -> list[object]:
        sim.initial_updates(NOW_MS)
        seeded = [(len(p), p.open_interest, p.long_trigger, p.short_trigger) for p in map(sim.positions, ("BTCUSDT", "BTCUSD_PERP"))]  # fmt: skip
        # half a simulated minute: liquidations, openings past the seeded, interest reports
        return [seeded, *(repr(u) for k in range(1, 30 * 5 + 1) for u in sim.advance(NOW_MS + 200 * k))]

    instruments = [BTCUSDT, BTCUSD]
    first, again = (run(Simulator(instruments, seed=918_273, start_ms=NOW_MS, book_levels=20)) for _ in range(2))
    assert again == first and any("Liquidation(" in str(u) for u in first)
    moved = [dataclasses.replace(BTCUSDT, initial_price=BTCUSDT.initial_price + 1000 * BTCUSDT.tick), BTCUSD]
    other = run(Simulator(moved, seed=918_273, start_ms=NOW_MS, book_levels=20))
    assert other[0] != first[0]


def test_a_serving_process_keeps_no_seeding_beside_its_simulator() -> None:
    """What ``commands.settle_heap`` drops once a serving process has made its simulators
    (``forget_seedings``): the seeding kept for a next start held every seeded position, so
    each one the running simulator replaced lived on (~20,000, ~4 MB, through a server's
    first minutes: the memory benchmark's window). After it, a seeded position is the
    simulator's alone, and a simulator of the same seed made next is seeded again, the same."""
    import gc

    def seeded(sim: Simulator) -> list[tuple[int, int]]:
        return [(p.open_interest, len(p)) for p in map(sim.positions, ("BTCUSDT", "BTCUSD_PERP"))]

    def holders(position: object) -> list[type]:  # the containers that hold it
        return sorted((type(r) for r in gc.get_referrers(position) if isinstance(r, (list, tuple))), key=str)

    instruments = [BTCUSDT, BTCUSD]
    sim = Simulator(instruments, seed=5_550_123, start_ms=NOW_MS, book_levels=20)
    first = seeded(sim)
    some = next(iter(sim.positions("BTCUSDT").positions()))
    assert tuple in holders(some)  # the seeding kept for a next start holds it too
    forget_seedings()
    assert holders(some) == [list]  # the simulator's alone
    del sim, some
    again = Simulator(instruments, seed=5_550_123, start_ms=NOW_MS, book_levels=20)
    assert seeded(again) == first


def test_settle_heap_forgets_the_seedings(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from tickerplant import commands
    from tickerplant.feeds.simulator import positions

    for name in ("collect", "freeze", "set_threshold"):  # not this test process's collector
        monkeypatch.setattr(gc, name, lambda *args: None)
    Simulator([BTCUSDT], seed=5_550_124, start_ms=NOW_MS, book_levels=20)
    assert positions._SEEDINGS
    commands.settle_heap()
    assert not positions._SEEDINGS
