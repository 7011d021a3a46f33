"""A scripted ccxt strategy, run as a bot by ``tickerplant run`` (tests/e2e/test_bot_speeds.py):
ccxt's ``binanceusdm`` at its defaults but for its base URLs (from the run's environment)
and its keys. On its own clock, which the run makes the market's: at ``AT`` a limit buy
below the bid; at ``AT + 1.2 STEP`` (filled by then by a trade through it) a reduce-only
limit sell above the ask; at ``AT + 3 STEP`` it writes what the venue says of its orders,
fills, position and balances as JSON to ``OUT`` and exits. It sleeps until its clock reads
each time, its sleeps divided by the run's speed when they last wall time
(``TICKERPLANT_WAITS``), so it keeps time under either libfaketime build (docs/run.md).
Exit 3: it was ready only after ``AT`` (its start-up took longer than the test allowed)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import ccxt.async_support as ccxt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: run as a script, not collected
from ccxt_hosts import point

AT, STEP, OUT = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
SYMBOL = "BTC/USDT:USDT"


# a sleep lasts market time under the full libfaketime, wall time under the clock-only one
WALL = float(os.environ["TICKERPLANT_SPEED"]) if os.environ["TICKERPLANT_WAITS"] == "wall" else 1.0


async def until(ms: int) -> None:
    """Sleep until the clock reads ``ms`` (never a busy loop: at x20 it would take a core)."""
    while (left_s := ms / 1000 - time.time()) > 0:
        await asyncio.sleep(left_s / WALL)


async def main() -> int:
    um = os.environ["TICKERPLANT_UM_URL"]
    exchange = ccxt.binanceusdm({"apiKey": os.environ["BOT_KEY"], "secret": os.environ["BOT_SECRET"],
                                 "enableRateLimit": False, "timeout": 60_000})  # fmt: skip
    ws = um.replace("http", "ws", 1)
    hosts = {"https://fapi.binance.com": um, "https://api.binance.com": um, "wss://fstream.binance.com": ws}

    point(exchange, hosts)  # the base URLs only (tests/ccxt_hosts.py)
    try:
        await exchange.load_markets()
        if time.time() * 1000 > AT:
            print(f"ready at {time.time() * 1000:.0f}, after {AT}", file=sys.stderr)
            return 3
        await until(AT)
        buy = await exchange.create_order(SYMBOL, "limit", "buy", 0.01, 41990.0)
        await until(AT + STEP * 6 // 5)
        sell = await exchange.create_order(SYMBOL, "limit", "sell", 0.01, 42010.0, {"reduceOnly": True})
        await until(AT + 3 * STEP)
        done = {
            "placed": {"buy": buy["info"], "sell": sell["info"]},
            "orders": [o["info"] for o in await exchange.fetch_orders(SYMBOL)],
            "fills": [t["info"] for t in await exchange.fetch_my_trades(SYMBOL)],
            "positions": [p["info"] for p in await exchange.fetch_positions([SYMBOL])],
            "balance": (await exchange.fetch_balance())["info"]["assets"],
        }
    finally:
        await exchange.close()
    with open(OUT, "w") as out:
        json.dump(done, out)
    return 0


sys.exit(asyncio.run(main()))
