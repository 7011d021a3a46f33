"""The asyncio shell around a simulated market: advance the simulator and its derivatives
data (``simulated_derivatives``: index, mark price, funding, each second), run the plants,
publish their messages on the bus. All decisions live in the cores it calls.

The derivatives core reads the simulator's books and fair prices, and the last trade price
of each symbol from the plant's 24 h window (the one place that keeps it)."""

from __future__ import annotations

import asyncio
import functools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace

from tickerplant.bus import Bus, StreamMessage
from tickerplant.clock import Clock, SystemClock
from tickerplant.config import SimulatorConfig
from tickerplant.feeds import Prepared, Sink
from tickerplant.feeds.simulator.derivatives import SimulatedDerivatives
from tickerplant.feeds.simulator.past_parts import PastPriceParts, PastTradeParts
from tickerplant.feeds.simulator.simulator import Simulator
from tickerplant.market.history.counts import id_bases
from tickerplant.market.history.marks import PastMarks
from tickerplant.market.history.past_spec import PastSpec
from tickerplant.market.history.series import SimulatedPast
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.plant.past import owe_past, warm_minutes
from tickerplant.market.plant.plant import Plant
from tickerplant.market.units import DAY_MS, MINUTE_MS, SECOND_MS
from tickerplant.market.updates import MarketUpdate, Trade

Withheld = dict[Market, list[StreamMessage]]  # what a batch's parts made, for its end to publish

__all__ = ["Dispatcher", "SimulatedMarket", "dispatch"]

# symbols a part of the second's sample holds (SimulatedDerivatives.sample_parts): ~25 us
# each with its plant's note, so a part holds the loop ~0.2 ms
_SAMPLE_SYMBOLS = 8
# On the wall clock the pump sleeps until what is due, but never longer than this: a stream
# taken meanwhile is due at once, and waits this long at most (``_until_due``).
_LONGEST_SLEEP_MS = 20


def _numbered(ids: tuple[int, int], start_ms: int) -> tuple[int, int]:
    """The past's next trade and aggregate ids in the numbering of a start at ``start_ms``."""
    trade_base, agg_base = id_bases(start_ms)
    return ids[0] + trade_base, ids[1] + agg_base


