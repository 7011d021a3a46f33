"""MarketStreams' consumer side without a network: real picows frames handed to the
connection's frame callback, then ``async for``. Order, dedup, gaps, unknown payloads,
malformed frames, drops and backpressure, a batch boundary apart or not."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest
from picows import WSMsgType
from picows.picows import _make_test_ws_frame

from tickerplant.client import streams as streams_module
from tickerplant.client.events import BookTicker, Trade, UnknownEvent
from tickerplant.client.sequencing import Gap, GapReason
from tickerplant.client.streams import Lagged, MarketStreams, _Connection


def book(symbol: str, u: int, stream: str | None = None) -> bytes:
    name = stream or f"{symbol.lower()}@bookTicker"
    return (
        f'{{"stream":"{name}","data":{{"e":"bookTicker","u":{u},"s":"{symbol}","b":"1.5","B":"2",'
        f'"a":"1.6","A":"3","T":{u},"E":{u}}}}}'
    ).encode()


def trade(symbol: str, t: int) -> bytes:
    return (
        f'{{"stream":"{symbol.lower()}@trade","data":{{"e":"trade","E":{t},"T":{t},"s":"{symbol}",'
        f'"t":{t},"p":"1.5","q":"2","X":"MARKET","m":true}}}}'
    ).encode()


KLINE = b'{"stream":"btcusdt@kline_1m","data":{"e":"kline","E":5,"s":"BTCUSDT","k":{}}}'


class FakeRaw:
    """The socket transport under picows: records pause_reading and resume_reading."""

    def __init__(self) -> None:
        self.reading = True

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True


class FakeTransport:
    def __init__(self) -> None:
        self.underlying_transport = FakeRaw()
        self.is_disconnected = False


def connect(streams: MarketStreams, connection_id: int = 1, index: int | None = None) -> _Connection:
    index = connection_id - 1 if index is None else index
    connection = _Connection(streams, "", index, connection_id)
    transport: Any = FakeTransport()
    connection.transport = transport
    streams._live[("", index)] = connection
    return connection


def plan(streams: MarketStreams, *names: str) -> None:
    streams._plans[""] = streams_module.ConnectionPlan(1024)
    streams._plans[""].add(list(names))


def feed(connection: _Connection, *payloads: bytes) -> None:
    transport: Any = connection.transport
    for payload in payloads:
        connection.on_ws_frame(transport, _make_test_ws_frame(WSMsgType.TEXT, payload, True, False))


async def drain(streams: MarketStreams) -> list[Any]:
    """Every item ready now, then close; what ``async for`` hands out."""
    streams._closed = True
    return [item async for item in streams]


def describe(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if isinstance(item, BookTicker):
            out.append(("book", item.symbol, item.update_id))
        elif isinstance(item, Trade):
            out.append(("trade", item.symbol, item.trade_id))
        elif isinstance(item, Gap):
            out.append(("gap", item.symbol, item.reason))
        elif isinstance(item, UnknownEvent):
            out.append(("unknown", item.stream))
        elif isinstance(item, Lagged):
            out.append(("lagged", item.dropped))
        else:
            out.append(item)
    return out


@pytest.fixture(params=[1, 3, 256], ids=["batch1", "batch3", "batch256"])
def batch(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Every test runs with batches of one item, of a few and of the default size."""
    size: int = request.param
    monkeypatch.setattr(streams_module, "_BATCH", size)
    return size


async def test_events_in_order_duplicates_dropped_unknown_in_place(batch: int) -> None:
    streams = MarketStreams("ws://127.0.0.1:1", numbers=str)
    connection = connect(streams)
    feed(connection, book("BTCUSDT", 10), trade("ETHUSDT", 7), book("BTCUSDT", 10), KLINE)
    feed(connection, book("ETHUSDT", 3), book("BTCUSDT", 9), book("BTCUSDT", 12), trade("ETHUSDT", 8))
    assert describe(await drain(streams)) == [
        ("book", "BTCUSDT", 10),
        ("trade", "ETHUSDT", 7),
        ("unknown", "btcusdt@kline_1m"),
        ("book", "ETHUSDT", 3),
        ("book", "BTCUSDT", 12),
        ("trade", "ETHUSDT", 8),
    ]


async def test_a_rollover_overlap_is_delivered_once_and_a_trade_jump_is_a_gap(batch: int) -> None:
    streams = MarketStreams("ws://127.0.0.1:1", numbers=str)
    old, new = connect(streams, 1), connect(streams, 2)
    feed(old, trade("BTCUSDT", 1), trade("BTCUSDT", 2))
    feed(new, trade("BTCUSDT", 2), trade("BTCUSDT", 3))
    feed(old, trade("BTCUSDT", 3))
    feed(new, trade("BTCUSDT", 6))
    items = describe(await drain(streams))
    assert items == [
        ("trade", "BTCUSDT", 1),
        ("trade", "BTCUSDT", 2),
        ("trade", "BTCUSDT", 3),
        ("gap", "BTCUSDT", GapReason.TRADE_IDS_SKIPPED),
        ("trade", "BTCUSDT", 6),
    ]


