"""The client benchmark's consumers, one per client library: how each connects, subscribes the
same names ``copies`` times in one process, counts what reaches user code as typed objects, and
closes. All run on uvloop in the consumer process (`client_consumer`).

* reference: picows listeners counting TEXT frames, decoding nothing: what the server offers;
* tickerplant: ``tickerplant.client.streams.MarketStreams`` (``routed=True``), counting the
  ``BookTicker`` Structs its ``async for`` yields; ``Lagged`` items (the client dropped what it
  could not buffer) are counted apart and never as delivered;
* python-binance: ``BinanceSocketManager.futures_multiplex_socket(names, category="public")``,
  counting the dicts its ``recv()`` returns;
* the official SDK (``binance-sdk-derivatives-trading-usds-futures``):
  ``websocket_streams.individual_symbol_book_ticker_streams(symbol=…)`` for each symbol,
  counting the callbacks, each given a pydantic model.
"""

from __future__ import annotations

import asyncio
import functools
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

KINDS = ("reference", "tickerplant", "tickerplant-decimal", "python-binance", "sdk")


@dataclass(frozen=True)
class ConsumerSpec:
    kind: str
    url: str  # ws://host:um-port, no path
    symbols: tuple[str, ...]  # lowercase
    copies: int
    pybinance_queue: int
    setup_timeout_s: float
    life_s: float  # hard limit on the process's life

    @property
    def names(self) -> list[str]:
        return [f"{s}@bookTicker" for s in self.symbols]


class Tally:
    """What the consumer process counts; `n` is delivered typed objects, nothing else."""

    __slots__ = ("errors", "lagged", "n", "other")

    def __init__(self) -> None:
        self.n = 0
        self.lagged = 0  # items MarketStreams dropped (reported by its Lagged items)
        self.other: Counter[str] = Counter()  # items that are not a bookTicker (Gap, ...)
        self.errors: Counter[str] = Counter()


@dataclass
class Running:
    """A consumer that is up: how to describe it and how to stop it."""

    teardown: Callable[[], Awaitable[None]]
    status: Callable[[], dict[str, Any]] = dict


async def _gather_or_cancel(aws: list[Awaitable[Any]]) -> list[Any]:
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for t in tasks:
            t.cancel()
        raise


async def setup_reference(spec: ConsumerSpec, tally: Tally) -> Running:
    """picows, one listener per copy, counting TEXT frames: what the server offers."""
    import picows
    from picows import WSFrame, WSListener, WSMsgType, WSTransport

    class Counting(WSListener):
        def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
            if frame.msg_type is WSMsgType.TEXT:
                tally.n += 1
            elif frame.msg_type is WSMsgType.CLOSE:
                tally.errors[f"closed by the server: {frame.get_close_code()}"] += 1
                transport.disconnect()

    url = f"{spec.url}/public/stream?streams=" + "/".join(spec.names)
    opened = await _gather_or_cancel([picows.ws_connect(Counting, url) for _ in range(spec.copies)])
    transports = [t for t, _ in opened]

    async def teardown() -> None:
        for t in transports:
            t.disconnect(False)
        await asyncio.sleep(0)

    return Running(teardown)


async def setup_tickerplant(spec: ConsumerSpec, tally: Tally, numbers: type[Any] = str) -> Running:
    from tickerplant.client.events import BookTicker
    from tickerplant.client.streams import Lagged, MarketStreams

    clients = [MarketStreams(spec.url, routed=True, numbers=numbers) for _ in range(spec.copies)]
    tasks: list[asyncio.Task[None]] = []

    async def consume(streams: MarketStreams) -> None:
        async for item in streams:
            if type(item) is BookTicker:
                tally.n += 1
            elif type(item) is Lagged:
                tally.lagged += item.dropped
            else:
                tally.other[type(item).__name__] += 1

    async def teardown() -> None:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)

    async def start(streams: MarketStreams) -> None:
        await streams.subscribe(*spec.names)
        tasks.append(asyncio.create_task(consume(streams)))  # at once: nothing piles up

    try:
        await _gather_or_cancel([start(c) for c in clients])
    except BaseException:
        await teardown()
        raise

    def status() -> dict[str, Any]:
        return {
            "connections": sum(c.connections for c in clients),
            "reconnects": sum(c.reconnects for c in clients),
        }

    return Running(teardown, status)


