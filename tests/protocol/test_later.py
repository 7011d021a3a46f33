"""An answer made in pieces (protocol/later.py), without sockets: a piece a step, then the
answer from what the pieces made; nothing to make is the answer at once; a refusal that
``finish`` raises comes out of the step that makes the answer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future

import pytest

from tickerplant.protocol.errors import RequestRefused
from tickerplant.protocol.later import Later, eventually, joined


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


def _after(pending: Future[int], made: list[int]) -> Iterator[Future[int] | None]:
    """A piece made elsewhere (``pending``), then one made here from what it made."""
    yield pending
    made.append(pending.result())
    yield None


def test_a_piece_made_elsewhere_is_waited_for_without_stepping_on() -> None:
    made: list[int] = []
    pending: Future[int] = Future()
    later = Later(_after(pending, made), lambda: sum(made))
    assert later.step() is False and later.waiting is pending
    # not done: no step goes past it (the piece after it would block on its result)
    assert [later.step() for _ in range(3)] == [False, False, False] and made == []
    changed = later.then(lambda total: total * 10)  # an answer read from another waits as well
    assert changed.waiting is pending and changed.step() is False and made == []
    pending.set_result(4)
    assert changed.step() is False and changed.waiting is None and made == [4]
    assert changed.step() is True and changed.result == 40


def test_run_blocks_on_a_piece_made_elsewhere_then_makes_the_answer() -> None:
    made: list[int] = []
    pending: Future[int] = Future()
    threading.Timer(0.05, pending.set_result, (7,)).start()
    assert Later(_after(pending, made), lambda: sum(made)).run() == 7


def test_a_piece_that_failed_elsewhere_is_the_next_pieces_to_read() -> None:
    # ``run`` does not raise the piece's failure: the pieces after it read it (and make
    # what it was to make themselves, as the past's farmed days are)
    pending: Future[int] = Future()
    pending.set_exception(OSError("a worker died"))

    def pieces() -> Iterator[Future[int] | None]:
        yield pending
        yield None

    assert Later(pieces(), lambda: "made here").run() == "made here"


def test_two_answers_joined_make_the_firsts_pieces_then_the_seconds() -> None:
    assert joined(1, 2, lambda a, b: (a, b)) == (1, 2)  # neither made in pieces: at once
    made: list[int] = []
    first = eventually(_three_pieces(made), lambda: sum(made))  # one piece made already
    elsewhere: Future[None] = Future()
    second = Later(iter([elsewhere, None]), lambda: "second")
    both = joined(first, "plain", lambda a, b: (a, b))
    assert isinstance(both, Later) and both.run() == (3, "plain")
    made.clear()
    first = eventually(_three_pieces(made), lambda: sum(made))
    both = joined(first, second, lambda a, b: (a, b))
    assert isinstance(both, Later)
    steps = [both.step() for _ in range(4)]  # the first's two pieces left and its answer, then the wait
    assert steps == [False, False, False, False] and made == [0, 1, 2]
    assert both.waiting is elsewhere and both.step() is False  # held, not stepped on
    elsewhere.set_result(None)
    assert [both.step() for _ in range(2)] == [False, True]  # its last piece, then both answers
    assert both.result == (3, "second")
