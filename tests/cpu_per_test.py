"""What each test costs the machine: ``TICKERPLANT_TESTS_CPU=FILE python -m pytest`` appends a
line of JSON a test to ``FILE`` (its id; the CPU seconds of the process that ran it, and of
the processes it started and waited for: the servers a test runs with ``tickerplant serve``;
its wall seconds), and ``python tests/cpu_per_test.py FILE`` sums them by folder, by module and
by test.

The suite is bound by CPU on two cores (three xdist workers keep both busy), so its wall time
moves with the CPU its tests take, not with their wall time: a test that waits 20 s on a
subprocess' real time costs the run little, and one whose server simulates a busy market
for 2 s costs it 2 s of a core. pytest's ``--durations`` shows the wall time only.

A process a test started and killed without waiting for it is not counted (``getrusage``'s
children are the waited-for ones); every xdist worker appends to the same file, a line at a
time (``O_APPEND``: each line one ``write``)."""

from __future__ import annotations

import collections
import json
import os
import resource
import sys
import time
from collections.abc import Generator, Iterable
from typing import Any

import pytest

__all__ = ["ENVIRONMENT", "CpuPerTest", "summary"]

ENVIRONMENT = "TICKERPLANT_TESTS_CPU"


def _cpu(who: int) -> float:
    used = resource.getrusage(who)
    return used.ru_utime + used.ru_stime


class CpuPerTest:
    """The plugin ``conftest.py`` registers when ``TICKERPLANT_TESTS_CPU`` names a file."""

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, Any, Any]:
        own, children, wall = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN), time.monotonic()
        try:
            return (yield)
        finally:
            line = {
                "id": item.nodeid,
                "self": round(_cpu(resource.RUSAGE_SELF) - own, 4),
                "children": round(_cpu(resource.RUSAGE_CHILDREN) - children, 4),
                "wall": round(time.monotonic() - wall, 4),
            }
            os.write(self._fd, json.dumps(line).encode() + b"\n")

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        os.close(self._fd)


def summary(lines: Iterable[str], top: int = 30) -> str:
    """The recorded tests' CPU summed by folder, by module and by test, the costliest first."""
    rows = [json.loads(line) for line in lines if line.strip()]
    folders: collections.Counter[str] = collections.Counter()
    modules: collections.Counter[str] = collections.Counter()
    counts: collections.Counter[str] = collections.Counter()
    for row in rows:
        module = row["id"].split("::")[0]
        cpu = row["self"] + row["children"]
        modules[module] += cpu
        counts[module] += 1
        folders["/".join(module.split("/")[:2])] += cpu
    own, children = sum(r["self"] for r in rows), sum(r["children"] for r in rows)
    out = [
        f"{len(rows)} tests: {own:.1f} s of CPU in the processes that ran them, {children:.1f} s in theirs"
    ]
    out += ["", "by folder (CPU s):"] + [f"  {cpu:8.1f}  {name}" for name, cpu in folders.most_common(top)]
    out += ["", "by module (CPU s, tests):"]
    out += [f"  {cpu:8.1f}  {counts[name]:5d}  {name}" for name, cpu in modules.most_common(top)]
    out += ["", "by test (CPU s: own, children; wall s):"]
    for row in sorted(rows, key=lambda r: -(r["self"] + r["children"]))[:top]:
        out.append(f"  {row['self']:7.2f} {row['children']:7.2f} {row['wall']:7.2f}  {row['id']}")
    return "\n".join(out)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as recorded:
        print(summary(recorded, int(sys.argv[2]) if len(sys.argv) > 2 else 30))
