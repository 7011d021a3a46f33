"""Python bytecodes a command of the mix, for the floor, the lean core and the venue: a count
the machine's other work does not move.

A rate does move: the floor read 0.8 to 1.3 M commands a second in runs of the same hour,
so a change to the core that takes a tenth of a command's time can hide in the ratio. The
count of bytecodes the interpreter executes for the same commands is the same from run to
run (the mix is seeded), so it shows what a change adds or takes, exactly. It is not time:
a bytecode that reads an object far from the caches costs more than one that adds two
integers, and C calls (a ``dict`` lookup, ``bisect``, SQLite) count as the one bytecode that
calls them. Read it beside the rates, not instead of them.

Counted with ``sys.settrace`` (``f_trace_opcodes``), the harness's own frames left out (its
loop, the prices it works out, the commands it makes: the wire's part, not the core's), over
a run of the commands less a run of none (what a run sets up before its loop: the engine,
the accounts' deposits, the floor's levels), so each figure is what the floor's book, the
lean core or the venue's engine executes for the commands; ~20× slower than untraced.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from types import CodeType, FrameType
from typing import Any, TypeVar

from tickerplant.venue.domain.commands import Amend, Cancel, NewOrder, Place

from .parts import Kinds, kind_of, resting_price, taking_price

__all__ = ["CountedKinds", "FunctionKinds", "a_command", "by_function", "bytecodes"]

C = TypeVar("C")

# the commands the venue's harness makes: NamedTuples, whose ``__new__`` is Python code
_COMMANDS = (Amend, Cancel, NewOrder, Place)


def bytecodes(run: Callable[[], object], harness: Iterable[Callable[..., Any]]) -> int:
    """The bytecodes ``run`` executes, outside the frames of ``harness``'s functions and of
    the commands' constructors (frames they call are counted: the core's)."""
    skipped: set[CodeType] = {f.__code__ for f in (run, *harness, resting_price, taking_price)}
    skipped |= {kind.__new__.__code__ for kind in _COMMANDS}
    count = 0

    def each(frame: FrameType, event: str, arg: object) -> Callable[..., object]:
        nonlocal count
        if event == "opcode":
            count += 1
        return each

    def called(frame: FrameType, event: str, arg: object) -> Callable[..., object] | None:
        if frame.f_code in skipped:
            return None  # not this frame's bytecodes; the frames it calls come here again
        frame.f_trace_opcodes = True
        return each

    sys.settrace(called)
    try:
        run()
    finally:
        sys.settrace(None)
    return count


def by_function(run: Callable[[], object]) -> Counter[CodeType]:
    """The bytecodes ``run`` executes, by the code object (the function) executing each;
    ``run``'s own frame left out."""
    counted: Counter[CodeType] = Counter()
    skipped = run.__code__  # type: ignore[attr-defined]

    def each(frame: FrameType, event: str, arg: object) -> Callable[..., object]:
        if event == "opcode":
            counted[frame.f_code] += 1
        return each

    def called(frame: FrameType, event: str, arg: object) -> Callable[..., object] | None:
        if frame.f_code is skipped:
            return None
        frame.f_trace_opcodes = True
        return each

    sys.settrace(called)
    try:
        run()
    finally:
        sys.settrace(None)
    return counted


def a_command(run: Callable[[Sequence[C]], object], made: Sequence[C], *harness: Callable[..., Any]) -> float:
    """Bytecodes a command of ``made`` for ``run``, which gives them to ``harness`` (the
    scenario's ``run_*`` and the loop it times): a run of them less a run of none."""
    every = bytecodes(lambda: run(made), (run, *harness))
    none = bytecodes(lambda: run(made[:0]), (run, *harness))
    return (every - none) / len(made)


class CountedKinds(Kinds):
    """``Kinds`` counting each command's bytecodes (``Engine.apply`` and what it calls:
    ``bytecodes``) in place of its time: a move's, a GTC's, an IOC's and a cancel's own count,
    which the machine does not move either (what a change to one kind of command buys, read
    apart). A refusal's are counted as its command's."""

    def timed(self, apply: Callable[[Any, int], Any]) -> Callable[[Any, int], Any]:
        def counted_apply(command: Any, now_ms: int) -> Any:
            made: list[Any] = []

            def run() -> None:  # the harness' frame, not counted
                try:
                    made.append(apply(command, now_ms))
                except Exception as refusal:
                    made.append(refusal)

            self.count(command, run)
            if isinstance(made[0], Exception):
                raise made[0]
            return made[0]

        return counted_apply

    def count(self, command: Any, run: Callable[[], None]) -> None:
        """``command`` applied by ``run``, its bytecodes counted."""
        self.add(command, bytecodes(run, ()))

    def report(self, commands: int) -> str:
        """Each kind's bytecodes a call and its calls, then all of them a command."""
        spent = sorted(self.spent.items())
        parts = [f"{kind} {count / calls:,.0f} ({calls:,})" for kind, (calls, count) in spent]
        total = sum(count for _, count in self.spent.values()) / commands
        return ", ".join(parts) + f"; {total:,.0f} a command of the mix"


class FunctionKinds(CountedKinds):
    """``CountedKinds`` with each kind's bytecodes kept by the function that executes them
    (``--functions``): where a move's, a GTC's, an IOC's and a cancel's count goes, each
    function's own bytecodes (not those of the functions it calls) and its calls, per command
    of the kind."""

    def __init__(self) -> None:
        super().__init__()
        self.codes: dict[str, Counter[CodeType]] = {}
        self.calls: dict[str, Counter[CodeType]] = {}

    def count(self, command: Any, run: Callable[[], None]) -> None:
        codes = by_function(run)
        self.add(command, sum(codes.values()))
        kind = kind_of(command)
        self.codes.setdefault(kind, Counter()).update(codes)
        self.calls.setdefault(kind, Counter()).update(code for code in codes)  # a function run at all

    def lines(self, top: int, per_line: int = 4) -> list[str]:
        """Per kind, its bytecodes a call, then its ``top`` functions' own bytecodes a call of
        the kind (the share of the calls of the kind that ran it), ``per_line`` a line."""
        said = []
        for kind, (calls, count) in sorted(self.spent.items()):
            codes, ran = self.codes[kind], self.calls[kind]
            most = codes.most_common(top)
            parts = [f"{_name(code)} {n / calls:,.0f} ({ran[code] / calls:.0%})" for code, n in most]
            said.append(f"{kind}: {calls:,} calls, {count / calls:,.0f} bytecodes a call")
            said += ["  " + ", ".join(parts[i : i + per_line]) for i in range(0, len(parts), per_line)]
        return said


def _name(code: CodeType) -> str:
    """``module.function`` of a code object, its module the file's name."""
    return f"{code.co_filename.rsplit('/', 1)[-1].removesuffix('.py')}.{code.co_qualname}"
