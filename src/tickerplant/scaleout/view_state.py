"""A market view's state, taken in the plant process and loaded into a gateway's view.

A gateway that starts after its plant, or loses frames (a NATS reconnect, a slow
consumer), or sees its plant restart, has a view that is missing what those frames said:
books, the last bookTicker and 24 h ticker, klines, trades, open interest, mark state.
Rebuilding it from messages would need every message since the plant's start (the klines
are a day of trades), so the plant keeps a ``MarketView`` of its own per market, fed
from what it publishes, and answers a request with that view's state as of its last
frame; the gateway loads it into its own view, in place (the view's routes and the
protocol surfaces hold the ``SymbolView`` objects and read ``marks`` on each request), and
applies the frames after it.

The state is a ``MarketState``, msgpack through msgspec: explicit structs of plain values
(integers, strings, the payloads' bytes as pushed), the bus's version first
(``frames.BUS_VERSION``). It is validated as it is decoded (every field's type) and as it
is built (book sides of even columns, klines ascending on their interval's grid, rings of
even columns in time order), and a state that does not validate raises ``StateError``
with the view left as it was: ``load`` builds every symbol's stores first and puts them in
place only once all are built. The gateway counts, logs and asks again. Nothing on the
bus is unpickled or evaluated.

``capture`` applies each symbol's backlogs first, so they travel empty, and reads every
store as columns of integers (the C-level ``tolist`` of the rings' arrays, an attribute
getter per kline): one day of klines and 10,000 trades a symbol are the bulk of it.
"""

from __future__ import annotations

import itertools
import operator
from typing import NamedTuple

import msgspec

from tickerplant.bus.frames import BUS_VERSION, unreadable
from tickerplant.market.book.order_book import OrderBook
from tickerplant.market.book.text import BookText
from tickerplant.market.derivatives.mark_streams import FundingEvent
from tickerplant.market.derivatives.open_interest import InterestHistory, InterestNote
from tickerplant.market.instruments import Market
from tickerplant.market.klines.candles import Kline
from tickerplant.market.klines.price_candles import PriceBars
from tickerplant.market.klines.symbol_klines import SymbolKlines
from tickerplant.market.plant.view import LastPrice, MarketView, SymbolView
from tickerplant.market.trades.history import Aggregate, TradeHistory
from tickerplant.market.updates import Level

__all__ = ["MarketState", "StateError", "SymbolState", "capture", "load"]


class StateError(ValueError):
    """A state that is not one of this version's, or not of this view."""


class BookState(msgspec.Struct, frozen=True, array_like=True, gc=False):
    bid_prices: list[int]  # price units, ascending
    bid_qtys: list[int]  # quantity units at each (> 0)
    ask_prices: list[int]
    ask_qtys: list[int]
    last_update_id: int  # the last diff-depth event's u; 0: none yet
    time_ms: int  # its transaction time (SymbolView.book_time_ms)
    kept: bool  # a source sent whole books: no top-of-book stand-in (SymbolView.book_kept)
    next_update_id: int = 0  # the id the next update will get, which a snapshot reports


# A kline's fields in ``Kline``'s order: open and close time, open, high, low and close
# price, volume, quote figure, trade count, taker-buy volume and quote, first and last id.
KlineRow = tuple[int, int, int, int, int, int, int, int, int, int, int, int, int]
_KLINE = operator.attrgetter(
    "open_ms", "close_ms", "open", "high", "low", "close", "volume", "quote", "count",
    "taker_buy_volume", "taker_buy_quote", "first_id", "last_id",
)  # fmt: skip


class InterestState(msgspec.Struct, frozen=True, array_like=True, gc=False):
    latest: InterestNote | None  # the last `<symbol>@openInterest` note
    times: list[int]  # the 5-minute points, oldest first (InterestHistory.columns)
    qtys: list[int]
    values: list[int]


class MarkSymbolState(msgspec.Struct, frozen=True, array_like=True, gc=False):
    state: bytes | None  # the last `<symbol>@markState` payload, as pushed
    funding: list[FundingEvent]  # ascending in time
    bars: list[list[int]]  # the 1-minute price bars' columns (PriceBars.columns)


class SymbolState(msgspec.Struct, frozen=True, array_like=True, gc=False):
    book_ticker: bytes | None  # the last bookTicker payload, as pushed
    ticker: bytes | None  # the last 24hrTicker payload
    last_price: LastPrice | None
    book: BookState
    klines: dict[str, list[KlineRow]]  # interval -> its klines, ascending by open time
    trades: list[list[int]]  # the recent aggregates' columns (TradeHistory.columns)
    open_interest: InterestState
    mark: MarkSymbolState


class MarketState(msgspec.Struct, frozen=True, array_like=True, gc=False):
    version: int  # BUS_VERSION
    market: Market
    symbols: dict[str, SymbolState]


_decoder = msgspec.msgpack.Decoder(MarketState)


