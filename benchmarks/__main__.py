"""`python -m benchmarks <name> [options]` runs one benchmark; `python -m benchmarks` lists them.

Each prints its figures against a floor measured in the same run, and always exits 0 when it
completes: it measures. `--quick` makes any of them a short smoke run."""

from __future__ import annotations

import importlib
import sys

SCENARIOS = {
    "fanout": "bookTicker fan-out to many connections, against a raw-uvloop floor",
    "ws_api": "WebSocket API request/response (ticker.book), against a picows floor",
    "client": "bookTicker consumed into typed objects: tickerplant's client, python-binance, the SDK",
    "replay": "Binance public files to the wire at --speed max, against reading and parsing them",
    "depth": "depth streams' cost per action, depth requests and depth fan-out, each against a floor",
    "rest": "REST req/s and latency over 50 kept-alive connections, against an asyncio floor",
    "stall": "a stream's largest gap and the WebSocket API's p99 while REST spends a minute's weight at once",
    "hoard": "clients that never read against the bound on unsent bytes: RSS during and after, a healthy gap",
    "memory": "the server's RSS over minutes at --sim-rate max: growth per hour after a warm-up",
    "derived_plant": "the plant's cost per action with klines and the other derived streams, against without",
    "market_step": "the simulated market's CPU per action in a whole server, on a driven and the wall clock",
    "fuzz": "a million random frames, texts and request heads: crashes, tracebacks, RSS before and after",
    "soak": "waves of 5,000 connections, slow consumers and malformed clients: RSS per wave, a client's p99",
    "connections": "one process to its descriptor limit: held, KB each, delivery/handshake p99, accepts/s",
    "scaleout": "a plant and gateways over NATS: publishing vs nats-py, a hop's latency, CPU per message",
    "history": "the simulated past: start-up, idle RSS, past klines cold/warm, trades, a 30-day download",
    "matching": "the venue's core (orders, margin, events) in process, against a bare price-time book",
    "fills": "the queue models on a recording against the fills the same orders got in the one book",
    "run": "a ccxt bot under tickerplant run on a recorded hour: the speed-up, the venue's cost per event",
    "orders": "orders over kept-alive REST: new → ack latency at a steady rate, orders/s flat out vs a floor",
    "botclock": "libfaketime's forms: a Python asyncio and a Node bot's clock and waits at x1, x20, x100",
}


def usage() -> str:
    lines = ["usage: python -m benchmarks <name> [--quick] [options]   (<name> --help for its options)", ""]
    lines += [f"  {name:<13} {what}" for name, what in SCENARIOS.items()]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    name, *rest = argv
    if name not in SCENARIOS:
        print(f"unknown benchmark {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    scenario = importlib.import_module(f"benchmarks.{name}.scenario")
    code: int = scenario.main(rest)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
