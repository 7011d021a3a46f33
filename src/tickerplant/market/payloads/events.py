"""Market-stream payloads: one definition each, for the plant that writes them and for
the client that reads them (spec §4.1–4.5, §4.8–4.9); the derived streams' payloads
(klines, mark and index prices, liquidations) are ``market/payloads/derived_events.py``'s, and
``PAYLOADS`` and ``payload_type`` cover both.

One frozen msgspec Struct per payload. Attributes have readable names; ``rename`` maps
them to Binance's wire keys, and the struct's tag is the wire ``e``, so one
``msgspec.json.Decoder`` over ``payload_type`` turns bytes straight into the right struct
in one pass. Fields are declared in the live key order (§4.0: emit the real order when it
is known); re-encoding writes them in that order, leaving out absent optional keys.

Decimals are JSON strings on the wire (§4.0): ``Decimal`` for arithmetic, or ``str`` to
pass them on untouched (the plant writes ``str``s it made exactly from integer units).

The two markets' payloads differ only in keys one of them lacks: COIN-M's ``ps`` (pair),
USDⓈ-M's aggTrade ``nq``. Such keys are optional here (``None`` when absent), and ``SENT``
says which optional keys the plant writes on each market. ``encoder`` derives from a
payload the positional struct the plant encodes for one market, so the plant and the
client cannot disagree on a key, its order or the market that carries it;
``tests/contract`` checks every payload the plant emits against these definitions.

Since the mid-2026 "CM migration" Binance appends ``st`` (symbol type) to most payloads
and writes ``ps`` on USDⓈ-M too (§4.13). ``ps`` is an optional key here, read when
present; ``st`` is not a field (its value follows from the market): the client skips it
as it skips every key it does not know (Binance may add more). The plant writes both in
the ``2026`` ``PayloadFormat`` (``SENT_2026``, ``SYMBOL_TYPED``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum
from typing import Any, Generic, NamedTuple

import msgspec

from tickerplant.market.instruments import Market
from tickerplant.market.payloads.base import N, PayloadStruct
from tickerplant.market.payloads.derived_events import (
    AssetIndexUpdate,
    ContinuousKline,
    ForceOrder,
    IndexPriceKline,
    IndexPriceUpdate,
    Kline,
    MarkPriceKline,
    MarkPriceUpdate,
)

__all__ = [
    "DECIMAL_ROLES",
    "PAYLOADS",
    "SENT",
    "SENT_2026",
    "SYMBOL_TYPE",
    "SYMBOL_TYPED",
    "AggTrade",
    "BookTicker",
    "DecimalRoles",
    "DepthUpdate",
    "MiniTicker",
    "N",
    "PayloadFormat",
    "Ticker",
    "Trade",
    "encoder",
    "payload_decoder",
    "payload_type",
]


class BookTicker(
    PayloadStruct,
    Generic[N],
    tag="bookTicker",
    frozen=True,
    kw_only=True,
    rename={
        "update_id": "u",
        "symbol": "s",
        "pair": "ps",
        "bid_price": "b",
        "bid_qty": "B",
        "ask_price": "a",
        "ask_qty": "A",
        "transaction_time": "T",
        "event_time": "E",
    },
):
    """``<symbol>@bookTicker`` / ``!bookTicker`` (spec §4.1). Key order: USDⓈ-M's
    real frames e,u,s,b,B,a,A,T,E; COIN-M's e,u,s,ps,b,B,a,A,T,E [S2]."""

    update_id: int  # u: order-book update id, strictly increasing per symbol; not consecutive
    symbol: str  # s: symbol, e.g. "BTCUSDT" or "BTCUSD_PERP"
    pair: str | None = None  # ps: pair; COIN-M always, USDⓈ-M since the merge (§4.13)
    bid_price: N  # b: best bid price
    bid_qty: N  # B: best bid quantity (UM base asset, CM contracts)
    ask_price: N  # a: best ask price
    ask_qty: N  # A: best ask quantity
    transaction_time: int  # T: matching-engine time, ms
    event_time: int  # E: time the event was produced, ms


