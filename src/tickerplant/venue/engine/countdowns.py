"""``POST …/v1/countdownCancelAll`` (trading spec part 2 §6.7), without I/O: each account's
countdown per symbol; when one runs out before the next call, the account's open orders on
that symbol are cancelled. ``countdownTime`` ``0`` stops it. Time is an argument; the shell
(``gateway/countdowns.py``) runs ``due`` when the earliest deadline comes, and journals the
deadlines, which a restart gives back (``restore``).

Bounded: one deadline per account and symbol, gone once it fires or is stopped.
"""

from __future__ import annotations

import heapq

__all__ = ["LATEST_MS", "Countdowns"]

LATEST_MS = 2**63 - 1  # the latest deadline: SQLite's largest INTEGER (some 292 million years)


class Countdowns:
    def __init__(self) -> None:
        self._deadlines: dict[tuple[int, str], int] = {}  # (account, symbol) -> when, ms
        self._heap: list[tuple[int, int, str]] = []  # (when, account, symbol), stale entries skipped

    def __len__(self) -> int:
        return len(self._deadlines)

    def set(self, account_id: int, symbol: str, countdown_ms: int, now_ms: int) -> int:
        """Replace the symbol's countdown; ``0`` stops it. Its deadline (0: stopped), at most
        ``LATEST_MS``: a LONG ``countdownTime`` of up to 2⁶³ − 1 is taken (part 2 §6.7), and
        the journal keeps the deadline in SQLite's INTEGER."""
        if countdown_ms <= 0:
            self._deadlines.pop((account_id, symbol), None)
            return 0
        when = self._deadlines[(account_id, symbol)] = min(now_ms + countdown_ms, LATEST_MS)
        heapq.heappush(self._heap, (when, account_id, symbol))
        if len(self._heap) > 4 * len(self._deadlines) + 64:  # called often: drop the stale
            self._heap = [(w, a, s) for (a, s), w in self._deadlines.items()]
            heapq.heapify(self._heap)
        return when

    def restore(self, account_id: int, symbol: str, deadline_ms: int) -> None:
        """A countdown the journal held (``gateway/countdowns.py``), its deadline as it was,
        passed or not: one that passed runs out at the next ``due``."""
        self._deadlines[(account_id, symbol)] = deadline_ms
        heapq.heappush(self._heap, (deadline_ms, account_id, symbol))

    def next_due_ms(self) -> int | None:
        heap, deadlines = self._heap, self._deadlines
        while heap and deadlines.get((heap[0][1], heap[0][2])) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def due(self, now_ms: int) -> list[tuple[int, str]]:
        """The (account, symbol) countdowns that ran out, each named once."""
        ran_out = []
        while (when := self.next_due_ms()) is not None and when <= now_ms:
            _, account_id, symbol = heapq.heappop(self._heap)
            del self._deadlines[(account_id, symbol)]
            ran_out.append((account_id, symbol))
        return ran_out
