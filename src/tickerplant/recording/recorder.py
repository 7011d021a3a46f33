"""record(): raw stream messages from Binance or a tickerplant, into a recording.

A consumer of the client library: it reads through ``RawStreams`` (or any ``RawSource``
given to it) and writes ``recording.format`` files. Messages are stamped with the time
the client read them; the recorder's own ``Clock`` only paces the flushes of quiet spells
and stamps a loss seen before any message.

Diff-depth streams get a REST depth snapshot recorded beside them when they start and
after every loss or ``pu`` break (``depth_snapshots.SnapshotPlan`` says when): fetched on
the stream host's REST twin, in a task of its own, and written when it lands.

The event loop only reads frames and encodes lines (``RecordingWriter``); compressing and
writing the files happens in a thread of its own (``Compressor``), fed through a bounded
queue. zlib and file writes release the GIL, so the two run side by side: the loop stays
free to read, and receive times stay close to when the frames arrived.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import queue
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Protocol

from tickerplant.client import Lagged, RawItem, RawMessage, RawStreams, StreamsLost
from tickerplant.client.backoff import backoff
from tickerplant.client.endpoints import fetch as http_get
from tickerplant.client.endpoints import market_of
from tickerplant.clock import Clock, SystemClock
from tickerplant.market.instruments import Market
from tickerplant.protocol.endpoints import rest_base, rest_prefix
from tickerplant.recording.depth_snapshots import SNAPSHOT_LIMIT, SnapshotPlan
from tickerplant.recording.format import (
    FLUSH_S,
    ROTATE_BYTES,
    ROTATE_S,
    GzipOutput,
    Output,
    Recorded,
    RecordedLoss,
    RecordedSnapshot,
    RecordingWriter,
)

__all__ = ["MAX_QUEUED", "Compressor", "RawSource", "record"]

# 64 KiB chunks waiting for the compressor: enough to ride out a slow disk write, small
# enough that a stop finishes the files in a few ms.
MAX_QUEUED = 32

YIELD_EVERY = 1000  # messages written between turns given to the loop: ~1-2 ms of work

log = logging.getLogger("tickerplant.recorder")


class RawSource(Protocol):
    """What the recorder reads: ``RawStreams``' surface."""

    async def subscribe(self, *names: str) -> None: ...

    async def close(self) -> None: ...

    def __aiter__(self) -> AsyncIterator[RawItem]: ...


