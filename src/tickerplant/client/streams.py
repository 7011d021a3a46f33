"""MarketStreams: Binance market streams that keep themselves alive and never lose an
update silently.

- Streams are spread over as many connections as the per-connection cap needs (spec §2.5),
  and, against Binance itself, over its /public and /market routes (§2.2).
- Control messages are paced below the server's 10 per second (``Pacer``).
- A dropped or silent connection (picows pings it; no pong closes it) is reopened after a
  backoff and its streams are subscribed again.
- Before the 24 h limit a connection is rolled over: the new one is opened and subscribed
  first, then the old one is closed; the overlap is deduplicated by update id, so nothing
  is missed or repeated.
- What could not be delivered is said: a ``Gap`` item in the iteration, from the
  ``Sequencer``'s reading of update ids, trade ids and reconnects.

The I/O here is a thin shell; decoding, sequencing, pacing, planning and backoff are the
sans-I/O modules beside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any, NamedTuple

import msgspec
from picows import WSError, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from tickerplant.client.backoff import backoff
from tickerplant.client.events import MarketEvent, Reply, StreamDecoder, UnknownEvent
from tickerplant.client.pacing import Pacer
from tickerplant.client.plan import ConnectionPlan, chunks
from tickerplant.client.sequencing import DELIVER, Gap, Sequencer
from tickerplant.clock import Clock, SystemClock
from tickerplant.protocol.streams import Route, route_of

__all__ = [
    "BINANCE_COINM_STREAMS",
    "BINANCE_USDM_STREAMS",
    "Lagged",
    "MarketStreams",
    "RawItem",
    "RawMessage",
    "RawStreams",
    "StreamItem",
    "StreamsLost",
]

BINANCE_USDM_STREAMS = "wss://fstream.binance.com"
BINANCE_COINM_STREAMS = "wss://dstream.binance.com"

log = logging.getLogger("tickerplant.client")


_COMBINED = b'{"stream":'
_TEXT = WSMsgType.TEXT
# Buffered items decoded and sequenced per call of _settle_batch: enough that its fixed
# costs vanish per item, few enough that the first item waits ~0.1 ms at most.
_BATCH = 256


class _From(NamedTuple):
    """In ``MarketStreams._buffer``: the data frames after it, up to the next ``_From``, came
    over this connection. One per run of frames rather than a (connection, frame) tuple per
    frame, which cost ~5 % of the consumer's throughput."""

    connection_id: int


class _Decoded(NamedTuple):
    connection_id: int
    event: MarketEvent
    stream: str


class _Lost(NamedTuple):
    """A connection ended. ``retired``: on purpose (rollover, unsubscribe), nothing lost;
    the sequencer only stops counting it as a carrier."""

    names: list[str]
    at_ms: int
    connection_id: int
    retired: bool = False


class _Refused(NamedTuple):
    """A frame off the fast path that is not JSON: raised from ``__anext__`` in its place."""

    error: msgspec.DecodeError


class _Forget(NamedTuple):
    """Unsubscribed: forget these streams once the frames received before are settled."""

    names: list[str]


class Lagged(msgspec.Struct, frozen=True):
    """The consumer fell behind: ``dropped`` items were discarded to bound memory."""

    dropped: int


StreamItem = MarketEvent | Gap | UnknownEvent | Lagged


class RawMessage(NamedTuple):
    """One data frame of ``RawStreams``: the payload exactly as the server sent it."""

    stream: str  # the stream name the combined frame carried
    data: bytes  # the "data" value, byte for byte
    received_ns: int  # Unix time the frame was read, ns


class StreamsLost(msgspec.Struct, frozen=True):
    """A connection carrying ``streams`` dropped at ``at_ms``: messages may be missing until
    it is back (it reconnects and resubscribes by itself)."""

    streams: tuple[str, ...]
    at_ms: int


RawItem = RawMessage | StreamsLost | Lagged


