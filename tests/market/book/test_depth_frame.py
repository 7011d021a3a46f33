"""Depth events assembled from bytes (``builders.DepthFrame``) are the bytes the payload's
struct encodes, and partial depth over books deeper than 20 levels, whose top is written
again only when a change reaches it, is always the book's top N (spec §4.8, §4.9)."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plant_inputs import book, instrument

from tickerplant.market.instruments import Market
from tickerplant.market.messages import StreamMessage
from tickerplant.market.payloads import builders
from tickerplant.market.plant.plant import Plant
from tickerplant.market.units import to_units

T0 = 1_767_225_600_000


@pytest.mark.parametrize("market", list(Market))
@pytest.mark.parametrize(
    ("ids", "bids", "asks"),
    [
        ((1, 158, 0, T0 + 40, T0 + 100), b'[["68005.00","2.214"],["68004.90","0.000"]]', b'[["68005.10","0.838"]]'),
        ((10**12 + 1, 10**12 + 9, 10**12, 0, 1), b"[]", b"[]"),
    ],
)
def test_a_frame_around_the_levels_is_the_encoded_event(
    market: Market, ids: tuple[int, int, int, int, int], bids: bytes, asks: bytes
) -> None:
    inst = instrument(market)
    frame = builders.DepthFrame(inst)
    encoded = msgspec.json.encode(builders.depth_levels(inst, *ids, msgspec.Raw(bids), msgspec.Raw(asks)))
    assert frame.head(*ids) + bids + frame.middle + asks + frame.tail == encoded


def _top(levels: list[list[str]], decimals: tuple[int, int]) -> list[tuple[int, int]]:
    return [(to_units(p, decimals[0]), to_units(q, decimals[1])) for p, q in levels]


@settings(max_examples=100, deadline=None)
@given(
    batches=st.lists(
        st.tuples(
            st.integers(0, 260),  # ms to the next batch
            st.lists(  # (is bid, levels from the touch, qty): inside and beyond the top 20
                st.tuples(st.booleans(), st.integers(0, 40), st.integers(0, 3)), max_size=5
            ),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_partial_depth_is_the_top_n_of_a_deep_book_at_every_push(
    batches: list[tuple[int, list[tuple[bool, int, int]]]],
) -> None:
    inst = instrument(Market.UM)
    plant = Plant(Market.UM, [inst], now_ms=T0)
    out: list[StreamMessage] = []
    # 30 levels a side to start: changes further out than the 20th leave the top as it is
    plant.apply(book("BTCUSDT", 1, T0, [(1000 - i, 5) for i in range(30)], [(1001 + i, 5) for i in range(30)]), T0, out)
    plant.end_batch(T0, out)
    plant.start_depth_chains()
    now, next_id, pushed = T0, 2, 0
    truth = plant.symbols["BTCUSDT"].book
    decimals = (inst.price_decimals, inst.qty_decimals)
    for delay_ms, levels in [*batches, (600, [])]:
        now += delay_ms
        out = []
        for is_bid, offset, qty in levels:
            price = 1000 - offset if is_bid else 1001 + offset
            bids, asks = ([(price, qty)], []) if is_bid else ([], [(price, qty)])
            plant.apply(book("BTCUSDT", next_id, now, bids, asks), now, out)
            next_id += 1
        plant.end_batch(now, out)
        while now >= plant.next_tick_ms:
            plant.tick(now, out)
        for message in out:
            name = message.stream
            if name.startswith("btcusdt@depth") and name[13:14].isdigit():
                n = int(name[13:].partition("@")[0])
                event = msgspec.json.decode(message.payload)
                assert _top(event["b"], decimals) == [tuple(level) for level in truth.top_bids(n)], name
                assert _top(event["a"], decimals) == [tuple(level) for level in truth.top_asks(n)], name
                assert event["u"] == truth.last_update_id
                pushed += 1
    assert pushed or not any(levels for _, levels in batches)
