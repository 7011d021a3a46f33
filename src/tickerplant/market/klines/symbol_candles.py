"""One symbol's open kline candles: one per interval, the pending candle of the trades since
the last push, and the stream names they are pushed under (spec §4.7, §4.12).

``streams.KlineStreams`` moves them on trades and time; ``warm.warm_candles`` fills them from
a day of past trades at start. Both import this module, and neither imports the other's.
"""

from __future__ import annotations

from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.klines.candles import CONTINUOUS_INTERVALS_UM, INTERVALS, Kline
from tickerplant.market.klines.frames import KlineFrames
from tickerplant.market.klines.past_parts import OwedParts
from tickerplant.market.messages import StreamKind

__all__ = ["NEVER_MS", "SymbolCandles"]

NEVER_MS = 1 << 62  # a close time no candle reaches


class SymbolCandles:
    """One symbol's open candles, one per interval (None: nothing traded in it yet), the
    pending candle of the trades since the last push, and its stream names."""

    __slots__ = (
        "candles",
        "changed",
        "continuous_names",
        "contract_type",
        "frames",
        "grid_ms",
        "inst",
        "interval_texts",
        "intervals",
        "kline_names",
        "next_close_ms",
        "owed",
        "pending",
        "ticked_ms",
    )

    def __init__(self, inst: Instrument) -> None:
        self.inst = inst
        um = inst.market is Market.UM
        self.intervals: tuple[str, ...] = CONTINUOUS_INTERVALS_UM if um else INTERVALS
        self.interval_texts = [b'"%s"' % i.encode() for i in self.intervals]  # `i` as written
        self.frames = KlineFrames(inst)  # the payloads' bytes
        self.grid_ms = 1000 if um else 60_000  # the smallest interval: 1s (UM), 1m (CM)
        self.candles: list[Kline | None] = [None] * len(self.intervals)
        self.pending: Kline | None = None
        self.changed = False  # since the last push
        self.next_close_ms = NEVER_MS  # the earliest close time of an open candle
        self.ticked_ms = -1  # the last tick these candles caught up to ahead of the plant's
        self.owed: OwedParts[Kline] | None = None  # candles lacking the past's part (past_parts.py)
        lower = inst.symbol.lower()
        kline = StreamKind.KLINE.value
        self.kline_names: list[str | None] = [
            f"{lower}@{kline}_{interval}" if interval != "1s" else None for interval in self.intervals
        ]
        self.contract_type: str | None = None  # uppercase, as the payload's `ct`
        self.continuous_names: list[str] = []

    def set_contract_type(self, contract_type: str | None) -> None:
        self.contract_type = contract_type
        if contract_type is None:
            self.continuous_names = []
            return
        prefix = f"{self.inst.pair.lower()}_{contract_type.lower()}@{StreamKind.CONTINUOUS_KLINE.value}"
        self.continuous_names = [f"{prefix}_{interval}" for interval in self.intervals]
