"""Kline stream payloads as their structs encode them (``market/payloads/derived_events.py``): the
reference the plant's templates (``market/klines/frames.py``) are held to, byte for byte, and
the golden tests' payloads."""

from __future__ import annotations

from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.klines.candles import BASE_DECIMALS, Kline
from tickerplant.market.payloads import derived_events
from tickerplant.market.units import fixed

KlineTexts = tuple[str, str, str, str, str, str, str, str]


def kline_texts(k: Kline, inst: Instrument, market: Market) -> KlineTexts:
    """o, c, h, l, v, q, V, Q of a kline as the payloads write them: formatted once for the
    kline and the continuous kline of the same candle."""
    pd, qd = inst.price_decimals, inst.qty_decimals
    quote_decimals = pd + qd if market is Market.UM else BASE_DECIMALS
    o, c, h, lo = fixed(k.open, pd), fixed(k.close, pd), fixed(k.high, pd), fixed(k.low, pd)
    return (
        o, c, h, lo, fixed(k.volume, qd), fixed(k.quote, quote_decimals),
        fixed(k.taker_buy_volume, qd), fixed(k.taker_buy_quote, quote_decimals),
    )  # fmt: skip


def stream_kline(
    k: Kline, inst: Instrument, market: Market, interval: str, closed: bool, event_ms: int,
    texts: KlineTexts | None = None,
) -> derived_events.Kline[str]:
    """The kline stream payload for ``k``; ``closed`` sets `x`, the final update's flag.
    ``texts``: ``kline_texts(k, …)`` when the caller has them already."""
    o, c, h, lo, v, q, bv, bq = texts or kline_texts(k, inst, market)
    data = derived_events.KlineData(
        k.open_ms, k.close_ms, inst.symbol, interval, k.first_id, k.last_id, o, c, h, lo, v,
        k.count, closed, q, bv, bq, "0",
    )  # fmt: skip
    return derived_events.Kline(event_ms, inst.symbol, data)


def stream_continuous_kline(
    k: Kline, inst: Instrument, market: Market, interval: str, contract_type: str, closed: bool,
    event_ms: int, texts: KlineTexts | None = None,
) -> derived_events.ContinuousKline[str]:
    """The continuous kline payload for ``k``, a kline of the contract that is the pair's
    ``contract_type`` (uppercase) at ``event_ms``."""
    o, c, h, lo, v, q, bv, bq = texts or kline_texts(k, inst, market)
    data = derived_events.ContinuousKlineData(
        k.open_ms, k.close_ms, interval, k.first_id, k.last_id, o, c, h, lo, v, k.count, closed,
        q, bv, bq, "0",
    )  # fmt: skip
    return derived_events.ContinuousKline(event_ms, inst.pair, contract_type, data)