class SimulatedMarket:
    """The default source: the catalogue's instruments, traded by the simulator."""

    def __init__(self, config: SimulatorConfig, clock: Clock) -> None:
        self._config = config
        self._clock = clock
        self.simulator: Simulator | None = None
        self.past: SimulatedPast | None = None  # the deterministic past (market/history)
        self.derivatives: SimulatedDerivatives | None = None
        self._last_price: Callable[[str], int | None] = lambda symbol: None
        self.updates_processed = 0
        self._stepped_ms = 0  # stepped_ms
        # nothing falls due before this (run: as last worked out); 0: stepping
        self._quiet_until_ms = 0
        # what outside orders (the venue's takers: one_book.py) made, to publish (outside)
        self._outside: list[tuple[list[MarketUpdate], int]] = []
        self._dispatch: Dispatcher | None = None
        self._flush_scheduled = False
        # what the pump holds while it catches up (run): outside orders' updates join it, so
        # that nothing ends its batch or reaches the bus before what it holds
        self._withheld: Withheld | None = None
        self._spec: PastSpec | None = None  # the live start and the warm start's window (prepare)

    async def prepare(self) -> Prepared:
        now_ms = self._clock.now_ms()
        config = self._config
        # the warm start's window: the last history_s, at most a day (warm)
        warm_from_ms = now_ms - min(round(config.history_s * 1000), DAY_MS)
        spec = PastSpec(config.seed, config.actions_per_s, now_ms, config.history_start_ms, warm_from_ms)
        catalogued = {market: catalogue(market, now_ms) for market in Market}
        self.past = past = SimulatedPast.of([i for insts in catalogued.values() for i in insts], spec)
        # the live market starts where the past's path is, its trade ids above the past's
        instruments = {
            market: [replace(i, initial_price=past.price_at(i.symbol, now_ms)) for i in insts]
            for market, insts in catalogued.items()
        }
        listed = [inst for insts in instruments.values() for inst in insts]
        # as busy each hour as its past (hourly.py), unless the rate is to hold every hour
        hourly = None if config.steady_rate else lambda symbol, ms: past.tape(symbol).activity_at(ms)
        self.simulator = Simulator(
            listed,
            seed=config.seed,
            actions_per_s=config.actions_per_s or 0.0,
            start_ms=now_ms,
            book_levels=config.book_levels,
            trade_ids={i.symbol: _numbered(past.live_ids(i.symbol, now_ms), now_ms) for i in listed},
            activity=hourly,
        )
        self.derivatives = SimulatedDerivatives(listed, seed=config.seed, start_ms=now_ms)
        self._spec = spec
        return Prepared(instruments, now_ms, past=spec)

    def trade_ids_above(self, taken: Mapping[str, int]) -> None:
        """Each symbol's live trade ids above ``taken`` (the largest a venue journal's fills
        hold, whose ids are the public trades'), a bot keying its fills by id. A later start
        numbers above an earlier one's ids already (``counts.id_bases``); a clock set back is
        what this catches: the live ids then skip the ones taken (the 24 h ticker's ``count``
        falls short of ``lastId - firstId + 1`` by as many, until the skip is a day old)."""
        simulator = self.simulator
        assert simulator is not None, "prepare() first"
        for symbol, trade_id in taken.items():
            simulator.trade_ids_above(symbol, trade_id)

    def warm(self, sink: Sink) -> None:
        """Give the plants and every market view the last ``history_s`` of the past (24 h by
        default: the 24 h statistics start whole) and the simulator's books."""
        simulator, past, spec = self.simulator, self.past, self._spec
        assert simulator is not None and past is not None and spec is not None, "prepare() first"
        # the start the past was cut at (prepare's), not the clock's now: a minute that ended
        # in between is the live market's, its trade ids above the past's (a warm start that
        # took its trades from the past put a gap of ids in every trades answer's splice)
        now_ms, until_ms, warm_ms = spec.live_from_ms, spec.until_ms, spec.warm_ms
        warm_from = spec.warm_from_ms
        price_parts = functools.partial(PastPriceParts, PastMarks(past), until_ms=until_ms)
        for market, plant in sink.plants.items():
            rows: list[StreamMessage] = []
            trade_base, agg_base = id_bases(now_ms)  # this start's numbering (counts.py)
            for symbol in plant.symbols:
                # the candles whose interval opened before the window lack the past before it
                # (with no whole minute in the window, a history_s under a minute: all of it)
                owe_past(plant, symbol, PastTradeParts(past, warm_ms, trade_base), now_ms, warm_ms)
                minutes = past.klines(symbol, "1m", warm_from, None, DAY_MS // MINUTE_MS, now_ms)
                if not minutes:
                    continue
                # the last trade, the views' last price: the last minute's close, an aggregate
                # of its own (market/history/tape.py); the trades answers splice the past's
                # trades and aggregates before it (protocol/past.py), each row exact
                last = past.last_trades(symbol, 1, minutes[-1].last_id + 1, now_ms)[-1]
                as_trade = Trade(symbol, last.trade_id + trade_base, *last[1:5], True, last.agg_id + agg_base)
                rows += plant.history([as_trade])
                rows += warm_minutes(plant, symbol, minutes, (last.time_ms, last.qty), now_ms, trade_base)
            # the views learn the candles open at the start, which the live trades go on
            sink.bus.publish(market, rows)
            # the mark, index and premium candles begin with the live samples: their past's part
            plant.marks.price_klines.owe(price_parts, now_ms, until_ms)
            current: list[StreamMessage] = []
            plant.snapshot(now_ms, current)
            sink.bus.publish(market, current)
        # The initial books: the views learn them (the internal diff), and every depth
        # stream's chain starts from them rather than pushing them whole.
        initial = simulator.initial_updates(now_ms, interest_past=False)  # the past's (protocol/past.py)
        for market, plant in sink.plants.items():
            books: list[StreamMessage] = []
            for update in initial:
                if update.symbol in plant.symbols:
                    plant.apply(update, now_ms, books)
            plant.end_batch(now_ms, books)
            plant.start_depth_chains()
            sink.bus.publish(market, books)
        self.updates_processed += len(initial)
        # The first mark prices, so that they answer at once (the funding history before the
        # start is the past's: protocol/past.py).
        derivatives = self.derivatives
        assert derivatives is not None
        self._last_price = _last_prices(sink.plants)
        derived = derivatives.sample(now_ms, simulator.books, simulator.fair_price, self._last_price)
        self.updates_processed += Dispatcher(sink.plants, sink.bus)(derived, now_ms)
        simulator.mark_price = derivatives.mark_units  # positions are liquidated at the mark

    async def run(self, sink: Sink) -> None:
        simulator = self.simulator
        assert simulator is not None, "prepare() first"
        for plant in sink.plants.values():
            plant.follow(sink.demand)  # only what somebody takes is written (market/demand.py)
        self.warm(sink)
        config = self._config
        clock = self._clock
        dispatch = self._dispatch = Dispatcher(sink.plants, sink.bus)
        if config.actions_per_s is None:
            while True:
                self.flush_outside()
                now_ms = clock.now_ms()
                updates = self._derive(simulator.step(config.batch_actions, now_ms), now_ms)
                self.updates_processed += dispatch(updates, now_ms)
                await asyncio.sleep(0)  # let the gateways flush and read
        batch = config.batch_actions
        derivatives = self.derivatives
        assert derivatives is not None
        plants = list(sink.plants.values())
        apart = isinstance(clock, SystemClock)  # a step's parts on loop turns of their own
        slice_ns = round(config.step_slice_ms * 1_000_000)
        while True:
            # Stepped only when something falls due (an action, a look at the positions, a
            # sample, a push), not at every look, which most of the time finds nothing
            await self._until_due(plants)
            self._quiet_until_ms = 0  # stepping: not stepped to the clock's time until done
            now_ms = clock.now_ms()
            due = simulator.due(now_ms)
            withheld: Withheld | None = None
            self.flush_outside()  # what the venue's takers traded since, first
            while due > batch:
                # Catching up (a loaded machine, a rate past what it can do): the actions are
                # made and applied a batch at a time, the loop reading and answering between,
                # rather than up to the simulator's backlog bound (5 s of actions) in one step
                # with the loop held. What they make is withheld and published with the last
                # batch, after the one tick: the same messages in the same order as one step,
                # and nothing is seen (a snapshot, a view) of a book a push has not reached.
                withheld = self._withheld = withheld or {market: [] for market in sink.plants}
                # a venue order's updates meanwhile join what is withheld, before the next batch
                # (its trade ids are below the next batch's)
                self.flush_outside(withheld)
                self.updates_processed += dispatch.hold(simulator.step(batch, now_ms), now_ms, withheld)
                due -= batch
                await asyncio.sleep(0)
                # a venue taker meanwhile traded at the clock's time then: the next batches'
                # trades, whose ids come after its, are stamped no earlier (T never goes back)
                now_ms = max(now_ms, clock.now_ms())
            if withheld is not None:  # a taker traded while catching up: after what is withheld
                self.flush_outside(withheld)
                self._withheld = None
            # The step's parts, on the wall clock published apart: the actions, the second's
            # sample a few symbols at a time, then each family of pushes due, the loop turning
            # between two parts once they have held it ``step_slice_ms``. One callback doing
            # all of them held the loop ~1 ms several times a second, the orders waiting
            # behind it. A turn is what other work takes its share of (REST's budget is per
            # turn, gateway/rest_turns.py): a turn each (34 parts on a whole second, ~20 us
            # each) made a step as long as 34 turns, and under a REST burst 100-170 ms passed
            # with no step, no bookTicker. On a driven clock (a test's ManualClock, a run's
            # market clock) the step stays one callback: whoever moved the clock and waits
            # for the step sees it whole, never a subscription or a snapshot between its
            # actions and its pushes.
            # (counted once all are published: a watcher of updates_processed sees whole steps)
            held_from = clock.now_ns()  # since the loop last turned
            count = dispatch.actions(simulator.step(due, now_ms), now_ms, withheld)
            if now_ms >= derivatives.next_ms:
                second_ms = now_ms - now_ms % SECOND_MS
                books, fair, last = simulator.books, simulator.fair_price, self._last_price
                for part in derivatives.sample_parts(second_ms, books, fair, last, _SAMPLE_SYMBOLS):
                    if apart and clock.now_ns() - held_from >= slice_ns:
                        await asyncio.sleep(0)
                        held_from = clock.now_ns()
                    count += dispatch.actions(part, now_ms)
            for _ in dispatch.ticks(now_ms):
                if apart and clock.now_ns() - held_from >= slice_ns:
                    await asyncio.sleep(0)
                    held_from = clock.now_ns()
            self.updates_processed += count
            self.stepped_ms = now_ms
            self._quiet_until_ms = self._next_due_ms(plants)

    async def _until_due(self, plants: Sequence[Plant]) -> None:
        """Return at the first look that finds something due (an action, a look at the
        positions, a sample, a push): a look that finds nothing steps nothing. What is due
        is worked out afresh at each look. On a driven clock (a test's ManualClock, a run's
        market clock) the looks are one ``tick_interval_s`` apart, as ever: whoever moves
        the clock finds the step done on the loop's next turns. On the wall clock the pump
        sleeps until what the last look found due (at least ``tick_interval_s``): a wake-up
        costs ~45 us of a core here (a bare uvloop loop's, the kernel's timer and poll), and
        at 400 actions a second about half the looks a millisecond apart found nothing.
        What comes meanwhile can make something due sooner: a stream taken since (a depth
        stream's first push is due at once) or a venue order's note held for its second (a
        liquidation's `@forceOrder`). So the sleep lasts at most ``_LONGEST_SLEEP_MS``: such
        a push is that late at most, within the fastest depth stream's 100 ms cadence."""
        clock, interval_s = self._clock, self._config.tick_interval_s
        least_ms = math.ceil(interval_s * 1000)
        wall = isinstance(clock, SystemClock)
        while True:
            if wall:
                now_ms = clock.now_ms()
                until_ms = min(self._quiet_until_ms, now_ms + _LONGEST_SLEEP_MS)
                await clock.sleep_until(max(until_ms, now_ms + least_ms))
            else:
                await asyncio.sleep(interval_s)
            due_ms = self._quiet_until_ms = self._next_due_ms(plants)
            if clock.now_ms() >= due_ms:
                return

    def _next_due_ms(self, plants: Sequence[Plant]) -> int:
        simulator, derivatives = self.simulator, self.derivatives
        assert simulator is not None and derivatives is not None
        due = min(simulator.next_due_ms, derivatives.next_ms)
        for plant in plants:  # (a loop, not min over a generator: asked at every look)
            tick_ms = plant.next_tick_ms
            if tick_ms < due:
                due = tick_ms
        return due

    @property
    def stepped_ms(self) -> int:
        """The clock's time the market was last stepped to and published at: the pump
        steps on its own cadence, so a market moved by a ManualClock is there only once
        this is. Between steps with nothing due, the market is current at the clock's time."""
        now_ms = self._clock.now_ms()
        return now_ms if now_ms < self._quiet_until_ms else self._stepped_ms

    @stepped_ms.setter
    def stepped_ms(self, now_ms: int) -> None:
        self._stepped_ms = now_ms

    def outside(self, updates: list[MarketUpdate], now_ms: int) -> None:
        """Updates an outside order made at ``now_ms`` (``one_book.py``), published on the
        loop's next turn, and before the simulator's next step whatever comes first."""
        self._outside.append((updates, now_ms))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self.flush_outside)

    def flush_outside(self, withheld: Withheld | None = None) -> None:
        """Publish what outside orders made since the last call, in one delivery per market
        (``Dispatcher.turn``); into what the pump holds when it is catching up (``withheld``, or
        the loop's turn between two of its batches): it publishes them after what it withheld,
        in order."""
        self._flush_scheduled = False
        dispatch = self._dispatch
        if dispatch is None or not self._outside:
            return  # before the pump runs: the first step publishes them
        if withheld is None:
            withheld = self._withheld
        pending, self._outside = self._outside, []
        if withheld is None:  # one delivery per market for the lot (Dispatcher.turn)
            self.updates_processed += dispatch.turn(pending)
            return
        for updates, now_ms in pending:
            self.updates_processed += dispatch.hold(updates, now_ms, withheld)

    def _derive(self, updates: list[MarketUpdate], now_ms: int) -> list[MarketUpdate]:
        """``updates`` with the derivatives data that fell due (once a second) appended."""
        simulator, derivatives = self.simulator, self.derivatives
        assert simulator is not None and derivatives is not None
        derived = derivatives.advance(now_ms, simulator.books, simulator.fair_price, self._last_price)
        if derived:
            updates.extend(derived)
        return updates