async def setup_pybinance(spec: ConsumerSpec, tally: Tally) -> Running:
    """``AsyncClient()`` does no I/O (``AsyncClient.create()`` would ping spot first); the socket
    manager's ``FSTREAM_URL`` is the server, with the trailing "/" it needs. The streams are
    in the URL (``/public/stream?streams=a/b/...``); python-binance sends no SUBSCRIBE."""
    from binance import AsyncClient, BinanceSocketManager
    from binance.exceptions import ReadLoopClosed

    client = AsyncClient()
    client.FUTURES_URL = f"{spec.url.replace('ws://', 'http://')}/fapi"
    sockets = []
    for _ in range(spec.copies):
        # One manager per copy: a manager hands out one socket per stream path.
        manager = BinanceSocketManager(client, max_queue_size=spec.pybinance_queue)
        manager.FSTREAM_URL = f"{spec.url}/"
        sockets.append(manager.futures_multiplex_socket(spec.names, category="public"))
    tasks: list[asyncio.Task[None]] = []

    async def consume(sock: Any) -> None:
        while True:
            try:
                msg = await sock.recv()
            except ReadLoopClosed:
                # Its read loop queued the cause as a message, which recv() no longer returns.
                cause = "cause unknown"
                while not sock._queue.empty():
                    left = sock._queue.get_nowait()
                    if isinstance(left, dict) and left.get("e") == "error":
                        cause = f"{left.get('type')}: {left.get('m')}"
                tally.errors[f"socket read loop ended ({cause})"[:160]] += 1
                return
            if "data" in msg:
                tally.n += 1
            elif msg.get("e") == "error":  # python-binance queues its failures as messages
                tally.errors[f"{msg.get('type')}: {msg.get('m')}"[:160]] += 1
            else:
                tally.other[str(msg)[:60]] += 1

    async def teardown() -> None:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*(s.__aexit__(None, None, None) for s in sockets), return_exceptions=True)
        await client.close_connection()

    try:
        await _gather_or_cancel([sock.__aenter__() for sock in sockets])
    except BaseException:
        await teardown()
        raise
    tasks.extend(asyncio.create_task(consume(s)) for s in sockets)

    def status() -> dict[str, Any]:
        return {
            "sockets reading": sum(1 for s in sockets if s._handle_read_loop),
            "queued": sum(s._queue.qsize() for s in sockets),
        }

    return Running(teardown, status)


async def setup_sdk(spec: ConsumerSpec, tally: Tally) -> Running:
    """The SDK appends ``/stream`` to ``stream_url`` and opens ``/market``, ``/public`` and
    ``/private`` connections at once; bookTicker is subscribed on ``/public``. Each stream method
    sleeps 0.5 s before its SUBSCRIBE, and callbacks are attached after it returns."""
    from binance_common.configuration import ConfigurationWebSocketStreams
    from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
        DerivativesTradingUsdsFutures,
    )

    clients = [
        DerivativesTradingUsdsFutures(
            config_ws_streams=ConfigurationWebSocketStreams(stream_url=spec.url, reconnect_delay=500)
        )
        for _ in range(spec.copies)
    ]

    def on_message(_model: Any) -> None:
        tally.n += 1

    async def subscribe(client: DerivativesTradingUsdsFutures) -> None:
        streams = client.websocket_streams
        await streams.create_connection()
        # The SDK sleeps 0.5 s before each SUBSCRIBE: all symbols at once, not one by one.
        handles = await _gather_or_cancel(
            [streams.individual_symbol_book_ticker_streams(symbol=s) for s in spec.symbols]
        )
        for h in handles:
            h.on("message", on_message)

    async def teardown() -> None:
        await asyncio.gather(
            *(c.websocket_streams.close_connection(close_session=True) for c in clients),
            return_exceptions=True,
        )

    try:
        await _gather_or_cancel([subscribe(c) for c in clients])
    except BaseException:
        await teardown()
        raise

    def status() -> dict[str, Any]:
        return {"connections": sum(len(c.websocket_streams.connections) for c in clients)}

    return Running(teardown, status)


SETUPS: dict[str, Callable[[ConsumerSpec, Tally], Awaitable[Running]]] = {
    "reference": setup_reference,
    "tickerplant": setup_tickerplant,
    "tickerplant-decimal": functools.partial(setup_tickerplant, numbers=Decimal),
    "python-binance": setup_pybinance,
    "sdk": setup_sdk,
}
