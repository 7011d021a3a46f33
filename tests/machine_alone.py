"""Tests that have the machine to themselves: ``@pytest.mark.alone``.

A few tests judge what a client sees within its own default timeout while the server does
seconds of CPU for it: a bot's first ``fetch_ohlcv(symbol, '1d')`` has 500 cold days drawn
by the past's workers (``gateway/past_farm.py``), which run below the server's priority.
Beside the suite's other workers (three on two cores, each at full priority) they got a
quarter of a core, and the answer came after the client had given up: the machine was
busy, not the server slow. Such a test runs while no other test of the run does.

Every test holds a shared lock on a file of the run's own for its whole protocol (setup,
call, teardown); an ``alone`` test holds it exclusively. A second file is the turnstile:
each taker passes it first, and an ``alone`` test keeps it while it waits for the tests
running to end, so that no new one starts meanwhile (``flock`` itself lets shared takers
pass a waiting exclusive one for ever). The files are in a folder the run's first process
(xdist's controller) makes before its workers start (``folder``) and removes at its end; a
test run in that process alone (``-n 0``) waits for nothing.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["TURNS_FOLDER", "folder", "turn"]

TURNS_FOLDER = "TICKERPLANT_TESTS_TURNS"  # the environment's name for it: the workers inherit it
_files: dict[str, int] = {}


@contextmanager
def folder() -> Iterator[None]:
    """The run's folder of lock files, for the processes started within (xdist's workers)."""
    path = tempfile.mkdtemp(prefix="tickerplant-tests-")
    os.environ[TURNS_FOLDER] = path
    try:
        yield
    finally:
        del os.environ[TURNS_FOLDER]
        shutil.rmtree(path, ignore_errors=True)


def _lock_file(name: str) -> int:
    if name not in _files:
        _files[name] = os.open(Path(os.environ[TURNS_FOLDER]) / name, os.O_RDWR | os.O_CREAT, 0o600)
    return _files[name]


@contextmanager
def turn(alone: bool) -> Iterator[None]:
    """A test's turn at the machine: shared with the run's other tests, or ``alone``."""
    if TURNS_FOLDER not in os.environ or "PYTEST_XDIST_WORKER" not in os.environ:
        yield
        return
    gate, machine = _lock_file("gate"), _lock_file("machine")
    fcntl.flock(gate, fcntl.LOCK_EX)
    try:
        fcntl.flock(machine, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
    finally:
        fcntl.flock(gate, fcntl.LOCK_UN)
    try:
        yield
    finally:
        fcntl.flock(machine, fcntl.LOCK_UN)
