"""COIN-M's mark-price and index-price kline streams (spec §3.5, and Binance's COIN-M pages
"Mark Price Kline/Candlestick Streams" and "Index Kline/Candlestick Streams"):
`<symbol>@markPriceKline_<interval>` and `<pair>@indexPriceKline_<interval>`, for the 15
intervals of the trade klines (§4.7; no `1s`).

Each candle is made of the source's samples of one price: a ``MarkPrice`` per symbol and an
``IndexPrice`` per pair, once a second from the simulator and from a replay of mark- and
index-price files. Open, high, low and close are the samples', `n` ("number of basic data")
their count, and `f`/`L` (Binance: "ignore") the times of the first and last, as Binance's
examples show them (`f` the open time, `L` a whole second). The candles are pushed as the
trade klines are (``kline_streams.py``, spec §4.7): every 250 ms when one changed since the
last push, and a final `"x":true` at the first tick past its close time, or at the first
sample past it if that comes first. An interval with no sample has no candle, and a sample
older than a candle's open (out of order) is not counted in it.

USDⓈ-M has neither stream (§3.5 lists both as COIN-M's), and the names are acknowledged
and silent there (``protocol.streams.resolve`` says why). It has one the docs do not list:
`p<SYMBOL>@kline_<interval>` (`pBTCUSDT@kline_1m`: `p` and the symbol in capitals), the
premium index's candles, which Binance's own web front end and client libraries subscribe
to (Binance.Net's premium-index klines build exactly that name) for every perpetual. No
payload of it is published; tickerplant writes the kline payload those libraries parse it
as (`"e":"kline"`, `s` and `k.s` the stream's `pBTCUSDT`), made like the price klines
above: o, h, l, c of the once-a-second premium index samples (the source's premium index,
or the one derived from mark and index, ``price_candles.premium_units``: the samples
`premiumIndexKlines` answers from), 8 decimals, negative when the premium is; `n` the
samples, `f`/`L` the first and last sample's times, the volumes `"0"`.
Both payload formats write the same bytes: klines get no `st` (§4.13).

A candle open at the live start whose interval opened before it holds only the live samples,
while REST's bar of it has the past's in front: its pushes join them (``past_parts.py``,
``owe``), as the trade klines' do.

Bounded by design: per COIN-M symbol and per pair, one open candle per interval (15) and
the stream names, whatever the rate of samples.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tickerplant.market.demand import Demand
from tickerplant.market.instruments import ContractType, Instrument, Market
from tickerplant.market.klines.candles import INTERVALS, close_time, open_time
from tickerplant.market.klines.frames import PRICE_SCALE, price_kline_template
from tickerplant.market.klines.past_parts import OwedParts, PastSource
from tickerplant.market.klines.price_candles import PriceBar, PriceKind, premium_units
from tickerplant.market.klines.streams import KLINE_PUSH_MS
from tickerplant.market.messages import StreamKind, StreamMessage
from tickerplant.market.payloads import derived_events
from tickerplant.market.payloads.templates import FALSE, TRUE
from tickerplant.market.units import fixed
from tickerplant.market.updates import MARK_DECIMALS, IndexPrice, MarkPrice

__all__ = ["PriceKlineStreams"]

_NEVER_MS = 1 << 62
_INTERVAL_TEXTS = [b'"%s"' % interval.encode() for interval in INTERVALS]  # `i` as written


@dataclass(slots=True)
class _Candle:
    open_ms: int  # kline open time
    close_ms: int  # kline close time: next open - 1
    open: int  # first sample, MARK_DECIMALS units
    high: int
    low: int
    close: int  # latest sample
    first_ms: int  # time of the first sample
    last_ms: int  # time of the latest sample
    count: int  # samples


class _Price:
    """One price's candles, one per interval (None: no sample in it yet), and its names."""

    __slots__ = ("candles", "changed", "frame", "label", "names", "next_close_ms", "owed")

    def __init__(self, prefix: str, frame: bytes | None, label: str = "") -> None:
        # its payloads' template (kline_frames.price_kline_template); None: a premium index
        # kline, written whole as a kline payload whose symbol is ``label`` (`pBTCUSDT`)
        self.frame = frame
        self.label = label
        self.names = [f"{prefix}_{interval}" for interval in INTERVALS]
        self.candles: list[_Candle | None] = [None] * len(INTERVALS)
        self.changed = False  # since the last push
        self.next_close_ms = _NEVER_MS  # the earliest close time of an open candle
        self.owed: OwedParts[PriceBar] | None = None  # the past's part of the start's candles


