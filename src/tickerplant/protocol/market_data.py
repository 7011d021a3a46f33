"""The market-data answers shared by REST and the WebSocket API (spec §6, §7).

Each method has a weight rule and an answer, both functions of the parameters; the
answers come from a ``MarketView``, so they agree with what the streams pushed. Parameters
arrive as JSON values (WebSocket API) or strings (REST query) and are read the same way.
Errors are ``RequestRefused``s carrying Binance's code, message and HTTP status (§8.1).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

import msgspec

from tickerplant.market.book.text import BookText
from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.klines.candles import (
    BASE_DECIMALS,
    Kline,
    KlineSeries,
)
from tickerplant.market.plant.view import LastPrice, MarketView, SymbolView
from tickerplant.market.units import fixed
from tickerplant.protocol.encoded_rows import EncodedRows, Stamped, array
from tickerplant.protocol.errors import BAD_SYMBOL, RequestRefused, mandatory
from tickerplant.protocol.kline_windows import KlineQuery, kline_query, klines_weight
from tickerplant.protocol.later import eventually
from tickerplant.protocol.past import PastAnswers
from tickerplant.protocol.query_values import Params, int_param, optional_symbol, text_param

__all__ = [
    "DEPTH_LIMITS",
    "MarketData",
    "Method",
    "Spliced",
    "kline_rows",
    "named_symbol",
    "required_symbol",
    "rest_row",
]

DEPTH_LIMITS = {5: 2, 10: 2, 20: 2, 50: 2, 100: 5, 500: 10, 1000: 20}  # limit -> weight (§6.1)
_encode = msgspec.json.encode
_encode_row = msgspec.json.Encoder().encode


def named_symbol(market: MarketView, params: Params) -> SymbolView | None:
    """The symbol a request names, None when it names none; -1121 for one this market does
    not list; -1105 for one sent empty (``optional_symbol``). Any case: the live service
    accepts lowercase (§1.2)."""
    name = optional_symbol(params)
    if name is None:
        return None
    view = market.symbol(name.upper())
    if view is None:
        raise BAD_SYMBOL()
    return view


def required_symbol(market: MarketView, params: Params) -> SymbolView:
    """``named_symbol`` where `symbol` is mandatory (-1102 without it, or empty)."""
    if params.get("symbol") == "":
        raise mandatory("symbol")
    view = named_symbol(market, params)
    if view is None:
        raise mandatory("symbol")
    return view


class Spliced(NamedTuple):
    """A JSON value written as two byte strings, ``head + tail``: a depth answer's fields
    that change with each request, and its levels, the same bytes object for every answer
    while the book stands still. Kept apart so a reply is written around the levels, never
    copied from them: 1,000 levels a side are ~42 kB."""

    head: bytes
    tail: bytes


def rest_row(k: Kline, inst: Instrument, market: Market) -> list[int | str]:
    """One row of `GET /fapi/v1/klines` / `/dapi/v1/klines`: the 12-element array of §7.8."""
    pd, qd = inst.price_decimals, inst.qty_decimals
    # USDⓈ-M index 7 and 10 are quote-asset volumes; COIN-M's are base-asset volumes
    quote_decimals = pd + qd if market is Market.UM else BASE_DECIMALS
    return [
        k.open_ms, fixed(k.open, pd), fixed(k.high, pd), fixed(k.low, pd), fixed(k.close, pd),
        fixed(k.volume, qd), k.close_ms, fixed(k.quote, quote_decimals), k.count,
        fixed(k.taker_buy_volume, qd), fixed(k.taker_buy_quote, quote_decimals), "0",
    ]  # fmt: skip


def kline_rows(
    rows: EncodedRows, series: KlineSeries, klines: Sequence[Kline], inst: Instrument, market: Market
) -> msgspec.Raw:
    """The answer of `klines` or `continuousKlines` (§7.8) of ``klines``, read from
    ``series``: its settled klines (all but the series' latest, which trades still change)
    joined once while the series has no revision, each row written once while unchanged."""

    def encode(k: Stamped) -> bytes:
        return _encode_row(rest_row(cast(Kline, k), inst, market))

    if not klines:
        return array()
    last = klines[-1]
    settled = klines[:-1] if last is series.latest() else klines
    head = b""
    if settled:

        def join() -> bytes:
            return rows.counted(series, "rest", settled, [k.open_ms for k in settled], encode)

        span = (series.revisions, settled[0].open_ms, settled[-1].open_ms, len(settled))
        head = rows.span(series, "rest", span, join)
    tail = b"" if settled is klines else rows.counted(series, "rest", (last,), (last.open_ms,), encode)
    return array(head, tail)


@dataclass(frozen=True, slots=True)
class Method:
    weight: Callable[[Params], int]
    answer: Callable[[Params, int], Any]  # (params, now_ms) -> JSON-ready result, or Spliced
    # params -> the answer as a function of the time, the params read once: for a request
    # asked again and again (a REST poller's, rest.RestQuestion; the WebSocket API's kept
    # requests); it refuses as ``answer`` would (then ``answer`` is asked each time)
    prepared: Callable[[Params], Callable[[int], Any]] | None = None


class MarketData:
    """The answers of one market, over its view."""

    def __init__(self, view: MarketView, *, cm_arrays: bool, past: PastAnswers | None = None) -> None:
        """``cm_arrays``: COIN-M REST answers tickers with an array even for one symbol
        (§7.5); the WebSocket API answers one symbol with one object on both markets.
        ``past``: what happened before the live start, for a source that has a past."""
        self.view = view
        self.past = past
        self.market = view.market
        self._cm = view.market is Market.CM
        self._always_array = self._cm and cm_arrays
        self._book_rows: dict[str, tuple[bytes, msgspec.Raw]] = {}  # symbol -> (payload, its row)
        self._price_rows: dict[str, tuple[LastPrice, msgspec.Raw]] = {}  # symbol -> (last trade, its row)
        # (symbol, limit) -> ((book id, whether the full book), `"bids":…,"asks":…}` encoded)
        self._depth_levels: dict[tuple[str, int], tuple[tuple[int, bool], bytes]] = {}
        self.rows = EncodedRows()  # the history answers' rows, encoded once (encoded_rows.py)
        self.methods: dict[str, Method] = {
            "ticker.price": Method(self.ticker_price_weight, self.ticker_price, self.ticker_price_of),
            "ticker.book": Method(self.ticker_book_weight, self.ticker_book),
            "depth": Method(self.depth_weight, self.depth, self.depth_of),
            "rpiDepth": Method(self.rpi_depth_weight, self.rpi_depth),
            "ticker.24hr": Method(self.ticker_24h_weight, self.ticker_24h),
            "klines": Method(self.klines_weight, self.klines),
        }

    # -- symbol selection --------------------------------------------------------------

    def _symbol(self, params: Params, *, required: bool) -> SymbolView | None:
        return required_symbol(self.view, params) if required else named_symbol(self.view, params)

    def _selection(self, params: Params) -> tuple[list[SymbolView], bool]:
        """The symbols a ticker request names, and whether the answer is a single object.

        COIN-M takes `symbol` or `pair`, never both, and answers with an array (§7.5).
        """
        view = self._symbol(params, required=False)
        pair = text_param(params, "pair") if self._cm else None
        if view is not None and pair is not None:
            raise RequestRefused(-1106, "Parameter 'pair' sent when not required.")
        if view is not None:
            return [view], not self._always_array
        views = list(self.view.symbols.values())
        if pair is not None:
            views = [v for v in views if v.inst.pair == pair.upper()]
            if not views:
                raise BAD_SYMBOL()
        return views, False

    def _has_selection(self, params: Params) -> bool:
        return bool(params.get("symbol")) or (self._cm and bool(params.get("pair")))

    @staticmethod
    def _one_symbol(params: Params) -> bool:
        """Whether a ticker request is weighed as one symbol's (§7.5–§7.7: "with symbol");
        COIN-M's ``pair``, every contract of it, is weighed as without (never less than Binance
        documents: a pair is no ``symbol``)."""
        return bool(params.get("symbol"))

    # the selection rules, for the other answer families (protocol/derivatives_data.py)
    symbol, selection, has_selection = _symbol, _selection, _has_selection

    # -- ticker.price (§6.2, §7.5) ---------------------------------------------------------

    def ticker_price_weight(self, params: Params) -> int:
        return 1 if self._one_symbol(params) else 2

    def ticker_price(self, params: Params, now_ms: int) -> Any:
        views, single = self._selection(params)
        rows = [row for view in views if (row := self._price_row(view)) is not None]
        return rows[0] if single and rows else rows

    def ticker_price_of(self, params: Params) -> Callable[[int], Any]:
        """``ticker_price``'s answer to ``params`` as a function of the time, its symbols
        read once."""
        views, single = self._selection(params)
        if not single:
            return functools.partial(self.ticker_price, params)
        view = views[0]
        symbol, rows, last_price = view.inst.symbol, self._price_rows, self.view.last_price

        def answer(now_ms: int) -> Any:
            cached = rows.get(symbol)  # _price_row's, its first step inlined: asked per request
            if cached is not None and cached[0] is last_price(view):
                return cached[1]
            return self._price_row(view) or []

        return answer

    def _price_row(self, view: SymbolView) -> msgspec.Raw | None:
        """A symbol's price row, encoded once per trade (as ticker.book's rows per
        bookTicker): a poller asks far more often than a symbol trades."""
        last = self.view.last_price(view)
        if last is None:
            return None
        cached = self._price_rows.get(view.inst.symbol)
        if cached is not None and cached[0] is last:
            return cached[1]
        price = fixed(last.price, view.inst.price_decimals)
        if self._cm:
            row = {"symbol": view.inst.symbol, "ps": view.inst.pair, "price": price, "time": last.time_ms}
        else:
            row = {"symbol": view.inst.symbol, "price": price, "time": last.time_ms}
        raw = msgspec.Raw(_encode(row))
        self._price_rows[view.inst.symbol] = (last, raw)
        return raw

    # -- ticker.book (§6.3, §7.6) ----------------------------------------------------------

    def ticker_book_weight(self, params: Params) -> int:
        return 2 if self._one_symbol(params) else 5

    def ticker_book(self, params: Params, now_ms: int) -> Any:
        views, single = self._selection(params)
        rows = []
        cache = self._book_rows
        for view in views:
            pushed = view.book_ticker
            if pushed is None:
                continue
            cached = cache.get(view.inst.symbol)
            if cached is not None and cached[0] is pushed:
                rows.append(cached[1])
                continue
            # Encoded once per bookTicker pushed: a busy symbol is asked about far more
            # often than its top of book changes.
            bt = self.view.book_ticker(view)
            assert bt is not None
            row: dict[str, Any] = {"lastUpdateId": bt.update_id, "symbol": bt.symbol}
            if self._cm:
                row["pair"] = view.inst.pair
            row.update(
                bidPrice=bt.bid_price, bidQty=bt.bid_qty, askPrice=bt.ask_price, askQty=bt.ask_qty,
                time=bt.transaction_time,
            )  # fmt: skip
            raw = msgspec.Raw(_encode(row))
            cache[view.inst.symbol] = (pushed, raw)
            rows.append(raw)
        return rows[0] if single and rows else rows

    # -- depth (§6.1, §7.4) ----------------------------------------------------------------

    def depth_weight(self, params: Params) -> int:
        """The WebSocket API's ``depth`` (§6): by its limit, 500 when none is sent."""
        limit = int_param(params, "limit")
        return DEPTH_LIMITS.get(500 if limit is None else limit, 1)

    def rest_depth_weight(self, params: Params) -> int:
        """REST's ``depth`` (§7.4): by its limit, but 1 when none is sent, as measured on
        Binance (500 levels answered all the same); a refused limit costs 1 too."""
        limit = int_param(params, "limit")
        return 1 if limit is None else DEPTH_LIMITS.get(limit, 1)

    def depth(self, params: Params, now_ms: int) -> Any:
        """The view's book at its last diff-depth event (§6.1, §7.4): ``lastUpdateId`` is the
        id its source reserved for the next update, which the next event of every speed's
        diff-depth chain holds in ``[U, u]`` (§4.9, ``market/book/depth.py``); for a book
        followed from somebody else's stream, which reserves none, the last id applied."""
        return self.depth_of(params)(now_ms)

    def rpi_depth_weight(self, params: Params) -> int:
        return 20

    def rpi_depth(self, params: Params, now_ms: int) -> Any:
        """``GET /fapi/v1/rpiDepth`` (§4.11): the simulated books hold no RPI orders, so it
        is the plain book, limit 1000 unless asked otherwise."""
        limit = int_param(params, "limit")
        return self._snapshot(params, 1000 if limit is None else limit, now_ms)

    def depth_of(self, params: Params) -> Callable[[int], Spliced]:
        """``depth``'s answer to ``params`` as a function of the time, its symbol and limit
        read once (the WebSocket API keeps it for every request with the same params);
        refuses as ``depth`` does."""
        limit = int_param(params, "limit")
        view = self._symbol(params, required=True)
        assert view is not None
        return functools.partial(self.snapshot_of, view, 500 if limit is None else limit)

    def _snapshot(self, params: Params, limit: int, now_ms: int) -> Spliced:
        view = self._symbol(params, required=True)
        assert view is not None
        return self.snapshot_of(view, limit, now_ms)

    def snapshot_of(self, view: SymbolView, limit: int, now_ms: int) -> Spliced:
        """The book of ``view`` at its last diff-depth event, ``limit`` levels a side."""
        if limit not in DEPTH_LIMITS:
            raise RequestRefused(-4021, f"{limit} is not valid depth limit")
        book = self.view.book(view)
        # The levels are encoded once per book state and limit: a book that has not moved
        # answers a thousand-level request from bytes (only `E` is new each time).
        key = (view.inst.symbol, limit)
        state = (book.last_update_id, book is view.book)
        cached = self._depth_levels.get(key)
        if cached is None or cached[0] != state:
            if book is view.book:
                levels = view.book_text.answer(book, limit)
            else:  # a top-of-book stand-in (a source without depth): two levels
                levels = BookText(view.inst.price_decimals, view.inst.qty_decimals).answer(book, limit)
            cached = self._depth_levels[key] = (state, levels)
        # The id reserved for the book's next update: the next event of every speed holds
        # it, even when nothing moved since the last (§4.9 step 4, market/book/depth.py).
        snapshot_id = book.next_update_id or book.last_update_id
        if self._cm:
            inst = view.inst
            head = b'{"lastUpdateId":%d,"symbol":"%s","pair":"%s","E":%d,"T":%d,' % (
                snapshot_id, inst.symbol.encode(), inst.pair.encode(), now_ms, view.book_time_ms,
            )  # fmt: skip
        else:
            head = b'{"lastUpdateId":%d,"E":%d,"T":%d,' % (snapshot_id, now_ms, view.book_time_ms)
        # tuple.__new__ is what Spliced(head, tail) runs, without its Python-level __new__
        return tuple.__new__(Spliced, (head, cached[1]))

    # -- 24 h ticker (§7.7) ----------------------------------------------------------------

    def ticker_24h_weight(self, params: Params) -> int:
        return 1 if self._one_symbol(params) else 40

    def ticker_24h(self, params: Params, now_ms: int) -> Any:
        views, single = self._selection(params)
        rows = []
        for view in views:
            t = self.view.ticker(view, now_ms)  # one the source never pushed: of the view's trades
            if t is None:
                continue
            row: dict[str, Any] = {"symbol": t.symbol}
            if self._cm:
                row["pair"] = view.inst.pair
            row.update(
                priceChange=t.price_change, priceChangePercent=t.price_change_percent,
                weightedAvgPrice=t.weighted_avg_price, lastPrice=t.close, lastQty=t.last_qty,
                openPrice=t.open, highPrice=t.high, lowPrice=t.low, volume=t.volume,
            )  # fmt: skip
            row["baseVolume" if self._cm else "quoteVolume"] = t.quote_volume
            row.update(
                openTime=t.open_time, closeTime=t.close_time, firstId=t.first_trade_id,
                lastId=t.last_trade_id, count=t.trade_count,
            )  # fmt: skip
            rows.append(row)
        return rows[0] if single and rows else rows

    # -- klines (§7.8) -------------------------------------------------------------------

    def klines_weight(self, params: Params) -> int:
        return klines_weight(params)

    def klines(self, params: Params, now_ms: int) -> Any:
        view = self._symbol(params, required=True)
        assert view is not None
        q = kline_query(params, coin_m_now=None if self.market is Market.UM else now_ms)
        series = self.view.klines(view).series(q.interval)
        return self.spliced_klines(q, series, view.inst)

    def spliced_klines(self, q: KlineQuery, series: KlineSeries, inst: Instrument) -> Any:
        """``klines`` of ``series``, the past's before the live start in front (``past.py``)."""
        market, rows = self.market, self.rows
        if self.past is None or not self.past.knows(inst.symbol):
            return kline_rows(rows, series, series.query(q.start_ms, q.end_ms, q.limit), inst, market)

        def render(klines: Sequence[Kline]) -> msgspec.Raw:
            return kline_rows(rows, series, klines, inst, market)

        def row(k: Kline) -> list[int | str]:
            return rest_row(k, inst, market)

        past = self.past
        # the past's klines not yet made, an hour of minutes a piece (protocol/later.py)
        return eventually(
            past.kline_pieces(inst, q.interval, q.start_ms, q.end_ms, q.limit),
            lambda: past.klines(inst, q.interval, q.start_ms, q.end_ms, q.limit, series, render, row),
        )
