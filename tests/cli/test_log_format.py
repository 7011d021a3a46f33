"""``--log-format``: the real ``tickerplant serve`` writes text lines, or JSON lines with
structured fields and nothing else (its banner a record whose fields say what it serves and
where, under ``--workers`` its children's lines too, a refusal, Python's own reports); and
the budget that holds back repeated warnings, with the count of what it held."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import websockets
from ports import free_port
from timing import SECONDS, eventually

from tickerplant.config import ReplayConfig, ServerConfig
from tickerplant.logs import JsonFormatter, TextFormatter, WarningBudget, json_line, said, said_text

QUICK = "[simulator]\nhistory_s = 600.0\nbook_levels = 20\nsteady_rate = true\n"  # a server that starts at once


async def serve_until_warned(tmp_path: Path, log_format: str) -> list[str]:
    """Start ``tickerplant serve``, subscribe a stream that never delivers, and return the
    log's lines up to the warning about it."""
    config = tmp_path / "quick.toml"
    config.write_text(QUICK)
    um, cm = free_port(), free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tickerplant", "serve", "--config", str(config), "--um-port", str(um),
        "--cm-port", str(cm), "--admin-port", "0", "--log-format", log_format,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(20 * SECONDS):
            while not lines or "Ctrl-C" not in lines[-1]:
                lines.append((await process.stdout.readline()).decode().rstrip("\n"))
            async with websockets.connect(f"ws://127.0.0.1:{um}/ws/nosuchcoin@trade"):
                while "never deliver" not in lines[-1]:
                    line = (await process.stderr.readline()).decode()
                    assert line, "the server's log ended"
                    lines.append(line.rstrip("\n"))
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10 * SECONDS):
            await process.wait()
    return lines


