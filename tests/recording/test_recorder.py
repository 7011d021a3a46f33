"""record(): a running tickerplant's payloads into a recording, byte for byte, losses said.

Recordings stop when what a test needs has arrived (``on_message``, or a look at the
reader's items), never after a fixed time; what depends on receive times (rotation by
age) is driven by a scripted reader whose items carry the times."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import StartServer
from timing import SECONDS

from tickerplant.client import Lagged, RawItem, RawMessage, RawStreams, StreamsLost
from tickerplant.market.instruments import Market
from tickerplant.recording.format import Item, Recorded, RecordedLoss
from tickerplant.recording.reading import read_recording, recording_files
from tickerplant.recording.recorder import Compressor, record

BOOK = "btcusdt@bookTicker"
AGG = "btcusdt@aggTrade"
T_NS = 1_767_225_600_000_000_000


def read_files(files: list[Path]) -> list[Item]:
    return [item for path in files for item in read_recording(path)[1]]


def fast() -> Iterator[float]:
    return iter([0.01] * 10_000)


class Watched:
    """``RawStreams`` whose items ``see`` looks at as the recorder takes them."""

    def __init__(self, url: str, see: Callable[[RawItem], None]) -> None:
        self.streams = RawStreams(url, delays=fast)
        self.see = see

    async def subscribe(self, *names: str) -> None:
        await self.streams.subscribe(*names)

    async def close(self) -> None:
        await self.streams.close()

    async def __aiter__(self) -> AsyncIterator[RawItem]:
        async for item in self.streams:
            self.see(item)
            yield item


class Scripted:
    """A reader that hands out ``script`` and then waits to be closed."""

    def __init__(self, script: list[RawItem]) -> None:
        self.script = script
        self.closed = asyncio.Event()

    async def subscribe(self, *names: str) -> None:
        pass

    async def close(self) -> None:
        self.closed.set()

    async def __aiter__(self) -> AsyncIterator[RawItem]:
        for item in self.script:
            yield item
        await self.closed.wait()


def stop_at(count: int, stop: asyncio.Event) -> Callable[[int], None]:
    return lambda recorded: stop.set() if recorded >= count else None


async def test_records_what_the_server_published_byte_for_byte_in_order(
    start_server: StartServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    plant = await start_server()
    sent: list[bytes] = []
    plant.bus.subscribe(Market.UM, lambda messages: sent.extend(p for s, p in messages if s == BOOK))
    counts: list[int] = []
    stop = asyncio.Event()
    before_us = time.time_ns() // 1000
    url = plant.url(Market.UM)

    def counted(recorded: int) -> None:
        counts.append(recorded)
        if recorded >= 60:
            stop.set()

    with caplog.at_level(logging.WARNING):
        async with asyncio.timeout(10 * SECONDS):
            files = await record(url, [BOOK, AGG], tmp_path / "rec", on_message=counted, stop=stop)
    assert files == recording_files(tmp_path / "rec") and len(files) == 1
    header, read = read_recording(files[0])
    items = list(read)
    assert not caplog.records, "closed cleanly, nothing lost"
    assert header.market is Market.UM, "asked the server's REST twin"
    assert (header.url, header.streams) == (url, (BOOK, AGG))
    books = [i.data for i in items if isinstance(i, Recorded) and i.stream == BOOK]
    assert len(books) > 10
    start = sent.index(books[0])
    assert sent[start : start + len(books)] == books, "every payload, byte for byte, in order"
    assert any(isinstance(i, Recorded) and i.stream == AGG for i in items)
    times = [i.received_us for i in items]
    assert before_us <= header.started_us <= times[0] and times == sorted(times)
    assert counts == list(range(1, len(items) + 1))


async def test_a_dropped_connection_is_a_loss_line_and_recording_goes_on(
    start_server: StartServer, tmp_path: Path
) -> None:
    plant = await start_server(faults={"drop_after_s": 0.2})
    stop = asyncio.Event()
    seen: list[RawItem] = []

    def see(item: RawItem) -> None:
        seen.append(item)
        lost = [n for n, i in enumerate(seen) if isinstance(i, StreamsLost)]
        if lost and sum(isinstance(i, RawMessage) for i in seen[lost[0] :]) >= 3:
            stop.set()

    async with asyncio.timeout(10 * SECONDS):
        files = await record(
            plant.url(Market.UM), [BOOK], tmp_path, market=Market.UM, stop=stop,
            connect=lambda url: Watched(url, see),
        )  # fmt: skip
    items = read_files(files)
    lost = [n for n, item in enumerate(items) if isinstance(item, RecordedLoss)]
    assert lost and items[lost[0]] == RecordedLoss(items[lost[0]].received_us, (BOOK,))
    assert any(isinstance(i, Recorded) for i in items[: lost[0]])
    assert any(isinstance(i, Recorded) for i in items[lost[0] :]), "recording resumed"
    times = [i.received_us for i in items]
    assert times == sorted(times)


async def test_cancelled_it_still_closes_every_rotated_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Received 0.3 s apart, with files rotated at 0.25 s of age: a file per message.
    script: list[RawItem] = [RawMessage(BOOK, b'{"u":%d}' % n, T_NS + n * 300_000_000) for n in range(5)]
    all_in = asyncio.Event()
    task = asyncio.create_task(
        record(
            "ws://nowhere", [BOOK], tmp_path, market=Market.UM, rotate_s=0.25,
            on_message=stop_at(len(script), all_in), connect=lambda url: Scripted(script),
        )
    )
    async with asyncio.timeout(5 * SECONDS):
        await all_in.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    files = recording_files(tmp_path)
    assert len(files) == len(script)
    assert [read_recording(f)[0].started_us for f in files] == [m.received_ns // 1000 for m in script]  # type: ignore[union-attr]
    with caplog.at_level(logging.WARNING):
        items = read_files(files)
    assert not caplog.records, "every file has its gzip trailer"
    assert items == [Recorded(m.received_ns // 1000, BOOK, m.data) for m in script]  # type: ignore[union-attr]


async def test_what_cannot_be_recorded_exactly_is_recorded_as_lost(tmp_path: Path) -> None:
    script: list[Any] = [
        RawMessage("a@trade", b'{"t":1}', T_NS),
        RawMessage("a@trade", b'{"t":\n2}', T_NS + 1000),  # a newline: cannot be spliced
        StreamsLost(("a@trade",), T_NS // 1_000_000),  # stamped in ms: earlier than the last message
        RawMessage("b@trade", b'{"t":3}', T_NS + 3000),
        Lagged(5),
    ]
    stop = asyncio.Event()
    counts: list[int] = []

    def counted(recorded: int) -> None:
        counts.append(recorded)
        stop_at(2, stop)(recorded)

    async with asyncio.timeout(5 * SECONDS):
        files = await record(
            "ws://nowhere", ["a@trade", "b@trade"], tmp_path, market=Market.CM, stop=stop,
            on_message=counted, connect=lambda url: Scripted(script),
        )  # fmt: skip
    items = read_files(files)
    t_us = T_NS // 1000
    assert items[:4] == [
        Recorded(t_us, "a@trade", b'{"t":1}'),
        RecordedLoss(t_us + 1, ("a@trade",)),
        RecordedLoss(t_us + 1, ("a@trade",)),  # never before what was received earlier
        Recorded(t_us + 3, "b@trade", b'{"t":3}'),
    ]
    assert items[4] == RecordedLoss(t_us + 3, ("a@trade", "b@trade")), "dropped after the last one written"
    assert counts == [1, 2]


async def test_a_stop_before_any_connection_returns_no_files(tmp_path: Path) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    stop = asyncio.Event()
    stop.set()
    async with asyncio.timeout(2 * SECONDS):
        files = await record(f"ws://127.0.0.1:{port}", [BOOK], tmp_path, market=Market.UM, stop=stop)
    assert files == []


async def test_a_stream_that_delivered_nothing_is_named_at_the_end(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A server acknowledges any name and sends nothing for a wrong one (``bookticker``):
    the recording ends saying which names brought nothing, not silently."""
    script: list[RawItem] = [RawMessage(BOOK, b'{"u":1}', T_NS)]
    stop = asyncio.Event()
    with caplog.at_level(logging.WARNING):
        await record("ws://x", [BOOK, "btcusdt@bookticker"], tmp_path / "rec", market=Market.UM,
                     connect=lambda url: Scripted(script), on_message=stop_at(1, stop), stop=stop)  # fmt: skip
    assert [r.getMessage() for r in caplog.records] == [
        "btcusdt@bookticker: nothing was received on it; is the name right (a symbol in lower case)?"
    ]


async def test_nothing_to_record_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        await record("ws://127.0.0.1:1", [], tmp_path, market=Market.UM)


def test_a_failure_in_the_compressor_thread_is_raised_in_the_callers() -> None:
    compressor = Compressor(max_queued=2)
    ran: list[str] = []

    def fail() -> None:
        raise OSError("No space left on device")

    compressor.submit(fail)
    compressor.submit(lambda: ran.append(threading.current_thread().name))
    with pytest.raises(OSError, match="No space left"):
        compressor.close()
    assert ran == [], "nothing runs after a failure: the file would have a hole"
    with pytest.raises(OSError):
        compressor.submit(lambda: None)
