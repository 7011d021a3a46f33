"""The child of ``instructions.py``: the mix's first commands run by the floor, the lean
core or the venue under valgrind's callgrind, the instrumentation switched on around the
measured run alone.

    valgrind --tool=callgrind --instr-atstart=no python -m benchmarks.matching.instrumented \\
        {floor,lean,venue} COMMANDS ACCOUNTS RUN

It runs the mix's first ``COMMANDS`` once untraced (the modules' caches warmed), then the
first ``RUN`` of them (0: none, what a run sets up) with the instrumentation on.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

from .lean import run_lean
from .parts import Counting
from .scenario import MID, Published, run_floor, run_venue
from .scenario import commands as mix

__all__ = ["KINDS", "run_counted"]

KINDS = ("floor", "lean", "venue")


def _switch(on: bool) -> None:
    """callgrind's instrumentation of this process on or off."""
    subprocess.run(["callgrind_control", "-i", "on" if on else "off", str(os.getpid())], check=True,
                   capture_output=True)  # fmt: skip


def run_counted(kind: str, commands: int, accounts: int, counted: int) -> None:
    """The mix's first ``commands`` by ``kind``, then its first ``counted`` instrumented."""
    made = mix(commands, accounts)  # a prefix of a longer mix's: the same seeded draws
    bids, asks = Published().bids, Published().asks
    runs: dict[str, Callable[[list[tuple[str, int, int, int]]], float]] = {
        "floor": run_floor,
        "lean": lambda m: run_lean(m, accounts, bids, asks, MID),
        "venue": lambda m: run_venue(m, accounts, Counting()),
    }
    runs[kind](made)  # warmed
    _switch(True)
    runs[kind](made[:counted])
    _switch(False)


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] not in KINDS:
        kinds = ",".join(KINDS)
        sys.exit(f"usage: python -m benchmarks.matching.instrumented {{{kinds}}} COMMANDS ACCOUNTS RUN")
    run_counted(sys.argv[1], *map(int, sys.argv[2:]))
