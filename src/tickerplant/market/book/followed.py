"""A book kept from somebody else's diff-depth stream and snapshots (spec §4.9), sans-I/O.

The sources that do not derive depth from a book of their own (the replay of a recording,
the relay of an upstream) follow one diff-depth stream per symbol and REST snapshots by
Binance's procedure (§4.9 steps 1–6), and tell the gateways' market views what the book
is through the same internal `<symbol>@depthDiff` stream the plant writes (integer
units), so a view needs no source-specific code and its book is always at the ``u`` of
the last diff event served: a snapshot it answers is never ahead of or behind the
streams (§4.9 invariants).

``DepthSync`` decides everything and returns the internal payloads to publish
(``FollowedBook`` is the same over the wire's bytes, as ``StreamMessage``s to publish):

- ``event(diff)``: a diff-depth event, in the order received; until synced it is buffered
  (at most ``max_buffered``, the oldest dropped: only the events from about when the
  snapshot is taken matter, and dropping older ones can only cost another snapshot), and
  ``wants_snapshot`` turns true;
- ``snapshot(snapshot)``: a REST depth answer; events with ``u < lastUpdateId`` are
  dropped, the first applied must have ``U <= L <= u`` (or ``pu == L``); a snapshot
  older than the buffer is dropped and another wanted; one ahead of every event waits;
- ``lost()``: the stream may have lost events (a reconnect): the book is dropped.

A ``pu`` that is not the previous ``u`` drops the book too (step 5) and wants a new
snapshot. While the book is not synced the views hold an empty book with id 0 (a
"snapshot" payload with no levels): no diff event can follow id 0, so a client's §4.9
procedure retries rather than sync against a book that is not there.

The views' payload is `{"T":…,"u":…,"b":[[price units, qty units],…],"a":[…]}`, plus
`"snapshot":true` when its levels are the whole book rather than a change (the plant's adds
`"n"`, ``BookMessage``).

Which stream a book follows: the fastest diff-depth stream of the symbol that is there
(`@depth@100ms`, then `@depth`, then `@depth@500ms`), ``book_streams``.

Bounds: the buffer holds at most ``max_buffered`` events (1,000; the relay's 100), and at
most one snapshot waits. The book holds the levels its upstream's snapshot and diffs leave
in it: bounded by the upstream's book, not here (a level a diff stream never removes, one
pushed out of the upstream's reported depth, stays until the next resync).
"""

from __future__ import annotations

import operator
from collections import deque
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import msgspec

from tickerplant.market.book.order_book import OrderBook
from tickerplant.market.book.procedure import Alignment, align
from tickerplant.market.instruments import Instrument
from tickerplant.market.messages import StreamMessage, SymbolStreams
from tickerplant.market.units import to_units

__all__ = [
    "BookMessage",
    "DepthSync",
    "Diff",
    "FollowedBook",
    "Snapshot",
    "book_streams",
    "read_diff",
    "read_snapshot",
]

# the diff-depth stream suffixes, fastest first (§4.9: 100 ms, 250 ms, 500 ms)
_DIFF_SUFFIXES = ("@depth@100ms", "@depth", "@depth@500ms")

Levels = list[tuple[int, int]]  # (price units, qty units)


class Diff(NamedTuple):
    """A diff-depth event, levels in units."""

    first_id: int  # U
    last_id: int  # u
    previous_id: int  # pu
    time_ms: int  # T
    bids: Levels
    asks: Levels


class Snapshot(NamedTuple):
    """A REST depth answer, levels in units."""

    last_id: int  # lastUpdateId
    time_ms: int  # T
    bids: Levels
    asks: Levels


class BookMessage(msgspec.Struct, frozen=True, omit_defaults=True):
    """The views' internal `@depthDiff` payload as the sources write it: these followed
    books, and the plant (``market/plant/plant.py``) for the books it keeps itself."""

    T: int
    u: int
    b: Levels
    a: Levels
    snapshot: bool = False  # the levels are the whole book; with u 0: no book
    # The id reserved for the book's next update (``BookUpdate.next_id``), which the views'
    # snapshots report as lastUpdateId (§4.9); 0: none (a followed book: its upstream's
    # next id is nobody's to know here), a snapshot reports u.
    n: int = 0


