"""Kline payloads as bytes around what changes from push to push: the plant's most frequent
time-driven pushes (every 250 ms, per changed candle, per interval; spec §4.7, §4.12, and
COIN-M's price klines of §3.5) assembled with ``%`` instead of structs built and encoded: a
kline and its continuous kline, which share their `k` from `i` on, in 3.1 µs instead of 5.3
(in-process, one BTCUSDT candle).

The templates are derived from the payloads' own structs (``market/payloads/derived_events.py``) as
``market/payloads/templates.py`` says. ``tests/market/test_kline_frames.py`` holds every template equal
to the struct's encoding.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.klines.candles import BASE_DECIMALS, Kline
from tickerplant.market.payloads import derived_events
from tickerplant.market.payloads.templates import (
    FALSE,
    INT,
    RAW,
    TRUE,
    decimal_slot,
    markers,
    split,
    template,
)
from tickerplant.market.updates import MARK_DECIMALS

__all__ = ["PRICE_SCALE", "KlineFrames", "price_kline_template"]

_TAIL = 3  # the first slot of the tail: `i`


class KlineFrames:
    """One symbol's `@kline_<interval>` payload and its continuous klines' (one per contract
    type it has been), as heads over one tail: from `i` on, a kline's `k` and a continuous
    kline's are the same bytes (§4.12: the kline's keys without `s`), written once per candle
    pushed (``tail``), then ``kline % (E, t, T) + tail`` and ``continuous(ct) % (E, t, T) +
    tail``."""

    __slots__ = ("_continuous", "_encode", "_markers", "_scales", "_slots", "_tail", "inst", "kline")

    def __init__(self, inst: Instrument, encode: Callable[[Any], bytes] = msgspec.json.encode) -> None:
        self.inst = inst
        pd, qd = inst.price_decimals, inst.qty_decimals
        # USDⓈ-M's q and Q are quote-asset volumes; COIN-M's base-asset volumes (§4.7)
        quote_decimals = pd + qd if inst.market is Market.UM else BASE_DECIMALS
        (price, p), (qty, q), (quote, qq) = (decimal_slot(d) for d in (pd, qd, quote_decimals))
        self._scales = (price, qty, quote)
        # E t T | i f L o c h l v n x q V Q: the heads' arguments, then ``tail``'s
        self._slots = (INT, INT, INT, RAW, INT, INT, p, p, p, p, q, INT, RAW, qq, q, qq)
        self._encode = encode
        self._markers = m = markers(len(self._slots))
        make: Any = derived_events.KlineData
        kline: Any = derived_events.Kline
        self.kline, self._tail = split(
            encode(kline(m[0], inst.symbol, make(m[1], m[2], inst.symbol, *m[3:16], "0"))), self._slots, _TAIL
        )
        self._continuous: dict[str, bytes] = {}

    def continuous(self, contract_type: str) -> bytes:
        """The head of the continuous kline whose `ct` is ``contract_type``."""
        made = self._continuous.get(contract_type)
        if made is None:
            m = self._markers
            make: Any = derived_events.ContinuousKlineData
            payload: Any = derived_events.ContinuousKline(
                m[0], self.inst.pair, contract_type, make(m[1], m[2], *m[3:16], "0")
            )
            made, tail = split(self._encode(payload), self._slots, _TAIL)
            if tail != self._tail:
                raise ValueError("a continuous kline's k must end as the kline's does")
            self._continuous[contract_type] = made
        return made

    def tail(self, k: Kline, interval: bytes, closed: bool) -> bytes:
        """Candle ``k``'s bytes from `i` on; ``interval`` quoted (``b'"1m"'``)."""
        price, qty, quote = self._scales
        tail: bytes = self._tail % (
            interval, k.first_id, k.last_id,
            *divmod(k.open, price), *divmod(k.close, price), *divmod(k.high, price),
            *divmod(k.low, price), *divmod(k.volume, qty), k.count, TRUE if closed else FALSE,
            *divmod(k.quote, quote), *divmod(k.taker_buy_volume, qty), *divmod(k.taker_buy_quote, quote),
        )  # fmt: skip
        return tail


# E t T i f L o c h l n x: what a price kline's template takes (``PriceKlineFrame``)
PRICE_SCALE, _PRICE = decimal_slot(MARK_DECIMALS)  # o, c, h, l as divmod(units, PRICE_SCALE)
_PRICE_SLOTS = (INT, INT, INT, RAW, INT, INT, _PRICE, _PRICE, _PRICE, _PRICE, INT, RAW)


def price_kline_template(
    payload: Any, pair: str, label: str, encode: Callable[[Any], bytes] = msgspec.json.encode
) -> bytes:
    """The template of COIN-M's `@markPriceKline_<i>` (``payload`` ``MarkPriceKline``, ``label``
    the symbol) or `@indexPriceKline_<i>` (``IndexPriceKline``, ``"0"``) of ``pair`` (§3.5):
    its arguments are (E, t, T, i, f, L, *o, *c, *h, *l, n, x), each price ``divmod(units,
    PRICE_SCALE)``."""
    m = markers(len(_PRICE_SLOTS))
    make: Any = derived_events.PriceKlineData
    data = make(m[1], m[2], label, *m[3:10], "0", m[10], m[11], "0", "0", "0", "0")
    return template(encode(payload(m[0], pair, data)), _PRICE_SLOTS)

