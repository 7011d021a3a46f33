"""The simulated market's shell: how it paces the simulator against the loop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

import pytest
from conftest import StartServer
from rawws import RawWebSocket
from timing import SECONDS, eventually

from tickerplant.clock import ManualClock
from tickerplant.feeds.simulator.pump import Dispatcher, SimulatedMarket
from tickerplant.feeds.simulator.simulator import Simulator
from tickerplant.market.instruments import ContractType, Instrument, Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.market.plant.plant import Plant
from tickerplant.market.updates import MarketUpdate

T0 = 1_767_225_600_000  # 2026-01-01T00:00Z


async def test_a_catch_up_lets_the_loop_run_between_batches(start_server: StartServer) -> None:
    # A second of a 100,000 actions/s market falls due at once (a machine that cannot keep
    # up sees this every tick): it is dispatched a batch at a time, and what else the loop
    # holds (the gateways' flushes and reads, a REST answer, a ping) runs between batches,
    # instead of waiting for the whole second's actions in one step.
    clock = ManualClock(T0)
    plant = await start_server(clock=clock, simulator={"actions_per_s": 100_000.0, "history_s": 0.0})
    source = plant.source
    assert isinstance(source, SimulatedMarket) and source.simulator is not None
    simulator = source.simulator
    actions = simulator.action_count
    seen: list[int] = []  # updates processed, as another task on the loop sees them
    clock.advance(1000)
    async with asyncio.timeout(30 * SECONDS):
        while simulator.action_count < actions + 50_000 or not seen or seen[-1] != source.updates_processed:
            if not seen or seen[-1] != source.updates_processed:
                seen.append(source.updates_processed)
            await asyncio.sleep(0)
    steps = len(seen) - 1
    assert steps >= 50, f"the catch-up held the loop: seen in {steps} steps"


class _Bus:
    """Every delivery, in order."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[Market, list[StreamMessage]]] = []

    def publish(self, market: Market, messages: Sequence[StreamMessage]) -> None:
        if messages:
            self.deliveries.append((market, list(messages)))

    def subscribe(self, market: Market, handler: object) -> None:
        raise AssertionError("not here")


def _market(instruments: list[Instrument]) -> tuple[Dispatcher, _Bus]:
    """Plants holding the simulator's initial books, their depth chains started."""
    plants = {market: Plant(market, [i for i in instruments if i.market is market], now_ms=T0) for market in Market}
    bus = _Bus()
    dispatcher = Dispatcher(plants, bus)
    for update in Simulator(instruments, seed=9, start_ms=T0).initial_updates(T0, interest_past=False):
        dispatcher.hold([update], T0, {market: [] for market in Market})
    for plant in plants.values():
        plant.end_batch(T0, [])
        plant.start_depth_chains()
    return dispatcher, bus


