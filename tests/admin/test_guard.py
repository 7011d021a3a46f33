"""The admin listener refuses cross-site writes and requests for another host
(``admin/guard.py``): the probe's requests, over a real socket, and the rule without one."""

from __future__ import annotations

import asyncio
import logging
import random
from pathlib import Path

import pytest
from conftest import StartServer
from ports import free_port
from public_data import T0, UM_TRADES_HEADER, trades, trades_lines, write
from timing import SECONDS

from tickerplant.admin.guard import refusal
from tickerplant.config import ReplayConfig


@pytest.mark.parametrize(
    ("method", "host", "origin", "content_type", "bound", "status"),
    [
        ("GET", "127.0.0.1:8767", None, "", "127.0.0.1", None),
        ("GET", "localhost:8767", "http://localhost:8767", "", "127.0.0.1", None),
        ("GET", "[::1]:8767", None, "", "::1", None),
        ("POST", "127.0.0.1:8767", "http://127.0.0.1:8767", "application/json", "127.0.0.1", None),
        ("GET", "attacker.example:8767", None, "", "127.0.0.1", 403),  # DNS rebinding
        ("GET", "127.0.0.1:9999", None, "", "127.0.0.1", 403),  # another port
        ("GET", None, None, "", "127.0.0.1", 403),
        ("POST", "127.0.0.1:8767", "http://evil.example", "application/json", "127.0.0.1", 403),
        ("POST", "127.0.0.1:8767", None, "text/plain", "127.0.0.1", 415),  # a "simple" request
        ("POST", "127.0.0.1:8767", None, "application/x-www-form-urlencoded", "127.0.0.1", 415),
        ("GET", "10.1.2.3:8767", None, "", "0.0.0.0", None),  # a wildcard bind: its addresses
        ("GET", "admin.example:8767", None, "", "0.0.0.0", 403),  # ... never a name
        ("GET", "10.1.2.3:8767", None, "", "10.1.2.3", None),
    ],
)  # fmt: skip
def test_the_rule(
    method: str, host: str | None, origin: str | None, content_type: str, bound: str, status: int | None
) -> None:
    refused = refusal(method, host, origin, content_type, bound, 8767)
    assert (refused.status if refused else None) == status


async def _raw(port: int, request: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    async with asyncio.timeout(5 * SECONDS):
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
        )
        body = await reader.readexactly(length)
    writer.close()
    return int(head.split(b" ", 2)[1]), body


async def test_the_probe_s_cross_site_writes_change_nothing(start_server: StartServer, tmp_path: Path) -> None:
    """The reliability probe's request: POST /api/replay/speed as text/plain from a foreign
    Origin and Host answered 200 and changed the replay's speed. Now each part is refused,
    and the listener's own JSON POST still works."""
    rows = trades(random.Random(5), 60, T0, 2000.0, "0.01", "0.001")
    write(tmp_path, "ETHUSDT-trades-2024-01-01", UM_TRADES_HEADER, trades_lines(rows), zipped=False)
    admin_port = free_port()
    replay = ReplayConfig(paths=(str(tmp_path),), speed=60.0, paused=True, progress=False)
    server = await start_server(admin_port=admin_port, replay=replay)
    body = b'{"speed":10}'

    def speed_post(host: str, origin: str | None, content_type: str) -> bytes:
        lines = ["POST /api/replay/speed HTTP/1.1", f"Host: {host}", f"Content-Type: {content_type}"]
        lines += [f"Origin: {origin}"] if origin else []
        lines += [f"Content-Length: {len(body)}", "Connection: close"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    own = f"127.0.0.1:{admin_port}"
    for host, origin, content_type, status in (
        ("attacker.example", "http://attacker.example", "text/plain", 403),  # the probe's
        (own, "http://attacker.example", "application/json", 403),  # cross-site
        (own, None, "text/plain", 415),  # a simple request, no preflight
        (f"attacker.example:{admin_port}", None, "application/json", 403),  # rebinding
    ):
        code, answer = await _raw(admin_port, speed_post(host, origin, content_type))
        assert code == status, answer
        assert server.status()["replay"]["speed"] == 60
    code, _ = await _raw(admin_port, speed_post(own, f"http://{own}", "application/json"))
    assert code == 200 and server.status()["replay"]["speed"] == 10


async def test_a_request_aiohttp_cannot_parse_is_answered_400_and_logs_no_traceback(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A second probe's: a request without ``Host`` (or with a malformed header) made aiohttp
    log an ERROR with its traceback before any guard ran, as often as anyone who reaches
    the listener sends one; it is answered 400 and the log stays quiet."""
    admin_port = free_port()
    await start_server(admin_port=admin_port)
    with caplog.at_level(logging.DEBUG, logger="aiohttp"):
        for request in (b"GET /api/status HTTP/1.1\r\nConnection: close\r\n\r\n",
                        b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n"):  # fmt: skip
            code, _ = await _raw(admin_port, request)
            assert code == 400
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    code, _ = await _raw(admin_port, f"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1:{admin_port}\r\n"
                         "Connection: close\r\n\r\n".encode())  # fmt: skip
    assert code == 200
