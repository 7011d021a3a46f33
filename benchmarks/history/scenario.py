"""History benchmark: what the simulated past costs to start and to answer.

    python -m benchmarks history [--quick] [--symbols 10] [--days 30] [--samples 10]
                                 [--starts 3] [--baseline-src DIR]

1. **Start-up**: ``tickerplant serve --seed 1`` (a day of the past warms the plant) until
   both listeners answer, and its RSS after 5 idle seconds. With ``--baseline-src DIR``,
   the same for another tree's ``src/`` (the server before the past, for "no worse":
   ``git archive 7be8e66 src | tar -x -C /tmp/before`` and ``--baseline-src /tmp/before/src``).
2. **A past day of 1m klines**: ``klines?interval=1m&limit=1500`` at a random day of the last
   year, cold (a day nobody asked for) and warm (the same request again): median ms.
3. **A past minute of trades**: ``aggTrades?limit=1000`` from a random minute of the last
   two days (Binance refuses older start times): median ms.
4. **A coarse answer, cold**: ``klines`` and ``markPriceKlines`` at ``interval=1d`` and
   ``limit=500`` (what ccxt's ``fetch_ohlcv(symbol, '1d')`` sends by default) for a
   symbol nobody asked about: seconds, against ccxt's default 10 s timeout (``--quick``: 100);
   then BTCUSDT's ``klines`` at ``interval=1w`` (ccxt's ``fetch_ohlcv(symbol, '1w')``): every
   day since its listing, ~2,600, on a server pinned to one CPU (as every server here is:
   its days made on its loop); then the three again on a fresh server free to run on every
   CPU, whose past's worker processes draw them on the other cores (``gateway/past_farm.py``).
5. **A 30-day download**: ``--days`` of 1m klines for ``--symbols`` symbols, 1,500 at a
   time over one kept-alive connection, as ccxt pages: requests, rows, seconds.

Each request is timed from sending to its whole answer, one at a time. It always exits 0:
it measures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import time
from pathlib import Path

from ..harness.accounting import rss_mb
from ..harness.options import fill_sizes
from ..harness.processes import HOST, ServerProcess, serving, supervised, unpinned_preexec

SYMBOLS = (
    "BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "ADAUSDT", "AVAXUSDT",
    "LINKUSDT", "DOTUSDT", "LTCUSDT", "BCHUSDT",
)  # fmt: skip
DAY_MS, MINUTE_MS = 86_400_000, 60_000
SERVE = ["--seed", "1", "--sim-rate", "400", "--request-weight", "1000000"]  # a download is weight 10 a page


class Client:
    """One kept-alive HTTP/1.1 connection; ``get`` returns (ms, parsed JSON)."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection(HOST, port, timeout=120)

    def get(self, path: str) -> tuple[float, object]:
        began = time.perf_counter()
        self.connection.request("GET", path)
        response = self.connection.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - began) * 1000
        if response.status != 200:
            raise RuntimeError(f"{path}: {response.status} {body[:200]!r}")
        return elapsed, json.loads(body)

    def close(self) -> None:
        self.connection.close()


def start_up(label: str, src: Path | None, timeout_s: float, starts: int) -> None:
    """The median of ``starts`` starts: seconds until both listeners answer, RSS 5 s later."""
    took, rss = [], []
    for _ in range(starts):
        began = time.monotonic()
        server = ServerProcess(SERVE, src=src)
        try:
            server.wait_listening(timeout_s)
            took.append(time.monotonic() - began)
            time.sleep(5.0)
            rss.append(sum(rss_mb(pid) for pid in server.pids()))
        finally:
            server.stop()
    print(f"  {label}: answering after {statistics.median(took):.2f} s (of {starts}: "
          f"{', '.join(f'{t:.2f}' for t in took)}), RSS {statistics.median(rss):.0f} MB after 5 idle s",
          flush=True)


def klines_and_trades(args: argparse.Namespace) -> None:
    rng = random.Random(7)
    with serving(SERVE, args.server_start_timeout) as server:
        client = Client(server.um_port)
        now = int(time.time() * 1000)
        cold, warm = [], []
        for _ in range(args.samples):
            day = now - now % DAY_MS - rng.randrange(2, 365) * DAY_MS
            symbol = rng.choice(SYMBOLS)
            path = f"/fapi/v1/klines?symbol={symbol}&interval=1m&startTime={day}&limit=1500"
            ms, rows = client.get(path)
            assert isinstance(rows, list) and len(rows) == 1500, path
            cold.append(ms)
            warm.append(client.get(path)[0])
        print(f"  klines 1m limit=1500 of a past day: cold median {statistics.median(cold):.1f} ms"
              f" (max {max(cold):.1f}), warm median {statistics.median(warm):.1f} ms", flush=True)
        trades = []
        for _ in range(args.samples):
            start = now - now % MINUTE_MS - rng.randrange(10, 2 * 24 * 60 - 10) * MINUTE_MS
            symbol = rng.choice(SYMBOLS)
            window = f"startTime={start}&endTime={start + 3_600_000}"
            path = f"/fapi/v1/aggTrades?symbol={symbol}&{window}&limit=1000"
            ms, rows = client.get(path)
            assert isinstance(rows, list) and rows, path
            trades.append(ms)
        print(f"  aggTrades limit=1000 from a past minute: median {statistics.median(trades):.1f} ms"
              f" (max {max(trades):.1f})", flush=True)
        coarse(client, args.coarse_days)
        client.close()
        download(server, args, now)