def test_a_turns_venue_orders_are_one_delivery_per_market_with_the_messages_of_one_each() -> None:
    # A loop turn's venue orders (resting, taking, leaving, in both markets, two of the
    # depth streams' 100 ms ticks falling due among them): published together, one delivery
    # per market, holding every message one ``actions`` per order made, in the same order
    # (bookTickers, trades, real-time depth events, each order's depth diff for the views),
    # with the same update ids. The pushes that fell due are not among them: the pump ticks
    # them, a family a loop turn (whole, in the orders' turn, they held the loop ~1 ms).
    wanted = ("BTCUSDT", "ETHUSDT", "BTCUSD_PERP")
    instruments = [i for m in Market for i in catalogue(m, T0) if i.symbol in wanted]
    simulator = Simulator(instruments, seed=9, start_ms=T0)
    outside = simulator.outside
    pending: list[tuple[list[MarketUpdate], int]] = []
    for n in range(24):
        now_ms = T0 + 40 * (n // 4)  # four orders a millisecond, ticks due at +120 and +200
        symbol = wanted[n % 3]
        book = simulator.books[symbol]
        if n % 6 == 5:  # a taker: its trades, then the levels it took
            pending.append((outside.take(symbol, True, 1, book.ask_prices[2], now_ms)[1], now_ms))
        elif n % 6 == 4:  # an order that leaves
            pending.append((outside.withdraw(symbol, n - 3, now_ms), now_ms))
        else:
            pending.append((outside.rest(symbol, n, True, book.bid_prices[-2 - n % 3], 1 + n, now_ms)[1], now_ms))
    one_each, once = _market(instruments), _market(instruments)
    for updates, now_ms in pending:
        one_each[0].actions(updates, now_ms)
    assert once[0].turn(pending) == sum(len(updates) for updates, _ in pending)
    assert [market for market, _ in once[1].deliveries] == [Market.UM, Market.CM]  # one each
    for market in Market:
        each = [m for delivered, messages in one_each[1].deliveries if delivered is market for m in messages]
        assert dict(once[1].deliveries)[market] == each
    streams = {stream.partition("@")[2] for _, messages in once[1].deliveries for stream, _ in messages}
    assert {"bookTicker", "trade", "aggTrade", "depth@0ms", "depthDiff"} <= streams
    assert "depth@100ms" not in streams  # due, and left to the pump's ticks
    # which push what the orders changed: the plant's next tick, at the time it fell due
    plant = once[0].plants[Market.UM]
    assert plant.next_tick_ms <= T0 + 200
    ticked: list[StreamMessage] = []
    plant.tick(T0 + 200, ticked)
    pushed = [json.loads(payload) for stream, payload in ticked if stream == "btcusdt@depth@100ms"]
    assert pushed and pushed[-1]["b"]  # the venue's BTCUSDT bids, rested and withdrawn


async def test_a_venue_order_while_the_pump_catches_up_is_published_after_what_it_holds(
    start_server: StartServer,
) -> None:
    # A venue taker trades between two of a catch-up's batches: its trades take the next
    # ids, above those of the batches held, unpublished. They join what is held and reach
    # the bus after it: a market's trade ids are delivered in order, and no batch is ended
    # (its depth diff published) before the bookTickers and trades it held. The taker trades
    # at the clock's time then, later than the catch-up's start: the batches after it are
    # stamped no earlier (their trades, with later ids, were stamped before it: T went back).
    clock = ManualClock(T0)
    plant = await start_server(clock=clock, simulator={"actions_per_s": 100_000.0, "history_s": 0.0})
    source = plant.source
    assert isinstance(source, SimulatedMarket) and source.simulator is not None
    simulator = source.simulator
    first_ids: list[int] = []  # BTCUSDT's aggregates' first trade ids, as the bus delivers them
    trades: list[tuple[int, int]] = []  # and their times: (first trade id, T)

    def delivered(messages: Sequence[StreamMessage]) -> None:
        aggregates = [json.loads(payload) for stream, payload in messages if stream == "btcusdt@aggTrade"]
        first_ids.extend(a["f"] for a in aggregates)
        trades.extend((a["f"], a["T"]) for a in aggregates)

    plant.bus.subscribe(Market.UM, delivered)
    actions = simulator.action_count
    clock.advance(1000)  # 100,000 actions fall due: a catch-up of about 200 batches
    async with asyncio.timeout(30 * SECONDS):
        while simulator.action_count < actions + 10_000:
            await asyncio.sleep(0)
        assert simulator.action_count < actions + 90_000, "caught up before the taker came"
        clock.advance(50)  # the wall clock's time went on while the pump caught up
        book = simulator.books["BTCUSDT"]
        taken, updates = simulator.outside.take("BTCUSDT", True, 1, book.ask_prices[1], clock.now_ms())
        assert taken
        source.outside(updates, clock.now_ms())  # as the venue's OneBook does
        while source.stepped_ms < clock.now_ms():
            await asyncio.sleep(0)
    assert taken[0].trade_id in first_ids
    assert first_ids == sorted(first_ids)
    times = [time_ms for _, time_ms in trades]
    assert times == sorted(times) and len(times) > 100
    assert next(t for t in trades if t[0] > taken[0].trade_id)[1] >= T0 + 1050  # after the taker's


@pytest.mark.parametrize("slice_ms", [0.0, 1e6])
async def test_a_steps_parts_share_a_loop_turn_until_they_have_held_it_step_slice_ms(
    start_server: StartServer, slice_ms: float
) -> None:
    # On the wall clock a step is published in parts: its actions, the second's sample 8
    # symbols a part (each its marks' notes, @markState), each family of pushes (the marks'
    # @markPrice@1s among them). The loop turns between two parts once they have held it
    # step_slice_ms: 0, a turn a part (34 turns for a whole second's pushes alone: under a
    # REST burst, which answers for 2 ms a turn, 100-170 ms with no step, no bookTicker);
    # longer than a step lasts, the whole step in the turn its actions began.
    plant = await start_server(simulator={"step_slice_ms": slice_ms})  # the system clock
    marks = await RawWebSocket.connect(plant.listeners[Market.UM].port, "/ws/btcusdt@markPrice@1s")
    loop = asyncio.get_running_loop()
    turns: list[list[str]] = []  # the streams the bus delivered in each loop turn that had any
    turn_open = False

    def turned() -> None:
        nonlocal turn_open
        turn_open = False

    def delivered(messages: Sequence[StreamMessage]) -> None:
        nonlocal turn_open
        if not turn_open:  # the turn's first delivery: the turn ends when the loop runs what it schedules
            turn_open = True
            turns.append([])
            loop.call_soon(turned)
        turns[-1].extend(stream for stream, _ in messages)

    for market in Market:
        plant.bus.subscribe(market, delivered)
    await eventually(lambda: any("btcusdt@markPrice@1s" in turn for turn in turns[1:]), timeout_s=10 * SECONDS)
    pushed = next(turn for turn in turns[1:] if "btcusdt@markPrice@1s" in turn)
    sampled = sum(stream.endswith("@markState") for stream in pushed)
    perpetuals = sum(i.contract_type is ContractType.PERPETUAL for m in Market for i in catalogue(m, T0))
    if slice_ms == 0:
        assert sampled == 0  # the sample's parts came on turns before, each its own
    else:
        assert sampled >= perpetuals  # every perpetual's mark sampled in the turn its push went out
    await marks.close()


# 2026-11-28 03:40 UTC, a Saturday night: the live market runs at a fraction of its mean
QUIET_MS = 1_795_836_000_000 + 20 * 60_000


async def _actions_in_ten_seconds(start_server: StartServer, steady: bool) -> int:
    clock = ManualClock(QUIET_MS)
    simulator_config = {"actions_per_s": 2_000.0, "history_s": 0.0, "steady_rate": steady}
    plant = await start_server(clock=clock, simulator=simulator_config)
    source = plant.source
    assert isinstance(source, SimulatedMarket) and source.simulator is not None
    simulator = source.simulator
    actions = simulator.action_count
    async with asyncio.timeout(30 * SECONDS):
        for _ in range(10):  # a second at a time: a backlog past 5 s would be skipped
            clock.advance(1_000)
            while source.stepped_ms < clock.now_ms():
                await asyncio.sleep(0)
    return simulator.action_count - actions


async def test_a_steady_rate_holds_the_sim_rate_at_a_quiet_hour(start_server: StartServer) -> None:
    # As busy as its past by default: a Saturday night's hour runs at a fraction of --sim-rate.
    # With steady_rate (--steady-rate) the rate is --sim-rate whatever the hour.
    steady = await _actions_in_ten_seconds(start_server, True)
    cycled = await _actions_in_ten_seconds(start_server, False)
    assert 0.9 * 20_000 < steady < 1.1 * 20_000, steady
    assert cycled < 0.6 * steady, (cycled, steady)
