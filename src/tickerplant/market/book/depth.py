"""The book-depth streams of one plant: diff depth and partial depth at their speeds.

Spec §4.8, §4.9, §4.11, §4.14. Every symbol has one update-id sequence (the ids of its
``BookUpdate``s, which ``bookTicker.u`` also carries), with ids skipped between updates
(the simulator's hidden ones: Binance's live chains skip ids too, §4.9); each speed
(250 ms, 500 ms, 100 ms, and real time) keeps its own ``U``/``u``/``pu`` chain over it:

- a speed's event covers every id after its previous event's: ``pu`` = previous ``u``,
  ``U`` = the id the source reserved for the update after that one (``BookUpdate.next_id``,
  the book's ``next_update_id`` when the speed last pushed: the first update the event
  holds has that id or a later one), ``u`` = the id of the last update applied. So
  ``U`` > ``pu`` always, and ``U`` > ``pu`` + 1 whenever ids were hidden before the
  event's first update, as in Binance's chains; a client that expects spot's
  ``U`` = previous ``u`` + 1, or refuses a gap, fails here as it would there;
- a snapshot reports the reservation of its book as ``lastUpdateId`` (the book's
  ``next_update_id``, ``protocol/market_data.py``): the id of the update after the last one
  it holds. Step 3 drops every event before that update, all held by the snapshot; the
  first event of each speed left holds that update, so its ``u`` is at or past the id, and
  its ``U`` is the reservation made when the speed last pushed, no later than the
  snapshot's: ``U <= lastUpdateId <= u``. Binance's procedure as written (§4.9 step 4)
  syncs from any moment, a quiet one included (nothing moved since a speed's last push:
  the snapshot's id is past that push's ``u``, and the next event starts at it), not only
  ccxt's variant (``pu == lastUpdateId``);
- a speed pushes at its cadence only when its book moved (an id was applied since its
  previous event), never an empty event;
- real time, `<symbol>@depth@0ms` and `<symbol>@depth<N>@0ms` (undocumented today, served
  by fstream: Binance's change log added `@depth@0ms` on 2020-01-06 and named the partial
  `@depth<N>@0ms` on 2020-11-13, "dynamically adjusted according to the total amount of data
  traffic"), pushes at the end of every batch of updates that moved the book (``realtime``):
  the prices that batch touched. COIN-M's are not documented at all; it serves the same;
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
touched a hundred times in 100 ms is written once, and a level's text is looked up, not
formatted again, while it holds the quantity it was written for. An event is assembled
from bytes, not encoded: the symbol's ``builders.DepthFrame`` gives its head for the ids
and times, and the diff and the partials of one push share it. The top 20 of each side is
written once and sliced for 10 and 5, whatever number of speeds push it, and written again
only when a change reached it: in a book a thousand levels deep most changes do not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from tickerplant.market.book.order_book import OrderBook, settle_table
from tickerplant.market.demand import Demand
from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.messages import PARTIAL_DEPTH_LEVELS, DepthStreams, StreamMessage
from tickerplant.market.payloads import builders
from tickerplant.market.units import fixed, fixed_format

__all__ = ["DEPTH_SPEEDS_MS", "TEXTS_A_LOOK", "BookDepth", "SymbolDepth", "json_array"]

DEPTH_SPEEDS_MS = (250, 500, 100, 0)  # no suffix, @500ms, @100ms (§4.14), @0ms: real time
_CADENCES = 3  # the speeds pushed at a cadence, first in DEPTH_SPEEDS_MS
_REALTIME = 3  # the index of @0ms, pushed as batches end
_RPI_SPEED = 1  # the index of 500 ms, rpiDepth's only speed (§4.11)


class _Chain:
    """One speed's state for one symbol."""

    __slots__ = ("asks", "bids", "first_id", "previous_id")

    def __init__(self, book: OrderBook) -> None:
        self.bids: set[int] = set()  # prices changed since this chain's previous event
        self.asks: set[int] = set()
        self.previous_id = 0  # u of this chain's previous event
        self.first_id = 0  # U of its next event
        self.moved_on(book)

    def moved_on(self, book: OrderBook) -> None:
        """The chain's previous event is at ``book``'s id now: its next starts at the id
        reserved for the book's next update (see the module docstring)."""
        self.previous_id = last_id = book.last_update_id
        # a book that never changed reserved nothing: its next id is above its own
        self.first_id = book.next_update_id or last_id + 1


