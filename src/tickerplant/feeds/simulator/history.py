"""A plausible list of past trades for every symbol, for tests and benchmarks that feed a
plant by hand (``Simulator.warm_history``). The server's past is ``market/history``'s, from
the listing date; this one is thin and walked back from the moment asked about.

Each base asset's fair price walks back in time from its present value: a Brownian path on
a one-minute grid with the instruments' daily volatility. Each symbol's trades arrive as a
Poisson process whose rate follows its activity (one every 20 s for the busiest symbols, at
most every 60 s), priced on its driver's path with a little noise, sized like live orders
(the heavy-tailed ``order_flow.OrderSizes``),
the aggressor side by the tick rule. The last trade is at the present fair price, and the
ids end just below the first live trade id, so history and live trading join up.

A history has its own random stream (``"<seed>/history"``): asking for it changes nothing
the simulator does afterwards, and the same seed gives the same history.
"""

from __future__ import annotations

import math
import random
from collections.abc import Hashable, Sequence
from operator import attrgetter
from typing import Protocol

from tickerplant.feeds.simulator.order_flow import OrderSizes
from tickerplant.market.instruments import Instrument
from tickerplant.market.updates import Trade

__all__ = ["HistorySymbol", "simulated_history"]

_GRID_MS = 60_000
_GAP_MS = (20_000, 60_000)  # mean time between history trades: the busiest symbol, the floor


class Driver(Hashable, Protocol):
    """A latent fair-price driver shared by the symbols of one base asset."""

    @property
    def sigma(self) -> float: ...  # standard deviation of its log-price per sqrt(ms)


class HistorySymbol(Protocol):
    """What the history needs of one simulated symbol."""

    @property
    def inst(self) -> Instrument: ...
    @property
    def symbol(self) -> str: ...
    @property
    def driver(self) -> Driver: ...
    @property
    def tick(self) -> int: ...
    @property
    def step(self) -> int: ...
    @property
    def sizes(self) -> OrderSizes: ...
    @property
    def first_live_trade_id(self) -> int: ...
    def fair(self) -> float: ...


def simulated_history(
    symbols: Sequence[HistorySymbol], seed: int, now_ms: int, window_ms: int
) -> list[Trade]:
    """Trades in ``(now_ms - window_ms, now_ms)`` for every symbol, ascending in time."""
    rng = random.Random(f"{seed}/history")
    drivers = dict.fromkeys(s.driver for s in symbols)  # in order of first use: the stream's order
    paths = {driver: _path(driver, rng, window_ms) for driver in drivers}
    trades: list[Trade] = []
    peak = max(s.inst.activity for s in symbols)
    lo_gap, hi_gap = _GAP_MS
    for state in symbols:
        share = max(state.inst.activity, 1e-9) / peak
        gap_ms = min(float(hi_gap), lo_gap / math.sqrt(share))
        _trades(state, rng, paths[state.driver], now_ms, window_ms, gap_ms, trades)
    trades.sort(key=attrgetter("time_ms"))
    return trades


def _path(driver: Driver, rng: random.Random, window_ms: int) -> list[float]:
    """Log-offsets from the present fair price, one per grid step back in time."""
    sigma = driver.sigma * math.sqrt(_GRID_MS)
    path = [0.0]
    for _ in range(window_ms // _GRID_MS + 1):
        path.append(path[-1] + sigma * rng.gauss())
    return path


def _trades(
    state: HistorySymbol,
    rng: random.Random,
    path: list[float],
    now_ms: int,
    window_ms: int,
    gap_ms: float,
    trades: list[Trade],
) -> None:
    tick, fair, step = state.tick, state.fair(), state.step
    noise = state.driver.sigma * math.sqrt(_GRID_MS) * 0.3
    lots = state.sizes.lots
    times: list[int] = []
    t = now_ms - 1 - int(rng.random() * gap_ms)
    start = now_ms - window_ms
    while t > start:
        times.append(t)
        t -= 1 + int(-math.log(1.0 - rng.random()) * gap_ms)
    times.reverse()
    symbol, trade_id = state.symbol, state.first_live_trade_id - len(times)
    previous = 0
    for t in times:
        back = (now_ms - t) / _GRID_MS
        i = int(back)
        log_offset = path[i] + (path[i + 1] - path[i]) * (back - i) + noise * rng.gauss()
        price = max(tick, round(fair * math.exp(log_offset) / tick) * tick)
        if t == times[-1]:
            price = max(tick, round(fair / tick) * tick)
        qty = lots(rng.random()) * step
        # tick rule: an uptick was a buyer lifting the ask, a downtick a seller hitting
        seller_aggressed = price < previous if price != previous else rng.random() < 0.5
        trades.append(Trade(symbol, trade_id, t, price, qty, seller_aggressed))
        trade_id += 1
        previous = price
