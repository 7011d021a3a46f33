"""Fuzzing the listeners over loopback: arbitrary frames, texts and request heads.

Each hypothesis example is one client on a fresh connection to the real server
(``start_server``, on asyncio and on uvloop): it sends what hypothesis drew, then a ping
it recognises, shuts its side down and reads everything the server answers until it
closes. Every example must get only what docs/operations.md's "Limits and errors" table lists
(documented HTTP statuses, documented close codes, JSON replies with documented error
codes) and either its ping's pong or a close; the server must log no traceback and no
error; a healthy stream client connected throughout still gets its data and its pong.

The examples run in a worker thread on blocking sockets, so the server keeps running in
the test's event loop meanwhile; each example ends when the server closes, never on a
timer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import struct
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest
from conftest import StartServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rawws import PING, PONG, TEXT, RawWebSocket
from timing import SECONDS

from tickerplant.market.instruments import Market

CONTINUATION, BINARY, CLOSE = 0x0, 0x2, 0x8
END = b"fuzz-end"  # the ping each example sends last
# Closes docs/operations.md lists; a client's own close code is echoed back besides.
DOCUMENTED_CLOSES = {1002, 1007, 1008, 1009}
STREAM_ERRORS = {0, 1, 2, 3, 4}
WS_API_ERRORS = {-1000, -1003, -1100, -1101, -1102, -1106, -1120, -1121, -1130, -1023, -4021}
HTTP_STATUSES = {101, 200, 400, 401, 404, 405, 411, 413, 414, 418, 426, 429, 431, 503, 505}
PATHS = ["/ws", "/stream", "/ws-fapi/v1"]
EXAMPLES = 250  # per test and loop: 1,500 cases, about 11 s on a quiet machine


def fuzz_settings(examples: int = EXAMPLES) -> Callable[[Any], Any]:
    return settings(
        max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )


# -- a blocking client ---------------------------------------------------------------------


class Frame(NamedTuple):
    opcode: int
    fin: bool = True
    rsv: int = 0  # RSV1..3 as bits 4..6 of the first byte, shifted down
    masked: bool = True
    length_form: int = 0  # 0: the shortest encoding of the length; 126 or 127: that form
    payload: bytes = b""

    def encode(self) -> bytes:
        first = (0x80 if self.fin else 0) | (self.rsv & 7) << 4 | (self.opcode & 0xF)
        size = len(self.payload)
        form = self.length_form if self.length_form else (size if size < 126 else 126 if size < 65536 else 127)
        mask_bit = 0x80 if self.masked else 0
        if form == 126:
            header = struct.pack("!BBH", first, mask_bit | 126, size)
        elif form == 127:
            header = struct.pack("!BBQ", first, mask_bit | 127, size)
        else:
            header = struct.pack("!BB", first, mask_bit | size)
        if not self.masked:
            return header + self.payload
        key = os.urandom(4)
        masked = bytes(b ^ key[i % 4] for i, b in enumerate(self.payload))
        return header + key + masked


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10 * SECONDS)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def upgrade(port: int, path: str) -> bytes:
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


def exchange(port: int, data: bytes) -> bytes:
    """Send ``data``, shut the sending side, read to the server's close."""
    with connect(port) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(1 << 16):
            chunks.append(chunk)
    return b"".join(chunks)


def server_frames(data: bytes) -> list[Frame]:
    """The server's frames (unmasked, RFC 6455 §5.1) in what follows its 101 head."""
    frames = []
    at = 0
    while at < len(data):
        assert at + 2 <= len(data), f"truncated frame header: {data[at:]!r}"
        first, second = data[at], data[at + 1]
        assert not second & 0x80, "a server frame is never masked"
        size, at = second & 0x7F, at + 2
        if size == 126:
            (size,), at = struct.unpack("!H", data[at : at + 2]), at + 2
        elif size == 127:
            (size,), at = struct.unpack("!Q", data[at : at + 8]), at + 8
        assert at + size <= len(data), "truncated frame"
        frames.append(Frame(first & 0x0F, bool(first & 0x80), payload=data[at : at + size]))
        at += size
    return frames


def check_ws_answer(answer: bytes, sent: list[Frame], path: str) -> None:
    head, _, rest = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 "), head[:200]
    frames = server_frames(rest)
    # a client's close code is echoed; a close without one is answered 1000
    echoed = {struct.unpack("!H", f.payload[:2])[0] if len(f.payload) >= 2 else 1000 for f in sent if f.opcode == CLOSE}
    closes = [f for f in frames if f.opcode == CLOSE]
    for close in closes:
        assert len(close.payload) >= 2, close  # never without a code, never 1005 (§7.4.1)
        code = struct.unpack("!H", close.payload[:2])[0]
        assert code in DOCUMENTED_CLOSES or code in echoed, close
    assert len(closes) <= 1 and (not closes or frames[-1] is closes[0]), "nothing after the close frame"
    assert closes or Frame(PONG, payload=END) in frames, "neither the last ping's pong nor a close"
    for frame in frames:
        if frame.opcode == TEXT:
            check_reply(json.loads(frame.payload), path)


