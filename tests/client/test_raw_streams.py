"""RawStreams against a real tickerplant: payloads byte for byte, with receive times,
losses in order, each payload once across a rollover (driven by a manual clock)."""

from __future__ import annotations

from typing import Any

import msgspec
from collecting import collect_until
from conftest import StartServer
from driven_clock import driven
from timing import SECONDS, eventually

from tickerplant.client.streams import RawMessage, RawStreams, StreamsLost, split_combined
from tickerplant.clock import ManualClock, SystemClock
from tickerplant.market.instruments import Market


def test_split_combined_is_exact_and_falls_back_for_unusual_spacing() -> None:
    frame = b'{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","b":"1.10"}}'
    assert split_combined(frame) == ("btcusdt@bookTicker", b'{"e":"bookTicker","b":"1.10"}')
    spaced = b'{"stream": "btcusdt@trade", "data": [1, 2]}'
    assert split_combined(spaced) == ("btcusdt@trade", b"[1, 2]")
    reordered = b'{"data":{"e":"x"},"stream":"btcusdt@trade"}'
    assert split_combined(reordered) == ("btcusdt@trade", b'{"e":"x"}')


def messages(items: list[Any], stream: str | None = None) -> list[RawMessage]:
    return [i for i in items if isinstance(i, RawMessage) and stream in (None, i.stream)]


async def test_payloads_are_the_servers_bytes_with_receive_times(start_server: StartServer) -> None:
    server_clock = ManualClock()  # the miniTicker array's seconds pass at once (driven_clock)
    plant = await start_server(clock=server_clock)
    sent: list[bytes] = []
    plant.bus.subscribe(
        Market.UM, lambda batch: sent.extend(p for s, p in batch if s == "btcusdt@bookTicker")
    )
    before = SystemClock().now_ns()  # the client's receive times: its own clock's
    async with RawStreams(plant.url(Market.UM)) as streams, driven(plant, server_clock):
        await streams.subscribe("btcusdt@bookTicker", "!miniTicker@arr")

        def enough(items: list[Any]) -> bool:
            return len(messages(items, "btcusdt@bookTicker")) > 10 and bool(
                messages(items, "!miniTicker@arr")
            )

        items = await collect_until(streams, enough, 10 * SECONDS)
    books = [m.data for m in messages(items, "btcusdt@bookTicker")]
    start = sent.index(books[0])
    assert sent[start : start + len(books)] == books, "every payload, byte for byte, in order"
    assert all(isinstance(msgspec.json.decode(m.data), list) for m in messages(items, "!miniTicker@arr"))
    times = [m.received_ns for m in messages(items)]
    assert before <= times[0] and times == sorted(times)


async def test_a_drop_is_reported_in_order_and_delivery_resumes(start_server: StartServer) -> None:
    plant = await start_server(faults={"drop_after_s": 0.3})
    async with RawStreams(plant.url(Market.UM), delays=lambda: iter([0.05] * 1000)) as streams:
        await streams.subscribe("btcusdt@bookTicker")

        def resumed(items: list[Any]) -> bool:
            lost = [n for n, i in enumerate(items) if isinstance(i, StreamsLost)]
            return bool(lost) and bool(messages(items[lost[0] :]))

        items = await collect_until(streams, resumed, 10 * SECONDS)
        await eventually(lambda: streams.reconnects >= 1, 10 * SECONDS)  # counted once the connection is open
    lost = next(i for i in items if isinstance(i, StreamsLost))
    assert lost.streams == ("btcusdt@bookTicker",)


async def test_a_consumer_drops_a_connection_it_found_silent_and_it_comes_back(start_server: StartServer) -> None:
    """``reconnect(name)``: the connection carrying ``name`` is dropped as if the server had (a
    relay whose upstream stalled), reported lost in order, and opened and subscribed again."""
    plant = await start_server()
    async with RawStreams(plant.url(Market.UM), delays=lambda: iter([0.05] * 1000)) as streams:
        await streams.subscribe("btcusdt@bookTicker")
        await collect_until(streams, lambda items: bool(messages(items)), 10 * SECONDS)
        assert streams.reconnect("btcusdt@bookTicker") == 1
        assert streams.reconnect("ethusdt@bookTicker") == 0, "carried by no connection"

        def resumed(items: list[Any]) -> bool:
            lost = [n for n, i in enumerate(items) if isinstance(i, StreamsLost)]
            return bool(lost) and bool(messages(items[lost[0] :]))

        items = await collect_until(streams, resumed, 10 * SECONDS)
        await eventually(lambda: streams.reconnects >= 1, 10 * SECONDS)
    assert next(i for i in items if isinstance(i, StreamsLost)).streams == ("btcusdt@bookTicker",)


async def test_a_rollover_hands_out_each_payload_once(start_server: StartServer) -> None:
    plant = await start_server()
    clock = ManualClock()
    start_ns = clock.now_ns()
    async with RawStreams(plant.url(Market.UM), rollover_after_s=600.0, clock=clock) as streams:
        await streams.subscribe("btcusdt@bookTicker", "btcusdt@trade")
        items: list[Any] = []
        for rolled in (1, 2):
            items += await collect_until(
                streams, lambda got: len(messages(got, "btcusdt@trade")) >= 3, 10 * SECONDS
            )
            clock.advance(600_000)
            items += await collect_until(streams, lambda got, n=rolled: streams.rollovers >= n, 10 * SECONDS)
        items += await collect_until(
            streams, lambda got: len(messages(got, "btcusdt@trade")) >= 3, 10 * SECONDS
        )
        assert streams.rollovers == 2 and streams.reconnects == 0
    assert not [i for i in items if isinstance(i, StreamsLost)]
    trades = [msgspec.json.decode(m.data)["t"] for m in messages(items, "btcusdt@trade")]
    assert trades == list(range(trades[0], trades[0] + len(trades)))
    assert all(start_ns <= m.received_ns <= clock.now_ns() for m in messages(items)), "stamped by its clock"
