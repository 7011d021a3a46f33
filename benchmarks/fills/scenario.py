"""The fill models against ground truth: what each queue model reproduces of the fills a
set of scripted orders got in the simulated market's one book, when the same orders at the
same market times meet a recording of that market instead.

    python -m benchmarks fills              # an hour of the simulated market (a few minutes)
    python -m benchmarks fills --quick      # ten minutes of it

1. **The truth.** The server runs the simulator (seeded) on a manual clock stepped 100 ms at
   a time, so an hour of market passes in the time its steps take. Two market-stream
   connections record BTCUSDT's `@depth@100ms` and `@aggTrade` (with a REST `depth`
   snapshot at the start) as ``tickerplant record`` would, stamped with the market's time.
   Meanwhile one account places, in process through the wire's own order entry, an
   aggressive MARKET order (0.001 to 0.020 BTC) and a passive post-only LIMIT order
   (0.002 BTC, 0 to 500 ticks behind the best bid or ask) every ``--every`` seconds, and cancels each
   passive order 60 s after it was placed if it is still open. They trade in the one book
   (the simulator's): their fills are exact, the truth.
2. **The replays.** For each queue model, the server replays that recording on a manual
   clock with the same orders at the same market times (no latency): marketable orders
   walk the recorded book, resting ones wait behind the recorded size at their price.
3. **The table**, per model: the share of the aggressive orders' filled quantity
   reproduced at the same price (Σ over each order's prices of the smaller of the two
   quantities there, over the truth's Σ: target ≥ 95 %) and reproduced at all (the same
   quantity whatever the price), the passive orders that filled (any quantity) against
   the truth's count (target within 10 %), and the mean |error| of a passive order's first
   fill time over the orders that filled in both.

Bias to know: the recording holds the truth's own orders (a resting order is quantity in
the one book, so in the recorded depth; an aggressive order's fills are recorded trades).
A replayed passive order queues behind a level that held its truth twin: the replay's
queue is longer by the order's own 0.002, and its twin's fills are trades at its price.
It always exits 0: it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import random
import sqlite3
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import aiohttp
import msgspec

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock
from tickerplant.config import ReplayConfig, ServerConfig, SimulatorConfig
from tickerplant.feeds.replay.player import ReplaySource
from tickerplant.feeds.simulator.pump import SimulatedMarket
from tickerplant.market.book.queue import QUEUE_MODELS
from tickerplant.market.instruments import Market
from tickerplant.recording.format import Recorded, RecordedSnapshot, RecordingWriter
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.money import parse_amount
from tickerplant.venue.wire.order_entry import cancel_order, new_order

from ..harness.report import Target, verdict
from .footprint import footprint_of, without

AGGRESSIVE_TARGET = Target(0.95)
PASSIVE_TARGET = Target(0.9)  # within 10 %: at least 0.9 of the truth's count (and at most 1.1: printed)
SYMBOL, BOOK, TRADES = "BTCUSDT", "btcusdt@depth@100ms", "btcusdt@aggTrade"
STEP_MS = 100
CANCEL_AFTER_MS = 60_000
# a passive order's ticks behind the touch: BTCUSDT's 0.10 tick is ~1/500 of a minute's move,
# so an order near the touch is traded through within seconds whatever its queue; one far
# off fills only when the market reaches it, where its place in the queue decides
BEHIND = (0, 1, 5, 20, 50, 100, 200, 300, 500)
T0_MS = 1_790_000_000_000


class Scripted(NamedTuple):
    at_ms: int  # from the start
    client_id: str
    aggressive: bool
    buy: bool
    qty: str
    behind: int = 0  # a passive order's ticks behind its side's best price (0: joining it)


class Fill(NamedTuple):
    price: int
    qty: int
    time_ms: int


def script(minutes: int, every_s: int, seed: int) -> list[Scripted]:
    rng = random.Random(seed)
    made: list[Scripted] = []
    for n, at in enumerate(range(30_000, minutes * 60_000 - CANCEL_AFTER_MS, every_s * 1000)):
        made.append(Scripted(at, f"a{n}", True, rng.random() < 0.5, f"{rng.randint(1, 20) / 1000:.3f}"))
        behind = rng.choice(BEHIND)
        made.append(Scripted(at + every_s * 500, f"p{n}", False, rng.random() < 0.5, "0.002", behind))
    return made


def _accounts(folder: Path) -> Path:
    db = folder / "accounts.db"
    store = AccountStore(db)
    store.create_account("scripted", [(Market.UM, "USDT", parse_amount("10000000"))], T0_MS)
    store.close()
    return db


async def _turns(n: int = 3) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


class Orders:
    """The script applied to one server's engine as its clock passes each order's time."""

    def __init__(self, engine: Engine, made: list[Scripted]) -> None:
        self.engine = engine
        self.todo = sorted(made)
        self.cancels: list[tuple[int, str]] = []
        self.refused: dict[str, int] = {}

    def due(self, start_ms: int, now_ms: int) -> None:
        while self.todo and start_ms + self.todo[0].at_ms <= now_ms:
            self._place(self.todo.pop(0), now_ms)
        while self.cancels and self.cancels[0][0] <= now_ms:
            _, client_id = self.cancels.pop(0)
            with contextlib.suppress(Exception):  # filled already: -2011
                cancel_order(self.engine, 1, {"symbol": SYMBOL, "origclientorderid": client_id}, now_ms)

    def _place(self, order: Scripted, now_ms: int) -> None:
        params = {"symbol": SYMBOL, "side": "BUY" if order.buy else "SELL", "quantity": order.qty,
                  "newclientorderid": order.client_id}  # fmt: skip
        if order.aggressive:
            params["type"] = "MARKET"
        else:
            best = next(iter(self.engine.data.levels(SYMBOL, order.buy)), None)
            if best is None:
                return
            tick = self.engine.instruments[SYMBOL].tick
            price = best[0] - order.behind * tick if order.buy else best[0] + order.behind * tick
            params |= {"type": "LIMIT", "timeinforce": "GTX", "price": f"{price / 100:.2f}"}
            self.cancels.append((now_ms + CANCEL_AFTER_MS, order.client_id))
        try:
            new_order(self.engine, 1, params, now_ms)
        except Exception as exc:  # a refusal (-5022 post-only that would take): counted
            code = getattr(exc, "code", None)
            if code is None:
                raise
            self.refused[order.client_id] = code


def fills_of(db: Path) -> dict[str, list[Fill]]:
    """Every fill of the scripted account, by its order's client id."""
    with contextlib.closing(sqlite3.connect(db)) as connection:
        rows = connection.execute(
            "SELECT o.client_order_id, f.price, f.qty, f.time_ms FROM venue_fills f JOIN venue_orders o "
            "ON o.symbol = f.symbol AND o.order_id = f.order_id WHERE f.account_id = 1 ORDER BY f.time_ms"
        ).fetchall()
    found: dict[str, list[Fill]] = defaultdict(list)
    for client_id, price, qty, time_ms in rows:
        found[client_id].append(Fill(price, qty, time_ms))
    return found


