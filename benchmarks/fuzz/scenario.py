"""Fuzzing the server at volume: a million random cases against `tickerplant serve`, each
on its own connection, and what it made of them.

    python -m benchmarks fuzz                  # 1,000,000 cases, ~10 min on a quiet machine
    python -m benchmarks fuzz --quick          # 5,000 cases, ~10 s
    python -m benchmarks fuzz --cases N --seed S --concurrency C

The server under test (`python -m tickerplant serve`, from `src/`, its request weight out
of the way) runs alone on CPU 0; the benchmark and its clients (`--concurrency` connections
at a time, one uvloop process) on CPU 1. The cases (`fuzz/cases.py`) are arbitrary frames,
texts and request heads on `/ws`, `/stream` and `/ws-fapi/v1`; each answer is checked
against docs/operations.md's "Limits and errors" table.

It prints cases per second, crashes (target 0: the server exiting, or a connection closed
1011 by an exception in a callback), tracebacks and ERROR lines in the server's log (target
0), answers the table does not list (with the first few), and the server's RSS before the
cases (after a warm-up), at its peak and after them; at the end a new stream client must
still get data.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from typing import cast

import uvloop

from ..harness.accounting import DISTURBED, cpu_use, proc_table, rss_mb
from ..harness.processes import (
    CLIENT_CPU,
    HOST,
    REPO,
    SERVER_CPU,
    check_cpus,
    pin,
    raise_nofile,
    serving,
    supervised,
)
from ..harness.report import Target, verdict
from .cases import Case, check, draw

ZERO = Target(0, at_least=False)
_CASE_TIMEOUT_S = 10.0  # a case with no close by then is counted unanswered


class Exchange(asyncio.Protocol):
    """One case: send it all, shut the sending side, read to the server's close."""

    def __init__(self, data: bytes, done: asyncio.Future[tuple[bytes, str | None]]) -> None:
        self.data = data
        self.done = done
        self.chunks: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        writer = cast(asyncio.Transport, transport)
        writer.write(self.data)
        writer.write_eof()

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result((b"".join(self.chunks), type(exc).__name__ if exc else None))


class Tally:
    def __init__(self) -> None:
        self.cases = 0
        self.by_kind: Counter[str] = Counter()
        self.wrong: Counter[str] = Counter()
        self.samples: list[str] = []
        self.crashes = 0
        self.resets = 0
        self.hung = 0

    def add(self, case: Case, answer: bytes, error: str | None) -> None:
        self.cases += 1
        self.by_kind[case.kind] += 1
        if error is not None:
            self.resets += 1  # the server closed with the client's bytes unread: TCP resets
            return
        wrong = check(case, answer)
        if wrong is None:
            return
        if wrong.startswith("crash"):
            self.crashes += 1
        self.wrong[wrong.split(" ", 2)[0] + " " + case.kind] += 1
        if len(self.samples) < 5:
            self.samples.append(f"{wrong}  <- {case.data[:160]!r}")


async def fuzz(port: int, cases: int, seed: int, concurrency: int, watch: Callable[[], bool]) -> Tally:
    """Run the cases; ``watch()`` (every 256 cases) samples the server and says whether it
    still runs."""
    loop = asyncio.get_running_loop()
    tally = Tally()
    rng = random.Random(seed)
    random.seed(seed)  # the mask keys
    next_case = 0
    started = time.monotonic()
    last_report = started

    async def worker() -> None:
        nonlocal next_case, last_report
        while next_case < cases and tally.crashes == 0:
            if next_case % 256 == 0 and not watch():
                return
            case = draw(rng, next_case)
            next_case += 1
            done: asyncio.Future[tuple[bytes, str | None]] = loop.create_future()
            try:
                await loop.create_connection(functools.partial(Exchange, case.data, done), HOST, port)
                answer, error = await asyncio.wait_for(done, _CASE_TIMEOUT_S)
            except TimeoutError:
                tally.hung += 1
                continue
            except OSError as exc:
                answer, error = b"", type(exc).__name__
            tally.add(case, answer, error)
            now = time.monotonic()
            if now - last_report >= 10.0:
                last_report = now
                rate = tally.cases / (now - started)
                print(
                    f"  {tally.cases:>9,} cases  {rate:7,.0f}/s  wrong {sum(tally.wrong.values())}",
                    flush=True,
                )

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return tally


