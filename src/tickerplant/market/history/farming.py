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
without a farm. The tasks handed out and not yet kept are the past's ``InFlight``: an answer
that needs what one is already making waits for it rather than asking again (a client's
retry after its timeout, two intervals of one symbol at once), and what a task made is kept
even when the answer that asked for it has gone. The askers take turns at the workers
(``Turns``): the tasks of one client's answers are one group (``ASKING``, which the REST
surface sets while it makes an answer and the front door while it steps one, ``asked``: the
client's address; else each answer is a group of its own), and the farm gives a worker the
next group's next task, so one client's answer waits for one task of each other client's,
not for all of theirs. Sans-I/O: nothing here starts a process or waits.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Hashable
from contextvars import ContextVar
from typing import Any, Generic, Protocol, TypeVar

from tickerplant.market.instruments import Instrument
from tickerplant.market.klines.price_candles import PriceKind
from tickerplant.market.units import DAY_MS

__all__ = [
    "ASKING", "FARMED_LEAST", "FARM_CHUNK", "IN_FLIGHT_MOST", "Drawn", "Farm", "InFlight", "Job", "Recipe",
    "Turns", "asked", "bar_jobs", "day_jobs", "drawn",
]  # fmt: skip

FARMED_LEAST = 128  # cold days an answer needs (~0.6 s here) before they are drawn elsewhere
FARM_CHUNK = 64  # days a task: tasks enough to keep every worker busy to the end
IN_FLIGHT_MOST = 1024  # tasks handed out and not yet kept, a past's: past it, made here
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
    """Does ``job`` elsewhere, in the past built from ``recipe``; ``group``: who asks (a
    client, else one answer), whose tasks take their turns together (``Turns``)."""

    def draw(self, recipe: Recipe, job: Job, group: Hashable = 0) -> Drawn: ...


# who asks for the answer being made (a client's address), set by whoever steps it: its tasks
# take their turns with that asker's other tasks (``Turns``); None: the answer's own group
ASKING: ContextVar[Hashable | None] = ContextVar("ASKING", default=None)
_ANSWERS = itertools.count(1)  # each ``InFlight.ask``'s own group, unique in the process
T = TypeVar("T")


def asked(asker: Hashable, make: Callable[..., T], *args: Any) -> T:
    """``make(*args)`` for ``asker`` (``ASKING`` set for the call alone): an answer's first
    step, which may hand out its tasks, as much as its later ones."""
    token = ASKING.set(asker)
    try:
        return make(*args)
    finally:
        ASKING.reset(token)


class Turns(Generic[T]):
    """Tasks waiting for a worker, by group (a client, else one answer), the groups taking
    turns: ``take`` gives the first group's first task and puts the group, if it has more, at
    the back of the line. One client's twelve cold weekly answers since the listing (~40
    tasks each), handed out in the order asked, held another client's cold daily answer for
    232 s (4.8 s alone); in turns by client, 8 s, and the twelve were all done in 76 s (in
    turns by answer, 200-370 s: why is not known)."""

    def __init__(self) -> None:
        self._groups: dict[Hashable, deque[T]] = {}  # in the order of their turns
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def put(self, group: Hashable, task: T) -> None:
        self._groups.setdefault(group, deque()).append(task)
        self._count += 1

    def take(self) -> T | None:
        """The next task, None when none waits."""
        if not self._groups:
            return None
        group = next(iter(self._groups))
        tasks = self._groups.pop(group)
        task = tasks.popleft()
        if tasks:
            self._groups[group] = tasks  # its next task after every other group's
        self._count -= 1
        return task

    def clear(self) -> list[T]:
        """Every task waiting, in turn order; none left."""
        tasks = [task for tasks in self._groups.values() for task in tasks]
        self._groups.clear()
        self._count = 0
        return tasks


def day_jobs(symbol: str, cold: list[int]) -> list[Job]:
    """``cold``'s days, ``FARM_CHUNK`` a task; none when they are fewer than ``FARMED_LEAST``
    (made here)."""
    if len(cold) < FARMED_LEAST:
        return []
    return [("days", symbol, cold[i : i + FARM_CHUNK]) for i in range(0, len(cold), FARM_CHUNK)]


def bar_jobs(symbol: str, kind: PriceKind, interval: str, bar_ms: int, cold: list[int]) -> list[Job]:
    """The price bars opened at ``cold``, each ``bar_ms`` long, as many a task as
    ``FARM_CHUNK`` days hold; none when they hold fewer than ``FARMED_LEAST`` days (made here)."""
    if len(cold) * bar_ms < FARMED_LEAST * DAY_MS:
        return []
    step = max(1, FARM_CHUNK * DAY_MS // bar_ms)
    return [("bars", symbol, kind, interval, cold[i : i + step]) for i in range(0, len(cold), step)]


class InFlight:
    """A past's tasks handed to its farm and not yet kept, each with the keys of what it makes
    (a day's ``(symbol, day)``, a bar's ``(symbol, kind, interval, open)``) and the tag those
    start with (the module's docstring). At most ``IN_FLIGHT_MOST``: a task leaves once
    ``done`` has given what it made."""

    def __init__(self) -> None:
        self._tasks: list[tuple[Drawn, tuple[Any, ...], list[Any]]] = []
        self._keys: dict[Any, Drawn] = {}

    def ask(
        self, farm: Farm, recipe: Recipe, tag: tuple[Any, ...], cold: list[int],
        jobs: Callable[[list[int]], list[Job]],
    ) -> list[Drawn]:  # fmt: skip
        """The tasks an answer waits for: those already making some of ``cold`` (``tag`` and
        an open time, or a day, each), then new ones for the rest (``jobs`` of them; none past
        the bound: made here), handed out at once."""
        keys, group = self._keys, ASKING.get()
        if group is None:
            group = ("answer", next(_ANSWERS))
        waiting = list({id(task): task for t in cold if (task := keys.get((*tag, t))) is not None}.values())
        made: list[Drawn] = []
        for job in jobs([t for t in cold if (*tag, t) not in keys]):  # (``day_jobs``, ``bar_jobs``)
            if len(self._tasks) >= IN_FLIGHT_MOST:
                break
            task = farm.draw(recipe, job, group)
            held = [(*tag, t) for t in job[-1]]
            self._tasks.append((task, tag, held))
            keys.update(dict.fromkeys(held, task))
            made.append(task)
        return [*waiting, *made]

    def done(self) -> list[tuple[tuple[Any, ...], list[Any]]]:
        """What the tasks done since the last look made, with their tags, to be kept (each
        task's once; a failed one's nothing: made here when asked)."""
        finished: list[tuple[Drawn, tuple[Any, ...], list[Any]]] = []
        left: list[tuple[Drawn, tuple[Any, ...], list[Any]]] = []
        for entry in self._tasks:  # one look each: a task done meanwhile is the next look's
            (finished if entry[0].done() else left).append(entry)
        if not finished:
            return []
        self._tasks = left
        for _, _, held in finished:
            for key in held:
                self._keys.pop(key, None)
        return [(tag, drawn(task)) for task, tag, _ in finished]


def drawn(task: Drawn) -> list[Any]:
    """A done task's klines or bars; none if it failed (a worker gone, the farm shut): what
    it was to make is then made here, as without a farm."""
    try:
        return task.result()
    except Exception:  # (whatever stopped the task, the answer is still made)
        return []