def capture(view: MarketView) -> bytes:
    """The view's state: every symbol's, with its backlogs applied, and its mark state."""
    return msgspec.msgpack.encode(
        MarketState(BUS_VERSION, view.market, {name: _symbol(view, sv) for name, sv in view.symbols.items()})
    )


def _symbol(view: MarketView, sv: SymbolView) -> SymbolState:
    view.book(sv)  # applies the depth backlog (the book it answers may be a top-of-book stand-in)
    view.klines(sv)  # and the trades'
    book = sv.book
    klines = {interval: list(map(_KLINE, sv.klines.series(interval))) for interval in sv.klines.intervals}
    interest = sv.open_interest
    mark_payload, funding, bars = view.marks.held(sv.inst.symbol)
    return SymbolState(
        sv.book_ticker,
        sv.ticker,
        sv.last_price,
        BookState(
            book.bid_prices,
            list(map(book.bids.__getitem__, book.bid_prices)),
            book.ask_prices,
            list(map(book.asks.__getitem__, book.ask_prices)),
            book.last_update_id,
            sv.book_time_ms,
            sv.book_kept,
            book.next_update_id,
        ),
        klines,
        sv.trades.held(),
        InterestState(interest.latest, *interest.columns()),
        MarkSymbolState(mark_payload, funding, bars.columns()),
    )


class _Built(NamedTuple):
    """One symbol's stores built from its state, to be put in place."""

    state: SymbolState
    book: OrderBook
    klines: SymbolKlines
    trades: TradeHistory
    interest: InterestHistory
    bars: PriceBars


def decode(data: bytes) -> MarketState:
    """A state from its bytes; ``StateError`` when they are not one of this version's."""
    try:
        state = _decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise StateError(str(unreadable("view state", data, exc))) from None
    if state.version != BUS_VERSION:
        raise StateError(str(unreadable("view state", data, ValueError(f"version {state.version}"))))
    return state


def load(view: MarketView, data: bytes) -> None:
    """Make ``view`` hold ``data`` (a ``capture`` of the same market's view); ``StateError``,
    with the view unchanged, when it does not validate. Symbols the view does not list are
    skipped."""
    state = decode(data)
    if state.market is not view.market:
        raise StateError(f"a state of market {state.market.value}, not {view.market.value}")
    built: list[tuple[SymbolView, _Built]] = []
    for name, symbol in state.symbols.items():
        target = view.symbols.get(name)
        if target is None:
            continue
        try:
            built.append((target, _build(target, symbol)))
        except (ValueError, OverflowError, TypeError) as exc:  # array('q') takes int64 only
            raise StateError(f"{view.market.value} {name}: {exc}") from None
    for target, stores in built:  # nothing below can fail: the view changes whole or not at all
        symbol = stores.state
        target.book_ticker, target.ticker = symbol.book_ticker, symbol.ticker
        target.last_price = symbol.last_price
        target.depth_backlog, target.trade_backlog = [], []
        target.book = stores.book
        target.book_text = BookText(target.inst.price_decimals, target.inst.qty_decimals)
        target.book_time_ms, target.book_kept = symbol.book.time_ms, symbol.book.kept
        target.klines, target.trades, target.open_interest = stores.klines, stores.trades, stores.interest
        view.marks.load(target.inst.symbol, symbol.mark.state, symbol.mark.funding, stores.bars)


def _build(target: SymbolView, symbol: SymbolState) -> _Built:
    levels = symbol.book
    if len(levels.bid_prices) != len(levels.bid_qtys) or len(levels.ask_prices) != len(levels.ask_qtys):
        raise ValueError("book sides of uneven columns")
    book = OrderBook()
    bids = map(Level, levels.bid_prices, levels.bid_qtys)
    book.load(bids, map(Level, levels.ask_prices, levels.ask_qtys), levels.last_update_id)
    book.next_update_id = levels.next_update_id  # after load, which clears it
    book.settle()
    intervals = target.klines.intervals
    klines = SymbolKlines(intervals)
    for interval, rows in symbol.klines.items():
        if interval not in intervals:
            raise ValueError(f"klines of interval {interval!r}, which {target.inst.symbol} does not keep")
        klines.series(interval).load([Kline(*row) for row in rows])
    columns = symbol.trades
    if len(columns) != len(Aggregate._fields) or len({len(column) for column in columns}) > 1:
        raise ValueError("trades of uneven columns")
    trades = TradeHistory(target.trades.capacity)
    if columns[0]:
        trades.add_many(columns)
    interest = InterestHistory()
    oi = symbol.open_interest
    interest.load(oi.latest, oi.times, oi.qtys, oi.values)
    funding = symbol.mark.funding
    if any(later.T <= earlier.T for earlier, later in itertools.pairwise(funding)):
        raise ValueError("funding events whose times do not ascend")
    bars = PriceBars()
    bars.load(symbol.mark.bars)
    return _Built(symbol, book, klines, trades, interest, bars)