async def _record(port: int, stream: str, into: list[tuple[int, int, str, bytes]], kind: int) -> None:
    url = f"ws://127.0.0.1:{port}/ws/{stream}"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        async for message in ws:
            payload = message.data.encode() if isinstance(message.data, str) else message.data
            event_ms = msgspec.json.decode(payload, type=dict[str, object])["E"]
            assert isinstance(event_ms, int)
            into.append((event_ms, kind, stream, payload))


async def truth(
    folder: Path, minutes: int, made: list[Scripted], seed: int, extra: tuple[str, ...] = ()
) -> tuple[dict[str, Path], dict[str, list[Fill]], int, int]:
    """Run the simulator with the script into ``folder``; the recordings (as recorded, and
    without the script's footprint: ``footprint.py``), the fills, when the script started and
    when the recordings do. ``extra``: streams recorded besides BTCUSDT's depth and aggTrades
    (the run benchmark's bookTicker and trades)."""
    db = _accounts(folder)
    clock = ManualClock(T0_MS)
    simulator = SimulatorConfig(seed=seed, history_s=600.0, book_levels=100)
    config = ServerConfig(um_port=0, cm_port=0, admin_port=0, venue_db=str(db), simulator=simulator)
    plant = Tickerplant(config, clock=clock)
    await plant.start()
    items: list[tuple[int, int, str, bytes]] = []
    try:
        source, port = plant.source, plant.listeners[Market.UM].port
        assert isinstance(source, SimulatedMarket)
        readers = [asyncio.ensure_future(_record(port, stream, items, 0)) for stream in (TRADES, *extra)]
        readers.append(asyncio.ensure_future(_record(port, BOOK, items, 1)))
        while not any(kind == 1 for _, kind, _, _ in items):  # subscribed: a diff has come
            clock.advance(STEP_MS)
            await _wait(lambda: source.stepped_ms >= clock.now_ms())
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/fapi/v1/depth?symbol={SYMBOL}&limit=1000"
            async with session.get(url) as answer:
                snapshot = await answer.read()
        start_ms = clock.now_ms()
        orders = Orders(plant.engines[Market.UM], made)
        while clock.now_ms() < start_ms + minutes * 60_000:
            clock.advance(STEP_MS)
            await _wait(lambda: source.stepped_ms >= clock.now_ms())
            orders.due(start_ms, clock.now_ms())
        await _turns(50)
        for reader in readers:
            reader.cancel()
    finally:
        await plant.close()
    items.sort(key=lambda item: (item[0], item[1]))
    recorded = folder / "as-recorded"
    streams = [BOOK, TRADES, *extra]
    _write(recorded, items, snapshot, streams)
    alone = folder / "without-its-orders"
    alone_items, diffs, trades = without(items, footprint_of(db))
    _write(alone, alone_items, snapshot, streams)
    print(f"  {len(items):,} messages recorded; without the script's orders: {diffs:,} diffs and "
          f"{trades:,} trades changed")  # fmt: skip
    recordings = {"as recorded": recorded, "without its orders": alone}
    return recordings, _shifted(fills_of(db), start_ms), start_ms, items[0][0]