class MiniTicker(
    PayloadStruct,
    Generic[N],
    tag="24hrMiniTicker",
    frozen=True,
    kw_only=True,
    rename={
        "event_time": "E",
        "symbol": "s",
        "pair": "ps",
        "close": "c",
        "open": "o",
        "high": "h",
        "low": "l",
        "volume": "v",
        "quote_volume": "q",
    },
):
    """``<symbol>@miniTicker`` / ``!miniTicker@arr`` element: rolling 24 h stats (spec §4.2)."""

    event_time: int  # E: event time, ms
    symbol: str  # s: symbol
    pair: str | None = None  # ps: pair; COIN-M, and USDⓈ-M since the merge
    close: N  # c: last trade price
    open: N  # o: price of the first trade in the window
    high: N  # h: highest trade price in the window
    low: N  # l: lowest trade price in the window
    volume: N  # v: UM base-asset volume; CM volume in contracts
    quote_volume: N  # q: UM quote-asset turnover; CM volume in the base asset


class Ticker(
    PayloadStruct,
    Generic[N],
    tag="24hrTicker",
    frozen=True,
    kw_only=True,
    rename={
        "event_time": "E",
        "symbol": "s",
        "pair": "ps",
        "price_change": "p",
        "price_change_percent": "P",
        "weighted_avg_price": "w",
        "close": "c",
        "last_qty": "Q",
        "open": "o",
        "high": "h",
        "low": "l",
        "volume": "v",
        "quote_volume": "q",
        "open_time": "O",
        "close_time": "C",
        "first_trade_id": "F",
        "last_trade_id": "L",
        "trade_count": "n",
    },
):
    """``<symbol>@ticker`` / ``!ticker@arr`` element: full rolling 24 h stats (spec §4.3)."""

    event_time: int  # E: event time, ms
    symbol: str  # s: symbol
    pair: str | None = None  # ps: pair; COIN-M, and USDⓈ-M since the merge
    price_change: N  # p: last price − open price
    price_change_percent: N  # P: price change in percent, e.g. "-3.550"
    weighted_avg_price: N  # w: volume-weighted average price over the window
    close: N  # c: last price
    last_qty: N  # Q: quantity of the last trade
    open: N  # o: price of the first trade in the window
    high: N  # h: highest price in the window
    low: N  # l: lowest price in the window
    volume: N  # v: UM base-asset volume; CM volume in contracts
    quote_volume: N  # q: UM quote-asset volume; CM volume in the base asset
    open_time: int  # O: window open time, ms (a whole minute, 24 h ago)
    close_time: int  # C: window close time, ms (about E)
    first_trade_id: int  # F: first trade id in the window
    last_trade_id: int  # L: last trade id in the window
    trade_count: int  # n: trades in the window; not L − F + 1 (§4.3)


class Trade(
    PayloadStruct,
    Generic[N],
    tag="trade",
    frozen=True,
    kw_only=True,
    rename={
        "event_time": "E",
        "trade_time": "T",
        "symbol": "s",
        "trade_id": "t",
        "price": "p",
        "qty": "q",
        "trade_type": "X",
        "buyer_is_maker": "m",
    },
):
    """``<symbol>@trade``: one trade (spec §4.5; USDⓈ-M, undocumented but live), in the
    real key order."""

    event_time: int  # E: event time, ms
    trade_time: int  # T: trade time, ms
    symbol: str  # s: symbol
    trade_id: int  # t: trade id, the same ids aggTrade f/l cover
    price: N  # p: price
    qty: N  # q: quantity
    trade_type: str | None = None  # X: "MARKET" in every capture; other values unspecified
    buyer_is_maker: bool  # m: True when the buyer was the maker (the seller took)