class Dispatcher:
    """Applies batches of updates to the plants and publishes what they make, per market."""

    def __init__(self, plants: Mapping[Market, Plant], bus: Bus) -> None:
        self.plants = plants
        self.bus = bus
        self.plant_of = {symbol: plant for plant in plants.values() for symbol in plant.symbols}
        for plant in plants.values():  # a COIN-M index price belongs to its pair (§4.12)
            for state in plant.symbols.values():
                self.plant_of.setdefault(state.inst.pair, plant)

    def __call__(self, updates: Sequence[MarketUpdate], now_ms: int, withheld: Withheld | None = None) -> int:
        return dispatch(updates, now_ms, self.plant_of, self.plants, self.bus, withheld)

    def turn(self, batches: Sequence[tuple[Sequence[MarketUpdate], int]]) -> int:
        """Apply ``batches`` (updates and their ``now_ms``) in order, each a batch of its own
        as ``actions`` would make it (its end in the markets it changed), and publish what
        they made in one delivery per market: the messages, and their order in each market,
        are those of one ``actions`` per batch. A loop turn's outside orders cost the bus's
        subscribers (the views, the gateways, the venue's engines) one delivery, not one each.

        The pushes that fell due are not ticked here but by the pump (``SimulatedMarket.run``,
        which wakes when one falls due), a family at a time with the loop turning between
        (``step_slice_ms``): ticked here, whole, every family of both markets held the loop
        in the venue order's turn (~1 ms at a whole second), which at 200 orders a second
        took most ticks. The pushes carry what the orders changed either way: their updates
        are applied first."""
        plant_of, plants = self.plant_of, self.plants
        outs: Withheld = {market: [] for market in plants}
        count = 0
        for updates, now_ms in batches:
            changed: set[Market] = set()
            for update in updates:
                plant = plant_of[update.symbol]
                plant.apply(update, now_ms, outs[plant.market])
                changed.add(plant.market)
            for market, plant in plants.items():
                out = outs[market]
                if market in changed:
                    plant.end_batch(now_ms, out)
            count += len(updates)
        for market, out in outs.items():
            self.bus.publish(market, out)
        return count

    def actions(self, updates: Sequence[MarketUpdate], now_ms: int, withheld: Withheld | None = None) -> int:
        """``__call__`` without the pushes that fell due (``ticks``): apply ``updates``, end
        the batch and publish, after ``withheld``."""
        return dispatch(updates, now_ms, self.plant_of, self.plants, self.bus, withheld, ticks=False)

    def ticks(self, now_ms: int) -> Iterator[None]:
        """The pushes due at ``now_ms`` (``__call__``'s ticks), each family of streams of
        each market (``Plant.tick_parts``) published apart: yields after each part (a family,
        or a piece of the candles' past), for the caller to let its loop run before the next.
        Each family is ticked at ``now_ms``, the cadence's time, whenever it runs; one another
        delivery ticked meanwhile (``turn``) is not pushed again."""
        for market, plant in self.plants.items():
            if now_ms < plant.next_tick_ms:
                continue
            for part in plant.tick_parts:
                out: list[StreamMessage] = []
                part(now_ms, out)
                if out:
                    self.bus.publish(market, out)
                yield  # (a part that published nothing may have made a piece of the past)

    def hold(self, updates: Sequence[MarketUpdate], now_ms: int, withheld: Withheld) -> int:
        """Apply ``updates``, more of the same timestamp to follow: what the plants make goes
        into ``withheld``, for the call that ends the batch to publish."""
        plant_of = self.plant_of
        for update in updates:
            plant = plant_of[update.symbol]
            plant.apply(update, now_ms, withheld[plant.market])
        return len(updates)


