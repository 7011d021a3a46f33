"""The report's screenshot in docs/ (docs/screenshots/report.png), from a real run: a server
on the simulated market, a small momentum bot trading BTCUSDT through ccxt at its defaults
(its keys, its URLs pointed here) for a minute and a half, the positions marked at every
public aggregate trade of the run (``write_report``'s ``marks``), the page drawn by headless
Chromium.

    PYTHONPATH=src python scripts/report_screenshot.py [--seconds 90] [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import ccxt.pro as ccxtpro

from tickerplant.app import Tickerplant
from tickerplant.clock import SystemClock
from tickerplant.config import ServerConfig, SimulatorConfig
from tickerplant.market.instruments import Market
from tickerplant.report.rows import PricePoint
from tickerplant.report.write import write_report
from tickerplant.venue.auth.accounts import KeyType
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.domain.money import parse_amount

SYMBOL, SECRET = "BTC/USDT:USDT", "S" * 64
CHROMIUM = "/usr/bin/chromium"


def account(path: Path) -> tuple[int, str]:
    store = AccountStore(path)
    try:
        now = SystemClock().now_ms()
        made = store.create_account("bot", [(Market.UM, "USDT", parse_amount("10000"))], now).account_id
        return made, store.add_key(made, KeyType.HMAC, SECRET, now_ms=now).api_key
    finally:
        store.close()


def pointed(exchange: Any, port: int) -> Any:
    for name, url in list(exchange.urls["api"].items()):
        if isinstance(url, str):
            for real in ("https://fapi.binance.com", "https://api.binance.com"):
                url = url.replace(real, f"http://127.0.0.1:{port}")
            exchange.urls["api"][name] = url.replace("wss://fstream.binance.com", f"ws://127.0.0.1:{port}")
    return exchange


async def trade(exchange: Any, seconds: float) -> None:
    """Every two seconds, follow the last move: buy 0.05 after a rise, sell after a fall,
    within ±0.15 BTC; now and then a limit order at the touch, to be filled as a maker."""
    last, held, step = None, Decimal(0), 0
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        price = (await exchange.fetch_ticker(SYMBOL))["last"]
        if last is not None and price != last:
            side = "buy" if price > last else "sell"
            sign = 1 if side == "buy" else -1
            if abs(held + sign * Decimal("0.05")) <= Decimal("0.15"):
                if step % 4 == 3:
                    book = await exchange.fetch_order_book(SYMBOL, 5)
                    touch = book["bids"][0][0] if side == "buy" else book["asks"][0][0]
                    await exchange.create_order(SYMBOL, "limit", side, 0.05, touch)
                else:
                    await exchange.create_order(SYMBOL, "market", side, 0.05)
                held += sign * Decimal("0.05")
        last, step = price, step + 1
        await asyncio.sleep(2)
    await exchange.cancel_all_orders(SYMBOL)
    (position,) = await exchange.fetch_positions([SYMBOL]) or [None]
    if position is not None and position["contracts"]:
        side = "sell" if position["side"] == "long" else "buy"
        await exchange.create_order(SYMBOL, "market", side, position["contracts"], None, {"reduceOnly": True})


async def public_trades(port: int, start_ms: int, end_ms: int) -> list[PricePoint]:
    """BTCUSDT's aggregate trades of the run, from the server's REST, as marks."""
    points: list[PricePoint] = []
    async with aiohttp.ClientSession() as session:
        at = start_ms
        while at < end_ms:
            query = {
                "symbol": "BTCUSDT",
                "startTime": at,
                "endTime": min(at + 3_600_000, end_ms),
                "limit": 1000,
            }
            async with session.get(f"http://127.0.0.1:{port}/fapi/v1/aggTrades", params=query) as answer:
                rows = await answer.json()
            points += [PricePoint(row["T"], "BTCUSDT", round(Decimal(row["p"]) * 100)) for row in rows]
            if len(rows) < 1000:
                break
            at = rows[-1]["T"] + 1
    return points


async def main(seconds: float, out: Path) -> None:
    folder = Path(tempfile.mkdtemp())
    db = folder / "venue.db"
    account_id, key = account(db)
    simulator = SimulatorConfig(actions_per_s=400.0, history_s=600.0, book_levels=20)
    plant = Tickerplant(
        ServerConfig(um_port=0, cm_port=0, admin_port=0, venue_db=str(db), simulator=simulator)
    )
    await plant.start()
    port = plant.listeners[Market.UM].port
    exchange = pointed(ccxtpro.binanceusdm({"apiKey": key, "secret": SECRET}), port)
    try:
        start_ms = SystemClock().now_ms()
        await exchange.load_markets()
        await trade(exchange, seconds)
        marks = await public_trades(port, start_ms, SystemClock().now_ms())
    finally:
        await exchange.close()
        await plant.close()
    made = write_report(db, account_id, folder, marks=marks)
    print(f"report {made.html} ({made.figures.statistics.trades} fills, {len(marks)} marks)")

    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        page = await browser.new_page(viewport={"width": 1366, "height": 768})
        await page.goto(made.html.as_uri())
        await page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 3")
        out.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(out / "report.png"), full_page=True)
        await browser.close()
    print(f"screenshot {out / 'report.png'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.out))