async def still_served(port: int) -> bool:
    """A new stream client gets a data frame within 5 s."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(
            b"GET /ws/btcusdt@bookTicker HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        async with asyncio.timeout(5.0):
            head = await reader.readuntil(b"\r\n\r\n")
            first = await reader.readexactly(2)
        return head.startswith(b"HTTP/1.1 101") and first[0] & 0x0F == 0x1
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        return False
    finally:
        writer.close()


def log_faults(text: str) -> tuple[int, int]:
    """Tracebacks, and ERROR or CRITICAL records, in the server's log."""
    lines = text.splitlines()
    tracebacks = sum(line.startswith("Traceback") for line in lines)
    errors = sum(
        len(words) > 2 and words[2] in ("ERROR", "CRITICAL")
        for words in (line.split(" ", 3) for line in lines)
    )
    return tracebacks, errors


def run(cases: int, seed: int, concurrency: int, warmup: float, extra: list[str]) -> None:
    args = ["--request-weight", str(10**12), "--log-level", "WARNING", *extra]
    print(f"server: tickerplant serve {' '.join(args)}  (CPU {SERVER_CPU}; clients on CPU {CLIENT_CPU})")
    print(f"{cases:,} cases, seed {seed}, {concurrency} at a time", flush=True)
    pin(CLIENT_CPU)
    raise_nofile()
    with serving(args, 120.0) as server:
        pid = server.proc.pid
        time.sleep(warmup)
        before = rss_mb(pid)
        peak = before
        t0 = time.monotonic()
        table = proc_table()

        def watch() -> bool:
            nonlocal peak
            if server.exited() is not None:
                return False
            peak = max(peak, rss_mb(pid))
            return True

        tally = uvloop.run(fuzz(server.um_port, cases, seed, concurrency, watch))
        elapsed = time.monotonic() - t0
        cpu = cpu_use(table, proc_table(), set(server.pids()), {os.getpid()}, elapsed)
        crashed = server.exited()
        time.sleep(2.0)  # the last connections' close timeouts
        after = rss_mb(pid) if crashed is None else float("nan")
        served = crashed is None and uvloop.run(still_served(server.um_port))
        tracebacks, errors = log_faults(server.log_text())
    crashes = tally.crashes + (crashed is not None)
    print()
    rate = tally.cases / elapsed
    print(f"{tally.cases:,} cases in {elapsed:.0f} s: {rate:,.0f} cases/s  ({dict(tally.by_kind)})")
    print(f"RSS before {before:.1f} MB (after {warmup:.0f} s), peak {peak:.1f} MB, after {after:.1f} MB")
    print(f"connections reset by the server {tally.resets:,}; unanswered in 10 s {tally.hung}")
    print(f"server CPU {cpu.server:.0%} of a core; other processes {cpu.others:.0%}")
    if cpu.others > DISTURBED:
        print(f"WARNING: other processes used {cpu.others:.0%} of a core: the machine was shared")
    print(f"answers docs/operations.md does not list: {sum(tally.wrong.values())}  {dict(tally.wrong)}")
    for sample in tally.samples:
        print(f"  {sample}")
    if crashed is not None:
        print(f"  ! {crashed}")
    print(f"a new stream client is served at the end: {'yes' if served else 'NO'}")
    print(verdict("crashes", crashes, ZERO, digits=0))
    print(verdict("tracebacks in the server's log", tracebacks, ZERO, digits=0))
    print(verdict("ERROR lines in the server's log", errors, ZERO, digits=0))
    print(f"(repo {REPO.name})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks fuzz",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="5,000 cases")
    parser.add_argument("--cases", type=int, default=None, help="cases to run (1,000,000; 5,000)")
    parser.add_argument("--seed", type=int, default=None, help="the cases' seed (random unless given)")
    parser.add_argument("--concurrency", type=int, default=16, help="connections at a time (16)")
    parser.add_argument("--warmup", type=float, default=None, help="seconds before RSS 'before' (10; 2)")
    parser.add_argument(
        "--server-arg", action="append", default=[], help="an extra `serve` flag (repeatable)"
    )
    args = parser.parse_args(argv)
    cases = args.cases if args.cases is not None else (5_000 if args.quick else 1_000_000)
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    warmup = args.warmup if args.warmup is not None else (2.0 if args.quick else 10.0)
    check_cpus()
    t0 = time.monotonic()
    with supervised():
        run(cases, seed, args.concurrency, warmup, args.server_arg)
    print(f"(total {time.monotonic() - t0:.0f} s)")
    return 0
