"""An answer made in pieces (protocol/later.py), without sockets: a piece a step, then the
answer from what the pieces made; nothing to make is the answer at once; a refusal that
``finish`` raises comes out of the step that makes the answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tickerplant.protocol.errors import RequestRefused
from tickerplant.protocol.later import Later, eventually


def _three_pieces(made: list[int]) -> Iterator[None]:
    """Three pieces, each appending its number to ``made``."""
    for n in range(3):
        made.append(n)
        yield


def test_a_piece_a_step_then_the_answer_from_what_they_made() -> None:
    made: list[int] = []
    later = Later(_three_pieces(made), lambda: sum(made))
    assert [later.step() for _ in range(3)] == [False, False, False]
    assert made == [0, 1, 2]
    assert later.step() is True
    assert later.result == 3


def test_nothing_to_make_is_the_answer_at_once() -> None:
    assert eventually(iter(()), lambda: "warm") == "warm"
    begun = eventually(iter([None, None]), lambda: "cold")
    assert isinstance(begun, Later)
    assert begun.run() == "cold"


def test_a_refusal_comes_out_of_the_step_that_makes_the_answer() -> None:
    def refuse() -> str:
        raise RequestRefused(-1130, "Data sent for parameter 'limit' is not valid.")

    later = Later(iter([None]), refuse)
    assert later.step() is False
    with pytest.raises(RequestRefused):
        later.step()


def test_then_changes_the_answer_once_made_after_the_same_pieces() -> None:
    made: list[int] = []
    later = Later(_three_pieces(made), lambda: sum(made))
    assert not later.step() and made == [0]  # one piece made before the change is asked
    changed = later.then(lambda total: f"total {total}")
    steps = 1
    while not changed.step():
        steps += 1
    assert (made, changed.result, steps) == ([0, 1, 2], "total 3", 3)
