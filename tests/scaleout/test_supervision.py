"""`tickerplant serve --workers N` supervises: each kind of child killed (`kill -9`: the
nats-server, the plant, a gateway) is restarted and a client's data flows again within the
times docs/operations.md states, every id it skipped reported as a `Gap`, and the status
then says every worker is up; its children die with it, `kill -9` included (the
nats-server on its parent-death signal, the plant and the gateways on their lifeline
pipe), and a second `serve` on the ports a live one holds refuses to start, naming the
process to stop; once that one is gone, it starts."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ports import free_port
from scaleout_setup import StreamsClient
from served_venue import refused
from served_workers import get_json, recent_past, serve_workers
from timing import LOOK_S, SECONDS, eventually

from tickerplant.client import MarketStreams
from tickerplant.scaleout.restarts import STABLE_MS, ChildLife, RestartDelays

# The servers are processes of their own, on their own loop: the tests run once, on asyncio.
pytestmark = pytest.mark.timeout(int(120 * SECONDS))

QUICK = "[simulator]\nhistory_s = 60\nbook_levels = 20\nsteady_rate = true\n"
CHILDREN_GONE_S = 10  # docs/operations.md: the children of a killed supervisor stop within it
# docs/operations.md: a client's data flows again within these of its kill
BACK_S = {"nats-server": 10, "plant": 15, "gateway 1": 10}
# the first restart delay (restart_delay_s) of the kill tests: 1 s by default, which the
# restart tests waited out four times over (what they check is that each child comes back,
# and the times of BACK_S hold all the more; the delay's own value is the status test's and
# test_restarts_wait_longer…'s)
FIRST_DELAY_MS = 250


def _alive(pid: int) -> bool:
    # a zombie (exited, not yet reaped by its new parent) is gone for every purpose here; a
    # process reaped between two looks is gone too (its /proc entry goes with it)
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        return False


def _pids(log: list[str]) -> dict[str, int]:
    text = "".join(log)
    return {name: int(pid) for name, pid in re.findall(r"(nats-server|plant|gateway \d) started .*\(pid (\d+)\)", text)}


async def test_a_second_serve_refuses_the_ports_of_a_live_one_and_kill_9_takes_the_children_along(
    tmp_path: Path,
) -> None:
    config = tmp_path / "quick.toml"
    config.write_text(QUICK + recent_past())
    um, cm = free_port(), free_port()
    ports = ["--um-port", str(um), "--cm-port", str(cm), "--config", str(config)]
    async with serve_workers(*ports) as first:
        pids = _pids(first.log)
        assert set(pids) == {"nats-server", "plant", "gateway 1", "gateway 2"}
        # beside it: serve --workers, and one process (both at once: each is a process' start)
        answers = await asyncio.gather(refused("--workers", "2", *ports), refused(*ports))
        for code, said in answers:
            assert code != 0
            assert f"port {um} (USDⓈ-M) is served by another tickerplant, pid {first.process.pid}" in said

        first.process.send_signal(signal.SIGKILL)
        await eventually(lambda: not any(_alive(pid) for pid in pids.values()), CHILDREN_GONE_S * SECONDS)

    async with serve_workers(*ports) as second:  # the ports are free: it serves
        assert second.process.returncode is None
        assert f"127.0.0.1:{um}/ws" in "".join(second.log)


async def test_each_child_killed_comes_back_and_the_clients_data_flows_again(tmp_path: Path) -> None:
    config = tmp_path / "quick.toml"
    config.write_text(f"restart_delay_s = {FIRST_DELAY_MS / 1000}\n{QUICK}{recent_past()}")
    async with serve_workers("--config", str(config)) as served:
        (url,) = re.findall(r"USDⓈ-M streams  (ws://[\d.]+:\d+)/ws", "".join(served.log))
        async with MarketStreams(url) as streams:
            await streams.subscribe("btcusdt@aggTrade", "btcusdt@depth@100ms")
            client = StreamsClient(streams)
            for victim, back_s in BACK_S.items():
                await eventually(lambda: len(client.items) >= 5, 10 * SECONDS)
                pid = _pids(served.log)[victim]
                os.kill(pid, signal.SIGKILL)
                said = f"{victim} (pid {pid}) exited with -9; restarting it"
                await eventually(lambda: any(said in line for line in served.log), 5 * SECONDS)  # noqa: B023
                before = len(client.items)
                # data again: events after the kill (a Gap or a reconnect may come first)
                await eventually(lambda: len(client.items) >= before + 20, back_s * SECONDS)  # noqa: B023
                # restarted (a gateway's clients moved to the other one meanwhile)
                await eventually(lambda: _pids(served.log)[victim] != pid, back_s * SECONDS)  # noqa: B023
            client.reading.cancel()
            assert client.unreported() == []  # every skip in its ids was reported

        async def all_up() -> bool:
            status = await get_json(f"{served.admin}/api/status")
            return all(worker["up"] for worker in status["workers"])

        async with asyncio.timeout(20 * SECONDS):
            while not await all_up():
                await asyncio.sleep(LOOK_S)


async def test_the_status_says_which_child_is_down_since_when_and_when_it_starts_again(tmp_path: Path) -> None:
    """A plant killed twice in a row waits the first delay (``restart_delay_s``, a quarter
    second here), then twice that, before its next start: while it waits, /api/status lists
    it down, since its exit, with its exit status, its restarts and when its next start is
    due; then up again, since it was ready."""
    config = tmp_path / "quick.toml"
    config.write_text(f"restart_delay_s = {FIRST_DELAY_MS / 1000}\n{QUICK}{recent_past()}")
    async with serve_workers("--config", str(config)) as served:
        status = await get_json(f"{served.admin}/api/status")
        processes = {p["name"]: p for p in status["processes"]}
        assert list(processes) == ["nats-server", "plant", "gateway 1", "gateway 2"]
        assert {(p["state"], p["restarts"], p["nextStartMs"]) for p in processes.values()} == {("up", 0, None)}
        assert processes["plant"]["pid"] == _pids(served.log)["plant"]

        async def plant_when(check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
            async with asyncio.timeout(30 * SECONDS):
                while True:
                    status = await get_json(f"{served.admin}/api/status")
                    plant = next(p for p in status["processes"] if p["name"] == "plant")
                    if check(plant):
                        return status
                    await asyncio.sleep(LOOK_S)

        for restarts, wait_ms in ((1, FIRST_DELAY_MS), (2, 2 * FIRST_DELAY_MS)):  # killed again once it was back
            pid = _pids(served.log)["plant"]
            os.kill(pid, signal.SIGKILL)
            if restarts == 2:  # the second wait: seen by the status (polled every LOOK_S)
                status = await plant_when(lambda p: p["state"] == "down")
                plant = next(p for p in status["processes"] if p["name"] == "plant")
                assert plant["pid"] == pid and plant["lastExit"] == -9 and plant["restarts"] == 1
                assert plant["nextStartMs"] - plant["sinceMs"] == wait_ms
                assert next((w["role"], w["up"]) for w in status["workers"]) == ("plant", False)
            status = await plant_when(lambda p: p["state"] == "up" and p["restarts"] == restarts)  # noqa: B023
            plant = next(p for p in status["processes"] if p["name"] == "plant")
            assert plant["pid"] == _pids(served.log)["plant"] != pid
            assert (plant["lastExit"], plant["nextStartMs"]) == (-9, None)
        others = [p for p in status["processes"] if p["name"] != "plant"]
        assert {(p["state"], p["restarts"]) for p in others} == {("up", 0)}


def test_restarts_wait_longer_while_a_process_keeps_dying_and_start_over_once_it_held() -> None:
    delays = RestartDelays(1.0)
    quick = [delays.next_ms(served_ms=500) for _ in range(7)]  # died half a second after it was ready
    assert quick == [1000, 2000, 4000, 8000, 16000, 30000, 30000]
    assert delays.next_ms() == 30000  # a start that failed: no run to judge by
    assert delays.next_ms(served_ms=STABLE_MS) == 1000  # it had held: from the first delay again


def test_a_child_s_life_says_when_it_is_down_and_when_its_next_start_is_due() -> None:
    life = ChildLife("plant", "plant", 1.0)
    t = 1_000_000
    life.started(11, t)
    assert life.status() == {
        "name": "plant", "role": "plant", "state": "starting", "sinceMs": t, "pid": 11, "restarts": 0,
        "lastExit": None, "nextStartMs": None,
    }  # fmt: skip
    life.ready(t + 3000)
    assert (life.state, life.since_ms) == ("up", t + 3000)
    assert life.exited(-9, t + 5000) == 1000
    assert life.status() | {"pid": 0} == {
        "name": "plant", "role": "plant", "state": "down", "sinceMs": t + 5000, "pid": 0, "restarts": 0,
        "lastExit": -9, "nextStartMs": t + 6000,
    }  # fmt: skip
    # started again, it dies during its start-up, which took longer than STABLE_MS: never
    # ready, so never healthy, and the wait doubles
    life.started(12, t + 6000)
    assert life.exited(1, t + 6000 + STABLE_MS + 5000) == 2000 and life.restarts == 1
    life.started(13, t + 50_000)
    life.ready(t + 53_000)
    assert life.exited(-9, t + 53_000 + STABLE_MS - 1) == 4000  # served just under 30 s
    life.started(14, t + 100_000)
    life.ready(t + 103_000)
    assert life.exited(-15, t + 103_000 + STABLE_MS) == 1000  # served 30 s: a new incident
    assert (life.restarts, life.last_exit, life.next_start_ms) == (3, -15, t + 103_000 + STABLE_MS + 1000)
    assert life.failed_to_start(t + 200_000) == 2000 and life.state == "down"
