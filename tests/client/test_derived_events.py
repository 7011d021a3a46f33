"""The derived streams' payloads as the client reads them: klines and continuous klines
(spec §4.7, §4.12), mark and index prices (§4.6, §4.12) and liquidations (§4.10), decoded
into their typed events from the bytes the plant's golden tests pin
(tests/market/test_kline_streams.py, test_mark_streams.py, test_force_orders.py)."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from tickerplant.client import (
    ContinuousKline,
    ContinuousKlineData,
    ForceOrder,
    IndexPriceUpdate,
    Kline,
    KlineData,
    LiquidationOrder,
    MarketEvent,
    MarkPriceUpdate,
)
from tickerplant.client.events import Payload, Reply, StreamDecoder, stream_of
from tickerplant.client.watch import describe

D = Decimal

KLINE_UM = (
    b'{"e":"kline","E":1767225600250,"s":"BTCUSDT","k":{"t":1767225600000,"T":1767225659999,'
    b'"s":"BTCUSDT","i":"1m","f":7,"L":8,"o":"90000.10","c":"89999.90","h":"90000.10",'
    b'"l":"89999.90","v":"2.000","n":2,"x":false,"q":"180000.10000","V":"1.500",'
    b'"Q":"135000.15000","B":"0"}}'
)
KLINE_CM = (
    b'{"e":"kline","E":1767225600250,"s":"BTCUSD_PERP","k":{"t":1767225600000,"T":1767225659999,'
    b'"s":"BTCUSD_PERP","i":"1m","f":41,"L":41,"o":"90000.0","c":"90000.0","h":"90000.0",'
    b'"l":"90000.0","v":"3","n":1,"x":false,"q":"0.00333333","V":"3","Q":"0.00333333","B":"0"}}'
)
CONTINUOUS_UM = (
    b'{"e":"continuous_kline","E":1767225600250,"ps":"BTCUSDT","ct":"PERPETUAL","k":'
    b'{"t":1767225600000,"T":1767225659999,"i":"1m","f":7,"L":8,"o":"90000.10","c":"89999.90",'
    b'"h":"90000.10","l":"89999.90","v":"2.000","n":2,"x":false,"q":"180000.10000",'
    b'"V":"1.500","Q":"135000.15000","B":"0"}}'
)
CONTINUOUS_CM = (
    b'{"e":"continuous_kline","E":1767225600250,"ps":"BTCUSD","ct":"PERPETUAL","k":'
    b'{"t":1767225600000,"T":1767225659999,"i":"1m","f":41,"L":41,"o":"90000.0","c":"90000.0",'
    b'"h":"90000.0","l":"90000.0","v":"3","n":1,"x":false,"q":"0.00333333","V":"3",'
    b'"Q":"0.00333333","B":"0"}}'
)
MARK_UM = (
    b'{"e":"markPriceUpdate","E":1771263510000,"s":"BTCUSDT","p":"68005.80802899",'
    b'"P":"67836.82194783","i":"68035.14043478","r":"-0.00004435","T":1771286400000}'
)  # spec §4.6, a real frame of btcusdt@markPrice@1s
MARK_CM_PERP = (
    b'{"e":"markPriceUpdate","E":1771263510000,"s":"BTCUSD_PERP","p":"68000.00000000",'
    b'"P":"67995.00000000","i":"67990.00000000","r":"0.00010000","T":1771286400000}'
)
MARK_CM_QUARTER = (
    b'{"e":"markPriceUpdate","E":1771263510000,"s":"BTCUSD_260327","p":"69000.00000000",'
    b'"P":"67995.00000000","i":"67990.00000000","r":"","T":0}'
)
MARK_CM_PAIR = b"[" + MARK_CM_PERP + b"," + MARK_CM_QUARTER + b"]"  # btcusd@markPrice
INDEX_CM = b'{"e":"indexPriceUpdate","E":1771263510000,"i":"BTCUSD","p":"9636.57860000"}'
FORCE_ORDER_UM = (
    b'{"e":"forceOrder","E":1568014460900,"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC",'
    b'"q":"0.014","p":"9910.00","ap":"9910.00","X":"FILLED","l":"0.014","z":"0.014","T":1568014460893}}'
)
FORCE_ORDER_CM = (
    b'{"e":"forceOrder","E":1591154240950,"o":{"s":"BTCUSD_PERP","ps":"BTCUSD","S":"SELL","o":"LIMIT",'
    b'"f":"IOC","q":"1","p":"9425.5","ap":"9496.5","X":"FILLED","l":"1","z":"1","T":1591154240949}}'
)

GOLDEN: list[tuple[bytes, MarketEvent | list[MarketEvent]]] = [
    (
        KLINE_UM,
        Kline(
            event_time=1767225600250,
            symbol="BTCUSDT",
            kline=KlineData(
                open_time=1767225600000,
                close_time=1767225659999,
                symbol="BTCUSDT",
                interval="1m",
                first_trade_id=7,
                last_trade_id=8,
                open=D("90000.10"),
                close=D("89999.90"),
                high=D("90000.10"),
                low=D("89999.90"),
                volume=D("2.000"),
                trade_count=2,
                closed=False,
                quote_volume=D("180000.10000"),
                taker_buy_volume=D("1.500"),
                taker_buy_quote_volume=D("135000.15000"),
                ignore="0",
            ),
        ),
    ),
    (
        CONTINUOUS_CM,
        ContinuousKline(
            event_time=1767225600250,
            pair="BTCUSD",
            contract_type="PERPETUAL",
            kline=ContinuousKlineData(
                open_time=1767225600000,
                close_time=1767225659999,
                interval="1m",
                first_id=41,
                last_id=41,
                open=D("90000.0"),
                close=D("90000.0"),
                high=D("90000.0"),
                low=D("90000.0"),
                volume=D("3"),
                trade_count=1,
                closed=False,
                quote_volume=D("0.00333333"),
                taker_buy_volume=D("3"),
                taker_buy_quote_volume=D("0.00333333"),
                ignore="0",
            ),
        ),
    ),
    (
        MARK_UM,
        MarkPriceUpdate(
            event_time=1771263510000,
            symbol="BTCUSDT",
            mark_price=D("68005.80802899"),
            settle_price=D("67836.82194783"),
            index_price=D("68035.14043478"),
            funding_rate="-0.00004435",
            next_funding_time=1771286400000,
        ),
    ),
    (
        INDEX_CM,
        IndexPriceUpdate(event_time=1771263510000, pair="BTCUSD", price=D("9636.57860000")),
    ),
    (
        FORCE_ORDER_CM,
        ForceOrder(
            event_time=1591154240950,
            order=LiquidationOrder(
                symbol="BTCUSD_PERP",
                pair="BTCUSD",
                side="SELL",
                order_type="LIMIT",
                time_in_force="IOC",
                qty=D("1"),
                price=D("9425.5"),
                avg_price=D("9496.5"),
                status="FILLED",
                last_filled_qty=D("1"),
                filled_qty=D("1"),
                trade_time=1591154240949,
            ),
        ),
    ),
]

EVERY = [KLINE_UM, KLINE_CM, CONTINUOUS_UM, CONTINUOUS_CM, MARK_UM, MARK_CM_PAIR, INDEX_CM, FORCE_ORDER_UM,
         FORCE_ORDER_CM]  # fmt: skip


def payload(decoded: tuple[str | None, Payload] | Reply) -> Payload:
    assert not isinstance(decoded, Reply), decoded
    return decoded[1]


def combined(stream: str, data: bytes) -> bytes:
    return b'{"stream":"' + stream.encode() + b'","data":' + data + b"}"


@pytest.mark.parametrize(("frame", "expected"), GOLDEN, ids=lambda v: "" if isinstance(v, bytes) else type(v).__name__)
def test_golden_payloads_decode_to_their_typed_events(frame: bytes, expected: MarketEvent) -> None:
    decoder = StreamDecoder()
    assert payload(decoder.decode(frame)) == expected
    assert payload(decoder.decode(combined("any@stream", frame))) == expected
    assert decoder.decode_combined_frame(combined("any@stream", frame)).data == expected


@pytest.mark.parametrize("frame", EVERY)
def test_with_numbers_as_str_every_payload_reencodes_to_its_bytes(frame: bytes) -> None:
    event = payload(StreamDecoder(numbers=str).decode(frame))
    assert msgspec.json.encode(event) == frame


def test_coinm_pair_mark_price_is_an_array_of_the_pairs_contracts() -> None:
    events = payload(StreamDecoder().decode(combined("btcusd@markPrice@1s", MARK_CM_PAIR)))
    assert isinstance(events, list)
    assert [(type(e), e.symbol) for e in events] == [
        (MarkPriceUpdate, "BTCUSD_PERP"),
        (MarkPriceUpdate, "BTCUSD_260327"),
    ]
    quarter = events[1]
    assert isinstance(quarter, MarkPriceUpdate)
    assert (quarter.funding_rate, quarter.next_funding_time) == ("", 0)  # a delivery contract


def test_stream_of_names_klines_and_liquidations_not_mark_or_index_prices() -> None:
    decoder = StreamDecoder()
    names = [stream_of(payload(decoder.decode(frame))) for frame in EVERY if frame != MARK_CM_PAIR]
    assert names == [
        "btcusdt@kline_1m",
        "btcusd_perp@kline_1m",
        "btcusdt_perpetual@continuousKline_1m",
        "btcusd_perpetual@continuousKline_1m",
        None,  # the mark price's speed (@1s or not) is not in the payload
        None,  # likewise the index price's
        "btcusdt@forceOrder",  # !forceOrder@arr's too: the same payload
        "btcusd_perp@forceOrder",
    ]


def test_watch_describes_each_kind_on_its_own_row() -> None:
    decoder = StreamDecoder(numbers=str)
    rows = dict(describe(payload(decoder.decode(frame))) for frame in EVERY if frame != MARK_CM_PAIR)
    assert rows == {
        "BTCUSDT kline_1m": "o 90000.10  h 90000.10  l 89999.90  c 89999.90  vol 2.000  n 2",
        "BTCUSD_PERP kline_1m": "o 90000.0  h 90000.0  l 90000.0  c 90000.0  vol 3  n 1",
        "BTCUSDT perpetual continuousKline_1m": "o 90000.10  h 90000.10  l 89999.90  c 89999.90  vol 2.000  n 2",
        "BTCUSD perpetual continuousKline_1m": "o 90000.0  h 90000.0  l 90000.0  c 90000.0  vol 3  n 1",
        "BTCUSDT markPrice": "mark 68005.80802899  index 68035.14043478  funding -0.00004435",
        "BTCUSD indexPrice": "index 9636.57860000",
        "BTCUSDT forceOrder": "SELL 0.014/0.014 @ 9910.00  FILLED",
        "BTCUSD_PERP forceOrder": "SELL 1/1 @ 9496.5  FILLED",
    }
