"""Speed invariance under ``tickerplant run``: a scripted ccxt strategy (``ccxt_strategy_bot.py``)
over the same public files at ×1 and at ×20 places the same orders at the same market
times (its own clock, the market's) and gets byte-identical fills, orders, position and
balances, whichever libfaketime build is found (docs/run.md).

The bot's start-up (Python, ccxt, its markets) takes about two wall seconds: forty market
seconds at ×20. So the ×20 run starts the replay ``LEAD_20`` before the strategy's first
order and the ×1 run ``LEAD_1`` before it; the replay reads the files' day before its
``--start`` into the market (docs/replay.md), so both runs meet the same market at ``AT``."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from public_data import BOOK_HEADER, UM_TRADES_HEADER, write

from tickerplant.bot.faketime import find_library
from tickerplant.bot.run import run_bot
from tickerplant.config import ReplayConfig, ServerConfig
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.wire.administration import create_account

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC, the files' day
AT = T0 + 90_000  # the strategy's first order
STEP = 1_000  # between its steps, market ms: 50 wall ms at ×20
LEAD_20, LEAD_1 = 90_000, 4_000  # the replay's start before AT: 4.5 and 4 wall seconds
BOT = Path(__file__).with_name("ccxt_strategy_bot.py")

pytestmark = pytest.mark.uvloop_only


def _files(folder: Path) -> None:
    """A still book (42000.0 / 42000.1) and a trade a second at the touch; a seller through
    the strategy's buy at ``AT + STEP / 2`` and a buyer through its sell at ``AT + 3 STEP / 2``."""
    book = [f"{i + 1},42000.0,1.000,42000.1,1.000,{t},{t}" for i, t in enumerate(range(T0, AT + 30_000, 250))]
    taps = [(t + 100, "42000.0" if t % 2000 else "42000.1", t % 2000 != 0) for t in range(T0, AT + 30_000, 1000)]
    taps += [(AT + STEP // 2, "41985.0", True), (AT + 3 * STEP // 2, "42015.0", False)]
    taps.sort()
    trades = [f"{i + 1},{price},0.050,2100.000,{t},{str(seller).lower()}" for i, (t, price, seller) in enumerate(taps)]
    write(folder, "BTCUSDT-bookTicker-2024-01-01", BOOK_HEADER, book, zipped=False)
    write(folder, "BTCUSDT-trades-2024-01-01", UM_TRADES_HEADER, trades, zipped=False)


def _account(db: Path) -> dict[str, str]:
    """The bot's account and key, as ``tickerplant accounts create`` makes them (at a fixed
    time, so that both runs' balances carry the same times)."""
    store = AccountStore(str(db))
    try:
        _, made = create_account(
            store, "bot", "USDT=10000", public_key=None, permissions="reading,trading", ips="", now_ms=T0 - 86_400_000
        )
    finally:
        store.close()
    assert made.secret is not None
    return {"BOT_KEY": made.key.api_key, "BOT_SECRET": made.secret}


async def _run(tmp: Path, files: Path, speed: float, lead_ms: int) -> tuple[int, dict[str, Any]]:
    folder = tmp / f"x{speed:g}"
    folder.mkdir()
    replay = ReplayConfig(paths=(str(files),), speed=speed, start_ms=AT - lead_ms)
    config = ServerConfig(um_port=0, cm_port=0, admin_port=0, venue_db=str(folder / "venue.db"), replay=replay)
    config = dataclasses.replace(config, replay=dataclasses.replace(replay, exit_at_end=True))
    env = {**os.environ, **_account(folder / "venue.db")}
    out = folder / "done.json"
    command = [sys.executable, str(BOT), str(AT), str(STEP), str(out)]
    code = await run_bot(config, command, find_library(), 1000, env)
    return code, json.loads(out.read_text()) if out.exists() else {}


async def test_a_ccxt_strategy_trades_the_same_at_x1_and_x20(tmp_path: Path) -> None:
    files = tmp_path / "files"
    files.mkdir()
    _files(files)
    (code_1, slow), (code_20, fast) = await asyncio.gather(
        _run(tmp_path, files, 1.0, LEAD_1), _run(tmp_path, files, 20.0, LEAD_20)
    )
    assert (code_1, code_20) == (0, 0)
    for done in (slow, fast):  # each order placed at its market time, by the bot's clock
        placed = done["placed"]
        assert AT <= placed["buy"]["updateTime"] < AT + STEP // 2
        assert AT + STEP <= placed["sell"]["updateTime"] < AT + 3 * STEP // 2
    assert [f["time"] for f in fast["fills"]] == [AT + STEP // 2, AT + 3 * STEP // 2]  # the trades'
    unstamped = [{k: v for k, v in o.items() if k not in ("time", "clientOrderId")} for o in fast["orders"]]
    assert unstamped == [{k: v for k, v in o.items() if k not in ("time", "clientOrderId")} for o in slow["orders"]]
    for part in ("fills", "positions", "balance"):
        assert json.dumps(fast[part]) == json.dumps(slow[part]), part
