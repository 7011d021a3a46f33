"""The bytes of REST and WebSocket API replies over real sockets: depth answers are written
around their shared levels (never joined, then copied), and what reaches the client is
exactly what picows and msgspec would have written (spec §6.1, §7.4)."""

from __future__ import annotations

import asyncio

import msgspec
from conftest import StartServer
from picows import WSUpgradeResponse
from rawws import TEXT, RawWebSocket, read_answer

from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market


async def http_get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, target: str) -> bytes:
    """The whole response to one request on a kept-alive connection."""
    writer.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    return await read_answer(reader)


def picows_bytes(status: int, headers: list[tuple[str, str]], body: bytes) -> bytes:
    """What picows writes for a response with these headers and body, refused upgrade or
    plain GET alike (with `Connection` and `Date` as the listener sets them)."""
    extra = [(k, v) for k, v in headers if k not in ("Connection", "Date", "Content-Length")]
    if status == 200:
        response = WSUpgradeResponse.create_ok_response(body, extra)
    else:
        response = WSUpgradeResponse.create_error_response(status, body, extra)
    fields = dict(headers)
    response.headers["Connection"] = fields["Connection"]
    response.headers["Date"] = fields["Date"]
    return bytes(response.to_bytes())


async def test_rest_responses_are_written_as_picows_writes_them(start_server: StartServer) -> None:
    # on a clock that stands still: the weight's window is the clock minute, and a real one
    # turning between the requests gave the last its new minute's 40 (200, not 429)
    plant = await start_server(request_weight_per_min=40, clock=ManualClock())
    port = plant.listeners[Market.UM].port
    targets = [
        "/fapi/v1/depth?symbol=BTCUSDT&limit=20",  # a depth answer: head and levels, two parts
        "/fapi/v1/depth?symbol=BTCUSDT&limit=20",  # the same levels again, from the cache
        "/fapi/v1/rpiDepth?symbol=ETHUSDT&limit=5",
        "/fapi/v1/ping",
        "/fapi/v1/depth?symbol=NOPE",
        "/fapi/v1/depth?symbol=BTCUSDT&limit=7",
        "/fapi/v1/depth?symbol=BTCUSDT&limit=1000",  # past the weight: 429 with Retry-After
    ]
    statuses = []
    reader, writer = await asyncio.open_connection("127.0.0.1", port)  # one connection for all
    for target in targets:
        response = await http_get(reader, writer, target)
        head, _, body = response.partition(b"\r\n\r\n")
        status_line, *lines = head.decode().split("\r\n")
        status = int(status_line.split(" ")[1])
        headers = [(k, v) for k, _, v in (line.partition(": ") for line in lines)]
        names = [k for k, _ in headers]
        assert names[:3] == ["Content-Type", "X-MBX-USED-WEIGHT", "X-MBX-USED-WEIGHT-1M"]
        assert names[-3:] == ["Connection", "Date", "Content-Length"]
        fields = dict(headers)
        assert fields["Content-Type"] == "application/json" and fields["Connection"] == "keep-alive"
        assert fields["X-MBX-USED-WEIGHT"] == fields["X-MBX-USED-WEIGHT-1M"]
        assert response == picows_bytes(status, headers, body)
        assert body == msgspec.json.encode(msgspec.json.decode(body))  # compact JSON, keys as written
        statuses.append(status)
    writer.close()
    assert statuses == [200, 200, 200, 200, 400, 400, 429]


async def test_ws_api_depth_replies_are_msgspec_s_envelope_in_one_frame(start_server: StartServer) -> None:
    plant = await start_server()
    ws = await RawWebSocket.connect(plant.listeners[Market.UM].port, "/ws-fapi/v1")
    try:
        requests = [
            (7, {"symbol": "BTCUSDT", "limit": 20}),
            ("é-\u2028", {"symbol": "btcusdt", "limit": 5}),  # a string id, echoed as sent
            (None, {"symbol": "ETHUSDT", "limit": "10", "returnRateLimits": "false"}),
            (8, {"symbol": "BTCUSDT", "limit": 20}),  # the same levels again, from the cache
        ]
        for request_id, params in requests:
            ws.send_text(msgspec.json.encode({"id": request_id, "method": "depth", "params": params}))
            frame = await ws.recv()
            assert frame.opcode == TEXT
            reply = msgspec.json.decode(frame.payload)
            expected_keys = ["id", "status", "result"] + ([] if "returnRateLimits" in params else ["rateLimits"])
            assert list(reply) == expected_keys
            assert (reply["id"], reply["status"]) == (request_id, 200)
            assert list(reply["result"]) == ["lastUpdateId", "E", "T", "bids", "asks"]
            limit = int(params["limit"])
            assert len(reply["result"]["bids"]) == len(reply["result"]["asks"]) == limit
            assert frame.payload == msgspec.json.encode(reply)  # byte for byte msgspec's own
    finally:
        await ws.close()


async def test_a_stream_path_asked_without_upgrade_is_refused_as_picows_refuses_it(
    start_server: StartServer,
) -> None:
    """A plain GET of a stream or WebSocket API path is answered by the listener itself (not
    by picows' handshake) with the bytes picows writes: 400 with its reason; the connection
    carries the next request."""
    plant = await start_server()
    port = plant.listeners[Market.UM].port
    reason = b"No WebSocket UPGRADE header. Can 'Upgrade' only to 'websocket'"
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for target in ("/ws/btcusdt@bookTicker", "/stream?streams=btcusdt@depth", "/ws-fapi/v1"):
        response = await http_get(reader, writer, target)
        date = response.split(b"\r\nDate: ")[1].split(b"\r\n")[0].decode()
        assert response == picows_bytes(400, [("Connection", "keep-alive"), ("Date", date)], reason)
    # a plain request still reaches REST through the same path, answered in full
    head, _, body = (await http_get(reader, writer, "/fapi/v1/ping")).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and body == b"{}"
    writer.close()