def check_reply(reply: Any, path: str) -> None:
    if path == "/ws-fapi/v1":
        assert reply["status"] in {200, 400, 418, 429}, reply
        if reply["status"] != 200:
            assert reply["error"]["code"] in WS_API_ERRORS, reply
    elif isinstance(reply, dict) and "error" in reply:
        assert reply["error"]["code"] in STREAM_ERRORS, reply


def check_http_answer(answer: bytes) -> None:
    if not answer:
        return  # an incomplete head: closed without an answer, as documented
    status_line = answer.split(b"\r\n", 1)[0]
    version, status, *_ = status_line.split(b" ", 2)
    assert version == b"HTTP/1.1" and int(status) in HTTP_STATUSES, status_line


def check_http_answers(answer: bytes) -> list[tuple[bytes, bytes]]:
    """The answers on one kept-alive connection, as (status, body): one documented answer
    after another, each whole (its body as long as its ``Content-Length``), until a
    WebSocket begins (101) or an answer closes the connection (``Connection: close``):
    nothing after it."""
    answers = []
    while answer:
        head, blank, rest = answer.partition(b"\r\n\r\n")
        assert blank, f"a cut answer: {answer[:200]!r}"
        check_http_answer(head)
        status = head.split(b" ", 2)[1]
        fields = {k.lower(): v for k, _, v in (line.partition(b": ") for line in head.split(b"\r\n")[1:])}
        length = int(fields.get(b"content-length", b"0"))
        answers.append((status, rest[:length]))
        if status == b"101":
            break  # a WebSocket from here on (the other tests fuzz its frames)
        if fields.get(b"connection") == b"close":
            assert len(rest) <= length, f"bytes after a closing answer: {rest[length:][:200]!r}"
            break  # (an answer to HEAD is sent without its body)
        assert len(rest) >= length, f"a cut body: {rest!r}"
        answer = rest[length:]
    return answers


# -- what hypothesis draws ------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
stream_names = st.sampled_from(["btcusdt@bookTicker", "ethusdt@aggTrade", "btcusdt@depth5", "!miniTicker@arr"]) | st.text(
    max_size=30
)
stream_requests = st.fixed_dictionaries(
    {
        "method": st.sampled_from(["SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY"])
        | st.text(max_size=12),
        "params": st.lists(stream_names | json_values, max_size=5) | json_values,
        "id": st.integers(min_value=-1, max_value=2**64) | st.text(max_size=10) | json_values,
    }
)
api_requests = st.fixed_dictionaries(
    {
        "id": st.integers(min_value=-1, max_value=2**64) | st.text(max_size=10) | json_values,
        "method": st.sampled_from(["depth", "ticker.price", "ticker.book", "ping", "time"]) | st.text(max_size=12),
        "params": st.fixed_dictionaries(
            {},
            optional={
                "symbol": st.sampled_from(["BTCUSDT", "btcusdt", "ETHUSDT"]) | json_values,
                "limit": st.sampled_from([5, 10, 20, 1000, 7]) | json_values,
                "returnRateLimits": json_values,
            },
        )
        | json_values,
    }
)
texts = (
    stream_requests.map(lambda r: json.dumps(r).encode())
    | api_requests.map(lambda r: json.dumps(r).encode())
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.text(max_size=200).map(str.encode)
    | st.binary(max_size=200)
)
frames = st.builds(
    Frame,
    opcode=st.sampled_from([CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG]) | st.integers(0, 15),
    fin=st.booleans(),
    rsv=st.sampled_from([0, 0, 0, 1, 2, 4, 7]),
    masked=st.booleans().map(lambda unmasked: not unmasked) | st.just(True),
    length_form=st.sampled_from([0, 0, 126, 127]),
    payload=texts | st.binary(max_size=300),
)
well_formed_text_frames = texts.map(lambda payload: Frame(TEXT, payload=payload))
tokens = st.text(st.characters(codec="ascii", exclude_characters="\r\n "), min_size=1, max_size=12)
header_lines = st.lists(
    st.tuples(
        st.sampled_from(["Host", "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
                         "Content-Length", "Transfer-Encoding"]) | tokens,
        st.sampled_from(["websocket", "Upgrade", "13", "8", "dGhlIHNhbXBsZSBub25jZQ==", "0", "3", "65537",
                         "chunked"]) | st.text(max_size=40),
    ).map(lambda field: f"{field[0]}: {field[1]}"),
    max_size=8,
)
request_heads = st.builds(
    lambda method, target, version, fields, end: (
        "\r\n".join([f"{method} {target} {version}", *fields]).encode("utf-8", "surrogatepass") + end
    ),
    st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"]) | tokens,
    st.sampled_from(["/ws/btcusdt@bookTicker", "/stream?streams=a/b", "/ws-fapi/v1", "/fapi/v1/ping", "/fapi/v1/depth?symbol=BTCUSDT"])
    | tokens
    | st.text(max_size=60),
    st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/2", "HTTP/1.2", "HTTP/11"]) | tokens,
    header_lines,
    st.sampled_from([b"\r\n\r\n", b"\r\n\r\n", b"\r\n", b""]),
) | st.binary(max_size=300)


