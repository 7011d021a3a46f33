"""When a recorder fetches a depth snapshot, sans-I/O.

A replay keeps each symbol's book from a recorded REST snapshot and the recorded diff
events after it (``market/book/followed.py``, spec §4.9), so the recorder fetches one where
a book could not otherwise be known: when the symbol's diff-depth stream starts
delivering (§4.9 step 2: after the first event is buffered), after a loss on it (a
reconnect, the client falling behind), and after a ``pu`` that is not the previous
``u`` (step 5). A snapshot older than the first event since then (step 4 would refuse
it) is recorded anyway and another fetched. One book stream per symbol: the fastest
diff-depth stream recorded (``book_streams``).

``SnapshotPlan`` reads only ``U``/``u``/``pu`` of the events of those streams and says
which symbol to fetch; the recorder's shell fetches and writes.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from tickerplant.market.book.followed import book_streams

__all__ = ["SNAPSHOT_LIMIT", "SnapshotPlan"]

SNAPSHOT_LIMIT = 1000  # Binance's recipe (§4.9 step 2): the deepest snapshot REST gives


class _Ids(msgspec.Struct):
    U: int
    u: int
    pu: int


class _SnapshotId(msgspec.Struct):
    lastUpdateId: int  # the wire's name


_ids = msgspec.json.Decoder(_Ids)
_snapshot_id = msgspec.json.Decoder(_SnapshotId)


class _Chain:
    __slots__ = ("fetching", "first", "last")

    def __init__(self) -> None:
        self.last: int | None = None  # u of the last event; None: none since a loss
        self.first: _Ids | None = None  # the first event since the start, a loss or a break
        self.fetching = False  # a snapshot is being fetched, or is due


class SnapshotPlan:
    """Which symbols' snapshots to fetch, from the recorded streams (names as subscribed)."""

    def __init__(self, streams: Iterable[str]) -> None:
        # stream name as received (lower case, §3.4) -> symbol
        self.symbols = {name.lower(): symbol for name, symbol in book_streams(streams).items()}
        self._chains = {symbol: _Chain() for symbol in self.symbols.values()}

    def event(self, stream: str, data: bytes) -> str | None:
        """A message of ``stream`` was recorded: the symbol to fetch a snapshot of now, if any."""
        symbol = self.symbols.get(stream)
        if symbol is None:
            return None
        try:
            ids = _ids.decode(data)
        except msgspec.DecodeError:
            return None  # not a diff event (an error frame): nothing to follow
        chain = self._chains[symbol]
        broken = chain.last is not None and ids.pu != chain.last
        fresh = chain.last is None or broken
        chain.last = ids.u
        if not fresh:
            return None
        chain.first = ids
        if chain.fetching:
            return None  # the fetch under way is checked against this event when it lands
        chain.fetching = True
        return symbol

    def lost(self, streams: Iterable[str]) -> None:
        """Those streams may have lost messages: their next event wants a snapshot."""
        for stream in streams:
            symbol = self.symbols.get(stream.lower())
            if symbol is not None:
                self._chains[symbol].last = None

    def fetched(self, symbol: str, body: bytes | None) -> bool:
        """A fetch ended (``body`` None: it failed): whether to fetch again."""
        chain = self._chains[symbol]
        first = chain.first
        again = body is None or first is None
        if not again and body is not None and first is not None:
            try:
                last = _snapshot_id.decode(body).lastUpdateId
            except msgspec.DecodeError:
                again = True
            else:
                again = last < first.U and last != first.pu  # older than the stream (step 4)
        chain.fetching = again
        return again
