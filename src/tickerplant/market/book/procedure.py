"""Binance's procedure for syncing a local book to a snapshot (spec §4.9, steps 3 and 4),
the one decision that both of tickerplant's book followers make: the server's
(``market/book/followed.py``, for the replay and the relay) and the client's
(``client/orderbook.py`` ``LocalBook``). Each holds its own event type, so the events'
ids are read through a function: ``(U, u, pu)``.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable
from typing import TypeVar

__all__ = ["Alignment", "align"]

E = TypeVar("E")


class Alignment(enum.Enum):
    ALIGNED = "the first buffered event continues the snapshot"
    WAIT = "the snapshot is ahead of every buffered event"
    TOO_OLD = "the snapshot is older than the buffered stream"


def align(buffer: deque[E], snapshot_id: int, ids: Callable[[E], tuple[int, int, int]]) -> Alignment:
    """Drop the buffered events a snapshot with id ``snapshot_id`` (L) already holds and
    say whether the first one left can be applied to it.

    Step 3: events with ``u < L`` are dropped. Step 4: the first event applied must have
    ``U <= L <= u``; ``pu == L`` is accepted too (ccxt's variant: the event follows
    straight on the snapshot's id, so it is as exact). With no event left, the snapshot
    waits for one that reaches it; with the first starting past L, it is too old.
    """
    while buffer and ids(buffer[0])[1] < snapshot_id:  # step 3
        buffer.popleft()
    if not buffer:
        return Alignment.WAIT
    first_id, _, previous_id = ids(buffer[0])
    if first_id <= snapshot_id or previous_id == snapshot_id:  # step 4
        return Alignment.ALIGNED
    return Alignment.TOO_OLD
