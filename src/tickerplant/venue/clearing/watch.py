"""The venue's watch over the market for its accounts' positions: fed the market's bus
messages after the engine (``app._to_engine``), it charges each funding the plant
publishes (`<symbol>@fundingEvent`, ``venue/clearing/funding.py``) and checks the margin of the
accounts holding a position on a symbol at each of its marks (`<symbol>@markState`,
``venue/clearing/liquidation.py``) and after each funding it charged, but not while the
symbol's book is followed from elsewhere and not in sync (a relay's upstream lost,
``MarketData.halted``): its liquidation order would meet no book, and the next mark after it
is back checks again. Two dictionary lookups a message; nothing else when no account holds
a position."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from tickerplant.market.derivatives.mark_streams import FundingEvent
from tickerplant.market.messages import StreamMessage
from tickerplant.venue.clearing.funding import settle_funding
from tickerplant.venue.clearing.liquidation import check, check_collateral
from tickerplant.venue.domain.events import Made
from tickerplant.venue.engine.state import EngineState

__all__ = ["watch"]

_funding = msgspec.json.Decoder(FundingEvent)


def watch(engine: EngineState, messages: Iterable[StreamMessage], now_ms: int, out: Made) -> None:
    exposure = engine.exposure
    marks, fundings, holders = exposure.marks, exposure.fundings, exposure.holders
    if not holders:
        return
    for stream, payload in messages:
        symbol = marks.get(stream)
        if symbol is not None:
            if holders.get(symbol) and not engine.data.halted(symbol):  # a liquidation meets a book
                check(engine, symbol, now_ms, out)
            if exposure.pooled:  # Multi-Assets mode: the mark prices a collateral too
                check_collateral(engine, symbol, now_ms, out)
            continue
        symbol = fundings.get(stream)
        if symbol is not None and holders.get(symbol):
            settle_funding(engine, symbol, _funding.decode(payload), now_ms, out)
            if holders.get(symbol) and not engine.data.halted(symbol):  # a fee may take a position
                check(engine, symbol, now_ms, out)  # past its margin: checked now, not at the next mark
