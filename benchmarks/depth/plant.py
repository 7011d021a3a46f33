"""The depth benchmark's part (a), in-process: the plants' cost per simulator action with every
depth stream of every symbol produced (``Plant(..., depth_streams=True)``) against the same run
without them (``depth_streams=False``), both markets, the simulator's default catalogue.

The simulator's order flow is made once per rate, before anything is timed, as the pump makes
it (``feeds/simulator/pump.py``): at ``max``, batches of ``SimulatorConfig.batch_actions`` actions, each
stamped with the clock as it stands (the clock advancing by the batch's measured cost, sim and
plants without depth); at a rate, ``Simulator.advance`` every millisecond of simulated time.
Then fresh plants, warmed like the pump's (an hour of past trades, the initial books, the depth
chains started from them), take the same batches through ``pump.dispatch`` onto a bus that only
counts, alternately with and without depth, and the CPU time of this thread is taken around
the whole loop: best of ``repeats``. The simulator's own cost per action is printed beside
them, for scale; it is not part of either side.

Both sides run without the derived streams (``Plant(..., derived_streams=False)``: klines,
continuous klines and what else the plant derives from trades), so that the ratio is depth's
alone; ``derived_plant/scenario.py`` measures those against the same flow with depth on.

The ratio is that of the depth streams at their cadences (250, 500 and 100 ms, and
rpiDepth): both sides follow a demand (``Plant.follow``) of every stream a plant writes
(``cadence_demand``: what one untimed run publishes) but the real-time `@depth@0ms` and
`@depth<N>@0ms`, an event per batch of every symbol, which a server writes only while
somebody takes them. With them too (a split plant writes everything) is timed beside it
(``Runs.realtime``) and printed, without a target.

The simulator's depth is whatever its defaults give (``--book-levels`` passes
``book_levels`` to a simulator that takes it).
"""

from __future__ import annotations

import gc
import inspect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..harness.processes import import_from_src

T0 = 1_767_225_600_000  # 2026-01-01T00:00Z: the simulator's and ManualClock's default start
HISTORY_MS = 3_600_000  # the past trades the plants' windows are warmed with, as the tests' servers


@dataclass(frozen=True)
class Flow:
    """A simulator's order flow, made once: what every timed run replays."""

    label: str
    batches: list[tuple[int, list[Any]]]  # (now_ms, updates) per pump step, empty ones included
    actions: int
    simulated_s: float
    sim_us_per_action: float  # the simulator's own CPU per action while making it
    initial: list[Any]  # the initial books' updates
    history: list[Any]  # past trades
    instruments: dict[Any, list[Any]]  # Market -> instruments
    book_levels: tuple[float, float] = (0.0, 0.0)  # mean levels a side at the start, at the end


@dataclass
class Runs:
    """One rate's timed runs, in microseconds of CPU per action."""

    flow: Flow
    plain: list[float] = field(default_factory=list)  # depth_streams=False
    depth: list[float] = field(default_factory=list)  # depth_streams=True
    plain_messages: int = 0  # messages a run publishes
    depth_messages: int = 0
    realtime: list[float] = field(default_factory=list)  # depth with the @0ms streams too

    @property
    def ratio(self) -> float:
        return min(self.depth) / min(self.plain) if self.plain and self.depth else float("nan")

    def spread(self) -> tuple[float, float]:
        """The lowest and highest ratio of a depth run to a plain run made next to it."""
        pairs = [d / p for d, p in zip(self.depth, self.plain, strict=False)]
        return (min(pairs), max(pairs)) if pairs else (float("nan"), float("nan"))


class _CountingBus:
    """A bus with one subscriber that counts: what the plants publish, nothing more."""

    def __init__(self, names: set[str] | None = None) -> None:
        self.messages = 0
        self.names = names  # when given, every stream published is added (an untimed census)

    def publish(self, market: Any, messages: Sequence[Any]) -> None:
        self.messages += len(messages)
        if self.names is not None:
            self.names.update(m.stream for m in messages)

    def subscribe(self, market: Any, handler: Any) -> None:  # the Bus protocol's other half
        raise NotImplementedError


