"""Kline payloads assembled from templates (``market/klines/frames.py``) are the bytes their
structs encode (spec §4.7, §4.12), for every instrument of both markets, every interval,
open and closed, with any figures; and a template refuses a struct whose changing fields
are not in the slots' order."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kline_payloads import stream_continuous_kline, stream_kline

from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.klines.candles import CONTINUOUS_INTERVALS_UM, INTERVALS, Kline
from tickerplant.market.klines.frames import PRICE_SCALE, KlineFrames, price_kline_template
from tickerplant.market.payloads import derived_events
from tickerplant.market.payloads.templates import FALSE, INT, TRUE, markers, template
from tickerplant.market.units import fixed
from tickerplant.market.updates import MARK_DECIMALS

T0 = 1_767_225_600_000
INSTRUMENTS = [inst for market in Market for inst in catalogue(market, T0)]
CONTRACT_TYPES = ["PERPETUAL", "CURRENT_QUARTER", "NEXT_QUARTER"]
units = st.integers(0, 10**15)


@settings(max_examples=300, deadline=None)
@given(
    index=st.integers(0, len(INSTRUMENTS) - 1),
    interval=st.sampled_from(CONTINUOUS_INTERVALS_UM),
    contract_type=st.sampled_from(CONTRACT_TYPES),
    closed=st.booleans(),
    prices=st.lists(st.integers(0, 10**12), min_size=4, max_size=4),
    figures=st.tuples(units, units, st.integers(0, 10**6), units, units),
    ids=st.tuples(st.integers(0, 10**14), st.integers(0, 10**14)),
    times=st.tuples(st.integers(0, 10**13), st.integers(0, 10**13), st.integers(0, 10**13)),
)
def test_a_templated_kline_is_the_encoded_struct(
    index: int,
    interval: str,
    contract_type: str,
    closed: bool,
    prices: list[int],
    figures: tuple[int, int, int, int, int],
    ids: tuple[int, int],
    times: tuple[int, int, int],
) -> None:
    inst = INSTRUMENTS[index]
    open_, high, low, close = prices
    volume, quote, count, buy_volume, buy_quote = figures
    open_ms, close_ms, now_ms = times
    k = Kline(open_ms, close_ms, open_, high, low, close, volume, quote, count, buy_volume, buy_quote, *ids)
    frames = KlineFrames(inst)
    tail = frames.tail(k, b'"%s"' % interval.encode(), closed)
    head = (now_ms, open_ms, close_ms)
    market = inst.market
    assert frames.kline % head + tail == msgspec.json.encode(stream_kline(k, inst, market, interval, closed, now_ms))
    continuous = stream_continuous_kline(k, inst, market, interval, contract_type, closed, now_ms)
    assert frames.continuous(contract_type) % head + tail == msgspec.json.encode(continuous)


@settings(max_examples=200, deadline=None)
@given(
    index=st.sampled_from([i for i, inst in enumerate(INSTRUMENTS) if inst.market is Market.CM]),
    of_index=st.booleans(),
    interval=st.sampled_from(INTERVALS),
    prices=st.lists(st.integers(0, 10**14), min_size=4, max_size=4),
    count=st.integers(1, 10**6),
    closed=st.booleans(),
    times=st.lists(st.integers(0, 10**13), min_size=5, max_size=5),
)
def test_a_templated_price_kline_is_the_encoded_struct(
    index: int, of_index: bool, interval: str, prices: list[int], count: int, closed: bool, times: list[int]
) -> None:
    inst = INSTRUMENTS[index]
    payload = derived_events.IndexPriceKline if of_index else derived_events.MarkPriceKline
    label = "0" if of_index else inst.symbol
    now_ms, open_ms, close_ms, first_ms, last_ms = times
    o, c, h, lo = prices
    texts = [fixed(p, MARK_DECIMALS) for p in prices]
    data = derived_events.PriceKlineData(
        open_ms, close_ms, label, interval, first_ms, last_ms, *texts, "0", count, closed, "0", "0", "0", "0"
    )
    frame = price_kline_template(payload, inst.pair, label)
    args = (now_ms, open_ms, close_ms, b'"%s"' % interval.encode(), first_ms, last_ms)
    args += (*divmod(o, PRICE_SCALE), *divmod(c, PRICE_SCALE), *divmod(h, PRICE_SCALE), *divmod(lo, PRICE_SCALE))
    args += (count, TRUE if closed else FALSE)
    assert frame % args == msgspec.json.encode(payload(now_ms, inst.pair, data))


def test_a_percent_sign_in_the_fixed_bytes_is_written_as_it_is() -> None:
    m = markers(2)
    encoded = msgspec.json.encode({"a": m[0], "b": "100%", "c": m[1]})
    assert template(encoded, [INT, INT]) % (1, 2) == b'{"a":1,"b":"100%","c":2}'


def test_changing_fields_out_of_the_slots_order_are_refused() -> None:
    m = markers(2)
    with pytest.raises(ValueError, match="in the slots' order"):
        template(msgspec.json.encode({"a": m[1], "b": m[0]}), [INT, INT])
    with pytest.raises(ValueError, match="once each"):
        template(msgspec.json.encode({"a": m[0], "b": m[0], "c": m[1]}), [INT, INT])
