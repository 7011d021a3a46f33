"""``MarketStreams.reconnects`` counts a connection opened again before anything it carries is
handed out: a server may send a stream's first events before its reply to SUBSCRIBE (the
client waits for the reply), and a consumer that reads the reconnect's ``Gap`` and the
events after it must find it counted. Against a scripted server (``websockets``) that drops
the first connection and, on the second, sends an event, then holds its reply."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets
from collecting import collect_until
from timing import SECONDS, eventually

from tickerplant.client.events import BookTicker
from tickerplant.client.sequencing import Gap
from tickerplant.client.streams import MarketStreams

STREAM = "btcusdt@bookTicker"


def _book(u: int) -> str:
    data = {"e": "bookTicker", "u": u, "s": "BTCUSDT", "b": "1.0", "B": "1", "a": "2.0", "A": "1", "T": u, "E": u}
    return json.dumps({"stream": STREAM, "data": data})


async def test_a_reconnect_is_counted_before_its_first_events_are_handed_out() -> None:
    opened: list[Any] = []
    reply_held = asyncio.Event()

    async def script(ws: Any) -> None:
        opened.append(ws)
        request = json.loads(await ws.recv())
        if len(opened) == 1:  # the first: subscribed, one event, then dropped
            await ws.send(json.dumps({"result": None, "id": request["id"]}))
            await ws.send(_book(1))
            await ws.close()
            return
        await ws.send(_book(2))  # the second: an event first, its reply held back
        await reply_held.wait()
        await ws.send(json.dumps({"result": None, "id": request["id"]}))
        await ws.wait_closed()

    async with websockets.serve(script, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        streams = MarketStreams(f"ws://127.0.0.1:{port}", delays=lambda: iter([0.01] * 100))
        async with streams:
            subscribing = asyncio.ensure_future(streams.subscribe(STREAM))

            def resumed(items: list[Any]) -> bool:
                gaps = [n for n, i in enumerate(items) if isinstance(i, Gap)]
                return bool(gaps) and any(isinstance(i, BookTicker) for i in items[gaps[0] + 1 :])

            try:
                await collect_until(streams, resumed, 10 * SECONDS)
                counted = streams.reconnects  # while the second connection waits for its reply
            finally:
                reply_held.set()
            await subscribing
    assert counted == 1


async def test_a_loss_is_one_reconnect_however_many_opens_it_takes() -> None:
    # After the drop, two connections are opened that close before they answer the
    # SUBSCRIBE (1013, "Try again later"), then one that serves: one connection lost and
    # opened again, one reconnect. (A SUBSCRIBE refused is no failure to retry: the names
    # leave the plan, ``test_streams_client.py``.)
    opened: list[Any] = []

    async def script(ws: Any) -> None:
        opened.append(ws)
        request = json.loads(await ws.recv())
        if len(opened) in (2, 3):
            await ws.close(1013, "Try again later")
            return
        await ws.send(json.dumps({"result": None, "id": request["id"]}))
        await ws.send(_book(len(opened)))
        if len(opened) == 1:
            await ws.close()
            return
        await ws.wait_closed()

    async with websockets.serve(script, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        streams = MarketStreams(f"ws://127.0.0.1:{port}", delays=lambda: iter([0.01] * 100))
        async with streams:
            await streams.subscribe(STREAM)

            def resumed(items: list[Any]) -> bool:
                gaps = [n for n, i in enumerate(items) if isinstance(i, Gap)]
                return bool(gaps) and any(isinstance(i, BookTicker) for i in items[gaps[0] + 1 :])

            await collect_until(streams, resumed, 10 * SECONDS)
            assert len(opened) == 4
            assert streams.reconnects == 1


async def test_a_server_that_drops_each_connection_at_once_gets_growing_waits() -> None:
    """Each connection is taken, subscribed and closed 1013 ("Try again later") at once: the
    reconnect delays go on growing across the opens (one sequence, drawn in turn), never
    started afresh by a connection that did not hold (spec §2.5: an IP closed repeatedly may
    be banned)."""
    opened: list[Any] = []
    sequences: list[list[float]] = []  # each fresh start of the delays, and what it gave

    def delays() -> Any:
        drawn: list[float] = []
        sequences.append(drawn)

        def draws() -> Any:
            for n in range(1000):
                drawn.append(0.001 * (n + 1))
                yield 0.001 * (n + 1)

        return draws()

    async def script(ws: Any) -> None:
        opened.append(ws)
        request = json.loads(await ws.recv())
        await ws.send(json.dumps({"result": None, "id": request["id"]}))
        await ws.close(1013, "Try again later")

    async with websockets.serve(script, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with MarketStreams(f"ws://127.0.0.1:{port}", delays=delays) as streams:
            await streams.subscribe(STREAM)
            await eventually(lambda: len(opened) >= 5, 10 * SECONDS)
    assert len(sequences) == 1  # one sequence for the connection's whole life
    assert sequences[0][:4] == [0.001, 0.002, 0.003, 0.004]