class _Levels:
    """One side's levels as JSON text, `["68005.00","2.214"]`, each kept with the quantity
    it was written for and the text of its price: a level is written again only when its
    quantity changed, and then only the quantity is formatted.

    Texts are written by one bytes ``%`` over ``divmod`` (``units.fixed``'s digits, without
    its string steps: the formatting is most of what a push costs at --sim-rate max).

    Bounded by the book: a removed level's text is written for the push that reports it
    and not kept, so the texts kept are of prices the book holds. (Kept until the book
    drifted past _SLACK more prices than it holds, they filled toward that bound for half
    an hour at --sim-rate max, ~25 MB over the catalogue: the memory benchmark's growth;
    kept as zero-quantity levels for the other speeds' pushes, they grew the soak
    benchmark's RSS for its whole run at the default rate, for 7 % fewer formattings.)
    Past its side's levels plus _SLACK, prices the book no longer holds are dropped too,
    should a level ever leave the book without a push naming it. Its dict's table is made
    the size churn gives it when it is first written whole and after a pruning (``settle``).

    Kept only while somebody takes the symbol's depth (``BookDepth.keep_texts``): a text
    holds its level's integers, and with no push to write it again it kept them alive beside
    the book's new ones (~6 MB over the catalogue in a server's first minutes, the memory
    benchmark's tail, beside ~16 MB of texts for nobody)."""

    __slots__ = ("_price_format", "_price_scale", "_qty_format", "_qty_scale", "_written", "_zero")

    def __init__(self, inst: Instrument) -> None:
        # `format % divmod(units, scale)`: the whole part, then the fraction zero-padded to
        # the decimals
        self._price_scale, self._price_format = fixed_format(inst.price_decimals, b'["', b'","')
        self._qty_scale, self._qty_format = fixed_format(inst.qty_decimals, b"", b'"]')
        self._zero = f'{fixed(0, inst.qty_decimals)}"]'.encode()  # a removed level's quantity
        # price -> (qty, the level's text, the text up to the quantity: `["68005.00","`)
        self._written: dict[int, tuple[int, bytes, bytes]] = {}

    def __call__(self, prices: Iterable[int], quantities: dict[int, int]) -> list[bytes]:
        """The text of the levels at ``prices`` in the order given, each with the quantity
        resting in ``quantities`` now; a level gone is 0 at the symbol's quantity decimals
        ("0.000"), as Binance writes it (§4.9)."""
        written = self._written
        if len(written) > len(quantities) + _SLACK:
            # prices the book no longer holds (it drifted): dropped, so the texts kept
            # stay within the book's depth plus _SLACK, however long the market runs
            written = self._written = {p: level for p, level in written.items() if p in quantities}
            settle_table(written)
        get, seen = quantities.get, written.get
        qty_format, qty_scale = self._qty_format, self._qty_scale
        out = []
        for price in prices:
            qty = get(price, 0)
            known = seen(price)
            if not qty:
                # a level gone: written for this push, not kept (the book holds no such price)
                start = known[2] if known else self._price_format % divmod(price, self._price_scale)
                if known is not None:
                    del written[price]
                out.append(start + self._zero)
                continue
            if known is None or known[0] != qty:
                # the price's text is kept: only a new quantity is formatted
                start = known[2] if known else self._price_format % divmod(price, self._price_scale)
                known = written[price] = (qty, start + qty_format % divmod(qty, qty_scale), start)
            out.append(known[1])
        return out

    def settle(self) -> None:
        """The texts' table at the size churn gives it (``book.settle_table``)."""
        settle_table(self._written)

    def write_all(self, prices: Iterable[int], quantities: dict[int, int]) -> None:
        """Every level's text now: the book's, not filling toward it as levels are first
        touched (for half an hour on deep books: growth a memory benchmark takes for a leak)."""
        self(prices, quantities)
        self.settle()

    def forget(self) -> None:
        """No text kept (nobody takes the symbol's depth): none holds the book's integers."""
        if self._written:
            self._written = {}

    def __len__(self) -> int:
        return len(self._written)


