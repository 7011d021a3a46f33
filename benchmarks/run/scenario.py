"""A bot on the past, faster than real time: a recorded hour of BTCUSDT under ``tickerplant
run`` with a ccxt bot trading every market minute, and the venue's cost per replayed event.

    python -m benchmarks run                  # an hour recorded, then run at x50, x100, x200
    python -m benchmarks run --quick          # five minutes, at x50

1. **The recording**: the simulated market on a manual clock (``benchmarks/fills``'
   recorder), BTCUSDT's `@depth@100ms`, `@aggTrade`, `@trade` and `@bookTicker` with a REST
   depth snapshot, stamped with the market's time, as ``tickerplant record`` writes them.
2. **The runs**: ``tickerplant run --replay REC --speed N -- python bot.py`` as a user starts
   it (a subprocess; an account made with ``AccountStore`` as ``tickerplant accounts create``
   makes it), the bot (``bot.py``: ccxt ``binanceusdm`` at its defaults but for its URLs)
   cancelling and placing a resting buy and sell near the touch every market minute and a
   MARKET order every fifth. Each speed's wall time from the start to the run's end, the
   speed-up achieved (market seconds over wall seconds: target >= 50), and whether the run
   held: the bot traded every minute to its end (its last line) and was not stopped for its
   lag (exit 1, naming a speed that would hold); ``held``.
3. **The venue's cost per event** (in process, ``Engine.apply``): the recording's aggTrades
   delivered to an engine reading its book, first with no order resting, then with
   ``--resting`` orders of ten accounts at the prices the trades reach (each trade meets the
   orders at its price: their queues move, none fills, behind the displayed size): µs per
   trade more than with none (target <= 20).

It always exits 0: it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import msgspec

from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.recording.format import Recorded
from tickerplant.recording.reading import is_recording, read_recording
from tickerplant.venue.auth.accounts import KeyType
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import Trades
from tickerplant.venue.domain.money import parse_amount
from tickerplant.venue.wire.order_entry import new_order

from ..fills.scenario import T0_MS, truth
from ..harness.report import Target, verdict
from ..matching.parts import Counting, Deposits

SPEED_TARGET = Target(50.0)
COST_TARGET = Target(20.0, at_least=False, unit=" µs")
BOT = Path(__file__).with_name("bot.py")
SECRET = "B" * 64
EXTRA = ("btcusdt@trade", "btcusdt@bookTicker")


def _account(db: Path) -> str:
    store = AccountStore(db)
    account = store.create_account("bot", [(Market.UM, "USDT", parse_amount("100000"))], T0_MS)
    key = store.add_key(account.account_id, KeyType.HMAC, SECRET, now_ms=T0_MS).api_key
    store.close()
    return key


def _span(recorded: Path) -> tuple[int, int, int, list[bytes]]:
    """The recording's first and last times (ms), its messages, and its aggTrades."""
    first = last = count = 0
    trades: list[bytes] = []
    for path in sorted(p for p in recorded.rglob("*") if is_recording(p)):
        _, items = read_recording(path)
        for item in items:
            if isinstance(item, Recorded):
                at = item.received_us // 1000
                first, last, count = first or at, at, count + 1
                if item.stream.endswith("@aggTrade"):
                    trades.append(item.data)
    return first, last, count, trades


def run_at(recorded: Path, folder: Path, speed: float, end_ms: int) -> tuple[float, int, list[str]]:
    """``tickerplant run`` at ``speed`` with the bot: wall seconds, exit status, its and the run's lines."""
    db = folder / f"x{speed:g}.db"
    key = _account(db)
    command = [
        sys.executable, "-m", "tickerplant", "run", "--replay", str(recorded), "--speed", f"{speed:g}",
        "--venue-db", str(db), "--um-port", "0", "--cm-port", "0", "--admin-port", "0",
        "--log-level", "WARNING", "--report", str(folder / f"report-x{speed:g}"),
        "--", sys.executable, str(BOT), str(end_ms),
    ]  # fmt: skip
    env = {**os.environ, "BOT_KEY": key, "BOT_SECRET": SECRET}
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - started
    said = [line for line in done.stderr.splitlines() if line.startswith(("tickerplant run", "bot:"))]
    return wall, done.returncode, said


def held(code: int, said: list[str]) -> bool:
    """Whether the run held: not stopped for its lag (1), and the bot traded every minute to
    its end (its last line, among the run's and the bot's on stderr). A bot done a few wall
    ms before the replay's end may still be exiting (its interpreter's teardown) when the run
    ends it: SIGTERM's 143 then says when it exited, not that it fell behind."""
    return code != 1 and any(line.startswith("bot: traded") for line in said)


