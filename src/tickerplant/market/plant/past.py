"""The plant's warm start from a past given as closed minute klines (a simulated past,
``market/history``): the rolling 24 h windows take each minute as one bucket's sums, the open
candles the minutes since their open, and the market views learn those candles as
`<symbol>@klineRow` rows, so that the candle a request reads at the start already holds the
past's share of its interval and the live trades fold into it.

A minute is summed once, whatever its trade count: a day of a busy symbol's past costs its
1,440 minutes, not its million trades. A candle whose interval opened before the day (a
week's, a month's) is owed the past's part before it (``owe_past``), which its pushes join.
"""

from __future__ import annotations

import msgspec

from tickerplant.market.instruments import Market
from tickerplant.market.klines.candles import BASE_DECIMALS, Kline, close_time, open_time
from tickerplant.market.klines.past_parts import OwedParts, PastSource
from tickerplant.market.klines.warm import warm_from_minutes
from tickerplant.market.messages import KLINE_ROW, StreamMessage
from tickerplant.market.plant.plant import Plant
from tickerplant.market.units import fixed

__all__ = ["owe_past", "warm_minutes"]

_encode = msgspec.json.Encoder().encode


def warm_minutes(
    plant: Plant, symbol: str, minutes: list[Kline], last: tuple[int, int], now_ms: int, id_base: int = 0
) -> list[StreamMessage]:
    """``symbol``'s past ``minutes`` (ascending, closed before ``now_ms``'s minute) into its
    window and candles, nothing pushed; ``last``: the time and size of the last minute's
    last trade; ``id_base``: what the minutes' trade ids are below this start's numbering
    (``counts.id_bases``), added as they are read rather than to a copy of every minute.
    Returns the `@klineRow` messages of the candles open at ``now_ms``."""
    state = plant.symbols[symbol]
    window = state.window
    last_ms, last_qty = last
    for k in minutes:
        window.add_sums(
            k.open_ms, min(k.close_ms, last_ms), k.first_id + id_base, k.last_id + id_base, k.open, k.high,
            k.low, k.close, last_qty, k.volume, k.quote, k.count,
        )  # fmt: skip
    if minutes:
        state.mini_changed = state.ticker_changed = True
    if state.candles is None:
        return []
    inst = state.inst
    pd, qd = inst.price_decimals, inst.qty_decimals
    quote_d = pd + qd if inst.market is Market.UM else BASE_DECIMALS
    name = f"{symbol.lower()}@{KLINE_ROW}"
    out = []
    for interval, k in warm_from_minutes(state.candles, minutes, now_ms):
        k.first_id += id_base  # a candle of its own (warm_from_minutes'): in this start's numbering
        k.last_id += id_base
        row = (
            interval, k.open_ms, fixed(k.open, pd), fixed(k.high, pd), fixed(k.low, pd), fixed(k.close, pd),
            fixed(k.volume, qd), k.close_ms, fixed(k.quote, quote_d), k.count,
            fixed(k.taker_buy_volume, qd), fixed(k.taker_buy_quote, quote_d),
        )  # fmt: skip
        out.append(StreamMessage(name, _encode(row)))
    return out


def owe_past(plant: Plant, symbol: str, source: PastSource[Kline], now_ms: int, warm_ms: int) -> None:
    """``symbol``'s candles open at ``now_ms`` whose interval opened before ``warm_ms`` (the
    warm start's first minute) lack the past's part before it: their pushes join it in front,
    made from ``source`` when somebody takes them (``klines/past_parts.py``)."""
    candles = plant.symbols[symbol].candles
    if candles is None:
        return
    opens = [(open_time(interval, now_ms), interval) for interval in candles.intervals]
    owed = {
        index: (open_ms, close_time(interval, open_ms))
        for index, (open_ms, interval) in enumerate(opens) if open_ms < warm_ms
    }  # fmt: skip
    candles.owed = OwedParts(source, symbol, owed) if owed else None
