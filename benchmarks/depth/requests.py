"""The depth benchmark's part (b): `GET /fapi/v1/depth?symbol=BTCUSDT&limit=1000` and the
WebSocket API `depth` (limit 1000), the server against a picows floor that answers pre-built
bytes.

* REST clients: raw asyncio Protocols on uvloop, ``concurrency`` request loops, each a new
  connection per request (``Connection: close``: the server closes it after the answer, as
  picows answers an upgrade request; ``benchmarks/rest/`` measures kept-alive connections);
  a reply counts when it starts ``HTTP/1.1 200``.
* WebSocket API clients: ``ws_api_clients.ApiClient`` sending ``depth`` requests instead of
  ``ticker.book``, each connection sequential.
* The floor: ``picows.ws_create_server`` on uvloop (the server's library), answering the
  REST path through picows' upgrade-response path with a pre-built body, and the WebSocket
  API with the id spliced into pre-built reply bytes; both the bytes the server answered in
  the same run (or 1,000 made-up levels a side when the server was not run).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, cast

import msgspec
import picows
from picows import (
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    WSUpgradeRequest,
    WSUpgradeResponse,
    WSUpgradeResponseWithListener,
)

from ..harness.commands import serve
from ..harness.processes import HOST
from ..ws_api.clients import ApiClient, Recorder, Window, figures, measured_window

REST_PATH = "/fapi/v1/depth?symbol=BTCUSDT&limit=1000"
WS_API_PATH = "/ws-fapi/v1"
MAX_RATE_GUESS = 100_000  # req/s: sizes the latency array


class DepthApiClient(ApiClient):
    """A sequential WebSocket API connection asking for BTCUSDT's 1,000-level book."""

    def send_next(self) -> None:
        self.next_id += 1
        i = self.next_id
        self.expect = b'{"id":%d,"status":200,' % i
        request = b'{"id":%d,"method":"depth","params":{"symbol":"BTCUSDT","limit":1000}}' % i
        self.waiting = True
        assert self.transport is not None
        self.sent = time.perf_counter()
        self.transport.send(WSMsgType.TEXT, request)

    first = b""  # the first reply, which the floor answers with

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if not self.first and frame.msg_type is WSMsgType.TEXT:
            self.first = frame.get_payload_as_bytes()
        super().on_ws_frame(transport, frame)


class RestRequest(asyncio.Protocol):
    """One request on its own connection: send, read to the close, record."""

    def __init__(self, rec: Recorder, request: bytes, done: asyncio.Future[bytes]) -> None:
        self.rec = rec
        self.request = request
        self.done = done
        self.chunks: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        cast(asyncio.Transport, transport).write(self.request)

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(b"".join(self.chunks))


@dataclass(frozen=True)
class Spec:
    kind: str  # "rest" or "ws"
    port: int
    connections: int  # REST: concurrent request loops; WebSocket API: sequential connections
    cap: int
    life_s: float


async def clients_async(conn: Connection, spec: Spec) -> None:
    loop = asyncio.get_running_loop()
    rec = Recorder(spec.cap)
    sample: list[bytes] = []
    ws_clients: list[DepthApiClient] = []
    errors: Counter[str] = Counter()
    request = f"GET {REST_PATH} HTTP/1.1\r\nHost: {HOST}:{spec.port}\r\nConnection: close\r\n\r\n".encode()
    loops: list[asyncio.Task[None]] = []

    async def rest_loop() -> None:
        while rec.running:
            done: asyncio.Future[bytes] = loop.create_future()
            sent = time.perf_counter()
            try:
                protocol = functools.partial(RestRequest, rec, request, done)
                await loop.create_connection(protocol, HOST, spec.port)
                reply = await asyncio.wait_for(done, 10.0)
            except (OSError, TimeoutError) as exc:
                errors[f"{type(exc).__name__}: {exc}"[:120]] += 1
                await asyncio.sleep(0.01)
                continue
            if rec.recording:
                n = rec.n
                if n < rec.cap:
                    rec.lat[n] = time.perf_counter() - sent
                rec.n = n + 1
                if not reply.startswith(b"HTTP/1.1 200"):
                    rec.bad += 1
                    rec.bad_sample = rec.bad_sample or reply[:300]
            if not sample:
                sample.append(reply)

    if spec.kind == "ws":
        url = f"ws://{HOST}:{spec.port}{WS_API_PATH}"
        for index in range(spec.connections):
            _, client = await picows.ws_connect(lambda i=index: DepthApiClient(rec, i), url)
            ws_clients.append(cast(DepthApiClient, client))
    conn.send(("ready", spec.connections, {}))
    window: dict[str, float] = {}

    def go() -> None:
        rec.running = True
        if spec.kind == "rest":
            loops.extend(loop.create_task(rest_loop()) for _ in range(spec.connections))
        for c in ws_clients:
            if not c.waiting and not c.gone:
                c.send_next()

    def start() -> None:
        rec.n = rec.bad = 0
        window["t"] = time.perf_counter()
        window["cpu"] = time.process_time()
        rec.recording = True

    def stop() -> dict[str, Any]:
        rec.recording = rec.running = False
        measured = figures(rec, time.perf_counter() - window["t"], time.process_time() - window["cpu"])
        return {
            **measured, "errors": dict(errors),
            "sample": sample[0] if sample else next((c.first for c in ws_clients if c.first), b""),
        }

    try:
        await serve(conn, {"go": go, "start": start, "stop": stop}, spec.life_s)
    finally:
        rec.running = False
        for task in loops:
            task.cancel()
        for c in ws_clients:
            if c.transport is not None and not c.gone:
                c.transport.disconnect(False)
        await asyncio.sleep(0)


