"""``--log-format``: the real ``tickerplant serve`` writes text lines or JSON lines with
structured fields; and the budget that holds back repeated warnings, with the count of
what it held."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
import websockets
from ports import free_port
from timing import SECONDS

from tickerplant.logs import JsonFormatter, TextFormatter, WarningBudget

QUICK = "[simulator]\nhistory_s = 600.0\nbook_levels = 20\n"  # a server that starts at once


async def serve_until_warned(tmp_path: Path, log_format: str) -> list[str]:
    """Start ``tickerplant serve``, subscribe a stream that never delivers, and return the
    log's lines up to the warning about it. In the JSON format stdout and stderr are read as
    one (``2>&1``, as a log collector merges them): the banner is among the lines."""
    config = tmp_path / "quick.toml"
    config.write_text(QUICK)
    um, cm = free_port(), free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tickerplant", "serve", "--config", str(config), "--um-port", str(um),
        "--cm-port", str(cm), "--admin-port", "0", "--log-format", log_format,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT if log_format == "json" else asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    log = process.stdout if log_format == "json" else process.stderr
    assert log is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(20 * SECONDS):
            while not lines or "Ctrl-C" not in lines[-1]:
                lines.append((await process.stdout.readline()).decode().rstrip("\n"))
            async with websockets.connect(f"ws://127.0.0.1:{um}/ws/nosuchcoin@trade"):
                while "never deliver" not in lines[-1]:
                    line = (await log.readline()).decode()
                    assert line, "the server's log ended"
                    lines.append(line.rstrip("\n"))
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10 * SECONDS):
            await process.wait()
    return lines


async def test_serve_writes_json_lines_with_structured_fields(tmp_path: Path) -> None:
    lines = await serve_until_warned(tmp_path, "json")
    records = [json.loads(line) for line in lines]  # every line is one JSON object, the banner too
    banner = next(r for r in records if r["message"].startswith("tickerplant serving a simulated market"))
    assert banner["level"] == "INFO" and banner["logger"] == "tickerplant"
    assert "/ws/<stream>" in banner["message"] and banner["message"].endswith("Ctrl-C stops.")
    for record in records:
        assert {"timestamp", "level", "logger", "message"} <= record.keys()
        assert record["timestamp"].endswith("+00:00")
    warning = records[-1]
    assert warning["level"] == "WARNING" and warning["logger"] == "tickerplant.streams"
    assert warning["stream"] == "nosuchcoin@trade" and warning["market"] == "um"
    assert warning["peer"].startswith("127.0.0.1:")
    assert warning["message"].startswith(f"um: {warning['peer']} subscribed 'nosuchcoin@trade'")


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
