"""The stream client's connections: the asyncio shell that only moves frames.

- Streams are spread over as many connections as the per-connection cap needs (spec §2.5,
  ``ConnectionPlan``), and, against Binance itself, over its /public and /market routes
  (§2.2).
- Control messages are paced below the server's 10 per second (``Pacer``).
- A dropped or silent connection (picows pings it; no pong closes it) is reopened after a
  backoff and its streams are subscribed again.
- Before the 24 h limit (§2.4) a connection is rolled over: the new one is opened and
  subscribed first, then the old one is closed.

Every decision is a sans-I/O core's: the backlog (``backlog.py``) files frames and decides
backpressure, ``ConnectionSchedule`` says when to reconnect and roll over, ``Pacer`` when
the next control message may go. Every wait goes through the injected ``Clock``, so a test
drives a connection's day with a manual clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import msgspec
from picows import WSCloseCode, WSError, WSMsgType, ws_connect

from tickerplant.client.backlog import Backlog
from tickerplant.client.events import Reply
from tickerplant.client.listeners import StreamListener, Waker
from tickerplant.client.plan import ConnectionPlan, chunks
from tickerplant.client.schedule import ConnectionSchedule
from tickerplant.clock import Clock
from tickerplant.protocol.streams import Route, route_of

__all__ = ["StreamConnections", "SubscribeRefused"]

log = logging.getLogger("tickerplant.client")

_CONNECT_ERRORS = (OSError, WSError, TimeoutError, ConnectionError)
# How long closing a connection waits for it to be gone; picows disconnects at once, so
# this only bounds a transport that never reports it.
_CLOSE_WAIT_MS = 2000.0


class SubscribeRefused(ConnectionError):
    """The server answered a ``subscribe()``'s SUBSCRIBE with an error (spec §3.3: a name it
    cannot take, or code 4, more than its cap, after which it closes 1008): ``names`` were
    taken out of the plan, so no reconnect asks for them again and the connection's other
    streams come back."""

    def __init__(self, message: str, names: list[str]) -> None:
        super().__init__(message)
        self.names = names


class StreamConnections:
    """The connections of one stream client and the tasks that keep them."""

    def __init__(
        self,
        backlog: Backlog[Any, Any],
        waker: Waker,
        listener: type[StreamListener],
        *,
        url: str,
        routed: bool,
        max_streams_per_connection: int,
        rollover_after_s: float,
        ping_interval_s: float,
        pong_timeout_s: float,
        control_rate_per_s: float,
        control_burst: int,
        reply_timeout_s: float,
        delays: Callable[[], Iterator[float]],
        clock: Clock,
    ) -> None:
        self.backlog = backlog
        self.waker = waker
        self.listener = listener
        self.url = url
        self.routed = routed
        self.max_streams_per_connection = max_streams_per_connection
        self.rollover_after_s = rollover_after_s
        self.ping_interval_s = ping_interval_s
        self.pong_timeout_s = pong_timeout_s
        self.control_rate_per_s = control_rate_per_s
        self.control_burst = control_burst
        self.reply_timeout_s = reply_timeout_s
        self.delays = delays
        self.clock = clock
        self.plans: dict[str, ConnectionPlan] = {}
        self.live: dict[tuple[str, int], StreamListener] = {}  # (group, index) -> serving
        self._keepers: dict[tuple[str, int], asyncio.Task[None]] = {}
        # a keeper's first connection, until it is open and carries its plan (``subscribe``)
        self._first: dict[tuple[str, int], asyncio.Future[None]] = {}
        self._request_ids = itertools.count(1)
        self._connection_ids = itertools.count(1)
        self.closed = False
        self.reconnects = 0
        self.rollovers = 0

    # -- what the client asks --------------------------------------------------------

    async def subscribe(self, names: tuple[str, ...]) -> None:
        waits: list[Awaitable[None]] = []
        for group, group_names in self._by_group(names).items():
            plan = self.plans.setdefault(group, ConnectionPlan(self.max_streams_per_connection))
            for index, added in plan.add(group_names).items():
                key = (group, index)
                connection = self.live.get(key)
                if connection is not None:
                    waits.append(self._subscribe_on(group, connection, added))
                elif key not in self._keepers:
                    ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                    self._first[key] = ready
                    self._keepers[key] = asyncio.create_task(self._keep(group, index, ready))
                    waits.append(ready)
                elif (first := self._first.get(key)) is not None and not first.done():
                    # its first connection is opening: ``_open`` subscribes what the plan
                    # gained meanwhile before it is ready (a reopen's: at once, as documented)
                    waits.append(_settled(first))
        await asyncio.gather(*waits)

    async def _subscribe_on(self, group: str, connection: StreamListener, names: list[str]) -> None:
        try:
            await self._send(connection, "SUBSCRIBE", names)
        except SubscribeRefused as refusal:
            self._unplan(group, refusal.names)
            raise

    def _unplan(self, group: str, names: list[str]) -> None:
        """``names`` the server refused, out of the plan (and their backlog): never asked for
        again, at a reconnect or a rollover."""
        self.plans[group].remove(names)
        self.backlog.forget(names)
        self.waker.wake()

    async def unsubscribe(self, names: tuple[str, ...]) -> None:
        waits = []
        for group, group_names in self._by_group(names).items():
            plan = self.plans.get(group)
            if plan is None:
                continue
            for index, removed in plan.remove(group_names).items():
                connection = self.live.get((group, index))
                if connection is not None:
                    waits.append(self._send(connection, "UNSUBSCRIBE", removed))
            self.backlog.forget(group_names)
            self.waker.wake()
        await asyncio.gather(*waits)

    async def close(self) -> None:
        self.closed = True
        for task in self._keepers.values():
            task.cancel()
        for task in self._keepers.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for first in self._first.values():  # a subscribe waiting for a first connection: raised
            if not first.done():
                first.set_exception(RuntimeError("closed before its first connection was ready"))
        for connection in list(self.live.values()):
            await self._retire(connection)
        self.live.clear()
        self.waker.wake()

    def reconnect(self, names: tuple[str, ...]) -> int:
        """The connections carrying ``names`` dropped, as if the server had: their streams
        are reported lost and they reopen after the usual backoff (a consumer that found
        them silent, e.g. a relay whose upstream stalled). Returns how many were dropped."""
        dropped = 0
        for group, group_names in self._by_group(names).items():
            plan = self.plans.get(group)
            if plan is None:
                continue
            indexes = {index for name in group_names if (index := plan.connection_of(name)) is not None}
            for index in indexes:
                connection = self.live.get((group, index))
                transport = connection.transport if connection is not None else None
                if transport is not None and not transport.is_disconnected:
                    transport.disconnect()
                    dropped += 1
        return dropped

    def set_reading(self, reading: bool) -> None:
        """The backlog's decision, applied to every serving connection."""
        for connection in self.live.values():
            transport = connection.transport
            if transport is not None and not transport.is_disconnected:
                raw = transport.underlying_transport
                if reading:
                    raw.resume_reading()
                elif not connection.replies:  # else paused once the replies are in
                    raw.pause_reading()

    # -- what the listeners report ---------------------------------------------------

    def off_path(self, connection: StreamListener, payload: bytes) -> None:
        """Frames other than compact combined data frames: replies, raw, unusual frames."""
        reply = self.backlog.off_path(connection.id, payload)
        if reply is None:
            self.waker.wake()
            return
        future = connection.replies.get(reply.id) if isinstance(reply.id, int) else None
        if future is not None and not future.done():
            future.set_result(reply)

    def disconnected(self, connection: StreamListener) -> None:
        if self.closed:
            return
        names = self.plans[connection.group].streams_of(connection.index)
        # In order with the frames still waiting: they were received before it ended.
        if connection.retired:
            self.backlog.retired(names, connection.id)
        else:
            self.backlog.lost(names, self.clock.now_ms(), connection.id)
        self.waker.wake()

    # -- keeping a connection --------------------------------------------------------

    def _by_group(self, names: tuple[str, ...]) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for name in names:
            group = route_of(name).value if self.routed else Route.UNROUTED.value
            groups.setdefault(group, []).append(name)
        return groups

    async def _keep(self, group: str, index: int, ready: asyncio.Future[None]) -> None:
        """Keep connection ``index`` of ``group`` open for as long as the client is."""
        key = (group, index)
        clock = self.clock
        schedule = ConnectionSchedule(self.rollover_after_s * 1000, self.delays)
        serving: StreamListener | None = None
        lost = False  # a connection of this index was lost and is not open again yet
        while not self.closed:
            if serving is None:
                counted = self.reconnects
                try:
                    serving = await self._open(group, index, again=lost)
                except _CONNECT_ERRORS as exc:
                    log.warning("stream connection %s/%d failed: %s", group or "/", index, exc)
                    # refused (spec §3.3's codes: the same request is refused again): those
                    # names leave the plan, the rest are asked again; at the first open
                    # subscribe() raises it, at a reopen the log says which are given up
                    if isinstance(exc, SubscribeRefused):
                        self._unplan(group, exc.names)
                        if not ready.done():
                            ready.set_exception(exc)
                        else:
                            log.error("streams given up, the server refuses them: %s", exc.names)
                        if not self.plans[group].streams_of(index):  # nothing left to carry
                            del self._keepers[key]  # (a later subscribe starts another)
                            return
                    # opened and counted, then its subscribe failed: the loss is counted once
                    lost = lost and self.reconnects == counted
                    await clock.sleep_until(schedule.open_failed(clock.now_ms()))
                    continue
                lost = False
                self.live[key] = serving
                schedule.opened(serving.opened_ms)
                if not ready.done():
                    ready.set_result(None)
            await self._wait(serving.gone, schedule.rollover_due_ms)
            if serving.gone.done():
                self.live.pop(key, None)
                serving = None
                lost = True
                await clock.sleep_until(schedule.lost(clock.now_ms()))
                continue
            # Roll over before the server's 24 h limit: the successor first, then retire.
            self.backlog.overlap_began()
            try:
                successor = await self._open(group, index)
            except _CONNECT_ERRORS as exc:
                self.backlog.overlap_ended()
                log.warning("rollover of %s/%d failed, retrying: %s", group or "/", index, exc)
                schedule.rollover_failed(clock.now_ms())
                continue
            self.live[key] = successor
            try:
                await self._retire(serving)
            finally:
                self.backlog.overlap_ended()
            serving = successor
            schedule.opened(serving.opened_ms)
            self.rollovers += 1

    async def _open(self, group: str, index: int, *, again: bool = False) -> StreamListener:
        """Connection ``index`` of ``group``, open and subscribed; ``again``: one lost is
        opened again (a reconnect)."""
        connection = self.listener(self, group, index, next(self._connection_ids))
        path = f"/{group}/stream" if group else "/stream"
        transport, _ = await ws_connect(lambda: connection, self.url + path)  # its keep-alive: ours
        connection.transport = transport
        connection.opened_ms = self.clock.now_ms()
        kept = asyncio.create_task(self._keep_alive(connection))
        connection.gone.add_done_callback(lambda _: kept.cancel())
        if again:  # counted now: its first frames may be handed out while it subscribes
            self.reconnects += 1
        plan, sent = self.plans[group], set[str]()
        try:
            # what the plan holds, then what it gained or lost while the last went out (a
            # subscribe or an unsubscribe meanwhile found no live connection to send to)
            while True:
                names = plan.streams_of(index)
                added = [name for name in names if name not in sent]
                removed = sent.difference(names)
                if not added and not removed:
                    break
                if added:
                    await self._send(connection, "SUBSCRIBE", added)
                    sent.update(added)
                if removed:
                    await self._send(connection, "UNSUBSCRIBE", sorted(removed))
                    sent.difference_update(removed)
        except BaseException:
            # Never leave a half-open connection delivering; what it delivered before
            # failing ends with a loss, as for any connection that drops.
            await self._retire(connection, lost=True)
            raise
        if not sent and self.backlog.paused:
            transport.underlying_transport.pause_reading()
        return connection

    async def _keep_alive(self, connection: StreamListener) -> None:
        """A ping every ``ping_interval_s``, and the connection closed when no pong comes
        within ``pong_timeout_s`` (a server gone silent: picows' auto-ping did this), unless
        the backlog has paused reading: a pong behind unread frames cannot be read, and a
        consumer that stays behind is the server's to cut, not a reason for the client to
        drop a connection that serves (it did, every interval, losing what was in flight)."""
        clock = self.clock
        while True:
            await clock.sleep_until(clock.now_ms() + self.ping_interval_s * 1000)
            transport = connection.transport
            if transport is None or transport.is_disconnected:
                return
            if self.backlog.paused:
                continue
            connection.ponged = False
            transport.send_ping()
            await clock.sleep_until(clock.now_ms() + self.pong_timeout_s * 1000)
            if connection.ponged or self.backlog.paused or transport.is_disconnected:
                continue
            log.warning("stream connection %s/%d: no pong within %g s; closing it",
                        connection.group or "/", connection.index, self.pong_timeout_s)  # fmt: skip
            transport.disconnect()
            return

    async def _retire(self, connection: StreamListener, *, lost: bool = False) -> None:
        connection.retired = not lost
        transport = connection.transport
        if transport is not None and not transport.is_disconnected:
            transport.send_close(WSCloseCode.OK)  # picows' default, 1005, is never sent (RFC 6455 §7.4.1)
            transport.disconnect()
            await self._wait(connection.gone, self.clock.now_ms() + _CLOSE_WAIT_MS)

    async def _send(self, connection: StreamListener, method: str, names: list[str]) -> None:
        """Send ``method`` for ``names`` in paced chunks and wait for every reply."""
        clock = self.clock
        pacer = connection.pacer
        parts = chunks(names)
        for sent, chunk in enumerate(parts, 1):
            # Several senders may wait for the same slot: look again after every sleep.
            while (wait_s := pacer.delay_s(now_s := clock.now_ns() / 1e9)) > 0:
                await clock.sleep_until((now_s + wait_s) * 1000)
            transport = connection.transport
            if transport is None or transport.is_disconnected:
                raise ConnectionError("the connection closed")
            request_id = next(self._request_ids)
            future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
            connection.replies[request_id] = future
            request = {"method": method, "params": chunk, "id": request_id}
            transport.send(WSMsgType.TEXT, msgspec.json.encode(request))
            pacer.sent(clock.now_ns() / 1e9)
            # The reply queues behind data: read even while paused, or a consumer that
            # subscribes from its own loop would wait for itself.
            transport.underlying_transport.resume_reading()
            try:
                await self._wait(future, clock.now_ms() + self.reply_timeout_s * 1000)
                if not future.done():
                    raise TimeoutError(f"no reply to {method} in {self.reply_timeout_s} s")
                reply = future.result()
            finally:
                connection.replies.pop(request_id, None)
                # Another request on this connection may still wait for its reply.
                if self.backlog.paused and not transport.is_disconnected and not connection.replies:
                    transport.underlying_transport.pause_reading()
            if not reply.ok:
                said = f"{method} refused: {reply.error_code} {reply.error_msg}"
                if method != "SUBSCRIBE":
                    raise ConnectionError(said)
                # the chunks not sent after it are not asked for either (the server closes
                # 1008 after a code 4): the caller is told every name it did not get
                raise SubscribeRefused(said, [name for part in (chunk, *parts[sent:]) for name in part])

    async def _wait(self, future: asyncio.Future[Any], until_ms: float) -> None:
        """Until ``future`` is done or the clock reads ``until_ms``, whichever comes first."""
        if future.done():
            return
        if until_ms == math.inf:
            await asyncio.wait((future,))
            return
        due: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not due.done():
                due.set_result(None)

        timer = self.clock.call_at(until_ms, wake)
        try:
            await asyncio.wait((future, due), return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            due.cancel()


async def _settled(future: asyncio.Future[None]) -> None:
    """Once ``future`` is done, whatever its outcome (another caller's to raise)."""
    await asyncio.wait((future,))