class _Connection(WSListener):
    """One WebSocket connection and what is waiting on it."""

    def __init__(self, owner: MarketStreams, group: str, index: int, connection_id: int) -> None:
        self.owner = owner
        self.buffer = owner._buffer  # the owner's, for the frame callback: one lookup fewer
        self.group = group
        self.index = index
        self.id = connection_id
        self.marker = _From(connection_id)
        self.transport: WSTransport | None = None
        self.gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.replies: dict[int, asyncio.Future[Reply]] = {}
        self.retired = False  # closed on purpose (rollover, unsubscribe, close): nothing lost
        self.pacer = Pacer(owner.control_rate_per_s, owner.control_burst)
        self.opened_s = 0.0

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        msg_type = frame.msg_type
        if msg_type is _TEXT:
            payload = frame.get_payload_as_bytes()
            if payload.startswith(_COMBINED):
                # The hot path, inlined: a data frame is filed undecoded, decoded when consumed.
                buffer = self.buffer
                owner = self.owner
                if owner._filing is not self:
                    owner._filing = self
                    buffer.append(self.marker)
                buffer.append(payload)
                held = len(buffer)
                # Once paused, the rest of the read still arrives here: no call per frame
                # for it unless it passes the hard bound.
                if held > owner.pause_at and (not owner._paused or held > owner.max_buffered):
                    owner._over_pause_at()
                if owner._waiter is not None:
                    owner._wake()
                return
            self.owner._on_frame(self, payload)
        elif msg_type is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        for future in self.replies.values():
            if not future.done():
                future.set_exception(ConnectionError("the connection closed"))
        if not self.gone.done():
            self.gone.set_result(None)
        self.owner._on_disconnected(self)


