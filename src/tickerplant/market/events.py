"""One msgspec Struct per stream payload, field names exactly the wire keys, in the order
the live service sends them (spec §4.0: emit the real order when it is known)."""

from __future__ import annotations

import msgspec

__all__ = ["BookTickerCM", "BookTickerUM", "MiniTickerCM", "MiniTickerUM"]


class BookTickerUM(msgspec.Struct, frozen=True):
    """`<symbol>@bookTicker` / `!bookTicker`, USDⓈ-M; real key order e,u,s,b,B,a,A,T,E (§4.1)."""

    e: str  # event type, "bookTicker"
    u: int  # order-book update id, strictly increasing per symbol
    s: str  # symbol
    b: str  # best bid price
    B: str  # best bid quantity, base asset
    a: str  # best ask price
    A: str  # best ask quantity, base asset
    T: int  # transaction (matching) time, ms
    E: int  # event time, ms


class BookTickerCM(msgspec.Struct, frozen=True):
    """`<symbol>@bookTicker` / `!bookTicker`, COIN-M; the seed's order e,u,s,ps,b,B,a,A,T,E [S2]."""

    e: str  # event type, "bookTicker"
    u: int  # order-book update id
    s: str  # symbol, e.g. "BTCUSD_PERP"
    ps: str  # pair, e.g. "BTCUSD"
    b: str  # best bid price
    B: str  # best bid quantity, contracts
    a: str  # best ask price
    A: str  # best ask quantity, contracts
    T: int  # transaction time, ms
    E: int  # event time, ms


class MiniTickerUM(msgspec.Struct, frozen=True):
    """`<symbol>@miniTicker` / `!miniTicker@arr` element, USDⓈ-M [S4] (§4.2)."""

    e: str  # event type, "24hrMiniTicker"
    E: int  # event time, ms
    s: str  # symbol
    c: str  # last trade price
    o: str  # price of the first trade in the rolling 24 h window
    h: str  # highest trade price in the window
    l: str  # lowest trade price in the window  # noqa: E741 (the wire key)
    v: str  # volume, base asset
    q: str  # turnover, quote asset


class MiniTickerCM(msgspec.Struct, frozen=True):
    """`<symbol>@miniTicker` / `!miniTicker@arr` element, COIN-M (§4.2)."""

    e: str  # event type, "24hrMiniTicker"
    E: int  # event time, ms
    s: str  # symbol
    ps: str  # pair
    c: str  # last trade price
    o: str  # price of the first trade in the window
    h: str  # high
    l: str  # low  # noqa: E741 (the wire key)
    v: str  # volume in contracts
    q: str  # volume in the base asset
