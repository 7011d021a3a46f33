"""The per-test CPU record (``cpu_per_test.py``): a line a test from a real pytest run, and its
sums."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cpu_per_test import ENVIRONMENT, summary
from machine_alone import TURNS_FOLDER

ROOT = Path(__file__).parent.parent


def test_a_run_records_each_test_a_line_with_its_cpu(tmp_path: Path) -> None:
    recorded = tmp_path / "cpu.jsonl"
    # a run of its own: not an xdist worker of this run, nor taking this run's turns at the
    # machine (machine_alone.py's lock files: an ``alone`` test waiting for this one to end
    # would hold the child's turn, and this one waits for the child)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_") and k != TURNS_FOLDER}
    env[ENVIRONMENT] = str(recorded)
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", "tests/test_clock.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    rows = [json.loads(line) for line in recorded.read_text().splitlines()]
    passed = int(ran.stdout.rsplit(" passed", 1)[0].rsplit(None, 1)[-1])
    assert len(rows) == passed and all(r["id"].startswith("tests/test_clock.py::") for r in rows)
    assert all(r["self"] >= 0 and r["children"] >= 0 and r["wall"] > 0 for r in rows)


def test_the_summary_sums_by_folder_module_and_test() -> None:
    lines = [
        json.dumps({"id": "tests/a/test_x.py::one", "self": 1.0, "children": 2.0, "wall": 5.0}),
        json.dumps({"id": "tests/a/test_x.py::two", "self": 0.5, "children": 0.0, "wall": 0.5}),
        json.dumps({"id": "tests/b/test_y.py::three", "self": 4.0, "children": 0.0, "wall": 4.0}),
        "",
    ]
    text = summary(lines)
    assert text.splitlines()[0] == "3 tests: 5.5 s of CPU in the processes that ran them, 2.0 s in theirs"
    by_folder = text.split("by folder (CPU s):\n")[1].split("\n\n")[0].splitlines()
    assert [line.split() for line in by_folder] == [["4.0", "tests/b"], ["3.5", "tests/a"]]
    by_module = text.split("by module (CPU s, tests):\n")[1].split("\n\n")[0].splitlines()
    assert [line.split() for line in by_module] == [
        ["4.0", "1", "tests/b/test_y.py"],
        ["3.5", "2", "tests/a/test_x.py"],
    ]
    by_test = text.split("by test (CPU s: own, children; wall s):\n")[1].splitlines()
    assert [line.split()[-1] for line in by_test] == [
        "tests/b/test_y.py::three", "tests/a/test_x.py::one", "tests/a/test_x.py::two",
    ]  # fmt: skip