def run_clients(
    kind: str, port: int, connections: int, seconds: float, warmup: float, pids: Callable[[], list[int]]
) -> tuple[Window, dict[str, Any]]:
    """One client process on CPU 1: warm-up, a measured window, the figures and a sample reply."""
    spec = Spec(kind, port, connections, int(MAX_RATE_GUESS * seconds) + 1000, seconds + warmup + 60)
    return measured_window(clients_async, spec, connections, seconds, warmup, pids)


# --------------------------------------------------------------------------- the floor


def made_up_book() -> bytes:
    """`"bids":[…],"asks":[…]}` with 1,000 levels a side, BTCUSDT-like."""
    bids = [[f"{90000 - i / 10:.2f}", f"{1 + i % 97 / 1000:.3f}"] for i in range(1000)]
    asks = [[f"{90000.1 + i / 10:.2f}", f"{1 + i % 89 / 1000:.3f}"] for i in range(1000)]
    return msgspec.json.encode({"bids": bids, "asks": asks})[1:]


def floor_bodies(rest_reply: bytes, ws_reply: bytes) -> tuple[bytes, bytes]:
    """(the REST body, the WebSocket API reply after its id), from the server's own replies
    when there are some."""
    if rest_reply:
        rest = rest_reply.partition(b"\r\n\r\n")[2]
    else:
        rest = b'{"lastUpdateId":1211381949570,"E":1795242427602,"T":1795242427600,' + made_up_book()
    if ws_reply:
        ws = ws_reply[ws_reply.index(b",") :]
    else:
        ws = (
            b',"status":200,"result":' + rest + b',"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT",'
            b'"interval":"MINUTE","intervalNum":1,"limit":1000000000,"count":12345}]}'
        )
    return rest, ws


class _FloorRequest(msgspec.Struct):
    id: int | str | None = None


_decode_id = msgspec.json.Decoder(_FloorRequest).decode


class FloorApi(WSListener):
    """The floor's WebSocket API: decode the id, splice it into the pre-built reply."""

    def __init__(self, tail: bytes) -> None:
        self.tail = tail

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.TEXT:
            request = _decode_id(frame.get_payload_as_memoryview())
            transport.send(WSMsgType.TEXT, b'{"id":' + msgspec.json.encode(request.id) + self.tail)
        elif frame.msg_type is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()


async def floor_async(conn: Connection, rest_body: bytes, ws_tail: bytes, life_s: float) -> None:
    headers = {"Content-Type": "application/json", "X-MBX-USED-WEIGHT-1M": "20"}

    def route(request: WSUpgradeRequest) -> WSListener | WSUpgradeResponseWithListener:
        if request.path.startswith(b"/fapi/v1/depth"):
            response = WSUpgradeResponse.create_ok_response(rest_body, headers)
            return WSUpgradeResponseWithListener(response, None)
        return FloorApi(ws_tail)

    server = await picows.ws_create_server(route, HOST, 0)
    conn.send(("port", server.sockets[0].getsockname()[1]))
    try:
        await serve(conn, {}, life_s)
    finally:
        server.close()
