"""The fan-out: frames built once, the same bytes to every subscriber, one write per flush."""

from __future__ import annotations

import asyncio

from tickerplant.gateway.fanout import FanOut, control_frame, text_frame
from tickerplant.market.plant import StreamMessage


class Sink:
    def __init__(self) -> None:
        self.pending: list[bytes] = []
        self.writes: list[list[bytes]] = []

    def flush(self) -> None:
        self.writes.append(list(self.pending))
        self.pending.clear()


def test_frames_follow_rfc6455_lengths() -> None:
    assert text_frame(b"x") == b"\x81\x01x"
    assert text_frame(b"a" * 126)[:4] == b"\x81\x7e\x00\x7e"
    assert text_frame(b"a" * 70000)[:10] == b"\x81\x7f" + (70000).to_bytes(8, "big")
    assert control_frame(0x9, b"123") == b"\x89\x03123"


async def test_one_frame_object_for_every_raw_subscriber_and_one_flush_per_iteration() -> None:
    fanout = FanOut(asyncio.get_running_loop())
    sinks = [Sink() for _ in range(5)]
    for sink in sinks:
        fanout.add(sink, "btcusdt@bookTicker", "btcusdt@bookTicker", combined=False)
    fanout.publish([StreamMessage("btcusdt@bookTicker", b'{"u":1}'), StreamMessage("other", b"{}")])
    fanout.publish([StreamMessage("btcusdt@bookTicker", b'{"u":2}')])
    await asyncio.sleep(0)
    assert all(len(sink.writes) == 1 and len(sink.writes[0]) == 1 for sink in sinks)
    first = sinks[0].writes[0][0]
    assert all(sink.writes[0][0] is first for sink in sinks), "one joined bytes object for all"
    assert first == text_frame(b'{"u":1}') + text_frame(b'{"u":2}')


async def test_combined_wrapper_is_built_once_per_subscribed_name() -> None:
    fanout = FanOut(asyncio.get_running_loop())
    a, b, c = Sink(), Sink(), Sink()
    fanout.add(a, "btcusdt@bookTicker", "btcusdt@bookTicker", combined=True)
    fanout.add(b, "btcusdt@bookTicker", "btcusdt@bookTicker", combined=True)
    fanout.add(c, "btcusdt@bookTicker", "BTCUSDT@bookTicker", combined=True)
    fanout.publish([StreamMessage("btcusdt@bookTicker", b'{"u":1}')])
    await asyncio.sleep(0)
    assert a.writes[0][0] is b.writes[0][0]
    assert a.writes[0][0] == text_frame(b'{"stream":"btcusdt@bookTicker","data":{"u":1}}')
    assert c.writes[0][0] == text_frame(b'{"stream":"BTCUSDT@bookTicker","data":{"u":1}}')


async def test_removing_routes_stops_delivery() -> None:
    fanout = FanOut(asyncio.get_running_loop())
    sink = Sink()
    fanout.add(sink, "k", "k", combined=False)
    fanout.add(sink, "k", "K", combined=False)  # two names delivering one stream: two copies
    fanout.publish([StreamMessage("k", b"1")])
    await asyncio.sleep(0)
    fanout.remove(sink, "k", "K", combined=False)
    fanout.publish([StreamMessage("k", b"2")])
    await asyncio.sleep(0)
    fanout.remove(sink, "k", "k", combined=False)
    fanout.publish([StreamMessage("k", b"3")])
    await asyncio.sleep(0)
    assert sink.writes == [[text_frame(b"1"), text_frame(b"1")], [text_frame(b"2")]]


async def test_replies_go_out_before_the_data_of_the_same_iteration() -> None:
    fanout = FanOut(asyncio.get_running_loop())
    sink = Sink()
    fanout.add(sink, "k", "k", combined=False)
    fanout.add(sink, "k", "K", combined=False)  # two names delivering one stream: two copies
    fanout.publish([StreamMessage("k", b"1")])
    fanout.queue(sink, b"reply")
    await asyncio.sleep(0)
    assert sink.writes == [[b"reply", text_frame(b"1"), text_frame(b"1")]]