def _write(
    folder: Path, items: list[tuple[int, int, str, bytes]], snapshot: bytes, streams: list[str]
) -> None:
    """The recording, in the market's order: by event time, a window's trades before its diff;
    the snapshot after the diff its id falls within (as the recorder writes it)."""
    last_id = msgspec.json.decode(snapshot, type=dict[str, object])["lastUpdateId"]
    with RecordingWriter(folder, Market.UM, "ws://simulator", streams) as writer:
        placed = False
        for event_ms, kind, stream, payload in items:
            writer.write(Recorded(event_ms * 1000, stream, payload), event_ms * 1000)
            if kind == 1 and not placed:
                ids = msgspec.json.decode(payload, type=dict[str, object])
                if isinstance(ids["u"], int) and isinstance(last_id, int) and ids["u"] >= last_id:
                    writer.write(RecordedSnapshot(event_ms * 1000, SYMBOL, snapshot), event_ms * 1000)
                    placed = True


def _shifted(fills: dict[str, list[Fill]], start_ms: int) -> dict[str, list[Fill]]:
    return {k: [f._replace(time_ms=f.time_ms - start_ms) for f in v] for k, v in fills.items()}


async def _wait(done: Callable[[], bool]) -> None:
    for _ in range(100_000):
        if done():
            return
        await asyncio.sleep(0)
    raise TimeoutError("the server did not catch up with its clock")


async def replayed(
    folder: Path, recorded: Path, model: str, made: list[Scripted], start_ms: int, minutes: int, first_ms: int
) -> dict[str, list[Fill]]:
    """The same orders at the same market times on the recording, by ``model``: the clock
    starts where the recording does, so the server's time is the market's."""
    db = _accounts(folder)
    clock = ManualClock(first_ms)
    config = ServerConfig(um_port=0, cm_port=0, admin_port=0, venue_db=str(db), queue_model=model,
                          replay=ReplayConfig(paths=(str(recorded),), speed=1.0))  # fmt: skip
    plant = Tickerplant(config, clock=clock)
    await plant.start()
    try:
        source = plant.source
        assert isinstance(source, ReplaySource)
        orders = Orders(plant.engines[Market.UM], made)
        while clock.now_ms() < start_ms + minutes * 60_000:
            clock.advance(STEP_MS)
            await _wait(functools.partial(_caught_up, source, clock))
            await _turns()
            orders.due(start_ms, clock.now_ms())
    finally:
        await plant.close()
    return _shifted(fills_of(db), start_ms)


