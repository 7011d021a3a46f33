"""A long coarse answer's cold days drawn by a farm (``market/history/farming.py``), without
processes: the farm here draws them from a past of its own built from the recipe, and the
test says when each task is done. The answer is the same to the unit as one made without a
farm; nothing goes past a task before it is done; a task that fails leaves its days to be
made here; a short answer, or one finer than a day, asks the farm nothing."""

from __future__ import annotations

import functools
from concurrent.futures import Future

import pytest

from tickerplant.market.history import farming
from tickerplant.market.history.farming import Recipe
from tickerplant.market.history.series import SimulatedPast
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.klines.candles import Kline
from tickerplant.market.units import DAY_MS
from tickerplant.protocol.later import Later

NOW = 1_795_000_000_000
UNTIL = NOW - NOW % DAY_MS
INSTRUMENTS = [i for m in Market for i in catalogue(m, NOW)]


class HeldFarm:
    """Draws each task's days at once from a past built from the recipe (as a worker does),
    but says the task is done only when ``finish`` is called; ``fail`` makes tasks fail."""

    def __init__(self, fail: bool = False) -> None:
        self.tasks: list[tuple[Future[list[Kline]], list[Kline]]] = []
        self.fail = fail
        self.days: list[int] = []

    def draw(self, recipe: Recipe, symbol: str, days: list[int]) -> Future[list[Kline]]:
        self.days += days
        task: Future[list[Kline]] = Future()
        instruments, seed, rate, start = recipe
        assert (list(instruments), rate, start) == (INSTRUMENTS, 400.0, None)
        self.tasks.append((task, _built(seed).daily(symbol, days)))  # the recipe's past
        return task

    def finish(self) -> None:
        for task, drawn in self.tasks:
            if not task.done():
                if self.fail:
                    task.set_exception(OSError("the worker died"))
                else:
                    task.set_result(drawn)


def _answer(past: SimulatedPast, symbol: str, interval: str, limit: int = 500) -> Later[list[Kline]]:
    pieces = past.kline_pieces(symbol, interval, None, UNTIL - 1, limit, UNTIL)
    return Later(pieces, lambda: past.klines(symbol, interval, None, UNTIL - 1, limit, UNTIL))


@functools.cache
def _built(seed: int) -> SimulatedPast:
    """The past of ``seed`` without a farm, one per seed (its days made once for every test)."""
    return SimulatedPast(INSTRUMENTS, seed, 400.0)


def _plain(seed: int, symbol: str, interval: str, limit: int = 500) -> list[Kline]:
    return _built(seed).klines(symbol, interval, None, UNTIL - 1, limit, UNTIL)


# a quarterly listed 145 days before NOW: every coarse answer reads all of its days
QUARTERLY = "BTCUSD_261225"


@pytest.mark.parametrize("interval", ["1w", "1M", "1d"])
def test_a_farmed_answer_is_the_same_and_waits_for_each_task(interval: str) -> None:
    past, farm = SimulatedPast(INSTRUMENTS, 31, 400.0), HeldFarm()
    past.farm = farm
    later = _answer(past, QUARTERLY, interval)
    assert later.step() is False and later.waiting is farm.tasks[0][0]
    assert len(farm.tasks) == -(-len(farm.days) // farming.FARM_CHUNK) > 1  # all asked at once
    assert [later.step() for _ in range(5)] == [False] * 5  # nothing made past an unfinished task
    assert not any((QUARTERLY, day) in past._day_klines for day in farm.days)
    farm.finish()
    made = later.run()
    assert made == _plain(31, QUARTERLY, interval)
    # every listed day the answer's klines hold was drawn by the farm, in order, once
    first = past.tape(QUARTERLY).first_minute // 1440
    held = [d for k in made for d in range(k.open_ms // DAY_MS, k.close_ms // DAY_MS + 1) if d >= first]
    assert farm.days == held and len(held) >= farming.FARMED_LEAST
    assert all((QUARTERLY, day) in past._day_klines for day in farm.days)


def test_a_failed_task_leaves_its_days_to_be_made_here() -> None:
    past, farm = SimulatedPast(INSTRUMENTS, 31, 400.0), HeldFarm(fail=True)
    past.farm = farm
    later = _answer(past, QUARTERLY, "1w")
    assert later.step() is False and farm.tasks
    farm.finish()
    assert later.run() == _plain(31, QUARTERLY, "1w")


def test_a_short_or_fine_answer_asks_the_farm_nothing() -> None:
    past, farm = SimulatedPast(INSTRUMENTS, 33, 400.0), HeldFarm()
    past.farm = farm
    # 100 cold days: fewer than FARMED_LEAST, made here, a day a piece
    assert _answer(past, QUARTERLY, "1d", limit=100).run() == _plain(33, QUARTERLY, "1d", 100)
    # 12 h candles over its 145 days: hours, not days, are what they read (made here)
    assert _answer(past, QUARTERLY, "12h").run() == _plain(33, QUARTERLY, "12h")
    assert farm.days == [] and farming.FARMED_LEAST > 100
    # its last 100 days are kept now: a weekly answer asks the farm for the others only, and
    # with fewer than FARMED_LEAST of those, for none
    assert _answer(past, QUARTERLY, "1w").run() == _plain(33, QUARTERLY, "1w")
    assert farm.days == []
