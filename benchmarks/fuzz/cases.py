"""The fuzz benchmark's cases: random bytes a client sends on one connection, drawn from a
seeded ``random.Random``, and the check of what the server answered.

Three kinds, in turn:

* **frames**: an upgrade to `/ws`, `/stream` or `/ws-fapi/v1`, then 1 to 6 frames of any
  opcode (0-15), FIN or not, RSV bits, masked or not, the length in its shortest form or
  a longer one, with payloads as below or random bytes; then a ping the client knows;
* **texts**: the same upgrade, then 1 to 4 well-formed text frames: requests of every
  method with random params and ids, random JSON, random text, invalid UTF-8, deep
  nesting (rarely), and a few large ones;
* **heads**: an HTTP request head of random method, target, version and header fields,
  complete or cut short, sometimes over 16 KiB, or random bytes.

The client sends it all, shuts its side down and reads to the server's close. An answer is
wrong when it holds anything docs/operations.md's "Limits and errors" table does not: an HTTP
status it does not list, a close code it does not list (a client's own code echoed is
fine), anything after a close frame, neither the last ping's pong nor a close, a text frame
that is not JSON, or an error code no surface uses. A close 1011 is a crash: an exception
in one of the server's callbacks.
"""

from __future__ import annotations

import json
import random
import struct
from typing import NamedTuple

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
END = b"fuzz-end"
PATHS = ("/ws", "/stream", "/ws-fapi/v1")
DOCUMENTED_CLOSES = {1002, 1007, 1008, 1009}
STREAM_ERRORS = {0, 1, 2, 3, 4}
WS_API_ERRORS = {-1000, -1003, -1023, -1100, -1101, -1102, -1106, -1120, -1121, -1130, -4021}
HTTP_STATUSES = {101, 200, 400, 404, 405, 414, 418, 426, 429, 431, 503, 505}
_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
_NAMES = (
    "btcusdt@bookTicker",
    "ethusdt@aggTrade",
    "btcusdt@depth5",
    "!miniTicker@arr",
    "x@y",
    "",
    "BTCUSDT@trade",
)
_STREAM_METHODS = (
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "LIST_SUBSCRIPTIONS",
    "SET_PROPERTY",
    "GET_PROPERTY",
    "subscribe",
    "",
)
_API_METHODS = ("depth", "ticker.price", "ticker.book", "ping", "time", "exchangeInfo", "")
_TARGETS = (
    "/ws/btcusdt@bookTicker",
    "/stream?streams=a/b",
    "/ws-fapi/v1",
    "/fapi/v1/ping",
    "/fapi/v1/depth?symbol=BTCUSDT",
    "/",
    "*",
)


class Case(NamedTuple):
    kind: str  # "frames", "texts" or "heads"
    path: str  # the WebSocket path, or "" for a head
    data: bytes  # everything the client sends
    echoed: frozenset[int]  # close codes the client sent, which the server may echo


