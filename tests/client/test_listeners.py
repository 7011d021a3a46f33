"""The frame callbacks (``listeners.py``), driven with frames as picows hands them over, no
socket: a compact combined data frame is filed in the backlog and wakes a waiting consumer;
everything else goes to the keeper (a reply to its request, other text settled in its
place) or is answered (a close)."""

from __future__ import annotations

import asyncio
from typing import Any

from picows import WSCloseCode, WSMsgType

from tickerplant.client.backlog import Backlog
from tickerplant.client.backoff import backoff
from tickerplant.client.connections import StreamConnections
from tickerplant.client.delivery import Delivery
from tickerplant.client.events import BookTicker, Reply
from tickerplant.client.listeners import StampedListener, StreamListener, Waker
from tickerplant.client.raw_delivery import RawDelivery, RawMessage
from tickerplant.clock import ManualClock

T0_MS = 1_767_225_600_000


def combined(u: int) -> bytes:
    return (
        f'{{"stream":"btcusdt@bookTicker","data":{{"e":"bookTicker","u":{u},"s":"BTCUSDT","b":"1.5",'
        f'"B":"2","a":"1.6","A":"3","T":{u},"E":{u}}}}}'
    ).encode()


class Frame:
    """What the callbacks read of a picows WSFrame."""

    def __init__(self, payload: bytes, msg_type: WSMsgType = WSMsgType.TEXT) -> None:
        self.payload = payload
        self.msg_type = msg_type

    def get_payload_as_bytes(self) -> bytes:
        return self.payload

    def get_close_code(self) -> WSCloseCode:
        return WSCloseCode(int.from_bytes(self.payload[:2], "big"))

    def get_close_message(self) -> bytes:
        return self.payload[2:]


class Transport:
    def __init__(self) -> None:
        self.closes: list[tuple[Any, Any]] = []
        self.disconnected = False

    def send_close(self, code: Any, message: Any) -> None:
        self.closes.append((code, message))

    def disconnect(self) -> None:
        self.disconnected = True


def keeper(backlog: Backlog[Any, Any], clock: ManualClock | None = None) -> StreamConnections:
    return StreamConnections(
        backlog,
        Waker(),
        StreamListener,
        url="ws://127.0.0.1:1",
        routed=False,
        max_streams_per_connection=1024,
        rollover_after_s=23.5 * 3600,
        ping_interval_s=20.0,
        pong_timeout_s=20.0,
        control_rate_per_s=5.0,
        control_burst=5,
        reply_timeout_s=10.0,
        delays=backoff,
        clock=clock or ManualClock(T0_MS),
    )


def drain(backlog: Backlog[Any, Any]) -> list[Any]:
    items: list[Any] = []
    while backlog.pending or backlog.ready:
        if not backlog.ready:
            backlog.settle()
        items.extend(backlog.ready)
        backlog.ready.clear()
    return items


async def test_data_frames_are_filed_and_wake_the_waiting_consumer() -> None:
    delivery = Delivery(numbers=str)
    connections = keeper(delivery)
    first, second = StreamListener(connections, "", 0, 1), StreamListener(connections, "", 0, 2)
    waiting = asyncio.ensure_future(connections.waker.wait())
    await asyncio.sleep(0)  # the consumer is waiting now
    first.on_ws_frame(Transport(), Frame(combined(10)))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    assert waiting.done()
    first.on_ws_frame(Transport(), Frame(combined(11)))  # type: ignore[arg-type]
    second.on_ws_frame(Transport(), Frame(combined(11)))  # type: ignore[arg-type]  # a copy
    second.on_ws_frame(Transport(), Frame(combined(12)))  # type: ignore[arg-type]
    assert len(delivery.frames) == 4 and delivery.filing == 2  # undecoded until consumed
    assert [item.update_id for item in drain(delivery)] == [10, 11, 12]


async def test_the_hard_bound_applies_in_the_callback() -> None:
    reading: list[bool] = []
    delivery = Delivery(numbers=str, pause_at=2, resume_at=1, max_buffered=3, reading=reading.append)
    listener = StreamListener(keeper(delivery), "", 0, 1)
    for u in range(1, 7):
        listener.on_ws_frame(Transport(), Frame(combined(u)))  # type: ignore[arg-type]
    assert reading == [False] and delivery.held == 3
    items = drain(delivery)
    assert items[0].dropped == 3 and [i.update_id for i in items[1:]] == [4, 5, 6]


async def test_other_frames_go_to_the_keeper_or_are_answered() -> None:
    delivery = Delivery(numbers=str)
    listener = StreamListener(keeper(delivery), "", 0, 1)
    reply: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
    listener.replies[7] = reply
    listener.on_ws_frame(Transport(), Frame(b'{"result":null,"id":7}'))  # type: ignore[arg-type]
    assert reply.done() and reply.result().ok
    raw = b'{"e":"bookTicker","u":3,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1","T":3,"E":3}'
    listener.on_ws_frame(Transport(), Frame(raw))  # type: ignore[arg-type]  # settled in its place
    spaced = combined(4).replace(b'{"stream":', b'{ "stream":')
    listener.on_ws_frame(Transport(), Frame(spaced))  # type: ignore[arg-type]
    items = drain(delivery)
    assert [type(i) for i in items] == [BookTicker, BookTicker] and [i.update_id for i in items] == [3, 4]
    transport = Transport()
    close = Frame((1001).to_bytes(2, "big") + b"bye", WSMsgType.CLOSE)
    listener.on_ws_frame(transport, close)  # type: ignore[arg-type]
    assert transport.closes == [(WSCloseCode(1001), b"bye")] and transport.disconnected
    assert not delivery.frames


async def test_raw_streams_file_each_frame_with_the_time_it_was_read() -> None:
    clock = ManualClock(T0_MS)
    delivery = RawDelivery()
    listener = StampedListener(keeper(delivery, clock), "", 0, 1)
    listener.on_ws_frame(Transport(), Frame(combined(1)))  # type: ignore[arg-type]
    clock.advance(5)
    listener.on_ws_frame(Transport(), Frame(combined(2)))  # type: ignore[arg-type]
    items = drain(delivery)
    assert all(isinstance(i, RawMessage) for i in items)
    assert [i.received_ns for i in items] == [T0_MS * 1_000_000, (T0_MS + 5) * 1_000_000]


async def test_every_waiting_consumer_is_woken_and_one_cancelled_cancels_no_other() -> None:
    """Two consumers of one client wait on the one future: a frame wakes both (a second one
    used to replace the first's future, which nothing woke again); one cancelled while they
    wait does not cancel the other, which looks again."""
    waker = Waker()
    first, second = asyncio.ensure_future(waker.wait()), asyncio.ensure_future(waker.wait())
    await asyncio.sleep(0)
    waker.wake()
    await asyncio.sleep(0)
    assert first.done() and second.done()
    first, second = asyncio.ensure_future(waker.wait()), asyncio.ensure_future(waker.wait())
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    assert first.cancelled()
    assert second.done() and not second.cancelled()
