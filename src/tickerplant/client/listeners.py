"""The stream client's WebSocket listeners: picows callbacks that file what arrives.

The frame callback is the client's hot path, a few hundred thousand calls a second: a
compact combined data frame (spec §2.3) is appended to the backlog undecoded, in the
backlog's contract inlined, and the waiting consumer woken; everything else (replies,
raw frames, unusual spacing) goes to the keeper, off the hot path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from picows import WSFrame, WSListener, WSMsgType, WSTransport

from tickerplant.client.backlog import Backlog
from tickerplant.client.combined import COMBINED_PREFIX
from tickerplant.client.events import Reply
from tickerplant.client.pacing import Pacer
from tickerplant.clock import Clock

__all__ = ["Keeper", "StampedListener", "StreamListener", "Waker"]

_TEXT = WSMsgType.TEXT
# Where a compact combined frame's leading bytes are, one slice object for every frame.
_HEAD = slice(0, len(COMBINED_PREFIX))


class Waker:
    """The consumers waiting for items, woken by whatever files some: one future they all
    wait on (a second consumer that made its own left the first waiting, starved and, after
    ``close``, for ever)."""

    __slots__ = ("waiter",)

    def __init__(self) -> None:
        self.waiter: asyncio.Future[None] | None = None  # set while a consumer waits

    async def wait(self) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            self.waiter = waiter = asyncio.get_running_loop().create_future()
        try:
            await waiter  # (not shielded: a shield costs the wake a turn of the loop)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is None or task.cancelling():
                raise  # this consumer is cancelled
            # another waiting consumer was cancelled, and the future with it: a wake for this
            # one, which looks again

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None:
            # Once is enough: the frames that follow in the same read need not call again.
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)


class Keeper(Protocol):
    """What a listener needs of the connections that keep it (``connections.StreamConnections``):
    declared here, so that the listeners do not import the module that makes them."""

    backlog: Backlog[Any, Any]
    waker: Waker
    control_rate_per_s: float
    control_burst: int
    clock: Clock

    def off_path(self, connection: StreamListener, payload: bytes) -> None: ...

    def disconnected(self, connection: StreamListener) -> None: ...


class StreamListener(WSListener):
    """One WebSocket connection: files its data frames, and what is waiting on it."""

    # The frame callback, a closure made per connection (``_filer``) and set on the
    # instance: picows looks ``on_ws_frame`` up on every frame, and finds an instance
    # attribute as it is, where a method would be bound anew each time; the closure reads
    # its cells, where ``self.…`` on a WSListener subclass is a dict lookup each.
    on_ws_frame: Callable[[WSTransport, WSFrame], None]  # type: ignore[assignment]

    def __init__(self, keeper: Keeper, group: str, index: int, connection_id: int) -> None:
        self.keeper = keeper
        self.backlog = keeper.backlog
        self.waker = keeper.waker
        self.group = group
        self.index = index
        self.id = connection_id
        self.transport: WSTransport | None = None
        self.gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.replies: dict[int, asyncio.Future[Reply]] = {}
        self.retired = False  # closed on purpose (rollover, close): nothing lost
        self.pacer = Pacer(keeper.control_rate_per_s, keeper.control_burst)
        self.opened_ms = 0
        self.ponged = False  # a pong read since the keeper's last ping (``StreamConnections._keep_alive``)
        self.on_ws_frame = self._filer()

    def _filer(self) -> Callable[[WSTransport, WSFrame], None]:
        """The frame callback: a compact combined data frame filed as it is."""
        backlog = self.backlog
        frames = backlog.frames
        append = frames.append
        waker = self.waker
        connection_id = self.id
        other_frame = self.other_frame

        def on_ws_frame(transport: WSTransport, frame: WSFrame) -> None:
            payload = frame.get_payload_as_bytes()
            if payload[_HEAD] == COMBINED_PREFIX:
                # The hot path, inlined (Backlog's contract): filed undecoded, decoded when
                # consumed. Once paused, the rest of the read still arrives here: no call
                # per frame for it unless it passes the hard bound. A data frame is known by
                # its bytes, not by ``frame.msg_type``, which picows makes an enum member of
                # on each read: a fifth of the callback. No control frame begins so (a close
                # frame begins with its code; pings are answered inside picows), and a
                # binary frame that did would be read as the JSON it holds. (A slice
                # compared costs a fifth less than ``startswith``, which parses its
                # arguments as a tuple.)
                if backlog.filing != connection_id:
                    backlog.switch(connection_id)
                append(payload)
                if len(frames) > backlog.limit:
                    backlog.over_limit()
                if waker.waiter is not None:
                    waker.wake()
                return
            other_frame(transport, frame, payload)

        return on_ws_frame

    def other_frame(self, transport: WSTransport, frame: WSFrame, payload: bytes) -> None:
        """Any frame but a compact combined data frame: replies and unusual text to the
        keeper, a close answered."""
        msg_type = frame.msg_type
        if msg_type is _TEXT:
            self.keeper.off_path(self, payload)
        elif msg_type is WSMsgType.PONG:
            self.ponged = True
        elif msg_type is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        for future in self.replies.values():
            if not future.done():
                future.set_exception(ConnectionError("the connection closed"))
        if not self.gone.done():
            self.gone.set_result(None)
        self.keeper.disconnected(self)


class StampedListener(StreamListener):
    """``RawStreams``' connection: each data frame is filed with the time it was read."""

    def _filer(self) -> Callable[[WSTransport, WSFrame], None]:
        backlog = self.backlog
        frames = backlog.frames
        append = frames.append
        waker = self.waker
        connection_id = self.id
        other_frame = self.other_frame
        now_ns = self.keeper.clock.now_ns

        def on_ws_frame(transport: WSTransport, frame: WSFrame) -> None:
            payload = frame.get_payload_as_bytes()
            if payload[_HEAD] == COMBINED_PREFIX:  # known by its bytes, as in StreamListener
                if backlog.filing != connection_id:
                    backlog.switch(connection_id)
                append((payload, now_ns()))
                if len(frames) > backlog.limit:
                    backlog.over_limit()
                if waker.waiter is not None:
                    waker.wake()
                return
            other_frame(transport, frame, payload)

        return on_ws_frame
