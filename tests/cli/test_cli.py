"""The command line: the installed `tickerplant serve`, started for real, and its config."""

from __future__ import annotations

import asyncio
import io
import json
import signal
import sys
from pathlib import Path

import pytest
import websockets
from conftest import StartServer
from ports import free_port
from timing import SECONDS

from tickerplant.cli import _parser, build_config
from tickerplant.client.watch import watch
from tickerplant.market.instruments import Market


async def test_serve_prints_its_urls_serves_both_markets_and_stops_on_sigterm() -> None:
    um, cm, admin = free_port(), free_port(), free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tickerplant", "serve", "--um-port", str(um), "--cm-port", str(cm),
        "--admin-port", str(admin), "--seed", "7", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        lines = []
        async with asyncio.timeout(20 * SECONDS):
            while not lines or "Ctrl-C" not in lines[-1]:
                lines.append((await process.stdout.readline()).decode())
        banner = "".join(lines)
        assert f"ws://127.0.0.1:{um}/ws/<stream>" in banner
        assert f"ws://127.0.0.1:{cm}/ws/<stream>" in banner
        assert f"http://127.0.0.1:{admin}/metrics" in banner
        async with websockets.connect(f"ws://127.0.0.1:{um}/ws/btcusdt@bookTicker", max_queue=None) as ws:
            assert json.loads(await ws.recv())["s"] == "BTCUSDT"
        async with websockets.connect(f"ws://127.0.0.1:{cm}/ws/btcusd_perp@bookTicker", max_queue=None) as ws:
            assert json.loads(await ws.recv())["ps"] == "BTCUSD"
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10 * SECONDS):
            code = await process.wait()
    assert code == 0


def test_flags_override_the_toml_file(tmp_path: Path) -> None:
    config_file = tmp_path / "tp.toml"
    config_file.write_text(
        'um_port = 9000\nlenient_case = true\n[limits]\nping_interval_s = 5\nmax_streams = 10\n'
        '[simulator]\nseed = 3\nactions_per_s = "max"\n'
    )
    args = _parser().parse_args(["serve", "--config", str(config_file), "--max-streams", "20", "--cm-port", "9001"])
    config = build_config(args)
    assert (config.um_port, config.cm_port, config.lenient_case) == (9000, 9001, True)
    assert (config.limits.ping_interval_s, config.limits.max_streams) == (5, 20)
    assert (config.simulator.seed, config.simulator.actions_per_s) == (3, None)


def test_every_limit_has_a_flag() -> None:
    args = _parser().parse_args([
        "serve", "--ping-interval", "1", "--pong-timeout", "2", "--max-connection-age", "3",
        "--max-streams", "4", "--max-incoming-rate", "5", "--sim-rate", "max", "--strict-routing",
    ])  # fmt: skip
    config = build_config(args)
    limits = config.limits
    assert (limits.ping_interval_s, limits.pong_timeout_s, limits.max_connection_age_s) == (1, 2, 3)
    assert (limits.max_streams, limits.max_incoming_rate) == (4, 5)
    assert config.simulator.actions_per_s is None and config.strict_routing


def test_a_bad_config_key_is_a_clear_error(tmp_path: Path) -> None:
    config_file = tmp_path / "tp.toml"
    config_file.write_text("[limits]\nping_every = 5\n")
    with pytest.raises(SystemExit, match="ping_every"):
        build_config(_parser().parse_args(["serve", "--config", str(config_file)]))


async def test_watch_json_prints_line_delimited_messages(start_server: StartServer) -> None:
    plant = await start_server()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tickerplant", "watch", "--url", plant.url(Market.UM), "--json", "--count", "5",
        "btcusdt@bookTicker", "ethusdt@trade", stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(20 * SECONDS):
        out, _ = await process.communicate()
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert process.returncode == 0 and len(lines) == 5
    assert {line["e"] for line in lines} <= {"bookTicker", "trade"}
    assert all(line["s"] in ("BTCUSDT", "ETHUSDT") for line in lines)


async def test_watch_table_shows_latest_values_and_rates(
    start_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both streams' rows, each with its latest value, count and rate. Once, under the
    suite's load, a run's table lacked the book ticker's row: a wide console (rich's default
    is 80 columns, where the unwrapped stream column is the first to give) and a fresh run
    of 40 messages until one holds both streams' rows."""
    monkeypatch.setenv("COLUMNS", "200")
    plant = await start_server()
    text = ""
    async with asyncio.timeout(10 * SECONDS):
        while not ("BTCUSDT bookTicker" in text and "BTCUSDT aggTrade" in text):
            screen = io.StringIO()
            names = ["btcusdt@bookTicker", "btcusdt@aggTrade"]
            assert await watch(plant.url(Market.UM), names, count=40, out=screen) == 40
            text = screen.getvalue()
    assert "msg/s" in text
