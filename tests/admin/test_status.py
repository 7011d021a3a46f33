"""``/api/status`` over a real socket: each listener's connections, rates, busiest streams
and limit hits, and the server's recent closes, as a client's actions move them (on a
ManualClock: the rates are over the clock's seconds)."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from conftest import StartServer
from ports import free_port
from quiet_market import QuietMarket
from rawws import CLOSE, RawWebSocket, close_code

from tickerplant.app import Tickerplant
from tickerplant.bus import StreamMessage
from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market
from tickerplant.protocol.errors import CLOSE_INVALID_JSON

pytestmark = pytest.mark.loopback


async def status(server: Tickerplant) -> Any:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{server.admin_url()}/api/status") as response,
    ):
        assert response.status == 200
        return json.loads(await response.text())


async def test_rates_busiest_streams_limit_hits_and_recent_closes(start_server: StartServer) -> None:
    clock = ManualClock()
    server = await start_server(admin_port=free_port(), clock=clock, source=QuietMarket(clock))
    um = server.listeners[Market.UM]
    reader = await RawWebSocket.connect(um.port, "/ws/btcusdt@bookTicker/ethusdt@bookTicker")
    other = await RawWebSocket.connect(um.port, "/ws/btcusdt@bookTicker")
    payload = b'{"e":"bookTicker","u":1,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1","T":1,"E":1}'
    for _ in range(10):
        server.bus.publish(Market.UM, [StreamMessage("btcusdt@bookTicker", payload)])
        assert (await reader.recv()).payload == payload
        assert (await other.recv()).payload == payload
    clock.advance(2000)  # two seconds since the first sample, which saw nothing sent
    answer = (await status(server))["listeners"]["um"]
    assert answer["connections"] == {"streams": 2, "wsApi": 0}
    assert answer["messagesPerSecond"] == 10.0  # 20 frames in 2 s
    frame = 2 + len(payload)
    assert answer["bytesPerSecond"] == 20 * frame / 2
    assert answer["busiestStreams"] == [
        {"stream": "btcusdt@bookTicker", "subscribers": 2, "messages": 20, "bytes": 20 * frame},
        {"stream": "ethusdt@bookTicker", "subscribers": 1, "messages": 0, "bytes": 0},
    ]
    assert answer["limitHits"]["invalid_json"] == 0

    other.send_text("not json")
    frame_ = await other.recv_until(CLOSE)
    assert close_code(frame_) == (CLOSE_INVALID_JSON.code, CLOSE_INVALID_JSON.reason)
    await other.close()
    clock.advance(5000)  # the window holds nothing sent any more
    answer = await status(server)
    um_status = answer["listeners"]["um"]
    assert um_status["limitHits"]["invalid_json"] == 1
    assert um_status["messagesPerSecond"] == 0.0
    (close,) = answer["recentCloses"]
    assert close["market"] == "um" and close["surface"] == "streams"
    assert (close["code"], close["reason"]) == (CLOSE_INVALID_JSON.code, CLOSE_INVALID_JSON.reason)
    assert close["peer"].startswith("127.0.0.1:") and close["time"] == clock.now_ms() - 5000
    reader.send_text("not json either")
    await reader.recv_until(CLOSE)
    closes = (await status(server))["recentCloses"]
    assert [c["time"] for c in closes] == sorted((c["time"] for c in closes), reverse=True)
    assert len(closes) == 2
    await reader.close()
