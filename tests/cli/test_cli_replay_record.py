"""`tickerplant serve --replay` and `tickerplant record`, run as the installed command."""

from __future__ import annotations

import asyncio
import gzip
import json
import random
import signal
import socket
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
import websockets
from conftest import StartServer
from ports import free_port
from public_data import BOOK_HEADER, T0, UM_TRADES_HEADER, book_lines, trades, trades_lines, write
from timing import SECONDS

from tickerplant.cli import _parser, build_config, main
from tickerplant.market.instruments import Market
from tickerplant.recording.reading import read_recording
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.journal.sqlite_journal import SqliteJournal


def test_replay_flags_and_toml(tmp_path: Path) -> None:
    args = _parser().parse_args(
        ["serve", "--replay", "a.zip", "b", "--speed", "max", "--start", "2024-01-01", "--end", "1704070800000",
         "--paused", "--no-progress", "--exit-at-end"]
    )  # fmt: skip
    replay = build_config(args).replay
    assert replay.paths == ("a.zip", "b") and replay.speed is None and replay.paused and replay.exit_at_end
    assert (replay.start_ms, replay.end_ms, replay.progress) == (T0, 1704070800000, False)
    toml = tmp_path / "tp.toml"
    toml.write_text('[relay]\nurls = ["ws://127.0.0.1:1"]\nsymbols = ["BTCUSDT"]\n')
    relay = build_config(_parser().parse_args(["serve", "--config", str(toml)])).relay
    assert relay.enabled and relay.urls == ("ws://127.0.0.1:1",) and relay.symbols == ("BTCUSDT",)
    bare = build_config(_parser().parse_args(["serve", "--relay", "--relay-streams", "bookTicker,!ticker@arr"]))
    assert bare.relay.enabled and bare.relay.urls == () and bare.relay.kinds == ("bookTicker", "!ticker@arr")


async def test_serve_replay_exits_at_the_end(tmp_path: Path) -> None:
    rng = random.Random(5)
    fills = trades_lines(trades(rng, 50, T0, 42000.0, "0.1", "0.001"))
    write(tmp_path, "BTCUSDT-trades-2024-01-01", UM_TRADES_HEADER, fills, zipped=True)
    tops = [line for _, line in book_lines(rng, 50, T0, 42000.0)]
    write(tmp_path, "BTCUSDT-bookTicker-2024-01-01", BOOK_HEADER, tops, zipped=False)
    um, cm = free_port(), free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tickerplant", "serve", "--um-port", str(um), "--cm-port", str(cm), "--admin-port", "0",
        "--replay", str(tmp_path), "--speed", "max", "--exit-at-end", "--progress",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(30 * SECONDS):
        out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    text = out.decode()
    assert "tickerplant replaying" in text and "tickerplant: Replay finished" in text
    assert "replay" in err.decode(), "the progress bar went to stderr"


async def test_record_then_replay_the_recording(start_server: StartServer, tmp_path: Path) -> None:
    plant = await start_server()
    out = tmp_path / "rec"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tickerplant", "record", "btcusdt@bookTicker", "btcusdt@aggTrade",
        "--url", plant.url(Market.UM), "--out", str(out), "--seconds", "0.5",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(30 * SECONDS):
        stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    assert "WS connection established" not in stderr.decode()  # picows' INFO per connection: DEBUG's
    files = [Path(line) for line in stdout.decode().split()]
    assert files and all(f.name.endswith(".jsonl.gz") and f.parent == out for f in files)
    header, items = read_recording(files[0])
    assert header.market is Market.UM and set(header.streams) == {"btcusdt@bookTicker", "btcusdt@aggTrade"}
    recorded = list(items)
    assert len(recorded) > 10
    with gzip.open(files[0]) as raw:
        assert json.loads(raw.readline())["format"] == "tickerplant-recording"
    assert all(msgspec.json.decode(getattr(i, "data", b"{}")) is not None for i in recorded)


