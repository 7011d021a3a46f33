"""A server stopping closes every WebSocket connection it holds with 1001 "Server shutting
down" (docs/operations.md, "Connections": the close a client reads when the server stops),
whatever the connection: a raw stream, a combined stream, a user data stream, the WebSocket
API, on both markets; and so does `tickerplant serve` on SIGTERM. A client reads the close
frame, not a dropped socket."""

from __future__ import annotations

import signal
from pathlib import Path

import aiohttp
import pytest
from conftest import StartServer
from ports import free_port
from rawws import CLOSE, RawWebSocket, close_code
from served_venue import account, serve
from timing import SECONDS

from tickerplant.market.instruments import Market
from tickerplant.protocol.errors import CLOSE_SHUTDOWN

SHUTDOWN = (CLOSE_SHUTDOWN.code, "Server shutting down")
PATHS = {
    Market.UM: ("/ws/btcusdt@bookTicker", "/stream?streams=btcusdt@aggTrade/ethusdt@depth", "/ws-fapi/v1"),
    Market.CM: ("/ws/btcusd_perp@bookTicker", "/stream?streams=btcusd_perp@aggTrade"),
}


async def listen_key(port: int, api_key: str) -> str:
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{port}/fapi/v1/listenKey"
        async with session.post(url, headers={"X-MBX-APIKEY": api_key}) as response:
            assert response.status == 200, await response.text()
            key: str = (await response.json())["listenKey"]
            return key


async def test_every_connection_reads_1001_server_shutting_down_when_the_server_stops(
    start_server: StartServer, tmp_path: Path
) -> None:
    path = tmp_path / "venue.db"
    _, api_key = account(path, "alice", Market.UM, "USDT", "1000")
    plant = await start_server(venue_db=str(path))
    clients: list[tuple[str, RawWebSocket]] = []
    for market, paths in PATHS.items():
        for each in paths:
            ws = await RawWebSocket.connect(plant.listeners[market].port, each)
            assert ws.status == 101, each
            clients.append((f"{market.name} {each}", ws))
    port = plant.listeners[Market.UM].port
    user = await RawWebSocket.connect(port, f"/ws/{await listen_key(port, api_key)}")
    assert user.status == 101
    clients.append(("UM user data stream", user))
    await plant.close()
    for name, ws in clients:
        assert close_code(await ws.recv_until(CLOSE)) == SHUTDOWN, name
        await ws.close()


@pytest.mark.uvloop_only
async def test_serve_on_sigterm_closes_its_clients_with_1001(tmp_path: Path) -> None:
    port = free_port()
    async with serve(tmp_path / "venue.db", port) as process:
        stream = await RawWebSocket.connect(port, "/ws/btcusdt@bookTicker")
        api = await RawWebSocket.connect(port, "/ws-fapi/v1")
        assert stream.status == api.status == 101
        process.send_signal(signal.SIGTERM)
        for ws in (stream, api):
            assert close_code(await ws.recv_until(CLOSE, 30 * SECONDS)) == SHUTDOWN
            await ws.close()
        assert await process.wait() == 0
