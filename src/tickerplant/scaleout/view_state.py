"""A market view's state, taken in the plant process and loaded into a gateway's view.

A gateway that starts after its plant, or loses frames (a NATS reconnect, a slow
consumer), or sees its plant restart, has a view that is missing what those frames said:
books, the last bookTicker and 24 h ticker, klines, trades, open interest, mark state.
Rebuilding it from messages would need every message since the plant's start (the klines
are a day of trades), so the plant keeps a ``MarketView`` of its own per market, fed
from what it publishes, and answers a request with that view's state as of its last
frame; the gateway loads it into its own view, in place (the view's routes and the
protocol surfaces hold the ``SymbolView`` objects and read ``marks`` on each request), and
applies the frames after it.

The state is pickled: it is the market layer's own objects (order books, kline series,
trade histories, mark state), and plant and gateways run the same tickerplant. So the
NATS server must be private to them: whoever can publish on ``tp.>`` can feed a gateway
(docs/operations.md, Scale-out).
"""

from __future__ import annotations

import pickle
from typing import Any

from tickerplant.market.plant.view import MarketView, SymbolView

__all__ = ["capture", "load"]


def capture(view: MarketView) -> bytes:
    """The view's state: every symbol's, with its backlogs applied, and the mark state."""
    for symbol in view.symbols.values():
        view.book(symbol)
        view.klines(symbol)
    symbols = {
        name: {slot: getattr(symbol, slot) for slot in SymbolView.__slots__ if slot != "inst"}
        for name, symbol in view.symbols.items()
    }
    return pickle.dumps((view.market.value, symbols, view.marks), protocol=pickle.HIGHEST_PROTOCOL)


def load(view: MarketView, state: bytes) -> None:
    """Make ``view`` hold ``state`` (a ``capture`` of the same market's view)."""
    market, symbols, marks = pickle.loads(state)  # from the plant only: see above
    if market != view.market.value:
        raise ValueError(f"a state of market {market}, not {view.market.value}")
    slots: dict[str, Any]
    for name, slots in symbols.items():
        target = view.symbols.get(name)
        if target is not None:
            for slot, value in slots.items():
                setattr(target, slot, value)
    view.marks = marks
