"""The replay controls on the admin listener, over a real socket, with a real replay of
public files on a ManualClock: pause holds the replay clock while the server's clock
runs on, resume and a speed change move it again, at the new speed from where it stood.
The market listeners' deprecated GET paths still answer."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest
from conftest import StartServer
from ports import free_port
from public_data import T0, UM_TRADES_HEADER, trades, trades_lines, write
from timing import eventually

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock
from tickerplant.config import ReplayConfig
from tickerplant.market.instruments import Market

pytestmark = pytest.mark.loopback


async def post(server: Tickerplant, action: str, body: Any = None) -> tuple[int, Any]:
    url = f"{server.admin_url()}/api/replay/{action}"
    data = msgspec.json.encode({} if body is None else body)  # JSON, as the admin takes POSTs
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession() as session, session.post(url, data=data, headers=headers) as response:
        return response.status, json.loads(await response.text())


def replay_time(server: Tickerplant) -> int:
    replay = server.status()["replay"]
    assert replay is not None
    return int(replay["replayTime"])


async def test_pause_holds_the_replay_clock_resume_and_speed_move_it(
    start_server: StartServer, tmp_path: Path
) -> None:
    rows = trades(random.Random(5), 600, T0, 2000.0, "0.01", "0.001")  # some minutes of trades
    write(tmp_path, "ETHUSDT-trades-2024-01-01", UM_TRADES_HEADER, trades_lines(rows), zipped=False)
    clock = ManualClock()
    server = await start_server(
        admin_port=free_port(),
        clock=clock,
        replay=ReplayConfig(paths=(str(tmp_path),), speed=1.0, progress=False),
    )
    start = rows[0].time_ms  # the first row's time: the replay starts there
    await eventually(lambda: replay_time(server) == start)
    status = server.status()["replay"]
    assert status["startTime"] == start and status["endTime"] is None and status["speed"] == 1.0
    clock.advance(1000)
    await eventually(lambda: replay_time(server) == start + 1000)

    code, answer = await post(server, "pause")
    assert code == 200 and answer["state"] == "paused"
    clock.advance(5000)  # the server's clock runs on; the replay's does not
    for _ in range(20):
        await asyncio.sleep(0)  # turns of the loop, for the replay to move if it would
    assert replay_time(server) == start + 1000

    code, answer = await post(server, "resume")
    assert code == 200 and answer["state"] == "playing"
    clock.advance(1000)
    await eventually(lambda: replay_time(server) == start + 2000)

    code, answer = await post(server, "speed", {"speed": 10})
    assert code == 200 and answer["speed"] == 10.0
    clock.advance(1000)  # ten seconds of replay
    await eventually(lambda: replay_time(server) == start + 12_000)
    assert 0 < server.status()["replay"]["progress"] < 1

    # the market listeners serve the status, and change nothing (an <img> tag could)
    um = server.listeners[Market.UM].port
    async with aiohttp.ClientSession() as session:
        for action in ("pause", "resume"):
            async with session.get(f"http://127.0.0.1:{um}/tickerplant/v1/replay/{action}") as response:
                assert response.status == 404
        async with session.get(f"http://127.0.0.1:{um}/tickerplant/v1/replay") as response:
            assert response.status == 200 and json.loads(await response.text())["state"] == "playing"

    # past the clock's speeds its floats overflow: the replay stopped while its status said playing
    for bad in ({"speed": 0}, {"speed": -2}, {"speed": "fast"}, {}, None, {"speed": 1e308}, {"speed": 1e-320}):
        code, answer = await post(server, "speed", bad)
        assert code == 400 and answer["code"] == -1, bad
    assert server.status()["replay"]["speed"] == 10.0  # as it was
    code, answer = await post(server, "speed", {"speed": "max"})
    assert code == 200 and answer["speed"] == "max"
    clock.advance(100)  # the player wakes, and plays the rest flat out
    await eventually(lambda: server.status()["replay"]["state"] == "finished")
    assert server.status()["replay"]["progress"] == 1.0
    # a finished replay has nothing left to pause, play or speed up: refused, and unchanged
    for action, body in (("pause", None), ("resume", None), ("speed", {"speed": 2})):
        assert await post(server, action, body) == (409, {"code": -1, "msg": "not replaying"})
    assert server.status()["replay"]["state"] == "finished"
    assert server.status()["replay"]["speed"] == "max"


async def test_speed_is_refused_without_a_replay(start_server: StartServer) -> None:
    server = await start_server(admin_port=free_port())
    assert await post(server, "speed", {"speed": 2}) == (409, {"code": -1, "msg": "not replaying"})
