"""A local order book kept from a diff-depth stream and REST snapshots, sans-I/O.

``LocalBook`` is the client's copy of one symbol's book, kept by Binance's documented
procedure (spec §4.9, steps 1–6). It is not ``market.book.OrderBook``, the server's
price-level book in integer units: this one holds exact ``Decimal`` prices as received
and knows only what a subscriber can know, hence the different name.

The shell feeds it three things and does what it says; it never does I/O itself:

- ``event(update)``: a ``depthUpdate`` of the diff stream (``<symbol>@depth[@…]``);
- ``snapshot(snapshot)``: a ``GET /fapi/v1/depth`` (``/dapi/v1/depth``) answer (§7.4);
- ``connection_lost(reason)``: the stream lost data (a ``Gap`` item, a reconnect).

Each returns what the user sees: a ``BookUpdate`` when the book changed in sync, a
``BookResync`` when it was dropped and must be rebuilt. ``wants_snapshot`` says when the
shell should fetch a snapshot.

The procedure, as kept here:

1. Until synced, events are buffered (at most ``max_buffered``; the oldest go first,
   which can only make a snapshot too old and cost another one).
2. A snapshot is asked for once an event is buffered, so that it is taken after the
   stream started (§4.9 step 2); its id is ``lastUpdateId`` (L).
3. Buffered events with ``u < L`` are dropped.
4. The first event applied must have ``U <= L <= u``; ``pu == L`` is accepted too
   (ccxt's variant: the event follows straight on the snapshot's id, so it is as exact).
   If the first remaining event starts after L, the snapshot is too old: another is
   asked for and the buffer kept. If no buffered event reaches L yet, the snapshot waits
   for one.
5. From then on each event's ``pu`` must be the previous event's ``u``; otherwise the
   book is dropped (a ``BookResync``), the breaking event starts a new buffer, and a new
   snapshot is asked for. An event with ``u`` at or below the book's id is a duplicate
   and ignored: everything it says is already in the book.
6. Quantities are absolute; zero deletes the level, also one the book does not hold.

Memory: the levels the server sends (a 1,000-level snapshot plus whatever diffs add)
and at most ``max_buffered`` events while unsynced.
"""

from __future__ import annotations

import bisect
import enum
import operator
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeAlias

import msgspec

from tickerplant.market.book.procedure import Alignment, align
from tickerplant.market.payloads.events import DepthUpdate

__all__ = [
    "BookItem",
    "BookResync",
    "BookUpdate",
    "DepthSnapshot",
    "Level",
    "LocalBook",
    "ResyncReason",
]

Level: TypeAlias = tuple[Decimal, Decimal]  # (price, quantity)


class DepthSnapshot(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    rename={"last_update_id": "lastUpdateId", "event_time": "E", "transaction_time": "T"},
):
    """The body of ``GET /fapi/v1/depth`` and ``/dapi/v1/depth`` (§7.4), and the
    WebSocket API ``depth`` result (§6.1)."""

    last_update_id: int  # lastUpdateId: the book's id, from the depth streams' sequence
    symbol: str | None = None  # symbol: COIN-M only
    pair: str | None = None  # pair: COIN-M only
    event_time: int | None = None  # E: message output time, ms
    transaction_time: int | None = None  # T: transaction time, ms
    bids: list[tuple[Decimal, Decimal]]  # (price, qty), best (highest) first
    asks: list[tuple[Decimal, Decimal]]  # (price, qty), best (lowest) first


class ResyncReason(enum.StrEnum):
    CHAIN_BROKEN = "pu is not the u of the last applied event (spec §4.9 step 5)"
    STREAM_LOST = "the stream lost data (a gap or a reconnect)"


@dataclass(frozen=True, slots=True)
class BookUpdate:
    """The book changed and is in sync at ``update_id``."""

    symbol: str
    update_id: int  # the book's id now: the u of the last applied event
    event_time: int  # E of the last applied event, ms
    snapshot_id: int | None = None  # set when this update (re)built the book from a snapshot


@dataclass(frozen=True, slots=True)
class BookResync:
    """The book was dropped and is being rebuilt from a new snapshot."""

    symbol: str
    reason: ResyncReason
    at_update_id: int | None  # the id the book was last in sync at; None if never synced


BookItem: TypeAlias = BookUpdate | BookResync


class _Side:
    """One side's levels: a dict by price and the prices kept sorted ascending."""

    __slots__ = ("prices", "qty")

    def __init__(self) -> None:
        self.qty: dict[Decimal, Decimal] = {}
        self.prices: list[Decimal] = []

    def set(self, price: Decimal, qty: Decimal) -> None:
        held = self.qty
        if not qty:
            if held.pop(price, None) is not None:
                del self.prices[bisect.bisect_left(self.prices, price)]
            return  # removing an absent level is normal (§4.9 step 6)
        if price not in held:
            bisect.insort(self.prices, price)
        held[price] = qty

    def replace(self, levels: Iterable[tuple[Decimal, Decimal]]) -> None:
        self.qty = {price: qty for price, qty in levels if qty}
        self.prices = sorted(self.qty)

    def clear(self) -> None:
        self.qty = {}
        self.prices = []


# a depth update's (U, u, pu), for the shared steps 3 and 4 (market/book/procedure.py)
_UPDATE_IDS = operator.attrgetter("first_update_id", "final_update_id", "previous_final_update_id")


