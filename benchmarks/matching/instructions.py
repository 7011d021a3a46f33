"""Instructions a command of the mix, for the floor, the lean core and the venue: the CPU's
own count of what each executes, which the machine's other work does not move.

    python -m benchmarks matching --instructions [--accounts 1000]

Bytecodes (``bytecodes.py``) count the interpreter's steps, a C call (a ``dict`` lookup, an
object made, SQLite) as one; instructions count those calls' work too, frames made and
cleared, objects made and freed, the collector. Counted by valgrind's callgrind: a child
process under ``valgrind --tool=callgrind --instr-atstart=no`` runs the mix's first
``TRACED`` commands once (the modules' caches warmed, as the bytecode count's earlier runs
warm them), then again with the instrumentation switched on around that run alone
(``callgrind_control -i``), less the same of a run of no commands (what a run sets up: the
engine, the deposits, the floor's levels). The same to ~0.5 % from run to run; ~50× slower
than the run itself, about a minute for the three. It needs valgrind (Debian's
``valgrind``); without it the line says so.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["instructions"]

ROOT = Path(__file__).resolve().parents[2]  # the checkout: the child runs ``-m`` from it
_COLLECTED = re.compile(rb"Collected\s*:\s*(\d+)")
_KINDS = ("floor", "lean", "venue")


def instructions(kind: str, commands: int, accounts: int) -> float | None:
    """Instructions a command of the mix's first ``commands`` for ``kind`` (``floor``,
    ``lean`` or ``venue``); None without valgrind."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        return None
    every, none = (_collected(kind, commands, accounts, run) for run in (commands, 0))
    return (every - none) / commands


def _collected(kind: str, commands: int, accounts: int, run: int) -> int:
    """What callgrind collected while the child ran ``run`` of the mix's commands."""
    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={folder}/out",
             sys.executable, "-m", "benchmarks.matching.instructions", kind, str(commands), str(accounts),
             str(run)],
            cwd=ROOT, capture_output=True, check=True,
        )  # fmt: skip
    found = _COLLECTED.search(done.stderr)
    if found is None:
        raise RuntimeError(f"callgrind said no count: {done.stderr[-500:]!r}")
    return int(found.group(1))


def _switch(on: bool) -> None:
    """callgrind's instrumentation of this process on or off."""
    subprocess.run(["callgrind_control", "-i", "on" if on else "off", str(os.getpid())], check=True,
                   capture_output=True)  # fmt: skip


def _child(kind: str, commands: int, accounts: int, run: int) -> None:
    from .lean import run_lean
    from .parts import Counting
    from .scenario import MID, Published, run_floor, run_venue
    from .scenario import commands as mix

    made = mix(commands, accounts)  # a prefix of a longer mix's: the same seeded draws
    bids, asks = Published().bids, Published().asks
    runs: dict[str, Callable[[list[tuple[str, int, int, int]]], float]] = {
        "floor": run_floor,
        "lean": lambda m: run_lean(m, accounts, bids, asks, MID),
        "venue": lambda m: run_venue(m, accounts, Counting()),
    }
    runs[kind](made)  # warmed
    _switch(True)
    runs[kind](made[:run])
    _switch(False)


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] not in _KINDS:
        kinds = ",".join(_KINDS)
        sys.exit(f"usage: python -m benchmarks.matching.instructions {{{kinds}}} COMMANDS ACCOUNTS RUN")
    _child(sys.argv[1], *map(int, sys.argv[2:]))