def frame(
    opcode: int, payload: bytes, *, fin: bool = True, rsv: int = 0, masked: bool = True, form: int = 0
) -> bytes:
    """A client frame; the mask key is random (RFC 6455 §5.3) when ``masked``."""
    first = (0x80 if fin else 0) | (rsv & 7) << 4 | (opcode & 0xF)
    size = len(payload)
    form = form or (size if size < 126 else 126 if size < 65536 else 127)
    bit = 0x80 if masked else 0
    if form == 126 and size < 65536:
        header = struct.pack("!BBH", first, bit | 126, size)
    elif form >= 126:
        header = struct.pack("!BBQ", first, bit | 127, size)
    else:
        header = struct.pack("!BB", first, bit | size)
    if not masked:
        return header + payload
    key = random.getrandbits(32).to_bytes(4, "big")
    if not size:
        return header + key
    stream = (key * (size // 4 + 1))[:size]
    return (
        header + key + (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(size, "big")
    )


def upgrade(path: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


# -- drawing ------------------------------------------------------------------------------


def _json_value(rng: random.Random, depth: int = 0) -> object:
    pick = rng.randrange(9 if depth < 3 else 6)
    if pick == 0:
        return None
    if pick == 1:
        return rng.random() < 0.5
    if pick == 2:
        return rng.choice((0, 1, -1, 2**64 - 1, 2**64, 10**30, rng.randrange(-(10**6), 10**6)))
    if pick == 3:
        return rng.choice((0.5, -1.5, 1e300, 3.0))
    if pick in (4, 5):
        return "".join(rng.choice('abc@_!1 "\\é☃\x00') for _ in range(rng.randrange(12)))
    if pick in (6, 7):
        return [_json_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {
        rng.choice(("id", "method", "params", "symbol", "limit", "x")): _json_value(rng, depth + 1)
        for _ in range(rng.randrange(4))
    }


def _request(rng: random.Random) -> bytes:
    value: object
    if rng.random() < 0.5:
        params: object = (
            [rng.choice(_NAMES) for _ in range(rng.randrange(5))] if rng.random() < 0.8 else _json_value(rng)
        )
        value = {
            "method": rng.choice(_STREAM_METHODS),
            "params": params,
            "id": _json_value(rng) if rng.random() < 0.3 else rng.randrange(2**64),
        }
    else:
        params = {
            "symbol": rng.choice(("BTCUSDT", "btcusdt", "ETHUSDT", "NOPE")),
            "limit": rng.choice((5, 10, 20, 1000, 7, "5")),
        }
        if rng.random() < 0.3:
            params = _json_value(rng)
        value = {
            "id": rng.choice((rng.randrange(1000), "abc", None, -1, 1.5)),
            "method": rng.choice(_API_METHODS),
            "params": params,
        }
    return json.dumps(value).encode()


def text(rng: random.Random) -> bytes:
    pick = rng.random()
    if pick < 0.45:
        return _request(rng)
    if pick < 0.65:
        return json.dumps(_json_value(rng)).encode()
    if pick < 0.80:
        return rng.randbytes(rng.randrange(64))
    if pick < 0.95:
        body = _request(rng)
        cut = rng.randrange(len(body) + 1)
        return body[:cut] + rng.choice((b"", b"\xff", b"\xc3", b"\xed\xa0\x80", b"}", b"\x00")) + body[cut:]
    if pick < 0.999:
        return b" " * rng.randrange(1, 70_000)  # the 16-bit and 64-bit length forms
    depth = rng.randrange(100, 200_000)
    return b"[" * depth + b"]" * depth


def draw(rng: random.Random, index: int) -> Case:
    kind = ("frames", "texts", "heads")[index % 3]
    if kind == "heads":
        return Case(kind, "", _head(rng), frozenset())
    path = rng.choice(PATHS)
    sent: list[bytes] = []
    echoed = set()
    for _ in range(rng.randrange(1, 7 if kind == "frames" else 5)):
        if kind == "texts":
            sent.append(frame(TEXT, text(rng)))
            continue
        opcode = rng.choice((CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG, rng.randrange(16)))
        payload = text(rng) if rng.random() < 0.7 else rng.randbytes(rng.randrange(300))
        if opcode == CLOSE and rng.random() < 0.7:
            code = rng.choice((1000, 1001, 1002, 1005, 1006, 3000, 4999, 999, 5000, rng.randrange(65536)))
            payload = struct.pack("!H", code) + payload[:100]
        if opcode == CLOSE:  # a close code is echoed; a close without one is answered 1000
            echoed.add(struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1000)
        sent.append(
            frame(
                opcode, payload, fin=rng.random() < 0.8,
                rsv=0 if rng.random() < 0.85 else rng.randrange(1, 8),
                masked=rng.random() < 0.95, form=0 if rng.random() < 0.85 else rng.choice((126, 127)),
            )
        )  # fmt: skip
    data = upgrade(path) + b"".join(sent) + frame(PING, END)
    return Case(kind, path, data, frozenset(echoed))


def _token(rng: random.Random) -> str:
    return "".join(rng.choice("abcXYZ019-_./:%?=&") for _ in range(rng.randrange(1, 12)))


def _head(rng: random.Random) -> bytes:
    if rng.random() < 0.1:
        return rng.randbytes(rng.randrange(300))
    method = rng.choice(("GET", "GET", "POST", "HEAD", "PUT", "OPTIONS", _token(rng)))
    target = rng.choice((*_TARGETS, _token(rng), "/" + "a" * rng.choice((10, 9000, 17_000))))
    version = rng.choice(("HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2", "HTTP/1.2", "HTTP/11", _token(rng)))
    fields = []
    for _ in range(rng.randrange(9 if rng.random() < 0.95 else 200)):
        name = rng.choice(
            ("Host", "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version", _token(rng))
        )
        value = rng.choice(
            ("websocket", "Upgrade", "13", "8", _KEY, _token(rng), "x" * rng.choice((1, 100, 9000)))
        )
        fields.append(f"{name}: {value}")
    end = rng.choice(("\r\n\r\n", "\r\n\r\n", "\r\n\r\n", "\r\n", "", "\n\n"))
    return ("\r\n".join([f"{method} {target} {version}", *fields]) + end).encode()


# -- checking ----------------------------------------------------------------------------


def check(case: Case, answer: bytes) -> str | None:
    """None if the answer is one docs/operations.md lists; else what is wrong ("crash: …" for 1011)."""
    if case.kind == "heads":
        if not answer:
            return None  # an incomplete head: closed without an answer, as documented
        line = answer.split(b"\r\n", 1)[0].split(b" ")
        if (
            len(line) < 2
            or line[0] != b"HTTP/1.1"
            or not line[1].isdigit()
            or int(line[1]) not in HTTP_STATUSES
        ):
            return f"status line {answer[:60]!r}"
        return None
    head, _, rest = answer.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101 "):
        return f"upgrade answered {head[:60]!r}"
    frames, wrong = _frames(rest)
    if wrong:
        return wrong
    closes = [(op, payload) for op, payload in frames if op == CLOSE]
    for _, payload in closes:
        code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
        if code == 1011:
            return f"crash: close 1011 {payload[2:80]!r}"
        if len(payload) == 1 or (
            code is not None and code not in DOCUMENTED_CLOSES and code not in case.echoed
        ):
            return f"close {payload[:80]!r}"
    if len(closes) > 1 or (closes and frames[-1][0] != CLOSE):
        return "frames after the close frame"
    if not closes and (PONG, END) not in frames:
        return "neither the last ping's pong nor a close"
    for op, payload in frames:
        if op == TEXT and (wrong := _reply(payload, case.path)):
            return wrong
    return None


def _frames(data: bytes) -> tuple[list[tuple[int, bytes]], str | None]:
    frames = []
    at = 0
    while at < len(data):
        if at + 2 > len(data):
            return frames, "a truncated frame"
        first, second = data[at], data[at + 1]
        if second & 0x80:
            return frames, "a masked server frame"
        size, at = second & 0x7F, at + 2
        if size >= 126:
            width = 2 if size == 126 else 8
            size, at = int.from_bytes(data[at : at + width], "big"), at + width
        if at + size > len(data):
            return frames, "a truncated frame"
        frames.append((first & 0x0F, data[at : at + size]))
        at += size
    return frames, None


def _reply(payload: bytes, path: str) -> str | None:
    try:
        reply = json.loads(payload)
    except ValueError:
        return f"a text frame that is not JSON: {payload[:60]!r}"
    if path == "/ws-fapi/v1":
        error = reply.get("error") if isinstance(reply, dict) else None
        if reply.get("status") not in {200, 400, 418, 429} or (
            error and error.get("code") not in WS_API_ERRORS
        ):
            return f"WebSocket API reply {payload[:120]!r}"
    elif isinstance(reply, dict) and "error" in reply and reply["error"].get("code") not in STREAM_ERRORS:
        return f"stream reply {payload[:120]!r}"
    return None
