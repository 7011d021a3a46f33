"""The derived streams' payloads: klines and continuous klines (spec §4.7, §4.12), mark and
index prices (§4.6, §4.12), COIN-M's mark- and index-price klines (§3.5), USDⓈ-M's
asset index (§3.5) and liquidations (§4.10). One definition each, for the plant that
writes them (``market/klines/candles.py``, ``market/derivatives/mark_streams.py``,
``market/derivatives/asset_index_streams.py``, ``market/klines/price_streams.py``,
``market/derivatives/force_orders.py``) and for the client that reads them, built as
``market/payloads/events.py``'s are: readable attributes, Binance's keys by ``rename``, the wire
``e`` as the tag, fields in the live key order, prices and quantities as ``N``.
``market/payloads/events.py``'s ``PAYLOADS`` and ``payload_type`` include them.
"""

from __future__ import annotations

from typing import Generic

import msgspec

from tickerplant.market.payloads.base import N, PayloadStruct

__all__ = [
    "AssetIndexUpdate",
    "ContinuousKline",
    "ContinuousKlineData",
    "ForceOrder",
    "IndexPriceKline",
    "IndexPriceUpdate",
    "Kline",
    "KlineData",
    "LiquidationOrder",
    "MarkPriceKline",
    "MarkPriceUpdate",
    "PriceKlineData",
]


# -- klines (§4.7) and continuous klines (§4.12) ----------------------------------------------
# Neither has an optional key, so the plant builds them positionally, in this order.

# The candle's keys both share (the fields' order, not this map's, is the keys' order).
_CANDLE_KEYS = {
    "open_time": "t", "close_time": "T", "interval": "i", "open": "o", "close": "c", "high": "h",
    "low": "l", "volume": "v", "trade_count": "n", "closed": "x", "quote_volume": "q",
    "taker_buy_volume": "V", "taker_buy_quote_volume": "Q", "ignore": "B",
}  # fmt: skip


class KlineData(
    msgspec.Struct,
    Generic[N],
    frozen=True,
    gc=False,
    rename={**_CANDLE_KEYS, "symbol": "s", "first_trade_id": "f", "last_trade_id": "L"},
):
    """The ``k`` of ``<symbol>@kline_<interval>``, in the real key order (§4.7)."""

    open_time: int  # t: kline open time, ms
    close_time: int  # T: kline close time, ms (the next open - 1)
    symbol: str  # s: symbol
    interval: str  # i: interval, e.g. "1m"
    first_trade_id: int  # f: first trade id in the kline
    last_trade_id: int  # L: last trade id in the kline
    open: N  # o: open price
    close: N  # c: close price (the latest trade)
    high: N  # h: high price
    low: N  # l: low price
    volume: N  # v: volume: base asset (USDⓈ-M) / contracts (COIN-M)
    trade_count: int  # n: number of trades
    closed: bool  # x: true on the final update of a closed kline
    quote_volume: N  # q: quote-asset volume (USDⓈ-M) / base-asset volume (COIN-M)
    taker_buy_volume: N  # V: taker-buy volume: base asset / contracts
    taker_buy_quote_volume: N  # Q: taker-buy quote-asset volume / base-asset volume
    ignore: str  # B: "0" live


class Kline(
    PayloadStruct,
    Generic[N],
    tag="kline",
    frozen=True,
    rename={"event_time": "E", "symbol": "s", "kline": "k"},
):
    """``<symbol>@kline_<interval>``, both markets; no ``st`` even after the CM migration
    (§4.7). A state snapshot of the open candle: the same candle comes again while it
    changes, and a last time with ``kline.closed``."""

    event_time: int  # E: event time, ms
    symbol: str  # s: symbol
    kline: KlineData[N]  # k: the kline


class ContinuousKlineData(
    msgspec.Struct,
    Generic[N],
    frozen=True,
    gc=False,
    rename={**_CANDLE_KEYS, "first_id": "f", "last_id": "L"},
):
    """The ``k`` of ``<pair>_<contractType>@continuousKline_<interval>`` (§4.12): the
    kline's keys in the same order, without ``s``."""

    open_time: int  # t: kline open time, ms
    close_time: int  # T: kline close time, ms
    interval: str  # i: interval
    first_id: int  # f: Binance's "first updateId"; tickerplant's first trade id
    last_id: int  # L: Binance's "last updateId"; tickerplant's last trade id
    open: N  # o: open price
    close: N  # c: close price
    high: N  # h: high price
    low: N  # l: low price
    volume: N  # v: volume: base asset (USDⓈ-M) / contracts (COIN-M)
    trade_count: int  # n: number of trades
    closed: bool  # x: true on the final update of a closed kline
    quote_volume: N  # q: quote-asset volume (USDⓈ-M) / base-asset volume (COIN-M)
    taker_buy_volume: N  # V: taker-buy volume
    taker_buy_quote_volume: N  # Q: taker-buy quote-asset / base-asset volume
    ignore: str  # B: "0"


