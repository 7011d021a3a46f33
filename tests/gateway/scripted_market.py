"""A source that lists the catalogue and publishes nothing by itself: the test publishes.

With a ``ManualClock`` the gateway is then fully in the test's hands: what goes out is
what the test put on the bus, and time passes when the test moves the clock. Helpers for
the raw client's side live here too.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from conftest import StartServer
from rawws import PING, PONG, TEXT, Frame, RawWebSocket
from timing import MS, SECONDS

from tickerplant.app import Tickerplant
from tickerplant.bus import StreamMessage
from tickerplant.clock import Clock, ManualClock
from tickerplant.feeds import Prepared, Sink
from tickerplant.market.instruments import Market, catalogue

__all__ = ["MINUTE", "ScriptedMarket", "book_ticker", "publish", "round_trip", "silent"]

MINUTE = 60_000


class ScriptedMarket:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def prepare(self) -> Prepared:
        now_ms = self._clock.now_ms()
        return Prepared({market: catalogue(market, now_ms) for market in Market}, now_ms)

    async def run(self, sink: Sink) -> None:
        await asyncio.get_running_loop().create_future()  # until the server closes


def book_ticker(symbol: str, update_id: int, padding: int = 0) -> bytes:
    """A payload on a book-ticker stream (the market view keeps it undecoded)."""
    return b'{"e":"bookTicker","u":%d,"s":"%s","pad":"%s"}' % (update_id, symbol.encode(), b"x" * padding)


def publish(plant: Tickerplant, market: Market, stream: str, payload: bytes) -> None:
    plant.bus.publish(market, [StreamMessage(stream, payload)])


async def round_trip(ws: RawWebSocket, payload: bytes = b"barrier") -> list[Frame]:
    """Ping and wait for the pong: the server has handled everything sent before. Returns
    the frames that came before the pong."""
    ws.send(PING, payload)
    before = []
    while True:
        frame = await ws.recv(timeout=5 * SECONDS)
        if frame.opcode == PONG and frame.payload == payload:
            return before
        before.append(frame)


async def silent(ws: RawWebSocket) -> bool:
    """Nothing has arrived on ``ws``. Call it after a barrier on another connection that
    proves the server wrote whatever it was going to write."""
    try:
        await ws.recv(timeout=20 * MS)
    except TimeoutError:
        return True
    return False


async def first_reply(start_server: StartServer, frame: bytes) -> tuple[RawWebSocket, Any]:
    """``frame`` sent as text on a new `/ws` connection to a server on a scripted market (a
    manual clock): the connection, and the first text frame it answered, decoded."""
    clock = ManualClock()
    plant = await start_server(clock=clock, source=ScriptedMarket(clock))
    ws = await RawWebSocket.connect(plant.listeners[Market.UM].port, "/ws")
    ws.send(TEXT, frame)
    return ws, json.loads((await ws.recv_until(TEXT)).payload)
