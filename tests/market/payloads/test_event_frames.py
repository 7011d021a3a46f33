"""bookTicker, trade and aggTrade payloads from templates (``market/payloads/event_frames.py``) are
the bytes their structs encode (spec §4.1, §4.4, §4.5, §4.13), for every instrument of both
markets in both payload formats, with any ids, times, prices and sizes."""

from __future__ import annotations

import msgspec
from event_payloads import aggregate, book_ticker, trade
from hypothesis import given, settings
from hypothesis import strategies as st

from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.payloads.builders import encoders
from tickerplant.market.payloads.event_frames import EventFrames
from tickerplant.market.payloads.events import PayloadFormat
from tickerplant.market.updates import Trade

T0 = 1_767_225_600_000
INSTRUMENTS = [inst for market in Market for inst in catalogue(market, T0)]
units = st.integers(0, 10**15)  # prices and sizes: never negative
ids = st.integers(0, 2**62)


@settings(max_examples=300, deadline=None)
@given(
    index=st.integers(0, len(INSTRUMENTS) - 1),
    payload_format=st.sampled_from(list(PayloadFormat)),
    top=st.tuples(units, units, units, units),
    update_id=ids,
    times=st.tuples(ids, ids),
    trade_ids=st.tuples(ids, ids, ids),
    buyer_is_maker=st.booleans(),
)
def test_every_template_writes_what_its_struct_encodes(
    index: int,
    payload_format: PayloadFormat,
    top: tuple[int, int, int, int],
    update_id: int,
    times: tuple[int, int],
    trade_ids: tuple[int, int, int],
    buyer_is_maker: bool,
) -> None:
    inst = INSTRUMENTS[index]
    enc = encoders(inst.market, payload_format)
    frames = EventFrames(inst, enc)
    time_ms, now_ms = times
    encode = msgspec.json.encode
    assert frames.book_ticker(update_id, *top, time_ms, now_ms) == encode(
        book_ticker(inst, top, update_id, time_ms, now_ms, enc)
    )
    price, qty = top[0], top[1]
    fill = Trade(inst.symbol, trade_ids[0], time_ms, price, qty, buyer_is_maker)
    assert frames.trade(now_ms, time_ms, trade_ids[0], price, qty, buyer_is_maker) == encode(
        trade(inst, fill, now_ms, enc)
    )
    tid = trade_ids[0]  # a simulated fill: its own aggregate
    assert frames.fill(fill, now_ms) == encode(
        aggregate(inst, tid, tid, tid, time_ms, price, qty, buyer_is_maker, now_ms, enc)
    )
    agg_id, first_id, last_id = trade_ids
    assert frames.agg_trade(now_ms, agg_id, price, qty, first_id, last_id, time_ms, buyer_is_maker) == encode(
        aggregate(inst, agg_id, first_id, last_id, time_ms, price, qty, buyer_is_maker, now_ms, enc)
    )


@settings(max_examples=100, deadline=None)
@given(
    index=st.integers(0, len(INSTRUMENTS) - 1),
    payload_format=st.sampled_from(list(PayloadFormat)),
    rows=st.lists(
        st.tuples(units, units, units, units, ids, ids, ids, ids, ids, st.booleans()), min_size=0, max_size=20
    ),
)
def test_a_column_of_payloads_is_the_payloads_one_at_a_time(
    index: int, payload_format: PayloadFormat, rows: list[tuple[int, int, int, int, int, int, int, int, int, bool]]
) -> None:
    # the replay writes a window's rows at once (feeds/replay/runs.py): the same bytes
    inst = INSTRUMENTS[index]
    frames = EventFrames(inst, encoders(inst.market, payload_format))
    bid, bid_qty, ask, ask_qty, update_id, time_ms, now_ms, first_id, last_id, maker = (
        [row[i] for row in rows] for i in range(10)
    )
    assert frames.book_tickers(update_id, bid, bid_qty, ask, ask_qty, time_ms, now_ms) == [
        frames.book_ticker(*row[4:5], *row[:4], *row[5:7]) for row in rows
    ]
    assert frames.trades(now_ms, time_ms, update_id, bid, bid_qty, maker) == [
        frames.trade(row[6], row[5], row[4], row[0], row[1], row[9]) for row in rows
    ]
    assert frames.agg_trades(now_ms, update_id, bid, bid_qty, first_id, last_id, time_ms, maker) == [
        frames.agg_trade(row[6], row[4], row[0], row[1], row[7], row[8], row[5], row[9]) for row in rows
    ]


def test_a_usds_m_classic_aggregate_carries_nq_and_a_coin_m_one_does_not() -> None:
    um, cm = catalogue(Market.UM, T0)[0], catalogue(Market.CM, T0)[0]
    assert EventFrames(um, encoders(Market.UM)).agg_trade(2, 1, 4200000, 10, 7, 8, 1, False) == (
        b'{"e":"aggTrade","E":2,"a":1,"s":"BTCUSDT","p":"42000.00","q":"0.010","nq":"0.010",'
        b'"f":7,"l":8,"T":1,"m":false}'
    )
    assert EventFrames(cm, encoders(Market.CM)).agg_trade(2, 1, 420000, 10, 7, 8, 1, True) == (
        b'{"e":"aggTrade","E":2,"a":1,"s":"BTCUSD_PERP","p":"42000.0","q":"10","f":7,"l":8,"T":1,"m":true}'
    )