class MarketStreams:
    """``async with MarketStreams(url) as streams: await streams.subscribe(…); async for item in streams``

    ``url`` is the stream host, e.g. ``ws://127.0.0.1:8765`` for tickerplant or
    ``wss://fstream.binance.com`` (the default); ``routed`` sends each stream to Binance's
    /public or /market path (on by default for Binance's USDⓈ-M host).
    """

    def __init__(
        self,
        url: str = BINANCE_USDM_STREAMS,
        *,
        routed: bool | None = None,
        max_streams_per_connection: int = 1024,
        rollover_after_s: float = 23.5 * 3600,
        ping_interval_s: float = 20.0,
        pong_timeout_s: float = 20.0,
        control_rate_per_s: float = 5.0,
        control_burst: int = 5,
        reply_timeout_s: float = 10.0,
        numbers: type[Decimal] | type[str] = Decimal,
        pause_at: int = 50_000,
        resume_at: int = 10_000,
        max_buffered: int = 1_000_000,
        delays: Callable[[], Iterator[float]] = backoff,
        clock: Clock | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.routed = routed if routed is not None else "fstream.binance" in url
        self.max_streams_per_connection = max_streams_per_connection
        self.rollover_after_s = rollover_after_s
        self.ping_interval_s = ping_interval_s
        self.pong_timeout_s = pong_timeout_s
        self.control_rate_per_s = control_rate_per_s
        self.control_burst = control_burst
        self.reply_timeout_s = reply_timeout_s
        # Backpressure: past ``pause_at`` undelivered items the connections stop reading
        # (the server then buffers, and cuts off a client that stays behind, as Binance
        # does); below ``resume_at`` they read again. ``max_buffered`` is the hard bound.
        self.pause_at = pause_at
        self.resume_at = resume_at
        self.max_buffered = max_buffered
        self._paused = False
        self._delays = delays
        self._clock = clock or SystemClock()
        self._decoder = StreamDecoder(numbers)
        self._decode_combined = self._decoder.decode_combined_frame
        self._sequencer = Sequencer()
        self._plans: dict[str, ConnectionPlan] = {}
        self._live: dict[tuple[str, int], _Connection] = {}  # (group, index) -> serving connection
        self._keepers: dict[tuple[str, int], asyncio.Task[None]] = {}
        # In order: undecoded data frames (bytes) with a _From before each run of them, loss
        # markers and ready items.
        self._buffer: deque[Any] = deque()
        self._filing: _Connection | None = None  # whose data frames the buffer ends with
        self._from = 0  # the connection of the data frames at the head of the buffer
        self._settled: deque[StreamItem] = deque()  # decoded items not yet handed out
        self._waiter: asyncio.Future[None] | None = None  # set while the consumer waits
        self._dropped = 0
        self._ids = itertools.count(1)
        self._connection_ids = itertools.count(1)
        self._closed = False
        self.reconnects = 0
        self.rollovers = 0
        self._rolling = 0  # rollovers in progress: two connections carry the same streams

    _connection_type: type[_Connection] = _Connection

    # -- the user's side -----------------------------------------------------------------

    async def __aenter__(self) -> MarketStreams:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __aiter__(self) -> MarketStreams:
        return self

    async def __anext__(self) -> StreamItem:
        # Once per item: everything else is done a batch at a time by _settle_batch.
        settled = self._settled
        while not settled:
            if not self._buffer:
                if self._closed:
                    raise StopAsyncIteration
                self._waiter = waiter = asyncio.get_running_loop().create_future()
                try:
                    await waiter
                finally:
                    self._waiter = None
                continue
            self._settle_batch()
        return settled.popleft()

    def _settle_batch(self) -> None:
        """Decode and sequence the oldest buffered items into ``_settled``, in order.

        Frames are decoded only now that they are consumed: a consumer that falls behind
        costs the reader nothing but an append. A batch at a time, so that handing out an
        item is only a pop, and the checks below are made once per batch, not per item.
        """
        settled = self._settled
        buffer = self._buffer
        if self._dropped:
            dropped, self._dropped = self._dropped, 0
            settled.append(Lagged(dropped))
        popleft = buffer.popleft
        batch = [popleft() for _ in range(min(len(buffer), _BATCH))]
        if self._paused and len(buffer) <= self.resume_at:
            self._set_reading(True)
        decode = self._decode_combined
        accept = self._sequencer.accept
        append = settled.append
        connection_id = self._from
        for index, item in enumerate(batch):
            if type(item) is bytes:
                try:
                    frame = decode(item)
                except msgspec.DecodeError as refusal:  # a ValidationError is one too
                    self._from = connection_id  # the head's, should the rest go back
                    if not self._settle_unusual(batch, index, refusal):
                        return
                    continue
                data = frame.data
                if isinstance(data, list):
                    for event in data:
                        self._settle(frame.stream, event, connection_id)
                    continue
                verdict = accept(frame.stream, data, connection_id)
                if verdict is DELIVER:
                    append(data)
                elif isinstance(verdict, Gap):
                    append(verdict)  # the gap, then the event that revealed it
                    append(data)
            elif type(item) is _From:
                connection_id = item.connection_id
            elif type(item) is _Decoded:
                self._settle(item.stream, item.event, item.connection_id)
            elif type(item) is _Lost or type(item) is _Forget:
                self._mark(item)
            elif type(item) is _Refused:
                self._from = connection_id
                rest = batch[index:] if settled else batch[index + 1 :]
                buffer.extendleft(reversed(rest))
                if settled:
                    return  # what came before it is handed out first
                raise item.error
            else:
                append(item)  # a Lagged or UnknownEvent pushed as it is
        self._from = connection_id

    def _settle_unusual(self, batch: list[Any], index: int, refusal: msgspec.DecodeError) -> bool:
        """``batch[index]`` is a frame the typed decoder refused: settle it as
        ``decode_combined`` would and say whether the batch goes on.

        A combined frame of a payload we do not type becomes an ``UnknownEvent``. Anything
        else raises from ``__anext__`` in the frame's place: after the items before it (by
        the next batch, if some are settled), before the ones after it, which go back.
        """
        try:
            if not isinstance(refusal, msgspec.ValidationError):
                raise refusal  # not JSON
            self._settled.append(self._decoder.decode_untyped_combined(batch[index], str(refusal)))
            return True
        except msgspec.DecodeError:
            rest = batch[index:] if self._settled else batch[index + 1 :]
            self._buffer.extendleft(reversed(rest))
            if self._settled:
                return False
            raise

    @property
    def connections(self) -> int:
        return len(self._live)

    async def subscribe(self, *names: str) -> None:
        """Subscribe ``names`` (stream names as Binance spells them); returns once every
        connection carrying them has acknowledged."""
        if self._closed:
            raise RuntimeError("subscribe on a closed MarketStreams")
        waits: list[Awaitable[None]] = []
        for group, group_names in self._by_group(names).items():
            plan = self._plans.setdefault(group, ConnectionPlan(self.max_streams_per_connection))
            for index, added in plan.add(group_names).items():
                key = (group, index)
                connection = self._live.get(key)
                if connection is not None:
                    waits.append(self._send(connection, "SUBSCRIBE", added))
                elif key not in self._keepers:
                    ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                    self._keepers[key] = asyncio.create_task(self._keep(group, index, ready))
                    waits.append(ready)
        await asyncio.gather(*waits)

    async def unsubscribe(self, *names: str) -> None:
        waits = []
        for group, group_names in self._by_group(names).items():
            plan = self._plans.get(group)
            if plan is None:
                continue
            for index, removed in plan.remove(group_names).items():
                connection = self._live.get((group, index))
                if connection is not None:
                    waits.append(self._send(connection, "UNSUBSCRIBE", removed))
            self._push(_Forget(group_names))
        await asyncio.gather(*waits)

    async def close(self) -> None:
        self._closed = True
        for task in self._keepers.values():
            task.cancel()
        for task in self._keepers.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for connection in list(self._live.values()):
            await self._retire(connection)
        self._live.clear()
        self._wake()

    # -- connections ---------------------------------------------------------------------

    def _by_group(self, names: tuple[str, ...]) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for name in names:
            group = route_of(name).value if self.routed else Route.UNROUTED.value
            groups.setdefault(group, []).append(name)
        return groups

    async def _keep(self, group: str, index: int, ready: asyncio.Future[None]) -> None:
        """Keep connection ``index`` of ``group`` open for as long as it has streams."""
        key = (group, index)
        delays = self._delays()
        serving: _Connection | None = None
        while not self._closed:
            if serving is None:
                try:
                    serving = await self._open(group, index)
                except (OSError, WSError, TimeoutError, ConnectionError) as exc:
                    log.warning("stream connection %s/%d failed: %s", group or "/", index, exc)
                    await asyncio.sleep(next(delays))
                    continue
                self._live[key] = serving
                delays = self._delays()
                if not ready.done():
                    ready.set_result(None)
            remaining = serving.opened_s + self.rollover_after_s - asyncio.get_running_loop().time()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(serving.gone), max(0.0, remaining))
            if serving.gone.done():
                self._live.pop(key, None)
                serving = None
                self.reconnects += 1
                await asyncio.sleep(next(delays))
                continue
            # Roll over before the server's 24 h limit: the successor first, then retire.
            self._rolling_over()
            try:
                successor = await self._open(group, index)
            except (OSError, WSError, TimeoutError, ConnectionError) as exc:
                self._rolled_over()
                log.warning("rollover of %s/%d failed, retrying: %s", group or "/", index, exc)
                serving.opened_s = asyncio.get_running_loop().time() - self.rollover_after_s + 1.0
                continue
            self._live[key] = successor
            try:
                await self._retire(serving)
            finally:
                self._rolled_over()
            serving = successor
            self.rollovers += 1

    async def _open(self, group: str, index: int) -> _Connection:
        connection_id = next(self._connection_ids)
        path = f"/{group}/stream" if group else "/stream"
        connection = self._connection_type(self, group, index, connection_id)
        transport, _ = await ws_connect(
            lambda: connection,
            self.url + path,
            enable_auto_ping=True,
            auto_ping_idle_timeout=self.ping_interval_s,
            auto_ping_reply_timeout=self.pong_timeout_s,
        )
        connection.transport = transport
        connection.opened_s = asyncio.get_running_loop().time()
        names = self._plans[group].streams_of(index)
        if names:
            try:
                await self._send(connection, "SUBSCRIBE", names)
            except BaseException:
                # Never leave a half-open connection delivering; what it delivered before
                # failing ends with a loss, as for any connection that drops.
                await self._retire(connection, lost=True)
                raise
        elif self._paused:
            transport.underlying_transport.pause_reading()
        return connection

    async def _retire(self, connection: _Connection, *, lost: bool = False) -> None:
        connection.retired = not lost
        transport = connection.transport
        if transport is not None and not transport.is_disconnected:
            transport.send_close()
            transport.disconnect()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(connection.gone), 2.0)

    async def _send(self, connection: _Connection, method: str, names: list[str]) -> None:
        """Send ``method`` for ``names`` in paced chunks and wait for every reply."""
        loop = asyncio.get_running_loop()
        for chunk in chunks(names):
            # Several senders may wait for the same slot: look again after every sleep.
            while (delay := connection.pacer.delay_s(loop.time())) > 0:
                await asyncio.sleep(delay)
            transport = connection.transport
            if transport is None or transport.is_disconnected:
                raise ConnectionError("the connection closed")
            request_id = next(self._ids)
            future: asyncio.Future[Reply] = loop.create_future()
            connection.replies[request_id] = future
            request = {"method": method, "params": chunk, "id": request_id}
            transport.send(WSMsgType.TEXT, msgspec.json.encode(request))
            connection.pacer.sent(loop.time())
            # The reply queues behind data: read even while paused, or a consumer that
            # subscribes from its own loop would wait for itself.
            transport.underlying_transport.resume_reading()
            try:
                reply = await asyncio.wait_for(future, self.reply_timeout_s)
            finally:
                connection.replies.pop(request_id, None)
                # Another request on this connection may still wait for its reply.
                if self._paused and not transport.is_disconnected and not connection.replies:
                    transport.underlying_transport.pause_reading()
            if not reply.ok:
                raise ConnectionError(f"{method} refused: {reply.error_code} {reply.error_msg}")

    def _rolling_over(self) -> None:
        self._rolling += 1

    def _rolled_over(self) -> None:
        self._rolling -= 1

    # -- frames --------------------------------------------------------------------------

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            # Once is enough: the frames that follow in the same read need not call again.
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _on_frame(self, connection: _Connection, payload: bytes) -> None:
        """Frames other than combined data frames: replies, raw and unusual frames."""
        try:
            decoded = self._decoder.decode(payload)
        except msgspec.DecodeError as error:
            # Raised in the picows callback it would drop the connection: raise it to the
            # consumer instead, in order, as a malformed combined frame is.
            self._push(_Refused(error))
            return
        if isinstance(decoded, Reply):
            future = connection.replies.get(decoded.id) if isinstance(decoded.id, int) else None
            if future is not None and not future.done():
                future.set_result(decoded)
            return
        stream, data = decoded
        if isinstance(data, UnknownEvent):
            self._push(data)
        elif isinstance(data, list):
            for event in data:
                self._push(_Decoded(connection.id, event, stream or ""))
        else:
            self._push(_Decoded(connection.id, data, stream or ""))

    def _settle(self, stream: str, event: MarketEvent, connection_id: int) -> None:
        verdict = self._sequencer.accept(stream, event, connection_id)
        if verdict is DELIVER:
            self._settled.append(event)
        elif isinstance(verdict, Gap):
            self._settled.append(verdict)  # the gap, then the event that revealed it
            self._settled.append(event)

    def _push(self, item: Any) -> None:
        self._buffer.append(item)
        if len(self._buffer) > self.pause_at:
            self._over_pause_at()
        self._wake()

    def _over_pause_at(self) -> None:
        if not self._paused:
            self._set_reading(False)
        buffer = self._buffer
        while len(buffer) > self.max_buffered:
            item = buffer.popleft()
            if type(item) is _From:  # not a message: what it says still holds for the head
                self._from = item.connection_id
            elif type(item) is _Lost or type(item) is _Forget:
                self._drop_marker(item)
            else:
                self._dropped += 1

    def _drop_marker(self, item: _Lost | _Forget) -> None:
        # Everything before it is gone already, so applying it now keeps the order.
        self._mark(item)

    def _set_reading(self, reading: bool) -> None:
        self._paused = not reading
        for connection in self._live.values():
            transport = connection.transport
            if transport is not None and not transport.is_disconnected:
                raw = transport.underlying_transport
                if reading:
                    raw.resume_reading()
                else:
                    raw.pause_reading()

    def _on_disconnected(self, connection: _Connection) -> None:
        if self._closed:
            return
        names = self._plans[connection.group].streams_of(connection.index)
        # In order with the frames still waiting: they were received before it ended. A
        # retired connection is reported too, or the sequencer would count it as a carrier
        # of its streams for ever and take a later real loss for a covered one.
        self._push(_Lost(names, self._clock.now_ms(), connection.id, connection.retired))

    def _mark(self, item: _Lost | _Forget) -> None:
        """Apply a marker to the sequencer, in its place among the frames."""
        if isinstance(item, _Forget):
            for name in item.names:
                self._sequencer.forget(name)
        elif item.retired:
            self._sequencer.connection_retired(item.names, item.connection_id)
        else:
            self._sequencer.connection_lost(item.names, item.at_ms, item.connection_id)

    def _status(self) -> dict[str, Any]:
        return {"connections": len(self._live), "reconnects": self.reconnects, "rollovers": self.rollovers}


