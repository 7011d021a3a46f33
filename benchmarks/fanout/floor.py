"""The fan-out benchmark's floor: a bare uvloop ``asyncio.Protocol`` server that does the
WebSocket handshake itself and, once per loop iteration, builds K real bookTicker frames with a
fresh ``E`` and writes them to every connection in ONE ``transport.write`` (the house rule of
ARCHITECTURE.md); flat out, or paced to a given delivered rate."""

from __future__ import annotations

import asyncio
import time
from multiprocessing.connection import Connection
from typing import Any, cast

from ..harness.commands import serve
from ..harness.processes import HOST
from .clients import ws_accept

# The floor skips a batch to a connection whose user-space send buffer is past this, as the
# server closes a client that stops reading (a bounded per-connection buffer).
FLOOR_BUFFER_LIMIT = 256 * 1024

# (symbol, pair, price in units of 10^-decimals, decimals, quantity) of the payloads.
CM_SYMBOLS = (
    ("BTCUSD_PERP", "BTCUSD", 95481, 1, 52),
    ("ETHUSD_PERP", "ETHUSD", 33265, 2, 310),
    ("BNBUSD_PERP", "BNBUSD", 61230, 3, 14),
    ("SOLUSD_PERP", "SOLUSD", 18342, 3, 77),
    ("XRPUSD_PERP", "XRPUSD", 21093, 4, 1203),
    ("BTCUSD_260327", "BTCUSD", 96122, 1, 8),
    ("ETHUSD_260327", "ETHUSD", 33517, 2, 41),
    ("ADAUSD_PERP", "ADAUSD", 6542, 5, 880),
)
UM_SYMBOLS = (
    ("BTCUSDT", "", 830916, 1, 4215),
    ("ETHUSDT", "", 312145, 2, 23871),
    ("BNBUSDT", "", 61234, 2, 1732),
    ("SOLUSDT", "", 183420, 3, 90211),
    ("XRPUSDT", "", 21093, 4, 512330),
    ("DOGEUSDT", "", 165432, 6, 1203345),
)


def frame(payload: bytes) -> bytes:
    """An unmasked FIN text frame (RFC 6455 §5.2)."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return b"\x81\x7e" + n.to_bytes(2, "big") + payload
    return b"\x81\x7f" + n.to_bytes(8, "big") + payload


class Payloads:
    """Real bookTicker payloads with Binance's key order, one fresh object per message."""

    def __init__(self, market: str):
        self.cm = market == "cm"
        self.symbols = CM_SYMBOLS if self.cm else UM_SYMBOLS
        self.u = 17_242_169
        self.i = 0

    def make(self, event_ms: int) -> bytes:
        self.u += 1
        self.i += 1
        symbol, pair, price, decimals, qty = self.symbols[self.i % len(self.symbols)]
        wobble = self.i % 7
        bid = price * 10 + wobble
        scale = 10 ** (decimals + 1)
        b = f"{bid // scale}.{bid % scale:0{decimals + 1}d}"
        a = f"{(bid + 3) // scale}.{(bid + 3) % scale:0{decimals + 1}d}"
        if self.cm:
            return (
                f'{{"e":"bookTicker","u":{self.u},"s":"{symbol}","ps":"{pair}","b":"{b}",'
                f'"B":"{qty + wobble}","a":"{a}","A":"{qty // 3 + wobble}",'
                f'"T":{event_ms - 1},"E":{event_ms}}}'
            ).encode()
        return (
            f'{{"e":"bookTicker","u":{self.u},"s":"{symbol}","b":"{b}","B":"{qty + wobble}",'
            f'"a":"{a}","A":"{qty // 3 + wobble}","T":{event_ms - 1},"E":{event_ms}}}'
        ).encode()


class FloorConn(asyncio.Protocol):
    """Server side of one floor connection: the HTTP 101 handshake, then only writes."""

    def __init__(self, floor: Floor):
        self.floor = floor
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.upgraded = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        if self.upgraded:
            return  # clients send only PONGs (and CLOSE); nothing to do with them here
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        assert self.transport is not None
        key = b""
        for line in self.buf[:end].split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"sec-websocket-key":
                key = value.strip()
        if not key:
            self.transport.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            self.transport.close()
            return
        self.transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + ws_accept(key) + b"\r\n\r\n"
        )
        self.upgraded = True
        self.buf = b""
        self.floor.transports.add(self.transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.floor.transports.discard(self.transport)


class Floor:
    """K fresh frames per loop iteration, one joined write per connection."""

    def __init__(self, loop: asyncio.AbstractEventLoop, market: str, batch: int):
        self.loop = loop
        self.payloads = Payloads(market)
        self.batch = batch
        self.transports: set[asyncio.Transport] = set()
        self.interval: float | None = None  # None: as fast as possible
        self.next_at = 0.0
        self.handle: asyncio.Handle | None = None
        self.generation = 0
        self.dropped = 0

    def run(self, rate: float | None) -> None:
        """Produce at `rate` delivered msg/s (summed over connections), or flat out."""
        if self.handle is not None:
            self.handle.cancel()
        self.generation += 1
        if rate is None:
            self.interval = None
        else:
            self.interval = self.batch * max(1, len(self.transports)) / rate
        self.next_at = self.loop.time()
        self.handle = self.loop.call_soon(self.tick, self.generation)

    def pause(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
        self.generation += 1

    def tick(self, generation: int) -> None:
        if generation != self.generation:
            return
        event_ms = time.time_ns() // 1_000_000
        make = self.payloads.make
        data = b"".join([frame(make(event_ms)) for _ in range(self.batch)])
        limit = FLOOR_BUFFER_LIMIT
        for t in tuple(self.transports):
            if t.get_write_buffer_size() > limit:
                # Outrunning the clients: skip this batch for this connection rather than
                # drop it, so the floor's delivered rate is what the clients can take.
                self.dropped += 1
                continue
            t.write(data)
        if self.interval is None:
            self.handle = self.loop.call_soon(self.tick, generation)
        else:
            self.next_at += self.interval
            now = self.loop.time()
            if self.next_at < now - 0.05:
                self.next_at = now  # far behind: do not burst to catch up
            # libuv timers have 1 ms resolution: a late tick is made up by the next one
            # running at once, so the mean rate holds with K messages per iteration.
            self.handle = self.loop.call_at(self.next_at, self.tick, generation)


async def floor_async(conn: Connection, market: str, batch: int, life_s: float) -> None:
    loop = asyncio.get_running_loop()
    floor = Floor(loop, market, batch)
    server = await loop.create_server(lambda: FloorConn(floor), HOST, 0, backlog=4096)
    conn.send(("port", server.sockets[0].getsockname()[1]))

    def status() -> dict[str, Any]:
        return {"connections": len(floor.transports), "dropped": floor.dropped}

    try:
        await serve(conn, {"run": floor.run, "pause": floor.pause, "status": status}, life_s)
    finally:
        floor.pause()
        server.close()
        for t in tuple(floor.transports):
            t.abort()
        await asyncio.sleep(0)