class AggTrade(
    PayloadStruct,
    Generic[N],
    tag="aggTrade",
    frozen=True,
    kw_only=True,
    rename={
        "event_time": "E",
        "agg_id": "a",
        "symbol": "s",
        "price": "p",
        "qty": "q",
        "normal_qty": "nq",
        "first_trade_id": "f",
        "last_trade_id": "l",
        "trade_time": "T",
        "buyer_is_maker": "m",
    },
):
    """``<symbol>@aggTrade``: market trades at one price and side within 100 ms (spec §4.4).
    The real USDⓈ-M key order e,E,a,s,p,q,nq,f,l,T,m; COIN-M has no ``nq``."""

    event_time: int  # E: event time, ms
    agg_id: int  # a: aggregate trade id, consecutive per symbol
    symbol: str  # s: symbol
    price: N  # p: price
    qty: N  # q: quantity, RPI trades included (UM base asset, CM contracts)
    normal_qty: N | None = None  # nq: UM only, quantity without RPI trades
    first_trade_id: int  # f: first trade id covered
    last_trade_id: int  # l: last trade id covered
    trade_time: int  # T: trade time, ms
    buyer_is_maker: bool  # m: True when the buyer was the maker


class DepthUpdate(
    PayloadStruct,
    Generic[N],
    tag="depthUpdate",
    frozen=True,
    kw_only=True,
    rename={
        "event_time": "E",
        "transaction_time": "T",
        "symbol": "s",
        "pair": "ps",
        "first_update_id": "U",
        "final_update_id": "u",
        "previous_final_update_id": "pu",
        "bids": "b",
        "asks": "a",
    },
):
    """``<symbol>@depth[N][@500ms|@100ms]``: a diff (§4.9) or a top-N snapshot (§4.8);
    the stream name, not the payload, says which."""

    event_time: int  # E: event time, ms
    transaction_time: int  # T: transaction time, ms
    symbol: str  # s: symbol
    pair: str | None = None  # ps: pair; COIN-M, and USDⓈ-M since the merge
    first_update_id: int  # U: first order-book update id covered
    final_update_id: int  # u: final order-book update id covered
    previous_final_update_id: int  # pu: u of the previous event on this same stream
    bids: list[tuple[N, N]]  # b: (price, absolute qty); qty 0 removes the level
    asks: list[tuple[N, N]]  # a: (price, absolute qty); qty 0 removes the level


PAYLOADS: tuple[type[msgspec.Struct], ...] = (
    BookTicker, MiniTicker, Ticker, Trade, AggTrade, DepthUpdate,
    Kline, ContinuousKline, MarkPriceUpdate, IndexPriceUpdate, ForceOrder, MarkPriceKline, IndexPriceKline,
    AssetIndexUpdate,
)  # fmt: skip


def payload_type(numbers: type[Decimal] | type[str]) -> Any:
    """The tagged union of every payload, prices and quantities as ``numbers``: give it (or
    ``list[...]`` of it, for the ``@arr`` streams) to ``msgspec.json.Decoder`` to decode any
    payload into its struct by its ``e``."""
    n: Any = numbers
    return (
        BookTicker[n] | MiniTicker[n] | Ticker[n] | Trade[n] | AggTrade[n] | DepthUpdate[n]
        | Kline[n] | ContinuousKline[n] | MarkPriceUpdate[n] | IndexPriceUpdate[n] | ForceOrder[n]
        | MarkPriceKline[n] | IndexPriceKline[n] | AssetIndexUpdate[n]
    )


def payload_decoder(numbers: type[Decimal] | type[str]) -> msgspec.json.Decoder[Any]:
    """Decodes any payload, an object or an ``@arr`` stream's array, into its struct(s) by
    ``e``; a payload of another type, or one that does not match its type, raises
    ``msgspec.ValidationError``."""
    payload = payload_type(numbers)
    return msgspec.json.Decoder(payload | list[payload])  # type: ignore[valid-type]