async def record(
    url: str,
    streams: Sequence[str],
    out: Path,
    *,
    market: Market | None = None,
    rotate_bytes: int = ROTATE_BYTES,
    rotate_s: float = ROTATE_S,
    stop: asyncio.Event | None = None,
    on_message: Callable[[int], None] | None = None,
    connect: Callable[[str], RawSource] | None = None,
    clock: Clock | None = None,
    fetch: Callable[[str], Awaitable[bytes]] = http_get,
) -> list[Path]:
    """Record ``streams`` from the stream host ``url`` into ``out`` until ``stop`` is set.

    The market is ``market_of(url)`` unless given. Losses (a dropped connection, or the
    client's buffer overflowing) are recorded as "lost" lines; the connection reconnects
    by itself. ``on_message`` is called after each message with the number recorded so far.

    On ``stop``, the messages already received are written, the files are closed and
    returned. Cancelled, it closes the files too and lets the cancellation through. A
    failure to subscribe or to write is raised, after closing what was written.

    ``connect(url)`` makes the reader (default: a ``RawStreams`` on ``clock``); ``clock``
    stamps the messages and paces the flushes; ``fetch(url)`` GETs the depth snapshots
    of the diff-depth streams recorded (``depth_snapshots``).
    """
    names = list(streams)
    if not names:
        raise ValueError("nothing to record: no streams given")
    if market is None:
        market = await market_of(url)
    compressor = Compressor()
    writer = RecordingWriter(
        Path(out),
        market,
        url,
        names,
        rotate_bytes=rotate_bytes,
        rotate_s=rotate_s,
        open_output=compressor.open,
    )
    clock = clock or SystemClock()
    source = connect(url) if connect is not None else RawStreams(url, clock=clock)
    subscribed = asyncio.Event()
    snapshots = _Snapshots(SnapshotPlan(names), writer, fetch, url, market, clock)
    heard: set[str] = set()  # the streams that delivered something
    pump = asyncio.create_task(_pump(source, names, writer, subscribed, on_message, clock, snapshots, heard))
    flusher = asyncio.create_task(_flush_every(writer, FLUSH_S, clock))
    stopping = asyncio.create_task((stop or asyncio.Event()).wait())
    try:
        await asyncio.wait((pump, stopping), return_when=asyncio.FIRST_COMPLETED)
        if pump.done():
            pump.result()  # a failure; else the source ended by itself
        elif subscribed.is_set():
            await source.close()  # the iteration ends once what was received is written
            await pump
    except BaseException:
        await _wind_down(source, (pump, flusher, stopping, *snapshots.tasks))
        _close(writer, compressor, quietly=True)  # the error that got us here says more
        raise
    await _wind_down(source, (pump, flusher, stopping, *snapshots.tasks))
    _close(writer, compressor, quietly=False)
    for name in names:  # a server takes any name, and sends nothing for a wrong one
        if name not in heard and subscribed.is_set():
            log.warning("%s: nothing was received on it; is the name right (a symbol in lower case)?", name)
    return writer.files


