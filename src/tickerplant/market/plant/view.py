"""A gateway's market view: the state request/response surfaces answer from.

It is built from the bus's ``StreamMessage``s like any other subscriber, so a gateway
answers the same in one process and behind NATS, and an answer never disagrees with
the streams: ``ticker.book`` is the last bookTicker pushed, depth is the book the
`@depthDiff` events describe (or, for a source that sends none, such as a replay of public
files or a relay of no depth stream, the top of book the last bookTicker gave), prices and
klines come from `@aggTrade`, which every source sends (an aggregate counts its fills).

`@depthDiff` comes from the plant, or from a source that follows somebody else's book
(``market/book/followed.py``: a recording's, an upstream's); such a source may also send a
whole book (``"snapshot":true``), and an empty one with id 0 while it has none in sync:
then depth answers that empty book, never a top of book a client could sync against.

``receive`` only files payloads away (a dict lookup and an append per message): the
decoding happens when somebody asks, when a symbol's backlog passes a bound, or when its
ticker comes (`<symbol>@ticker`, §4.3: the plant's every 2 s on USDⓈ-M, 500 ms on COIN-M), so the
fan-out's hot path does not pay for requests nobody makes, and what a symbol holds is built
within seconds rather than as its backlog fills: a quiet symbol took minutes to pass the
bound, and held its warm start's last trades and its whole initial book undecoded until
then, so the views' books and klines grew for the first ~3 minutes of an idle server
(~12 MB over the catalogue). The tickers of a market come in one batch, so their symbols
are put in line and at most ``_DUE_PER_RECEIVE`` of them applied per batch received, at
most ``_DUE_PAYLOADS`` of a depth backlog at a time (the rest at the next batches): all at
once held the loop ~2 ms every other second (26 symbols), one busy symbol's 2 s of diffs
~0.5 ms, and an order arriving then waited for it (the venue's latency tail, the orders
benchmark).

What it holds is bounded by design, whatever the traffic (per symbol):

- each backlog (depth, trades): at most ``_BACKLOG`` + 1 payloads (257), then applied,
  and applied after each of the symbol's tickers (in line: a few batches later at most);
- the book: its tables built at the size churn gives them (``OrderBook.settle``), and the
  levels the source's book holds (the simulator's, its shape's ``high`` plus
  the few levels one action adds: about 1,350 a side at the default depth; a followed
  book's, what its upstream holds, ``market/book/followed.py``; a public-file replay's,
  none: its depth is the last bookTicker);
- the book's level texts (``BookText``): one per level of the book, plus the prices
  touched since the last depth answer, at most ``book_text._STALE_MAX`` a side;
- klines: at most 1,500 per interval (``SymbolKlines``), 22,500 for the 15 intervals
  (24,000 on USDⓈ-M, whose continuous klines have `1s` too);
- the recent aggregate trades: at most 10,000 (``market/trades/history.py``);
- open interest: the latest note and at most 8,640 + 288 five-minute points
  (``open_interest.InterestHistory``: 30 days, trimmed a day at a time);
- the last bookTicker, ticker and last price: one each;
- the last mark state and at most 1,000 funding events (``market/derivatives/mark_state.py``).
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal

import msgspec

from tickerplant.market.book.order_book import OrderBook
from tickerplant.market.book.text import BookText
from tickerplant.market.derivatives.mark_state import MarkStateView
from tickerplant.market.derivatives.open_interest import InterestHistory
from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.klines.candles import (
    CONTINUOUS_INTERVALS_UM,
    INTERVALS,
    Kline,
    KlineRow,
)
from tickerplant.market.klines.symbol_klines import SymbolKlines
from tickerplant.market.messages import KLINE_ROW, StreamMessage, SymbolStreams
from tickerplant.market.payloads.builders import quote_units, quotes_units
from tickerplant.market.payloads.builders import ticker as ticker_payload
from tickerplant.market.payloads.events import AggTrade, BookTicker, Ticker
from tickerplant.market.trades.history import TradeHistory
from tickerplant.market.trades.stats import RollingWindow
from tickerplant.market.units import DAY_MS, MINUTE_MS, texts_to_units, to_units

__all__ = ["LastPrice", "MarketView", "SymbolView"]

log = logging.getLogger("tickerplant.view")

# Payloads kept undecoded per symbol before they are applied anyway. Each is applied in
# the end whoever asks, so a smaller backlog costs no more decoding, only a call per 256
# payloads; at 4,096 the 40 symbols' backlogs held ~100 MB at --sim-rate max.
_BACKLOG = 256
_DUE_PER_RECEIVE = 1  # symbols whose ticker came, applied per batch received (see the docstring)
_DUE_PAYLOADS = 64  # of its depth backlog at a time: ~0.1 ms
# what a routed message updates
_BOOK_TICKER, _TICKER, _DEPTH, _TRADE, _OPEN_INTEREST, _MARK, _KLINE_ROW = range(7)

# The payloads' own structs, both markets alike (an absent `ps` is None); decimals stay the
# strings pushed, which answers pass on and the book converts to units exactly.
_book_ticker = msgspec.json.Decoder(BookTicker[str])
_ticker = msgspec.json.Decoder(Ticker[str])


class _UnitsDiff(msgspec.Struct, frozen=True):
    """What the view reads of the internal `@depthDiff` (``followed.BookMessage``, levels
    in integer units, written by the plant and the sources that follow a book)."""

    T: int  # transaction time, ms
    u: int  # final update id covered
    b: list[tuple[int, int]]  # (price units, qty units); 0 removes the level
    a: list[tuple[int, int]]
    snapshot: bool = False  # the levels are the whole book (market/book/followed.py)
    n: int = 0  # the id reserved for the book's next update; 0: none (a followed book)


_depth = msgspec.json.Decoder(_UnitsDiff)
_kline_row = msgspec.json.Decoder(tuple[str, int, str, str, str, str, str, int, str, int, str, str])
_agg_trade = msgspec.json.Decoder(AggTrade[str])
_agg_trades = msgspec.json.Decoder(list[AggTrade[str]])
_price, _qty = operator.attrgetter("price"), operator.attrgetter("qty")
_AGG_FIELDS = tuple(
    map(operator.attrgetter, ("agg_id", "first_trade_id", "last_trade_id", "trade_time", "buyer_is_maker"))
)
_PLUS_ONE = (1).__add__


def _one_object(payload: bytes) -> bool:
    return payload[:1] == b"{" and payload[-1:] == b"}"


def _rounded_units(text: str, decimals: int) -> int:
    """``to_units``, a file's finer digits (a volume written longer) rounded half up."""
    try:
        return to_units(text, decimals)
    except ValueError:
        return int((Decimal(text) * 10**decimals).to_integral_value(ROUND_HALF_UP))