# -- what the plant writes ---------------------------------------------------------------


class PayloadFormat(StrEnum):
    """Which payloads a listener serves (spec §4.13): ``classic``, the seeds' payloads, or
    ``2026``, as Binance writes them since the mid-2026 "CM migration": ``st`` (symbol type)
    as the last key of most payloads and ``ps`` (pair) after ``s`` on USDⓈ-M too."""

    CLASSIC = "classic"
    Y2026 = "2026"


# The optional keys the plant writes on each market; every required key is always written.
# `X` is optional to read (not every capture has it) but the plant always writes "MARKET".
SENT: dict[Market, frozenset[str]] = {
    Market.UM: frozenset({"nq", "X"}),
    Market.CM: frozenset({"ps", "X"}),
}
# ... and what the 2026 payloads add (§4.13): `ps` wherever a payload has it, on USDⓈ-M
# too (markPrice, aggTrade and trade have none), and `st` last in the payloads of
# SYMBOL_TYPED (not klines, continuous klines, index prices).
SENT_2026: dict[Market, frozenset[str]] = {market: keys | {"ps"} for market, keys in SENT.items()}
SYMBOL_TYPE: dict[Market, int] = {Market.UM: 1, Market.CM: 2}  # `st` (§4.13)
SYMBOL_TYPED: frozenset[type[msgspec.Struct]] = frozenset(
    {BookTicker, MiniTicker, Ticker, Trade, AggTrade, DepthUpdate, MarkPriceUpdate, ForceOrder}
)


def encoder(
    payload: type[msgspec.Struct], market: Market, payload_format: PayloadFormat = PayloadFormat.CLASSIC
) -> Callable[..., msgspec.Struct]:
    """The struct the plant encodes ``payload`` with on ``market`` in ``payload_format``:
    exactly the keys that market carries, in the payload's order, taken positionally
    (every key but the tag ``e``), so that building one costs no keyword matching. A 2026
    payload's ``st`` is the last key, a constant per market: it is the struct's default,
    so the positional arguments are the same as without it. (The payload structs have no
    ``st``: a client reads it as it reads any key it does not know, by skipping it.)
    Untracked by the cycle collector: it lives only until it is encoded."""
    config = payload.__struct_config__
    y2026 = payload_format is PayloadFormat.Y2026
    sent = (SENT_2026 if y2026 else SENT)[market]
    fields = msgspec.structs.fields(payload)
    keys: list[Any] = [f.encode_name for f in fields if f.required or f.encode_name in sent]
    if y2026 and payload in SYMBOL_TYPED:
        keys.append(("st", int, SYMBOL_TYPE[market]))
    suffix = "2026" if y2026 else ""
    return msgspec.defstruct(
        f"{payload.__name__}{market.name}{suffix}",
        keys,
        tag_field=config.tag_field,
        tag=config.tag,
        gc=False,
        module=__name__,
    )


# -- which decimals are prices and which quantities ----------------------------------------


class DecimalRoles(NamedTuple):
    """The attributes of a payload written at exactly the instrument's tick (prices) and
    step (quantities) (§4.0, exchangeInfo filters §7.3). Derived figures (a window's
    change, average and volumes) and depth's (price, qty) pairs are not listed."""

    prices: tuple[str, ...]
    quantities: tuple[str, ...]


DECIMAL_ROLES: dict[type[msgspec.Struct], DecimalRoles] = {
    BookTicker: DecimalRoles(("bid_price", "ask_price"), ("bid_qty", "ask_qty")),
    MiniTicker: DecimalRoles(("close", "open", "high", "low"), ()),
    Ticker: DecimalRoles(("close", "open", "high", "low"), ("last_qty",)),
    Trade: DecimalRoles(("price",), ("qty",)),
    AggTrade: DecimalRoles(("price",), ("qty",)),
}
