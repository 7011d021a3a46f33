"""The plant's ticker pushes on their cadences (spec §4.14, ``plant.py``): each symbol's
`<symbol>@miniTicker` and `<symbol>@ticker` (``snapshot``), and the `!miniTicker@arr` and
`!ticker@arr` arrays of the tickers that changed since the last (``arrays``). Each reads the
symbols' 24 h windows, evicting what left them first; a payload is written only for a
stream somebody takes (``wanted``, ``market/demand.py``), every changed mark cleared
whether or not it is."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from tickerplant.market.demand import Demand
from tickerplant.market.messages import ALL_MINI_TICKER, ALL_TICKER, StreamMessage
from tickerplant.market.payloads import builders
from tickerplant.market.plant.symbol_state import SymbolState

__all__ = ["arrays", "evict", "snapshot"]


def evict(state: SymbolState, now_ms: int) -> None:
    """The trades older than the window out of ``state``'s; what that changed, marked."""
    if state.window.evict(now_ms):
        state.mini_changed = state.ticker_changed = True


def snapshot(
    states: Iterable[SymbolState], now_ms: int, wanted: Demand, encode: Callable[[Any], bytes],
    out: list[StreamMessage],
) -> None:  # fmt: skip
    """Every symbol's miniTicker and ticker now (a symbol that never traded has none)."""
    for state in states:
        if not state.window.last_time_ms:
            continue  # never traded (a replay of bookTicker alone): no ticker to show
        evict(state, now_ms)
        if wanted is None or state.names.mini in wanted:
            mini = builders.mini_ticker(state.inst, state.window, now_ms, state.encoders)
            out.append(StreamMessage(state.names.mini, encode(mini)))
        ticker = builders.ticker(state.inst, state.window, now_ms, state.encoders)
        out.append(StreamMessage(state.names.ticker, encode(ticker)))


def arrays(
    states: Iterable[SymbolState], now_ms: int, wanted: Demand, encode: Callable[[Any], bytes],
    out: list[StreamMessage],
) -> None:  # fmt: skip
    """The arrays of the miniTickers and tickers that changed since the last."""
    minis = []
    tickers = []
    # the changed marks are cleared whether or not the arrays are written (see Plant.follow)
    want_minis = wanted is None or ALL_MINI_TICKER in wanted
    want_tickers = wanted is None or ALL_TICKER in wanted
    for state in states:
        if not state.window.last_time_ms:
            continue
        evict(state, now_ms)
        if state.mini_changed:
            state.mini_changed = False
            if want_minis:
                minis.append(builders.mini_ticker(state.inst, state.window, now_ms, state.encoders))
        if state.ticker_changed:
            state.ticker_changed = False
            if want_tickers:
                tickers.append(builders.ticker(state.inst, state.window, now_ms, state.encoders))
    if minis:
        out.append(StreamMessage(ALL_MINI_TICKER, encode(minis)))
    if tickers:
        out.append(StreamMessage(ALL_TICKER, encode(tickers)))
