"""Where a command of the mix goes, part by part (``python -m benchmarks matching --parts``):
the mix run whole and with one part of the core taken out (its functions made to do
nothing), alternately, part after part; what taking it out saves, µs a command. A
profiler's figures are inflated by its own cost per call (cProfile's several-fold on this
code); this is the part's real cost, and what it brings about downstream: with the
open-order sums no longer moved (``Ledger.touch``), the next margin check finds its kept
side margin and works nothing out again.

Pure Python only: a compiled core (mypyc) refuses its methods being replaced, and then the
part is skipped with the reason. A part taken out changes what the engine does (a margin
never refused, a level never re-queued), so the runs measure, they do not check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tickerplant.venue.engine import amendment, placement
from tickerplant.venue.engine.state import EngineState
from tickerplant.venue.ledger.ledger import Ledger

__all__ = ["PARTS", "taken_out"]

# what each part is, and the functions that make it: (their owner, their name)
PARTS: list[tuple[str, list[tuple[Any, str]]]] = [
    ("a move's margin check (Ledger.moved_cost)", [(Ledger, "moved_cost")]),
    ("a placement's margin check (check_margin)", [(EngineState, "check_margin")]),
    ("the open-order sums a change moves (Ledger.touch)", [(Ledger, "touch")]),
    ("a move's place in the market (EngineState.requeue)", [(EngineState, "requeue")]),
    (
        "the position cap (check_position_cap)",
        [(amendment, "check_position_cap"), (placement, "check_position_cap")],
    ),
    (
        "a move's filters (check_limit, check_limit_market)",
        [(amendment, "check_limit"), (amendment, "check_limit_market")],
    ),
]


def _nothing(*_: object, **__: object) -> None:
    return None


def _no_cost(*_: object, **__: object) -> int:
    return 0  # a cost that adds nothing: no margin weighed


_STAND_INS: dict[str, Callable[..., object]] = {"moved_cost": _no_cost}  # else ``_nothing``


@contextmanager
def _taken_out(functions: list[tuple[Any, str]]) -> Iterator[None]:
    """Each of ``functions`` doing nothing meanwhile."""
    kept = [(owner, name, owner.__dict__[name]) for owner, name in functions]
    try:
        for owner, name, _ in kept:
            setattr(owner, name, _STAND_INS.get(name, _nothing))
        yield
    finally:
        for owner, name, function in kept:
            setattr(owner, name, function)


def taken_out(run: Callable[[], float], repeats: int) -> list[tuple[str, float, float] | tuple[str, str]]:
    """Per part: (its name, µs a command whole, µs a command without it), the best of
    ``repeats`` each, a whole run and one without the part in turn (what the machine's other
    work does to one, it does to the other about as much); or (its name, why it could not be
    taken out). ``run``: the mix once, µs a command."""
    found: list[tuple[str, float, float] | tuple[str, str]] = []
    for name, functions in PARTS:
        wholes, withouts = [], []
        try:
            for _ in range(repeats):
                wholes.append(run())
                with _taken_out(functions):
                    withouts.append(run())
        except (AttributeError, TypeError) as exc:  # a compiled class: its methods are read-only
            found.append((name, f"not taken out: {exc}"))
            continue
        found.append((name, min(wholes), min(withouts)))
    return found