# -- the scene ------------------------------------------------------------------------------


async def fuzzed(start_server: StartServer, caplog: pytest.LogCaptureFixture, run: Callable[[int], None]) -> None:
    """Run ``run(port)``'s examples against a server while a healthy client listens."""
    caplog.set_level(logging.WARNING)
    # weight is not what is fuzzed; a slow market leaves the CPU to the examples
    plant = await start_server(request_weight_per_min=10**9, simulator={"actions_per_s": 100.0})
    port = plant.listeners[Market.UM].port
    healthy = await RawWebSocket.connect(port, "/stream?streams=btcusdt@bookTicker")
    await asyncio.to_thread(run, port)
    healthy.send(PING, b"healthy")
    data = 0
    while (frame := await healthy.recv(10 * SECONDS)) != (PONG, b"healthy"):
        data += frame.opcode == TEXT
    frame = await healthy.recv_until(TEXT)  # and data still flows after it
    assert json.loads(frame.payload)["stream"] == "btcusdt@bookTicker"
    await healthy.close()
    errors = [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert errors == []


async def test_arbitrary_frames(start_server: StartServer, caplog: pytest.LogCaptureFixture) -> None:
    @fuzz_settings()
    @given(path=st.sampled_from(PATHS), sent=st.lists(frames, min_size=1, max_size=6))
    def one(port: int, path: str, sent: list[Frame]) -> None:
        data = upgrade(port, path) + b"".join(f.encode() for f in sent) + Frame(PING, payload=END).encode()
        check_ws_answer(exchange(port, data), sent, path)

    await fuzzed(start_server, caplog, lambda port: one(port))


async def test_arbitrary_texts(start_server: StartServer, caplog: pytest.LogCaptureFixture) -> None:
    @fuzz_settings()
    @given(path=st.sampled_from(PATHS), sent=st.lists(well_formed_text_frames, min_size=1, max_size=4))
    def one(port: int, path: str, sent: list[Frame]) -> None:
        data = upgrade(port, path) + b"".join(f.encode() for f in sent) + Frame(PING, payload=END).encode()
        check_ws_answer(exchange(port, data), sent, path)

    await fuzzed(start_server, caplog, lambda port: one(port))


async def test_arbitrary_request_heads(start_server: StartServer, caplog: pytest.LogCaptureFixture) -> None:
    @fuzz_settings()
    @given(head=request_heads)
    def one(port: int, head: bytes) -> None:
        check_http_answer(exchange(port, head))

    await fuzzed(start_server, caplog, lambda port: one(port))


async def test_arbitrary_heads_after_a_kept_alive_request(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A kept-alive connection's second and later heads are read as its first is: a good
    request, then fuzzed heads on the same connection, each answered in order as documented
    (or the connection closed at the one that cannot be answered)."""
    ping = b"GET /fapi/v1/ping HTTP/1.1\r\nHost: x\r\n\r\n"

    @fuzz_settings()
    @given(heads=st.lists(request_heads, min_size=1, max_size=3))
    def one(port: int, heads: list[bytes]) -> None:
        answers = check_http_answers(exchange(port, ping + b"".join(heads)))
        assert answers[0] == (b"200", b"{}")

    await fuzzed(start_server, caplog, lambda port: one(port))


request_bodies = st.tuples(
    st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    st.sampled_from(["/fapi/v1/depth?symbol=BTCUSDT", "/fapi/v1/order", "/fapi/v3/balance", "/ws-fapi/v1", "/ws"]),
    # a body may hold anything, a request's head and CRLFs included
    st.binary(max_size=300) | st.sampled_from([b"\r\n", b"GET /fapi/v1/time HTTP/1.1\r\n\r\n"]),
    st.sampled_from(["", "Content-Type: application/x-www-form-urlencoded\r\n", "Connection: keep-alive\r\n"]),
).map(lambda r: f"{r[0]} {r[1]} HTTP/1.1\r\nHost: x\r\n{r[3]}Content-Length: {len(r[2])}\r\n\r\n".encode() + r[2])


async def test_bodies_are_read_by_their_length(start_server: StartServer, caplog: pytest.LogCaptureFixture) -> None:
    """Requests with bodies of any bytes, one after another on one connection: each is
    answered once, and what follows each body is read as the next request (a body is
    never taken for a request), up to a last ping."""
    ping = b"GET /fapi/v1/ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

    @fuzz_settings()
    @given(requests=st.lists(request_bodies, min_size=1, max_size=4))
    def one(port: int, requests: list[bytes]) -> None:
        answers = check_http_answers(exchange(port, b"".join(requests) + ping))
        assert len(answers) == len(requests) + 1 and answers[-1] == (b"200", b"{}")

    await fuzzed(start_server, caplog, lambda port: one(port))
