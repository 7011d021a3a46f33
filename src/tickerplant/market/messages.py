"""What the plant hands on: a payload encoded once, under the canonical stream it belongs to.

``StreamMessage`` is defined here, in the innermost layer, because the plant makes them
and ``market/`` imports nothing outside itself; ``tickerplant.bus`` re-exports it as the
type its interface carries, so the bus and the gateways need not import the plant.

The canonical names are the lowercase ones of spec §3.5 (`btcusdt@bookTicker`), plus
`<symbol>@depthDiff`, the plant's internal diff-depth stream that no client can name, and
the internal `<symbol>@markState` and `<symbol>@fundingEvent` (``market/derivatives/mark_streams.py``).
`<symbol>@openInterest`, its internal open-interest notes (``market/derivatives/open_interest.py``).
"""

from __future__ import annotations

import enum
from typing import NamedTuple

__all__ = [
    "ALL_BOOK_TICKER",
    "ALL_FORCE_ORDER",
    "ALL_MINI_TICKER",
    "ALL_TICKER",
    "KLINE_ROW",
    "PARTIAL_DEPTH_LEVELS",
    "DepthStreams",
    "StreamKind",
    "StreamMessage",
    "SymbolStreams",
]


class StreamKind(enum.Enum):
    """Every kind of market stream (spec §3.5). For most kinds the value is how a name
    spells it: a symbol's stream is ``<symbol>@<value>`` (``btcusdt@bookTicker``), an
    all-market one the value itself (``!bookTicker``); the grammar that parses names into
    kinds, including the ones spelled otherwise (``depth5``), is ``protocol/streams.py``."""

    BOOK_TICKER = "bookTicker"
    ALL_BOOK_TICKER = "!bookTicker"
    MINI_TICKER = "miniTicker"
    ALL_MINI_TICKER = "!miniTicker@arr"
    TICKER = "ticker"
    ALL_TICKER = "!ticker@arr"
    AGG_TRADE = "aggTrade"
    TRADE = "trade"
    MARK_PRICE = "markPrice"
    ALL_MARK_PRICE = "!markPrice@arr"
    KLINE = "kline"
    CONTINUOUS_KLINE = "continuousKline"
    DEPTH = "depth"
    PARTIAL_DEPTH = "partialDepth"
    RPI_DEPTH = "rpiDepth"
    FORCE_ORDER = "forceOrder"
    ALL_FORCE_ORDER = "!forceOrder@arr"
    INDEX_PRICE = "indexPrice"
    INDEX_PRICE_KLINE = "indexPriceKline"
    MARK_PRICE_KLINE = "markPriceKline"
    COMPOSITE_INDEX = "compositeIndex"
    ASSET_INDEX = "assetIndex"
    ALL_ASSET_INDEX = "!assetIndex@arr"
    CONTRACT_INFO = "!contractInfo"


ALL_BOOK_TICKER = StreamKind.ALL_BOOK_TICKER.value
ALL_MINI_TICKER = StreamKind.ALL_MINI_TICKER.value
ALL_TICKER = StreamKind.ALL_TICKER.value
ALL_FORCE_ORDER = StreamKind.ALL_FORCE_ORDER.value


class StreamMessage(NamedTuple):
    stream: str  # canonical stream name, e.g. "btcusdt@bookTicker"
    payload: bytes  # the JSON payload, encoded once


# A row of a replayed kline file, for the market views alone (`<symbol>@klineRow`,
# ``feeds/replay/files.py``): [interval, open time, o, h, l, c, v, close time, q, n, V, Q].
KLINE_ROW = "klineRow"


class SymbolStreams:
    """The canonical names of one symbol's streams, built once per symbol."""

    __slots__ = (
        "agg_trade", "book_ticker", "depth", "force_order", "mini", "open_interest", "ticker", "trade",
    )  # fmt: skip

    def __init__(self, symbol: str) -> None:
        lower = symbol.lower()  # stream names spell the symbol in lowercase (§3.5)
        self.book_ticker = f"{lower}@{StreamKind.BOOK_TICKER.value}"
        self.mini = f"{lower}@{StreamKind.MINI_TICKER.value}"
        self.ticker = f"{lower}@{StreamKind.TICKER.value}"
        self.trade = f"{lower}@{StreamKind.TRADE.value}"
        self.agg_trade = f"{lower}@{StreamKind.AGG_TRADE.value}"
        self.depth = f"{lower}@depthDiff"
        self.force_order = f"{lower}@{StreamKind.FORCE_ORDER.value}"
        self.open_interest = f"{lower}@openInterest"  # internal, as `@depthDiff`


PARTIAL_DEPTH_LEVELS = (5, 10, 20)  # `<symbol>@depth<N>` (§4.8)


def _speed_suffix(speed_ms: int) -> str:
    return "" if speed_ms == 250 else f"@{speed_ms}ms"  # 250 ms is the unsuffixed speed (§4.14)


class DepthStreams:
    """The canonical names of one symbol's depth streams (§4.8, §4.9, §4.11), per speed:
    ``diff[i]`` is `<symbol>@depth<suffix>`, ``partial[i]`` the `@depth5`, `@depth10` and
    `@depth20` names at that speed, for the speeds in the order given."""

    __slots__ = ("diff", "every", "partial", "rpi")

    def __init__(self, symbol: str, speeds_ms: tuple[int, ...], *, rpi: bool) -> None:
        lower = symbol.lower()
        self.diff = [f"{lower}@{StreamKind.DEPTH.value}{_speed_suffix(s)}" for s in speeds_ms]
        self.partial = [
            [f"{lower}@{StreamKind.DEPTH.value}{n}{_speed_suffix(s)}" for n in PARTIAL_DEPTH_LEVELS]
            for s in speeds_ms
        ]
        # `<symbol>@rpiDepth@500ms`, USDⓈ-M only
        self.rpi = f"{lower}@{StreamKind.RPI_DEPTH.value}@500ms" if rpi else None
        # every one of them: whether somebody takes any of the symbol's depth
        partials = [name for names in self.partial for name in names]
        self.every = (*self.diff, *partials, *([self.rpi] if self.rpi else []))
