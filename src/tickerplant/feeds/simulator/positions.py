"""Leveraged positions and open interest of one simulated symbol, and which position the
mark price liquidates next (spec §4.10).

**Open interest** is what Binance counts: the quantity held open on one side (COIN-M in
contracts). Every taker order that fills is, as a whole, an *opening* (both parties add
to their positions: open interest rises by the filled quantity) or a *closing* (both
reduce: it falls by as much, never below what the tracked positions hold). An order opens
with probability ``0.5 + 0.5 × (target − oi) / target``, clamped to [0.1, 0.9], so open
interest wanders around its target, ``_OI_ORDERS`` mean orders of the symbol (BTCUSDT
some 11,000 BTC). A liquidation closes its whole position.

**Positions.** The first opening order after a random gap (exponential, mean
``_TRACK_GAP_MS`` of simulated time, so the positions' ages do not depend on the action
rate) is a leveraged position the simulator tracks: the taker's side and filled quantity,
its last fill price as the entry, a leverage drawn from ``_LEVERAGES`` up to the symbol's
maximum (125x for BTC and ETH, 75x for the rest). At most ``MAX_POSITIONS`` (512) are
tracked per symbol: a new one past the cap replaces the oldest, which stays open but
untracked (its owner keeps it, with margin to spare). At construction the cap is opened
around the initial price, so liquidations can come from the first minute and the positions
tracked are at their steady count from the start (half the cap, they filled toward it for a
quarter of an hour at the default rate: ~1 MB over the catalogue that a soak saw grow).

**Liquidation and bankruptcy prices** (isolated margin; one maintenance margin rate per
symbol, ``mmr`` = half the initial margin rate at its maximum leverage: 0.4 % at 125x; ``m``
= 1 / leverage, the initial margin rate):

- USDⓈ-M (linear): a long is liquidated at ``entry (1 − m) / (1 − mmr)`` and bankrupt at
  ``entry (1 − m)``; a short at ``entry (1 + m) / (1 + mmr)`` and ``entry (1 + m)``;
- COIN-M (inverse, margin in the coin): a long at ``entry (1 + mmr) / (1 + m)`` and
  ``entry / (1 + m)``; a short at ``entry (1 − mmr) / (1 − m)`` and ``entry / (1 − m)``;

each on the tick grid, rounded away from the entry for the liquidation price and towards it
for the bankruptcy price. A long is liquidated once the mark price is at or below its
liquidation price, a short at or above. Where this departs from Binance: one maintenance
rate and no maintenance amount (Binance has brackets by notional), no cross margin, no
fees, no insurance fund or auto-deleveraging: what the liquidation order cannot fill is
dropped with the position.

Bounded by design: ``MAX_POSITIONS`` positions and a fixed set of numbers per symbol; the
trigger checked per action is two integer comparisons. Randomness comes from the caller's
``random.Random`` (the simulator's ``"<seed>/positions"`` stream), so a seed replays.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right, insort
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from itertools import accumulate
from typing import Any, NamedTuple

from tickerplant.market.instruments import Instrument, Market

__all__ = ["MAX_POSITIONS", "Position", "Positions", "forget_seedings", "open_interest_history", "seed_each"]

MAX_POSITIONS = 512  # tracked per symbol
_OI_ORDERS = 100_000  # the open-interest target, in mean orders of the symbol
_TRACK_GAP_MS = 500.0  # mean simulated time between two tracked openings of a symbol
_LEVERAGES = (5, 10, 20, 25, 50, 75, 100, 125)
_LEVERAGE_WEIGHTS = (1.0, 2.0, 3.0, 3.0, 4.0, 4.0, 5.0, 5.0)
_SEED_SPREAD = 0.003  # log-stdev of the entries of the positions opened at construction
_NEVER = 1 << 62
_SEEDINGS_KEPT = 2  # the seedings ``seed_each`` keeps, the last made


class Position:
    """One tracked leveraged position. Prices in price units, quantity in quantity units."""

    __slots__ = ("bankruptcy", "entry", "is_long", "leverage", "liquidation", "qty")

    def __init__(
        self, is_long: bool, qty: int, entry: int, leverage: int, liquidation: int, bankruptcy: int
    ) -> None:
        self.is_long = is_long
        self.qty = qty
        self.entry = entry
        self.leverage = leverage
        self.liquidation = liquidation
        self.bankruptcy = bankruptcy

    def __repr__(self) -> str:
        side = "long" if self.is_long else "short"
        return f"Position({side} {self.qty} @ {self.entry} x{self.leverage}, liq {self.liquidation})"


class _Seeded(NamedTuple):
    """What ``Positions.seed`` left in a ``Positions`` that had none (its positions shared:
    a ``Position`` is never changed once made)."""

    longs: tuple[Position, ...]
    shorts: tuple[Position, ...]
    order: tuple[Position, ...]
    tracked_qty: int
    open_interest: int
    changed: bool


# key -> each Positions' seeding and the random state after them all (``seed_each``)
_SEEDINGS: dict[Hashable, tuple[list[_Seeded], Any]] = {}


def forget_seedings() -> None:
    """Drop the seedings kept (``seed_each``), once a process has made the simulators it
    serves: the positions a running simulator replaces would live on in the last seeding,
    ~20,000 of them (~4 MB) freed by nothing but the next seeding, and the heap of a serving
    process is to be at its steady size from the start (``commands.settle_heap``)."""
    _SEEDINGS.clear()


def seed_each(
    each: Sequence[tuple[Positions, int, Callable[[float], int]]], rng: random.Random, key: Hashable
) -> None:
    """Seed each ``(positions, price, lots)`` of ``each`` in turn, as a simulator's start
    does: ``MAX_POSITIONS`` lots drawn from ``rng`` (``lots`` of a uniform draw), then
    ``seed`` at ``price``. A seeding is a pure function of ``key`` (the simulator's seed and
    instruments, prices included) and ``rng``'s state, so the last ``_SEEDINGS_KEPT`` are
    kept: a key seen again takes what its seeding left, and ``rng`` the state after it, at a
    fraction of the cost (most of a simulator's construction, and a server's start in tests,
    which start hundreds in a process within the minute their prices hold)."""
    kept = _SEEDINGS.get(key)
    if kept is not None and len(kept[0]) == len(each):
        for (positions, _, _), seeded in zip(each, kept[0], strict=True):
            positions.reseed(seeded)
        rng.setstate(kept[1])
        return
    for positions, price, lots in each:
        positions.seed(price, [lots(rng.random()) for _ in range(MAX_POSITIONS)])
    if len(_SEEDINGS) >= _SEEDINGS_KEPT:
        del _SEEDINGS[next(iter(_SEEDINGS))]
    _SEEDINGS[key] = ([positions.seeded() for positions, _, _ in each], rng.getstate())


class Positions:
    """A symbol's open interest and tracked positions; see the module docstring.

    ``long_trigger`` is the highest liquidation price of a long (a mark at or below it
    liquidates), ``short_trigger`` the lowest of a short (at or above): the simulator
    compares the mark with both after every action, and calls ``due`` only when one holds.
    """

    __slots__ = (
        "_cumulative_leverage",
        "_leverages",
        "_longs",
        "_next_track_ms",
        "_order",
        "_random",
        "_rng",
        "_shorts",
        "changed",
        "inverse",
        "long_trigger",
        "max_leverage",
        "mmr",
        "open_interest",
        "short_trigger",
        "step",
        "target",
        "tick",
        "tracked_qty",
    )

    def __init__(self, inst: Instrument, rng: random.Random, mean_order_qty: float) -> None:
        self._rng = rng
        self._random = rng.random
        self.step = inst.step
        self.inverse = inst.market is Market.CM
        self.tick = inst.tick
        self.max_leverage = 125 if inst.base_asset in ("BTC", "ETH") else 75
        self.mmr = 0.5 / self.max_leverage
        self._leverages = [lev for lev in _LEVERAGES if lev <= self.max_leverage]
        self._cumulative_leverage = list(accumulate(_LEVERAGE_WEIGHTS[: len(self._leverages)]))
        self.target = max(inst.step, round(_OI_ORDERS * mean_order_qty / inst.step) * inst.step)
        self.open_interest = self.target
        self.tracked_qty = 0
        self.changed = False  # since the last report (the first is the warm start's)
        self._longs: list[Position] = []  # ascending liquidation price: the next is the last
        self._shorts: list[Position] = []  # ascending liquidation price: the next is the first
        self._order: deque[Position] = deque()  # in opening order, for the cap
        self.long_trigger = -1
        self.short_trigger = _NEVER
        self._next_track_ms = 0

    # -- the public surface ---------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._order)

    def positions(self) -> list[Position]:
        """The tracked positions, oldest first."""
        return list(self._order)

    def prices(self, is_long: bool, entry: int, leverage: int) -> tuple[int, int]:
        """(liquidation price, bankruptcy price) of a position, on the tick grid."""
        m, mmr, tick = 1.0 / leverage, self.mmr, self.tick
        if self.inverse:
            liq = entry * (1 + mmr) / (1 + m) if is_long else entry * (1 - mmr) / (1 - m)
            bankrupt = entry / (1 + m) if is_long else entry / (1 - m)
        else:
            liq = entry * (1 - m) / (1 - mmr) if is_long else entry * (1 + m) / (1 + mmr)
            bankrupt = entry * (1 - m) if is_long else entry * (1 + m)
        if is_long:
            return math.floor(liq / tick) * tick, max(tick, math.ceil(bankrupt / tick) * tick)
        return math.ceil(liq / tick) * tick, max(tick, math.floor(bankrupt / tick) * tick)

    def open(self, is_long: bool, qty: int, entry: int, leverage: int) -> Position:
        """Track a new position (the oldest leaves tracking past ``MAX_POSITIONS``); the
        open interest holds at least what is tracked."""
        if not 2 <= leverage <= self.max_leverage:
            raise ValueError(f"leverage must be 2 to {self.max_leverage}, not {leverage}")
        if qty <= 0 or entry <= 0:
            raise ValueError("a position needs a positive quantity and entry price")
        liquidation, bankruptcy = self.prices(is_long, entry, leverage)
        position = Position(is_long, qty, entry, leverage, liquidation, bankruptcy)
        insort(self._longs if is_long else self._shorts, position, key=_liquidation)
        self._order.append(position)
        self.tracked_qty += qty
        if len(self._order) > MAX_POSITIONS:
            self._untrack(self._order[0])
        if self.open_interest < self.tracked_qty:
            self.open_interest = self.tracked_qty
            self.changed = True
        self._retrigger()
        return position

    def due(self, mark: int) -> Position | None:
        """The position the mark price ``mark`` liquidates first, no longer tracked (its
        quantity leaves the open interest), or None."""
        if self._longs and mark <= self._longs[-1].liquidation:
            position = self._longs[-1]
        elif self._shorts and mark >= self._shorts[0].liquidation:
            position = self._shorts[0]
        else:
            return None
        self._untrack(position)
        self.open_interest = max(self.tracked_qty, self.open_interest - position.qty)
        self.changed = True
        return position

    # -- what trading does --------------------------------------------------------------

    def traded(self, taker_buys: bool, qty: int, price: int, now_ms: int) -> None:
        """A taker order filled ``qty`` in all, the last fill at ``price``: an opening or a
        closing, and perhaps a tracked position."""
        random_ = self._random
        oi, target = self.open_interest, self.target
        p_open = 0.5 + 0.5 * (target - oi) / target
        if random_() < (0.1 if p_open < 0.1 else 0.9 if p_open > 0.9 else p_open):
            self.open_interest = oi + qty
            if now_ms >= self._next_track_ms:
                self._next_track_ms = now_ms - round(_TRACK_GAP_MS * math.log(1.0 - random_()))
                self.open(taker_buys, qty, price, self._leverage())
        else:
            self.open_interest = max(self.tracked_qty, oi - qty)
        self.changed = True

    def seed(self, price: int, lots: list[int]) -> None:
        """Open a position for each of ``lots`` around ``price`` (the start), none of them
        past its liquidation price already."""
        random_, gauss, tick, step = self._random, self._rng.gauss, self.tick, self.step
        seeded: list[Position] = []
        for n in lots:
            entry = round(price * math.exp(_SEED_SPREAD * gauss()) / tick) * tick
            is_long = random_() < 0.5
            leverage = self._leverage()
            liquidation, bankruptcy = self.prices(is_long, entry, leverage)
            if (price > liquidation) if is_long else (price < liquidation):
                seeded.append(Position(is_long, n * step, entry, leverage, liquidation, bankruptcy))
        if len(self._order) + len(seeded) > MAX_POSITIONS or any(p.qty <= 0 or p.entry <= 0 for p in seeded):
            for p in seeded:  # one at a time: the cap untracks the oldest, open says what is wrong
                self.open(p.is_long, p.qty, p.entry, p.leverage)
            return
        # Tracked as ``open`` tracks them one by one, in one pass: a server start seeds
        # MAX_POSITIONS positions of every symbol, and 20,000 sorted inserts, each followed
        # by a look at the triggers, were most of its simulator's construction. A stable sort
        # keeps the order insort_right gives positions of one liquidation price.
        self._longs = sorted(self._longs + [p for p in seeded if p.is_long], key=_liquidation)
        self._shorts = sorted(self._shorts + [p for p in seeded if not p.is_long], key=_liquidation)
        self._order.extend(seeded)
        self.tracked_qty += sum(p.qty for p in seeded)
        if self.open_interest < self.tracked_qty:
            self.open_interest = self.tracked_qty
            self.changed = True
        self._retrigger()

    def seeded(self) -> _Seeded:
        """What this holds, for ``reseed`` (``seed_each``)."""
        return _Seeded(
            tuple(self._longs), tuple(self._shorts), tuple(self._order), self.tracked_qty, self.open_interest,
            self.changed,
        )  # fmt: skip

    def reseed(self, seeded: _Seeded) -> None:
        """Hold what ``seeded`` says, as the ``seed`` that made it left it (none held before)."""
        self._longs, self._shorts, self._order = list(seeded.longs), list(seeded.shorts), deque(seeded.order)
        self.tracked_qty, self.open_interest = seeded.tracked_qty, seeded.open_interest
        self.changed = seeded.changed
        self._retrigger()

    # -- keeping the order ----------------------------------------------------------------

    def _leverage(self) -> int:
        # the first leverage whose cumulative weight is above u (the last if rounding put u
        # on the total); a bisection, not a walk: a start draws one for 20,000 positions
        cumulative = self._cumulative_leverage
        drawn = bisect_right(cumulative, self._random() * cumulative[-1])
        return self._leverages[min(drawn, len(cumulative) - 1)]

    def _untrack(self, position: Position) -> None:
        (self._longs if position.is_long else self._shorts).remove(position)
        self._order.remove(position)
        self.tracked_qty -= position.qty
        self._retrigger()

    def _retrigger(self) -> None:
        self.long_trigger = self._longs[-1].liquidation if self._longs else -1
        self.short_trigger = self._shorts[0].liquidation if self._shorts else _NEVER


def _liquidation(position: Position) -> int:
    return position.liquidation


def open_interest_history(
    positions: Positions,
    price: int,
    sigma_per_sqrt_ms: float,
    rng: random.Random,
    now_ms: int,
    window_ms: int,
    period_ms: int,
) -> tuple[tuple[int, int, int], ...]:
    """A plausible past of the open interest: (time, qty units, price units) at every
    ``period_ms`` boundary of the ``window_ms`` before ``now_ms``, ascending, joining the
    present. The open interest walks back from its present value, mean-reverting to the
    target (a log-AR(1) with a day's half-life); the price walks back from ``price`` with
    the driver's volatility. Its own random stream: asking for it changes nothing else."""
    gauss = rng.gauss
    tick = positions.tick
    step_sd = sigma_per_sqrt_ms * math.sqrt(period_ms)
    keep = 0.5 ** (period_ms / 86_400_000)
    log_target = math.log(positions.target)
    log_oi = math.log(max(1, positions.open_interest))
    log_price = math.log(price)
    points: list[tuple[int, int, int]] = []
    t = now_ms - now_ms % period_ms
    if t == now_ms:
        t -= period_ms
    while t > now_ms - window_ms:
        log_oi = log_target + keep * (log_oi - log_target) + 0.01 * gauss()
        log_price += step_sd * gauss()
        p = max(tick, round(math.exp(log_price) / tick) * tick)
        qty = max(positions.tracked_qty, round(math.exp(log_oi) / positions.step) * positions.step)
        points.append((t, qty, p))
        t -= period_ms
    points.reverse()
    return tuple(points)
