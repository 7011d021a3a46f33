"""Stream names: parsing the grammar of spec §3.5 and deciding what a name delivers.

A name is stored exactly as the client sent it (spec §3.4). Whether it delivers is decided
once, at subscribe time, by ``resolve``: the answer is either the canonical name the plant
publishes under (the routing key) or the reason it never will.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from tickerplant.market.instruments import ContractType, Market
from tickerplant.market.messages import StreamKind, StreamMessage
from tickerplant.market.payloads.asset_index import MARGIN_ASSETS, index_symbol

__all__ = [
    "ASSET_INDEX_KINDS",
    "ASSET_SYMBOLS",
    "CROSS_MARKET_KINDS",
    "DEPTH_KINDS",
    "DERIVED_KINDS",
    "MARK_KINDS",
    "MERGED_ALL_MARKET",
    "SERVED_KINDS",
    "CrossingStreams",
    "Resolution",
    "Route",
    "StreamKind",
    "StreamName",
    "canonical_name",
    "crosses_markets",
    "parse",
    "resolve",
    "route_of",
]


class Route(enum.Enum):
    """The USDⓈ-M path prefix a connection came in on (spec §2.2)."""

    UNROUTED = ""
    PUBLIC = "public"
    MARKET = "market"
    PRIVATE = "private"


# The book-depth streams (§4.8, §4.9, §4.11): the plant derives them from its books (the
# simulator, a replay's plays), a replay re-serves recorded ones and the relay relays them.
DEPTH_KINDS = frozenset({StreamKind.DEPTH, StreamKind.PARTIAL_DEPTH, StreamKind.RPI_DEPTH})

# The mark-price and index streams (§4.6, §4.12): the plant paces what its source gives
# (the simulator's formulas, a replay's mark-price files), a recording's replay and the
# relay re-serve them.
MARK_KINDS = frozenset(
    {
        StreamKind.MARK_PRICE,
        StreamKind.ALL_MARK_PRICE,
        StreamKind.INDEX_PRICE,
        StreamKind.MARK_PRICE_KLINE,  # COIN-M's, made of the same updates (§3.5)
        StreamKind.INDEX_PRICE_KLINE,
    }
)
# COIN-M names a pair in these: `<pair>@markPrice[@1s]` (an array of the pair's contracts),
# `<pair>@indexPrice[@1s]` and `<pair>@indexPriceKline_<interval>`
_PAIR_KINDS = frozenset({StreamKind.MARK_PRICE, StreamKind.INDEX_PRICE, StreamKind.INDEX_PRICE_KLINE})
# Named by a pair alone (§3.5, §4.12)
_PAIR_ONLY_KINDS = {StreamKind.INDEX_PRICE: "indexPrice", StreamKind.INDEX_PRICE_KLINE: "indexPriceKline"}
# The Multi-Assets mode's asset index (USDⓈ-M's, §3.5): `!assetIndex@arr` and
# `<assetSymbol>@assetIndex`, named by a margin asset's index symbol (`btcusd`), not an
# instrument; the plant makes them of its marks (``market/derivatives/asset_index_streams.py``),
# the relay relays them.
ASSET_INDEX_KINDS = frozenset({StreamKind.ASSET_INDEX, StreamKind.ALL_ASSET_INDEX})
ASSET_SYMBOLS = frozenset(index_symbol(asset).lower() for asset in MARGIN_ASSETS)
# The streams a plant derives from the trades it sees (``Plant(derived_streams=True)``):
# the simulator's and a public-file replay's; the relay relays them from its upstream.
DERIVED_KINDS = frozenset({StreamKind.KLINE, StreamKind.CONTINUOUS_KLINE})

# What every source of tickerplant serves, the relay included (it relays these kinds).
# Every other kind parses but never delivers.
SERVED_KINDS = (
    frozenset(
        {
            StreamKind.BOOK_TICKER,
            StreamKind.ALL_BOOK_TICKER,
            StreamKind.MINI_TICKER,
            StreamKind.ALL_MINI_TICKER,
            StreamKind.TICKER,
            StreamKind.ALL_TICKER,
            StreamKind.TRADE,
            StreamKind.AGG_TRADE,
            StreamKind.FORCE_ORDER,  # liquidations (§4.10): the simulator's, or relayed
            StreamKind.ALL_FORCE_ORDER,
        }
    )
    | DEPTH_KINDS
    | MARK_KINDS
    | DERIVED_KINDS
    | ASSET_INDEX_KINDS
)
_DELIVERED_KINDS = SERVED_KINDS

# The 2026 payload format's merged universe (§4.13): both hosts' all-market streams carry
# both markets' pushes (COIN-M has no `!markPrice@arr` of its own), and both hosts may
# subscribe to either market's symbols for klines, continuous klines and mark prices.
MERGED_ALL_MARKET = frozenset({
    "!ticker@arr", "!miniTicker@arr", "!bookTicker", "!forceOrder@arr", "!markPrice@arr", "!markPrice@arr@1s",
})  # fmt: skip
CROSS_MARKET_KINDS = frozenset({StreamKind.KLINE, StreamKind.CONTINUOUS_KLINE, StreamKind.MARK_PRICE})

# High-frequency book data lives under /public, everything else under /market (spec §2.2).
_PUBLIC_KINDS = frozenset(
    {
        StreamKind.BOOK_TICKER,
        StreamKind.ALL_BOOK_TICKER,
        StreamKind.DEPTH,
        StreamKind.PARTIAL_DEPTH,
        StreamKind.RPI_DEPTH,
        StreamKind.TRADE,
    }
)

_GLOBAL = {
    "!bookTicker": StreamKind.ALL_BOOK_TICKER,
    "!miniTicker@arr": StreamKind.ALL_MINI_TICKER,
    "!ticker@arr": StreamKind.ALL_TICKER,
    "!markPrice@arr": StreamKind.ALL_MARK_PRICE,
    "!markPrice@arr@1s": StreamKind.ALL_MARK_PRICE,
    "!forceOrder@arr": StreamKind.ALL_FORCE_ORDER,
    "!assetIndex@arr": StreamKind.ALL_ASSET_INDEX,
    "!contractInfo": StreamKind.CONTRACT_INFO,
}

_INTERVALS = "1m|3m|5m|15m|30m|1h|2h|4h|6h|8h|12h|1d|3d|1w|1M"
# A continuous kline names `<pair>_<contractType>` (§3.5, §4.12); `1s` is an interval of
# continuous klines alone, and USDⓈ-M's alone (resolve says so on COIN-M).
_CONTRACT_TYPES = "perpetual|current_quarter|next_quarter|tradifi_perpetual"
_CONTINUOUS = re.compile(rf"([a-z0-9]+)_({_CONTRACT_TYPES})")
# The event-type part is case-sensitive camelCase (spec §3.5); only the symbol varies.
_SUFFIXES: list[tuple[re.Pattern[str], StreamKind]] = [
    (re.compile(r"bookTicker"), StreamKind.BOOK_TICKER),
    (re.compile(r"miniTicker"), StreamKind.MINI_TICKER),
    (re.compile(r"ticker"), StreamKind.TICKER),
    (re.compile(r"aggTrade"), StreamKind.AGG_TRADE),
    (re.compile(r"trade"), StreamKind.TRADE),
    (re.compile(r"markPrice(@1s)?"), StreamKind.MARK_PRICE),
    (re.compile(rf"kline_({_INTERVALS})"), StreamKind.KLINE),
    (re.compile(rf"continuousKline_(1s|{_INTERVALS})"), StreamKind.CONTINUOUS_KLINE),
    (re.compile(r"depth(@500ms|@100ms|@0ms)?"), StreamKind.DEPTH),
    (re.compile(r"depth(5|10|20)(@500ms|@100ms|@0ms)?"), StreamKind.PARTIAL_DEPTH),
    (re.compile(r"rpiDepth@500ms"), StreamKind.RPI_DEPTH),
    (re.compile(r"forceOrder"), StreamKind.FORCE_ORDER),
    (re.compile(r"indexPrice(@1s)?"), StreamKind.INDEX_PRICE),
    (re.compile(rf"indexPriceKline_({_INTERVALS})"), StreamKind.INDEX_PRICE_KLINE),
    (re.compile(rf"markPriceKline_({_INTERVALS})"), StreamKind.MARK_PRICE_KLINE),
    (re.compile(r"compositeIndex"), StreamKind.COMPOSITE_INDEX),
    (re.compile(r"assetIndex"), StreamKind.ASSET_INDEX),
]


@dataclass(frozen=True, slots=True)
class StreamName:
    kind: StreamKind
    symbol: str | None  # the symbol part exactly as written; None for `!…` streams
    suffix: str  # the part after '@' (for `!…` streams, the whole name)


def parse(name: str) -> StreamName | None:
    """The grammar of spec §3.5, or None for a string that is no stream name at all."""
    kind = _GLOBAL.get(name)
    if kind is not None:
        return StreamName(kind, None, name)
    symbol, at, suffix = name.partition("@")
    if not at or not symbol or symbol.startswith("!"):
        return None
    for pattern, kind in _SUFFIXES:
        if pattern.fullmatch(suffix):
            return StreamName(kind, symbol, suffix)
    return None


def route_of(name: str) -> Route:
    """Where Binance serves a stream today: book data under /public, the rest under /market."""
    stream = parse(name)
    if stream is not None and stream.kind in _PUBLIC_KINDS:
        return Route.PUBLIC
    return Route.MARKET


def canonical_name(stream: StreamName, symbol: str | None) -> str:
    """The name the plant publishes under: lowercase symbol, the suffix as written."""
    if symbol is None:
        return stream.suffix
    return f"{symbol}@{stream.suffix}"


@dataclass(frozen=True, slots=True)
class Resolution:
    key: str | None  # the canonical stream the name delivers, or None
    why_silent: str | None  # why it will never deliver, for the log; None when it delivers


def _continuous_silence(stream: StreamName, symbols: Mapping[str, object], lenient_case: bool) -> str | None:
    """Why `<pair>_<contractType>@continuousKline_<interval>` delivers nothing here, if it
    does not: the pair and its contract type must be listed (§4.12)."""
    assert stream.symbol is not None
    written = stream.symbol
    found = _CONTINUOUS.fullmatch(written.lower() if lenient_case else written)
    if found is None:
        if _CONTINUOUS.fullmatch(written.lower()) is not None:
            return (
                "stream names spell the pair and contract type in lowercase; Binance delivers "
                "nothing for uppercase (start with --lenient-case to accept it)"
            )
        return f"{written!r} is no <pair>_<contractType> (spec §4.12)"
    pair, contract_type = found.groups()
    listed = [inst for inst in symbols.values() if str(getattr(inst, "pair", "")).lower() == pair]
    if not listed:
        return f"unknown pair {pair!r} on this market"
    um = getattr(listed[0], "market", Market.UM) is Market.UM
    if stream.suffix.endswith("_1s") and not um:
        return "1s continuous klines are USDⓈ-M only (spec §4.12)"
    wanted = contract_type.upper()
    if not any(getattr(getattr(inst, "contract_type", None), "value", None) == wanted for inst in listed):
        return f"no {contract_type} contract of {pair} in tickerplant's catalogue"
    return None


def resolve(
    name: str,
    symbols: Mapping[str, object],
    route: Route,
    *,
    strict_routing: bool,
    lenient_case: bool,
    other_symbols: Mapping[str, object] | None = None,
) -> Resolution:
    """Decide what a subscribed name delivers on this listener.

    ``symbols`` maps lowercase symbols (as they appear in stream names) to instruments.
    Binance acknowledges every well-formed name and silently delivers nothing for the ones
    below (spec §3.4); we say why, so a user is not left guessing.

    ``other_symbols``, the other market's, is given in the 2026 payload format: then a
    kline, continuous kline or mark-price name of one of the other market's symbols (not a
    COIN-M pair's array) delivers too (§4.13), under the name the other market's plant
    publishes (which the listener passes on, ``crosses_markets``).
    """
    here = _resolve(name, symbols, route, strict_routing=strict_routing, lenient_case=lenient_case)
    if here.key is not None or other_symbols is None:
        return here
    stream = parse(name)
    if stream is None or stream.kind not in CROSS_MARKET_KINDS:
        return here
    if stream.kind is StreamKind.MARK_PRICE and (stream.symbol or "").lower() not in other_symbols:
        return here  # a COIN-M pair's array: §4.13 merges symbols' streams
    there = _resolve(name, other_symbols, route, strict_routing=strict_routing, lenient_case=lenient_case)
    return there if there.key is not None else here


def crosses_markets(stream: str) -> bool:
    """Whether a listener in the 2026 payload format passes on the other market's push of
    ``stream`` (a canonical name, §4.13): the merged all-market streams, and every kline,
    continuous kline and symbol's mark-price stream (``resolve`` with ``other_symbols``
    decides who gets them)."""
    if stream in MERGED_ALL_MARKET:
        return True
    parsed = parse(stream)
    return parsed is not None and parsed.kind in CROSS_MARKET_KINDS


class CrossingStreams:
    """The other market's pushes a 2026 listener passes on (``crosses_markets``), picked
    from each of its batches: every name is parsed once and remembered (the names are the
    other plant's, a set fixed by its instruments), so a message costs a dict lookup.
    Called with a batch (the other market's bus), it hands what crosses to ``publish`` (the
    listener's fan-out)."""

    def __init__(self, publish: Callable[[list[StreamMessage]], object] | None = None) -> None:
        self._known: dict[str, bool] = {}
        self._publish = publish

    def __call__(self, messages: Iterable[StreamMessage]) -> None:
        picked = self.of(messages)
        if picked and self._publish is not None:
            self._publish(picked)

    def of(self, messages: Iterable[StreamMessage]) -> list[StreamMessage]:
        known = self._known
        crossing: list[StreamMessage] = []
        for message in messages:
            crosses = known.get(message.stream)
            if crosses is None:
                crosses = known[message.stream] = crosses_markets(message.stream)
            if crosses:
                crossing.append(message)
        return crossing


def _resolve(
    name: str,
    symbols: Mapping[str, object],
    route: Route,
    *,
    strict_routing: bool,
    lenient_case: bool,
) -> Resolution:
    stream = parse(name)
    if stream is None:
        return Resolution(None, "not a stream name (see the stream grammar, spec §3.5)")
    if stream.kind not in _DELIVERED_KINDS:
        return Resolution(None, f"{stream.kind.value} streams are not produced by tickerplant")
    symbol = stream.symbol
    premium = _premium_kline(stream, symbols)
    if premium is not None:
        return premium
    if stream.kind in ASSET_INDEX_KINDS:
        why = _asset_index_silence(stream, symbols, lenient_case)
        if why is not None:
            return Resolution(None, why)
        symbol = None if symbol is None else symbol.lower()
    elif stream.kind is StreamKind.CONTINUOUS_KLINE:
        assert symbol is not None
        why = _continuous_silence(stream, symbols, lenient_case)
        if why is not None:
            return Resolution(None, why)
        symbol = symbol.lower()
    elif symbol is not None:
        lower = symbol.lower()
        inst = symbols.get(lower)
        is_pair = inst is None and stream.kind in _PAIR_KINDS and _is_cm_pair(symbols, lower)
        if inst is None and not is_pair:
            return Resolution(None, f"unknown symbol {symbol!r} on this market")
        if stream.kind in _PAIR_ONLY_KINDS and not is_pair:
            what = _PAIR_ONLY_KINDS[stream.kind]
            return Resolution(None, f"{what} streams are COIN-M's and name a pair (spec §3.5, §4.12)")
        if symbol != lower:
            if not lenient_case:
                return Resolution(
                    None,
                    "stream names spell the symbol in lowercase; Binance delivers nothing "
                    "for uppercase (start with --lenient-case to accept it)",
                )
            symbol = lower
        market = Market.CM if is_pair else getattr(inst, "market", Market.UM)
        if stream.kind is StreamKind.RPI_DEPTH and market is not Market.UM:
            return Resolution(None, "rpiDepth streams are USDⓈ-M only (spec §4.11)")
        if stream.kind is StreamKind.MARK_PRICE_KLINE and market is not Market.CM:
            return Resolution(None, "markPriceKline streams are COIN-M only (spec §3.5)")
    if strict_routing:
        wanted = Route.PUBLIC if stream.kind in _PUBLIC_KINDS else Route.MARKET
        allowed = {wanted, Route.UNROUTED} if wanted is Route.PUBLIC else {wanted}
        if route not in allowed:
            where = f"/{route.value}" if route.value else "an unrouted path"
            return Resolution(
                None,
                f"belongs under /{wanted.value}, but this connection is on {where} "
                "(--strict-routing)",
            )
    return Resolution(canonical_name(stream, symbol), None)


def _asset_index_silence(stream: StreamName, symbols: Mapping[str, object], lenient_case: bool) -> str | None:
    """Why an asset index name delivers nothing here, if it does not: USDⓈ-M's alone,
    `<assetSymbol>` one of its margin assets' index symbols (``ASSET_SYMBOLS``), lowercase."""
    if any(getattr(inst, "market", Market.UM) is not Market.UM for inst in symbols.values()):
        return "assetIndex streams are USDⓈ-M's (spec §3.5)"
    written = stream.symbol
    if written is None:
        return None
    if written.lower() not in ASSET_SYMBOLS:
        return f"{written!r} is no margin asset's index symbol here ({', '.join(sorted(ASSET_SYMBOLS))})"
    if written != written.lower() and not lenient_case:
        return ("stream names spell the asset symbol in lowercase; Binance delivers nothing for "
                "uppercase (start with --lenient-case to accept it)")  # fmt: skip
    return None


def _premium_kline(stream: StreamName, symbols: Mapping[str, object]) -> Resolution | None:
    """`p<SYMBOL>@kline_<interval>` (`pBTCUSDT@kline_1m`: `p`, then the symbol in capitals),
    the premium index's candles, which Binance's docs do not list and its web front end and
    client libraries subscribe to (``market/klines/price_streams.py``); None for any other
    name. Published under the name as written: the capitals are part of it."""
    written = stream.symbol
    if stream.kind is not StreamKind.KLINE or written is None or len(written) < 2 or written[0] != "p":
        return None
    upper = written[1:]
    inst = symbols.get(upper.lower())
    if inst is None or upper != upper.upper():
        return None  # a symbol of its own that starts with p (`pepeusdt`), or none
    if getattr(inst, "market", None) is not Market.UM:
        return Resolution(None, "premium index klines (p<SYMBOL>@kline_<interval>) are USDⓈ-M's")
    if getattr(inst, "contract_type", None) is not ContractType.PERPETUAL:
        return Resolution(None, "only a perpetual has a premium index (p<SYMBOL>@kline_<interval>)")
    return Resolution(canonical_name(stream, written), None)


def _is_cm_pair(symbols: Mapping[str, object], lower: str) -> bool:
    """Whether ``lower`` is a COIN-M pair of the listed symbols (``btcusd``)."""
    return any(
        getattr(inst, "market", None) is Market.CM and getattr(inst, "pair", "").lower() == lower
        for inst in symbols.values()
    )
