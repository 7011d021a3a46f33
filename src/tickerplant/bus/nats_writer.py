"""How the plant's frames get into nats-py: straight into its pending writes, or, when they
cannot, through a bounded outbox and one writer task.

Publishing is synchronous for the plant (``Bus.publish`` encodes and queues): each frame
goes straight into nats-py's pending writes, its PUB line, the frame and CRLF as three
buffers, and nats-py's flusher task writes them at the loop's next turn, as after its own
``publish``. Its own ``publish`` would join the frame into one PUB command (a copy of 80 kB
a frame at the plant's max) and take a writer task's turn per frame: together a third of
the bus's cost per frame (``benchmarks/scaleout/scenario.py`` (a): 0.66-0.73 of the floor that way,
0.87-0.93 this way, in-process over the same recorded frames). It is the one place that
touches nats-py's private client state (``_DIRECT``, checked when the writer is made: a
nats-py without it publishes the public way; and ``settle``'s ``_flush_pending``). The
public way, through one writer task and a bounded outbox, is also taken while nats-py is
away (reconnecting), its pending writes are past their bound or its flusher is gone, and,
to keep the order, while frames wait there.

Bounded by design: the outbox holds at most ``limit`` bytes (``OUTBOX_LIMIT``, 256 MiB);
past it the newest frames are dropped, never the plant's memory grown, and a subscriber
sees the gap in the sequence and asks for the state.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from typing import Any

import nats.errors
from nats.aio.client import Client

__all__ = ["OUTBOX_LIMIT", "Outbox", "settle"]

log = logging.getLogger("tickerplant.bus")

# nats-py's private client state that _queue_directly writes, as its Client.publish does
# (nats/aio/client.py, 2.9-2.16: _send_command, _flush_pending)
_DIRECT = ("_pending", "_pending_data_size", "_max_pending_size", "_flush_queue", "_flusher_task", "stats")
OUTBOX_LIMIT = 256 * 1024 * 1024


async def settle(client: Client) -> None:
    """Return once the NATS server has processed everything written to ``client`` so far (a
    SUB just made is in place there, a PUB delivered to its subscribers).

    nats-py's ``flush`` writes its PING straight to the socket, ahead of the commands still
    waiting for its flusher task (nats/aio/client.py, 2.16: ``_send_ping``), so its PONG can
    come back before a SUB made just before is at the server, and a request sent then is
    told "no responders". The waiting commands are written first, then the PING follows
    them on the same socket."""
    if client.is_connected:
        await client._flush_pending(force_flush=True)
    await client.flush()


class Outbox:
    """One connection's publishing side: ``send`` in order, whatever the way."""

    def __init__(self, client: Client, limit: int = OUTBOX_LIMIT) -> None:
        self.client = client
        self.limit = limit
        self._queue: collections.deque[tuple[str, bytes, str]] = collections.deque()
        self.queued_bytes = 0  # bytes waiting in the outbox
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._writer: asyncio.Task[None] | None = None
        self.dropped = 0  # frames that could not be handed to NATS (subscribers see a gap)
        # frames into nats-py's pending writes (see the module docstring), where it has them
        self.direct = all(hasattr(client, name) for name in _DIRECT)

    def send(self, subject: str, data: bytes, reply: str = "") -> None:
        """``data`` on ``subject`` (with ``reply``, the subject to answer on: a request)."""
        if self.direct and not self._queue and self._queue_directly(subject, data, reply):
            return
        if self.queued_bytes + len(data) > self.limit:
            self._drop("the outbox is full: NATS takes less than the plant publishes")
            return  # a frame's number is spent: subscribers see the gap and resync
        self._queue.append((subject, data, reply))
        self.queued_bytes += len(data)
        self._idle.clear()
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write())
        self._wake.set()

    def _queue_directly(self, subject: str, data: bytes, reply: str = "") -> bool:
        """``data`` on ``subject`` as nats-py's ``publish`` queues it, without its copy or a
        task's turn; False when it must go the public way: nats-py away, its pending writes
        past their bound, its flusher gone, or ``data`` past NATS's limit."""
        client: Any = self.client
        size = len(data)
        limit = client._max_pending_size
        flusher = client._flusher_task
        if (
            not client.is_connected
            or (limit > 0 and client._pending_data_size + size > limit)
            or flusher is None
            or flusher.done()
            or size > client.max_payload
        ):
            return False
        if reply:
            head = b"PUB %s %s %d\r\n" % (subject.encode(), reply.encode(), size)
        else:
            head = b"PUB %s %d\r\n" % (subject.encode(), size)
        pending = client._pending
        pending.append(head)
        pending.append(data)
        pending.append(b"\r\n")
        client._pending_data_size += len(head) + size + 2
        stats = client.stats
        stats["out_msgs"] += 1
        stats["out_bytes"] += size
        kick = client._flush_queue
        if kick.empty():  # the flusher writes what is pending at its next turn
            kick.put_nowait(asyncio.get_running_loop().create_future())
        return True

    async def _write(self) -> None:
        queue, client = self._queue, self.client
        while True:
            while queue:
                subject, data, reply = queue.popleft()
                self.queued_bytes -= len(data)
                try:
                    await client.publish(subject, data, reply=reply)
                except nats.errors.Error as exc:  # away too long, or closed: the frame is lost
                    self._drop(type(exc).__name__)
            self._idle.set()
            self._wake.clear()
            await self._wake.wait()

    def _drop(self, why: str) -> None:
        self.dropped += 1
        if self.dropped & (self.dropped - 1) == 0:  # the 1st, 2nd, 4th, 8th, …
            log.warning("NATS: %d frames dropped (%s)", self.dropped, why)

    async def idle(self) -> None:
        """Return once the outbox has handed nats-py every frame sent so far."""
        await self._idle.wait()

    async def close(self) -> None:
        """Hand nats-py what is queued (briefly, while connected), then stop writing."""
        if self._writer is None:
            return
        if self.client.is_connected:
            with contextlib.suppress(TimeoutError, nats.errors.Error):
                await asyncio.wait_for(self._flushed(), 5.0)
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer

    async def _flushed(self) -> None:
        await self._idle.wait()
        await settle(self.client)
