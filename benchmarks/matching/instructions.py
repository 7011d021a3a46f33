"""Instructions a command of the mix, for the floor, the lean core and the venue: the CPU's
own count of what each executes, which the machine's other work does not move.

    python -m benchmarks matching --instructions [--accounts 1000]

Bytecodes (``bytecodes.py``) count the interpreter's steps, a C call (a ``dict`` lookup, an
object made, SQLite) as one; instructions count those calls' work too, frames made and
cleared, objects made and freed, the collector.

Counted by valgrind's callgrind: a child process (``instrumented.py``) under ``valgrind
--tool=callgrind --instr-atstart=no`` runs the mix's first ``TRACED`` commands once (the
modules' caches warmed, as the bytecode count's earlier runs warm them), then again with the
instrumentation switched on around that run alone (``callgrind_control -i``), less the same of
a run of no commands (what a run sets up: the engine, the deposits, the floor's levels). The
same to ~0.5 % from run to run; ~50× slower than the run itself, about a minute for the
three. It needs valgrind (Debian's ``valgrind``); without it the line says so.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["instructions"]

ROOT = Path(__file__).resolve().parents[2]  # the checkout: the child runs ``-m`` from it
_COLLECTED = re.compile(rb"Collected\s*:\s*(\d+)")


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
             sys.executable, "-m", "benchmarks.matching.instrumented", kind, str(commands), str(accounts),
             str(run)],
            cwd=ROOT, capture_output=True, check=True,
        )  # fmt: skip
    found = _COLLECTED.search(done.stderr)
    if found is None:
        raise RuntimeError(f"callgrind said no count: {done.stderr[-500:]!r}")
    return int(found.group(1))
