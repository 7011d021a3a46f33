"""Where the plant's streams get the simulated past's part of a candle open at the live start
(``market/klines/past_parts.py``): the same spans REST adds to the same candles
(``protocol/past.PastAnswers``), so that a stream pushes what REST answers.

- a trade kline's: the past's trades from the candle's open to the warm start's first whole
  minute (``SimulatedPast.span``, as ``PastAnswers._share``), its trade ids in this start's
  numbering (``counts.id_bases``);
- a mark, index or premium candle's: the past's samples from its open to the live start's
  minute (``PastMarks.span``, as ``PastAnswers._whole_bar``).
"""

from __future__ import annotations

from collections.abc import Generator

from tickerplant.market.history.marks import PastMarks
from tickerplant.market.history.series import SimulatedPast
from tickerplant.market.klines.candles import Kline
from tickerplant.market.klines.price_candles import PriceBar, PriceKind

__all__ = ["PastPriceParts", "PastTradeParts"]


class PastTradeParts:
    """A trade kline's part: from its open to ``warm_ms``, the ids ``trade_base`` higher."""

    def __init__(self, past: SimulatedPast, warm_ms: int, trade_base: int) -> None:
        self.past, self.warm_ms, self.trade_base = past, warm_ms, trade_base

    def made(self, name: str, open_ms: int) -> Generator[None, None, Kline | None]:
        k = yield from self.past.span_pieces(name, open_ms, self.warm_ms)
        return None if k is None else k.renumbered(self.trade_base)


class PastPriceParts:
    """A ``kind`` candle's part: the samples from its open to ``until_ms``."""

    def __init__(self, marks: PastMarks, kind: PriceKind, until_ms: int) -> None:
        self.marks, self.kind, self.until_ms = marks, kind, until_ms

    def made(self, name: str, open_ms: int) -> Generator[None, None, PriceBar | None]:
        return (yield from self.marks.span_made(name, self.kind, open_ms, self.until_ms))
