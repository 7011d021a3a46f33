"""Wire payloads built from the plant's integer state: one function per stream family.

Decimals are exact strings at the instrument's precision (spec §4.0); USDⓈ-M and COIN-M
differ in `ps` and in what the volumes count (§4.2, §4.3), and the 2026 payloads add `st`
and USDⓈ-M's `ps` (§4.13). The structs are the payloads' encoders (``Encoders``, one set
per market and ``PayloadFormat``), built positionally in their key order. Each function
takes the set to write with; without one, the instrument's market's classic set.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from operator import itemgetter
from typing import Any

import msgspec

from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.payloads import events
from tickerplant.market.payloads.events import PayloadFormat, encoder
from tickerplant.market.trades.stats import RollingWindow
from tickerplant.market.units import DAY_MS, MINUTE_MS, fixed

__all__ = [
    "BASE_DECIMALS",
    "DepthFrame",
    "Encoders",
    "depth_levels",
    "encoders",
    "mini_ticker",
    "quote_units",
    "ticker",
]

BASE_DECIMALS = 8  # COIN-M base-asset volumes are written with 8 decimals


class Encoders:
    """The encoders of one market's payloads in one ``PayloadFormat`` (the payload structs,
    not the source's ``updates.Trade``), built positionally in their key order; ``pair``:
    they take ``ps`` after ``s`` (COIN-M; USDⓈ-M too in 2026); ``normal_qty``: aggTrade
    takes ``nq`` (USDⓈ-M). A 2026 ``st`` is each struct's default (``events.encoder``)."""

    __slots__ = ("agg_trade", "book_ticker", "depth", "mini_ticker", "normal_qty", "pair", "ticker", "trade")

    def __init__(self, market: Market, payload_format: PayloadFormat) -> None:
        self.pair = market is Market.CM or payload_format is PayloadFormat.Y2026
        self.normal_qty = market is Market.UM
        self.book_ticker = encoder(events.BookTicker, market, payload_format)  # u,s,[ps,]b,B,a,A,T,E[,st]
        self.mini_ticker = encoder(events.MiniTicker, market, payload_format)  # E,s,[ps,]c,o,h,l,v,q[,st]
        self.ticker = encoder(events.Ticker, market, payload_format)  # E,s,[ps,]p,P,…,n[,st]
        self.trade = encoder(events.Trade, market, payload_format)  # E,T,s,t,p,q,X,m[,st]
        self.agg_trade = encoder(events.AggTrade, market, payload_format)  # E,a,s,p,q,[nq,]f,l,T,m[,st]
        self.depth = encoder(events.DepthUpdate, market, payload_format)  # E,T,s,[ps,]U,u,pu,b,a[,st]


_ENCODERS = {
    (market, payload_format): Encoders(market, payload_format)
    for market in Market
    for payload_format in PayloadFormat
}
_CLASSIC_UM = _ENCODERS[Market.UM, PayloadFormat.CLASSIC]
_CLASSIC_CM = _ENCODERS[Market.CM, PayloadFormat.CLASSIC]


def encoders(market: Market, payload_format: PayloadFormat = PayloadFormat.CLASSIC) -> Encoders:
    """The (shared) encoders of ``market``'s payloads in ``payload_format``."""
    return _ENCODERS[market, payload_format]


_PERCENT = Decimal("0.001")