class LastPrice(msgspec.Struct, frozen=True):
    price: int  # price units
    time_ms: int  # trade time


class SymbolView:
    """What the view holds for one symbol."""

    __slots__ = (
        "book",
        "book_kept",
        "book_text",
        "book_ticker",
        "book_time_ms",
        "depth_backlog",
        "inst",
        "klines",
        "last_price",
        "open_interest",
        "ticker",
        "trade_backlog",
        "trades",
    )

    def __init__(self, inst: Instrument) -> None:
        self.inst = inst
        self.book_ticker: bytes | None = None  # the last bookTicker payload, as pushed
        self.ticker: bytes | None = None  # the last 24hrTicker payload
        self.depth_backlog: list[bytes] = []
        self.trade_backlog: list[bytes] = []
        self.book = OrderBook()
        self.book_text = BookText(inst.price_decimals, inst.qty_decimals)  # its levels' wire text
        self.book_kept = False  # a source sent whole books: no top-of-book stand-in
        self.book_time_ms = 0
        self.last_price: LastPrice | None = None
        # `1s` for USDⓈ-M's continuous klines (§4.12), which answer from these series
        self.klines = SymbolKlines(CONTINUOUS_INTERVALS_UM if inst.market is Market.UM else INTERVALS)
        self.trades = TradeHistory()  # the recent aggregates, for `aggTrades` and `trades`
        self.open_interest = InterestHistory()  # from the plant's internal `@openInterest`