class SymbolDepth:
    """One symbol's chains, names, frame, the text of its book's levels and its top 20."""

    __slots__ = (
        "ask_edge",
        "ask_levels",
        "ask_top",
        "ask_top_stale",
        "asks_touched",
        "bid_edge",
        "bid_levels",
        "bid_top",
        "bid_top_stale",
        "bids_touched",
        "book",
        "chains",
        "encoders",
        "frame",
        "inst",
        "names",
        "partial_tails",
        "texts_kept",
        "time_ms",
    )

    def __init__(self, inst: Instrument, book: OrderBook, encoders: builders.Encoders | None = None) -> None:
        """``encoders``: the payload format's (§4.13); None, the classic ones."""
        self.inst = inst
        self.book = book
        self.names = DepthStreams(inst.symbol, DEPTH_SPEEDS_MS, rpi=inst.market is Market.UM)
        self.encoders = encoders
        self.frame = builders.DepthFrame(inst, enc=encoders)
        self.chains = [_Chain(book) for _ in DEPTH_SPEEDS_MS]
        # prices touched since the last push of any speed, folded into every chain then
        self.bids_touched: set[int] = set()
        self.asks_touched: set[int] = set()
        self.time_ms = 0  # transaction time of the last update folded in (`T`)
        self.bid_levels = _Levels(inst)
        self.ask_levels = _Levels(inst)
        self.texts_kept = False  # the levels' texts written whole: somebody takes its depth
        # Per side, the top 5, 10 and 20 as JSON arrays. They hold until a change reaches
        # the top 20: a price at or above its 20th bid (``bid_edge``), at or below its 20th
        # ask (``ask_edge``); on a side shorter than 20 levels, any change (_FAR).
        self.bid_top: list[bytes] = []
        self.ask_top: list[bytes] = []
        self.bid_top_stale = self.ask_top_stale = True
        self.bid_edge, self.ask_edge = -_FAR, _FAR
        # per partial size, the event's bytes after its head: both tops in the frame
        self.partial_tails: list[bytes] = []

    def changed(self, bids: Iterable[int], asks: Iterable[int], time_ms: int) -> None:
        """Prices a batch touched: every chain will report their quantities at its push."""
        self.time_ms = time_ms
        self.bids_touched.update(bids)
        self.asks_touched.update(asks)

    def fold(self) -> None:
        """The prices touched since the last push of any speed, into every cadence's chain
        (real time takes each batch's own, ``BookDepth.realtime``)."""
        bids, asks = self.bids_touched, self.asks_touched
        if bids:
            if max(bids) >= self.bid_edge:
                self.bid_top_stale = True
            for chain in self.chains[:_CADENCES]:
                chain.bids |= bids
            self.bids_touched = set()
        if asks:
            if min(asks) <= self.ask_edge:
                self.ask_top_stale = True
            for chain in self.chains[:_CADENCES]:
                chain.asks |= asks
            self.asks_touched = set()

    def partials(self) -> list[bytes]:
        """Per partial size (5, 10, 20), its event's bytes after the head: the top N of each
        side, best first, in the frame. Written again only when a change reached a side's
        top 20 (``fold``), whichever speeds push them."""
        if self.bid_top_stale or self.ask_top_stale:
            book = self.book
            if self.bid_top_stale:
                prices = book.bid_prices[-_TOP:]
                self.bid_top = _arrays(self.bid_levels(reversed(prices), book.bids))
                self.bid_edge = prices[0] if len(prices) == _TOP else -_FAR
                self.bid_top_stale = False
            if self.ask_top_stale:
                prices = book.ask_prices[:_TOP]
                self.ask_top = _arrays(self.ask_levels(prices, book.asks))
                self.ask_edge = prices[-1] if len(prices) == _TOP else _FAR
                self.ask_top_stale = False
            middle, tail = self.frame.middle, self.frame.tail
            tops = zip(self.bid_top, self.ask_top, strict=True)
            self.partial_tails = [b"".join((bids, middle, asks, tail)) for bids, asks in tops]
        return self.partial_tails


