"""The bot's watchdog: nothing of a run outlives it, not even a run killed with ``kill -9``
(docs/run.md, "What the run does").

The bot runs in a session of its own (``run.py``: a terminal's Ctrl-C is the run's to handle,
and the run stops the bot's whole process group), so a run that dies without stopping it,
killed by SIGKILL, left it running with the venue's key, calling the URLs the next run on
those ports would answer. The watchdog is a small process of its own, in a session of its
own, whose standard input is a pipe the run holds: the bot's process group's id is written
to it once the bot is started, and ``done`` once the run has stopped that group. The
kernel closes the run's end when the run ends, however it ends; the watchdog, reading to
that end, kills the group with SIGKILL unless it read ``done``.

``python -m tickerplant.bot.watchdog``: the process (``main``); ``Watchdog``: the run's side.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys

__all__ = ["Watchdog", "main"]

_DONE = b"done"


class Watchdog:
    """The run's side: started before the bot (so that no moment of the bot's is unwatched
    once its group is told), told the group, told ``done``."""

    def __init__(self) -> None:
        # its own session: no terminal's signal reaches it; the run's environment, not the
        # bot's (no libfaketime); no descriptor of the run's but the pipe's end it reads
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tickerplant.bot.watchdog"], stdin=subprocess.PIPE, start_new_session=True
        )

    def watch(self, group: int) -> None:
        """The bot's process group, to kill if the run ends without ``done``."""
        self._say(f"{group}\n".encode())

    def done(self) -> None:
        """The run stopped the bot's group itself: the watchdog ends without a kill."""
        self._say(_DONE + b"\n")
        stdin = self._process.stdin
        if stdin is not None:
            with contextlib.suppress(OSError):
                stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=5)

    def _say(self, line: bytes) -> None:
        stdin = self._process.stdin
        if stdin is None or stdin.closed:
            return
        with contextlib.suppress(OSError):  # it died: nothing to tell
            stdin.write(line)
            stdin.flush()


def main() -> None:
    """Read the pipe to its end; the group told and no ``done``: SIGKILL to the group."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # (its own session: belt and braces)
    lines = sys.stdin.buffer.read().split(b"\n")  # until the run closes it, or the kernel does
    told = lines[0].strip()
    if told.isdigit() and _DONE not in lines[1:]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(int(told), signal.SIGKILL)


if __name__ == "__main__":
    main()
