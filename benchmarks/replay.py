"""Replay throughput: events per second from Binance public files to the wire at
``--speed max``, against the floor of only reading and parsing the same files, measured
in the same run on the same core.

    python -m benchmarks replay                 # ~1.2 M events, ~40 s
    python -m benchmarks replay --quick         # 300,000 events, ~15 s

Files (generated, seeded, in Binance's exact format): for each of four USDⓈ-M symbols a
zipped trades file, aggTrades file and bookTicker file, ~100 rows per second of market
time per symbol (a liquid symbol's density). The server under test
(`python -m tickerplant serve --replay DIR --speed max --paused`) runs on
CPU 0; one client on CPU 1 subscribes to every stream the files produce on one combined
connection (bookTicker, trade, aggTrade per symbol), resumes the replay and counts frames
until the server's "Replay finished" close. The floor, also on CPU 0: a loop that opens
the same zips, splits every line and converts every field to integers (prices and
quantities to integer units) — what any replay must do at least.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

import msgspec
import uvloop
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from .harness.processes import CLIENT_CPU, HOST, REPO, SERVER_CPU, ServerProcess, pin, supervised
from .harness.report import Column, Table

SYMBOLS = (("BTCUSDT", 42000.0, "0.1", "0.001"), ("ETHUSDT", 2300.0, "0.01", "0.001"),
           ("SOLUSDT", 100.0, "0.001", "1"), ("BNBUSDT", 310.0, "0.01", "0.01"))  # fmt: skip
T0 = 1_704_067_200_000


def _write(folder: Path, name: str, header: str, lines: list[str]) -> None:
    with zipfile.ZipFile(folder / f"{name}.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{name}.csv", header + "\n" + "\n".join(lines) + "\n")


def generate(folder: Path, events: int, seed: int = 1) -> int:
    """Write the files; returns the number of rows (events) in them."""
    rng = random.Random(seed)
    per_symbol = events // len(SYMBOLS)
    n_trades = n_aggs = per_symbol // 4
    n_books = per_symbol - n_trades - n_aggs
    total = 0
    for symbol, price, tick, step in SYMBOLS:
        # ~100 events a second per symbol, as a liquid symbol has (BTCUSDT has more): the
        # periodic streams (tickers every 1-2 s) weigh as much as they would in real files
        span_ms = per_symbol * 10
        trades, aggs, books = [], [], []
        tick_d, decimals = float(tick), len(tick.split(".")[1])
        step_d, qty_decimals = float(step), len(step.split(".")[1]) if "." in step else 0
        t, trade_id, p = T0, 10**8, price
        for i in range(n_trades):
            t = T0 + span_ms * i // n_trades
            p *= 1 + rng.gauss(0, 0.0003)
            px = f"{round(p / tick_d) * tick_d:.{decimals}f}"
            qty = f"{rng.randint(1, 5000) * step_d:.{qty_decimals}f}"
            m = "true" if rng.random() < 0.5 else "false"
            trades.append(f"{trade_id},{px},{qty},0,{t},{m}")
            if i < n_aggs:
                aggs.append(f"{i + 1},{px},{qty},{trade_id},{trade_id},{t},{m}")
            trade_id += 1
        u = 10**12
        for i in range(n_books):
            t = T0 + span_ms * i // n_books
            bid = price * (1 + rng.gauss(0, 0.001))
            b = f"{round(bid / tick_d) * tick_d:.8f}"
            a = f"{(round(bid / tick_d) + 1) * tick_d:.8f}"
            u += rng.randint(1, 20)
            bq, aq = rng.randint(1, 900) * step_d, rng.randint(1, 900) * step_d
            books.append(f"{u},{b},{bq:.8f},{a},{aq:.8f},{t},{t + 1}")
        _write(folder, f"{symbol}-trades-2024-01-01", "id,price,qty,quote_qty,time,is_buyer_maker", trades)
        _write(
            folder, f"{symbol}-aggTrades-2024-01-01",
            "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker", aggs,
        )  # fmt: skip
        _write(
            folder, f"{symbol}-bookTicker-2024-01-01",
            "update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,event_time",
            books,
        )  # fmt: skip
        total += len(trades) + len(aggs) + len(books)
    return total


def _units(text: bytes) -> int:
    whole, _, frac = text.partition(b".")
    return int(whole + frac)


def floor(folder: Path) -> tuple[int, float]:
    """Read and parse every file: (rows, seconds)."""
    pin(SERVER_CPU)
    rows = 0
    started = time.perf_counter()
    for path in sorted(folder.glob("*.zip")):
        with zipfile.ZipFile(path) as archive, archive.open(archive.namelist()[0]) as raw:
            raw.readline()  # the header
            for line in raw:
                f = line.rstrip(b"\n").split(b",")
                if len(f) == 7 and b"." in f[3]:  # bookTicker
                    (int(f[0]), _units(f[1]), _units(f[2]), _units(f[3]), _units(f[4]), int(f[5]), int(f[6]))
                elif len(f) == 7:  # aggTrades
                    (int(f[0]), _units(f[1]), _units(f[2]), int(f[3]), int(f[4]), int(f[5]), f[6] == b"true")
                else:  # trades
                    (int(f[0]), _units(f[1]), _units(f[2]), int(f[4]), f[5] == b"true")
                rows += 1
    return rows, time.perf_counter() - started


class _Counter(WSListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.frames = 0
        self.closed: asyncio.Future[tuple[float, int, bytes]] = asyncio.get_running_loop().create_future()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.TEXT:
            self.frames += 1
        elif frame.msg_type is WSMsgType.CLOSE and not self.closed.done():
            self.closed.set_result((time.perf_counter(), frame.get_close_code(), frame.get_close_message()))
            transport.disconnect()


def _get(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=10) as response:
        result: dict[str, object] = msgspec.json.decode(response.read())
        return result


async def measure_server(folder: Path) -> tuple[int, int, float]:
    """(events the server replayed, frames received, seconds from resume to the end)."""
    pin(CLIENT_CPU)
    server = ServerProcess(
        ["--replay", str(folder), "--speed", "max", "--paused", "--no-progress", "--log-level", "WARNING"]
    )
    try:
        await asyncio.to_thread(server.wait_listening, 60.0)
        status_url = f"http://{HOST}:{server.um_port}/tickerplant/v1/replay"
        names = [f"{s.lower()}@{kind}" for s, *_ in SYMBOLS for kind in ("bookTicker", "trade", "aggTrade")]
        counter: _Counter | None = None

        def factory() -> _Counter:
            nonlocal counter
            counter = _Counter()
            return counter

        await ws_connect(factory, f"ws://{HOST}:{server.um_port}/stream?streams={'/'.join(names)}")
        assert counter is not None
        await asyncio.sleep(0.2)
        started = time.perf_counter()
        await asyncio.to_thread(_get, status_url + "/resume")
        ended, code, reason = await asyncio.wait_for(counter.closed, 600)
        if (code, reason) != (1000, b"Replay finished"):
            print(f"WARNING: closed with {code} {reason!r}: {server.tail()}")
        status = await asyncio.to_thread(_get, status_url)
        events = status["events"]
        assert isinstance(events, int)
        return events, counter.frames, ended - started
    finally:
        server.stop()


def report(events: int, seconds: float, frames: int, floor_rows: int, floor_s: float) -> None:
    served = events / seconds
    floor_rate = floor_rows / floor_s
    print()
    table = Table(
        [Column("", 32, left=True), Column("events", 10), Column("seconds", 8), Column("events/s", 10)]
    )
    table.print(
        [
            ["tickerplant --replay --speed max", f"{events:,}", f"{seconds:.2f}", f"{served:,.0f}"],
            ["floor: read + parse the files", f"{floor_rows:,}", f"{floor_s:.2f}", f"{floor_rate:,.0f}"],
        ]
    )
    print()
    print(f"frames delivered to the client: {frames:,} ({frames / seconds:,.0f}/s)")
    print(f"ratio (tickerplant / floor): {served / floor_rate:.2f}   (no target: a reference)")
    print(f"(repo {REPO.name}; server on CPU {SERVER_CPU}, client on CPU {CLIENT_CPU})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks replay",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--events", type=int, default=None, help="rows across all files (1,200,000; 300,000)")
    parser.add_argument("--quick", action="store_true", help="300,000 rows")
    args = parser.parse_args(argv)
    if args.events is None:
        args.events = 300_000 if args.quick else 1_200_000
    if (os.cpu_count() or 0) < 2:
        print("WARNING: fewer than 2 CPUs: server and client share one")
    t0 = time.monotonic()
    with supervised(), tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"generating {args.events:,} rows …", flush=True)
        rows = generate(folder, args.events)
        size = sum(p.stat().st_size for p in folder.glob("*.zip"))
        print(f"  {rows:,} rows in {len(list(folder.glob('*.zip')))} zips, {size / 1e6:.1f} MB compressed")
        events, frames, seconds = uvloop.run(measure_server(folder))
        floor_rows, floor_s = floor(folder)
        report(events, seconds, frames, floor_rows, floor_s)
    print(f"(total {time.monotonic() - t0:.0f} s)")
    return 0
