"""Request bodies over real sockets (``gateway/http_head.py``, ``gateway/front_door.py``):
POST, PUT and DELETE are read with the body their ``Content-Length`` declares, the next
pipelined request is read from the byte after it, market data answers another method than
GET with Binance's 404 ``-5000`` naming it, and a body framed otherwise, too large or too
slow is refused and its connection closed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import msgspec
import pytest
import pytest_asyncio
from conftest import StartServer, quick_config
from rawws import closed_within, read_answer
from timing import SECONDS

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock
from tickerplant.gateway.front_door import HEAD_TIMEOUT_MS
from tickerplant.gateway.http_head import MAX_BODY_BYTES
from tickerplant.market.instruments import Market

PING = b"GET /fapi/v1/ping HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared() -> AsyncIterator[Tickerplant]:
    """One server for the refusals below (each on its own connection), a loop's: 26 servers
    started for one request each were most of this file's time."""
    plant = Tickerplant(quick_config())
    await plant.start()
    yield plant
    await plant.close()


def _status_and_body(answer: bytes) -> tuple[int, bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def _with_body(method: bytes, target: bytes, body: bytes, extra: bytes = b"") -> bytes:
    return b"%b %b HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n%bContent-Length: %d\r\n\r\n%b" % (
        method, target, extra, len(body), body
    )  # fmt: skip


async def test_market_data_answers_another_method_with_binance_s_404_naming_it(start_server: StartServer) -> None:
    """A POST to depth is never answered as the GET (trading part 1 §6.2: ``Path …, Method
    … is invalid``); the connection goes on, each next request read after the body."""
    plant = await start_server()
    reader, writer = await asyncio.open_connection("127.0.0.1", plant.listeners[Market.UM].port)
    # a body that reads like a request: it must be taken as the POST's body, never answered
    body = b"symbol=BTCUSDT&limit=5" + b"\r\n\r\n" + PING
    writer.write(
        _with_body(b"POST", b"/fapi/v1/depth?symbol=BTCUSDT", body)
        + _with_body(b"DELETE", b"/fapi/v1/ping", b"")
        + _with_body(b"PUT", b"/fapi/v1/time", b"a=1")
        + b"GET /fapi/v1/time HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    answers = [_status_and_body(await read_answer(reader)) for _ in range(4)]
    errors = [(status, msgspec.json.decode(text)) for status, text in answers[:3]]
    assert errors == [
        (404, {"code": -5000, "msg": "Path /fapi/v1/depth, Method POST is invalid"}),
        (404, {"code": -5000, "msg": "Path /fapi/v1/ping, Method DELETE is invalid"}),
        (404, {"code": -5000, "msg": "Path /fapi/v1/time, Method PUT is invalid"}),
    ]
    assert answers[3][0] == 200 and list(msgspec.json.decode(answers[3][1])) == ["serverTime"]
    writer.write(b"POST /ws/btcusdt@depth HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    stream = _status_and_body(await read_answer(reader))
    assert stream == (404, b'{"code":-5000,"msg":"Path /ws/btcusdt@depth, Method POST is invalid"}')
    writer.close()


async def test_a_body_in_pieces_is_awaited_and_one_at_the_bound_is_read(start_server: StartServer) -> None:
    plant = await start_server()
    reader, writer = await asyncio.open_connection("127.0.0.1", plant.listeners[Market.UM].port)
    request = _with_body(b"POST", b"/fapi/v1/depth", b"x" * MAX_BODY_BYTES)
    for at in range(0, len(request), 20_000):
        writer.write(request[at : at + 20_000])
        await writer.drain()
    writer.write(PING)
    assert _status_and_body(await read_answer(reader))[0] == 404
    assert _status_and_body(await read_answer(reader)) == (200, b"{}")
    writer.close()


@pytest.mark.parametrize(
    ("fields", "status", "text"),
    [
        (b"Transfer-Encoding: chunked\r\n", 411, b"Transfer-Encoding not supported; send Content-Length\n"),
        (b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n", 400, b"Content-Length and Transfer-Encoding both sent\n"),
        (b"Transfer-Encoding: gzip\r\nContent-Length: 3\r\n", 400, b"Content-Length and Transfer-Encoding both sent\n"),
        (b"Content-Length: 3\r\nContent-Length: 3\r\n", 400, b"Content-Length sent more than once\n"),
        (b"Content-Length: 3\r\ncontent-length: 40\r\n", 400, b"Content-Length sent more than once\n"),
        (b"Content-Length: +3\r\n", 400, b"Malformed Content-Length\n"),
        (b"Content-Length: 3a\r\n", 400, b"Malformed Content-Length\n"),
        (b"Content-Length: \r\n", 400, b"Malformed Content-Length\n"),
        (b"Content-Length: -1\r\n", 400, b"Malformed Content-Length\n"),
        (b"Content-Length: \xd9\xa3\r\n", 400, b"Malformed Content-Length\n"),  # an Arabic-Indic 3
        (b"Content-Length: %d\r\n" % (MAX_BODY_BYTES + 1), 413, b"Request body too large\n"),
        (b"Content-Length: 99999999999999999999999\r\n", 413, b"Request body too large\n"),
    ],
)  # fmt: skip
@pytest.mark.loopback
@pytest.mark.asyncio(loop_scope="module")
async def test_a_body_framed_otherwise_is_refused_and_the_connection_closed(
    shared: Tickerplant, fields: bytes, status: int, text: bytes
) -> None:
    """Smuggling's ways (RFC 9112 §6.3, §11.2) never reach the router: what follows the head
    is never read as a request."""
    plant = shared
    reader, writer = await asyncio.open_connection("127.0.0.1", plant.listeners[Market.UM].port)
    writer.write(b"POST /fapi/v1/depth HTTP/1.1\r\nHost: x\r\n%b\r\nabc%b" % (fields, PING))
    answer = await read_answer(reader)
    assert _status_and_body(answer) == (status, text)
    assert b"\r\nConnection: close\r\n" in answer
    assert await closed_within(reader, 5 * SECONDS)
    writer.close()


async def test_an_upgrade_is_a_get_without_a_body(start_server: StartServer) -> None:
    """RFC 6455 §4.1: the handshake is a GET; picows never sees another."""
    plant = await start_server()
    port = plant.listeners[Market.UM].port
    upgrade = b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    for request in (
        _with_body(b"POST", b"/ws/btcusdt@depth", b"", upgrade + b"Sec-WebSocket-Version: 13\r\n"),
        _with_body(b"GET", b"/ws/btcusdt@depth", b"abc", upgrade + b"Sec-WebSocket-Version: 13\r\n"),
    ):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        answer = await read_answer(reader)
        assert _status_and_body(answer) == (400, b"A WebSocket handshake is a GET without a body\n")
        assert await closed_within(reader, 5 * SECONDS)
        writer.close()


async def test_a_body_that_trickles_is_closed_at_the_head_timeout(start_server: StartServer) -> None:
    """The head's time covers its body: a body sent a byte at a time holds the connection
    ``HEAD_TIMEOUT_MS`` from the head's first byte, no longer (as a slow head, slowloris)."""
    clock = ManualClock()
    plant = await start_server(clock=clock)
    port = plant.listeners[Market.UM].port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    # the ping's answer says the server has read what came with it: the head and 2 bytes
    writer.write(PING + b"POST /fapi/v1/depth HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
    assert _status_and_body(await read_answer(reader)) == (200, b"{}")
    clock.advance(HEAD_TIMEOUT_MS - 1)
    writer.write(b"c")  # a byte of the body moves nothing
    assert not await closed_within(reader, 0.05 * SECONDS)
    clock.advance(1)
    assert await closed_within(reader, 5 * SECONDS)
    writer.close()


async def test_a_client_that_expects_100_continue_is_told_to_send_its_body(start_server: StartServer) -> None:
    """RFC 9110 §10.1.1: ``100 Continue`` once the head is accepted, then the answer; a
    client that sent its body with the head anyway is not told."""
    plant = await start_server()
    reader, writer = await asyncio.open_connection("127.0.0.1", plant.listeners[Market.UM].port)
    expect = b"Expect: 100-continue\r\n"
    writer.write(_with_body(b"POST", b"/fapi/v1/depth", b"symbol=BTCUSDT", expect)[: -len(b"symbol=BTCUSDT")])
    async with asyncio.timeout(5 * SECONDS):
        assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
    writer.write(b"symbol=BTCUSDT" + _with_body(b"PUT", b"/fapi/v1/depth", b"a=1", expect))
    for method in (b"POST", b"PUT"):
        status, body = _status_and_body(await read_answer(reader))
        assert (status, method in body) == (404, True)
    writer.write(PING)
    assert _status_and_body(await read_answer(reader)) == (200, b"{}")
    writer.close()