def _simulator(instruments: dict[Any, list[Any]], rate: float | None, book_levels: int | None) -> Any:
    import_from_src()
    from tickerplant.feeds.simulator.simulator import Simulator

    extra: dict[str, Any] = {}
    if book_levels is not None:
        if "book_levels" not in inspect.signature(Simulator).parameters:
            raise SystemExit("--book-levels: this simulator takes no book_levels")
        extra["book_levels"] = book_levels
    every = [inst for insts in instruments.values() for inst in insts]
    return Simulator(every, seed=1, actions_per_s=rate or 0.0, start_ms=T0, **extra)


def _levels(sim: Any, instruments: dict[Any, list[Any]]) -> float:
    """Mean levels a side over every book of the simulator."""
    books = [sim.books[inst.symbol] for insts in instruments.values() for inst in insts]
    return float(sum(b.bid_count + b.ask_count for b in books)) / (2 * len(books))


def catalogue() -> dict[Any, list[Any]]:
    import_from_src()
    from tickerplant.market.instruments import Market
    from tickerplant.market.instruments import catalogue as listed

    return {market: list(listed(market, T0)) for market in Market}


def make_flow(
    rate: float | None, actions: int, book_levels: int | None, max_actions_per_s: float = 0.0
) -> Flow:
    """The order flow of `actions` actions at `rate` actions/s of simulated time, or at max
    (`rate` None): batches of the pump's size, the clock advancing `max_actions_per_s`."""
    import_from_src()
    from tickerplant.config import SimulatorConfig

    instruments = catalogue()
    sim = _simulator(instruments, rate, book_levels)
    history = sim.warm_history(T0, HISTORY_MS)
    initial = list(sim.initial_updates(T0))
    start_levels = _levels(sim, instruments)
    derive = _derivatives(sim, instruments, history, initial)
    batches: list[tuple[int, list[Any]]] = []
    done = 0
    cpu = time.thread_time()
    if rate is None:
        batch = SimulatorConfig().batch_actions
        ms_per_batch = 1000.0 * batch / max_actions_per_s
        k = 0
        while done < actions:
            now_ms = T0 + 1 + round(k * ms_per_batch)
            batches.append((now_ms, derive(sim.step(batch, now_ms), now_ms)))
            done += batch
            k += 1
        label = f"max (~{max_actions_per_s:,.0f}/s)"
    else:
        now_ms = T0
        while sim.action_count < actions:
            now_ms += 1  # the pump's 1 ms cadence
            batches.append((now_ms, derive(sim.advance(now_ms), now_ms)))
        done = sim.action_count
        label = f"{rate:g}/s"
    sim_us = (time.thread_time() - cpu) * 1e6 / done
    simulated_s = (batches[-1][0] - T0) / 1000
    levels = (start_levels, _levels(sim, instruments))
    return Flow(label, batches, done, simulated_s, sim_us, initial, history, instruments, levels)


def _derivatives(
    sim: Any, instruments: dict[Any, list[Any]], history: list[Any], initial: list[Any]
) -> Callable[[list[Any], int], list[Any]]:
    """What the pump adds to each batch (feeds/simulator/pump.py, ``_derive``): index, mark prices and
    funding once a second, from a simulator that makes them (the initial sample and the warm
    funding history go into ``initial``); the identity for one that does not."""
    try:
        from tickerplant.feeds.simulator.derivatives import SimulatedDerivatives
    except ImportError:
        return lambda updates, now_ms: updates
    from tickerplant.market.updates import Trade

    every = [inst for insts in instruments.values() for inst in insts]
    derivatives = SimulatedDerivatives(every, seed=1, start_ms=T0)
    last: dict[str, int] = {trade.symbol: trade.price for trade in history}
    initial += derivatives.warm_funding(T0)
    initial += derivatives.sample(T0, sim.books, sim.fair_price, last.get)
    sim.mark_price = derivatives.mark_units  # positions are liquidated at the mark, as served

    def derive(updates: list[Any], now_ms: int) -> list[Any]:
        for update in updates:
            if type(update) is Trade:
                last[update.symbol] = update.price
        updates.extend(derivatives.advance(now_ms, sim.books, sim.fair_price, last.get))
        return updates

    return derive


