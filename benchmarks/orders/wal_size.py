"""The journal's WAL at its largest while the load runs: a thread that reads the file's size
ten times a second. Under a flat-out load the WAL must still start over (the checkpointer's
copy taken back from its lowest-priority thread when starved, ``venue/journal/checkpointer.py``):
a WAL that never does grows by every commit, ~50 MB a second here, and each append to new
blocks costs the server's loop (docs/benchmarks.md, "The WAL under a flat-out load")."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from types import TracebackType

__all__ = ["LargestFile"]

_EVERY_S = 0.1


class LargestFile:
    """``with LargestFile(path) as seen:`` ... ``seen.largest``: the most bytes ``path`` held
    at a look (0 while it did not exist)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.largest = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="wal-size", daemon=True)

    def __enter__(self) -> LargestFile:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        while True:
            with contextlib.suppress(FileNotFoundError):
                self.largest = max(self.largest, self.path.stat().st_size)
            if self._done.wait(_EVERY_S):
                return