def _caught_up(source: ReplaySource, clock: ManualClock) -> bool:
    """The replay has played every item up to the clock's time."""
    replayer = source.replayer
    return replayer is not None and (replayer.finished or replayer.now_us >= clock.now_ms() * 1000)


class Row(NamedTuple):
    model: str
    aggressive_at_price: float
    aggressive_qty: float
    passive_filled: int
    passive_truth: int
    fill_time_error_ms: float


def compare(
    model: str, made: list[Scripted], truth: dict[str, list[Fill]], replay: dict[str, list[Fill]]
) -> Row:
    same_price = same_qty = total = 0
    filled = filled_truth = 0
    errors: list[int] = []
    for order in made:
        ours, theirs = replay.get(order.client_id, []), truth.get(order.client_id, [])
        if order.aggressive:
            by_price_ours: dict[int, int] = defaultdict(int)
            by_price_truth: dict[int, int] = defaultdict(int)
            for f in ours:
                by_price_ours[f.price] += f.qty
            for f in theirs:
                by_price_truth[f.price] += f.qty
            total += sum(by_price_truth.values())
            same_price += sum(min(q, by_price_ours[p]) for p, q in by_price_truth.items())
            same_qty += min(sum(by_price_ours.values()), sum(by_price_truth.values()))
        else:
            filled += bool(ours)
            filled_truth += bool(theirs)
            if ours and theirs:
                errors.append(abs(ours[0].time_ms - theirs[0].time_ms))
    return Row(model, same_price / total if total else 1.0, same_qty / total if total else 1.0, filled,
               filled_truth, sum(errors) / len(errors) if errors else 0.0)  # fmt: skip


async def run(args: argparse.Namespace) -> list[Row]:
    made = script(args.minutes, args.every, args.seed)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        started = time.perf_counter()
        recordings, truth_fills, start_ms, first_ms = await truth(folder, args.minutes, made, args.seed)
        print(f"  the truth: {args.minutes} market minutes, {len(made)} scripted orders, "
              f"in {time.perf_counter() - started:.0f} s")  # fmt: skip
        rows = []
        for kind, recorded in recordings.items():
            for model in args.models:
                started = time.perf_counter()
                where = folder / f"{kind}-{model}".replace(" ", "-")
                where.mkdir()
                fills = await replayed(where, recorded, model, made, start_ms, args.minutes, first_ms)
                rows.append(compare(f"{model}, {kind}", made, truth_fills, fills))
                print(f"  replayed {kind} by {model} in {time.perf_counter() - started:.0f} s")
    return rows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks fills", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="ten market minutes, three models")
    p.add_argument("--minutes", type=int, default=None, help="market minutes recorded (60; 10)")
    p.add_argument("--every", type=int, default=20, help="seconds between scripted orders of each kind")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--models", nargs="+", default=None, help="queue models (every one; three)")
    args = p.parse_args(argv)
    args.minutes = args.minutes or (10 if args.quick else 60)
    quick_models = ["risk-averse", "log-prob", "power-prob-2"]
    args.models = args.models or (quick_models if args.quick else list(QUEUE_MODELS))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"== fill models against the one book's truth: {args.minutes} minutes of BTCUSDT, seed {args.seed}")
    rows = asyncio.run(run(args))
    print(f"  {'model, recording':<34} {'aggr. qty at price':>18} {'aggr. qty':>10} {'passive filled':>15} "
          f"{'fill time err':>14}")  # fmt: skip
    for row in rows:
        error_s = row.fill_time_error_ms / 1000
        print(f"  {row.model:<34} {row.aggressive_at_price:>17.1%} {row.aggressive_qty:>10.1%} "
              f"{row.passive_filled:>7} / {row.passive_truth:<5} {error_s:>12.1f} s")  # fmt: skip
    for row in rows:
        label = f"{row.model}: aggressive quantity at price"
        print(verdict(label, row.aggressive_at_price, AGGRESSIVE_TARGET, 3))
        passive = row.passive_filled / row.passive_truth if row.passive_truth else float("nan")
        print(verdict(f"{row.model}: passive orders filled / the truth's", passive, PASSIVE_TARGET, 3))
    return 0