class PriceKlineStreams:
    """The mark-price and index-price kline streams of one plant's symbols and pairs."""

    def __init__(
        self, market: Market, instruments: Sequence[Instrument], now_ms: int, encode: Callable[[Any], bytes]
    ) -> None:
        """``encode``: the plant's, which the payloads' templates are derived with."""
        self._marks: dict[str, _Price] = {}
        self._indexes: dict[str, _Price] = {}
        self._index_of: dict[str, str] = {}  # a pair's index: its perpetual's samples, else its first's
        if market is Market.CM:
            mark, index = StreamKind.MARK_PRICE_KLINE.value, StreamKind.INDEX_PRICE_KLINE.value
            for inst in instruments:
                symbol, pair = inst.symbol, inst.pair
                self._marks[symbol] = _Price(
                    f"{symbol.lower()}@{mark}",
                    price_kline_template(derived_events.MarkPriceKline, pair, symbol, encode),
                )
                if pair not in self._index_of or inst.contract_type is ContractType.PERPETUAL:
                    self._index_of[pair] = symbol  # as REST's indexPriceKlines reads the pair
                if pair not in self._indexes:
                    self._indexes[pair] = _Price(
                        f"{pair.lower()}@{index}",
                        price_kline_template(derived_events.IndexPriceKline, pair, "0", encode),
                    )
        # USDⓈ-M: each perpetual's premium index (`p<SYMBOL>@kline_<interval>`)
        self._premiums: dict[str, _Price] = {
            inst.symbol: _Price(f"p{inst.symbol}@{StreamKind.KLINE.value}", None, f"p{inst.symbol}")
            for inst in instruments
            if market is Market.UM and inst.contract_type is ContractType.PERPETUAL
        }
        self._encode = encode
        self._prices = [*self._marks.values(), *self._indexes.values(), *self._premiums.values()]
        self._finished: set[OwedParts[Any]] = set()  # past parts made since the last tick (``finished``)
        self.next_tick_ms = now_ms + KLINE_PUSH_MS if self._prices else _NEVER_MS
        self.wanted: Demand = None  # the streams somebody takes (market/demand.py); None: all

    def owe(self, source: Callable[[PriceKind], PastSource[PriceBar]], now_ms: int, until_ms: int) -> None:
        """The candles open at ``now_ms`` (the live start) whose interval opened before
        ``until_ms`` (its minute) lack the past's samples from their open: their pushes join
        them in front (``past_parts.py``), made from ``source`` of their kind when taken."""
        opens = [(open_time(interval, now_ms), interval) for interval in INTERVALS]
        owed = {
            index: (open_ms, close_time(interval, open_ms))
            for index, (open_ms, interval) in enumerate(opens) if open_ms < until_ms
        }  # fmt: skip
        if not owed:
            return
        for kind, prices, names in (
            (PriceKind.MARK, self._marks, None), (PriceKind.INDEX, self._indexes, self._index_of),
            (PriceKind.PREMIUM, self._premiums, None),
        ):  # fmt: skip
            for key, price in prices.items():
                price.owed = OwedParts(source(kind), key if names is None else names[key], dict(owed))

    def mark(self, update: MarkPrice, out: list[StreamMessage]) -> None:
        price = self._marks.get(update.symbol)
        if price is not None:
            self._sample(price, update.time_ms, update.mark_price, out)
        premium = self._premiums.get(update.symbol)
        if premium is not None:
            units = update.premium_index
            if units is None:  # a source that does not know it: derived as the views do
                units = premium_units(update.mark_price, update.index_price)
            self._sample(premium, update.time_ms, units, out)

    def index(self, update: IndexPrice, out: list[StreamMessage]) -> None:
        price = self._indexes.get(update.pair)
        if price is not None:
            self._sample(price, update.time_ms, update.price, out)

    def _sample(self, price: _Price, time_ms: int, units: int, out: list[StreamMessage]) -> None:
        price.changed = True
        candles = price.candles
        for index, k in enumerate(candles):
            if k is not None:
                if k.open_ms <= time_ms <= k.close_ms:
                    if units > k.high:
                        k.high = units
                    elif units < k.low:
                        k.low = units
                    k.close = units
                    k.last_ms = time_ms
                    k.count += 1
                    continue
                if time_ms < k.open_ms:
                    continue  # older than the candle: not counted
                self._push(price, index, k, True, time_ms, out)  # its interval ended before this
            interval = INTERVALS[index]
            start = open_time(interval, time_ms)
            end = close_time(interval, start)
            candles[index] = _Candle(start, end, units, units, units, units, time_ms, time_ms, 1)
            if end < price.next_close_ms:
                price.next_close_ms = end

    def owing(self) -> list[OwedParts[Any]]:
        """The held candles' past parts being made."""
        return [p.owed for p in self._prices if p.owed is not None and p.owed.making]

    def finished(self, parts: set[OwedParts[Any]]) -> None:
        """Past parts finished (of any streams'): their held candles push at the next tick."""
        self._finished |= parts

    def tick(self, now_ms: int, out: list[StreamMessage]) -> None:
        """Push every candle that changed since its last push, and close (push with
        `"x":true`, then drop) every candle whose interval ended before ``now_ms``."""
        if now_ms < self.next_tick_ms:
            return
        missed = (now_ms - self.next_tick_ms) // KLINE_PUSH_MS + 1
        self.next_tick_ms += missed * KLINE_PUSH_MS
        made, self._finished = self._finished, set()  # past parts made since (``past_parts.owed_piece``)
        for price in self._prices:
            if price.owed is not None and price.owed in made:  # a held candle's past part made: push
                price.changed = True
            changed = price.changed
            if not changed and price.next_close_ms >= now_ms:
                continue
            price.changed = False
            candles = price.candles
            next_close = _NEVER_MS
            for index, k in enumerate(candles):
                if k is None:
                    continue
                if k.close_ms < now_ms:
                    self._push(price, index, k, True, now_ms, out)
                    candles[index] = None
                    continue
                if changed:
                    self._push(price, index, k, False, now_ms, out)
                if k.close_ms < next_close:
                    next_close = k.close_ms
            price.next_close_ms = next_close

    def _push(
        self, price: _Price, index: int, k: _Candle, closed: bool, now_ms: int, out: list[StreamMessage]
    ) -> None:
        name = price.names[index]
        wanted = self.wanted
        if wanted is not None and name not in wanted:
            return  # nobody takes it: the candle is kept (or dropped) as if it were pushed
        owed = price.owed
        if owed is not None:  # the candle open at the live start: the past's samples in front
            held, part = owed.part(index, k.open_ms, closed)
            if held:
                return  # until its part is made (tick)
            if part is not None:  # as REST's bar (PastAnswers._whole_bar); `f` its open time
                k = _Candle(
                    k.open_ms, k.close_ms, part.open, max(part.high, k.high), min(part.low, k.low), k.close,
                    part.open_ms, k.last_ms, part.samples + k.count,
                )  # fmt: skip
        if price.frame is None:  # a premium index kline, in a kline payload
            o, c, h, low = (fixed(units, MARK_DECIMALS) for units in (k.open, k.close, k.high, k.low))
            make: Any = derived_events.KlineData
            data = make(
                k.open_ms, k.close_ms, price.label, INTERVALS[index], k.first_ms, k.last_ms, o, c, h, low,
                "0", k.count, closed, "0", "0", "0", "0",
            )  # fmt: skip
            kline: Any = derived_events.Kline(now_ms, price.label, data)
            out.append(StreamMessage(name, self._encode(kline)))
            return
        # the bytes of its MarkPriceKline / IndexPriceKline with a PriceKlineData, from its template
        scale = PRICE_SCALE
        payload = price.frame % (
            now_ms, k.open_ms, k.close_ms, _INTERVAL_TEXTS[index], k.first_ms, k.last_ms,
            *divmod(k.open, scale), *divmod(k.close, scale), *divmod(k.high, scale),
            *divmod(k.low, scale), k.count, TRUE if closed else FALSE,
        )  # fmt: skip
        out.append(StreamMessage(name, payload))
