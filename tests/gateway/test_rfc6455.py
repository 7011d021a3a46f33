"""RFC 6455 and HTTP over a real socket, where picows leaves the rules to its user: a
fragmented message is reassembled (within its bound), a stray continuation frame or a
reserved bit fails the connection with 1002, a text frame that is not UTF-8 with 1007; a
handshake for another WebSocket version gets 426, and a request head that is too long, not
HTTP/1.1 or not a GET gets its own status and a body that does not echo it."""

from __future__ import annotations

import asyncio
import json

import pytest
from conftest import StartServer
from rawws import CLOSE, CONTINUATION, FIN, RSV1, TEXT, RawWebSocket, close_code, http_exchange
from scripted_market import ScriptedMarket, round_trip
from timing import SECONDS

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock
from tickerplant.gateway.message_assembly import MAX_FRAGMENTS, MAX_MESSAGE_BYTES
from tickerplant.market.instruments import Market

SUBSCRIBE = b'{"method":"SUBSCRIBE","params":["btcusdt@aggTrade","ethusdt@aggTrade"],"id":7}'


async def scripted(start_server: StartServer) -> Tickerplant:
    clock = ManualClock()
    return await start_server(clock=clock, source=ScriptedMarket(clock))


async def stream(plant: Tickerplant, path: str = "/ws") -> RawWebSocket:
    ws = await RawWebSocket.connect(plant.listeners[Market.UM].port, path)
    assert ws.status == 101
    return ws


async def closed_with(ws: RawWebSocket) -> tuple[int, str]:
    code = close_code(await ws.recv_until(CLOSE))
    await ws.close()
    return code


async def test_a_fragmented_subscribe_is_reassembled_and_answered(start_server: StartServer) -> None:
    ws = await stream(await scripted(start_server))
    ws.send(TEXT, SUBSCRIBE[:10], flags=0)
    ws.send(CONTINUATION, SUBSCRIBE[10:40], flags=0)
    await round_trip(ws)  # a control frame between the fragments (§5.4)
    ws.send(CONTINUATION, SUBSCRIBE[40:], flags=FIN)
    assert json.loads((await ws.recv_until(TEXT)).payload) == {"result": None, "id": 7}
    ws.send_text('{"method":"LIST_SUBSCRIPTIONS","id":8}')
    reply = json.loads((await ws.recv_until(TEXT)).payload)
    assert reply == {"result": ["btcusdt@aggTrade", "ethusdt@aggTrade"], "id": 8}
    await ws.close()


async def test_a_reassembled_message_past_its_bound_closes_1009(start_server: StartServer) -> None:
    ws = await stream(await scripted(start_server))
    half = MAX_MESSAGE_BYTES // 2 + 1
    ws.send(TEXT, b" " * half, flags=0)
    ws.send(CONTINUATION, b" " * half, flags=FIN)
    assert await closed_with(ws) == (1009, f"Message over {MAX_MESSAGE_BYTES} bytes")


@pytest.mark.parametrize("size", [0, 2])
async def test_a_message_in_too_many_frames_closes_1009(start_server: StartServer, size: int) -> None:
    """The WebSocket API's frames are not counted as a stream's are (10 a second): a message of
    empty (or 2-byte) continuation frames never ended nor passed its 1 MiB, held each frame and
    the loop (memory ~5 MB a second, another client's REST answers seconds late); closed 1009 at
    its 1,025th frame."""
    ws = await stream(await scripted(start_server), "/ws-fapi/v1")
    ws.send(TEXT, b'{"id":', flags=0)
    for _ in range(MAX_FRAGMENTS):
        ws.send(CONTINUATION, b" " * size, flags=0)
    assert await closed_with(ws) == (1009, f"Message in over {MAX_FRAGMENTS} frames")


@pytest.mark.parametrize("path", ["/ws", "/ws-fapi/v1"])
async def test_a_stray_continuation_frame_closes_1002(start_server: StartServer, path: str) -> None:
    ws = await stream(await scripted(start_server), path)
    ws.send(CONTINUATION, b'"id":1}', flags=FIN)
    assert await closed_with(ws) == (1002, "Continuation frame without a message to continue")


async def test_a_new_message_inside_a_fragmented_one_closes_1002(start_server: StartServer) -> None:
    ws = await stream(await scripted(start_server))
    ws.send(TEXT, SUBSCRIBE[:10], flags=0)
    ws.send_text(SUBSCRIBE)
    assert await closed_with(ws) == (1002, "New message before the fragmented one ended")


@pytest.mark.parametrize("path", ["/ws", "/ws-fapi/v1"])
async def test_a_frame_with_rsv1_closes_1002(start_server: StartServer, path: str) -> None:
    ws = await stream(await scripted(start_server), path)
    ws.send(TEXT, SUBSCRIBE, flags=FIN | RSV1)
    assert await closed_with(ws) == (1002, "Reserved bits set: no extension was negotiated")


@pytest.mark.parametrize("path", ["/ws", "/ws-fapi/v1"])
async def test_a_text_frame_that_is_not_utf8_closes_1007(start_server: StartServer, path: str) -> None:
    ws = await stream(await scripted(start_server), path)
    ws.send(TEXT, b'{"method":"SUBSCRIBE","params":["\xff"],"id":1}')
    assert await closed_with(ws) == (1007, "Text message is not valid UTF-8")