async def test_a_lost_connection_makes_the_next_bookticker_a_gap(batch: int) -> None:
    streams = MarketStreams("ws://127.0.0.1:1", numbers=str)
    connection = connect(streams)
    plan(streams, "btcusdt@bookTicker")
    feed(connection, book("BTCUSDT", 1), book("BTCUSDT", 2))
    connection.on_ws_disconnected(connection.transport)  # type: ignore[arg-type]
    again = connect(streams, 2)
    feed(again, book("BTCUSDT", 5))
    assert describe(await drain(streams)) == [
        ("book", "BTCUSDT", 1),
        ("book", "BTCUSDT", 2),
        ("gap", "BTCUSDT", GapReason.RECONNECTED),
        ("book", "BTCUSDT", 5),
    ]


@pytest.mark.parametrize(
    "bad",
    [b'{"stream":"btcusdt@bookTicker","data":{', b'{"stream":"btcusdt@bookTicker"}', b'{"e":"bookTicker",'],
    ids=["not JSON", "not combined", "not JSON off the fast path"],
)
async def test_a_malformed_frame_raises_in_its_place(batch: int, bad: bytes) -> None:
    streams = MarketStreams("ws://127.0.0.1:1", numbers=str)
    connection = connect(streams)
    feed(connection, book("BTCUSDT", 1), book("BTCUSDT", 2), bad)
    feed(connection, book("BTCUSDT", 3))
    streams._closed = True
    got: list[Any] = []
    iterator = aiter(streams)
    got.append(await anext(iterator))
    got.append(await anext(iterator))
    with pytest.raises(msgspec.DecodeError):
        await anext(iterator)
    got.extend([item async for item in streams])
    assert describe(got) == [("book", "BTCUSDT", 1), ("book", "BTCUSDT", 2), ("book", "BTCUSDT", 3)]


async def test_what_could_not_be_buffered_is_one_lagged_item_in_its_place(batch: int) -> None:
    streams = MarketStreams("ws://127.0.0.1:1", numbers=str, pause_at=2, resume_at=1, max_buffered=4)
    connection = connect(streams)
    feed(connection, *(book("BTCUSDT", u) for u in range(1, 8)))
    # Items 1-3 were dropped to keep 4 buffered; they are reported where they were.
    assert describe(await drain(streams)) == [("lagged", 3)] + [("book", "BTCUSDT", u) for u in range(4, 8)]


async def test_reading_pauses_above_pause_at_and_resumes_at_resume_at(batch: int) -> None:
    streams = MarketStreams("ws://127.0.0.1:1", numbers=str, pause_at=10, resume_at=4)
    connection = connect(streams)
    raw: Any = connection.transport.underlying_transport  # type: ignore[union-attr]
    feed(connection, *(book("BTCUSDT", u) for u in range(1, 12)))
    assert streams._paused and not raw.reading
    async for item in streams:
        assert isinstance(item, BookTicker)
        if raw.reading:
            # Reading resumes once what is left to decode is down to resume_at, not before.
            assert len(streams._buffer) <= 4
            break
    assert raw.reading and not streams._paused


async def test_a_waiting_consumer_is_woken_by_a_frame_and_by_close(batch: int) -> None:
    streams = MarketStreams("ws://127.0.0.1:1", numbers=str)
    connection = connect(streams)
    pending = asyncio.ensure_future(anext(aiter(streams)))
    await asyncio.sleep(0)
    assert not pending.done()
    feed(connection, book("BTCUSDT", 1), book("BTCUSDT", 2))
    assert describe([await pending]) == [("book", "BTCUSDT", 1)]
    assert describe([await anext(aiter(streams))]) == [("book", "BTCUSDT", 2)]
    pending = asyncio.ensure_future(anext(aiter(streams)))
    await asyncio.sleep(0)
    connection.transport.is_disconnected = True  # type: ignore[union-attr]  # nothing to close
    await streams.close()
    with pytest.raises(StopAsyncIteration):
        await pending


async def test_frames_keep_their_connection_when_the_oldest_items_are_dropped(batch: int) -> None:
    # During a rollover both connections carry the stream, so losing the old one loses
    # nothing, provided the frames of the new one are still known to be its own after the
    # oldest buffered items were dropped to stay under max_buffered.
    streams = MarketStreams("ws://127.0.0.1:1", numbers=str, pause_at=0, resume_at=0, max_buffered=3)
    plan(streams, "btcusdt@bookTicker")
    old, new = connect(streams, 1, index=0), connect(streams, 2, index=0)
    feed(old, book("BTCUSDT", 1))
    first = await anext(aiter(streams))
    feed(new, book("BTCUSDT", 2))
    old.on_ws_disconnected(old.transport)  # type: ignore[arg-type]
    feed(new, book("BTCUSDT", 3))
    rest = await drain(streams)
    assert describe([first, *rest]) == [("book", "BTCUSDT", u) for u in (1, 2, 3)]