def _plants(flow: Flow, depth: bool, derived: bool = False) -> dict[Any, Any]:
    """Fresh plants, warmed as the pump warms them (feeds/simulator/pump.py, SimulatedMarket.warm);
    `derived`: with the derived streams (klines, …)."""
    from tickerplant.market.plant.plant import Plant

    plants = {}
    for market, insts in flow.instruments.items():
        plant = Plant(market, insts, now_ms=T0, depth_streams=depth, derived_streams=derived)
        symbols = plant.symbols
        plant.warm(t for t in flow.history if t.symbol in symbols)
        out: list[Any] = []
        plant.snapshot(T0, out)
        pairs = {state.inst.pair for state in symbols.values()}  # a COIN-M index's name
        for update in flow.initial:
            if update.symbol in symbols or update.symbol in pairs:
                plant.apply(update, T0, out)
        plant.end_batch(T0, out)
        plant.start_depth_chains()
        plants[market] = plant
    return plants


def cadence_demand(flow: Flow, derived: bool = False) -> frozenset[str]:
    """Every stream the plants write over `flow` (depth and `derived` on) but the real-time
    depth streams (`@0ms`): one untimed run's census."""
    names: set[str] = set()
    run_once(flow, depth=True, derived=derived, bus=_CountingBus(names))
    return frozenset(name for name in names if not name.endswith("@0ms"))


def run_once(
    flow: Flow,
    depth: bool,
    derived: bool = False,
    wanted: frozenset[str] | None = None,
    bus: _CountingBus | None = None,
) -> tuple[float, _CountingBus]:
    """CPU microseconds per action of the plants over `flow`, and what they published;
    `wanted`: the streams they write (``Plant.follow``), None all."""
    from tickerplant.feeds.simulator.pump import dispatch

    plants = _plants(flow, depth, derived)
    if wanted is not None:
        for plant in plants.values():
            plant.follow(wanted)
    plant_of = {symbol: plant for plant in plants.values() for symbol in plant.symbols}
    for plant in plants.values():  # a COIN-M index price belongs to its pair, as the pump has it
        for state in plant.symbols.values():
            plant_of.setdefault(state.inst.pair, plant)
    bus = bus or _CountingBus()
    gc.collect()
    cpu = time.thread_time()
    for now_ms, updates in flow.batches:
        dispatch(updates, now_ms, plant_of, plants, bus)
    used = time.thread_time() - cpu
    return used * 1e6 / flow.actions, bus


def measure(flow: Flow, repeats: int) -> Runs:
    """Alternately without and with the depth streams at their cadences, and with the
    real-time ones too, `repeats` times each."""
    runs = Runs(flow)
    wanted = cadence_demand(flow)
    for _ in range(repeats):
        us, bus = run_once(flow, depth=False, wanted=wanted)
        runs.plain.append(us)
        runs.plain_messages = bus.messages
        us, bus = run_once(flow, depth=True, wanted=wanted)
        runs.depth.append(us)
        runs.depth_messages = bus.messages
        runs.realtime.append(run_once(flow, depth=True)[0])
    return runs


def max_rate(book_levels: int | None, actions: int) -> float:
    """Actions/s the pump reaches flat out without depth, simulator and plants in one thread:
    the rate at which the clock advances in the `max` flow."""
    probe = make_flow(None, actions, book_levels, max_actions_per_s=50_000.0)
    plant_us = min(run_once(probe, depth=False)[0] for _ in range(2))
    return 1e6 / (probe.sim_us_per_action + plant_us)


def print_runs(runs: list[Runs], without: str, with_: str, ratio: str, repeats: int, what: str) -> None:
    """The runs as a table: CPU per action without and with what is measured (columns
    ``without``, ``with_``, their ratio ``ratio``), the simulator's own cost beside it."""
    from ..harness.report import Column, Table

    print(f"{what} (both markets; best of {repeats}, µs); the simulator's own cost beside it, for scale")
    table = Table(
        [
            Column("rate", 20, left=True),
            Column("sim µs", 7),
            Column(without, 9),
            Column(with_, 9),
            Column(ratio, 13),
            Column("pairs", 11),
            Column("msgs/action", 12),
        ]
    )
    table.print(
        [
            r.flow.label,
            f"{r.flow.sim_us_per_action:.2f}",
            f"{min(r.plain):.2f}",
            f"{min(r.depth):.2f}",
            f"{r.ratio:.2f}",
            "{:.2f}-{:.2f}".format(*r.spread()),
            f"{r.plain_messages / r.flow.actions:.2f}/{r.depth_messages / r.flow.actions:.2f}",
        ]
        for r in runs
    )