class _RawConnection(_Connection):
    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.TEXT:
            payload = frame.get_payload_as_bytes()
            if payload.startswith(_COMBINED):
                owner = self.owner
                buffer = owner._buffer
                buffer.append((self.id, payload, time.time_ns()))
                if len(buffer) > owner.pause_at:
                    owner._over_pause_at()
                if owner._waiter is not None:
                    owner._wake()
                return
        super().on_ws_frame(transport, frame)


class _CombinedFrame(msgspec.Struct, frozen=True):
    stream: str
    data: msgspec.Raw


_combined_raw = msgspec.json.Decoder(_CombinedFrame)
_DATA = b'","data":'


def split_combined(frame: bytes) -> tuple[str, bytes]:
    """A combined frame's stream name and its data, byte for byte, without decoding it."""
    end = frame.find(b'"', 11)
    if end > 11 and frame.startswith(_DATA, end) and frame.endswith(b"}"):
        return frame[11:end].decode(), frame[end + len(_DATA) : -1]
    decoded = _combined_raw.decode(frame)  # spaced or reordered keys: the slow, exact way
    return decoded.stream, bytes(decoded.data)


class RawStreams(MarketStreams):
    """``MarketStreams`` that hands out each data frame's payload as received, undecoded
    and unsequenced, with its receive time: for recording and relaying.

    Connection losses come as ``StreamsLost`` items in order with the messages. During a
    24 h rollover the two connections' copies of a message are byte-identical, so the
    second copy is dropped; nothing else is deduplicated.
    """

    _connection_type = _RawConnection

    def __init__(self, url: str = BINANCE_USDM_STREAMS, **options: Any) -> None:
        super().__init__(url, **options)
        self._seen: set[bytes] | None = None  # payloads delivered during a rollover overlap
        self._drain = 0  # items still queued from before the overlap ended

    def __aiter__(self) -> RawStreams:
        return self

    async def __anext__(self) -> RawItem:  # type: ignore[override]
        buffer = self._buffer
        while True:
            while not buffer:
                if self._closed:
                    raise StopAsyncIteration
                self._waiter = asyncio.get_running_loop().create_future()
                try:
                    await self._waiter
                finally:
                    self._waiter = None
            if self._dropped:
                dropped, self._dropped = self._dropped, 0
                return Lagged(dropped)
            if self._paused and len(buffer) <= self.resume_at:
                self._set_reading(True)
            item = buffer.popleft()
            seen = self._seen
            if seen is not None and not self._rolling:
                self._drain -= 1
                if self._drain < 0:
                    self._seen = None
            if type(item) is tuple:
                _, payload, received_ns = item
                stream, data = split_combined(payload)
                if seen is not None:
                    if data in seen:
                        continue
                    seen.add(data)
                return RawMessage(stream, data, received_ns)
            if type(item) is _Lost:
                if item.retired:
                    continue
                return StreamsLost(tuple(item.names), item.at_ms)
            if type(item) is _Forget:
                continue
            if type(item) is Lagged:
                lagged: Lagged = item
                return lagged
            # a raw (uncombined) frame or an unknown payload: not ours to relay

    def _drop_marker(self, item: _Lost | _Forget) -> None:
        # No sequencer here: a dropped loss is part of what Lagged reports.
        if isinstance(item, _Lost) and not item.retired:
            self._dropped += 1

    def _rolling_over(self) -> None:
        super()._rolling_over()
        if self._seen is None:
            self._seen = set()

    def _rolled_over(self) -> None:
        super()._rolled_over()
        if not self._rolling:
            self._drain = len(self._buffer)  # the old connection's last frames are queued