class MarketView:
    def __init__(self, market: Market, instruments: Sequence[Instrument]) -> None:
        self.market = market
        self.symbols: dict[str, SymbolView] = {inst.symbol: SymbolView(inst) for inst in instruments}
        self.unreadable = 0  # payloads the view could not read (logged, skipped)
        # canonical stream name -> (symbol view, which slot)
        self._routes: dict[str, tuple[SymbolView, int]] = {}
        self._due: dict[SymbolView, None] = {}  # symbols whose ticker came, in line (a set, ordered)
        for view in self.symbols.values():
            names = SymbolStreams(view.inst.symbol)  # the names the plant publishes under
            self._routes[names.book_ticker] = (view, _BOOK_TICKER)
            self._routes[names.ticker] = (view, _TICKER)
            self._routes[names.depth] = (view, _DEPTH)
            self._routes[names.agg_trade] = (view, _TRADE)
            self._routes[names.open_interest] = (view, _OPEN_INTEREST)
            self._routes[f"{view.inst.symbol.lower()}@{KLINE_ROW}"] = (view, _KLINE_ROW)
        self.marks = MarkStateView(instruments)  # mark prices and funding (§7.9)
        for stream in self.marks.streams():
            self._routes[stream] = (self.symbols[stream.partition("@")[0].upper()], _MARK)

    # -- the bus side ----------------------------------------------------------------

    def streams(self) -> Iterable[str]:
        """The streams this view reads: what a plant writes whoever subscribes
        (``market/demand.py``)."""
        return self._routes.keys()

    def receive(self, messages: Sequence[StreamMessage]) -> None:
        routes = self._routes
        for stream, payload in messages:
            route = routes.get(stream)
            if route is None:
                continue
            view, slot = route
            if slot == _BOOK_TICKER:
                view.book_ticker = payload
            elif slot == _TICKER:
                view.ticker = payload
                # a symbol's backlogs are applied at its ticker too, in line: see the docstring
                if view.depth_backlog or view.trade_backlog:
                    self._due[view] = None
            elif slot == _DEPTH:
                view.depth_backlog.append(payload)
                if len(view.depth_backlog) > _BACKLOG:
                    self._apply_depth(view)
            elif slot == _TRADE:
                view.trade_backlog.append(payload)
                if len(view.trade_backlog) > _BACKLOG:
                    self._apply_trades(view)
            elif slot == _KLINE_ROW:  # a replayed kline file's row: a kline a minute at most
                if view.trade_backlog:  # the trades sent before it are in the klines before it
                    self._apply_trades(view)
                try:
                    self._put_kline(view, payload)
                except (ValueError, ArithmeticError, msgspec.DecodeError) as exc:
                    self._unreadable(view, payload, exc)
            elif slot == _OPEN_INTEREST:  # at most once a second per symbol: read now
                try:
                    view.open_interest.receive(payload)
                except msgspec.DecodeError as exc:
                    self._unreadable(view, payload, exc)
            else:
                self.marks.receive(stream, payload)
        due = self._due
        for _ in range(min(_DUE_PER_RECEIVE, len(due))):
            view = next(iter(due))
            if view.depth_backlog:
                self._apply_depth(view, _DUE_PAYLOADS)
            if not view.depth_backlog:  # else its next part at the next batch
                del due[view]
                if view.trade_backlog:
                    self._apply_trades(view)

    # -- the request side --------------------------------------------------------------

    def symbol(self, symbol: str) -> SymbolView | None:
        return self.symbols.get(symbol)

    def book_ticker(self, view: SymbolView) -> BookTicker[str] | None:
        if view.book_ticker is None:
            return None
        return _book_ticker.decode(view.book_ticker)

    def ticker(self, view: SymbolView, now_ms: int | None = None) -> Ticker[str] | None:
        """The 24 h ticker its source pushed last; with ``now_ms``, when it pushed none (a
        recording without ``@ticker``, a replay of public files before its first push), the
        window's statistics from the view's own trades (``_ticker_of_trades``)."""
        if view.ticker is None:
            return None if now_ms is None else self._ticker_of_trades(view, now_ms)
        return _ticker.decode(view.ticker)

    def _ticker_of_trades(self, view: SymbolView, now_ms: int) -> Ticker[str]:
        """The view's 1m klines of the last 24 h (the window opens on a whole minute, as the
        live one does, §7.7), summed as the plant sums its trades (``RollingWindow``) and
        written by the plant's one ticker formula (``builders.ticker``). The 24 h end at
        ``now_ms``, or at the last trade when that is a day or more before it: a replay
        served on the wall clock (``serve --replay``) is as of its own latest time."""
        last = self.last_price(view)
        if last is not None and now_ms - last.time_ms >= DAY_MS:
            now_ms = last.time_ms
        window = RollingWindow()
        open_ms = (now_ms - DAY_MS) // MINUTE_MS * MINUTE_MS
        minutes = [k for k in self.klines(view).series("1m").query(open_ms, now_ms, 1441) if k.count]
        latest = view.trades.latest(1)
        for k in minutes:
            last_qty = latest[0].qty if k is minutes[-1] and latest else 0
            window.add_sums(
                k.open_ms, k.open_ms, k.first_id, k.last_id, k.open, k.high, k.low, k.close, last_qty,
                k.volume, k.quote, k.count,
            )  # fmt: skip
        window.evict(now_ms)
        return _ticker.decode(msgspec.json.encode(ticker_payload(view.inst, window, now_ms)))

    def last_price(self, view: SymbolView) -> LastPrice | None:
        if view.trade_backlog:  # (_apply_trades' own test, first: a poll asks per request)
            self._apply_trades(view)
        return view.last_price

    def book(self, view: SymbolView) -> OrderBook:
        """The book as of the last diff-depth event; ``book.last_update_id`` is its id.

        A source that sends no diff-depth events (public files, a relay of no depth stream)
        still has a top of book: then the book is the last bookTicker's best bid and ask.
        A source that follows a book but has none in sync sent an empty one with id 0."""
        self._apply_depth(view)
        if not view.book.last_update_id and view.book_ticker is not None and not view.book_kept:
            return self._top_only(view)
        return view.book

    def klines(self, view: SymbolView) -> SymbolKlines:
        self._apply_trades(view)
        return view.klines

    def trades(self, view: SymbolView) -> TradeHistory:
        self._apply_trades(view)
        return view.trades

    # -- applying backlogs -------------------------------------------------------------

    def _apply_depth(self, view: SymbolView, most: int | None = None) -> None:
        """``view``'s depth backlog into its book, the ``most`` first of it (None: all)."""
        backlog = view.depth_backlog
        if not backlog:
            return
        view.depth_backlog = [] if most is None else backlog[most:]
        if most is not None:
            del backlog[most:]
        book, text = view.book, view.book_text
        set_level = book.set_level
        built = not book.last_update_id  # the first levels: the book is built here
        for payload in backlog:
            try:
                event = _depth.decode(payload)
            except msgspec.DecodeError as exc:
                self._unreadable(view, payload, exc)
                continue
            if event.snapshot:
                book.clear()
                text.replaced()
                view.book_kept = True
                built = True
            else:
                text.touched([price for price, _ in event.b], [price for price, _ in event.a])
            for price_units, qty_units in event.b:
                set_level(True, price_units, qty_units)
            for price_units, qty_units in event.a:
                set_level(False, price_units, qty_units)
            book.last_update_id = event.u
            book.next_update_id = event.n  # what a snapshot reports (protocol/market_data.py)
            view.book_time_ms = event.T
        if built:
            book.settle()  # its tables at their steady size from the start (market/book/order_book.py)

    @staticmethod
    def _put_kline(view: SymbolView, payload: bytes) -> None:
        """A kline file's row (``messages.KLINE_ROW``) into the series of its interval."""
        interval, t, o, h, low, c, v, close_ms, q, n, bv, bq = _kline_row.decode(payload)
        klines = view.klines
        if not klines.keeps(interval):
            return
        inst = view.inst
        pd, qd = inst.price_decimals, inst.qty_decimals
        # the quote columns: USDⓈ-M quote asset (price × qty digits); COIN-M base asset, 1e-8
        quote_d = pd + qd if inst.market is Market.UM else 8
        units = _rounded_units
        k = Kline(
            t, close_ms, units(o, pd), units(h, pd), units(low, pd), units(c, pd), units(v, qd),
            units(q, quote_d), n, units(bv, qd), units(bq, quote_d), 0, 0,
        )  # fmt: skip
        klines.series(interval).put(k)

    def _unreadable(self, view: SymbolView, payload: bytes, exc: Exception) -> None:
        # A source's payload the view cannot take (an upstream with finer digits than its
        # exchangeInfo said): skipped here, never raised into the bus and the fan-out.
        self.unreadable += 1
        if self.unreadable & (self.unreadable - 1) == 0:  # the 1st, 2nd, 4th, 8th, …
            log.warning(
                "%s %s: %d payloads skipped by the market view, e.g. %r: %s",
                self.market.value, view.inst.symbol, self.unreadable, payload[:200], exc,
            )  # fmt: skip

    def _top_only(self, view: SymbolView) -> OrderBook:
        ticker = self.book_ticker(view)
        assert ticker is not None
        pd, qd = view.inst.price_decimals, view.inst.qty_decimals
        book = OrderBook()
        book.set_level(True, to_units(ticker.bid_price, pd), to_units(ticker.bid_qty, qd))
        book.set_level(False, to_units(ticker.ask_price, pd), to_units(ticker.ask_qty, qd))
        book.last_update_id = ticker.update_id
        view.book_time_ms = ticker.transaction_time
        return book

    def _apply_trades(self, view: SymbolView) -> None:
        backlog = view.trade_backlog
        if not backlog:
            return
        view.trade_backlog = []
        # The backlog decoded in one call and converted a column at a time; a payload it
        # cannot take sends the whole backlog payload by payload, which skips just that one.
        # Each payload is one object (its first and last bytes), so the list's length says
        # no payload's text ran into another's.
        aggs: list[AggTrade[str]] | None = None
        if all(map(_one_object, backlog)):
            try:
                aggs = _agg_trades.decode(b"[%b]" % b",".join(backlog))
            except msgspec.DecodeError:
                aggs = None
        if aggs is None or len(aggs) != len(backlog) or not self._add_trades(view, aggs):
            self._add_each_trade(view, backlog)

    @staticmethod
    def _add_trades(view: SymbolView, aggs: list[AggTrade[str]]) -> bool:
        """Decoded aggregates into the recent trades, the klines and the last price, a
        column at a time; False, with nothing changed, when a price or size will not convert
        (or a COIN-M price of 0 has no base-asset volume)."""
        inst = view.inst
        try:
            prices = texts_to_units(list(map(_price, aggs)), inst.price_decimals)
            qtys = texts_to_units(list(map(_qty, aggs)), inst.qty_decimals)
            quotes = quotes_units(inst, prices, qtys)
        except (ValueError, ArithmeticError):
            return False
        ids, firsts, lasts, times, makers = (list(map(field, aggs)) for field in _AGG_FIELDS)
        fills = list(map(operator.sub, map(_PLUS_ONE, lasts), firsts))
        view.trades.add_many((ids, firsts, lasts, times, prices, qtys, makers))
        view.klines.add_columns((times, firsts, prices, qtys, quotes, makers, fills))
        view.last_price = LastPrice(prices[-1], times[-1])
        return True

    def _add_each_trade(self, view: SymbolView, backlog: list[bytes]) -> None:
        """``_add_trades`` a payload at a time: an unreadable one is skipped (and logged)."""
        inst = view.inst
        pd, qd = inst.price_decimals, inst.qty_decimals
        rows: list[KlineRow] = []  # into the klines after: a loop per interval (add_rows)
        add_trade = view.trades.add
        last = None
        for payload in backlog:
            try:
                agg = _agg_trade.decode(payload)
                price, qty = to_units(agg.price, pd), to_units(agg.qty, qd)
                quote = quote_units(inst, price, qty)
            except (ValueError, ArithmeticError, msgspec.DecodeError) as exc:
                self._unreadable(view, payload, exc)
                continue
            first, time_ms = agg.first_trade_id, agg.trade_time
            trades = agg.last_trade_id - first + 1
            rows.append((time_ms, first, price, qty, quote, agg.buyer_is_maker, trades))
            add_trade(agg.agg_id, first, agg.last_trade_id, time_ms, price, qty, agg.buyer_is_maker)
            last = LastPrice(price, time_ms)
        view.klines.add_rows(rows)
        if last is not None:  # a backlog of unreadable payloads leaves the last price as it was
            view.last_price = last
