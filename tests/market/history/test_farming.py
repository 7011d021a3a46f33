"""A long coarse answer's cold days drawn by a farm (``market/history/farming.py``), without
processes: the farm here draws them from a past of its own built from the recipe, and the
test says when each task is done. The answer is the same to the unit as one made without a
farm; nothing goes past a task before it is done; a task that fails leaves its days to be
made here; a short answer, or one finer than a day, asks the farm nothing."""

from __future__ import annotations

import functools
from collections.abc import Hashable
from concurrent.futures import Future
from typing import Any

import pytest

from tickerplant.market.history import farming
from tickerplant.market.history.farming import Job, Recipe
from tickerplant.market.history.marks import PastMarks
from tickerplant.market.history.series import SimulatedPast
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.klines.candles import Kline
from tickerplant.market.klines.price_candles import PriceBar, PriceKind
from tickerplant.market.units import DAY_MS
from tickerplant.protocol.later import Later

NOW = 1_795_000_000_000
UNTIL = NOW - NOW % DAY_MS
INSTRUMENTS = [i for m in Market for i in catalogue(m, NOW)]


class HeldFarm:
    """Draws each task's days at once from a past built from the recipe (as a worker does),
    but says the task is done only when ``finish`` is called; ``fail`` makes tasks fail."""

    def __init__(self, fail: bool = False) -> None:
        self.tasks: list[tuple[Future[list[Any]], list[Any]]] = []
        self.fail = fail
        self.days: list[int] = []
        self.opens: list[int] = []
        self.groups: list[Hashable] = []  # each task's (its turn: ``farming.Turns``)

    def draw(self, recipe: Recipe, job: Job, group: Hashable = 0) -> Future[list[Any]]:
        task: Future[list[Any]] = Future()
        self.groups.append(group)
        instruments, seed, rate, start = recipe
        assert (list(instruments), rate, start) == (INSTRUMENTS, 400.0, None)
        if job[0] == "days":  # the recipe's past
            self.days += job[2]
            self.tasks.append((task, _built(seed).daily(job[1], job[2])))
        else:
            _, symbol, kind, interval, opens = job
            self.opens += opens
            self.tasks.append((task, _marks(seed).bars(symbol, kind, interval, opens)))
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


@functools.cache
def _marks(seed: int) -> PastMarks:
    return PastMarks(_built(seed))


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