class Levels:
    """A fixed book at every price the trades reach, deep (1,000 BTC a level), split at their
    median: what an engine reads (``MarketData``), so a resting order there stands behind
    the displayed size and a trade at its price moves it up without filling it."""

    def __init__(self, prices: list[int]) -> None:
        split = prices[len(prices) // 2]
        self.split = split
        self.bids = [(p, 10**6) for p in reversed(prices) if p <= split]
        self.asks = [(p, 10**6) for p in prices if p > split]
        self.by_price = {True: dict(self.bids), False: dict(self.asks)}

    def levels(self, symbol: str, bids: bool) -> Iterator[tuple[int, int]]:
        return iter(self.bids if bids else self.asks)

    def quantity_at(self, symbol: str, bids: bool, price: int) -> int:
        return self.by_price[bids].get(price, 0)

    def mark(self, symbol: str) -> Fraction | None:
        return Fraction(self.split, 100)

    def book_id(self, symbol: str) -> int | None:
        return None

    def halted(self, symbol: str) -> bool:
        return False  # no followed book here


def venue_cost(trades: list[bytes], resting: int) -> tuple[float, float]:
    """µs per aggTrade delivered to an engine reading a book at its prices: with no order
    resting, and with ``resting`` orders of ten accounts at the prices the trades reach."""
    prices = sorted({round(float(msgspec.json.decode(t)["p"]) * 100) for t in trades})
    messages = [Trades((StreamMessage("btcusdt@aggTrade", t),)) for t in trades]

    def timed(with_orders: bool) -> float:
        book = Levels(prices)
        engine = Engine(Market.UM, catalogue(Market.UM, T0_MS), book, Deposits(10), Counting())
        now = T0_MS
        for n in range(resting if with_orders else 0):
            price = prices[n * len(prices) // resting]
            now += 50  # within the order limits
            params = {"symbol": "BTCUSDT", "side": "BUY" if price <= book.split else "SELL", "type": "LIMIT",
                      "timeinforce": "GTC", "quantity": "0.001", "price": f"{price / 100:.2f}"}  # fmt: skip
            new_order(engine, 1 + n % 10, params, now)
        assert len(engine.resting("BTCUSDT")) == (resting if with_orders else 0)
        engine.outbox.take()
        gc.collect()
        started = time.perf_counter()
        for message in messages:
            engine.apply(message, now)
        return (time.perf_counter() - started) / len(messages) * 1e6

    return timed(False), timed(True)


async def record(folder: Path, minutes: int) -> Path:
    recordings, _, _, _ = await truth(folder, minutes, [], 7, EXTRA)
    return recordings["as recorded"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks run", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="five market minutes, at x50")
    p.add_argument("--minutes", type=int, default=None, help="market minutes recorded (60; 5)")
    p.add_argument("--speeds", default=None, help="speeds to run at (50,100,200; 50)")
    p.add_argument("--resting", type=int, default=100, help="orders resting at the trades' prices")
    args = p.parse_args(argv)
    args.minutes = args.minutes or (5 if args.quick else 60)
    args.speeds = [float(s) for s in (args.speeds or ("50" if args.quick else "50,100,200")).split(",")]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"== a bot on the past: {args.minutes} market minutes of BTCUSDT under tickerplant run")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        started = time.perf_counter()
        recorded = asyncio.run(record(folder, args.minutes))
        first, last, count, trades = _span(recorded)
        market_s = (last - first) / 1000
        took = time.perf_counter() - started
        print(f"  recorded {count:,} messages over {market_s:,.0f} market s in {took:.0f} s")
        best = None
        for speed in args.speeds:
            wall, code, said = run_at(recorded, folder, speed, last)
            achieved = market_s / wall
            kept = held(code, said)
            print(f"  x{speed:g}: {wall:,.1f} wall s, {achieved:,.1f}x real time, "
                  f"{'held' if kept else 'not held'} (exit {code}); {' / '.join(said[-4:])}")  # fmt: skip
            if kept and (best is None or achieved > best):
                best = achieved
        print(verdict("speed-up over real time (the fastest run that held)", best, SPEED_TARGET, 1))
        none, some = venue_cost(trades, args.resting)
        print(f"  an aggTrade to the engine: {none:,.1f} µs with no order resting, {some:,.1f} µs with "
              f"{args.resting} at the trades' prices")  # fmt: skip
        label = "the venue's added cost per event touching a user's level"
        print(verdict(label, some - none, COST_TARGET, 1))
    return 0