def dispatch(
    updates: Sequence[MarketUpdate],
    now_ms: int,
    plant_of: Mapping[str, Plant],
    plants: Mapping[Market, Plant],
    bus: Bus,
    withheld: Withheld | None = None,
    *,
    ticks: bool = True,
) -> int:
    """Apply ``updates`` at ``now_ms``, end the batch, tick what fell due (unless not
    ``ticks``), and publish what the plants made, after ``withheld`` (what earlier parts of the
    batch made: ``Dispatcher.hold``)."""
    outs = withheld if withheld is not None else {market: [] for market in plants}
    for update in updates:
        plant = plant_of[update.symbol]
        plant.apply(update, now_ms, outs[plant.market])
    for market, plant in plants.items():
        out = outs[market]
        plant.end_batch(now_ms, out)
        if ticks and now_ms >= plant.next_tick_ms:
            plant.tick(now_ms, out)
        bus.publish(market, out)
    return len(updates)


def _last_prices(plants: Mapping[Market, Plant]) -> Callable[[str], int | None]:
    """Each symbol's last trade price (price units) as its plant's window holds it."""
    windows = {symbol: state.window for plant in plants.values() for symbol, state in plant.symbols.items()}

    def last_price(symbol: str) -> int | None:
        window = windows[symbol]
        return window.close if window.last_time_ms else None

    return last_price
