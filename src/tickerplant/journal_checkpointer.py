"""The journal's checkpointer process (``venue/journal/checkpointer.py``):
``python -S -m tickerplant.journal_checkpointer PATH``, which ``venue_checkpoints.py``
starts. Its one real-time wait comes from the clock (``clock.block_for``).

It ignores SIGINT: a Ctrl-C at a terminal reaches every process of the foreground group, this
one with the server, and the server ends it as it ends (it closes the pipe: end of input), a
checkpoint it asked for finished, not cut short by a ``KeyboardInterrupt`` and its traceback.
A server killed between a request and its answer leaves the answer a closed pipe: it ends
quietly then too."""

from __future__ import annotations

import functools
import os
import signal
import sys
from pathlib import Path

from tickerplant.clock import block_for
from tickerplant.venue.journal.checkpointer import WHOLE_WAIT_S, serve

__all__ = ["main"]


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        serve(Path(sys.argv[1]), sys.stdin, sys.stdout, functools.partial(block_for, WHOLE_WAIT_S))
    except BrokenPipeError:  # its server is gone (killed): no one to answer, nothing to say
        # (its answers' buffer, flushed again at the exit, would meet the closed pipe too)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":
    main()
