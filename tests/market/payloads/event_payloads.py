"""bookTicker, trade and aggTrade payloads as their structs encode them (``payloads.Encoders``):
the reference the plant's templates (``market/payloads/event_frames.py``) are held to, byte for byte."""

from __future__ import annotations

import msgspec

from tickerplant.market.instruments import Instrument
from tickerplant.market.payloads.builders import Encoders
from tickerplant.market.units import fixed
from tickerplant.market.updates import Trade


def book_ticker(
    inst: Instrument,
    top: tuple[int, int, int, int],
    update_id: int,
    time_ms: int,
    now_ms: int,
    enc: Encoders,
) -> msgspec.Struct:
    bid_px, bid_qty, ask_px, ask_qty = top
    pd, qd = inst.price_decimals, inst.qty_decimals
    b, bq, a, aq = fixed(bid_px, pd), fixed(bid_qty, qd), fixed(ask_px, pd), fixed(ask_qty, qd)
    if enc.pair:
        return enc.book_ticker(update_id, inst.symbol, inst.pair, b, bq, a, aq, time_ms, now_ms)
    return enc.book_ticker(update_id, inst.symbol, b, bq, a, aq, time_ms, now_ms)


def trade(inst: Instrument, t: Trade, now_ms: int, enc: Encoders) -> msgspec.Struct:
    return enc.trade(
        now_ms, t.time_ms, inst.symbol, t.trade_id,
        fixed(t.price, inst.price_decimals), fixed(t.qty, inst.qty_decimals), "MARKET", t.buyer_is_maker,
    )  # fmt: skip


def aggregate(
    inst: Instrument,
    agg_id: int,
    first_id: int,
    last_id: int,
    time_ms: int,
    price_units: int,
    qty_units: int,
    buyer_is_maker: bool,
    now_ms: int,
    enc: Encoders,
) -> msgspec.Struct:
    price, qty = fixed(price_units, inst.price_decimals), fixed(qty_units, inst.qty_decimals)
    if enc.normal_qty:
        return enc.agg_trade(
            now_ms, agg_id, inst.symbol, price, qty, qty, first_id, last_id, time_ms, buyer_is_maker
        )
    return enc.agg_trade(now_ms, agg_id, inst.symbol, price, qty, first_id, last_id, time_ms, buyer_is_maker)
