"""Which streams the relay subscribes upstream (``feeds/relay/relay.py``).

Plain functions, no I/O: the kinds a relay may carry (every kind tickerplant serves,
``protocol.streams.SERVED_KINDS``) and the upstream names of those kinds for the chosen
instruments, spelled as Binance spells them (spec §3.4, §3.5), and the canonical names the
gateways route them by. What the market views are
told beside the relayed mark prices is ``feeds/mark_notes.py``'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tickerplant.feeds.relay.books import BOOK_STREAM
from tickerplant.market.derivatives.asset_index_streams import asset_index_name
from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.payloads.asset_index import MARGIN_ASSETS
from tickerplant.protocol.streams import DEPTH_KINDS, SERVED_KINDS, Route, StreamKind, parse, resolve

__all__ = [
    "DEFAULT_KINDS",
    "KLINE_INTERVALS",
    "TRADES_STREAM",
    "canonical_names",
    "keeps_books",
    "relayable_kinds",
    "stream_names",
]

# Subscribed whatever kinds are chosen, and published on the bus: the venue fills resting
# orders and triggers CONTRACT_PRICE algo orders from the public trades (``venue/engine/
# resting.py``, ``algo_book.note``), and the klines are made from them. A local client is
# given it only when it is among the chosen kinds (``Prepared.carried``).
TRADES_STREAM = "aggTrade"

KLINE_INTERVALS = (
    "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M"
)  # fmt: skip

# Everything tickerplant serves (SERVED_KINDS): per symbol, then the all-market streams.
# `markPrice`, `indexPrice`, `indexPriceKline_…` and `continuousKline_…` are relayed under
# the names Binance gives them (``stream_names``): COIN-M's pair streams once per pair,
# continuous klines once per pair and contract type; the price klines on COIN-M alone.
DEFAULT_KINDS: tuple[str, ...] = (
    "bookTicker", "aggTrade", "trade", "miniTicker", "ticker",
    "depth", "depth@500ms", "depth@100ms",
    "depth5", "depth10", "depth20", "depth5@500ms", "depth10@500ms", "depth20@500ms",
    "depth5@100ms", "depth10@100ms", "depth20@100ms", "rpiDepth@500ms", "forceOrder",
    "markPrice", "markPrice@1s", "indexPrice", "indexPrice@1s",
    *(f"kline_{interval}" for interval in KLINE_INTERVALS),
    "continuousKline_1s", *(f"continuousKline_{interval}" for interval in KLINE_INTERVALS),
    *(f"markPriceKline_{interval}" for interval in KLINE_INTERVALS),  # COIN-M's (§3.5)
    *(f"indexPriceKline_{interval}" for interval in KLINE_INTERVALS),
    "!bookTicker", "!miniTicker@arr", "!ticker@arr", "!forceOrder@arr",
    "!markPrice@arr", "!markPrice@arr@1s", "assetIndex", "!assetIndex@arr",
)  # fmt: skip


_UM_ALL_MARKET = frozenset({StreamKind.ALL_MARK_PRICE, StreamKind.ALL_ASSET_INDEX})  # USDⓈ-M's alone


def kind_of(kind: str) -> StreamKind | None:
    """What a relayed kind names: a per-symbol suffix ("bookTicker") or a "!…" stream."""
    stream = parse(kind) if kind.startswith("!") else parse(f"x@{kind}")
    return None if stream is None else stream.kind


def relayable_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    """``kinds`` checked and deduplicated: each is a per-symbol suffix ("bookTicker") or an
    all-market name ("!bookTicker") of a stream tickerplant serves, since a local client
    can only be given what the gateway routes (protocol.streams.SERVED_KINDS)."""
    checked: dict[str, None] = {}
    refused: list[str] = []
    for kind in kinds:
        if kind_of(kind) in SERVED_KINDS:
            checked[kind] = None
        else:
            refused.append(kind)
    if refused:
        raise ValueError(
            f"cannot relay {', '.join(refused)}: a kind is a stream name's part after the symbol's "
            "'@' as Binance writes it (bookTicker, depth20@100ms, kline_1m, markPrice@1s, …) or an "
            "all-market stream (!bookTicker, !miniTicker@arr, …) that tickerplant serves"
        )
    if not checked:
        raise ValueError("no stream kinds to relay")
    return tuple(checked)


def keeps_books(kinds: Iterable[str]) -> bool:
    """Whether relaying ``kinds`` keeps books: any depth kind is relayed."""
    return any(kind_of(kind) in DEPTH_KINDS for kind in kinds)


def _names_of(inst: Instrument, kind: str) -> tuple[str, ...]:
    """The upstream names of one per-symbol ``kind`` for ``inst`` (none where its market
    has no such stream)."""
    cm = inst.market is Market.CM
    stream = kind_of(kind)
    if stream is StreamKind.ASSET_INDEX:
        return ()  # named by a margin asset, not a symbol (``stream_names``)
    if stream is StreamKind.RPI_DEPTH and cm:
        return ()  # USDⓈ-M's alone (§4.11)
    if stream in (StreamKind.INDEX_PRICE, StreamKind.INDEX_PRICE_KLINE):
        return (f"{inst.pair.lower()}@{kind}",) if cm else ()  # COIN-M's pairs' alone (§3.5, §4.12)
    if stream is StreamKind.MARK_PRICE_KLINE and not cm:
        return ()  # COIN-M's alone (§3.5)
    if stream is StreamKind.CONTINUOUS_KLINE:
        if cm and kind.endswith("_1s"):
            return ()  # 1s continuous klines are USDⓈ-M's alone (§4.12)
        return (f"{inst.pair.lower()}_{inst.contract_type.value.lower()}@{kind}",)
    own = f"{inst.symbol.lower()}@{kind}"
    if stream is StreamKind.MARK_PRICE and cm:
        return own, f"{inst.pair.lower()}@{kind}"  # and the pair's array (§4.6)
    return (own,)


def stream_names(instruments: Sequence[Instrument], kinds: Sequence[str]) -> list[str]:
    """The upstream stream names of ``kinds`` for ``instruments``: per symbol (lowercase, as
    Binance requires, spec §3.4; a pair's streams once per pair, a continuous kline's once
    per pair and contract type), then the all-market streams once. A market with nothing
    chosen relays nothing, not even its all-market streams. Relaying depth adds each
    symbol's ``BOOK_STREAM``, which its book is kept from; every symbol's ``TRADES_STREAM``
    is subscribed whatever the kinds; `rpiDepth`, `!markPrice@arr` and the asset index are
    USDⓈ-M's alone (§4.11, §4.6, §3.5), the asset index named by each margin asset
    (`btcusd@assetIndex`), not per symbol."""
    if not instruments:
        return []
    per_symbol = [kind for kind in kinds if not kind.startswith("!")]
    if TRADES_STREAM not in per_symbol:
        per_symbol.insert(0, TRADES_STREAM)
    if keeps_books(kinds) and BOOK_STREAM not in per_symbol:
        per_symbol.append(BOOK_STREAM)
    names: dict[str, None] = {}
    for inst in instruments:
        for kind in per_symbol:
            names.update(dict.fromkeys(_names_of(inst, kind)))
    um = any(inst.market is Market.UM for inst in instruments)
    if um and any(kind_of(kind) is StreamKind.ASSET_INDEX for kind in per_symbol):
        names.update(dict.fromkeys(asset_index_name(asset) for asset in MARGIN_ASSETS))  # by asset (§3.5)
    every = [k for k in kinds if k.startswith("!") and (um or kind_of(k) not in _UM_ALL_MARKET)]
    return [*names, *every]


def canonical_names(names: Iterable[str], instruments: Sequence[Instrument]) -> dict[str, str]:
    """Each received stream name -> the canonical name the gateways route by. For the
    lowercase names Binance sends they are the same string, but resolve() is the one
    authority on that, so ask it rather than assume."""
    symbols = {inst.symbol.lower(): inst for inst in instruments}
    mapping: dict[str, str] = {}
    for name in names:
        key = resolve(name, symbols, Route.UNROUTED, strict_routing=False, lenient_case=True).key
        if key is not None:
            mapping[name] = key
    return mapping
