"""MarketStreams: Binance market streams that keep themselves alive and never lose an
update silently; RawStreams: the same connections, each payload byte for byte.

Each is a thin composition:

- ``StreamConnections`` (``connections.py``), the asyncio shell: connections opened,
  subscribed, paced, kept alive, reconnected and rolled over, frames filed as they arrive;
- a sans-I/O core holding what arrived until it is consumed, with backpressure and a
  bound on memory: ``Delivery`` (``delivery.py``), which decodes and sequences, so that
  what could not be delivered is said as a ``Gap`` item; or ``RawDelivery``
  (``raw_delivery.py``), which hands out payloads as received.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, Generic, TypeVar

from tickerplant.client.backlog import MAX_BUFFERED, PAUSE_AT, RESUME_AT, Backlog, Lagged
from tickerplant.client.backoff import backoff
from tickerplant.client.combined import split_combined
from tickerplant.client.connections import StreamConnections
from tickerplant.client.delivery import Delivery, StreamItem
from tickerplant.client.listeners import StampedListener, StreamListener, Waker
from tickerplant.client.raw_delivery import RawDelivery, RawItem, RawMessage, StreamsLost
from tickerplant.clock import Clock, SystemClock
from tickerplant.market.instruments import Market
from tickerplant.protocol.endpoints import BINANCE_STREAMS

__all__ = [
    "BINANCE_COINM_STREAMS",
    "BINANCE_USDM_STREAMS",
    "TURN_EVERY",
    "Lagged",
    "MarketStreams",
    "RawItem",
    "RawMessage",
    "RawStreams",
    "StreamItem",
    "StreamsLost",
    "split_combined",
]

BINANCE_USDM_STREAMS = BINANCE_STREAMS[Market.UM]
BINANCE_COINM_STREAMS = BINANCE_STREAMS[Market.CM]
# Items handed out between turns given to the event loop when they are all ready: ~1 ms
# of a consumer's ``async for`` at a million items a second.
TURN_EVERY = 1024

T = TypeVar("T")


class _Streams(Generic[T]):
    """What both clients share: subscriptions, connections, the consumer's iteration."""

    def __init__(
        self,
        backlog: Backlog[Any, T],
        listener: type[StreamListener],
        url: str,
        *,
        routed: bool | None,
        max_streams_per_connection: int,
        rollover_after_s: float,
        ping_interval_s: float,
        pong_timeout_s: float,
        control_rate_per_s: float,
        control_burst: int,
        reply_timeout_s: float,
        delays: Callable[[], Iterator[float]],
        clock: Clock | None,
    ) -> None:
        self.url = url.rstrip("/")
        # Binance splits USDⓈ-M streams by route (§2.2); COIN-M and tickerplant need not
        self.routed = routed if routed is not None else url.startswith(BINANCE_USDM_STREAMS)
        self._backlog = backlog
        self._ready: deque[T] = backlog.ready
        self._handed = 0  # items handed out straight from the ready queue (TURN_EVERY)
        self._waker = Waker()
        self._connections = StreamConnections(
            backlog,
            self._waker,
            listener,
            url=self.url,
            routed=self.routed,
            max_streams_per_connection=max_streams_per_connection,
            rollover_after_s=rollover_after_s,
            ping_interval_s=ping_interval_s,
            pong_timeout_s=pong_timeout_s,
            control_rate_per_s=control_rate_per_s,
            control_burst=control_burst,
            reply_timeout_s=reply_timeout_s,
            delays=delays,
            clock=clock or SystemClock(),
        )

    async def __aenter__(self: _S) -> _S:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __aiter__(self: _S) -> _S:
        return self

    async def __anext__(self) -> T:
        # Once per item: everything else is done a batch at a time by the backlog's settle.
        # An item ready is the common case, and a try costs nothing until it raises.
        try:
            item = self._ready.popleft()
        except IndexError:
            pass
        else:
            # A consumer behind by tens of thousands of items would otherwise hold the loop
            # until it caught up (seconds: no reads, pings or timers of anybody meanwhile):
            # a turn for the loop every TURN_EVERY items, ~1 ms of handing out.
            self._handed = handed = self._handed + 1
            if not handed % TURN_EVERY:
                await asyncio.sleep(0)
            return item
        ready = self._ready
        while not ready:
            backlog = self._backlog
            if not backlog.pending:
                if self._connections.closed:
                    raise StopAsyncIteration
                await self._waker.wait()
                continue
            backlog.settle()
        return ready.popleft()

    @property
    def connections(self) -> int:
        """How many connections serve now."""
        return len(self._connections.live)

    @property
    def reconnects(self) -> int:
        """How many times a connection was lost and opened again."""
        return self._connections.reconnects

    @property
    def rollovers(self) -> int:
        """How many connections were replaced before the server's 24 h limit."""
        return self._connections.rollovers

    async def subscribe(self, *names: str) -> None:
        """Subscribe ``names`` (stream names as Binance spells them); returns once every
        connection carrying them has acknowledged."""
        if self._connections.closed:
            raise RuntimeError(f"subscribe on a closed {type(self).__name__}")
        _check_names(names)
        await self._connections.subscribe(names)

    async def unsubscribe(self, *names: str) -> None:
        _check_names(names)  # (a list or a number was taken, and failed on the way or did nothing)
        await self._connections.unsubscribe(names)

    def reconnect(self, *names: str) -> int:
        """Drop the connections carrying ``names`` as if the server had (their loss is
        reported as any other) and open them again after the usual backoff: for a consumer
        that knows a stream should have delivered by now. Returns how many were dropped."""
        return self._connections.reconnect(names)

    async def close(self) -> None:
        await self._connections.close()

    def _reading(self, reading: bool) -> None:
        self._connections.set_reading(reading)