class LocalBook:
    """One symbol's book, kept by spec §4.9; see the module docstring."""

    def __init__(self, symbol: str, *, max_buffered: int = 10_000) -> None:
        self.symbol = symbol
        self.update_id: int | None = None  # the book's id while synced, else None
        self.resyncs = 0  # how many times a synced book was dropped
        self._bids = _Side()
        self._asks = _Side()
        self._buffer: deque[DepthUpdate[Decimal]] = deque(maxlen=max_buffered)
        self._snapshot: DepthSnapshot | None = None  # held until an event reaches its id
        self._asking = False  # a snapshot is wanted (the shell fetches it)

    # -- what the user reads ------------------------------------------------------------

    @property
    def synced(self) -> bool:
        return self.update_id is not None

    @property
    def wants_snapshot(self) -> bool:
        """Fetch a snapshot now: the book is not synced, an event is buffered (§4.9 step
        2 comes after step 1) and no snapshot is held that may still sync."""
        return self._asking

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def best_bid(self) -> Level | None:
        prices = self._bids.prices
        return (prices[-1], self._bids.qty[prices[-1]]) if prices else None

    def best_ask(self) -> Level | None:
        prices = self._asks.prices
        return (prices[0], self._asks.qty[prices[0]]) if prices else None

    def bids(self, depth: int | None = None) -> list[Level]:
        """The top ``depth`` bids (all by default), best (highest) first."""
        prices = self._bids.prices
        count = len(prices) if depth is None else max(0, min(depth, len(prices)))
        qty = self._bids.qty
        return [(price, qty[price]) for price in reversed(prices[len(prices) - count :])]

    def asks(self, depth: int | None = None) -> list[Level]:
        """The top ``depth`` asks (all by default), best (lowest) first."""
        prices = self._asks.prices if depth is None else self._asks.prices[: max(depth, 0)]
        qty = self._asks.qty
        return [(price, qty[price]) for price in prices]

    # -- what the shell feeds -----------------------------------------------------------

    def event(self, update: DepthUpdate[Decimal]) -> list[BookItem]:
        """A diff-depth event of this symbol's stream, in the order received."""
        if self.update_id is None:
            buffer = self._buffer
            if buffer and update.final_update_id <= buffer[-1].final_update_id:
                return []  # a duplicate of a buffered event
            buffer.append(update)
            if self._snapshot is not None:
                return self._try_sync()
            self._asking = True
            return []
        if update.final_update_id <= self.update_id:
            return []  # a duplicate: all it says is in the book already
        if update.previous_final_update_id != self.update_id:
            return self._drop(ResyncReason.CHAIN_BROKEN, restart_from=update)
        self._apply(update)
        return [BookUpdate(self.symbol, update.final_update_id, update.event_time)]

    def snapshot(self, snapshot: DepthSnapshot) -> list[BookItem]:
        """A REST (or WebSocket API) depth snapshot of this symbol."""
        if self.update_id is not None:
            return []  # already synced (a fetch that raced a sync): nothing to do
        self._snapshot = snapshot
        self._asking = False
        return self._try_sync()

    def connection_lost(self, reason: ResyncReason = ResyncReason.STREAM_LOST) -> list[BookItem]:
        """The stream may have lost events: drop the book and what is buffered."""
        if self.update_id is None:
            self._buffer.clear()
            self._snapshot = None
            self._asking = False  # asked again once the stream delivers again
            return []
        return self._drop(reason, restart_from=None)

    # -- the procedure ------------------------------------------------------------------

    def _drop(self, reason: ResyncReason, restart_from: DepthUpdate[Decimal] | None) -> list[BookItem]:
        at = self.update_id
        self.update_id = None
        self.resyncs += 1
        self._bids.clear()
        self._asks.clear()
        self._buffer.clear()
        self._snapshot = None
        self._asking = restart_from is not None
        if restart_from is not None:
            self._buffer.append(restart_from)  # the stream since the break (step 5: restart)
        return [BookResync(self.symbol, reason, at)]

    def _try_sync(self) -> list[BookItem]:
        snapshot = self._snapshot
        assert snapshot is not None
        last = snapshot.last_update_id
        buffer = self._buffer
        alignment = align(buffer, last, _UPDATE_IDS)  # steps 3 and 4
        if alignment is Alignment.WAIT:
            return []  # the snapshot is ahead of every event so far: wait for one
        if alignment is Alignment.TOO_OLD:
            self._snapshot = None  # taken before the buffered stream
            self._asking = True
            return []
        self._snapshot = None
        self._bids.replace(snapshot.bids)
        self._asks.replace(snapshot.asks)
        applied = buffer.popleft()  # steps 3 and 4 hold for it
        self._apply(applied)
        while buffer:
            update = buffer.popleft()
            if update.final_update_id <= applied.final_update_id:
                continue  # reaches no further than the book: a duplicate
            if update.previous_final_update_id != applied.final_update_id:
                # A break inside the buffer (step 5): the book is wrong from here on; the
                # breaking event starts the buffer again.
                self.update_id = None
                self._bids.clear()
                self._asks.clear()
                buffer.appendleft(update)
                self._asking = True
                return []
            self._apply(update)
            applied = update
        return [BookUpdate(self.symbol, applied.final_update_id, applied.event_time, last)]

    def _apply(self, update: DepthUpdate[Decimal]) -> None:
        # Step 6: absolute quantities; "0" removes the level.
        bids, asks = self._bids, self._asks
        for price, qty in update.bids:
            bids.set(price, qty)
        for price, qty in update.asks:
            asks.set(price, qty)
        self.update_id = update.final_update_id
