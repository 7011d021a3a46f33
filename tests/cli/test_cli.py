"""The command line: the installed `tickerplant serve`, started for real, and its config."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

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
            _, err = await process.communicate()
    assert process.returncode == 0
    assert "stopping: a signal" in err.decode() and err.decode().rstrip().endswith("stopped")


async def test_ctrl_c_while_serve_starts_is_a_quiet_exit() -> None:
    """SIGINT while the server is still starting (its first log line out, its banner not yet):
    exit status 130, as a shell's Ctrl-C, and no traceback."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tickerplant", "serve", "--um-port", str(free_port()), "--cm-port", str(free_port()),
        "--admin-port", "0", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    async with asyncio.timeout(20 * SECONDS):
        first = await process.stderr.readline()  # "open files: …": started, still starting
        process.send_signal(signal.SIGINT)
        _, err = await process.communicate()
    assert b"open files" in first and process.returncode == 130
    assert b"Traceback" not in err and b"KeyboardInterrupt" not in err, err.decode()


def test_a_level_not_known_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["serve", "--log-level", "LOUD"])
    assert "argument --log-level: a level is one of DEBUG, INFO, WARNING, ERROR, CRITICAL" in capsys.readouterr().err
    assert _parser().parse_args(["accounts", "--log-level", "debug", "list"]).log_level == "DEBUG"


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


async def test_watch_tells_a_malformed_frame_and_goes_on() -> None:
    """A frame no stream sends (not JSON; a combined frame without its data) is a
    ``{"tickerplant":"malformed",…}`` line, and the messages after it follow: the watch
    went on, it did not exit 1."""
    good = {"stream": "btcusdt@trade", "data": {"e": "trade", "E": 2, "T": 2, "s": "BTCUSDT", "t": 7,
                                                "p": "1.0", "q": "1", "X": "MARKET", "m": True}}  # fmt: skip

    async def script(ws: Any) -> None:
        request = json.loads(await ws.recv())
        await ws.send(json.dumps({"result": None, "id": request["id"]}))
        for frame in ("not json", '{"stream":"btcusdt@trade"}', json.dumps(good)):
            await ws.send(frame)
        await ws.wait_closed()

    async with websockets.serve(script, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        out = io.StringIO()
        async with asyncio.timeout(10 * SECONDS):
            seen = await watch(f"ws://127.0.0.1:{port}", ["btcusdt@trade"], as_json=True, count=1, out=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line.get("tickerplant") for line in lines] == ["malformed", "malformed", None]
    assert seen == 1 and lines[-1]["t"] == 7


async def test_watch_into_a_reader_that_goes_is_a_quiet_exit(start_server: StartServer) -> None:
    """``tickerplant watch … --json | head -1``: the reader gone, watch ends, status 0, no
    traceback (a closed pipe is the end of what is wanted)."""
    plant = await start_server()
    reading, writing = os.pipe()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tickerplant", "watch", "--url", plant.url(Market.UM), "--json",
        "btcusdt@bookTicker", stdout=writing, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    os.close(writing)
    with os.fdopen(reading, "rb") as pipe:
        first = await asyncio.to_thread(pipe.readline)  # then the reader goes, as head does
    async with asyncio.timeout(20 * SECONDS):
        _, err = await process.communicate()
    assert json.loads(first)["s"] == "BTCUSDT"
    assert process.returncode == 0 and b"Traceback" not in err, err.decode()


async def test_watch_seconds_bound_a_host_that_is_not_there_and_a_url_that_is_none_is_refused() -> None:
    """``--seconds`` bounds the run, reaching the host too (it retried for ever); ``notaurl``
    is refused at once, as ``record`` and ``book`` refuse it."""
    async with asyncio.timeout(10 * SECONDS):
        assert await watch(f"ws://127.0.0.1:{free_port()}", ["btcusdt@bookTicker"], seconds=0.2) == 0
    with pytest.raises(ValueError, match="--url is a stream host, ws:// or wss://, not 'notaurl'"):
        await watch("notaurl", ["btcusdt@bookTicker"], seconds=0.2)


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
