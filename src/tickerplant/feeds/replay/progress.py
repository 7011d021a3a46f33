"""How far a replay has come, as its status tells it (a share, 0 to 1) and as the
progress bar on stderr shows it (the files' bytes read, the replay clock, the events).

The bar reads the status the listeners serve, four times a wall second, so it shows
nothing the status does not; it is drawn only on a terminal (``--progress`` forces it).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tickerplant.config import ReplayConfig

__all__ = ["ProgressBar", "progress", "utc_text", "wants_progress"]


def progress(
    state: str, start_ms: int | None, replay_ms: int | None, end_ms: int | None, read: int, total: int
) -> float:
    """0..1: the replay clock's way from start to ``--end`` when there is one, else the
    share of the files' bytes read."""
    if state == "finished":
        return 1.0
    if start_ms is not None and replay_ms is not None and end_ms is not None and end_ms > start_ms:
        return min(1.0, max(0.0, (replay_ms - start_ms) / (end_ms - start_ms)))
    return min(1.0, read / total) if total else 0.0


def utc_text(us: int) -> str:
    """A replay time (Unix µs) as the log and the bar write it, to the millisecond."""
    return datetime.fromtimestamp(us / 1_000_000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"


def wants_progress(config: ReplayConfig) -> bool:
    return sys.stderr.isatty() if config.progress is None else config.progress


class ProgressBar:
    """A rich progress bar on stderr: the bytes of the files read, and the replay clock,
    from ``status`` (the replay's ``status()``) over ``total_bytes`` (None: unknown)."""

    def __init__(self, status: Callable[[], dict[str, Any]], total_bytes: int | None) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

        self._status = status
        self._progress = Progress(
            TextColumn("replay"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[clock]}  {task.fields[events]} events"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._task = self._progress.add_task("replay", total=total_bytes, clock="", events=0)
        self._progress.start()
        self._updater = asyncio.get_running_loop().create_task(self._update())

    async def _update(self) -> None:
        while True:
            self._refresh()
            await asyncio.sleep(0.25)

    def _refresh(self) -> None:
        status = self._status()
        clock = utc_text(status["replayTime"] * 1000) if status["replayTime"] else ""
        self._progress.update(
            self._task,
            completed=status["bytesRead"],
            clock=f"{status['state']} {clock}",
            events=status["events"],
        )

    def close(self) -> None:
        self._updater.cancel()
        with contextlib.suppress(Exception):
            self._refresh()
        self._progress.stop()
