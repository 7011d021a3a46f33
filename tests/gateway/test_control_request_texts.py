"""Control messages that are JSON but no request, over a real socket: Binance reads them
with serde_json into a derived struct, so the code-2 text is serde's, in its words and at
its position (spec §3.3), a field named twice refused as serde refuses it, and the
connection goes on. Each expected text is what serde_json 1.0.87 prints for the frame."""

from __future__ import annotations

import json

import pytest
from conftest import StartServer
from rawws import TEXT
from scripted_market import first_reply

SERDE_TEXTS = {
    "null": (b"null", "invalid type: null, expected struct Request at line 1 column 4", None),
    "true": (b"true", "invalid type: boolean `true`, expected struct Request at line 1 column 4", None),
    "an integer": (b"42", "invalid type: integer `42`, expected struct Request at line 1 column 2", None),
    "a float": (b"-1.5e3", "invalid type: floating point `-1500`, expected struct Request at line 1 column 6", None),
    "a string": (b'"str"', 'invalid type: string "str", expected struct Request at line 1 column 5', None),
    "a sequence": (b"[1,2,3]", "expected value at line 1 column 2", None),
    "an empty sequence": (b"[]", "invalid length 0, expected struct Request with 3 elements at line 1 column 2", None),
    "a null method": (b'{"method":null,"id":24}', "expected value at line 1 column 11", 24),
    "a number as the method": (b'{"method":5,"id":25}', "expected value at line 1 column 11", 25),
    "params a string": (
        b'{"method":"SUBSCRIBE","params":"x","id":5}',
        'invalid type: string "x", expected a sequence at line 1 column 34',
        5,
    ),
    "params a map": (
        b'{"method":"SUBSCRIBE","params":{},"id":6}',
        "invalid type: map, expected a sequence at line 1 column 31",
        6,
    ),
    "params before an unknown method": (
        b'{"params":"x","method":"SUBSCRIBEX","id":7}',
        'invalid type: string "x", expected a sequence at line 1 column 13',
        7,
    ),
    "id twice": (
        b'{"method":"SUBSCRIBE","params":["btcusdt@bookTicker"],"id":22,"id":23}',
        "duplicate field `id` at line 1 column 66",
        None,
    ),
    "id twice, no params": (
        b'{"method":"SUBSCRIBE","params":[],"id":22,"id":23}',
        "duplicate field `id` at line 1 column 46",
        None,
    ),
    "method twice": (
        b'{"method":"SUBSCRIBE","method":"UNSUBSCRIBE","params":["btcusdt@bookTicker"],"id":8}',
        "duplicate field `method` at line 1 column 30",
        8,
    ),
    "params twice, escaped": (
        b'{"method":"SUBSCRIBE","params":[],"p\\u0061rams" :["btcusdt@bookTicker"],"id":9}',
        "duplicate field `params` at line 1 column 48",
        9,
    ),
}


@pytest.mark.parametrize("case", sorted(SERDE_TEXTS))
async def test_a_frame_no_request_is_said_as_serde_says_it(start_server: StartServer, case: str) -> None:
    frame, what, echoed = SERDE_TEXTS[case]
    ws, reply = await first_reply(start_server, frame)
    assert reply == {"error": {"code": 2, "msg": f"Invalid request: {what}"}, "id": echoed}
    # nothing was subscribed, and the connection goes on
    ws.send_text(b'{"method":"LIST_SUBSCRIPTIONS","id":1}')
    assert json.loads((await ws.recv_until(TEXT)).payload) == {"result": [], "id": 1}
    await ws.close()