async def test_serve_relay_from_another_tickerplant(start_server: StartServer) -> None:
    upstream = await start_server()
    um, cm = free_port(), free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tickerplant", "serve", "--um-port", str(um), "--cm-port", str(cm), "--admin-port", "0",
        "--relay", upstream.url(Market.UM), upstream.url(Market.CM),
        "--relay-symbols", "BTCUSDT,BTCUSD_PERP", "--relay-streams", "bookTicker,aggTrade",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        banner = []
        async with asyncio.timeout(20 * SECONDS):
            while not banner or "Ctrl-C" not in banner[-1]:
                banner.append((await process.stdout.readline()).decode())
        assert "tickerplant relaying ws://127.0.0.1:" in "".join(banner)
        async with websockets.connect(f"ws://127.0.0.1:{cm}/ws/btcusd_perp@bookTicker") as ws:
            async with asyncio.timeout(10 * SECONDS):
                assert json.loads(await ws.recv())["s"] == "BTCUSD_PERP"
        async with websockets.connect(f"ws://127.0.0.1:{um}/stream?streams=btcusdt@aggTrade") as ws:
            async with asyncio.timeout(10 * SECONDS):
                assert json.loads(await ws.recv())["data"]["e"] == "aggTrade"
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10 * SECONDS):
            assert await process.wait() == 0
    assert process.stderr is not None
    logged = (await process.stderr.read()).decode()
    assert "WS connection established" not in logged, logged  # picows' INFO per connection: DEBUG's


async def test_serve_says_why_it_cannot_start(tmp_path: Path) -> None:
    (tmp_path / "BTCUSDT-trades-2024-01-01.zip").write_bytes(b"not a zip")
    relay = ["--relay", "ws://127.0.0.1:9", "--relay-streams", "nonsense,bookTicker"]  # refused before it dials
    http = ["--relay", "http://127.0.0.1:9"]  # a REST host, not a stream host
    (tmp_path / "notes.txt").write_text("not a database")
    venue = ["--venue-db", str(tmp_path / "notes.txt")]
    # a replay of 2024 on a database whose journal settled a funding after it: the venue's
    # time would go back (its fundings then never charged)
    files = tmp_path / "files"
    files.mkdir()
    rng = random.Random(3)
    rows = trades_lines(trades(rng, 5, T0, 42000.0, "0.1", "0.001"))
    write(files, "BTCUSDT-trades-2024-01-01", UM_TRADES_HEADER, rows, zipped=False)
    first = datetime.fromtimestamp(int(rows[0].split(",")[4]) / 1000, UTC).isoformat(timespec="milliseconds")
    later = tmp_path / "later.db"
    AccountStore(later).close()
    journal = SqliteJournal(later)
    assert journal.reader() is not None  # its tables made
    journal.close()
    with sqlite3.connect(later) as db:
        db.execute("INSERT INTO venue_funded VALUES ('BTCUSDT', ?)", (T0 + 86_400_000,))
    behind = ["--replay", str(files), "--venue-db", str(later)]
    for source in (["--replay", str(tmp_path / "missing")], ["--replay", str(tmp_path)], relay, http, venue, behind):
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tickerplant", "serve", "--um-port", "0", "--cm-port", "0", "--admin-port", "0", *source,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        async with asyncio.timeout(20 * SECONDS):
            _, err = await process.communicate()
        assert process.returncode == 1
        assert err.decode().splitlines()[-1].startswith("tickerplant serve: cannot start:"), err.decode()
        assert "Traceback" not in err.decode()
        if source is behind:  # checked before anything is played: the start named is the replay's own
            assert "the venue's time never goes back" in err.decode() and f"replay's start ({first})" in err.decode()


def test_a_recording_of_nothing_is_a_failure(tmp_path: Path) -> None:
    """An upstream never reached before the recording stops: one line, exit status 1 (it
    printed nothing and exited 0)."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    argv = ["record", "--url", f"ws://127.0.0.1:{port}", "--market", "um", "--seconds", "0", "--out", str(tmp_path)]
    with pytest.raises(SystemExit, match=r"tickerplant record: nothing recorded: no connection to ws://127\.0\.0\.1"):
        main([*argv, "btcusdt@bookTicker"])


def test_a_recorders_mistakes_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An URL nothing answers at with no ``--market`` (the market is asked of it), a size or
    an age to rotate at that is not above 0, an ``--out`` that is a file: each refused in a
    line, exit status 1 or argparse's 2 (each was a traceback)."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    argv = ["record", "--url", f"ws://127.0.0.1:{port}", "--seconds", "0", "btcusdt@bookTicker"]
    with pytest.raises(SystemExit, match=r"tickerplant record: nothing recorded: cannot reach"):
        main([*argv, "--out", str(tmp_path)])
    for flag, value in (("--rotate-mb", "0"), ("--rotate-s", "-5"), ("--rotate-s", "nan")):
        with pytest.raises(SystemExit) as refused:
            main([*argv, "--out", str(tmp_path), flag, value])
        assert refused.value.code == 2 and f"argument {flag}: {value} is not a number above 0" in capsys.readouterr().err
    file = tmp_path / "a-file"
    file.write_text("")
    with pytest.raises(SystemExit, match=r"tickerplant record: --out .*a-file is a file, not a folder"):
        main([*argv, "--market", "um", "--out", str(file)])
