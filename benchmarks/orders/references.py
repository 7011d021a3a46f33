"""The flat-out part's two references, each a forked server alone on the server's CPU, as the
venue is (``SERVER_CPU``), asyncio on uvloop, the library of the venue's REST front door:

- ``floor``: pre-built bytes for every request (what the orders benchmark measures against);
- ``required``: only the work no order request can skip, done as plainly as it can be:
  the request's line, headers and query split; its HMAC-SHA256 verified over the bytes as
  received (part 1 §4.2) with the key's secret found by ``X-MBX-APIKEY``; one journal row a
  request, committed to SQLite (WAL, ``synchronous=NORMAL``, as ``venue.journal``) once per
  loop iteration before any of that iteration's answers leaves (decision 9's group commit);
  a JSON answer of an order's keys encoded by msgspec. No order book, no margin, no limits,
  no events, no market.

What ``required`` leaves of the floor's time is all the venue's own work may take if it is
to reach a given ratio: at 0.5, a request may cost twice the floor's, and ``required``
already spends part of that."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import sqlite3
from multiprocessing.connection import Connection
from pathlib import Path
from typing import cast
from urllib.parse import unquote

import msgspec

from ..harness.commands import serve
from ..harness.processes import HOST

_END = b"\r\n\r\n"
FLOOR_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class _Connection(asyncio.Protocol):
    """A kept-alive connection's bytes come in and its transport, once made."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)


class FloorConnection(_Connection):
    """Pre-built answers to whatever comes, one per request head (bodies are empty)."""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(_END)) >= 0:
            del self.buffer[: end + 4]
            assert self.transport is not None
            self.transport.write(FLOOR_ANSWER)


class Journal:
    """The rows of one loop iteration, committed together, then their answers written."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS rows (key TEXT, query TEXT)")
        self.staged: list[tuple[str, str, asyncio.Transport, bytes]] = []

    def stage(self, key: str, query: str, transport: asyncio.Transport, body: bytes) -> None:
        if not self.staged:
            asyncio.get_running_loop().call_soon(self.flush)
        self.staged.append((key, query, transport, body))

    def flush(self) -> None:
        staged, self.staged = self.staged, []
        self.db.execute("BEGIN")
        self.db.executemany("INSERT INTO rows VALUES (?, ?)", [(k, q) for k, q, _, _ in staged])
        self.db.execute("COMMIT")
        for _, _, transport, body in staged:
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            transport.write(head % len(body) + body)


class RequiredConnection(_Connection):
    def __init__(self, secrets: dict[bytes, bytes], journal: Journal) -> None:
        super().__init__()
        self.secrets = secrets
        self.journal = journal

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(_END)) >= 0:
            head = bytes(self.buffer[:end])
            del self.buffer[: end + 4]
            self.answer(head)

    def answer(self, head: bytes) -> None:
        line, *lines = head.split(b"\r\n")
        _method, target, _version = line.split(b" ")
        _path, _, query = target.partition(b"?")
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(b":") for h in lines)}
        key = headers[b"x-mbx-apikey"]
        payload, _, signature = query.rpartition(b"&signature=")
        expected = hmac.new(self.secrets[key], payload, hashlib.sha256).hexdigest().encode()
        if not hmac.compare_digest(expected, signature):
            raise ValueError("a bad signature: the benchmark's clients sign every request")
        text = payload.decode()
        params = {k: unquote(v) for k, _, v in (p.partition("=") for p in text.split("&"))}
        body = msgspec.json.encode(
            {"orderId": 1, "symbol": params["symbol"], "status": "NEW",
             "clientOrderId": params.get("newClientOrderId", params.get("origClientOrderId", "")),
             "price": params.get("price", "0"), "avgPrice": "0.00", "origQty": params.get("quantity", "0"),
             "executedQty": "0", "cumQty": "0", "cumQuote": "0", "timeInForce": "GTC", "type": "LIMIT",
             "reduceOnly": False, "closePosition": False, "side": params.get("side", "BUY"),
             "positionSide": "BOTH", "stopPrice": "0", "workingType": "CONTRACT_PRICE",
             "priceProtect": False, "origType": "LIMIT", "priceMatch": "NONE",
             "selfTradePreventionMode": "NONE", "goodTillDate": 0, "updateTime": 0}
        )  # fmt: skip
        assert self.transport is not None
        self.journal.stage(key.decode(), text, self.transport, body)


async def floor_async(conn: Connection, life_s: float) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(FloorConnection, HOST, 0, backlog=4096)
    conn.send(("port", server.sockets[0].getsockname()[1]))
    try:
        await serve(conn, {}, life_s)
    finally:
        server.close()


async def required_async(conn: Connection, secrets: dict[bytes, bytes], path: Path, life_s: float) -> None:
    loop = asyncio.get_running_loop()
    journal = Journal(path)
    server = await loop.create_server(lambda: RequiredConnection(secrets, journal), HOST, 0, backlog=4096)
    conn.send(("port", server.sockets[0].getsockname()[1]))
    try:
        await serve(conn, {}, life_s)
    finally:
        server.close()
        journal.db.close()