def coarse(client: Client, limit: int) -> None:
    """Daily klines and daily mark klines of symbols nothing read before, each cold."""
    for endpoint, symbol in (("klines", "UNIUSDT"), ("markPriceKlines", "ATOMUSDT")):
        ms, rows = client.get(f"/fapi/v1/{endpoint}?symbol={symbol}&interval=1d&limit={limit}")
        assert isinstance(rows, list) and rows, endpoint
        print(f"  {endpoint} 1d, {len(rows)} days, cold: {ms / 1000:.1f} s (ccxt's default timeout: 10 s)",
              flush=True)  # fmt: skip
    weekly(client, "pinned to one CPU: made on the loop")


def weekly(client: Client, where: str) -> None:
    ms, rows = client.get("/fapi/v1/klines?symbol=BTCUSDT&interval=1w")
    assert isinstance(rows, list) and rows
    print(f"  klines 1w of BTCUSDT, {len(rows)} weeks (every day since its listing), cold, {where}:"
          f" {ms / 1000:.1f} s", flush=True)  # fmt: skip


def spread(timeout_s: float, limit: int) -> None:
    """The cold coarse answers again, on a fresh server free to run on every CPU: the first
    starts the past's workers."""
    server = ServerProcess(SERVE, preexec=unpinned_preexec)
    try:
        server.wait_listening(timeout_s)
        client = Client(server.um_port)
        where = f"on every CPU ({len(os.sched_getaffinity(0))}): drawn by the past's workers"
        for endpoint, symbol in (("klines", "UNIUSDT"), ("markPriceKlines", "ATOMUSDT")):
            ms, rows = client.get(f"/fapi/v1/{endpoint}?symbol={symbol}&interval=1d&limit={limit}")
            assert isinstance(rows, list) and rows, endpoint
            print(f"  {endpoint} 1d, {len(rows)} days, cold, {where}: {ms / 1000:.1f} s", flush=True)
        weekly(client, where)
        client.close()
    finally:
        server.stop()


def download(server: ServerProcess, args: argparse.Namespace, now: int) -> None:
    client = Client(server.um_port)
    since = now - now % DAY_MS - args.days * DAY_MS
    requests = rows = 0
    began = time.perf_counter()
    for symbol in SYMBOLS[: args.symbols]:
        start = since
        while start < now - now % MINUTE_MS - MINUTE_MS:
            _, page = client.get(f"/fapi/v1/klines?symbol={symbol}&interval=1m&startTime={start}&limit=1500")
            assert isinstance(page, list) and page
            requests += 1
            rows += len(page)
            start = page[-1][0] + MINUTE_MS
    took = time.perf_counter() - began
    print(f"  {args.days} days of 1m klines for {args.symbols} symbols over one connection: {requests}"
          f" requests, {rows:,} rows in {took:.1f} s ({rows / took:,.0f} rows/s)", flush=True)
    client.close()


def main(argv: list[str]) -> int:
    what = (__doc__ or "").split("\n\n")[0]
    parser = argparse.ArgumentParser(prog="python -m benchmarks history", description=what)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--symbols", type=int, default=None, help="symbols downloaded (10; quick 2)")
    parser.add_argument("--days", type=int, default=None, help="days downloaded per symbol (30; quick 2)")
    parser.add_argument("--samples", type=int, default=None, help="requests timed per kind (10; quick 3)")
    parser.add_argument("--starts", type=int, default=None, help="starts timed (3; quick 1)")
    parser.add_argument("--coarse-days", type=int, default=None, help="coarse limit (500; quick 100)")
    parser.add_argument("--baseline-src", type=Path, default=None, help="another tree's src/, its start-up")
    parser.add_argument("--server-start-timeout", type=float, default=120.0)
    args = parser.parse_args(argv)
    fill_sizes(args, [("symbols", 10, 2), ("days", 30, 2), ("samples", 10, 3), ("starts", 3, 1)])
    fill_sizes(args, [("coarse_days", 500, 100)])
    with supervised():
        print("start-up (`serve --seed 1 --sim-rate 400`, the default day of warm past):", flush=True)
        for label, src in (("this tree", None), (f"baseline {args.baseline_src}", args.baseline_src)):
            if label == "this tree" or src is not None:
                start_up(label, src, args.server_start_timeout, args.starts)
        print("answers about the past:", flush=True)
        klines_and_trades(args)
        spread(args.server_start_timeout, args.coarse_days)
    return 0