class Written:
    """What a process wrote, line by line, on stdout and on stderr."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None and process.stderr is not None
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [
            asyncio.ensure_future(self._read(process.stdout, self.stdout)),
            asyncio.ensure_future(self._read(process.stderr, self.stderr)),
        ]

    @staticmethod
    async def _read(stream: asyncio.StreamReader, into: list[str]) -> None:
        while line := await stream.readline():
            into.append(line.decode())

    def records(self, lines: list[str]) -> list[dict[str, Any]]:
        return [json.loads(line) for line in list(lines)]

    async def ended(self) -> None:
        await asyncio.gather(*self._readers)


@pytest.mark.parametrize("workers", [1, 2])
async def test_serve_writes_nothing_but_json_lines(tmp_path: Path, workers: int) -> None:
    config = tmp_path / "quick.toml"
    config.write_text(QUICK)
    um, cm = free_port(), free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tickerplant", "serve", "--config", str(config), "--um-port", str(um),
        "--cm-port", str(cm), "--admin-port", "0", "--workers", str(workers), "--log-format", "json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    written = Written(process)
    try:
        # the banner: one record on stdout, what it serves and where as fields (JSON or it raises)
        await eventually(lambda: any("um_url" in r for r in written.records(written.stdout)), 60 * SECONDS)
        async with websockets.connect(f"ws://127.0.0.1:{um}/ws/nosuchcoin@trade"):  # a gateway's warning
            await eventually(lambda: any(r.get("stream") == "nosuchcoin@trade" for r in written.records(written.stderr)))
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)  # Ctrl-C, as the banner says
        try:
            async with asyncio.timeout(30 * SECONDS):
                await process.wait()
        finally:
            if process.returncode is None:  # it did not stop: nothing of it is left behind
                process.kill()
                await process.wait()
        async with asyncio.timeout(30 * SECONDS):
            await written.ended()
    assert process.returncode == 0
    said, logged = written.records(written.stdout), written.records(written.stderr)  # every line JSON
    (banner,) = said
    assert banner["level"] == "INFO" and banner["logger"] == "tickerplant"
    assert (banner["um_url"], banner["cm_url"]) == (f"ws://127.0.0.1:{um}", f"ws://127.0.0.1:{cm}")
    assert "admin_url" not in banner  # --admin-port 0: no admin listener
    if workers == 1:
        assert banner["message"] == "tickerplant serving a simulated market (seed 1)"
        assert (banner["source"], banner["seed"]) == ("simulator", 1)
    else:
        assert banner["message"].startswith("tickerplant serving from 2 gateway processes, fed over nats://")
        assert banner["workers"] == 2 and banner["nats_url"].startswith("nats://127.0.0.1:")
    for record in said + logged:
        assert {"timestamp", "level", "logger", "message"} <= record.keys()
        assert record["timestamp"].endswith("+00:00")
    warning = next(r for r in logged if r.get("stream") == "nosuchcoin@trade")
    assert warning["level"] == "WARNING" and warning["logger"] == "tickerplant.streams"
    assert warning["market"] == "um" and warning["peer"].startswith("127.0.0.1:")
    assert warning["message"].startswith(f"um: {warning['peer']} subscribed 'nosuchcoin@trade'")


def test_a_refusal_is_a_json_line(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    run = subprocess.run(
        [sys.executable, "-m", "tickerplant", "serve", "--config", str(missing), "--log-format", "json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert (run.returncode, run.stdout) == (1, "")
    (refusal,) = [json.loads(line) for line in run.stderr.splitlines()]
    assert refusal["level"] == "ERROR" and refusal["message"].startswith(f"tickerplant serve: {missing}: ")


def test_python_s_own_reports_are_json_lines() -> None:
    """An uncaught exception, one in a thread, one Python cannot raise, a warning: each a
    record (Python would write them as text)."""
    script = (
        "import threading, warnings\n"
        "from tickerplant import logs\n"
        "logs.setup('INFO', 'json')\n"
        "warnings.warn('careful')\n"
        "thread = threading.Thread(target=lambda: 1 / 0, name='worker'); thread.start(); thread.join()\n"
        "class Broken:\n"
        "    def __del__(self): raise ValueError('in __del__')\n"
        "Broken()\n"
        "raise RuntimeError('boom')\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 1
    records = [json.loads(line) for line in run.stderr.splitlines()]
    assert [(r["logger"], r["level"]) for r in records] == [
        ("py.warnings", "WARNING"), ("tickerplant", "CRITICAL"), ("tickerplant", "ERROR"), ("tickerplant", "CRITICAL"),
    ]  # fmt: skip
    assert "careful" in records[0]["message"]
    assert records[1]["message"] == "uncaught ZeroDivisionError in thread worker"
    assert "ValueError: in __del__" in records[2]["exception"]
    assert records[3]["message"] == "uncaught RuntimeError" and "RuntimeError: boom" in records[3]["exception"]


def test_a_notice_as_a_record_and_read_back() -> None:
    line = said("tickerplant gateway on ws://h:1 (USDⓈ-M)", um_url="ws://h:1", admin_url=None, workers=2)
    record = json.loads(line)
    assert (record["logger"], record["level"], record["um_url"], record["workers"]) == ("tickerplant", "INFO", "ws://h:1", 2)
    assert "admin_url" not in record  # a field that is None is left out
    assert said_text(line.encode() + b"\n", as_json=True) == "tickerplant gateway on ws://h:1 (USDⓈ-M)"
    assert said_text(b"tickerplant gateway on ws://h:1\n", as_json=False).startswith("tickerplant gateway on")
    assert said_text(b"not a record\n", as_json=True) == said_text(b"[1]\n", as_json=True) == ""


def test_a_line_that_is_no_json_record_is_wrapped_in_one() -> None:
    record = '{"timestamp":"t","level":"INFO","logger":"x","message":"m"}'
    assert json_line(record.encode() + b"\n", "tickerplant.supervisor", logging.INFO, child="plant") == (
        record.encode() + b"\n"
    )  # a JSON record passes as it came
    for text in (b"Traceback (most recent call last):\n", b"[1, 2]\n", b"\xff broken \n", b"\n"):
        wrapped = json_line(text, "tickerplant.supervisor", logging.ERROR, child="gateway 1")
        assert wrapped.endswith(b"\n") and wrapped.count(b"\n") == 1
        got = json.loads(wrapped)
        assert (got["logger"], got["level"], got["child"]) == ("tickerplant.supervisor", "ERROR", "gateway 1")
        assert got["message"] == text.decode(errors="replace").rstrip("\n")


async def test_serve_writes_text_lines(tmp_path: Path) -> None:
    lines = await serve_until_warned(tmp_path, "text")
    assert " WARNING tickerplant.streams: um: 127.0.0.1:" in lines[-1]
    assert "subscribed 'nosuchcoin@trade', which will never deliver" in lines[-1]
    with pytest.raises(json.JSONDecodeError):
        json.loads(lines[-1])


def _record(msg: str, created: float, level: int = logging.WARNING, **extra: Any) -> logging.LogRecord:
    record = logging.LogRecord("tickerplant.relay", level, __file__, 1, msg, ("x",), None)
    record.created = created
    for name, value in extra.items():
        setattr(record, name, value)
    return record


def test_the_budget_holds_repeats_and_the_next_line_says_how_many() -> None:
    budget = WarningBudget(per_interval=3, interval_s=10.0)
    passed = [budget.filter(_record("upstream lost: %s", 100.0 + i)) for i in range(8)]
    assert passed == [True] * 3 + [False] * 5
    assert budget.filter(_record("another kind: %s", 105.0))  # each template its own budget
    assert budget.filter(_record("upstream lost: %s", 100.0, level=logging.INFO))  # below WARNING: never held
    later = _record("upstream lost: %s", 110.0)
    assert budget.filter(later)  # a new interval
    assert getattr(later, "suppressed", 0) == 5 and budget.suppressed == 5
    assert TextFormatter().format(later).endswith("upstream lost: x (5 more like it were not logged)")
    assert json.loads(JsonFormatter().format(later))["suppressed"] == 5


def test_a_json_line_carries_the_fields_given_with_extra() -> None:
    line = JsonFormatter().format(_record("closing %s", 0.5, connection=7, peer="1.2.3.4:5", code=1008))
    assert json.loads(line) == {
        "timestamp": "1970-01-01T00:00:00.500+00:00", "level": "WARNING", "logger": "tickerplant.relay",
        "message": "closing x", "connection": 7, "peer": "1.2.3.4:5", "code": 1008,
    }  # fmt: skip


def test_the_progress_bar_is_off_in_the_json_format_unless_asked_for() -> None:
    from tickerplant.cli import _display

    plain, asked = ServerConfig(), ServerConfig(replay=ReplayConfig(progress=True))
    assert _display(plain, "json").replay.progress is False  # stderr a terminal or not
    assert _display(plain, "text").replay.progress is None  # a terminal's stderr shows it
    assert _display(asked, "json").replay.progress is True
