"""One msgspec Struct per stream payload, field names exactly the wire keys, in the order
the live service sends them (spec §4.0: emit the real order when it is known)."""

from __future__ import annotations

import msgspec

__all__ = [
    "AggTradeCM",
    "AggTradeUM",
    "BookTickerCM",
    "BookTickerUM",
    "DepthDiffCM",
    "DepthDiffUM",
    "MiniTickerCM",
    "MiniTickerUM",
    "TickerCM",
    "TickerUM",
    "TradeEvent",
]


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


class TickerUM(msgspec.Struct, frozen=True):
    """`<symbol>@ticker` / `!ticker@arr` element, USDⓈ-M (§4.3)."""

    e: str  # event type, "24hrTicker"
    E: int  # event time, ms
    s: str  # symbol
    p: str  # price change over the window (last − open)
    P: str  # price change percent
    w: str  # weighted average price
    c: str  # last price
    Q: str  # quantity of the last trade
    o: str  # open: price of the first trade in the window
    h: str  # high
    l: str  # low  # noqa: E741 (the wire key)
    v: str  # volume, base asset
    q: str  # quote-asset volume
    O: int  # window open time  # noqa: E741 (the wire key)
    C: int  # window close time
    F: int  # first trade id in the window
    L: int  # last trade id in the window
    n: int  # number of trades in the window


class TickerCM(msgspec.Struct, frozen=True):
    """`<symbol>@ticker` / `!ticker@arr` element, COIN-M (§4.3): `ps` after `s`."""

    e: str  # event type, "24hrTicker"
    E: int  # event time, ms
    s: str  # symbol
    ps: str  # pair
    p: str  # price change
    P: str  # price change percent
    w: str  # weighted average price
    c: str  # last price
    Q: str  # quantity of the last trade, contracts
    o: str  # open
    h: str  # high
    l: str  # low  # noqa: E741 (the wire key)
    v: str  # volume, contracts
    q: str  # volume, base asset
    O: int  # window open time  # noqa: E741 (the wire key)
    C: int  # window close time
    F: int  # first trade id
    L: int  # last trade id
    n: int  # number of trades


class TradeEvent(msgspec.Struct, frozen=True):
    """`<symbol>@trade` (USDⓈ-M, undocumented but live, §4.5); the real key order."""

    e: str  # event type, "trade"
    E: int  # event time, ms
    T: int  # trade time, ms
    s: str  # symbol
    t: int  # trade id
    p: str  # price
    q: str  # quantity
    X: str  # "MARKET" in every capture
    m: bool  # True when the buyer was the maker


class AggTradeUM(msgspec.Struct, frozen=True):
    """`<symbol>@aggTrade`, USDⓈ-M; the real key order e,E,a,s,p,q,nq,f,l,T,m (§4.4)."""

    e: str  # event type, "aggTrade"
    E: int  # event time, ms
    a: int  # aggregate trade id
    s: str  # symbol
    p: str  # price
    q: str  # quantity, RPI included
    nq: str  # quantity without RPI orders (there are none here)
    f: int  # first trade id
    l: int  # last trade id  # noqa: E741 (the wire key)
    T: int  # trade time, ms
    m: bool  # True when the buyer was the maker


class AggTradeCM(msgspec.Struct, frozen=True):
    """`<symbol>@aggTrade`, COIN-M: no `nq`, `q` in contracts (§4.4)."""

    e: str  # event type, "aggTrade"
    E: int  # event time, ms
    a: int  # aggregate trade id
    s: str  # symbol
    p: str  # price
    q: str  # quantity, contracts
    f: int  # first trade id
    l: int  # last trade id  # noqa: E741 (the wire key)
    T: int  # trade time, ms
    m: bool  # True when the buyer was the maker


class DepthDiffUM(msgspec.Struct, frozen=True):
    """A diff-depth event (§4.9) covering every update since the previous one."""

    e: str  # event type, "depthUpdate"
    E: int  # event time, ms
    T: int  # transaction time, ms
    s: str  # symbol
    U: int  # first update id in the event
    u: int  # final update id in the event
    pu: int  # final update id of the previous event on this stream
    b: list[tuple[str, str]]  # changed bids [price, absolute qty]; "0" removes
    a: list[tuple[str, str]]  # changed asks


class DepthDiffCM(msgspec.Struct, frozen=True):
    """COIN-M diff-depth event: `ps` after `s` (§4.8)."""

    e: str  # event type, "depthUpdate"
    E: int  # event time, ms
    T: int  # transaction time, ms
    s: str  # symbol
    ps: str  # pair
    U: int  # first update id in the event
    u: int  # final update id in the event
    pu: int  # final update id of the previous event on this stream
    b: list[tuple[str, str]]  # changed bids
    a: list[tuple[str, str]]  # changed asks
