"""Replay throughput: events per second from Binance public files to the wire at
``--speed max``, against the floor of only reading and parsing the same files, measured
in the same run on the same core.

    python -m benchmarks replay                 # ~1.2 M events, ~40 s
    python -m benchmarks replay --quick         # 300,000 events, ~15 s
    python -m benchmarks replay --day           # and a day of BTCUSDT, end to end (minutes)

Files (generated, seeded, in Binance's exact format): for each of four USDⓈ-M symbols a
zipped trades file, aggTrades file and bookTicker file, ~100 rows per second of market
time per symbol (a liquid symbol's density). The server under test
(`python -m tickerplant serve --replay DIR --speed max --paused`) runs on
CPU 0; one client on CPU 1 subscribes to every stream the files produce on one combined
connection (bookTicker, trade, aggTrade per symbol), resumes the replay and counts frames
until the server's "Replay finished" close. The floor, also on CPU 0: a loop that opens
the same zips, splits every line and converts every field to integers (prices and
quantities to integer units) — what any replay must do at least.

The same files are replayed a second time with no client connected: the plant's own
ceiling (the fan-out has nobody to write to). Each rate is given against the wall clock
and against the CPU time of the process (the server's from /proc, the floor's own), which
a shared machine disturbs less; the ratios are taken from the same run. The floor is
measured before the replays and again after them, and the ratios are to its mean rate: a
shared machine's speed drifts over the tens of seconds a run takes.

``--day``: a day of BTCUSDT as Binance's daily files hold it (``--day-trades`` trades and
``--day-books`` bookTicker rows over 24 hours, generated in the temp dir), replayed to one
client of every stream it produces, end to end: from starting ``serve`` (opening and
sampling the files is part of the wait) to the "Replay finished" close.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import tempfile
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
import uvloop
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from ..harness.accounting import proc_table
from ..harness.processes import CLIENT_CPU, HOST, REPO, SERVER_CPU, ServerProcess, pin, supervised
from ..harness.report import Column, Table, Target, verdict

SYMBOLS = (("BTCUSDT", 42000.0, "0.1", "0.001"), ("ETHUSDT", 2300.0, "0.01", "0.001"),
           ("SOLUSDT", 100.0, "0.001", "1"), ("BNBUSDT", 310.0, "0.01", "0.01"))  # fmt: skip
T0 = 1_704_067_200_000
TARGET_RATIO = Target(0.5)  # at least 0.5 of the floor, to one client of every stream
# A day of BTCUSDT in Binance's daily USDⓈ-M files, in round figures: trades and
# bookTicker rows (the bookTicker file is the larger by far).
DAY_TRADES = 2_000_000
DAY_BOOKS = 8_000_000


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


DAY_MS = 86_400_000


def generate_day(folder: Path, n_trades: int, n_books: int, seed: int = 2) -> int:
    """A day of BTCUSDT: ``n_trades`` trades and ``n_books`` bookTicker rows spread over 24
    hours, written to the zips as they are made (a day's CSV is too big to hold). Returns
    the rows."""
    rng = random.Random(seed)
    symbol, price, tick, step = SYMBOLS[0]
    tick_d, step_d = float(tick), float(step)

    def trade_lines() -> Iterator[str]:
        p = price
        for i in range(n_trades):
            p *= 1 + rng.gauss(0, 0.0001)
            px, qty = round(p / tick_d) * tick_d, rng.randint(1, 5000) * step_d
            m = "true" if rng.random() < 0.5 else "false"
            yield f"{10**9 + i},{px:.1f},{qty:.3f},{px * qty:.4f},{T0 + DAY_MS * i // n_trades},{m}\n"

    def book_lines() -> Iterator[str]:
        u, p = 10**12, price
        for i in range(n_books):
            t = T0 + DAY_MS * i // n_books
            p *= 1 + rng.gauss(0, 0.00005)
            bid, u = round(p / tick_d), u + rng.randint(1, 20)
            bq, aq = rng.randint(1, 900) * step_d, rng.randint(1, 900) * step_d
            b, a = bid * tick_d, (bid + 1) * tick_d
            yield f"{u},{b:.8f},{bq:.8f},{a:.8f},{aq:.8f},{t},{t + 1}\n"

    trades_header = "id,price,qty,quote_qty,time,is_buyer_maker"
    _stream(folder, f"{symbol}-trades-2024-01-01", trades_header, trade_lines())
    header = "update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,event_time"
    _stream(folder, f"{symbol}-bookTicker-2024-01-01", header, book_lines())
    return n_trades + n_books


def _stream(folder: Path, name: str, header: str, lines: Iterator[str]) -> None:
    with (
        zipfile.ZipFile(folder / f"{name}.zip", "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open(f"{name}.csv", "w", force_zip64=True) as out,
    ):
        out.write(header.encode() + b"\n")
        while block := "".join(itertools.islice(lines, 100_000)):
            out.write(block.encode())


def _units(text: bytes) -> int:
    whole, _, frac = text.partition(b".")
    return int(whole + frac)


def floor(folder: Path) -> tuple[int, float, float]:
    """Read and parse every file: (rows, seconds, CPU seconds)."""
    pin(SERVER_CPU)
    rows = 0
    cpu = time.thread_time()
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
    return rows, time.perf_counter() - started, time.thread_time() - cpu


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


def _post(url: str) -> dict[str, object]:
    request = urllib.request.Request(url, data=b"{}", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        result: dict[str, object] = msgspec.json.decode(response.read())
        return result


def _get(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=10) as response:
        result: dict[str, object] = msgspec.json.decode(response.read())
        return result


@dataclass(frozen=True)
class Run:
    events: int  # the server's count of events replayed
    frames: int  # frames the client received (0: no client)
    seconds: float  # from the resume to the end (the close, or the status saying finished)
    cpu_s: float  # the server's CPU time meanwhile
    start_s: float  # from starting the process to its answering (files opened, the day before read)


def _cpu_s(pids: list[int]) -> float:
    table = proc_table()
    return sum(table[pid][2] for pid in pids if pid in table) / os.sysconf("SC_CLK_TCK")


async def measure_server(folder: Path, client: bool = True) -> Run:
    """The replay from resume to its end: to one client of every stream the files produce,
    or (``client`` False) to nobody."""
    pin(CLIENT_CPU)
    spawned = time.perf_counter()
    server = ServerProcess(
        ["--replay", str(folder), "--speed", "max", "--paused", "--no-progress", "--log-level", "WARNING"]
    )
    try:
        await asyncio.to_thread(server.wait_listening, 1800.0)
        start_s = time.perf_counter() - spawned
        status_url = f"http://{HOST}:{server.um_port}/tickerplant/v1/replay"
        names = [f"{s.lower()}@{kind}" for s, *_ in SYMBOLS for kind in ("bookTicker", "trade", "aggTrade")]
        counter: _Counter | None = None

        def factory() -> _Counter:
            nonlocal counter
            counter = _Counter()
            return counter

        if client:
            await ws_connect(factory, f"ws://{HOST}:{server.um_port}/stream?streams={'/'.join(names)}")
            assert counter is not None
            await asyncio.sleep(0.2)
        pids = server.pids()
        cpu = _cpu_s(pids)
        started = time.perf_counter()
        await asyncio.to_thread(_post, f"http://{HOST}:{server.admin_port}/api/replay/resume")
        if counter is not None:
            ended, code, reason = await asyncio.wait_for(counter.closed, 3600)
            if (code, reason) != (1000, b"Replay finished"):
                print(f"WARNING: closed with {code} {reason!r}: {server.tail()}")
        else:
            for _ in itertools.count():  # nobody to close: the status says when it ended
                if (await asyncio.to_thread(_get, status_url))["state"] == "finished":
                    break
                await asyncio.sleep(0.02)
            ended = time.perf_counter()
        cpu = _cpu_s(pids) - cpu
        status = await asyncio.to_thread(_get, status_url)
        events = status["events"]
        assert isinstance(events, int)
        return Run(events, counter.frames if counter is not None else 0, ended - started, cpu, start_s)
    finally:
        server.stop()


def report(served: Run, alone: Run, floors: list[tuple[int, float, float]]) -> None:
    """The ratios are to the floors' rows over their seconds together: their mean rate."""
    floor_rows = sum(rows for rows, _, _ in floors)
    floor_rate = floor_rows / sum(seconds for _, seconds, _ in floors)
    floor_cpu_rate = floor_rows / sum(cpu for _, _, cpu in floors)
    print()
    table = Table(
        [
            Column("", 36, left=True), Column("events", 10), Column("seconds", 8), Column("events/s", 10),
            Column("CPU s", 7), Column("per CPU s", 10),
        ]
    )  # fmt: skip
    rows = []
    for name, run in (("tickerplant --speed max, one client", served), ("… no client", alone)):
        per_cpu = f"{run.events / run.cpu_s:,.0f}" if run.cpu_s else "-"
        rate = f"{run.events / run.seconds:,.0f}"
        rows.append([name, f"{run.events:,}", f"{run.seconds:.2f}", rate, f"{run.cpu_s:.2f}", per_cpu])
    for name, (count, seconds, cpu_s) in zip(("floor: read + parse, before", "… after"), floors, strict=True):
        rate, per_cpu = f"{count / seconds:,.0f}", f"{count / cpu_s:,.0f}"
        rows.append([name, f"{count:,}", f"{seconds:.2f}", rate, f"{cpu_s:.2f}", per_cpu])
    table.print(rows)
    print()
    print(f"frames delivered to the client: {served.frames:,} ({served.frames / served.seconds:,.0f}/s)")
    for name, run in (("one client", served), ("no client", alone)):
        wall = run.events / run.seconds / floor_rate
        cpu = run.events / run.cpu_s / floor_cpu_rate if run.cpu_s else float("nan")
        print(f"ratio to the floor, {name}: {wall:.2f} (wall clock), {cpu:.2f} (CPU time)")
    # the wall clock's, as the issue states it; the run with no client is a reference
    ratio = served.events / served.seconds / floor_rate
    print(verdict("one client, events/s tickerplant / floor", ratio, TARGET_RATIO))
    print(f"(repo {REPO.name}; server on CPU {SERVER_CPU}, client on CPU {CLIENT_CPU})")


def report_day(trades: int, books: int, run: Run) -> None:
    print()
    print(f"one day of BTCUSDT ({trades:,} trades, {books:,} bookTicker rows) to one client, end to end:")
    total = run.start_s + run.seconds
    print(
        f"  {total:.1f} s: {run.start_s:.1f} s to open the files and answer, {run.seconds:.1f} s to replay "
        f"{run.events:,} events ({run.events / run.seconds:,.0f}/s; {run.events / run.cpu_s:,.0f} per CPU s)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks replay",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--events", type=int, default=None, help="rows across all files (1,200,000; 300,000)")
    parser.add_argument("--quick", action="store_true", help="300,000 rows")
    parser.add_argument("--day", action="store_true", help="also replay a day of BTCUSDT, end to end")
    add = parser.add_argument
    add("--day-trades", type=int, default=DAY_TRADES, help=f"trades in a day ({DAY_TRADES:,})")
    add("--day-books", type=int, default=DAY_BOOKS, help=f"bookTickers in a day ({DAY_BOOKS:,})")
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
        # the floor on either side of the replays: a drifting machine moves both alike
        before = floor(folder)
        served = uvloop.run(measure_server(folder))
        alone = uvloop.run(measure_server(folder, client=False))
        report(served, alone, [before, floor(folder)])
    if args.day:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            day = f"{args.day_trades:,} trades, {args.day_books:,} bookTicker rows"
            print(f"\ngenerating a day: {day} …", flush=True)
            generate_day(folder, args.day_trades, args.day_books)
            size = sum(p.stat().st_size for p in folder.glob("*.zip"))
            print(f"  {size / 1e6:.0f} MB compressed", flush=True)
            report_day(args.day_trades, args.day_books, uvloop.run(measure_server(folder)))
    print(f"(total {time.monotonic() - t0:.0f} s)")
    return 0
