"""``tickerplant run`` end to end, in this process with a small Python bot
(``clock_probe_bot.py``) under libfaketime: its clock starts at the replay's and runs at its
speed, the server's time is the market's, the market is held for a bot whose clock is
behind and the run stops for one whose requests take too long for the speed, and the run
ends with the replay with the bot's exit status."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
from bot_runs import T0, account, run_config, still_market
from public_data import BOOK_HEADER, UM_TRADES_HEADER, write

from tickerplant.bot.faketime import find_library
from tickerplant.bot.governor import suggested_speed
from tickerplant.bot.run import run_bot
from tickerplant.venue.journal.schema import FILL_COLUMNS, prepare

BOT = Path(__file__).with_name("clock_probe_bot.py")
NODE = "/usr/bin/node"  # not installed by .ci/run: the Node test runs where it is


async def _run(
    tmp_path: Path, mode: str, market_s: int, speed: float = 20.0, bot: tuple[str, ...] = (sys.executable, str(BOT))
) -> tuple[int, list[dict[str, Any]]]:
    files = still_market(tmp_path / "files", T0 + market_s * 1000)
    db = tmp_path / "venue.db"
    env = {**os.environ, **account(db)}
    out = tmp_path / "told.jsonl"
    code = await run_bot(run_config(files, db, speed), [*bot, mode, str(out)], find_library(), 1000, env)
    return code, [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


async def test_the_market_is_held_for_a_bot_behind_it_and_the_run_ends_with_the_replay_as_the_bot_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 60 market seconds, 3 wall seconds at ×20: on a loaded machine the bot's start-up and its
    # five requests took the whole of 20 (its second line never written before the replay ended)
    code, told = await _run(tmp_path, "behind", 60)
    start, after = told
    # the server's time read after the bot's: a request's way, at most 500 wall ms at x20 on a
    # busy machine
    assert T0 <= start["clock"] <= start["server"] < start["clock"] + 10_000
    assert start["clock"] <= start["now"] <= start["server"]  # datetime.now() reads the same clock
    # held by the smallest lag, about 3 s: the server now stands where the bot's signatures do,
    # less the bot's clock run on while it asked (up to 75 wall ms at x20 on a busy machine)
    assert -4_500 < after["server"] - after["clock"] < -2_700
    assert code == 5  # told SIGTERM at the replay's end, it exits 5: the run's status
    said = capsys.readouterr().err
    assert "over 5 signed requests" in said and "the market held 1 times" in said


async def test_a_bot_whose_requests_take_too_long_for_the_speed_stops_the_run_naming_one_that_would_hold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # at x5 a request's own way (a few wall ms) stays well below the lag that holds (250)
    code, _ = await _run(tmp_path, "slow", 30, speed=5.0)  # stopped well before the end
    assert code == 1
    said = capsys.readouterr().err
    stopped = re.search(r"stopped: the bot's clock was (\d+) ms behind the market's at ×5 .* ×([\d.]+) would hold", said)
    assert stopped is not None, said
    lag, speed = int(stopped[1]), float(stopped[2])
    # 2 s behind and the request's own way: a few wall ms at x5, up to 300 on a busy machine
    assert 2_000 <= lag < 3_500 and speed == suggested_speed(5.0, 1000, lag)  # about x1.2: ~500 ms, half the bound


async def test_a_bot_that_ends_before_its_lag_is_weighed_is_told_no_median_within_the_bound(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # five requests 3 s behind and gone: the run either held for them (no request since, no
    # median) or had not looked yet (their median past the bound, said so), by the machine's pace
    code, _ = await _run(tmp_path, "quick", 60)
    assert code == 0
    (line,) = [line for line in capsys.readouterr().err.splitlines() if "over 5 signed requests" in line]
    held = "too few signed requests since the market was last held for a median (0 of 5)" in line
    unweighed = re.search(r"last median 3\d{3}, past the 1000 ms bound: the run ended before the rules weighed it", line)
    assert held or unweighed, line


@pytest.mark.skipif(not find_library().waits, reason="the clock-only libfaketime does not scale sleeps")
async def test_a_bots_sleeps_last_their_time_in_the_markets(tmp_path: Path) -> None:
    # the bot ends first: the replay is long enough for a slow start on a busy machine
    code, told = await _run(tmp_path, "sleep", 300)
    assert code == 0
    _, asleep, slept = told
    # 10 market seconds, half a wall second at x20 (a sleep the library did not scale: 200 market
    # seconds); the slack, 200 wall ms, is a busy machine's scheduling, not the bot's
    assert 10_000 <= asleep["server"] < 14_000
    assert 2_000 <= slept["server"] < 6_000


@pytest.mark.skipif(not (find_library().waits and Path(NODE).exists()), reason="needs Node and the full libfaketime")
async def test_a_node_bots_clock_and_timers_are_the_markets(tmp_path: Path) -> None:
    # argv: the script, a mode it ignores, the file (as clock_probe_bot.py's)
    # the bot ends first: Node under libfaketime can take seconds to start on a busy machine,
    # and a replay that ended first would stop it (SIGTERM, 143)
    code, told = await _run(tmp_path, "-", 600, bot=(NODE, str(BOT.with_suffix(".js"))))
    assert code == 0
    start, waited = told
    # Node's start-up, then its first fetch (slow to start: a few hundred wall ms, seconds
    # on a busy machine: 10 wall s is 200 market s at x20)
    assert T0 <= start["clock"] < T0 + 200_000 and start["clock"] <= start["server"]
    assert 10_000 <= waited["server"] < 14_000  # 10 market seconds: half a wall second at x20


async def test_a_run_on_a_database_that_traded_later_is_refused(tmp_path: Path) -> None:
    """An earlier run's fills (or orders) at or after this replay's start: its accounts and its
    report would mix the two runs' trading (the market's time would go back)."""
    files = still_market(tmp_path / "files", T0 + 20_000)
    db = tmp_path / "venue.db"
    env = {**os.environ, **account(db)}
    with sqlite3.connect(db) as made:  # the journal's tables, then a fill of an earlier run at T0 + 5 s
        prepare(made)
        made.execute(f"INSERT INTO venue_fills ({FILL_COLUMNS}) VALUES "
                     "('BTCUSDT', 1, 1, 1, 'BUY', 1, 1, 0, 0, 0, 'USDT', 0, ?)", (T0 + 5_000,))  # fmt: skip
    made.close()
    told = str(tmp_path / "told.jsonl")  # the bot never starts: nothing is written there
    with pytest.raises(SystemExit, match=r"holds trading up to 2024-01-01T00:00:05.000\+00:00, at or after"):
        await run_bot(run_config(files, db, 20.0), [sys.executable, str(BOT), "behind", told], find_library(), 1000, env)
    assert not Path(told).exists()
    later = run_config(files, db, 20.0, T0 + 10_000)  # from after them: it runs
    code = await run_bot(later, [sys.executable, "-c", "pass"], find_library(), 1000, env)
    assert code == 0


async def test_the_runs_report_marks_a_held_position_as_the_account_does(tmp_path: Path) -> None:
    """A bot buys, holds through a move from 42000 to 43000 and reads its account: the report
    the run writes ends at the account's margin balance, the move in its equity and PnL, not
    at the fill's price (``report/run_marks.py``). The trades stop before the move: the book
    alone moves the venue's mark (no mark prices replayed: its mid), which no trade or mark
    message told the report's marks; they read each symbol's mark when the run ends."""
    files = tmp_path / "files"
    files.mkdir()
    moved = T0 + 20_000  # the book steps up 1000.0 here; the trades stop before it
    book = [f"{i + 1},{p},1.000,{p + 0.1:.1f},1.000,{t},{t}"
            for i, t in enumerate(range(T0, T0 + 40_000, 250)) for p in [42000.0 if t < moved else 43000.0]]  # fmt: skip
    taps = [f"{i + 1},42000.0,0.050,2100.000,{t + 100},true" for i, t in enumerate(range(T0, moved - 1000, 1000))]
    write(files, "BTCUSDT-bookTicker-2024-01-01", BOOK_HEADER, book, zipped=False)
    write(files, "BTCUSDT-trades-2024-01-01", UM_TRADES_HEADER, taps, zipped=False)
    db, out = tmp_path / "venue.db", tmp_path / "account.json"
    env = {**os.environ, **account(db)}
    command = [sys.executable, str(Path(__file__).with_name("holding_bot.py")), str(T0 + 30_000), str(out)]
    code = await run_bot(run_config(files, db, 20.0), command, find_library(), 1000, env, tmp_path / "report")
    assert code == 0
    told = json.loads(out.read_text())
    report = json.loads((tmp_path / "report" / "account-1-USDT.json").read_text())
    end = report["statistics"]["end_equity"] / 10**8
    assert float(told["marginBalance"]) - float(told["walletBalance"]) > 99  # +0.1 x ~1000: up
    assert abs(end - float(told["marginBalance"])) < 0.01, (end, told)  # not the wallet alone


async def test_a_run_on_an_empty_range_is_refused_and_one_without_a_database_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A ``--start`` after every recorded event: nothing to run on, refused (it started the bot
    on a clock at the start and ended it at once, killed, saying nothing). A ``--venue-db``
    that does not exist (a typo): told at the start, and the run ends with the bot's status
    (its report's read raised, exit 1)."""
    files = still_market(tmp_path / "files", T0 + 20_000)
    told = str(tmp_path / "told.jsonl")
    env = {**os.environ, **account(tmp_path / "venue.db")}
    after = run_config(files, tmp_path / "venue.db", 20.0, T0 + 3_600_000)
    with pytest.raises(SystemExit, match=r"the replay holds no event in .* from 2024-01-01T01:00:00.000\+00:00"):
        await run_bot(after, [sys.executable, str(BOT), "behind", told], find_library(), 1000, env)
    assert not Path(told).exists()
    missing = run_config(files, tmp_path / "typo.db", 20.0)
    code = await run_bot(missing, [sys.executable, "-c", "pass"], find_library(), 1000, env, tmp_path / "reports")
    assert code == 0
    err = capsys.readouterr().err
    assert f"no accounts database at {tmp_path / 'typo.db'}" in err and "no report: no database at" in err