@pytest.mark.parametrize("path", ["/ws", "/ws-fapi/v1"])
async def test_a_close_without_a_status_code_is_answered_1000_and_nothing_after(
    start_server: StartServer, path: str
) -> None:
    ws = await stream(await scripted(start_server), path)
    # Nothing to echo, and 1005 (or 0) must never go on the wire (RFC 6455 §7.4.1); a ping
    # and an unmasked frame right behind it get no pong and no second close.
    ws.writer.write(b"\x88\x80" + bytes(4) + b"\x89\x80" + bytes(4) + b"\x81\x02{}")
    frames = []
    async with asyncio.timeout(5 * SECONDS):
        while not ws.reader.at_eof():
            try:
                frames.append(await ws.recv())
            except asyncio.IncompleteReadError:
                break
    assert [(frame.opcode, frame.payload) for frame in frames] == [(CLOSE, b"\x03\xe8")]
    await ws.close()


@pytest.mark.parametrize("path", ["/ws", "/ws-fapi/v1"])
async def test_nothing_follows_the_close_for_a_broken_frame(start_server: StartServer, path: str) -> None:
    ws = await stream(await scripted(start_server), path)
    # One write: a text frame that gets an answer (masked with a zero key), then an
    # unmasked one. picows reads the second before handing over the first and closes 1002.
    answered = b"not json"
    ws.writer.write(bytes((0x81, 0x80 | len(answered))) + bytes(4) + answered + b"\x81\x02{}")
    frames = []
    async with asyncio.timeout(5 * SECONDS):
        while not ws.reader.at_eof():
            try:
                frames.append(await ws.recv())
            except asyncio.IncompleteReadError:
                break
    assert [frame.opcode for frame in frames] == [CLOSE]
    assert close_code(frames[0])[0] == 1002
    await ws.close()


def upgrade(version: str) -> bytes:
    """A handshake as RawWebSocket sends it, for another version."""
    return (
        "GET /ws/btcusdt@aggTrade HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: {version}\r\n\r\n"
    ).encode()


@pytest.mark.parametrize("version", ["8", "7", "14"])
async def test_another_websocket_version_gets_426_naming_13(start_server: StartServer, version: str) -> None:
    plant = await scripted(start_server)
    answer = await http_exchange(plant.listeners[Market.UM].port, upgrade(version))
    assert answer.status == 426
    assert answer.headers["sec-websocket-version"] == "13"
    assert answer.headers["upgrade"] == "websocket"
    await (await stream(plant, "/ws/btcusdt@aggTrade")).close()  # 13 is taken


PING_REST = "/fapi/v1/ping"
TOO_LONG = 16 * 1024


@pytest.mark.parametrize(
    ("request_head", "status"),
    [
        (f"GET {PING_REST}?{'a' * TOO_LONG} HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (f"GET {PING_REST} HTTP/1.1\r\nHost: x\r\nX-Pad: {'a' * TOO_LONG}\r\n\r\n", 431),
        (f"GET {PING_REST} HTTP/1.1\r\nHost: x\r\n" + "X-Pad: a\r\n" * 2000 + "\r\n", 431),  # no blank line in 16 KiB
        (f"GET {PING_REST} HTTP/1.1\r\n" + "X-A: a\r\n" * 129 + "\r\n", 431),  # 129 fields, within 16 KiB
    ],
    ids=["uri", "a long field", "many fields past 16 KiB", "129 fields"],
)
async def test_a_request_head_too_long_gets_414_or_431(start_server: StartServer, request_head: str, status: int) -> None:
    plant = await scripted(start_server)
    answer = await http_exchange(plant.listeners[Market.UM].port, request_head.encode())
    assert answer.status == status
    assert len(answer.body) < 100


@pytest.mark.parametrize(
    ("request_line", "status", "body"),
    [
        (f"GET {PING_REST} HTTP/1.0", 400, b"HTTP/1.1 required\n"),
        (f"PATCH {PING_REST} HTTP/1.1", 405, b"Method not allowed\n"),
        (f"HEAD {PING_REST} HTTP/1.1", 405, b""),  # no body in an answer to HEAD (RFC 9110 §9.3.2)
        (f"GET {PING_REST} HTTP/2.0", 505, b"HTTP/1.1 required\n"),
        (f"GET  {PING_REST} HTTP/1.1", 400, b"Malformed request line\n"),
    ],
)
async def test_a_request_that_is_not_an_http_1_1_get_gets_its_status(
    start_server: StartServer, request_line: str, status: int, body: bytes
) -> None:
    plant = await scripted(start_server)
    answer = await http_exchange(plant.listeners[Market.UM].port, f"{request_line}\r\nHost: x\r\n\r\n".encode())
    assert (answer.status, answer.body) == (status, body)  # a short body that does not echo the request
    assert answer.headers["connection"] == "close"
    assert int(answer.headers["content-length"]) == len(body or b"Method not allowed\n")
    if status == 405:
        assert answer.headers["allow"] == "GET, POST, PUT, DELETE, OPTIONS"
    rest = await http_exchange(plant.listeners[Market.UM].port, f"GET {PING_REST} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert (rest.status, rest.body) == (200, b"{}")


async def test_a_malformed_header_gets_400_without_the_echo(start_server: StartServer) -> None:
    plant = await scripted(start_server)
    answer = await http_exchange(plant.listeners[Market.UM].port, b"GET /fapi/v1/ping HTTP/1.1\r\nno colon here\r\n\r\n")
    assert (answer.status, answer.body) == (400, b"Malformed request head\n")
