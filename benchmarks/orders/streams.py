"""The orders benchmark's WebSocket parts: the user data stream, whose
``ORDER_TRADE_UPDATE`` (``x`` ``NEW``) of an order is timed from the moment its request was
sent; and the WebSocket API, whose ``order.place`` is timed to its response, as REST's
request is to its acknowledgement.

Both on picows over uvloop, in the client process (CPU 1): a listen key per watched account
(``POST /fapi/v1/listenKey``), one connection each on ``/ws/<listenKey>``; the WebSocket API
requests signed as part 1 §8.3 says (HMAC-SHA256 over the params sorted by name)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any, cast

import picows
from picows import WSFrame, WSListener, WSMsgType, WSTransport

from tickerplant.venue.auth.signing import hmac_hex

from ..harness.processes import HOST

__all__ = ["ApiConnection", "UserStreams", "listen_keys", "ws_order_params"]


async def listen_keys(port: int, keys: list[str]) -> list[str]:
    """A listen key for each API key (``POST /fapi/v1/listenKey``: the key header alone)."""
    made = []
    for key in keys:
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(
            f"POST /fapi/v1/listenKey HTTP/1.1\r\nHost: {HOST}\r\nX-MBX-APIKEY: {key}\r\n"
            "Content-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )
        answer = await reader.read()
        writer.close()
        made.append(json.loads(answer.split(b"\r\n\r\n", 1)[1])["listenKey"])
    return made


class _Events(WSListener):
    """One listen key's connection: the time each order's ``NEW`` event came, by its id."""

    def __init__(self, seen: dict[str, float]) -> None:
        self.seen = seen

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            return
        now = time.perf_counter()
        payload = frame.get_payload_as_bytes()
        if b'"ORDER_TRADE_UPDATE"' in payload and b'"x":"NEW"' in payload:
            order = json.loads(payload)["o"]
            self.seen[order["c"]] = now


class UserStreams:
    """Every watched account's user data stream, and when each order's ``NEW`` came."""

    def __init__(self) -> None:
        self.seen: dict[str, float] = {}  # clientOrderId -> perf_counter at its event
        self.transports: list[WSTransport] = []

    async def open(self, port: int, keys: list[str]) -> None:
        for listen_key in keys:
            url = f"ws://{HOST}:{port}/ws/{listen_key}"
            transport, _ = await picows.ws_connect(lambda: _Events(self.seen), url)
            self.transports.append(transport)

    def close(self) -> None:
        for transport in self.transports:
            transport.disconnect()


def ws_order_params(api_key: str, secret: str, params: dict[str, str]) -> dict[str, str]:
    """``params`` with ``apiKey``, ``timestamp`` and their signature (part 1 §8.3)."""
    signed = params | {"apiKey": api_key, "timestamp": str(int(time.time() * 1000))}
    payload = "&".join(f"{k}={v}" for k, v in sorted(signed.items()))
    return signed | {"signature": hmac_hex(secret, payload.encode())}


class ApiConnection(WSListener):
    """One WebSocket API connection, a request at a time: ``ask`` sends one and waits."""

    def __init__(self) -> None:
        self.transport: WSTransport | None = None
        self.waiter: asyncio.Future[bytes] | None = None
        self.next_id = 0

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.TEXT and self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(frame.get_payload_as_bytes())

    async def ask(self, method: str, params: dict[str, str]) -> bytes:
        self.next_id += 1
        self.waiter = asyncio.get_running_loop().create_future()
        assert self.transport is not None
        request = json.dumps({"id": self.next_id, "method": method, "params": params}).encode()
        self.transport.send(WSMsgType.TEXT, request)
        return await self.waiter

    @staticmethod
    async def connect(port: int, count: int) -> list[ApiConnection]:
        url = f"ws://{HOST}:{port}/ws-fapi/v1"
        made: list[ApiConnection] = []
        for _ in range(count):
            _, listener = await picows.ws_connect(cast(Callable[[], Any], ApiConnection), url)
            made.append(cast(ApiConnection, listener))
        return made
