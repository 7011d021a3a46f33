"""The journal's checkpointer process (``venue/journal/checkpointer.py``):
``python -S -m tickerplant.journal_checkpointer PATH``, which ``venue_checkpoints.py``
starts. Its one real-time wait comes from the clock (``clock.block_for``)."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from tickerplant.clock import block_for
from tickerplant.venue.journal.checkpointer import WHOLE_WAIT_S, serve

__all__ = ["main"]


def main() -> None:
    serve(Path(sys.argv[1]), sys.stdin, sys.stdout, functools.partial(block_for, WHOLE_WAIT_S))


if __name__ == "__main__":
    main()
