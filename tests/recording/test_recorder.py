"""record(): a running tickerplant's payloads into a recording, byte for byte, losses said."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from conftest import StartServer

from tickerplant.client.streams import Lagged, RawMessage, StreamsLost
from tickerplant.market.instruments import Market
from tickerplant.recording import recorder
from tickerplant.recording.format import Item, Recorded, RecordedLoss, read_recording, recording_files
from tickerplant.recording.recorder import Compressor, record

BOOK = "btcusdt@bookTicker"


def read_files(files: list[Path]) -> list[Item]:
    return [item for path in files for item in read_recording(path)[1]]


async def record_for(seconds: float, *args: Any, **kwargs: Any) -> list[Path]:
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(seconds, stop.set)
    return await record(*args, stop=stop, **kwargs)


async def test_records_what_the_server_published_byte_for_byte_in_order(
    start_server: StartServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    plant = await start_server()
    sent: list[bytes] = []
    plant.bus.subscribe(Market.UM, lambda messages: sent.extend(p for s, p in messages if s == BOOK))
    counts: list[int] = []
    before_us = time.time_ns() // 1000
    url = plant.url(Market.UM)
    with caplog.at_level(logging.WARNING):
        files = await record_for(
            1.5, url, [BOOK, "!miniTicker@arr"], tmp_path / "rec", on_message=counts.append
        )
    assert files == recording_files(tmp_path / "rec") and len(files) == 1
    header, read = read_recording(files[0])
    items = list(read)
    assert not caplog.records, "closed cleanly, nothing lost"
    assert header.market is Market.UM, "asked the server's REST twin"
    assert (header.url, header.streams) == (url, (BOOK, "!miniTicker@arr"))
    books = [i.data for i in items if isinstance(i, Recorded) and i.stream == BOOK]
    assert len(books) > 10
    start = sent.index(books[0])
    assert sent[start : start + len(books)] == books, "every payload, byte for byte, in order"
    assert any(isinstance(i, Recorded) and i.stream == "!miniTicker@arr" for i in items)
    times = [i.received_us for i in items]
    assert before_us <= header.started_us <= times[0] and times == sorted(times)
    assert counts == list(range(1, len(items) + 1))


async def test_a_dropped_connection_is_a_loss_line_and_recording_goes_on(
    start_server: StartServer, tmp_path: Path
) -> None:
    plant = await start_server(faults={"drop_after_s": 0.6})
    files = await record_for(1.6, plant.url(Market.UM), [BOOK], tmp_path, market=Market.UM)
    items = read_files(files)
    lost = [n for n, item in enumerate(items) if isinstance(item, RecordedLoss)]
    assert lost and items[lost[0]] == RecordedLoss(items[lost[0]].received_us, (BOOK,))
    assert any(isinstance(i, Recorded) for i in items[: lost[0]])
    assert any(isinstance(i, Recorded) for i in items[lost[0] :]), "recording resumed"
    times = [i.received_us for i in items]
    assert times == sorted(times)


async def test_cancelled_it_still_closes_every_rotated_file(
    start_server: StartServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    plant = await start_server()
    task = asyncio.create_task(
        record(plant.url(Market.UM), [BOOK], tmp_path, market=Market.UM, rotate_s=0.25)
    )
    await asyncio.sleep(1.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    files = recording_files(tmp_path)
    assert len(files) >= 3
    with caplog.at_level(logging.WARNING):
        items = read_files(files)
    assert not caplog.records, "every file has its gzip trailer"
    assert len(items) > 10 and all(isinstance(i, Recorded) for i in items)


class ScriptedStreams:
    """A ``RawStreams`` stand-in that hands out ``script`` and then waits to be closed."""

    script: ClassVar[list[Any]] = []

    def __init__(self, url: str) -> None:
        self.subscribed: list[str] = []
        self.closed = asyncio.Event()

    async def subscribe(self, *names: str) -> None:
        self.subscribed.extend(names)

    async def close(self) -> None:
        self.closed.set()

    async def __aiter__(self) -> AsyncIterator[Any]:
        for item in self.script:
            yield item
        await self.closed.wait()


async def test_what_cannot_be_recorded_exactly_is_recorded_as_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t_ns = 1_767_225_600_000_000_000
    ScriptedStreams.script = [
        RawMessage("a@trade", b'{"t":1}', t_ns),
        RawMessage("a@trade", b'{"t":\n2}', t_ns + 1000),  # a newline: cannot be spliced
        StreamsLost(("a@trade",), t_ns // 1_000_000),  # stamped in ms: earlier than the last message
        RawMessage("b@trade", b'{"t":3}', t_ns + 3000),
        Lagged(5),
    ]
    monkeypatch.setattr(recorder, "RawStreams", ScriptedStreams)
    stop = asyncio.Event()
    counts: list[int] = []
    task = asyncio.create_task(
        record(
            "ws://nowhere",
            ["a@trade", "b@trade"],
            tmp_path,
            market=Market.CM,
            stop=stop,
            on_message=counts.append,
        )
    )
    while len(counts) < 2:
        await asyncio.sleep(0.01)
    stop.set()
    items = read_files(await task)
    t_us = t_ns // 1000
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
    started = time.monotonic()
    files = await record_for(0.3, f"ws://127.0.0.1:{port}", [BOOK], tmp_path, market=Market.UM)
    assert files == [] and time.monotonic() - started < 2.0


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