def book_streams(streams: Iterable[str]) -> dict[str, str]:
    """The stream each symbol's book follows among ``streams`` (names as received):
    stream name -> symbol (upper case)."""
    best: dict[str, tuple[int, str]] = {}
    for name in streams:
        symbol, at, suffix = name.partition("@")
        if not at:
            continue
        try:
            rank = _DIFF_SUFFIXES.index("@" + suffix)
        except ValueError:
            continue
        held = best.get(symbol.upper())
        if held is None or rank < held[0]:
            best[symbol.upper()] = (rank, name)
    return {name: symbol for symbol, (_, name) in best.items()}


# -- reading the decimal payloads ---------------------------------------------------------------


class _DiffText(msgspec.Struct):
    T: int
    U: int
    u: int
    pu: int
    b: list[tuple[str, str]]
    a: list[tuple[str, str]]


class _SnapshotText(msgspec.Struct):
    lastUpdateId: int  # the wire's name
    bids: list[tuple[str, str]]
    asks: list[tuple[str, str]]
    T: int = 0


_diff_text = msgspec.json.Decoder(_DiffText)
_snapshot_text = msgspec.json.Decoder(_SnapshotText)


def _units(levels: Sequence[tuple[str, str]], inst: Instrument) -> Levels:
    pd, qd = inst.price_decimals, inst.qty_decimals
    return [(to_units(price, pd), to_units(qty, qd)) for price, qty in levels]


def read_diff(payload: bytes, inst: Instrument) -> Diff:
    """A depthUpdate payload in ``inst``'s units; ``ValueError`` (``msgspec.DecodeError``
    is one) if it is not one or has finer digits than ``inst``."""
    d = _diff_text.decode(payload)
    return Diff(d.U, d.u, d.pu, d.T, _units(d.b, inst), _units(d.a, inst))


def read_snapshot(body: bytes, inst: Instrument) -> Snapshot:
    """A REST depth answer (§7.4) in ``inst``'s units; ``ValueError`` as ``read_diff``."""
    s = _snapshot_text.decode(body)
    return Snapshot(s.lastUpdateId, s.T, _units(s.bids, inst), _units(s.asks, inst))


# -- the procedure ------------------------------------------------------------------------------

_encode = msgspec.json.Encoder().encode
_NO_BOOK = _encode(BookMessage(0, 0, [], [], True))


_DIFF_IDS = operator.itemgetter(0, 1, 2)  # a Diff's (U, u, pu)