def quote_units(inst: Instrument, price: int, qty: int) -> int:
    """What a trade adds to the window's second volume, as an exact integer.

    USDⓈ-M: the quote asset, price × qty in units of 10**-(price_decimals + qty_decimals).
    COIN-M: the base asset, contracts × contract size / price, in units of 1e-8 (§4.2).
    """
    if inst.market is Market.UM:
        return price * qty
    scale: int = 10 ** (inst.price_decimals + BASE_DECIMALS - inst.qty_decimals)
    return (qty * inst.contract_size * scale + price // 2) // price


def quotes_units(inst: Instrument, prices: Sequence[int], qtys: Sequence[int]) -> list[int]:
    """``quote_units`` of each trade of two columns (a replayed run, ``market/plant_runs``)."""
    if inst.market is Market.UM:
        return list(map(operator.mul, prices, qtys))
    return list(map(functools.partial(quote_units, inst), prices, qtys))


def _quote_decimals(inst: Instrument) -> int:
    if inst.market is Market.UM:
        return inst.price_decimals + inst.qty_decimals
    return BASE_DECIMALS


def _classic(inst: Instrument) -> Encoders:
    return _CLASSIC_UM if inst.market is Market.UM else _CLASSIC_CM


def mini_ticker(
    inst: Instrument, w: RollingWindow, now_ms: int, enc: Encoders | None = None
) -> msgspec.Struct:
    if enc is None:
        enc = _classic(inst)
    pd = inst.price_decimals
    c, o, h, lo = fixed(w.close, pd), fixed(w.open, pd), fixed(w.high, pd), fixed(w.low, pd)
    volume = fixed(w.volume, inst.qty_decimals)
    second = fixed(w.quote_volume, _quote_decimals(inst))
    if enc.pair:
        return enc.mini_ticker(now_ms, inst.symbol, inst.pair, c, o, h, lo, volume, second)
    return enc.mini_ticker(now_ms, inst.symbol, c, o, h, lo, volume, second)


def _weighted_average(inst: Instrument, w: RollingWindow) -> str:
    """Volume-weighted average price over the window, at the price precision."""
    if w.volume == 0 or w.quote_volume == 0:
        return fixed(w.close, inst.price_decimals)
    quantum = Decimal(1).scaleb(-inst.price_decimals)
    if inst.market is Market.UM:
        value = Decimal(w.quote_volume) / Decimal(w.volume)  # price units
        return str(value.scaleb(-inst.price_decimals).quantize(quantum, ROUND_HALF_EVEN))
    # COIN-M: notional (contracts × contract size) over base volume
    notional = Decimal(w.volume * inst.contract_size).scaleb(-inst.qty_decimals)
    value = notional / Decimal(w.quote_volume).scaleb(-BASE_DECIMALS)
    return str(value.quantize(quantum, ROUND_HALF_EVEN))


def ticker(inst: Instrument, w: RollingWindow, now_ms: int, enc: Encoders | None = None) -> msgspec.Struct:
    if enc is None:
        enc = _classic(inst)
    pd = inst.price_decimals
    change = w.close - w.open
    percent = (Decimal(change) * 100 / Decimal(w.open)).quantize(_PERCENT) if w.open else Decimal("0.000")
    open_ms = (now_ms - DAY_MS) // MINUTE_MS * MINUTE_MS  # the live window opens on a minute (§4.3)
    fields = (
        fixed(change, pd), str(percent), _weighted_average(inst, w), fixed(w.close, pd),
        fixed(w.last_qty, inst.qty_decimals), fixed(w.open, pd), fixed(w.high, pd), fixed(w.low, pd),
        fixed(w.volume, inst.qty_decimals), fixed(w.quote_volume, _quote_decimals(inst)),
        open_ms, now_ms, w.first_id, w.last_id, w.count,
    )  # fmt: skip
    if enc.pair:
        return enc.ticker(now_ms, inst.symbol, inst.pair, *fields)
    return enc.ticker(now_ms, inst.symbol, *fields)


def depth_levels(
    inst: Instrument,
    first_id: int,
    last_id: int,
    previous_id: int,
    time_ms: int,
    now_ms: int,
    bids: Any,
    asks: Any,
    enc: Encoders | None = None,
) -> msgspec.Struct:
    """A depthUpdate (diff §4.9 or partial §4.8: the same shape); ``bids`` and ``asks``
    best first, as JSON arrays (``msgspec.Raw``: ``DepthFrame`` puts its markers there)."""
    if enc is None:
        enc = _classic(inst)
    if enc.pair:
        return enc.depth(now_ms, time_ms, inst.symbol, inst.pair, first_id, last_id, previous_id, bids, asks)
    return enc.depth(now_ms, time_ms, inst.symbol, first_id, last_id, previous_id, bids, asks)


class DepthFrame:
    """One symbol's depthUpdate as bytes around what changes from event to event, so that
    an event is assembled, not encoded: ``head(U, u, pu, T, E) + bids + middle + asks +
    tail`` is the bytes of ``depth_levels`` with the JSON arrays ``bids`` and ``asks``.

    Derived once from the payload's own struct (``events.DepthUpdate``), which stays the
    one home of the keys and their order: it is encoded with a marker in each changing
    field (a control byte, which encoded JSON never holds raw), and the markers become
    ``%d`` slots (the ids and times are integers, written as the encoder writes them).
    A diff event and the partial depths of one push differ only in their levels (§4.8,
    §4.9), so one head serves them all.
    """

    __slots__ = ("_head", "_order", "middle", "tail")

    def __init__(
        self,
        inst: Instrument,
        encode: Callable[[Any], bytes] = msgspec.json.encode,
        enc: Encoders | None = None,
    ) -> None:
        # markers in place of first, last, previous, T and E, then of the bids and the asks
        first, last, previous, time_ms, now_ms = (msgspec.Raw(bytes((1 + i,))) for i in range(5))
        marked: Any = depth_levels  # it takes the markers where it writes integers
        frame = encode(
            marked(
                inst, first, last, previous, time_ms, now_ms, msgspec.Raw(b"\x06"), msgspec.Raw(b"\x07"), enc
            ),
        )
        head, rest = frame.split(b"\x06")
        self.middle, self.tail = rest.split(b"\x07")
        if any(0 < b < 8 for b in self.middle + self.tail):
            raise ValueError("a depthUpdate's levels must come after its ids and times")
        slots = sorted((head.index(bytes((1 + i,))), i) for i in range(5))
        self._order = itemgetter(*(i for _, i in slots))  # the arguments in the keys' order
        head = head.replace(b"%", b"%%")
        for i in range(5):
            head = head.replace(bytes((1 + i,)), b"%d")
        self._head = head

    def head(self, first_id: int, last_id: int, previous_id: int, time_ms: int, now_ms: int) -> bytes:
        """The event's bytes up to its bids' array."""
        head: bytes = self._head % self._order((first_id, last_id, previous_id, time_ms, now_ms))
        return head