def json_array(levels: list[bytes]) -> bytes:
    """Levels' texts as the JSON array an event's `b` or `a` holds."""
    return b"[%s]" % b",".join(levels)


def _arrays(levels: list[bytes]) -> list[bytes]:
    """The JSON arrays of the first 5, 10 and 20 of ``levels``."""
    return [json_array(levels[:n]) for n in PARTIAL_DEPTH_LEVELS]


_TOP = PARTIAL_DEPTH_LEVELS[-1]
_SLACK = 256  # level texts kept per side beyond the book's levels before pruning
_FAR = 1 << 62  # beyond any price
_NOBODY = object()  # no demand yet: the level texts are looked at (``BookDepth.keep_texts``)
TEXTS_A_LOOK = 2  # symbols whose level texts are written whole at one look (``keep_texts``)


class BookDepth:
    """The depth streams of every symbol of one plant: ``changed`` as batches end,
    ``tick`` at the cadences (``next_tick_ms``)."""

    def __init__(self, symbols: Iterable[SymbolDepth], now_ms: int, encode: Callable[[Any], bytes]) -> None:
        """``encode`` is the plant's encoder: every symbol's frame is derived with it, so the
        events assembled are the bytes it would write."""
        self.symbols = list(symbols)
        for depth in self.symbols:
            depth.frame = builders.DepthFrame(depth.inst, encode, depth.encoders)
        # each cadence's next push, on multiples of its interval
        self._next_ms = [(now_ms // speed + 1) * speed for speed in DEPTH_SPEEDS_MS[:_CADENCES]]
        self.next_tick_ms = min(self._next_ms)
        self.wanted: Demand = None  # the streams somebody takes (market/demand.py); None: all
        # the demand the level texts were last kept for, and its version (``keep_texts``)
        self._texts_for: Demand | object = _NOBODY
        self._texts_version: int | None = None
        self._texts_done = False  # every symbol it takes written (else: at the next tick's look)

    def start_here(self) -> None:
        """The books as they stand are where every chain starts: a source's initial books
        (the simulator's thousands of levels a side) are what a snapshot gives a client,
        not a first event of every level, which would cost every speed's push of every
        symbol at start and tell a synced client nothing."""
        for depth in self.symbols:
            depth.bids_touched = set()
            depth.asks_touched = set()
            depth.bid_top_stale = depth.ask_top_stale = True  # what told so is dropped
            depth.texts_kept = False  # written whole once somebody takes its depth (``keep_texts``)
            depth.bid_levels.forget()
            depth.ask_levels.forget()
            book = depth.book
            book.settle()  # its tables at the size churn gives them (market/book/order_book.py)
            for chain in depth.chains:
                chain.moved_on(book)
                chain.bids = set()
                chain.asks = set()
        self._texts_for = _NOBODY  # written whole at the demand's next look, if it wants them

    def follow(self, wanted: Demand) -> None:
        """Write the streams in ``wanted`` only (None: all; ``market/demand.py``), and keep
        the level texts of the symbols whose depth it takes."""
        self.wanted = wanted
        self.keep_texts()

    def keep_texts(self) -> None:
        """Each symbol's level texts written whole while somebody takes its depth, dropped
        while nobody does. Looked at when the demand changes (``Subscribed.version``; without
        one, every tick; None: once), ``TEXTS_A_LOOK`` symbols a look until all are written
        (a deep book's are ~5 ms of the loop); a push meanwhile writes the levels it names."""
        wanted = self.wanted
        version = -1 if wanted is None else getattr(wanted, "version", None)
        if (
            self._texts_done and wanted is self._texts_for
            and version is not None and version == self._texts_version
        ):  # fmt: skip
            return
        self._texts_for, self._texts_version = wanted, version
        left = TEXTS_A_LOOK
        self._texts_done = True
        for depth in self.symbols:
            taken = wanted is None or any(name in wanted for name in depth.names.every)
            if taken and not depth.texts_kept:
                if not left:
                    self._texts_done = False  # the next tick's look writes it
                    continue
                left -= 1
                book = depth.book
                depth.bid_levels.write_all(book.bid_prices, book.bids)
                depth.ask_levels.write_all(book.ask_prices, book.asks)
                depth.texts_kept = True
            elif not taken:  # some a push wrote before they were written whole, too
                depth.bid_levels.forget()
                depth.ask_levels.forget()
                depth.texts_kept = False

    def tick(self, now_ms: int, out: list[StreamMessage]) -> None:
        """Push every speed due at ``now_ms``, for every symbol whose book moved."""
        self.keep_texts()
        due = []
        for index, speed in enumerate(DEPTH_SPEEDS_MS[:_CADENCES]):
            next_ms = self._next_ms[index]
            if now_ms >= next_ms:
                self._next_ms[index] = next_ms + ((now_ms - next_ms) // speed + 1) * speed
                due.append(index)
        self.next_tick_ms = min(self._next_ms)
        if not due:
            return
        for depth in self.symbols:
            depth.fold()
            last_id = depth.book.last_update_id
            for index in due:
                chain = depth.chains[index]
                if chain.previous_id == last_id:
                    continue  # nothing applied since this speed's previous event
                self._push(depth, index, chain, last_id, now_ms, out)

    def realtime(
        self,
        depth: SymbolDepth,
        bids: Iterable[int],
        asks: Iterable[int],
        now_ms: int,
        out: list[StreamMessage],
    ) -> None:
        """A batch of updates ended, and touched ``bids`` and ``asks`` of ``depth``'s book
        (``changed`` told it first): its real-time (`@0ms`) events, with those prices. The
        chain moves on whether or not somebody takes them."""
        chain = depth.chains[_REALTIME]
        last_id = depth.book.last_update_id
        if chain.previous_id == last_id:
            return
        wanted = self.wanted
        partial = wanted is None or any(name in wanted for name in depth.names.partial[_REALTIME])
        if not partial and wanted is not None and depth.names.diff[_REALTIME] not in wanted:
            chain.moved_on(depth.book)  # nobody takes them: the prices are not even gathered
            return
        chain.bids = set(bids)
        chain.asks = set(asks)
        if partial:
            depth.fold()  # the batch's prices reach the top 20 the partials are written from
        self._push(depth, _REALTIME, chain, last_id, now_ms, out)

    def _push(
        self,
        depth: SymbolDepth,
        index: int,
        chain: _Chain,
        last_id: int,
        now_ms: int,
        out: list[StreamMessage],
    ) -> None:
        """The speed's diff event, its rpiDepth twin and its partials, each written only when
        somebody takes it; the chain moves on either way, as if all were pushed."""
        frame, book, names = depth.frame, depth.book, depth.names
        wanted = self.wanted
        diff_name: str | None = names.diff[index]
        rpi_name = names.rpi if index == _RPI_SPEED else None
        partial_names = names.partial[index]
        if wanted is not None:
            if diff_name not in wanted:
                diff_name = None
            if rpi_name is not None and rpi_name not in wanted:
                rpi_name = None
            if not any(name in wanted for name in partial_names):
                partial_names = []
        if diff_name is not None or rpi_name is not None or partial_names:
            # U: the id reserved when this speed last pushed, > pu (the module's docstring)
            head = frame.head(chain.first_id, last_id, chain.previous_id, depth.time_ms, now_ms)
            # tuple.__new__ is what StreamMessage(stream, payload) runs, without its Python frame
            message = tuple.__new__
            if diff_name is not None or rpi_name is not None:
                bids = json_array(depth.bid_levels(sorted(chain.bids, reverse=True), book.bids))
                asks = json_array(depth.ask_levels(sorted(chain.asks), book.asks))
                diff = b"".join((head, bids, frame.middle, asks, frame.tail))
                if diff_name is not None:
                    out.append(message(StreamMessage, (diff_name, diff)))
                if rpi_name is not None:  # no RPI orders: the plain book (§4.11)
                    out.append(message(StreamMessage, (rpi_name, diff)))
            if partial_names:
                for tail, name in zip(depth.partials(), partial_names, strict=True):
                    if wanted is None or name in wanted:
                        out.append(message(StreamMessage, (name, head + tail)))
        chain.moved_on(book)
        chain.bids = set()
        chain.asks = set()