async def _wind_down(source: RawSource, tasks: tuple[asyncio.Task[object], ...]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.wait(tasks)  # their outcomes are known or no longer matter
    await source.close()


def _close(writer: RecordingWriter, compressor: Compressor, *, quietly: bool) -> None:
    try:
        try:
            writer.close()
        finally:
            compressor.close()
    except OSError:
        if not quietly:
            raise
        log.exception("closing the recording failed too")


async def _pump(
    source: RawSource,
    names: list[str],
    writer: RecordingWriter,
    subscribed: asyncio.Event,
    on_message: Callable[[int], None] | None,
    clock: Clock,
    snapshots: _Snapshots,
    heard: set[str],
) -> None:
    await source.subscribe(*names)
    subscribed.set()
    count = 0
    last_us = 0
    plan = snapshots.plan
    book_streams = plan.symbols
    async for item in source:
        if type(item) is RawMessage:
            heard.add(item.stream)
            last_us = snapshots.last_us = item.received_ns // 1000
            try:
                writer.write(Recorded(last_us, item.stream, item.data), last_us)
            except ValueError as exc:
                # Not recordable byte for byte: say it is missing rather than alter it.
                log.warning("%s: message not recorded: %s", item.stream, exc)
                writer.write(RecordedLoss(last_us, (item.stream,)), last_us)
                plan.lost((item.stream,))
                continue
            if item.stream in book_streams:
                symbol = plan.event(item.stream, item.data)
                if symbol is not None:
                    snapshots.start(symbol)
            count += 1
            if on_message is not None:
                on_message(count)
            if not count % YIELD_EVERY:
                # Items already buffered are handed out without a pause: give the loop a
                # turn to read sockets (fresher receive times) and run its timers.
                await asyncio.sleep(0)
        elif isinstance(item, StreamsLost):
            # Stamped in ms when the drop was seen; never before a message received earlier.
            last_us = snapshots.last_us = max(item.at_ms * 1000, last_us)
            log.warning("connection lost, messages may be missing: %s", ", ".join(item.streams))
            writer.write(RecordedLoss(last_us, item.streams), last_us)
            plan.lost(item.streams)
        elif isinstance(item, Lagged):
            # The client discarded the oldest messages it held, of any stream: they came
            # after the last one written, which stamps the loss, so times keep their order.
            last_us = snapshots.last_us = last_us or clock.now_ns() // 1000
            log.warning("recorder fell behind: %d messages dropped", item.dropped)
            writer.write(RecordedLoss(last_us, tuple(names)), last_us)
            plan.lost(names)


class _Snapshots:
    """Fetches the depth snapshots ``plan`` asks for, one task per fetch, and writes each
    as it lands, stamped with the time of the last message written (times never go back).
    A failed fetch, or one too old for the stream, is tried again after a backoff."""

    def __init__(
        self,
        plan: SnapshotPlan,
        writer: RecordingWriter,
        fetch: Callable[[str], Awaitable[bytes]],
        url: str,
        market: Market,
        clock: Clock,
    ) -> None:
        self.plan = plan
        self.last_us = 0  # the time of the last message written
        self.tasks: set[asyncio.Task[None]] = set()
        self._writer = writer
        self._fetch = fetch
        self._rest = f"{rest_base(url)}{rest_prefix(market)}/depth?limit={SNAPSHOT_LIMIT}&symbol="
        self._clock = clock

    def start(self, symbol: str) -> None:
        task = asyncio.create_task(self._run(symbol))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run(self, symbol: str) -> None:
        delays = backoff(0.25, 2.0, 8.0)
        while True:
            body: bytes | None
            try:
                body = await self._fetch(self._rest + symbol)
            except OSError as exc:
                log.warning("%s: depth snapshot not fetched: %s", symbol, exc)
                body = None
            if body is not None:
                try:
                    self._writer.write(RecordedSnapshot(self.last_us, symbol, body), self.last_us)
                except ValueError as exc:
                    log.warning("%s: depth snapshot not recorded: %s", symbol, exc)
                    body = None
            if not self.plan.fetched(symbol, body):
                return
            clock = self._clock
            await clock.sleep_until(clock.now_ms() + next(delays) * 1000)


async def _flush_every(writer: RecordingWriter, interval_s: float, clock: Clock) -> None:
    # Writes flush when one is due; this covers the quiet spells between them.
    while True:
        await clock.sleep_until(clock.now_ms() + interval_s * 1000)
        writer.flush()


class Compressor:
    """One thread that compresses and writes every file of a recording, fed by a bounded
    queue of work. When ``max_queued`` chunks wait, the caller waits: the disk and zlib
    set the pace, memory does not grow.

    An error in the thread (a full disk) is raised by the next call, and by ``close``.
    """

    def __init__(self, max_queued: int = MAX_QUEUED) -> None:
        self._queue: queue.Queue[Callable[[], object] | None] = queue.Queue(max_queued)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="tickerplant-compressor", daemon=True)
        self._thread.start()

    def open(self, path: Path) -> Output:
        # Opened here, so that a name already taken is known at once (RecordingWriter
        # picks another); from then on only the thread touches the file.
        return _QueuedOutput(self, GzipOutput(path))

    def submit(self, work: Callable[[], object]) -> None:
        self._raise_error()
        if not self._thread.is_alive():
            raise RuntimeError("the compressor is closed")
        self._queue.put(work)

    def close(self) -> None:
        """Finish the queued work and stop the thread."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise OSError(f"writing the recording failed: {self._error}") from self._error

    def _run(self) -> None:
        while (work := self._queue.get()) is not None:
            if self._error is None:
                try:
                    work()
                except BaseException as exc:  # handed to the loop's thread, which raises it
                    self._error = exc


class _QueuedOutput:
    """An ``Output`` whose work is done by a ``Compressor``'s thread, in order."""

    def __init__(self, compressor: Compressor, output: Output) -> None:
        self._compressor = compressor
        self._output = output

    def write(self, data: bytes) -> None:
        self._compressor.submit(functools.partial(self._output.write, data))

    def flush(self) -> None:
        self._compressor.submit(self._output.flush)

    def close(self) -> None:
        self._compressor.submit(self._output.close)