class ContinuousKline(
    PayloadStruct,
    Generic[N],
    tag="continuous_kline",
    frozen=True,
    rename={"event_time": "E", "pair": "ps", "contract_type": "ct", "kline": "k"},
):
    """``<pair>_<contractType>@continuousKline_<interval>``, both markets (§4.12): the
    candle of the contract that is of that type at the time."""

    event_time: int  # E: event time, ms
    pair: str  # ps: pair, e.g. "BTCUSDT", "BTCUSD"
    contract_type: str  # ct: uppercase: "PERPETUAL", "CURRENT_QUARTER", "NEXT_QUARTER"
    kline: ContinuousKlineData[N]  # k: the kline


# -- COIN-M mark- and index-price klines (§3.5) ------------------------------------------
# Binance's pages (Mark Price / Index Kline/Candlestick Streams, COIN-M): the kline's keys in
# its order, the candle of a price sampled each second; `f`, `L` and the volumes "ignore".


class PriceKlineData(
    msgspec.Struct,
    Generic[N],
    frozen=True,
    gc=False,
    rename={**_CANDLE_KEYS, "symbol": "s", "first_time": "f", "last_time": "L", "sample_count": "n"},
):
    """The ``k`` of ``<symbol>@markPriceKline_<interval>`` and ``<pair>@indexPriceKline_<interval>``."""

    open_time: int  # t: kline open time, ms
    close_time: int  # T: kline close time, ms
    symbol: str  # s: the symbol (mark price); "0" (index price: "ignore")
    interval: str  # i: interval
    first_time: int  # f: "ignore"; live, the time of the kline's first price sample
    last_time: int  # L: "ignore"; live, the time of its last price sample
    open: N  # o: open price, 8 decimals
    close: N  # c: close price (the latest sample)
    high: N  # h: high price
    low: N  # l: low price
    volume: str  # v: "0"
    sample_count: int  # n: number of basic data: the price samples in the kline
    closed: bool  # x: true on the final update of a closed kline
    quote_volume: str  # q: "0"
    taker_buy_volume: str  # V: "0"
    taker_buy_quote_volume: str  # Q: "0"
    ignore: str  # B: "0"


class MarkPriceKline(
    PayloadStruct,
    Generic[N],
    tag="markPrice_kline",
    frozen=True,
    rename={"event_time": "E", "pair": "ps", "kline": "k"},
):
    """COIN-M ``<symbol>@markPriceKline_<interval>``: the candle of a contract's mark price;
    no ``st`` in either payload format, like the trade klines (§4.13)."""

    event_time: int  # E: event time, ms
    pair: str  # ps: the contract's pair, e.g. "BTCUSD"
    kline: PriceKlineData[N]  # k: the kline; its s is the symbol


class IndexPriceKline(
    PayloadStruct,
    Generic[N],
    tag="indexPrice_kline",
    frozen=True,
    rename={"event_time": "E", "pair": "ps", "kline": "k"},
):
    """COIN-M ``<pair>@indexPriceKline_<interval>``: the candle of a pair's index price."""

    event_time: int  # E: event time, ms
    pair: str  # ps: pair, e.g. "BTCUSD"
    kline: PriceKlineData[N]  # k: the kline; its s is "0"


# -- mark price and index price (§4.6, §4.12) --------------------------------------------