async def test_a_report_ends_with_the_replay_however_long_the_bot_takes_to_exit_after_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Told to stop at the replay's end, a bot takes a wall second to exit (~20 market seconds
    at x20): the run's report still ends at the replay's last event, not when the bot got
    round to exiting (its flat seconds counted as returns, and no two runs alike)."""
    files = still_market(tmp_path / "files", T0 + 20_000)  # its last event: the book's row at +19.75 s
    db = tmp_path / "venue.db"
    env = {**os.environ, **account(db)}
    command = [sys.executable, str(Path(__file__).with_name("lingering_bot.py")), "1.0"]
    code = await run_bot(run_config(files, db, 20.0), command, find_library(), 1000, env, tmp_path / "report")
    assert code == 0
    report = json.loads((tmp_path / "report" / "account-1-USDT.json").read_text())
    assert report["end_ms"] == T0 + 19_750, report["end_ms"] - T0
    # the bot's end told as the replay's, not as a failure ("ended by SIGTERM" alone)
    said = capsys.readouterr().err
    assert "the replay ended (its last event at 2024-01-01T00:00:19.750+00:00)" in said and "the bot is sent SIGTERM" in said


async def test_a_report_folder_that_cannot_be_written_is_refused_before_the_run(tmp_path: Path) -> None:
    """Found out at the start, not after the whole run with the bot's exit status kept (a
    script saw no failure): the folder is made and a file written in it first."""
    files = still_market(tmp_path / "files", T0 + 20_000)
    (tmp_path / "a-file").write_text("")
    folder = tmp_path / "a-file" / "reports"
    with pytest.raises(SystemExit, match=re.escape(f"tickerplant run: --report {folder}: cannot write there:")):
        await run_bot(run_config(files, tmp_path / "venue.db", 20.0), ["true"], find_library(), 1000, {}, folder)
    made = tmp_path / "new" / "reports"  # a folder that is not there yet is made
    code = await run_bot(run_config(files, tmp_path / "venue.db", 20.0), ["true"], find_library(), 1000, {}, made)
    assert code == 0 and made.is_dir()


async def test_a_command_that_cannot_start_exits_as_a_shell_says_and_a_bot_s_end_is_told(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """127 for a command not found, 126 for one found but not run (a shell's numbers: a bot's
    own exit 1 is the bot's), and the run says how the bot ended."""
    files = still_market(tmp_path / "files", T0 + 20_000)
    config, library = run_config(files, tmp_path / "venue.db", 20.0), find_library()
    assert await run_bot(config, [str(tmp_path / "no-such-bot")], library, 1000, {}) == 127
    assert "tickerplant run: cannot start " in capsys.readouterr().err
    not_executable = tmp_path / "bot.sh"
    not_executable.write_text("exit 0\n")
    assert await run_bot(config, [str(not_executable)], library, 1000, {}) == 126
    assert await run_bot(config, ["sh", "-c", "exit 7"], library, 1000, {}) == 7
    assert "tickerplant run: the bot exited with 7" in capsys.readouterr().err
