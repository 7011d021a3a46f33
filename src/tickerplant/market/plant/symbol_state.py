"""What the plant knows about one symbol (``market/plant/plant.py``): its book, 24 h window, last
bookTicker, the diff-depth event gathered in the current batch, its depth streams' state and
its candles. Bounded by design, as the plant's docstring lists.
"""

from __future__ import annotations

from tickerplant.market.book.depth import SymbolDepth
from tickerplant.market.book.order_book import OrderBook
from tickerplant.market.instruments import Instrument
from tickerplant.market.klines.symbol_candles import SymbolCandles
from tickerplant.market.messages import SymbolStreams
from tickerplant.market.payloads import builders
from tickerplant.market.payloads.event_frames import EventFrames
from tickerplant.market.trades.stats import RollingWindow

__all__ = ["SymbolState"]


class SymbolState:
    """Everything the plant knows about one symbol; bounded, see the module docstring."""

    __slots__ = (
        "book",
        "book_ticker",
        "candles",
        "depth",
        "depth_asks",
        "depth_bids",
        "depth_gathered",
        "depth_time_ms",
        "encoders",
        "frames",
        "inst",
        "mini_changed",
        "names",
        "ticker_changed",
        "top",
        "top_changed",
        "window",
    )

    def __init__(self, inst: Instrument, window_ms: int, encoders: builders.Encoders) -> None:
        self.inst = inst
        self.encoders = encoders  # the listener's payload format's (§4.13)
        self.frames = EventFrames(inst, encoders)  # its bookTicker, trade and aggTrade payloads
        self.book = OrderBook()
        self.window = RollingWindow(window_ms)
        self.top: tuple[int, int, int, int] | None = None
        self.book_ticker: bytes | None = None  # the last bookTicker payload
        self.top_changed = False  # since the last USDⓈ-M !bookTicker batch
        self.mini_changed = True  # since the last !miniTicker@arr push
        self.ticker_changed = True  # since the last !ticker@arr push
        # the diff-depth event being gathered in this batch
        self.depth_bids: dict[int, int] = {}
        self.depth_asks: dict[int, int] = {}
        self.depth_gathered = False  # the book changed in this batch: its event is due
        self.depth_time_ms = 0
        self.names = SymbolStreams(inst.symbol)
        self.depth = SymbolDepth(inst, self.book, encoders)  # the client-facing depth streams
        self.candles: SymbolCandles | None = None  # the kline streams' state (derived streams)
