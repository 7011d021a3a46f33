"""The server's unsent bytes, summed over every WebSocket connection of the process, and
which connections to cut when the sum passes its bound.

Each connection's unsent bytes are bounded (``send_buffer_bytes``, 8 MiB): a client that
reads nothing is cut off once it holds that much. A thousand such clients, each under the
bound, held 2.4 GB between them and stalled the healthy ones: the per-connection bound does
not bound the server. This one does: a connection reports what it holds unsent (its
transport's buffer and the frames it holds while the transport is busy) after each write
(only while it holds something, or held something at its last report: a client that keeps
up costs nothing), and when the sum passes ``limit`` the connections
holding the most are named to be shed, largest first, until the sum is back under
``RELIEF`` of the limit (so that one more write does not shed again at once).

A shed connection is aborted at once (its buffer dropped with the transport, no close
frame: the memory is wanted now, and a client that reads nothing would never take the frame
anyway), connections already closing included: they hold their bytes until they go.

What a connection reports is its figure when it last wrote: a client that reads
meanwhile holds less than reported, never more; the sum is an upper bound. Frames that
subscribers of the same stream share are counted once per connection holding them: the
bound is on what the connections hold, which the memory holds at most once.

Sans-I/O: connections are opaque keys; the caller sheds the ones returned.
"""

from __future__ import annotations

import os
from collections.abc import Hashable
from operator import itemgetter

__all__ = ["RELIEF", "SendBudget", "machine_default", "machine_memory"]

RELIEF = 0.9  # shed down to this share of the limit
_MOST = 2 * 1024**3  # the default's ceiling: 2 GiB


def machine_memory() -> int | None:
    """The machine's memory in bytes; None where it cannot be read."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def machine_default() -> int:
    """The default bound: a quarter of the machine's memory, at most 2 GiB (256 MiB where
    the memory cannot be read)."""
    memory = machine_memory()
    return 256 * 1024**2 if memory is None else int(min(memory // 4, _MOST))


class SendBudget:
    __slots__ = ("_held", "limit", "shed", "total")

    def __init__(self, limit: int) -> None:
        if limit <= 0:
            raise ValueError("the bound must be positive")
        self.limit = limit
        self._held: dict[Hashable, int] = {}  # connection -> unsent bytes at its last report
        self.total = 0  # their sum
        self.shed = 0  # connections named to be shed, ever

    def __len__(self) -> int:
        """Connections holding unsent bytes, as last reported."""
        return len(self._held)

    def report(self, connection: Hashable, unsent: int) -> list[Hashable]:
        """``connection`` holds ``unsent`` bytes now. Returns the connections to shed (it may
        be one of them), already forgotten: empty unless the sum passed the limit."""
        held = self._held
        before = held.pop(connection, 0)
        if unsent > 0:
            held[connection] = unsent
        self.total += unsent - before
        if self.total <= self.limit:
            return []
        target = self.limit * RELIEF
        chosen: list[Hashable] = []
        for holder, size in sorted(held.items(), key=itemgetter(1), reverse=True):
            if self.total <= target:
                break
            chosen.append(holder)
            self.total -= size
            del held[holder]
        self.shed += len(chosen)
        return chosen

    def forget(self, connection: Hashable) -> None:
        """``connection`` is gone: what it held is released."""
        self.total -= self._held.pop(connection, 0)
