"""Speed invariance under ``tickerplant run``: a scripted ccxt strategy (``ccxt_strategy_bot.py``)
over the same public files at ×1 and at ×20 places the same orders at the same market
times (its own clock, the market's) and gets byte-identical fills, orders, position and
balances, whichever libfaketime build is found (docs/run.md).

The bot's start-up (Python, ccxt, its markets) takes two to five wall seconds, 40 to 100
market seconds at ×20. So the ×20 run starts the replay ``LEAD_20`` before the strategy's first
order and the ×1 run ``LEAD_1`` before it; the replay reads the files' day before its
``--start`` into the market (docs/replay.md), so both runs meet the same market at ``AT``."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from bot_runs import T0, account, run_config, still_market

from tickerplant.bot.faketime import find_library
from tickerplant.bot.run import run_bot

AT = T0 + 90_000  # the strategy's first order
# market ms: at ×20 the buy may be up to 250 wall ms late and the sell 325 (at 1,000 a loaded
# run's sell came 313 ms late once: its window was 65 ms); the ×1 run takes 3 STEP of wall time
STEP = 5_000
LEAD_20, LEAD_1 = 180_000, 9_000  # the replay's start before AT: 9 wall seconds each (a loaded machine's start-up)
BOT = Path(__file__).with_name("ccxt_strategy_bot.py")

pytestmark = pytest.mark.uvloop_only


async def _run(tmp: Path, files: Path, speed: float, lead_ms: int) -> tuple[int, dict[str, Any]]:
    folder = tmp / f"x{speed:g}"
    folder.mkdir()
    config = run_config(files, folder / "venue.db", speed, AT - lead_ms)
    env = {**os.environ, **account(folder / "venue.db")}
    out = folder / "done.json"
    command = [sys.executable, str(BOT), str(AT), str(STEP), str(out)]
    code = await run_bot(config, command, find_library(), 1000, env, folder / "report")
    return code, json.loads(out.read_text()) if out.exists() else {}


async def test_a_ccxt_strategy_trades_the_same_at_x1_and_x20(tmp_path: Path) -> None:
    # a seller through the strategy's buy a step after it, a buyer through its sell at 2.5
    through = [(AT + STEP, "41985.0", True), (AT + 5 * STEP // 2, "42015.0", False)]
    files = still_market(tmp_path / "files", AT + 60_000, through)  # the bot ends first
    (code_1, slow), (code_20, fast) = await asyncio.gather(
        _run(tmp_path, files, 1.0, LEAD_1), _run(tmp_path, files, 20.0, LEAD_20)
    )
    assert (code_1, code_20) == (0, 0)
    for done in (slow, fast):  # each order placed at its market time, by the bot's clock
        placed = done["placed"]
        # a millisecond before AT (the sell's time, a book row's too) when the market's row then
        # was due and not yet delivered: the venue's time stands before it, the order meeting
        # the book as it stands (docs/replay.md)
        assert AT - 1 <= placed["buy"]["updateTime"] < AT + STEP  # before the trades through them
        assert AT + STEP * 6 // 5 - 1 <= placed["sell"]["updateTime"] < AT + 5 * STEP // 2
    assert [f["time"] for f in fast["fills"]] == [AT + STEP, AT + 5 * STEP // 2]  # the trades'
    unstamped = [{k: v for k, v in o.items() if k not in ("time", "clientOrderId")} for o in fast["orders"]]
    assert unstamped == [{k: v for k, v in o.items() if k not in ("time", "clientOrderId")} for o in slow["orders"]]
    for part in ("fills", "positions", "balance"):
        assert json.dumps(fast[part]) == json.dumps(slow[part]), part
    # the report each run wrote when it ended (docs/report.md): the same trading, the same figures
    reports = [json.loads((tmp_path / run / "report" / "account-1-USDT.json").read_text()) for run in ("x1", "x20")]
    # the runs start at different market times (their leads): what the trading made is the same
    kept = ("end_equity", "return_ratio", "trades", "orders_filled", "round_trips", "wins", "turnover", "slippage")
    made = [({k: r["statistics"][k] for k in kept}, r["statistics"]["max_drawdown"]["amount"], r["flows"])
            for r in reports]  # fmt: skip
    assert made[0] == made[1]
    for report in reports:  # the account's opening balance is its equity at the start, not a flow
        s = report["statistics"]
        assert (s["start_equity"], report["flows"]["transfers"]) == (10_000 * 10**8, 0)
        assert s["return_ratio"] is not None and s["max_drawdown"]["ratio"] is not None
    assert reports[1]["statistics"]["trades"] == len(fast["fills"])
    assert (tmp_path / "x20" / "report" / "account-1-USDT.html").stat().st_size > 0
