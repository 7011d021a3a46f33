"""The book-depth streams of one plant: diff depth and partial depth at their three speeds.

Spec §4.8, §4.9, §4.11, §4.14. Every symbol has one update-id sequence (the ids of its
``BookUpdate``s, which ``bookTicker.u`` also carries); each speed (250 ms, 500 ms, 100 ms)
keeps its own ``U``/``u``/``pu`` chain over it:

- a speed's event covers every id since its previous event: ``U`` = previous ``u`` + 1,
  ``u`` = the id of the last update applied, ``pu`` = previous ``u`` (gap-free, the simplest
  safe form §4.9's invariants name). So every id a snapshot can report lies in some event
  of every speed's chain, and a local book synced from any snapshot at any speed agrees;
- a speed pushes at its cadence only when its book moved (an id was applied since its
  previous event), never an empty event;
- diff depth (`<symbol>@depth[@500ms|@100ms]`) carries the levels changed since the
  speed's previous event, each with its absolute quantity now (0 when the level is gone);
- partial depth (`<symbol>@depth<5|10|20>[@…]`) carries the whole top N at the same push,
  with the same ``U``/``u``/``pu`` as that speed's diff event;
- `<symbol>@rpiDepth@500ms` (USDⓈ-M): the simulated books hold no RPI orders, so it is the
  500 ms diff event's bytes under its own name.

Why it is cheap: an update costs nothing here. The plant already gathers the prices each
batch touches (for the market view's internal diff); they join one set per side when the
batch ends (a C-level union), and that set is folded into each speed's set of changed
prices when a speed is due. A push reads the current quantities from the book, so a level
touched a hundred times in 100 ms is written once; price and quantity texts are looked up,
not formatted again. The top 20 of a book is encoded once per book id and sliced for 10
and 5, whatever number of speeds push it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from tickerplant.market import payloads
from tickerplant.market.book import OrderBook
from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.messages import PARTIAL_DEPTH_LEVELS, DepthStreams, StreamMessage
from tickerplant.market.units import fixed

__all__ = ["DEPTH_SPEEDS_MS", "BookDepth", "SymbolDepth", "json_array"]

DEPTH_SPEEDS_MS = (250, 500, 100)  # no suffix, @500ms, @100ms (§4.14)
_RPI_SPEED = 1  # the index of 500 ms, rpiDepth's only speed (§4.11)


class _Chain:
    """One speed's state for one symbol."""

    __slots__ = ("asks", "bids", "previous_id")

    def __init__(self, previous_id: int) -> None:
        self.bids: set[int] = set()  # prices changed since this chain's previous event
        self.asks: set[int] = set()
        self.previous_id = previous_id  # u of this chain's previous event


class SymbolDepth:
    """One symbol's chains, names, the encoded levels of its book and its top 20."""

    __slots__ = (
        "ask_json",
        "asks_touched",
        "bid_json",
        "bids_touched",
        "book",
        "chains",
        "inst",
        "names",
        "time_ms",
        "top",
        "top_id",
    )

    def __init__(self, inst: Instrument, book: OrderBook) -> None:
        self.inst = inst
        self.book = book
        self.names = DepthStreams(inst.symbol, DEPTH_SPEEDS_MS, rpi=inst.market is Market.UM)
        self.chains = [_Chain(book.last_update_id) for _ in DEPTH_SPEEDS_MS]
        # prices touched since the last push of any speed, folded into every chain then
        self.bids_touched: set[int] = set()
        self.asks_touched: set[int] = set()
        # per partial size (5, 10, 20): the top N bids and asks as JSON arrays
        self.top: list[tuple[msgspec.Raw, msgspec.Raw]] = []
        self.top_id = -1  # the book id ``top`` was taken at
        self.time_ms = 0  # transaction time of the last update folded in (`T`)
        # Each level's JSON (`["68005.00","2.214"]`) with the quantity it was written for:
        # the batch's internal diff writes a level once, and every speed's event that
        # carries the same level at the same quantity reuses the bytes. Bounded: cleared
        # when a side passes _LEVELS entries.
        self.bid_json: dict[int, tuple[int, bytes]] = {}
        self.ask_json: dict[int, tuple[int, bytes]] = {}

    def changed(self, bids: Iterable[int], asks: Iterable[int], time_ms: int) -> None:
        """Prices a batch touched: every chain will report their quantities at its push."""
        self.time_ms = time_ms
        self.bids_touched.update(bids)
        self.asks_touched.update(asks)

    def fold(self) -> None:
        bids, asks = self.bids_touched, self.asks_touched
        if bids or asks:
            for chain in self.chains:
                chain.bids |= bids
                chain.asks |= asks
            self.bids_touched = set()
            self.asks_touched = set()

    def levels(self, prices: Iterable[int], side: dict[int, int], is_bid: bool) -> list[bytes]:
        """The JSON of the levels at ``prices`` in the order given, each with the quantity
        resting in ``side`` now; a level gone is 0 at the symbol's quantity decimals
        ("0.000"), as Binance writes it (§4.9)."""
        written = self.bid_json if is_bid else self.ask_json
        if len(written) > _LEVELS:
            written.clear()
        get, seen = side.get, written.get
        out = []
        for price in prices:
            qty = get(price, 0)
            known = seen(price)
            if known is None or known[0] != qty:
                inst = self.inst
                text = f'["{fixed(price, inst.price_decimals)}","{fixed(qty, inst.qty_decimals)}"]'
                known = written[price] = (qty, text.encode())
            out.append(known[1])
        return out

    def top_levels(self) -> list[tuple[msgspec.Raw, msgspec.Raw]]:
        """The top 5, 10 and 20 of each side, best first, as JSON arrays; encoded once per
        book id, whichever speeds push it."""
        book = self.book
        if self.top_id != book.last_update_id:
            n = PARTIAL_DEPTH_LEVELS[-1]
            bids = self.levels(reversed(book.bid_prices[-n:]), book.bids, True)
            asks = self.levels(book.ask_prices[:n], book.asks, False)
            self.top = [(json_array(bids[:k]), json_array(asks[:k])) for k in PARTIAL_DEPTH_LEVELS]
            self.top_id = book.last_update_id
        return self.top


