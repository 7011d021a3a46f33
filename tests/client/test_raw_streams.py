"""RawStreams: payloads byte for byte, with receive times, losses in order."""

from __future__ import annotations

import time

import msgspec
from collecting import collect
from conftest import StartServer

from tickerplant.client.streams import RawMessage, RawStreams, StreamsLost, split_combined
from tickerplant.market.instruments import Market


def test_split_combined_is_exact_and_falls_back_for_unusual_spacing() -> None:
    frame = b'{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","b":"1.10"}}'
    assert split_combined(frame) == ("btcusdt@bookTicker", b'{"e":"bookTicker","b":"1.10"}')
    spaced = b'{"stream": "btcusdt@trade", "data": [1, 2]}'
    assert split_combined(spaced) == ("btcusdt@trade", b"[1, 2]")


async def test_payloads_are_the_servers_bytes_with_receive_times(start_server: StartServer) -> None:
    plant = await start_server()
    sent: list[bytes] = []
    plant.bus.subscribe(
        Market.UM, lambda messages: sent.extend(p for s, p in messages if s == "btcusdt@bookTicker")
    )
    before = time.time_ns()
    async with RawStreams(plant.url(Market.UM)) as streams:
        await streams.subscribe("btcusdt@bookTicker", "!miniTicker@arr")
        items = await collect(streams, 1.5)
    messages = [i for i in items if isinstance(i, RawMessage)]
    books = [m.data for m in messages if m.stream == "btcusdt@bookTicker"]
    assert len(books) > 10
    start = sent.index(books[0])
    assert sent[start : start + len(books)] == books, "every payload, byte for byte, in order"
    assert any(m.stream == "!miniTicker@arr" and isinstance(msgspec.json.decode(m.data), list) for m in messages)
    times = [m.received_ns for m in messages]
    assert before <= times[0] and times == sorted(times)


async def test_a_drop_is_reported_in_order_and_delivery_resumes(start_server: StartServer) -> None:
    plant = await start_server(faults={"drop_after_s": 0.6})
    async with RawStreams(plant.url(Market.UM), delays=lambda: iter([0.05] * 1000)) as streams:
        await streams.subscribe("btcusdt@bookTicker")
        items = await collect(streams, 2.0)
        assert streams.reconnects >= 1
    lost = [i for i, item in enumerate(items) if isinstance(item, StreamsLost)]
    assert lost and items[lost[0]].streams == ("btcusdt@bookTicker",)
    assert any(isinstance(i, RawMessage) for i in items[lost[0] :]), "delivery resumed"


async def test_a_rollover_hands_out_each_payload_once(start_server: StartServer) -> None:
    plant = await start_server(limits={"max_connection_age_s": 1.5})
    async with RawStreams(plant.url(Market.UM), rollover_after_s=0.5) as streams:
        await streams.subscribe("btcusdt@bookTicker", "btcusdt@trade")
        items = await collect(streams, 2.5)
        assert streams.rollovers >= 2 and streams.reconnects == 0
    assert not [i for i in items if isinstance(i, StreamsLost)]
    trades = [msgspec.json.decode(i.data)["t"] for i in items if isinstance(i, RawMessage) and i.stream.endswith("@trade")]
    assert len(trades) > 10 and trades == list(range(trades[0], trades[0] + len(trades)))