class MarkPriceUpdate(
    PayloadStruct,
    Generic[N],
    tag="markPriceUpdate",
    frozen=True,
    kw_only=True,
    rename={
        "event_time": "E",
        "symbol": "s",
        "mark_price": "p",
        "settle_price": "P",
        "index_price": "i",
        "funding_rate": "r",
        "next_funding_time": "T",
    },
):
    """``<symbol>@markPrice[@1s]``, an element of ``!markPrice@arr[@1s]`` (USDⓈ-M) and of
    COIN-M's ``<pair>@markPrice[@1s]`` (spec §4.6): the classic key order e,E,s,p,P,i,r,T
    of both markets; the 2026 payloads end with ``st`` (§4.13; no ``ps``), which, like
    the 2026 ``ap`` (not written), is skipped when read."""

    event_time: int  # E: event time, ms; a whole second on `<symbol>@markPrice@1s`
    symbol: str  # s: symbol
    mark_price: N  # p: mark price, 8 decimals
    settle_price: N  # P: estimated settle price (meaningful in the hour before settlement)
    index_price: N  # i: index price
    funding_rate: str  # r: the funding rate the next funding would pay; "" for delivery
    next_funding_time: int  # T: next funding time, ms; 0 for a delivery contract


class AssetIndexUpdate(
    PayloadStruct,
    Generic[N],
    tag="assetIndexUpdate",
    frozen=True,
    kw_only=True,
    rename={
        "event_time": "E", "symbol": "s", "index": "i", "bid_buffer": "b", "ask_buffer": "a",
        "bid_rate": "B", "ask_rate": "A", "auto_exchange_bid_buffer": "q", "auto_exchange_ask_buffer": "g",
        "auto_exchange_bid_rate": "Q", "auto_exchange_ask_rate": "G",
    },
):  # fmt: skip
    """USDⓈ-M ``<assetSymbol>@assetIndex`` and an element of ``!assetIndex@arr`` (spec §3.5): a
    margin asset's index and buffers as ``GET /fapi/v1/assetIndex`` answers them, 8 decimals,
    in the keys and order Binance's modular SDK reads (``AssetIndexResponseInner``)."""

    event_time: int  # E: event time, ms
    symbol: str  # s: the asset's index symbol, "BTCUSD"
    index: N  # i: its USD price
    bid_buffer: N  # b
    ask_buffer: N  # a
    bid_rate: N  # B: index × (1 − bid buffer)
    ask_rate: N  # A
    auto_exchange_bid_buffer: N  # q
    auto_exchange_ask_buffer: N  # g
    auto_exchange_bid_rate: N  # Q
    auto_exchange_ask_rate: N  # G


class IndexPriceUpdate(
    PayloadStruct,
    Generic[N],
    tag="indexPriceUpdate",
    frozen=True,
    kw_only=True,
    rename={"event_time": "E", "pair": "i", "price": "p"},
):
    """COIN-M ``<pair>@indexPrice[@1s]`` (spec §4.12)."""

    event_time: int  # E: event time, ms
    pair: str  # i: the pair, e.g. "BTCUSD"
    price: N  # p: index price, 8 decimals


# -- liquidations (§4.10) ------------------------------------------------------------------


class LiquidationOrder(
    msgspec.Struct,
    Generic[N],
    frozen=True,
    kw_only=True,
    gc=False,
    omit_defaults=True,
    rename={
        "symbol": "s",
        "pair": "ps",
        "side": "S",
        "order_type": "o",
        "time_in_force": "f",
        "qty": "q",
        "price": "p",
        "avg_price": "ap",
        "status": "X",
        "last_filled_qty": "l",
        "filled_qty": "z",
        "trade_time": "T",
    },
):
    """A forceOrder's ``o``: the liquidation order (spec §4.10), in the documented order."""

    symbol: str  # s: symbol
    pair: str | None = None  # ps: COIN-M, and USDⓈ-M in the 2026 payloads; right after s
    side: str  # S: "BUY" (a short liquidated) or "SELL" (a long)
    order_type: str  # o: "LIMIT"
    time_in_force: str  # f: "IOC"
    qty: N  # q: original quantity
    price: N  # p: the limit, the bankruptcy price
    avg_price: N  # ap: average fill price
    status: str  # X: "FILLED", or "EXPIRED" when the IOC left some unfilled
    last_filled_qty: N  # l: the last fill's quantity
    filled_qty: N  # z: accumulated filled quantity
    trade_time: int  # T: trade time, ms


class ForceOrder(
    PayloadStruct,
    Generic[N],
    tag="forceOrder",
    frozen=True,
    kw_only=True,
    rename={"event_time": "E", "order": "o"},
):
    """``<symbol>@forceOrder`` and ``!forceOrder@arr`` (one object, not an array): a
    liquidation order, at most one per symbol per 1000 ms (spec §4.10); the 2026 payloads
    end with ``st`` (§4.13), skipped when read."""

    event_time: int  # E: event time, ms
    order: LiquidationOrder[N]  # o: the order
