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
import sys
from pathlib import Path

import pytest
from ports import free_port
from scaleout_setup import StreamsClient
from served_workers import get_json, serve_workers
from timing import SECONDS, eventually

from tickerplant.client import MarketStreams
from tickerplant.scaleout.supervisor import STABLE_MS, RestartDelays

# The servers are processes of their own, on their own loop: the tests run once, on asyncio.
pytestmark = pytest.mark.timeout(int(120 * SECONDS))

QUICK = "[simulator]\nhistory_s = 60\nbook_levels = 20\n"
CHILDREN_GONE_S = 10  # docs/operations.md: the children of a killed supervisor stop within it
# docs/operations.md: a client's data flows again within these of its kill
BACK_S = {"nats-server": 10, "plant": 15, "gateway 1": 10}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its new parent) is gone for every purpose here
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def _pids(log: list[str]) -> dict[str, int]:
    text = "".join(log)
    return {name: int(pid) for name, pid in re.findall(r"(nats-server|plant|gateway \d) started .*\(pid (\d+)\)", text)}


async def _serve(*argv: str) -> tuple[int, str]:
    """A `tickerplant serve` that is expected to refuse: its exit status and its stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tickerplant.cli", "serve", "--admin-port", "0", *argv,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(30 * SECONDS):
        _, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, err.decode()


async def test_a_second_serve_refuses_the_ports_of_a_live_one_and_kill_9_takes_the_children_along(
    tmp_path: Path,
) -> None:
    config = tmp_path / "quick.toml"
    config.write_text(QUICK)
    um, cm = free_port(), free_port()
    ports = ["--um-port", str(um), "--cm-port", str(cm), "--config", str(config)]
    async with serve_workers(*ports) as first:
        pids = _pids(first.log)
        assert set(pids) == {"nats-server", "plant", "gateway 1", "gateway 2"}
        for argv in (["--workers", "2", *ports], ports):  # beside it: serve --workers, and one process
            code, said = await _serve(*argv)
            assert code != 0
            assert f"port {um} (USDⓈ-M) is served by another tickerplant, pid {first.process.pid}" in said

        first.process.send_signal(signal.SIGKILL)
        await eventually(lambda: not any(_alive(pid) for pid in pids.values()), CHILDREN_GONE_S * SECONDS)

    async with serve_workers(*ports) as second:  # the ports are free: it serves
        assert second.process.returncode is None
        assert f"127.0.0.1:{um}/ws" in "".join(second.log)


async def test_each_child_killed_comes_back_and_the_clients_data_flows_again(tmp_path: Path) -> None:
    config = tmp_path / "quick.toml"
    config.write_text(QUICK)
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
                await asyncio.sleep(0)


def test_restarts_wait_longer_while_a_process_keeps_dying_and_start_over_once_it_held() -> None:
    delays = RestartDelays(1.0)
    quick = [delays.next_ms(ran_ms=500) for _ in range(7)]  # died half a second after each start
    assert quick == [1000, 2000, 4000, 8000, 16000, 30000, 30000]
    assert delays.next_ms() == 30000  # a start that failed: no run to judge by
    assert delays.next_ms(ran_ms=STABLE_MS) == 1000  # it had held: from the first delay again
