"""`tickerplant serve --workers 2`'s admin listener, as a user runs it (a replay): the
status and metrics are the whole server's, summed over the gateways; the replay controls
reach the plant; a gateway that does not answer (stopped) leaves the scrape whole but for
its own figures, and the workers gauges say so."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families
from public_data import T0, UM_TRADES_HEADER, trades, trades_lines, write
from served_workers import Served, gateway_pids, serve_workers, sockets_of
from timing import SECONDS

# a start of every process, under load, and its stop in order
# The servers are processes of their own, on their own loop: the test runs once, on asyncio.
pytestmark = pytest.mark.timeout(int(150 * SECONDS))

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
STREAMS = (("market", "um"), ("surface", "streams"))


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    rows = trades(random.Random(3), 3000, T0, 42000.0, "0.1", "0.001")  # about half an hour
    write(tmp_path, "BTCUSDT-trades-2024-01-01", UM_TRADES_HEADER, trades_lines(rows), zipped=False)
    async with serve_workers("--replay", str(tmp_path), "--speed", "60", "--paused") as served:
        yield served


async def _request(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    if method == "POST" and body is None:
        body = {}  # the admin takes JSON POSTs only
    async with aiohttp.ClientSession() as session, session.request(method, url, json=body) as response:
        text = await response.text()
        return response.status, json.loads(text) if response.content_type == "application/json" else text


async def _status(served: Served) -> Any:
    code, status = await _request("GET", f"{served.admin}/api/status")
    assert code == 200
    return status


async def _samples(served: Served) -> Samples:
    code, text = await _request("GET", f"{served.admin}/metrics")
    assert code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_the_admin_listener_is_the_whole_servers_and_drives_the_plants_replay(served: Served) -> None:
    admin = served.admin
    status = await _status(served)
    assert (status["source"], status["replay"]["state"]) == ("replay", "paused")
    assert [(w["role"], w["up"]) for w in status["workers"]] == [
        ("plant", True),
        ("gateway", True),
        ("gateway", True),
    ]
    assert "admin           " + admin in "".join(served.log)
    um = status["listeners"]["um"]["streams"]
    assert status["listeners"]["um"]["symbols"] == ["BTCUSDT"]

    # the replay controls go to the plant
    code, answer = await _request("POST", f"{admin}/api/replay/resume")
    assert (code, answer["state"]) == (200, "playing")
    start = answer["replayTime"]
    async with asyncio.timeout(10 * SECONDS):
        while (await _status(served))["replay"]["replayTime"] == start:
            await asyncio.sleep(0)
    code, answer = await _request("POST", f"{admin}/api/replay/speed", {"speed": 0})
    assert code == 400 and "a speed is a number from" in answer["msg"]
    code, answer = await _request("POST", f"{admin}/api/replay/speed", {"speed": 30})
    assert (code, answer["speed"]) == (200, 30.0)
    code, answer = await _request("POST", f"{admin}/api/replay/pause")
    assert (code, answer["state"]) == (200, "paused")
    held = answer["replayTime"]
    assert (await _status(served))["replay"]["replayTime"] == held

    # the children's own admin listeners take the run's token, which only the supervisor holds
    # (handed over with their configuration): no local process drives the plant past it
    plant_admin = next(w["admin"] for w in status["workers"] if w["role"] == "plant")
    for worker in status["workers"]:
        assert (await _request("GET", f"{worker['admin']}/api/status"))[0] == 401
    assert (await _request("POST", f"{plant_admin}/api/accounts", {"name": "intruder"}))[0] == 401

    # the connections of both gateways, summed: open them until each gateway holds some (its
    # sockets counted by the kernel, as its admin listener is the supervisor's alone to ask)
    pids = gateway_pids(served)
    before = [sockets_of(pid) for pid in pids]
    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for _ in range(40):
            clients.append(await stack.enter_async_context(websockets.connect(f"{um}/ws/btcusdt@aggTrade")))
            held_by = [sockets_of(pid) - held for pid, held in zip(pids, before, strict=True)]
            if all(held > 0 for held in held_by):
                break
        assert len(pids) == 2 and all(held > 0 for held in held_by), "the kernel gave every connection to one gateway"
        samples = await _samples(served)
        assert samples["tickerplant_connections", STREAMS] == len(clients)
        assert (await _status(served))["listeners"]["um"]["connections"]["streams"] == len(clients)
        accepted = samples["tickerplant_connections_accepted_total", STREAMS]
        assert accepted >= len(clients)
        assert samples["tickerplant_workers_up", (("role", "gateway"),)] == 2
        assert samples["tickerplant_replay_progress_ratio", ()] > 0

        # a gateway that does not answer: the scrape still answers, without its figures
        pid = int(re.findall(r"gateway 1 started \(pid (\d+)\)", "".join(served.log))[-1])
        os.kill(pid, signal.SIGSTOP)
        try:
            samples, status = await asyncio.gather(_samples(served), _status(served))
        finally:
            os.kill(pid, signal.SIGCONT)
        assert samples["tickerplant_workers_up", (("role", "gateway"),)] == 1
        assert samples["tickerplant_workers", (("role", "gateway"),)] == 2
        assert samples["tickerplant_workers_up", (("role", "plant"),)] == 1
        assert samples["tickerplant_connections", STREAMS] < len(clients)
        assert [w["up"] for w in status["workers"]] == [True, False, True]
        assert status["replay"]["state"] == "paused"
