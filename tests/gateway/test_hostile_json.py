"""Frames that are not JSON over a real socket: on the market streams a code-3 reply and
a 1008 "Invalid JSON" close (spec §2.7), on the WebSocket API a -1000 reply on a
connection that keeps serving; never an unhandled exception, a 1011 or a traceback."""

from __future__ import annotations

import json
import logging

import pytest
from conftest import StartServer
from rawws import CLOSE, TEXT, RawWebSocket, close_code
from scripted_market import ScriptedMarket, first_reply

from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market

BINARY = 0x2
HOSTILE = {
    "nested 200,000 deep": (b"[" * 200_000 + b"]" * 200_000, "recursion limit exceeded at line 1 column 128"),
    "invalid UTF-8 in a string": (
        b'{"method":"SUBSCRIBE","params":["\xff"],"id":1}',
        "invalid unicode code point at line 1 column 34",
    ),
    "an id of 1e400": (b'{"method":"SUBSCRIBE","params":["a"],"id":1e400}', "number out of range at line 1 column 47"),
}


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    assert [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("case", sorted(HOSTILE))
async def test_market_streams_answer_code_3_and_close_1008(
    start_server: StartServer, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    frame, what = HOSTILE[case]
    clock = ManualClock()
    plant = await start_server(clock=clock, source=ScriptedMarket(clock))
    ws = await RawWebSocket.connect(plant.listeners[Market.UM].port, "/ws")
    opcode = BINARY if b"\xff" in frame else TEXT  # a text frame must be UTF-8 (RFC 6455 §8.1)
    ws.send(opcode, frame)
    reply = json.loads((await ws.recv_until(TEXT)).payload)
    assert reply == {"error": {"code": 3, "msg": f"Invalid JSON: {what}"}, "id": None}
    assert close_code(await ws.recv_until(CLOSE)) == (1008, "Invalid JSON")
    await ws.close()
    no_tracebacks(caplog)


async def test_the_websocket_api_answers_minus_1000_and_keeps_serving(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock()
    plant = await start_server(clock=clock, source=ScriptedMarket(clock))
    ws = await RawWebSocket.connect(plant.listeners[Market.UM].port, "/ws-fapi/v1")
    for case in sorted(HOSTILE):
        frame, _ = HOSTILE[case]
        ws.send(BINARY if b"\xff" in frame else TEXT, frame)
        reply = json.loads((await ws.recv_until(TEXT)).payload)
        assert (reply["id"], reply["status"], reply["error"]["code"]) == (None, 400, -1000), case
    ws.send_text('{"id":"after","method":"ticker.price","params":{"symbol":"BTCUSDT"}}')
    reply = json.loads((await ws.recv_until(TEXT)).payload)
    assert (reply["id"], reply["status"]) == ("after", 200)
    await ws.close()
    no_tracebacks(caplog)


# serde_json 1.0.87's texts for these frames: the column is the parser's byte position in
# the frame received (spec §3.3), one past the byte it peeked at for a trailing character
# or comma, at the bytes consumed for an early end
SERDE_POSITIONS = {
    "an early end": (b'{"method":', "EOF while parsing a value at line 1 column 10"),
    "an empty frame": (b"", "EOF while parsing a value at line 1 column 0"),
    "three spaces": (b"   ", "EOF while parsing a value at line 1 column 3"),
    "trailing characters": (
        b'{"method":"SUBSCRIBE","params":["x"],"id":1}garbage',
        "trailing characters at line 1 column 45",
    ),
    "trailing characters on line 3": (
        b'{"method":"SUBSCRIBE","params":["x"],"id":1}\n\n{',
        "trailing characters at line 3 column 1",
    ),
    "a trailing comma": (b'{"a":1,}', "trailing comma at line 1 column 8"),
    "a trailing comma in a request": (
        b'{"method":"SUBSCRIBE","params":["a"],"id":1,}',
        "trailing comma at line 1 column 45",
    ),
}


@pytest.mark.parametrize("case", sorted(SERDE_POSITIONS))
async def test_not_json_is_said_at_serde_jsons_position(start_server: StartServer, case: str) -> None:
    frame, what = SERDE_POSITIONS[case]
    ws, reply = await first_reply(start_server, frame)
    assert reply == {"error": {"code": 3, "msg": f"Invalid JSON: {what}"}, "id": None}
    assert close_code(await ws.recv_until(CLOSE)) == (1008, "Invalid JSON")
    await ws.close()


# serde_json refuses the bracket that opens its 128th level, the object and `params` being
# two (its tests/test.rs test_stack_overflow: 127 levels read, 129 `[` refused at column 128)
SUBSCRIBE = b'{"method":"SUBSCRIBE","params":['
TOO_DEEP = {
    "params 128 deep": (SUBSCRIBE + b"[" * 126 + b"]" * 126 + b'],"id":1}', "line 1 column 158"),
    "params 1,000 deep": (SUBSCRIBE + b"[" * 998 + b"]" * 998 + b'],"id":1}', "line 1 column 158"),
    "a member 128 deep": (
        SUBSCRIBE + b'"btcusdt@aggTrade"],"id":1,"x":' + b'{"a":' * 127 + b"1" + b"}" * 127 + b"}",
        "line 1 column 694",
    ),
    "objects 100,000 deep": (b'{"a":' * 100_000, "line 1 column 636"),
}


@pytest.mark.parametrize("case", sorted(TOO_DEEP))
async def test_a_control_message_nested_past_serde_jsons_levels_is_not_json(
    start_server: StartServer, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    frame, at = TOO_DEEP[case]
    ws, reply = await first_reply(start_server, frame)
    assert reply == {"error": {"code": 3, "msg": f"Invalid JSON: recursion limit exceeded at {at}"}, "id": None}
    assert close_code(await ws.recv_until(CLOSE)) == (1008, "Invalid JSON")
    await ws.close()
    no_tracebacks(caplog)


async def test_a_control_message_127_deep_is_read(start_server: StartServer) -> None:
    frame = SUBSCRIBE + b"[" * 125 + b"]" * 125 + b'],"id":1}'
    ws, reply = await first_reply(start_server, frame)
    assert reply == {"error": {"code": 2, "msg": "Invalid request: invalid type for stream name, expected a string"},
                     "id": 1}  # fmt: skip
    ws.send_text('{"method":"LIST_SUBSCRIPTIONS","id":2}')  # the connection goes on
    assert json.loads((await ws.recv_until(TEXT)).payload) == {"result": [], "id": 2}
    await ws.close()