class DepthSync:
    """One symbol's book, followed by §4.9; see the module docstring."""

    def __init__(self, *, max_buffered: int = 1_000) -> None:
        self.book = OrderBook()  # while synced, at ``book.last_update_id``
        self.synced = False
        self.wants_snapshot = False  # fetch one now (an event is buffered, none held)
        self.resyncs = 0  # synced books dropped (a ``pu`` break, a loss)
        self.time_ms = 0  # T of the last event applied
        self._buffer: deque[Diff] = deque(maxlen=max_buffered)
        self._held: Snapshot | None = None  # ahead of every event so far: waits for one
        self._announced = False  # the views were told a book is kept (``_NO_BOOK``)

    def event(self, diff: Diff) -> list[bytes]:
        if not self.synced:
            buffer = self._buffer
            if buffer and diff.last_id <= buffer[-1].last_id:
                return []  # a duplicate
            buffer.append(diff)
            if self._held is not None:
                out = self._try_sync()
            else:
                self.wants_snapshot = True
                out = []
            if not self._announced:
                # From the first event on, the views know this symbol's book is kept here
                # and answer "no book" until it is synced, not the top of book.
                self._announced = True
                return out or [_NO_BOOK]
            return out
        book = self.book
        if diff.last_id <= book.last_update_id:
            return []  # a duplicate: the book holds it already
        if diff.previous_id != book.last_update_id:  # step 5: the chain broke
            self._drop()
            self._buffer.append(diff)
            self.wants_snapshot = True
            return [_NO_BOOK]
        return [self._apply(diff)]

    def snapshot(self, snapshot: Snapshot) -> list[bytes]:
        if self.synced:
            return []  # a fetch that raced a sync: nothing to do
        self._held = snapshot
        self.wants_snapshot = False
        return self._try_sync()

    def lost(self) -> list[bytes]:
        """The stream may have lost events: drop the book; the next event wants a snapshot."""
        was = self.synced
        self._drop()
        self.wants_snapshot = False
        return [_NO_BOOK] if was else []

    def full(self) -> bytes:
        """The whole book as one payload (id 0 and no levels while not synced): what a
        view that joins late needs."""
        if not self.synced:
            return _NO_BOOK
        book = self.book
        bids = [(p, book.bids[p]) for p in reversed(book.bid_prices)]
        asks = [(p, book.asks[p]) for p in book.ask_prices]
        return _encode(BookMessage(self.time_ms, book.last_update_id, bids, asks, True))

    def _drop(self) -> None:
        if self.synced:
            self.resyncs += 1
        self.synced = False
        self.book.clear()
        self.book.last_update_id = 0
        self._buffer.clear()
        self._held = None

    def _try_sync(self) -> list[bytes]:
        snapshot = self._held
        assert snapshot is not None
        last = snapshot.last_id
        buffer = self._buffer
        alignment = align(buffer, last, _DIFF_IDS)  # steps 3 and 4
        if alignment is Alignment.WAIT:
            return []  # ahead of every event so far: wait for one that reaches it
        if alignment is Alignment.TOO_OLD:
            self._held = None
            self.wants_snapshot = True
            return []
        self._held = None
        book = self.book
        book.clear()
        set_level = book.set_level
        for price, qty in snapshot.bids:
            set_level(True, price, qty)
        for price, qty in snapshot.asks:
            set_level(False, price, qty)
        book.last_update_id = last
        self.time_ms = snapshot.time_ms
        self.synced = True
        out = [_encode(BookMessage(snapshot.time_ms, last, snapshot.bids, snapshot.asks, True))]
        out.append(self._apply(buffer.popleft()))  # steps 3 and 4 hold for it
        while buffer:
            diff = buffer.popleft()
            if diff.last_id <= book.last_update_id:
                continue  # reaches no further than the book
            if diff.previous_id != book.last_update_id:
                # A break inside the buffer (step 5): the book is wrong from here on; the
                # breaking event starts the buffer again.
                rest = [diff, *buffer]
                self.synced = False  # never told to the views as synced: no resync either
                self._drop()
                self._buffer.extend(rest)
                self.wants_snapshot = True
                return [_NO_BOOK]
            out.append(self._apply(diff))
        return out

    def _apply(self, diff: Diff) -> bytes:
        # Step 6: absolute quantities; 0 removes the level, also one the book lacks.
        set_level = self.book.set_level
        for price, qty in diff.bids:
            set_level(True, price, qty)
        for price, qty in diff.asks:
            set_level(False, price, qty)
        self.book.last_update_id = diff.last_id
        self.time_ms = diff.time_ms
        return _encode(BookMessage(diff.time_ms, diff.last_id, diff.bids, diff.asks))


class FollowedBook:
    """A ``DepthSync`` of one instrument fed the wire's bytes: the diff-depth payloads of
    its book stream and REST depth answers. Returns what to publish on the bus (the
    views' `@depthDiff`). A payload it cannot read (finer digits than the instrument's, not
    a depth event) drops the book like a loss, since the chain can no longer be trusted;
    ``unreadable`` counts them."""

    __slots__ = ("inst", "stream", "sync", "unreadable")

    def __init__(self, inst: Instrument, *, max_buffered: int = 1_000) -> None:
        self.inst = inst
        self.stream = SymbolStreams(inst.symbol).depth
        self.sync = DepthSync(max_buffered=max_buffered)
        self.unreadable = 0

    @property
    def wants_snapshot(self) -> bool:
        return self.sync.wants_snapshot

    def event(self, payload: bytes) -> list[StreamMessage]:
        try:
            diff = read_diff(payload, self.inst)
        except ValueError:
            self.unreadable += 1
            return self._messages(self.sync.lost())
        return self._messages(self.sync.event(diff))

    def snapshot(self, body: bytes) -> list[StreamMessage]:
        """A REST depth answer; one that cannot be read is counted and changes nothing."""
        try:
            snapshot = read_snapshot(body, self.inst)
        except ValueError:
            self.unreadable += 1
            return []
        return self._messages(self.sync.snapshot(snapshot))

    def lost(self) -> list[StreamMessage]:
        return self._messages(self.sync.lost())

    def full(self) -> StreamMessage:
        return StreamMessage(self.stream, self.sync.full())

    def _messages(self, payloads: list[bytes]) -> list[StreamMessage]:
        stream = self.stream
        return [StreamMessage(stream, payload) for payload in payloads]
