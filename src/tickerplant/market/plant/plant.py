"""The plant: per-symbol market state turned into encoded stream payloads.

A source's updates go in (``apply``), and so does the passing of time (``tick``); out come
``StreamMessage``s, each naming its canonical stream, its payload encoded here exactly once.

Cadences (spec §4.14): `<symbol>@bookTicker` real-time; `!bookTicker` real-time on COIN-M
[S2] and a 5 s batch on USDⓈ-M (one object per symbol whose top changed, §4.1);
`<symbol>@miniTicker` and `<symbol>@ticker` every 2 s on USDⓈ-M [S4] and 500 ms on COIN-M;
`!miniTicker@arr` and `!ticker@arr` every 1000 ms with only the tickers that changed;
`<symbol>@trade`, `<symbol>@aggTrade` per fill; the mark-price and index streams each second
and each 3 s (`market/derivatives/mark_streams.py`), from the source's ``MarkPrice``s;
`<symbol>@forceOrder` and `!forceOrder@arr` at most once a second per symbol (``force_orders.py``),
and the internal `<symbol>@openInterest` as often (``market/derivatives/open_interest.py``).

Payloads are classic or 2026's (``payload_format``, §4.13: ``st`` last and USDⓈ-M's ``ps``
after ``s``, ``builders.Encoders``); klines, index prices and internal streams are the same.

Klines (§4.7, §4.12): `<symbol>@kline_<interval>` and `<pair>_<contractType>@continuousKline_<interval>`
every 250 ms when the candle changed, and a final `"x":true` when its interval closes
(``market/klines/streams.py``): *derived streams*, which ``derived_streams=False`` turns off
(a benchmark's baseline) with every stream computed beyond the classic tickers, trades, depth.

Depth (§4.8, §4.9, §4.11): `<symbol>@depth[@500ms|@100ms]`, `<symbol>@depth<5|10|20>[@…]`
and (USDⓈ-M) `<symbol>@rpiDepth@500ms` at 250, 500 and 100 ms, each speed its own U/u/pu
chain over the symbol's one update-id sequence (``market/book/depth.py``).

`<symbol>@depthDiff` is internal (no client can name it): one event per symbol per batch
(``end_batch``), from which a gateway's market view keeps its books (``followed.BookMessage``,
which the sources following another's book write too): the batch's levels in integer units
(only the view reads it, and it is written every batch: no decimal formatting), its last id
(``u``) and the id reserved for the next update (``n``, ``BookUpdate.next_id``), which the
view's snapshots report as ``lastUpdateId`` (§4.9: the next event of every speed holds it).

Bounded per symbol by design, whatever the trade rate: the 24 h window's 1,441 minute buckets
at most (``market/trades/stats.py``); the levels its source's book holds (the simulator's
~1,350 a side, ``feeds/simulator/book_shape.py``; a public-file replay's one a side); the
prices one batch touched (cleared by ``end_batch``); the depth streams' changed prices and
level texts (``market/book/depth.py``); one bookTicker payload; a liquidation and an
open-interest note for their second; one open candle per kline interval and one pending.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import msgspec

from tickerplant.market.book.depth import BookDepth
from tickerplant.market.book.followed import BookMessage
from tickerplant.market.demand import Demand
from tickerplant.market.derivatives.force_orders import ForceOrders
from tickerplant.market.derivatives.mark_streams import MarkStreams
from tickerplant.market.derivatives.open_interest import InterestPacer
from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.klines.past_parts import PAST_PIECES_A_TICK, owed_piece
from tickerplant.market.klines.streams import KlineStreams
from tickerplant.market.klines.symbol_candles import SymbolCandles
from tickerplant.market.klines.warm import WarmTrade
from tickerplant.market.messages import ALL_BOOK_TICKER, StreamMessage
from tickerplant.market.payloads import builders
from tickerplant.market.payloads.events import PayloadFormat
from tickerplant.market.plant import tickers
from tickerplant.market.plant.symbol_state import SymbolState
from tickerplant.market.units import DAY_MS
from tickerplant.market.updates import (
    AggTrade,
    BookUpdate,
    FundingRate,
    IndexPrice,
    Liquidation,
    MarketUpdate,
    MarkPrice,
    OpenInterest,
    TopOfBook,
    Trade,
)

__all__ = ["Plant", "SymbolState"]


class Plant:
    def __init__(
        self,
        market: Market,
        instruments: Sequence[Instrument],
        *,
        now_ms: int,
        window_ms: int = DAY_MS,
        depth_streams: bool = True,
        derived_streams: bool = True,
        payload_format: PayloadFormat = PayloadFormat.CLASSIC,
    ) -> None:
        """``depth_streams`` False: no client-facing depth streams (a source whose books are
        only a recorded top of book), and no internal diff of recorded tops either: the
        views answer depth from the last bookTicker (``MarketView.book``).
        ``derived_streams`` False: none of the futures streams beyond the tickers, trades and
        depth (klines, continuous klines, mark price and index, liquidations, and the
        internal mark-state, funding and open-interest notes): their updates are dropped, a
        baseline to measure their cost against (``benchmarks/derived_plant/scenario.py``).
        ``payload_format``: the classic payloads or the 2026 ones (§4.13)."""
        self.market = market
        self.payload_format = payload_format
        self.symbols: dict[str, SymbolState] = {
            inst.symbol: SymbolState(inst, window_ms, builders.encoders(inst.market, payload_format))
            for inst in instruments
        }
        self._encode = msgspec.json.Encoder().encode
        um = market is Market.UM
        self._mini_interval_ms = 2000 if um else 500
        self._all_interval_ms = 1000
        self._all_book_interval_ms = 5000 if um else 0  # 0: real-time
        self._next_mini_ms = now_ms + self._mini_interval_ms
        self._next_all_ms = now_ms + self._all_interval_ms
        # real-time !bookTicker (COIN-M) has no cadence: never due
        self._next_all_book_ms = now_ms + self._all_book_interval_ms if um else _NEVER_MS
        self._depth_dirty: list[SymbolState] = []
        self._depth_streams = depth_streams
        depths = (state.depth for state in self.symbols.values()) if depth_streams else ()
        self._depth = BookDepth(depths, now_ms, self._encode)
        self.marks = MarkStreams(market, instruments, now_ms, self._encode, payload_format)  # §4.6
        self._force_orders = ForceOrders(market, self._encode, payload_format)
        self._interest = InterestPacer(self._encode)
        self._derived = derived_streams
        if derived_streams:
            for state in self.symbols.values():
                state.candles = SymbolCandles(state.inst)
        candles = [state.candles for state in self.symbols.values() if state.candles is not None]
        self._klines = KlineStreams(market, candles, now_ms)
        self._due_ms: int | None = None  # next_tick_ms as last worked out; None: work it out
        self._minis_left: list[SymbolState] = []  # the ticker snapshot's symbols not pushed yet
        owed = (self._tick_owed,) * PAST_PIECES_A_TICK  # a piece each (``past_parts.owed_piece``)
        self._tick_rest = (self._tick_arrays, self._tick_book_tickers, self._tick_marks, *owed)
        self._pieces_left = 0  # pieces of past parts left to make at this kline tick
        self.wanted: Demand = None  # the streams somebody takes (``follow``); None: all

    def follow(self, wanted: Demand) -> None:
        """Write a client-facing payload only for the streams in ``wanted`` (None: all);
        every stream's state is kept as if it pushed (``market/demand.py``)."""
        self.wanted = wanted
        self._depth.follow(wanted)
        self._klines.wanted = wanted
        self._force_orders.wanted = wanted
        self.marks.follow(wanted)

    @property
    def next_tick_ms(self) -> int:
        """When ``tick`` is next due: kept until a tick, or a note held for its second (a
        liquidation, open interest), moves a cadence; a pump asks every millisecond."""
        due = self._due_ms
        if due is not None:
            return due
        due = self._rows_due_ms()
        if self._derived:
            due = min(
                due, self._klines.next_tick_ms, self.marks.next_tick_ms,
                self._force_orders.next_tick_ms, self._interest.next_tick_ms,
            )  # fmt: skip
        self._due_ms = due
        return due

    @property
    def next_stop_ms(self) -> int:
        """How far rows played in bulk (the replay's stretches, ``market/plant/runs.py``)
        may go before the plant ticks: the next tick that reads what rows change. The
        mark, liquidation and open-interest cadences do not (their updates come one by
        one, and a stretch ends before the next); nor do the kline ticks while no kline
        stream is taken (``KlineStreams.stop_ms``: the candles catch them up). The caller
        ticks those late, at their own times (``next_tick_ms``), once the rows are in."""
        due = self._rows_due_ms()
        return min(due, self._klines.stop_ms) if self._derived else due

    def _rows_due_ms(self) -> int:
        """The next tick of the streams made of the rows' state: tickers, `!bookTicker`
        batches, depth."""
        due = min(self._next_mini_ms, self._next_all_ms, self._next_all_book_ms)
        return min(due, self._depth.next_tick_ms) if self._depth_streams else due

    def warm(self, trades: Iterable[Trade]) -> None:
        """Feed past trades (in time order, as a history is) into the rolling windows and
        the open candles without publishing anything (``KlineStreams.warm``: one pass)."""
        past: dict[SymbolCandles, list[WarmTrade]] = {}
        for t in trades:
            state = self.symbols[t.symbol]
            quote = builders.quote_units(state.inst, t.price, t.qty)
            state.window.add(t.time_ms, t.trade_id, t.price, t.qty, quote)
            state.mini_changed = state.ticker_changed = True
            if state.candles is not None:
                kept = past.setdefault(state.candles, [])
                kept.append((t.time_ms, t.trade_id, t.price, t.qty, quote, t.buyer_is_maker))
        for candles, candle_trades in past.items():
            self._klines.warm(candles, candle_trades)

    def history(self, trades: Iterable[Trade]) -> list[StreamMessage]:
        """`@aggTrade` messages for past trades (event time = trade time), so that a market
        view joining now can build klines over the same past as the plant's windows."""
        symbols = self.symbols
        out = []
        for trade in trades:
            state = symbols[trade.symbol]
            payload = state.frames.fill(trade, trade.time_ms)
            out.append(StreamMessage(state.names.agg_trade, payload))
        return out

    def snapshot(self, now_ms: int, out: list[StreamMessage]) -> None:
        """Every symbol's miniTicker and ticker now, so that views start complete rather
        than waiting for the first cadence."""
        tickers.snapshot(self.symbols.values(), now_ms, self.wanted, self._encode, out)

    def apply(self, update: MarketUpdate, now_ms: int, out: list[StreamMessage]) -> None:
        if type(update) is Trade:
            state = self._record(update, out)
            wanted = self.wanted
            if wanted is None or state.names.trade in wanted:
                trade = state.frames.trade(
                    now_ms, update.time_ms, update.trade_id, update.price, update.qty, update.buyer_is_maker
                )
                out.append(StreamMessage(state.names.trade, trade))
            if update.as_aggregate:
                out.append(StreamMessage(state.names.agg_trade, state.frames.fill(update, now_ms)))
        elif type(update) is BookUpdate:
            self._apply_book(update, now_ms, out)
        elif type(update) is AggTrade:
            self._apply_aggregate(update, now_ms, out)
        elif type(update) is TopOfBook:
            self._apply_top(update, now_ms, out)
        elif not self._derived:
            return  # the baseline without the derived streams
        elif type(update) is Liquidation:
            state = self.symbols[update.symbol]
            self._force_orders.add(state.inst, state.names.force_order, update, out)
            self._due_ms = None
        elif type(update) is OpenInterest:
            state = self.symbols[update.symbol]
            self._interest.add(state.inst, state.names.open_interest, update, out)
            self._due_ms = None
        else:  # mark price, index price, funding: kept and paced by MarkStreams
            assert isinstance(update, MarkPrice | IndexPrice | FundingRate)
            self.marks.apply(update, now_ms, out)

    def end_batch(self, now_ms: int, out: list[StreamMessage]) -> None:
        """Publish one diff-depth event per symbol whose book changed in this batch."""
        encode = self._encode
        for state in self._depth_dirty:
            bids, asks = state.depth_bids, state.depth_asks
            if self._depth_streams:
                state.depth.changed(bids.keys(), asks.keys(), state.depth_time_ms)
                self._depth.realtime(state.depth, bids.keys(), asks.keys(), now_ms, out)
            book = state.book
            event = BookMessage(
                state.depth_time_ms, book.last_update_id,
                sorted(bids.items(), reverse=True), sorted(asks.items()), n=book.next_update_id,
            )  # fmt: skip
            out.append(StreamMessage(state.names.depth, encode(event)))
            state.depth_gathered = False
            state.depth_bids = {}
            state.depth_asks = {}
        self._depth_dirty.clear()

    def start_depth_chains(self) -> None:
        """The books as they stand start every depth stream's chain (``BookDepth.start_here``):
        call once the source's initial books are applied and their batch ended."""
        self._depth.start_here()

    def tick(self, now_ms: int, out: list[StreamMessage]) -> None:
        """Publish every periodic stream that is due at ``now_ms``: each of ``tick_parts``."""
        for part in self.tick_parts:
            part(now_ms, out)

    @property
    def tick_parts(self) -> tuple[Callable[[int, list[StreamMessage]], None], ...]:
        """``tick``'s parts in its order, a family of streams each (the ticker snapshot
        ``_SNAPSHOT_SYMBOLS`` symbols a part; last, a piece of the candles' past parts each),
        each publishing what of it is due at the time given: a shell may run each on a loop
        turn of its own (``feeds/simulator/pump.py``), so that neither the families due on
        one whole second nor a tick's pieces of the past hold its loop together."""
        minis = (self._tick_minis,) * -(-len(self.symbols) // _SNAPSHOT_SYMBOLS)
        return (self._tick_notes, self._tick_depth, self._tick_klines, *minis, *self._tick_rest)

    def _tick_notes(self, now_ms: int, out: list[StreamMessage]) -> None:
        self._due_ms = None
        if self._derived:
            self._force_orders.tick(now_ms, out)
            self._interest.tick(now_ms, out)

    def _tick_depth(self, now_ms: int, out: list[StreamMessage]) -> None:
        if self._depth_streams and now_ms >= self._depth.next_tick_ms:
            self._due_ms = None
            # A replay ticks between the updates of a batch: what it applied so far counts.
            for state in self._depth_dirty:
                state.depth.changed(state.depth_bids.keys(), state.depth_asks.keys(), state.depth_time_ms)
            self._depth.tick(now_ms, out)

    def _tick_klines(self, now_ms: int, out: list[StreamMessage]) -> None:
        if self._derived and now_ms >= self._klines.next_tick_ms:
            self._due_ms = None
            self._klines.tick(now_ms, out)
            self._pieces_left = PAST_PIECES_A_TICK

    def _tick_owed(self, now_ms: int, out: list[StreamMessage]) -> None:
        if self._pieces_left:
            made = owed_piece((self._klines, self.marks.price_klines), now_ms)
            self._pieces_left = self._pieces_left - 1 if made else 0

    def _tick_minis(self, now_ms: int, out: list[StreamMessage]) -> None:
        if now_ms >= self._next_mini_ms:
            self._due_ms = None
            self._next_mini_ms = _next_boundary(self._next_mini_ms, self._mini_interval_ms, now_ms)
            self._minis_left = list(self.symbols.values())
        if left := self._minis_left:
            self._minis_left = left[_SNAPSHOT_SYMBOLS:]
            tickers.snapshot(left[:_SNAPSHOT_SYMBOLS], now_ms, self.wanted, self._encode, out)

    def _tick_arrays(self, now_ms: int, out: list[StreamMessage]) -> None:
        if now_ms >= self._next_all_ms:
            self._due_ms = None
            self._next_all_ms = _next_boundary(self._next_all_ms, self._all_interval_ms, now_ms)
            tickers.arrays(self.symbols.values(), now_ms, self.wanted, self._encode, out)

    def _tick_book_tickers(self, now_ms: int, out: list[StreamMessage]) -> None:
        if self._all_book_interval_ms and now_ms >= self._next_all_book_ms:
            self._due_ms = None
            self._next_all_book_ms = _next_boundary(
                self._next_all_book_ms, self._all_book_interval_ms, now_ms
            )
            wanted = self.wanted
            want_tops = wanted is None or ALL_BOOK_TICKER in wanted
            for state in self.symbols.values():
                if state.top_changed and state.book_ticker is not None:
                    state.top_changed = False
                    if want_tops:
                        out.append(StreamMessage(ALL_BOOK_TICKER, state.book_ticker))

    def _tick_marks(self, now_ms: int, out: list[StreamMessage]) -> None:
        if self._derived and now_ms >= self.marks.next_tick_ms:
            self._due_ms = None
            self.marks.tick(now_ms, out)

    # -- state -----------------------------------------------------------------------

    def _record(self, trade: Trade, out: list[StreamMessage] | None = None) -> SymbolState:
        """A trade into the symbol's state; ``out`` None while warming (nothing published)."""
        state = self.symbols[trade.symbol]
        quote = builders.quote_units(state.inst, trade.price, trade.qty)
        state.window.add(trade.time_ms, trade.trade_id, trade.price, trade.qty, quote)
        state.mini_changed = state.ticker_changed = True
        if state.candles is not None:
            self._klines.add(
                state.candles, trade.time_ms, trade.trade_id, trade.price, trade.qty, quote,
                trade.buyer_is_maker, 1, out,
            )  # fmt: skip
        return state

    def _apply_aggregate(self, update: AggTrade, now_ms: int, out: list[StreamMessage]) -> None:
        state = self.symbols[update.symbol]
        inst = state.inst
        if update.in_stats:
            trades = update.last_trade_id - update.first_trade_id + 1
            quote = builders.quote_units(inst, update.price, update.qty)
            state.window.add(update.time_ms, update.first_trade_id, update.price, update.qty, quote, trades)
            state.mini_changed = state.ticker_changed = True
            if state.candles is not None:
                self._klines.add(
                    state.candles, update.time_ms, update.first_trade_id, update.price, update.qty,
                    quote, update.buyer_is_maker, trades, out,
                )  # fmt: skip
        payload = state.frames.agg_trade(
            now_ms, update.agg_id, update.price, update.qty, update.first_trade_id, update.last_trade_id,
            update.time_ms, update.buyer_is_maker,
        )  # fmt: skip
        out.append(StreamMessage(state.names.agg_trade, payload))

    def _apply_top(self, update: TopOfBook, now_ms: int, out: list[StreamMessage]) -> None:
        """A recorded bookTicker: the book becomes exactly this top, and the bookTicker is
        published with its recorded id, even when the top repeats the last one."""
        symbol, update_id, time_ms, event_ms, bid, bid_qty, ask, ask_qty = update
        state = self.symbols[symbol]
        if self._depth_streams:  # else nothing reads a diff of tops (``plant_runs.apply_tops``)
            self._top_into_depth(state, update)
        self._publish_top(state, (bid, bid_qty, ask, ask_qty), update_id, time_ms, event_ms, out)

    def _top_into_depth(self, state: SymbolState, update: TopOfBook) -> None:
        """A recorded top (the whole book) into the depth streams' book and the diff."""
        _, update_id, time_ms, _, bid, bid_qty, ask, ask_qty = update
        bids, asks, book = state.depth_bids, state.depth_asks, state.book
        if (old := state.top) is not None:  # the last top published
            if old[0] != bid:
                bids[old[0]] = 0
                book.set_level(True, old[0], 0)
            if old[2] != ask:
                asks[old[2]] = 0
                book.set_level(False, old[2], 0)
        bids[bid] = bid_qty
        asks[ask] = ask_qty
        book.set_level(True, bid, bid_qty)
        book.set_level(False, ask, ask_qty)
        # A recorded top reserves the id after its own: the next recorded one is at least that.
        book.last_update_id = update_id
        book.next_update_id = update_id + 1
        if not state.depth_gathered:
            state.depth_gathered = True
            self._depth_dirty.append(state)
        state.depth_time_ms = time_ms

    def _apply_book(self, update: BookUpdate, now_ms: int, out: list[StreamMessage]) -> None:
        state = self.symbols[update.symbol]
        book = state.book
        book.apply(update)
        if not state.depth_gathered:
            state.depth_gathered = True
            self._depth_dirty.append(state)
        state.depth_time_ms = update.time_ms
        state.depth_bids.update(update.bids)  # a Level is a (price, qty) pair
        state.depth_asks.update(update.asks)
        top = book.top()
        if top is None:
            return
        if top == state.top:
            return
        self._publish_top(state, top, update.update_id, update.time_ms, now_ms, out)

    def _publish_top(
        self,
        state: SymbolState,
        top: tuple[int, int, int, int],
        update_id: int,
        time_ms: int,
        now_ms: int,
        out: list[StreamMessage],
    ) -> None:
        state.top = top
        payload = state.frames.book_ticker(update_id, *top, time_ms, now_ms)
        state.book_ticker = payload
        out.append(StreamMessage(state.names.book_ticker, payload))
        if self._all_book_interval_ms:
            state.top_changed = True
        elif (wanted := self.wanted) is None or ALL_BOOK_TICKER in wanted:
            out.append(StreamMessage(ALL_BOOK_TICKER, payload))


_NEVER_MS = 1 << 62
_SNAPSHOT_SYMBOLS = 8  # a part of the ticker snapshot (tick_parts): ~0.1 ms, and the views' reading


def _next_boundary(previous_ms: int, interval_ms: int, now_ms: int) -> int:
    """The next multiple of the cadence after now, without drifting or bunching up."""
    missed = (now_ms - previous_ms) // interval_ms + 1
    return previous_ms + missed * interval_ms
