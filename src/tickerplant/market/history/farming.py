"""The port through which a simulated past has a long answer's cold parts made elsewhere: in
other processes, on the machine's other cores, while the server's loop answers everyone else.

A cold day costs its 1,440 minutes (``whole_day``: ~5 ms), and a bot's first coarse candles
ask thousands of them: ``fetch_ohlcv(symbol, '1w')`` at its default limit reads every day
since the listing, ~2,600 for BTCUSDT, 13 s on one core, past every client's default
timeout; a day of mark, index or premium bars costs its three funding intervals of minutes
(~20 ms: ``marks.py``), ~10 s for ``markPriceKlines?interval=1d`` at its default 500. The
past is a pure function of its recipe (``Recipe``: the instruments, the seed, the rate and
where it starts), so any process that builds it from the same recipe makes the same
figures, to the unit.

``SimulatedPast.kline_pieces`` (``1d`` and longer) and ``PastMarks.kline_pieces`` (any
interval) hand a long answer's cold parts to the past's ``farm`` (the shell sets one:
``gateway/past_farm.py``) as jobs (``Job``): days (``day_jobs``) or price bars
(``bar_jobs``), ``FARM_CHUNK`` days' worth a task, when they are ``FARMED_LEAST`` days'
worth or more. Each task (a ``Drawn``) is yielded until it is done: ``protocol/later.py``
waits for it without stepping, so the loop is free meanwhile; what it made is then kept as
if made here. A task that fails leaves its part to be made here, a piece at a time, as
without a farm. Sans-I/O: nothing here starts a process or waits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from tickerplant.market.instruments import Instrument
from tickerplant.market.klines.price_candles import PriceKind
from tickerplant.market.units import DAY_MS

__all__ = [
    "FARMED_LEAST", "FARM_CHUNK", "Drawn", "Farm", "Job", "Recipe", "bar_jobs", "day_jobs", "drawn", "tasks",
]  # fmt: skip

FARMED_LEAST = 128  # cold days an answer needs (~0.6 s here) before they are drawn elsewhere
FARM_CHUNK = 64  # days a task: tasks enough to keep every worker busy to the end
# what builds a past (``SimulatedPast``'s arguments): its instruments, seed, --sim-rate
# (None: max) and the start of its history (None: each symbol's listing)
Recipe = tuple[tuple[Instrument, ...], int, float | None, int | None]
# a task: ("days", symbol, days): their day klines (``SimulatedPast.daily``); or ("bars",
# symbol, kind, interval, opens): those price bars (``PastMarks.bars``)
Job = tuple[Any, ...]


class Drawn(Protocol):
    """A task being done elsewhere (a ``concurrent.futures.Future`` of what its job makes)."""

    def done(self) -> bool: ...

    def result(self) -> list[Any]: ...

    def add_done_callback(self, fn: Callable[[Any], object]) -> None: ...


class Farm(Protocol):
    """Does ``job`` elsewhere, in the past built from ``recipe``."""

    def draw(self, recipe: Recipe, job: Job) -> Drawn: ...


def day_jobs(symbol: str, cold: list[int]) -> list[Job]:
    """``cold``'s days, ``FARM_CHUNK`` a task; none when they are fewer than ``FARMED_LEAST``
    (made here)."""
    if len(cold) < FARMED_LEAST:
        return []
    return [("days", symbol, cold[i : i + FARM_CHUNK]) for i in range(0, len(cold), FARM_CHUNK)]


def bar_jobs(symbol: str, kind: PriceKind, interval: str, cold: list[int], bar_ms: int) -> list[Job]:
    """The price bars opened at ``cold``, each ``bar_ms`` long, as many a task as
    ``FARM_CHUNK`` days hold; none when they hold fewer than ``FARMED_LEAST`` days (made here)."""
    if len(cold) * bar_ms < FARMED_LEAST * DAY_MS:
        return []
    step = max(1, FARM_CHUNK * DAY_MS // bar_ms)
    return [("bars", symbol, kind, interval, cold[i : i + step]) for i in range(0, len(cold), step)]


def tasks(farm: Farm, recipe: Recipe, jobs: list[Job]) -> list[Drawn]:
    """``jobs`` handed to ``farm`` all at once (its workers take them in order)."""
    return [farm.draw(recipe, job) for job in jobs]


def drawn(task: Drawn) -> list[Any]:
    """A done task's klines or bars; none if it failed (a worker gone, the farm shut): what
    it was to make is then made here, as without a farm."""
    try:
        return task.result()
    except Exception:  # (whatever stopped the task, the answer is still made)
        return []
