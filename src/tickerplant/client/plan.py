"""Which connection carries which stream: a pure plan the shell acts on.

A market-stream connection carries at most 1024 streams (spec §2.5; the 1025th gets error
4 "Too many subscriptions" and then the connection is closed, losing all of them), so a
client with more streams spreads them over several connections. The plan answers "which
SUBSCRIBE goes where"; the shell opens a connection when an index first appears, sends the
names, and reconnects an index with ``streams_of(index)`` after a drop.

Indices are logical: a rollover or a reconnect keeps the index, and an index is never
reused after ``drop_connection``, so a late reply from a closed connection cannot be
mistaken for one from its successor.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["MAX_NAMES_PER_MESSAGE", "ConnectionPlan", "chunks"]

# Names per SUBSCRIBE: undocumented; 200 in one request were accepted (spec §2.5 [OBS]).
MAX_NAMES_PER_MESSAGE = 200


class ConnectionPlan:
    """Stream names assigned to connection indices, never more than the cap per index."""

    __slots__ = ("_by_connection", "_connection_of", "_next_index", "max_streams_per_connection")

    def __init__(self, max_streams_per_connection: int = 1024) -> None:
        if max_streams_per_connection < 1:
            raise ValueError("max_streams_per_connection must be at least 1")
        self.max_streams_per_connection = max_streams_per_connection
        # Dicts as ordered sets: streams_of lists names in subscription order.
        self._by_connection: dict[int, dict[str, None]] = {}
        self._connection_of: dict[str, int] = {}
        self._next_index = 0

    def add(self, names: Iterable[str]) -> dict[int, list[str]]:
        """Place the names not yet planned; returns connection index -> names to SUBSCRIBE.

        Existing connections with room fill first, lowest index first, then new indices
        open. Names are kept exactly as given (spec §3.4: the server stores them as sent).
        """
        fresh = [name for name in dict.fromkeys(names) if name not in self._connection_of]
        placed: dict[int, list[str]] = {}
        cap = self.max_streams_per_connection
        rooms = (index for index in sorted(self._by_connection) if len(self._by_connection[index]) < cap)
        taken = 0
        while taken < len(fresh):
            index = next(rooms, None)
            if index is None:
                index = self._next_index
                self._next_index += 1
                self._by_connection[index] = {}
            streams = self._by_connection[index]
            batch = fresh[taken : taken + cap - len(streams)]
            taken += len(batch)
            for name in batch:
                streams[name] = None
                self._connection_of[name] = index
            placed[index] = batch
        return placed

    def remove(self, names: Iterable[str]) -> dict[int, list[str]]:
        """Unplan the names; returns connection index -> names to UNSUBSCRIBE there.

        Unknown names are skipped. A connection left empty stays in the plan (the shell
        may close it with ``drop_connection``); later ``add`` calls fill it first.
        """
        removed: dict[int, list[str]] = {}
        for name in dict.fromkeys(names):
            index = self._connection_of.pop(name, None)
            if index is None:
                continue
            del self._by_connection[index][name]
            removed.setdefault(index, []).append(name)
        return removed

    def streams_of(self, index: int) -> list[str]:
        """The names connection ``index`` carries, in the order they were added; KeyError
        for an index not in the plan."""
        return list(self._by_connection[index])

    def connection_of(self, name: str) -> int | None:
        return self._connection_of.get(name)

    def connections(self) -> list[int]:
        """Every planned connection index, ascending."""
        return sorted(self._by_connection)

    def drop_connection(self, index: int) -> list[str]:
        """Forget connection ``index``; returns the names it carried, now unplanned."""
        names = list(self._by_connection.pop(index, {}))
        for name in names:
            del self._connection_of[name]
        return names

    def __len__(self) -> int:
        """How many names are planned in all."""
        return len(self._connection_of)


def chunks(names: Sequence[str], max_per_message: int = MAX_NAMES_PER_MESSAGE) -> list[list[str]]:
    """Split names into the ``params`` of successive SUBSCRIBE/UNSUBSCRIBE messages."""
    if max_per_message < 1:
        raise ValueError("max_per_message must be at least 1")
    return [list(names[start : start + max_per_message]) for start in range(0, len(names), max_per_message)]
