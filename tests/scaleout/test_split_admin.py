"""`tickerplant plant` and `tickerplant gateway` with `--admin-port`, as real processes: each
serves its own `/metrics` and `/api/status`; a gap in the plant's frame sequence (a frame
published past the next number, as NATS shows a lost one) moves the gateway's bus
counters, and its stream clients are closed with 1012."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import nats
import pytest
import websockets
from nats_servers import nats_url
from ports import free_port
from prometheus_client.parser import text_string_to_metric_families
from served_workers import recent_past
from timing import LOOK_S, SECONDS

from tickerplant.bus.frames import BUS_VERSION, Frame, decode_frame

# The plant and gateway are processes of their own, on their own loop: the test runs once,
# on asyncio.
__all__ = ["nats_url"]  # the fixture: a real nats-server for the test

QUICK = "[simulator]\nhistory_s = 60\nbook_levels = 20\nsteady_rate = true\n"
AHEAD = 200  # the injected frame's number past one the plant sent: the gateway sees a gap


async def _start(argv: list[str], ready: bytes, started: list[asyncio.subprocess.Process]) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tickerplant.cli", *argv,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    started.append(process)
    assert process.stdout is not None
    async with asyncio.timeout(60 * SECONDS):
        while line := await process.stdout.readline():
            if line.startswith(ready):
                return line.decode()
    raise AssertionError(f"{argv[0]} exited before it served")


@pytest.fixture
async def started() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    processes: list[asyncio.subprocess.Process] = []
    yield processes
    for process in reversed(processes):
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        await process.wait()


async def _get(url: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        return await response.text()


async def _samples(admin: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = await _get(f"{admin}/metrics")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _um(name: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, (("market", "um"),)


async def _until(admin: str, holds: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with asyncio.timeout(10 * SECONDS):
        while not holds(samples := await _samples(admin)):
            await asyncio.sleep(LOOK_S)
    return samples


async def test_each_process_serves_its_own_admin_and_a_gap_moves_the_gateways_bus_counters(
    nats_url: str, started: list[asyncio.subprocess.Process], tmp_path: Path
) -> None:
    config = tmp_path / "quick.toml"
    config.write_text(QUICK + recent_past())
    plant_port, gateway_port = free_port(), free_port()
    said = await _start(
        ["plant", "--nats", nats_url, "--config", str(config), "--admin-port", str(plant_port)],
        b"tickerplant plant publishing", started,
    )  # fmt: skip
    assert f"admin http://127.0.0.1:{plant_port}" in said
    said = await _start(
        ["gateway", "--nats", nats_url, "--um-port", "0", "--cm-port", "0", "--admin-port", str(gateway_port)],
        b"tickerplant gateway on", started,
    )  # fmt: skip
    plant, gateway = f"http://127.0.0.1:{plant_port}", f"http://127.0.0.1:{gateway_port}"

    status = json.loads(await _get(f"{plant}/api/status"))
    assert (status["source"], status["listeners"], status["replay"]) == ("simulator", {}, None)
    plant_samples = await _samples(plant)
    assert plant_samples[_um("tickerplant_published_messages_total")] > 0
    assert plant_samples["tickerplant_simulator_actions_total", ()] > 0
    assert (
        "tickerplant_book_levels",
        (("market", "um"), ("side", "bid"), ("symbol", "BTCUSDT")),
    ) in plant_samples

    status = json.loads(await _get(f"{gateway}/api/status"))
    streams = status["listeners"]["um"]["streams"]
    assert "BTCUSDT" in status["listeners"]["um"]["symbols"]
    before = await _until(gateway, lambda s: s[_um("tickerplant_bus_received_frames_total")] > 0)
    assert (
        before[_um("tickerplant_bus_received_bytes_total")]
        > before[_um("tickerplant_bus_received_frames_total")]
    )
    assert (before[_um("tickerplant_bus_gaps_total")], before[_um("tickerplant_bus_resyncs_total")]) == (0, 1)
    # the plant follows the gateway's clients' streams: it heard the gateway's announcements
    announced = "tickerplant_bus_demand_announcements_total"
    heard = await _until(plant, lambda s: s["tickerplant_bus_demand_gateways", ()] == 1)
    assert heard[announced, (("outcome", "taken"),)] > 0 and heard[announced, (("outcome", "dropped"),)] == 0

    bus = await nats.connect(nats_url)
    try:
        await bus.publish("tp.demand", b"\xc1 not an announcement")  # dropped, and counted so
        await bus.flush()
        await _until(plant, lambda s: s[announced, (("outcome", "dropped"),)] == 1)
        async with websockets.connect(f"{streams}/ws/btcusdt@depth@100ms") as client:
            async with asyncio.timeout(10 * SECONDS):
                await client.recv()  # it is served
            frames = await bus.subscribe("tp.um.frames")
            sent = decode_frame((await frames.next_msg(timeout=10 * SECONDS)).data)
            await frames.unsubscribe()
            await bus.publish("tp.um.frames", msgspec.msgpack.encode(Frame(BUS_VERSION, sent.epoch, sent.seq + AHEAD, [])))
            await bus.flush()
            async with asyncio.timeout(10 * SECONDS):
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    while True:
                        await client.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
            assert closed.value.rcvd.reason.startswith("lost ")
    finally:
        await bus.close()
    after = await _until(gateway, lambda s: s[_um("tickerplant_bus_resyncs_total")] == 2)
    assert after[_um("tickerplant_bus_gaps_total")] == 1
    assert 1 <= after[_um("tickerplant_bus_missed_frames_total")] < AHEAD
    assert after[_um("tickerplant_bus_loss_closes_total")] == 1
    assert after[_um("tickerplant_bus_plant_restarts_total")] == 0
    assert after["tickerplant_bus_gaps_total", (("market", "cm"),)] == 0
    closes = after["tickerplant_closes_total", (("code", "1012"), ("market", "um"), ("reason", closed.value.rcvd.reason),
                                                 ("surface", "streams"))]  # fmt: skip
    assert closes == 1
