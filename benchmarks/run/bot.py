"""The run benchmark's bot: ccxt's ``binanceusdm`` at its defaults but for its base URLs (from
``tickerplant run``'s environment) and its keys, trading every market minute on its own clock
(the market's, under the run): its resting orders from the minute before cancelled, a limit
buy two ticks under the bid and a limit sell two over the ask, and every fifth minute a
MARKET order of 0.001 BTC. It exits at ``END`` (argv, market ms); its sleeps are divided by
the run's speed when they last wall time (``TICKERPLANT_WAITS``, docs/run.md)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any

import ccxt.async_support as ccxt

END = int(sys.argv[1])
SYMBOL = "BTC/USDT:USDT"
WALL = float(os.environ["TICKERPLANT_SPEED"]) if os.environ["TICKERPLANT_WAITS"] == "wall" else 1.0


async def until(ms: int) -> None:
    while (left_s := ms / 1000 - time.time()) > 0:
        await asyncio.sleep(left_s / WALL)


async def main() -> int:
    um = os.environ["TICKERPLANT_UM_URL"]
    exchange = ccxt.binanceusdm({"apiKey": os.environ["BOT_KEY"], "secret": os.environ["BOT_SECRET"],
                                 "enableRateLimit": False, "timeout": 60_000})  # fmt: skip
    hosts = {"https://fapi.binance.com": um, "https://api.binance.com": um}

    def walk(node: dict[str, Any]) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value)
            elif isinstance(value, str):
                for real, local in hosts.items():
                    if value.startswith(real):
                        node[key] = local + value[len(real) :]

    walk(exchange.urls["api"])
    minutes = 0
    try:
        await exchange.load_markets()
        minute = int(time.time() // 60 + 1) * 60_000
        while minute < END - 2_000:
            await until(minute)
            await exchange.cancel_all_orders(SYMBOL)
            book = await exchange.fetch_order_book(SYMBOL, 5)
            bid, ask = book["bids"][0][0], book["asks"][0][0]
            await exchange.create_order(SYMBOL, "limit", "buy", 0.002, round(bid - 0.2, 1))
            await exchange.create_order(SYMBOL, "limit", "sell", 0.002, round(ask + 0.2, 1))
            if minutes % 5 == 0:
                await exchange.create_order(SYMBOL, "market", "buy" if minutes % 10 == 0 else "sell", 0.001)
            minutes += 1
            minute += 60_000
    finally:
        await exchange.close()
    print(f"bot: traded {minutes} market minutes", file=sys.stderr)
    return 0


sys.exit(asyncio.run(main()))