def test_a_short_or_fine_answer_asks_the_farm_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(farming, "FARMED_LEAST", 16)  # smaller, for a test of the rule's edges
    monkeypatch.setattr(farming, "FARM_CHUNK", 8)
    past, farm = SimulatedPast(INSTRUMENTS, 33, 400.0), HeldFarm()
    past.farm = farm
    # 10 cold days: fewer than FARMED_LEAST, made here, a day a piece
    assert _answer(past, QUARTERLY, "1d", limit=10).run() == _plain(33, QUARTERLY, "1d", 10)
    # 12 h candles over 30 days: hours, not days, are what they read (made here)
    assert _answer(past, QUARTERLY, "12h", limit=60).run() == _plain(33, QUARTERLY, "12h", 60)
    # 20 days, the last 10 kept: 10 cold, made here
    assert _answer(past, QUARTERLY, "1d", limit=20).run() == _plain(33, QUARTERLY, "1d", 20)
    assert farm.days == []
    # 40 days, the last 20 kept: the farm is asked for the 20 before them, 8 a task
    later = _answer(past, QUARTERLY, "1d", limit=40)
    assert later.step() is False
    assert farm.days == list(range(UNTIL // DAY_MS - 40, UNTIL // DAY_MS - 20)) and len(farm.tasks) == 3
    farm.finish()
    assert later.run() == _plain(33, QUARTERLY, "1d", 40)


def test_a_long_price_klines_answer_is_farmed_and_is_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(farming, "FARMED_LEAST", 16)  # 20 daily bars: 60 funding intervals
    monkeypatch.setattr(farming, "FARM_CHUNK", 8)
    past, farm = SimulatedPast(INSTRUMENTS, 34, 400.0), HeldFarm()
    past.farm = farm
    marks = PastMarks(past)

    def answer(kind: PriceKind, interval: str, limit: int) -> Later[list[PriceBar]]:
        pieces = marks.kline_pieces(QUARTERLY, kind, interval, None, UNTIL - 1, limit, UNTIL)
        return Later(pieces, lambda: marks.klines(QUARTERLY, kind, interval, None, UNTIL - 1, limit, UNTIL))

    later = answer(PriceKind.MARK, "1d", 20)
    assert later.step() is False and later.waiting is farm.tasks[0][0] and farm.days == []
    assert len(farm.opens) == 20 and len(farm.tasks) == 3  # 8 daily bars a task
    farm.finish()
    expected = _marks(34).klines(QUARTERLY, PriceKind.MARK, "1d", None, UNTIL - 1, 20, UNTIL)
    assert later.run() == expected and [bar.open_ms for bar in expected] == farm.opens
    # hourly bars over 4 days: made here; 8-hourly over 20 days: 24 bars a task
    farm.tasks.clear()
    assert answer(PriceKind.INDEX, "1h", 96).run() == _marks(34).klines(
        QUARTERLY, PriceKind.INDEX, "1h", None, UNTIL - 1, 96, UNTIL
    )
    assert not farm.tasks
    later = answer(PriceKind.PREMIUM, "8h", 60)
    assert later.step() is False and [len(t[1]) for t in farm.tasks] == [24, 24, 12]
    farm.finish()
    assert later.run() == _marks(34).klines(QUARTERLY, PriceKind.PREMIUM, "8h", None, UNTIL - 1, 60, UNTIL)
    marked, premium = farm.groups[:3], farm.groups[3:]  # each answer's tasks: one group, its own
    assert len(set(marked)) == 1 and len(set(premium)) == 1 and marked[0] != premium[0]
    # asked for a client (``ASKING``, the front door's): its answers' tasks are its group
    farm.tasks.clear()
    asking = farming.ASKING.set("192.0.2.7")
    try:
        assert answer(PriceKind.MARK, "8h", 60).step() is False  # two answers of one client
        assert answer(PriceKind.INDEX, "8h", 60).step() is False
    finally:
        farming.ASKING.reset(asking)
    assert farm.groups[6:] == ["192.0.2.7"] * 6


def test_an_answer_waits_for_the_tasks_already_making_its_days_and_asks_only_for_the_rest() -> None:
    past, farm = SimulatedPast(INSTRUMENTS, 31, 400.0), HeldFarm()
    past.farm = farm
    weekly = _answer(past, QUARTERLY, "1w")
    assert weekly.step() is False
    asked = list(farm.days)
    # the same days for a monthly answer (a second interval, or a client's retry): no new task
    monthly = _answer(past, QUARTERLY, "1M")
    assert monthly.step() is False and monthly.waiting is farm.tasks[0][0] and farm.days == asked
    farm.finish()
    assert monthly.run() == _plain(31, QUARTERLY, "1M") and weekly.run() == _plain(31, QUARTERLY, "1w")
    assert farm.days == asked  # every day drawn once


def test_the_groups_of_tasks_take_turns() -> None:
    """An answer's tasks are one group (``InFlight.ask``: each answer's own, checked in the
    price klines' test); ``Turns`` gives one task of each group in turn."""
    turns: farming.Turns[str] = farming.Turns()
    for i in range(4):
        turns.put("many", f"m{i}")
    turns.put("few", "f0")
    turns.put("many", "m4")
    turns.put("few", "f1")
    turns.put("late", "l0")
    assert len(turns) == 8
    taken = [turns.take() for _ in range(5)]
    assert taken == ["m0", "f0", "l0", "m1", "f1"]  # one of each in turn, the late one third
    assert turns.clear() == ["m2", "m3", "m4"] and len(turns) == 0 and turns.take() is None


def test_what_a_task_drew_is_kept_when_the_answer_that_asked_for_it_has_gone() -> None:
    past, farm = SimulatedPast(INSTRUMENTS, 31, 400.0), HeldFarm()
    past.farm = farm
    gone = _answer(past, QUARTERLY, "1w")
    assert gone.step() is False  # its client timed out: the answer is dropped, its tasks go on
    del gone
    farm.finish()
    asked = list(farm.days)
    again = _answer(past, QUARTERLY, "1w")  # the retry: its days kept, nothing to draw or make
    assert again.step() is True and again.result == _plain(31, QUARTERLY, "1w") and farm.days == asked


def test_past_the_bound_on_tasks_in_flight_the_rest_is_made_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(farming, "IN_FLIGHT_MOST", 2)
    past, farm = SimulatedPast(INSTRUMENTS, 31, 400.0), HeldFarm()
    past.farm = farm
    later = _answer(past, QUARTERLY, "1w")
    assert later.step() is False and len(farm.tasks) == 2 and len(farm.days) == 2 * farming.FARM_CHUNK
    farm.finish()
    assert later.run() == _plain(31, QUARTERLY, "1w")
