"""Fan-out the house way (ARCHITECTURE.md, "Performance rules"):

- a payload's frame is built once per message, the combined wrapper once per stream name,
  and the same bytes object is queued to every subscriber;
- routing is a dict lookup by canonical stream name: no work for streams a connection
  does not hold;
- everything queued for a connection in one loop iteration goes out in one write;
- a connection whose unsent bytes pass its bound is cut off, never waited for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

import msgspec

from tickerplant.market.plant import StreamMessage

__all__ = ["FanOut", "Sink", "control_frame", "text_frame"]


def text_frame(payload: bytes) -> bytes:
    """An unmasked, final text frame (RFC 6455 §5.2): servers never mask, so the bytes are
    the same for every client."""
    return _frame(0x81, payload)


def control_frame(opcode: int, payload: bytes = b"") -> bytes:
    return _frame(0x80 | opcode, payload[:125])  # control payloads are ≤ 125 bytes (§5.5)


def _frame(first: int, payload: bytes) -> bytes:
    size = len(payload)
    if size < 126:
        return bytes((first, size)) + payload
    if size < 65536:
        return bytes((first, 126)) + size.to_bytes(2, "big") + payload
    return bytes((first, 127)) + size.to_bytes(8, "big") + payload


def combined_prefix(name: str) -> bytes:
    return b'{"stream":' + msgspec.json.encode(name) + b',"data":'


class Sink(Protocol):
    """A connection as the fan-out sees it: a list of frames waiting for the next flush."""

    pending: list[bytes]

    def flush(self) -> None: ...


class FanOut:
    """The routing table of one listener and the per-iteration flush of its connections."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        # canonical stream -> {connection: how many of its names deliver this stream}
        self._raw: dict[str, dict[Sink, int]] = {}
        # canonical stream -> {connection: combined prefixes, one per subscribed name}
        self._combined: dict[str, dict[Sink, tuple[bytes, ...]]] = {}
        self._dirty: list[Sink] = []
        self._flush_scheduled = False

    def add(self, sink: Sink, key: str, name: str, combined: bool) -> None:
        if combined:
            table = self._combined.setdefault(key, {})
            table[sink] = (*table.get(sink, ()), combined_prefix(name))
        else:
            counts = self._raw.setdefault(key, {})
            counts[sink] = counts.get(sink, 0) + 1

    def remove(self, sink: Sink, key: str, name: str, combined: bool) -> None:
        if combined:
            table = self._combined.get(key)
            if table is None or sink not in table:
                return
            prefix = combined_prefix(name)
            left = list(table[sink])
            if prefix in left:
                left.remove(prefix)
            if left:
                table[sink] = tuple(left)
            else:
                del table[sink]
                if not table:
                    del self._combined[key]
        else:
            counts = self._raw.get(key)
            if counts is None or sink not in counts:
                return
            if counts[sink] > 1:
                counts[sink] -= 1
            else:
                del counts[sink]
                if not counts:
                    del self._raw[key]

    def publish(self, messages: Sequence[StreamMessage]) -> None:
        """Queue each message to its subscribers; the flush follows in this iteration."""
        raw_routes = self._raw
        combined_routes = self._combined
        dirty = self._dirty
        for stream, payload in messages:
            raw = raw_routes.get(stream)
            if raw:
                frame = text_frame(payload)
                for sink, count in raw.items():
                    pending = sink.pending
                    if not pending:
                        dirty.append(sink)
                    pending.append(frame)
                    if count > 1:
                        pending.extend([frame] * (count - 1))
            combined = combined_routes.get(stream)
            if combined:
                frames: dict[bytes, bytes] = {}
                for sink, prefixes in combined.items():
                    pending = sink.pending
                    if not pending:
                        dirty.append(sink)
                    for prefix in prefixes:
                        wrapped = frames.get(prefix)
                        if wrapped is None:
                            wrapped = frames[prefix] = text_frame(prefix + payload + b"}")
                        pending.append(wrapped)
        if dirty and not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def queue(self, sink: Sink, frame: bytes) -> None:
        """Queue a frame for one connection (replies, pings), in order with its data."""
        if not sink.pending:
            self._dirty.append(sink)
        sink.pending.append(frame)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        dirty, self._dirty = self._dirty, []
        for sink in dirty:
            sink.flush()