def json_array(levels: list[bytes]) -> msgspec.Raw:
    """Encoded levels as the JSON array an event's `b` or `a` holds."""
    return msgspec.Raw(b"[%s]" % b",".join(levels))


_LEVELS = 8192  # encoded levels kept per side before the cache is cleared


class BookDepth:
    """The depth streams of every symbol of one plant: ``changed`` as batches end,
    ``tick`` at the cadences (``next_tick_ms``)."""

    def __init__(self, symbols: Iterable[SymbolDepth], now_ms: int, encode: Callable[[Any], bytes]) -> None:
        self.symbols = list(symbols)
        self._encode = encode
        # each speed's next push, on multiples of its interval
        self._next_ms = [(now_ms // speed + 1) * speed for speed in DEPTH_SPEEDS_MS]
        self.next_tick_ms = min(self._next_ms)

    def start_here(self) -> None:
        """The books as they stand are where every chain starts: a source's initial books
        (the simulator's thousands of levels a side) are what a snapshot gives a client,
        not a first event of every level, which would cost every speed's push of every
        symbol at start and tell a synced client nothing."""
        for depth in self.symbols:
            depth.bids_touched = set()
            depth.asks_touched = set()
            for chain in depth.chains:
                chain.previous_id = depth.book.last_update_id
                chain.bids = set()
                chain.asks = set()

    def tick(self, now_ms: int, out: list[StreamMessage]) -> None:
        """Push every speed due at ``now_ms``, for every symbol whose book moved."""
        due = []
        for index, speed in enumerate(DEPTH_SPEEDS_MS):
            next_ms = self._next_ms[index]
            if now_ms >= next_ms:
                self._next_ms[index] = next_ms + ((now_ms - next_ms) // speed + 1) * speed
                due.append(index)
        self.next_tick_ms = min(self._next_ms)
        if not due:
            return
        encode = self._encode
        for depth in self.symbols:
            depth.fold()
            last_id = depth.book.last_update_id
            for index in due:
                chain = depth.chains[index]
                if chain.previous_id == last_id:
                    continue  # nothing applied since this speed's previous event
                self._push(depth, index, chain, last_id, now_ms, encode, out)

    def _push(
        self,
        depth: SymbolDepth,
        index: int,
        chain: _Chain,
        last_id: int,
        now_ms: int,
        encode: Callable[[Any], bytes],
        out: list[StreamMessage],
    ) -> None:
        inst, book, names, time_ms = depth.inst, depth.book, depth.names, depth.time_ms
        first_id, previous_id = chain.previous_id + 1, chain.previous_id
        diff = encode(
            payloads.depth_levels(
                inst, first_id, last_id, previous_id, time_ms, now_ms,
                json_array(depth.levels(sorted(chain.bids, reverse=True), book.bids, True)),
                json_array(depth.levels(sorted(chain.asks), book.asks, False)),
            )
        )  # fmt: skip
        out.append(StreamMessage(names.diff[index], diff))
        if index == _RPI_SPEED and names.rpi is not None:
            out.append(StreamMessage(names.rpi, diff))  # no RPI orders: the plain book (§4.11)
        for (top_bids, top_asks), name in zip(depth.top_levels(), names.partial[index], strict=True):
            partial = payloads.depth_levels(
                inst, first_id, last_id, previous_id, time_ms, now_ms, top_bids, top_asks
            )
            out.append(StreamMessage(name, encode(partial)))
        chain.previous_id = last_id
        chain.bids = set()
        chain.asks = set()