def _check_names(names: tuple[object, ...]) -> None:
    if not all(isinstance(name, str) and name for name in names):  # no server takes one
        raise TypeError(f"stream names are non-empty strings, not {names!r}")


_S = TypeVar("_S", bound=_Streams[Any])


class MarketStreams(_Streams[StreamItem]):
    """``async with MarketStreams(url) as streams: await streams.subscribe(…); async for item in streams``

    ``url`` is the stream host, e.g. ``ws://127.0.0.1:8765`` for tickerplant or
    ``wss://fstream.binance.com`` (the default); ``routed`` sends each stream to Binance's
    /public or /market path (on by default for Binance's USDⓈ-M host).

    Backpressure: past ``pause_at`` undelivered items the connections stop reading (the
    server then buffers, and cuts off a client that stays behind, as Binance does); below
    ``resume_at`` they read again. ``max_buffered`` is the hard bound: past it the oldest
    are dropped and reported as a ``Lagged`` item.
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
        pause_at: int = PAUSE_AT,
        resume_at: int = RESUME_AT,
        max_buffered: int = MAX_BUFFERED,
        delays: Callable[[], Iterator[float]] = backoff,
        clock: Clock | None = None,
        report_losses: bool = False,
    ) -> None:
        delivery = Delivery(
            numbers=numbers,
            pause_at=pause_at,
            resume_at=resume_at,
            max_buffered=max_buffered,
            reading=self._reading,
            report_losses=report_losses,
        )
        super().__init__(
            delivery,
            StreamListener,
            url,
            routed=routed,
            max_streams_per_connection=max_streams_per_connection,
            rollover_after_s=rollover_after_s,
            ping_interval_s=ping_interval_s,
            pong_timeout_s=pong_timeout_s,
            control_rate_per_s=control_rate_per_s,
            control_burst=control_burst,
            reply_timeout_s=reply_timeout_s,
            delays=delays,
            clock=clock,
        )


class RawStreams(_Streams[RawItem]):
    """``MarketStreams``' connections handing out each data frame's payload as received,
    undecoded and unsequenced, with its receive time: for recording and relaying.

    Takes ``MarketStreams``' keywords (``numbers`` has no effect). Connection losses come
    as ``StreamsLost`` items in order with the messages. During a 24 h rollover the two
    connections' copies of a message are byte-identical, so the second copy is dropped;
    nothing else is deduplicated.
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
        pause_at: int = PAUSE_AT,
        resume_at: int = RESUME_AT,
        max_buffered: int = MAX_BUFFERED,
        delays: Callable[[], Iterator[float]] = backoff,
        clock: Clock | None = None,
    ) -> None:
        self._delivery = delivery = RawDelivery(
            pause_at=pause_at, resume_at=resume_at, max_buffered=max_buffered, reading=self._reading
        )
        super().__init__(
            delivery,
            StampedListener,
            url,
            routed=routed,
            max_streams_per_connection=max_streams_per_connection,
            rollover_after_s=rollover_after_s,
            ping_interval_s=ping_interval_s,
            pong_timeout_s=pong_timeout_s,
            control_rate_per_s=control_rate_per_s,
            control_burst=control_burst,
            reply_timeout_s=reply_timeout_s,
            delays=delays,
            clock=clock,
        )

    @property
    def passed_over(self) -> tuple[int, bytes]:
        """The frames handed out neither as a payload nor as a reply (not the compact combined
        form, §2.3: raw or unusually spaced frames, frames that are not JSON) since it was
        made, and the start of the last one."""
        return self._delivery.passed_over, self._delivery.last_passed_over
