"""The port through which a simulated past has cold days drawn elsewhere: in other processes,
on the machine's other cores, while the server's loop answers everyone else.

A cold day costs its 1,440 minutes (``whole_day``: ~5 ms), and a bot's first coarse candles
ask thousands of them: ``fetch_ohlcv(symbol, '1w')`` at its default limit reads every day
since the listing, ~2,600 for BTCUSDT, 13 s on one core, past every client's default
timeout. The past is a pure function of its recipe (``Recipe``: the instruments, the seed,
the rate and where it starts), so any process that builds it from the same recipe draws the
same days, to the unit.

``SimulatedPast.kline_pieces`` hands a long answer's cold days to its ``farm`` (the shell
sets one: ``gateway/past_farm.py``), a task of ``_FARM_CHUNK`` days each, and yields each
task (a ``Drawn``) until it is done; ``protocol/later.py`` waits for it without stepping, so
the loop is free meanwhile; the days are then kept as if made here. A task that fails leaves
its days to be made here, a day a piece, as without a farm. Sans-I/O: nothing here starts
a process or waits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from tickerplant.market.instruments import Instrument
from tickerplant.market.klines.candles import Kline

__all__ = ["FARMED_LEAST", "FARM_CHUNK", "Drawn", "Farm", "Recipe", "drawn", "tasks"]

FARMED_LEAST = 128  # cold days an answer needs (~0.6 s here) before they are drawn elsewhere
FARM_CHUNK = 64  # days a task: tasks enough to keep every worker busy to the end
# what builds a past (``SimulatedPast``'s arguments): its instruments, seed, --sim-rate
# (None: max) and the start of its history (None: each symbol's listing)
Recipe = tuple[tuple[Instrument, ...], int, float | None, int | None]


class Drawn(Protocol):
    """Days being drawn elsewhere (a ``concurrent.futures.Future`` of their klines)."""

    def done(self) -> bool: ...

    def result(self) -> list[Kline]: ...

    def add_done_callback(self, fn: Callable[[Any], object]) -> None: ...


class Farm(Protocol):
    """Draws ``days`` of ``symbol``'s past built from ``recipe`` elsewhere: their day klines,
    in order (``SimulatedPast.daily``)."""

    def draw(self, recipe: Recipe, symbol: str, days: list[int]) -> Drawn: ...


def tasks(farm: Farm, recipe: Recipe, symbol: str, cold: list[int]) -> list[Drawn]:
    """``cold``'s days handed to ``farm``, ``FARM_CHUNK`` a task, all at once (its workers
    take them in order); none when they are fewer than ``FARMED_LEAST`` (made here)."""
    if len(cold) < FARMED_LEAST:
        return []
    return [farm.draw(recipe, symbol, cold[i : i + FARM_CHUNK]) for i in range(0, len(cold), FARM_CHUNK)]


def drawn(task: Drawn) -> list[Kline]:
    """A done task's day klines; none if it failed (a worker gone, the farm shut): its days
    are then made here, as without a farm."""
    try:
        return task.result()
    except Exception:  # (whatever stopped the task, the answer is still made)
        return []