async def test_after_a_rollover_a_real_loss_of_the_successor_is_still_a_gap() -> None:
    streams = MarketStreams("ws://127.0.0.1:1", numbers=str)
    plan(streams, "btcusdt@bookTicker")
    old, new = connect(streams, 1, index=0), connect(streams, 2, index=0)
    feed(old, book("BTCUSDT", 1))
    feed(new, book("BTCUSDT", 1), book("BTCUSDT", 2))
    feed(old, book("BTCUSDT", 2))
    old.retired = True  # the rollover is done: the old connection closed on purpose
    old.on_ws_disconnected(old.transport)  # type: ignore[arg-type]
    feed(new, book("BTCUSDT", 3))
    new.on_ws_disconnected(new.transport)  # type: ignore[arg-type]  # a real loss
    feed(connect(streams, 3, index=0), book("BTCUSDT", 50))
    assert describe(await drain(streams)) == [
        ("book", "BTCUSDT", 1), ("book", "BTCUSDT", 2), ("book", "BTCUSDT", 3),
        ("gap", "BTCUSDT", GapReason.RECONNECTED), ("book", "BTCUSDT", 50),
    ]  # fmt: skip


async def test_a_loss_pushed_out_by_the_hard_bound_still_counts() -> None:
    streams = MarketStreams("ws://127.0.0.1:1", numbers=str, pause_at=0, resume_at=0, max_buffered=2)
    plan(streams, "btcusdt@bookTicker")
    first = connect(streams, 1, index=0)
    feed(first, book("BTCUSDT", 1))
    assert describe([await anext(aiter(streams))]) == [("book", "BTCUSDT", 1)]
    first.on_ws_disconnected(first.transport)  # type: ignore[arg-type]
    second = connect(streams, 2, index=0)
    feed(second, book("BTCUSDT", 10), book("BTCUSDT", 11), book("BTCUSDT", 12))  # the loss falls out
    streams.max_buffered = 1000
    items = [await anext(aiter(streams)) for _ in range(3)]
    assert ("lagged", 1) in describe(items), "only the dropped message is counted"
    second.on_ws_disconnected(second.transport)  # type: ignore[arg-type]
    feed(connect(streams, 3, index=0), book("BTCUSDT", 100))
    assert ("gap", "BTCUSDT", GapReason.RECONNECTED) in describe(await drain(streams))


async def test_the_hard_bound_holds_when_frames_alternate_between_connections() -> None:
    streams = MarketStreams("ws://127.0.0.1:1", numbers=str, pause_at=0, resume_at=0, max_buffered=10)
    a, b = connect(streams, 1, index=0), connect(streams, 2, index=1)
    for u in range(1, 2001):
        feed(a if u % 2 else b, book("BTCUSDT" if u % 2 else "ETHUSDT", u))
    assert len(streams._buffer) <= 10


async def test_unsubscribe_forgets_after_what_was_already_received() -> None:
    streams = MarketStreams("ws://127.0.0.1:1", numbers=str)
    connection = connect(streams, 1)
    feed(connection, trade("BTCUSDT", 1), trade("BTCUSDT", 2))
    streams._push(streams_module._Forget(["btcusdt@trade"]))  # what unsubscribe() queues
    feed(connection, trade("BTCUSDT", 100))  # subscribed again later: starts afresh
    assert describe(await drain(streams)) == [
        ("trade", "BTCUSDT", 1), ("trade", "BTCUSDT", 2), ("trade", "BTCUSDT", 100)
    ]


async def test_subscribe_after_close_is_an_error() -> None:
    streams = MarketStreams("ws://127.0.0.1:1")
    await streams.close()
    with pytest.raises(RuntimeError):
        await streams.subscribe("btcusdt@bookTicker")


async def test_a_paused_connection_reads_until_every_waiting_reply_is_in() -> None:
    from tickerplant.client.events import Reply

    streams = MarketStreams("ws://127.0.0.1:1", numbers=str, control_burst=10)
    connection = connect(streams)
    transport: Any = connection.transport
    transport.send = lambda *args: None
    raw = transport.underlying_transport
    streams._paused = True
    first = asyncio.create_task(streams._send(connection, "SUBSCRIBE", ["a@trade"]))
    second = asyncio.create_task(streams._send(connection, "SUBSCRIBE", ["b@trade"]))
    while len(connection.replies) < 2:
        await asyncio.sleep(0)
    assert raw.reading, "reading while replies are awaited, paused or not"
    ids = sorted(connection.replies)
    connection.replies[ids[0]].set_result(Reply(ids[0], None))
    await first
    assert raw.reading, "the other request still waits for its reply"
    connection.replies[ids[1]].set_result(Reply(ids[1], None))
    await second
    assert not raw.reading, "paused again once no reply is awaited"
