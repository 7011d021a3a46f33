"""What the matching benchmark's scenarios share: the start time, the accounts' deposits,
a journal that only counts, and the commands' time by kind."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import tickerplant.feeds.simulator.positions  # noqa: F401  (settle_heap's import, not made in a counted run)
from tickerplant.commands import settle_heap
from tickerplant.market.instruments import Market
from tickerplant.venue.auth.accounts import Balance
from tickerplant.venue.domain.commands import Place
from tickerplant.venue.domain.events import Batch
from tickerplant.venue.domain.money import parse_amount

__all__ = ["T0", "Counting", "Deposits", "Kinds", "as_served", "kind_of", "resting_price", "taking_price"]

T0 = 1_790_000_000_000


def resting_price(mid: int, side: int, ticks: int) -> int:
    """A GTC's or a move's price in the mix: ``ticks`` levels (100 price units each) off its
    side's best, a buy (``side`` 0) below the bid one level under ``mid``, a sell above ``mid``."""
    return mid - 100 - 100 * ticks if side == 0 else mid + 100 * ticks


def taking_price(mid: int, side: int) -> int:
    """An IOC's limit in the mix: a few levels into the other side."""
    return mid + 300 if side == 0 else mid - 400


@contextmanager
def as_served() -> Iterator[None]:
    """A timed run under the cyclic collector as a served process runs it
    (``commands.settle_heap``, called once its start is done): what the run set up (an engine,
    its accounts, a book's levels) moved out of the collector's reach, the youngest generation
    collected every 10,000 container objects made instead of every 700. Under the interpreter's
    defaults the collections took 6-12 % of the venue's CPU in the mix (the floor's and the lean
    core's, which make few objects, next to none): a cost the served core does not pay. The
    same for every run; afterwards the heap is the collector's again (the next run's engine is
    made beside this one's, which it collects)."""
    thresholds = gc.get_threshold()
    settle_heap()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


class Deposits:
    def __init__(self, accounts: int) -> None:
        money = parse_amount("1000000")
        self.rows = {
            a: [Balance(a, Market.UM, "USDT", money, 1), Balance(a, Market.CM, "BTC", money, 1)]
            for a in range(1, accounts + 1)
        }

    def balances(self, account_id: int) -> list[Balance]:
        return self.rows.get(account_id, [])


class Counting:
    def __init__(self) -> None:
        self.commits = 0

    def commit(self, batch: Batch) -> None:
        self.commits += 1


def kind_of(command: Any) -> str:
    """A command's kind as ``Kinds`` reports it: its type, a placement's time in force beside it."""
    if type(command) is Place:
        return f"Place {command.order.time_in_force.name}"
    return type(command).__name__


class Kinds:
    """Each command's time by its kind (its type; a placement's time in force beside it)."""

    def __init__(self) -> None:
        self.spent: dict[str, list[int]] = {}  # kind -> [calls, ns]

    def timed(self, apply: Callable[[Any, int], Any]) -> Callable[[Any, int], Any]:
        clock = time.perf_counter_ns

        def timed_apply(command: Any, now_ms: int) -> Any:
            started = clock()
            try:
                return apply(command, now_ms)
            finally:
                self.add(command, clock() - started)

        return timed_apply

    def add(self, command: Any, spent: int) -> None:
        """One more ``command`` of its kind, which took ``spent`` (ns, or what else is counted)."""
        kept = self.spent.setdefault(kind_of(command), [0, 0])
        kept[0] += 1
        kept[1] += spent

    def report(self, commands: int) -> str:
        """Each kind's µs a call and its calls, then all of them a command (``commands``)."""
        spent = sorted(self.spent.items())
        parts = [f"{kind} {ns / calls / 1000:.1f} ({calls:,})" for kind, (calls, ns) in spent]
        total = sum(ns for _, ns in self.spent.values()) / commands / 1000
        return ", ".join(parts) + f"; {total:.1f} a command of the mix"
