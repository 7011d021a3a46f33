"""What the plant hands on: a payload encoded once, under the canonical stream it belongs to.

``StreamMessage`` is defined here, in the innermost layer, because the plant makes them
and ``market/`` imports nothing outside itself; ``tickerplant.bus`` re-exports it as the
type its interface carries, so the bus and the gateways need not import the plant.

The canonical names are the lowercase ones of spec §3.5 (`btcusdt@bookTicker`), plus
`<symbol>@depthDiff`, the plant's internal diff-depth stream that no client can name.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["ALL_BOOK_TICKER", "ALL_MINI_TICKER", "ALL_TICKER", "StreamMessage", "SymbolStreams"]

ALL_BOOK_TICKER = "!bookTicker"
ALL_MINI_TICKER = "!miniTicker@arr"
ALL_TICKER = "!ticker@arr"


class StreamMessage(NamedTuple):
    stream: str  # canonical stream name, e.g. "btcusdt@bookTicker"
    payload: bytes  # the JSON payload, encoded once


class SymbolStreams:
    """The canonical names of one symbol's streams, built once per symbol."""

    __slots__ = ("agg_trade", "book_ticker", "depth", "mini", "ticker", "trade")

    def __init__(self, symbol: str) -> None:
        lower = symbol.lower()  # stream names spell the symbol in lowercase (§3.5)
        self.book_ticker = f"{lower}@bookTicker"
        self.mini = f"{lower}@miniTicker"
        self.ticker = f"{lower}@ticker"
        self.trade = f"{lower}@trade"
        self.agg_trade = f"{lower}@aggTrade"
        self.depth = f"{lower}@depthDiff"
