"""A symbol's bookTicker, trade and aggTrade payloads as bytes around what changes: the
plant's most frequent pushes, one per recorded top, trade or aggregate (spec §4.1, §4.4,
§4.5), assembled with ``%`` instead of a struct built and encoded, whose four decimals were
each written by ``units.fixed`` first.

The templates come from the payloads' encoders (``payloads.Encoders``: the keys each market
and payload format carries, in order, a 2026 `st` included) as ``market/payloads/templates.py`` says:
the struct keeps being the one home of the keys. Prices and sizes are never negative, as
the templates' decimal slots require. ``tests/market/test_event_frames.py`` holds every
template equal to its struct's encoding, for every instrument of both markets and both
payload formats.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import msgspec

from tickerplant.market.instruments import Instrument
from tickerplant.market.payloads.builders import Encoders
from tickerplant.market.payloads.templates import (
    DECIMAL,
    FALSE,
    INT,
    RAW,
    TRUE,
    decimal_slot,
    decimal_texts,
    markers,
    template,
)
from tickerplant.market.units import Remembered
from tickerplant.market.updates import Trade

__all__ = ["EventFrames"]

_Texts = tuple[Remembered[int, bytes], Remembered[int, bytes]]  # a symbol's price and size texts
_MAKER = (FALSE, TRUE)  # a buyer-is-maker flag (a bool, so 0 or 1) as its JSON


class EventFrames:
    """``inst``'s bookTicker, trade and aggTrade payloads in the format of ``enc``: one at a
    time (each decimal given as ``divmod(units, scale)``), or a column of them at once (the
    replay of public files, ``feeds/replay/runs.py``: one C-level ``map`` of the template
    over the columns, each decimal's text looked up in a ``decimal_texts`` table, which only a
    replayed symbol makes and keeps)."""

    __slots__ = (
        "_agg",
        "_agg_texts",
        "_book",
        "_book_texts",
        "_decimals",
        "_normal_qty",
        "_price",
        "_qty",
        "_texts",
        "_trade",
        "_trade_texts",
    )

    def __init__(
        self, inst: Instrument, enc: Encoders, encode: Callable[[Any], bytes] = msgspec.json.encode
    ) -> None:
        (self._price, p), (self._qty, q) = decimal_slot(inst.price_decimals), decimal_slot(inst.qty_decimals)
        self._texts: _Texts | None = None  # made by the first column
        self._decimals = inst.price_decimals, inst.qty_decimals
        symbol = (inst.symbol, inst.pair) if enc.pair else (inst.symbol,)
        d = DECIMAL  # the columns' slots: a decimal's text, remembered (decimal_texts)
        # u [ps] b B a A T E
        m = markers(7)
        make: Any = enc.book_ticker
        book = encode(make(m[0], *symbol, *m[1:7]))
        self._book = template(book, (INT, p, q, p, q, INT, INT))
        self._book_texts = template(book, (INT, d, d, d, d, INT, INT))
        # E T t p q m (X: the plant's trades are market trades)
        m = markers(6)
        make = enc.trade
        trade = encode(make(m[0], m[1], inst.symbol, m[2], m[3], m[4], "MARKET", m[5]))
        self._trade = template(trade, (INT, INT, INT, p, q, RAW))
        self._trade_texts = template(trade, (INT, INT, INT, d, d, RAW))
        # E a p q [nq] f l T m
        self._normal_qty = enc.normal_qty
        m = markers(9 if enc.normal_qty else 8)
        make = enc.agg_trade
        agg = encode(make(m[0], m[1], inst.symbol, *m[2:]))
        sizes, texts = ((q, q), (d, d)) if enc.normal_qty else ((q,), (d,))
        self._agg = template(agg, (INT, INT, p, *sizes, INT, INT, INT, RAW))
        self._agg_texts = template(agg, (INT, INT, d, *texts, INT, INT, INT, RAW))

    def _decimal_texts(self) -> _Texts:
        """The price and size texts the columns are written with: made at the first column
        (a replay's), so that a source that never writes columns keeps none."""
        if self._texts is None:
            self._texts = decimal_texts(self._decimals[0]), decimal_texts(self._decimals[1])
        return self._texts

    def book_ticker(
        self, update_id: int, bid_px: int, bid_qty: int, ask_px: int, ask_qty: int, time_ms: int, now_ms: int
    ) -> bytes:
        price, qty = self._price, self._qty
        payload: bytes = self._book % (
            update_id, *divmod(bid_px, price), *divmod(bid_qty, qty), *divmod(ask_px, price),
            *divmod(ask_qty, qty), time_ms, now_ms,
        )  # fmt: skip
        return payload

    def book_tickers(
        self,
        update_ids: Sequence[int],
        bid_pxs: Sequence[int],
        bid_qtys: Sequence[int],
        ask_pxs: Sequence[int],
        ask_qtys: Sequence[int],
        times_ms: Sequence[int],
        event_ms: Sequence[int],
    ) -> list[bytes]:
        """``book_ticker`` of each row of the columns."""
        prices, qtys = self._decimal_texts()
        price, qty = prices.__getitem__, qtys.__getitem__
        return self.book_tickers_of_texts(
            update_ids, map(price, bid_pxs), map(qty, bid_qtys), map(price, ask_pxs), map(qty, ask_qtys),
            times_ms, event_ms,
        )  # fmt: skip

    def book_tickers_of_texts(
        self,
        update_ids: Iterable[int],
        bid_pxs: Iterable[bytes],
        bid_qtys: Iterable[bytes],
        ask_pxs: Iterable[bytes],
        ask_qtys: Iterable[bytes],
        times_ms: Iterable[int],
        event_ms: Iterable[int],
    ) -> list[bytes]:
        """``book_tickers`` of columns whose prices and sizes are already their texts, as
        ``units.fixed`` writes them at the instrument's decimals (``RowBlock.texts``)."""
        rows = zip(update_ids, bid_pxs, bid_qtys, ask_pxs, ask_qtys, times_ms, event_ms, strict=True)
        return list(map(self._book_texts.__mod__, rows))

    def trade(
        self, now_ms: int, time_ms: int, trade_id: int, price: int, qty: int, buyer_is_maker: bool
    ) -> bytes:
        payload: bytes = self._trade % (
            now_ms, time_ms, trade_id, *divmod(price, self._price), *divmod(qty, self._qty),
            TRUE if buyer_is_maker else FALSE,
        )  # fmt: skip
        return payload

    def trades(
        self,
        now_ms: Sequence[int],
        times_ms: Sequence[int],
        trade_ids: Sequence[int],
        prices: Sequence[int],
        qtys: Sequence[int],
        buyer_is_maker: Sequence[bool],
    ) -> list[bytes]:
        """``trade`` of each row of the columns."""
        price_texts, qty_texts = self._decimal_texts()
        price, qty, maker = price_texts.__getitem__, qty_texts.__getitem__, _MAKER.__getitem__
        texts = map(price, prices), map(qty, qtys), map(maker, buyer_is_maker)
        rows = zip(now_ms, times_ms, trade_ids, *texts, strict=True)
        return list(map(self._trade_texts.__mod__, rows))

    def agg_trade(
        self,
        now_ms: int,
        agg_id: int,
        price: int,
        qty: int,
        first_id: int,
        last_id: int,
        time_ms: int,
        buyer_is_maker: bool,
    ) -> bytes:
        size = divmod(qty, self._qty)
        maker = TRUE if buyer_is_maker else FALSE
        if self._normal_qty:  # USDⓈ-M's nq: the plant's aggregates are all normal orders
            payload: bytes = self._agg % (
                now_ms, agg_id, *divmod(price, self._price), *size, *size, first_id, last_id, time_ms, maker
            )  # fmt: skip
            return payload
        payload = self._agg % (
            now_ms, agg_id, *divmod(price, self._price), *size, first_id, last_id, time_ms, maker
        )  # fmt: skip
        return payload

    def agg_trades(
        self,
        now_ms: Sequence[int],
        agg_ids: Sequence[int],
        prices: Sequence[int],
        qtys: Sequence[int],
        first_ids: Sequence[int],
        last_ids: Sequence[int],
        times_ms: Sequence[int],
        buyer_is_maker: Sequence[bool],
    ) -> list[bytes]:
        """``agg_trade`` of each row of the columns."""
        price_texts, qty_texts = self._decimal_texts()
        sizes = list(map(qty_texts.__getitem__, qtys))
        texts = map(price_texts.__getitem__, prices)
        makers = map(_MAKER.__getitem__, buyer_is_maker)
        # USDⓈ-M's nq: the same size again (the plant's aggregates are all normal orders)
        normal: tuple[Sequence[bytes], ...] = (sizes,) if self._normal_qty else ()
        rows = zip(now_ms, agg_ids, texts, sizes, *normal, first_ids, last_ids, times_ms, makers, strict=True)
        return list(map(self._agg_texts.__mod__, rows))

    def fill(self, trade: Trade, now_ms: int) -> bytes:
        """A simulated fill's `@aggTrade`: each fill is its own aggregate, as a sweep fills
        every level at its own price and aggregates only join fills at one price (§4.4),
        under ``trade.agg_id`` (the trade id when the source has no aggregate ids)."""
        tid, price, qty = trade.trade_id, trade.price, trade.qty
        agg_id = trade.agg_id or tid
        return self.agg_trade(now_ms, agg_id, price, qty, tid, tid, trade.time_ms, trade.buyer_is_maker)
