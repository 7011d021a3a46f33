"""The plant: per-symbol market state turned into encoded stream payloads.

A source's updates go in (``apply``), and so does the passing of time (``tick``); out come
``StreamMessage``s, each naming the canonical stream it belongs to and carrying its payload
already encoded. Every payload is encoded here exactly once, however many clients get it.

Cadences (spec §4.14): `<symbol>@bookTicker` real-time; `!bookTicker` real-time on COIN-M
[S2] and a 5 s batch on USDⓈ-M (one object per symbol whose top changed, §4.1);
`<symbol>@miniTicker` every 2 s on USDⓈ-M [S4] and 500 ms on COIN-M; `!miniTicker@arr`
every 1000 ms with only the tickers that changed (§4.2).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import msgspec

from tickerplant.market.book import OrderBook
from tickerplant.market.encoding import fixed
from tickerplant.market.events import BookTickerCM, BookTickerUM, MiniTickerCM, MiniTickerUM
from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.stats import RollingWindow
from tickerplant.market.updates import BookUpdate, MarketUpdate, Trade

__all__ = ["Plant", "StreamMessage", "SymbolState"]

DAY_MS = 86_400_000
ALL_BOOK_TICKER = "!bookTicker"
ALL_MINI_TICKER = "!miniTicker@arr"
_BASE_DECIMALS = 8  # COIN-M base-asset volumes are written with 8 decimals


class StreamMessage(NamedTuple):
    stream: str  # canonical stream name, e.g. "btcusdt@bookTicker"
    payload: bytes  # the JSON payload, encoded once


class SymbolState:
    """Everything the plant knows about one symbol."""

    __slots__ = (
        "book",
        "book_ticker",
        "book_ticker_name",
        "inst",
        "mini_changed",
        "mini_name",
        "top",
        "top_changed",
        "window",
    )

    def __init__(self, inst: Instrument, window_ms: int) -> None:
        self.inst = inst
        self.book = OrderBook()
        self.window = RollingWindow(window_ms)
        self.top: tuple[int, int, int, int] | None = None
        self.book_ticker: bytes | None = None  # the last bookTicker payload
        self.top_changed = False  # since the last USDⓈ-M !bookTicker batch
        self.mini_changed = True  # since the last !miniTicker@arr push
        lower = inst.symbol.lower()
        self.book_ticker_name = f"{lower}@bookTicker"
        self.mini_name = f"{lower}@miniTicker"


class Plant:
    def __init__(
        self,
        market: Market,
        instruments: Sequence[Instrument],
        *,
        now_ms: int,
        window_ms: int = DAY_MS,
    ) -> None:
        self.market = market
        self.symbols: dict[str, SymbolState] = {
            inst.symbol: SymbolState(inst, window_ms) for inst in instruments
        }
        self._encode = msgspec.json.Encoder().encode
        um = market is Market.UM
        self._mini_interval_ms = 2000 if um else 500
        self._all_mini_interval_ms = 1000
        self._all_book_interval_ms = 5000 if um else 0  # 0: real-time
        self._next_mini_ms = now_ms + self._mini_interval_ms
        self._next_all_mini_ms = now_ms + self._all_mini_interval_ms
        self._next_all_book_ms = now_ms + (self._all_book_interval_ms or DAY_MS)

    @property
    def next_tick_ms(self) -> int:
        return min(self._next_mini_ms, self._next_all_mini_ms, self._next_all_book_ms)

    def warm(self, trades: Iterable[Trade]) -> None:
        """Feed past trades into the rolling windows without publishing anything."""
        for trade in trades:
            self._record(trade)

    def apply(self, update: MarketUpdate, now_ms: int, out: list[StreamMessage]) -> None:
        if type(update) is Trade:
            self._record(update)
        else:
            assert type(update) is BookUpdate
            self._apply_book(update, now_ms, out)

    def tick(self, now_ms: int, out: list[StreamMessage]) -> None:
        """Publish every periodic stream that is due at ``now_ms``."""
        if now_ms >= self._next_mini_ms:
            self._next_mini_ms = _next_boundary(self._next_mini_ms, self._mini_interval_ms, now_ms)
            for state in self.symbols.values():
                if state.window.evict(now_ms):
                    state.mini_changed = True
                out.append(StreamMessage(state.mini_name, self._encode(self._mini(state, now_ms))))
        if now_ms >= self._next_all_mini_ms:
            self._next_all_mini_ms = _next_boundary(
                self._next_all_mini_ms, self._all_mini_interval_ms, now_ms
            )
            changed = []
            for state in self.symbols.values():
                if state.window.evict(now_ms):
                    state.mini_changed = True
                if state.mini_changed:
                    state.mini_changed = False
                    changed.append(self._mini(state, now_ms))
            if changed:
                out.append(StreamMessage(ALL_MINI_TICKER, self._encode(changed)))
        if self._all_book_interval_ms and now_ms >= self._next_all_book_ms:
            self._next_all_book_ms = _next_boundary(
                self._next_all_book_ms, self._all_book_interval_ms, now_ms
            )
            for state in self.symbols.values():
                if state.top_changed and state.book_ticker is not None:
                    state.top_changed = False
                    out.append(StreamMessage(ALL_BOOK_TICKER, state.book_ticker))

    # -- state -----------------------------------------------------------------------

    def _record(self, trade: Trade) -> None:
        state = self.symbols[trade.symbol]
        state.window.add(trade.time_ms, trade.trade_id, trade.price, trade.qty, self._quote(state, trade))
        state.mini_changed = True

    def _quote(self, state: SymbolState, trade: Trade) -> int:
        inst = state.inst
        if self.market is Market.UM:
            # quote asset, exact, in units of 10**-(price_decimals + qty_decimals)
            return trade.price * trade.qty
        # COIN-M "q" is the base-asset volume: contracts * contract size / price (§4.2)
        scale: int = 10 ** (inst.price_decimals + _BASE_DECIMALS - inst.qty_decimals)
        return (trade.qty * inst.contract_size * scale + trade.price // 2) // trade.price

    def _apply_book(self, update: BookUpdate, now_ms: int, out: list[StreamMessage]) -> None:
        state = self.symbols[update.symbol]
        book = state.book
        book.apply(update)
        bid = book.best_bid()
        ask = book.best_ask()
        if bid is None or ask is None:
            return
        top = (bid.price, bid.qty, ask.price, ask.qty)
        if top == state.top:
            return
        state.top = top
        payload = self._encode(self._book_ticker(state, update, now_ms))
        state.book_ticker = payload
        out.append(StreamMessage(state.book_ticker_name, payload))
        if self._all_book_interval_ms:
            state.top_changed = True
        else:
            out.append(StreamMessage(ALL_BOOK_TICKER, payload))

    # -- payloads --------------------------------------------------------------------

    def _book_ticker(
        self, state: SymbolState, update: BookUpdate, now_ms: int
    ) -> BookTickerUM | BookTickerCM:
        inst = state.inst
        assert state.top is not None
        bid_px, bid_qty, ask_px, ask_qty = state.top
        pd, qd = inst.price_decimals, inst.qty_decimals
        if self.market is Market.UM:
            return BookTickerUM(
                "bookTicker", update.update_id, inst.symbol,
                fixed(bid_px, pd), fixed(bid_qty, qd), fixed(ask_px, pd), fixed(ask_qty, qd),
                update.time_ms, now_ms,
            )  # fmt: skip
        return BookTickerCM(
            "bookTicker", update.update_id, inst.symbol, inst.pair,
            fixed(bid_px, pd), fixed(bid_qty, qd), fixed(ask_px, pd), fixed(ask_qty, qd),
            update.time_ms, now_ms,
        )  # fmt: skip

    def _mini(self, state: SymbolState, now_ms: int) -> MiniTickerUM | MiniTickerCM:
        inst = state.inst
        w = state.window
        pd, qd = inst.price_decimals, inst.qty_decimals
        c, o, h, lo = fixed(w.close, pd), fixed(w.open, pd), fixed(w.high, pd), fixed(w.low, pd)
        volume = fixed(w.volume, qd)
        if self.market is Market.UM:
            quote = fixed(w.quote_volume, pd + qd)
            return MiniTickerUM("24hrMiniTicker", now_ms, inst.symbol, c, o, h, lo, volume, quote)
        base = fixed(w.quote_volume, _BASE_DECIMALS)
        return MiniTickerCM(
            "24hrMiniTicker", now_ms, inst.symbol, inst.pair, c, o, h, lo, volume, base
        )


def _next_boundary(previous_ms: int, interval_ms: int, now_ms: int) -> int:
    """The next multiple of the cadence after now, without drifting or bunching up."""
    missed = (now_ms - previous_ms) // interval_ms + 1
    return previous_ms + missed * interval_ms
