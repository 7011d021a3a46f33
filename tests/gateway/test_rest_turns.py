"""REST takes turns with the rest of the loop (gateway/rest_turns.py), without sockets: a
turn answers until its budget is spent, the rest wait in line first come first served, a
turn always answers one from the line, and a pipelining connection goes to the back."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from tickerplant.gateway.rest_turns import RestTurns

MS = 1_000_000


class Loop:
    """What ``RestTurns`` needs of a loop: ``call_soon`` (run a turn at a time) and a clock."""

    def __init__(self) -> None:
        self.now_ns = 0
        self.ready: list[Callable[[], None]] = []

    def schedule(self, callback: Callable[[], None]) -> None:
        self.ready.append(callback)

    def clock(self) -> int:
        return self.now_ns

    def turn(self) -> None:
        """One loop turn's callbacks: those scheduled before it began."""
        ready, self.ready = self.ready, []
        for callback in ready:
            callback()


class Client:
    """A connection with ``pending`` requests of ``cost_ms`` each, answering like a front door."""

    def __init__(self, name: str, loop: Loop, turns: RestTurns, log: list[str], pending: int = 1, cost_ms: float = 1.0):
        self.name, self.loop, self.turns, self.log = name, loop, turns, log
        self.pending, self.cost_ns = pending, round(cost_ms * MS)
        self.waiting = False

    def arrive(self) -> None:
        self.answer()

    def answer(self) -> None:
        while self.pending:
            if not self.turns.admit(self):
                self.waiting = True
                return
            started = self.turns.started()
            self.loop.now_ns += self.cost_ns
            self.turns.spent(started)
            self.pending -= 1
            self.log.append(self.name)

    def resume_answers(self) -> None:
        self.waiting = False
        self.answer()


def setup(budget_ms: float = 2.0) -> tuple[Loop, RestTurns, list[str]]:
    loop = Loop()
    return loop, RestTurns(loop.schedule, loop.clock, budget_ms), []


def test_a_turn_answers_within_its_budget_and_the_rest_wait_in_order() -> None:
    loop, turns, log = setup(budget_ms=2.0)
    clients = [Client(f"c{n}", loop, turns, log) for n in range(5)]
    for client in clients:  # five requests read in one turn, 1 ms each
        client.arrive()
    assert log == ["c0", "c1"]  # 2 ms spent: the others wait
    assert [c.waiting for c in clients] == [False, False, True, True, True]
    assert len(turns) == 3 and turns.queued == 3
    loop.turn()  # the turn ends; the line's turn comes
    assert log == ["c0", "c1", "c2", "c3"]
    loop.turn()
    assert log == ["c0", "c1", "c2", "c3", "c4"]
    assert len(turns) == 0 and all(c.pending == 0 for c in clients)


def test_a_newcomer_waits_behind_the_line_even_with_budget_left() -> None:
    loop, turns, log = setup(budget_ms=2.0)
    first = Client("first", loop, turns, log, cost_ms=3.0)
    second = Client("second", loop, turns, log, cost_ms=0.1)
    first.arrive()
    second.arrive()  # budget spent: in line
    loop.turn()  # the line answers second, budget left
    third = Client("third", loop, turns, log, cost_ms=0.1)
    fourth = Client("fourth", loop, turns, log, cost_ms=3.0)
    fourth.arrive()  # the same turn: budget left (0.1 of 2 ms), answered
    third.arrive()  # now spent: waits
    fifth = Client("fifth", loop, turns, log, cost_ms=0.1)
    fifth.arrive()  # behind third
    loop.turn()
    assert log == ["first", "second", "fourth", "third", "fifth"]


def test_a_pipeline_goes_to_the_back_of_the_line_when_the_budget_is_spent() -> None:
    loop, turns, log = setup(budget_ms=2.0)
    blocker = Client("x", loop, turns, log, cost_ms=2.0)
    blocker.arrive()
    pipeline = Client("p", loop, turns, log, pending=6, cost_ms=1.0)
    single = Client("s", loop, turns, log, pending=1, cost_ms=1.0)
    pipeline.arrive()
    single.arrive()
    loop.turn()
    assert log == ["x", "p", "p"]  # the budget: then p goes behind s
    loop.turn()
    assert log == ["x", "p", "p", "s", "p"]
    loop.turn()
    loop.turn()
    assert log == ["x", "p", "p", "s", "p", "p", "p", "p"]
    assert pipeline.pending == 0 and len(turns) == 0


def test_a_zero_budget_still_answers_one_a_turn() -> None:
    loop, turns, log = setup(budget_ms=0.0)
    clients = [Client(f"c{n}", loop, turns, log) for n in range(3)]
    for client in clients:
        client.arrive()
    assert log == []
    for expected in (["c0"], ["c0", "c1"], ["c0", "c1", "c2"]):
        loop.turn()
        assert log == expected
    assert turns.turns_from_line == 3


def test_a_closed_connection_leaves_the_line() -> None:
    loop, turns, log = setup(budget_ms=1.0)
    clients = [Client(f"c{n}", loop, turns, log) for n in range(3)]
    for client in clients:
        client.arrive()
    turns.forget(clients[1])
    turns.forget(clients[1])  # twice is harmless
    loop.turn()
    loop.turn()
    assert log == ["c0", "c2"] and len(turns) == 0


def test_the_budget_is_per_turn() -> None:
    loop, turns, log = setup(budget_ms=2.0)
    for turn in range(3):
        for n in range(2):
            Client(f"t{turn}.{n}", loop, turns, log).arrive()
        loop.turn()  # ends the turn: the next starts with its whole budget
    assert log == ["t0.0", "t0.1", "t1.0", "t1.1", "t2.0", "t2.1"]
    assert turns.queued == 0


class Failing(Client):
    """A connection whose answer raises (a bug the listener's guard would answer)."""

    def resume_answers(self) -> None:
        raise RuntimeError("a bug")


def test_an_answer_that_raises_leaves_the_line_moving() -> None:
    """The line stopped with a waiter that raised: the connections behind it were answered
    only when another request came."""
    loop, turns, log = setup(budget_ms=1.0)
    clients = [Client("c0", loop, turns, log), Failing("bad", loop, turns, log), Client("c2", loop, turns, log)]
    for client in clients:
        client.arrive()  # c0 spends the turn; the others wait in line
    assert log == ["c0"] and len(turns) == 2
    ready, loop.ready = loop.ready, []
    for callback in ready:
        with contextlib.suppress(RuntimeError):  # (the loop logs it and goes on)
            callback()
    loop.turn()
    assert log == ["c0", "c2"] and len(turns) == 0
