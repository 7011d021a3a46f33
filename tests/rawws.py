"""A deliberately bare WebSocket client for tests that need to misbehave: never answer a
ping, stop reading, send arbitrary frames. Third-party clients cover the well-behaved
paths; this one covers the rest."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
import struct
from typing import NamedTuple

from timing import SECONDS

CONTINUATION, TEXT, CLOSE, PING, PONG = 0x0, 0x1, 0x8, 0x9, 0xA
FIN, RSV1 = 0x80, 0x40


class Frame(NamedTuple):
    opcode: int
    payload: bytes


class RawWebSocket:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, status: int) -> None:
        self.reader = reader
        self.writer = writer
        self.status = status

    @classmethod
    async def connect(cls, port: int, path: str, *, rcvbuf: int | None = None) -> RawWebSocket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=2**22)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        return cls(reader, writer, status)

    def send(self, opcode: int, payload: bytes, *, flags: int = FIN) -> None:
        """A masked frame; ``flags`` are its FIN and RSV bits (0: a fragment that is not
        the last; ``FIN | RSV1``: a final frame claiming an extension)."""
        mask = os.urandom(4)
        size = len(payload)
        first = flags | opcode
        if size < 126:
            header = struct.pack("!BB", first, 0x80 | size)
        elif size < 65536:
            header = struct.pack("!BBH", first, 0x80 | 126, size)
        else:
            header = struct.pack("!BBQ", first, 0x80 | 127, size)
        key = (mask * (size // 4 + 1))[:size]
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(size, "big")
        self.writer.write(header + mask + masked)

    def send_text(self, text: str | bytes) -> None:
        self.send(TEXT, text.encode() if isinstance(text, str) else text)

    async def recv(self, timeout: float = 5 * SECONDS) -> Frame:
        async with asyncio.timeout(timeout):
            first, second = await self.reader.readexactly(2)
            size = second & 0x7F
            if size == 126:
                (size,) = struct.unpack("!H", await self.reader.readexactly(2))
            elif size == 127:
                (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
            return Frame(first & 0x0F, await self.reader.readexactly(size))

    async def recv_until(self, opcode: int, timeout: float = 5 * SECONDS) -> Frame:
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.recv(timeout)
                if frame.opcode == opcode:
                    return frame

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


def close_code(frame: Frame) -> tuple[int, str]:
    (code,) = struct.unpack("!H", frame.payload[:2])
    return code, frame.payload[2:].decode()


class HttpAnswer(NamedTuple):
    status: int
    headers: dict[str, str]  # names lowercased
    body: bytes


async def closed_within(reader: asyncio.StreamReader, within_s: float) -> bool:
    """Whether the server closed the connection (EOF, nothing more sent) within ``within_s``."""
    try:
        async with asyncio.timeout(within_s):
            return await reader.read() == b""
    except TimeoutError:
        return False


async def read_answer(reader: asyncio.StreamReader, *, to_head: bool = False, within_s: float = 5) -> bytes:
    """One HTTP answer as it came: its head, then its body by ``Content-Length`` (none for an
    answer to HEAD, ``to_head``), or up to the server's close when it has no length; at most
    ``within_s`` (scaled as every test's waits are)."""
    async with asyncio.timeout(within_s * SECONDS):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as cut:
            return cut.partial  # closed before a whole head: what came
        fields = dict(line.split(": ", 1) for line in head.decode("latin-1").split("\r\n")[1:-2])
        length = {k.lower(): v for k, v in fields.items()}.get("content-length")
        if to_head:
            return head
        if length is None:
            return head + await reader.read()
        return head + await reader.readexactly(int(length))


async def http_exchange(port: int, request: bytes) -> HttpAnswer:
    """Send ``request`` as it is and read the (first) answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        answer = await read_answer(reader, to_head=request.startswith(b"HEAD "))
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines)
    return HttpAnswer(int(status_line.split(" ")[1]), {k.lower(): v for k, v in fields.items()}, body)
