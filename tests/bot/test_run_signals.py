"""``tickerplant run`` stopped by signals (docs/run.md, "What the run does"): a first SIGINT
tells the bot to stop and gives it the grace; a second kills its process group at once,
and the run still ends as a run does (its summary told). And nothing the bot started
outlives the run: what its process group holds when the bot exits is stopped too, and so is
the whole group of a run killed with SIGKILL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

from bot_runs import T0, account, still_market
from timing import SECONDS, eventually

BOT = Path(__file__).with_name("stubborn_bot.py")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")  # a zombie: gone


async def run(tmp_path: Path, mode: str) -> tuple[asyncio.subprocess.Process, list[int]]:
    """``tickerplant run`` of ``stubborn_bot.py`` in ``mode`` on ten market minutes at x20,
    once the bot has started its helper: the run, and the helper's and the bot's pids."""
    files = still_market(tmp_path / "files", T0 + 600_000)
    db = tmp_path / "venue.db"
    env = {**os.environ, **account(db)}
    told = tmp_path / "pids"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tickerplant.cli", "run", "--replay", str(files), "--speed", "20",
        "--venue-db", str(db), "--um-port", "0", "--cm-port", "0", "--admin-port", "0", "--no-report",
        "--", sys.executable, str(BOT), mode, str(told),
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    await eventually(lambda: told.exists() and told.read_text().endswith("\n"), 60 * SECONDS)
    return process, [int(pid) for pid in told.read_text().split()[:2]]


async def test_a_second_sigint_kills_a_bot_that_ignores_the_first_and_the_run_ends(tmp_path: Path) -> None:
    process, (helper, bot) = await run(tmp_path, "stay")
    try:
        process.send_signal(signal.SIGINT)  # the bot told SIGTERM, which it ignores: 10 s of grace
        told = tmp_path / "pids"
        await eventually(lambda: "SIGTERM" in told.read_text(), 10 * SECONDS)
        process.send_signal(signal.SIGINT)  # then killed now
        async with asyncio.timeout(8 * SECONDS):
            _, err = await process.communicate()
        said = err.decode()
        assert process.returncode == 128 + signal.SIGKILL and "Traceback" not in said, said
        assert "the bot's clock against the market's" in said or "signed no request" in said, said
        assert "tickerplant run: the bot was ended by SIGKILL (exit status 137)" in said, said
        assert not alive(bot) and not alive(helper)
    finally:
        ended(process, helper, bot)


async def test_what_a_bot_started_and_left_running_ends_with_the_run(tmp_path: Path) -> None:
    process, (helper, bot) = await run(tmp_path, "leave")
    try:
        async with asyncio.timeout(30 * SECONDS):
            _, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        assert not alive(helper) and not alive(bot)
    finally:
        ended(process, helper, bot)


async def test_a_run_killed_with_kill_9_leaves_nothing_of_its_bot_running(tmp_path: Path) -> None:
    """The run cannot stop anything once SIGKILL has it: its watchdog (``bot/watchdog.py``),
    a process of its own reading a pipe the run holds, kills the bot's process group when
    the pipe ends without the run's word that it stopped the group itself."""
    process, (helper, bot) = await run(tmp_path, "stay")
    try:
        assert alive(bot) and alive(helper)
        process.kill()
        await process.wait()
        await eventually(lambda: not alive(bot) and not alive(helper), 10 * SECONDS)
    finally:
        ended(process, helper, bot)


def ended(process: asyncio.subprocess.Process, *pids: int) -> None:
    """Nothing of a failed test left running."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if process.returncode is None:
        process.kill()
