"""The request path alone, in process (``--path``): signed orders and their cancels through
the server's own parts (the front door reading each head, the listener's route, the IP's
weight, the key and the HMAC, the engine, the journal's rows, the group commit and the
answers it releases), on a venue database of ``--accounts`` accounts, without sockets or
the event loop between them: CPU µs a pair. Then the same pairs over the WebSocket API's path
(``WsApi.receive`` on each signed ``order.place`` and ``order.cancel`` frame, sessions in
place of the connections), CPU µs a pair beside it.

Each group commit holds ``GROUP`` requests, as the flat-out part's do (~14-16 commands): the
orders of ``GROUP`` connections in one, then their cancels in the next (a cancel comes after
its order's answer). The requests are signed before they are measured (a client's work), the
first ``pairs`` unmeasured (each account's first order, the tables' first pages). The
simulated market and the loop's other callbacks do not run meanwhile: what is measured is
the request's own path.

Last, REST one request at a time on one connection, each its own group commit, as a steady
rate has it (``_one_at_a_time``): half as many pairs back to back, then half as many with
``PAUSE_S`` of sleep before each request (the sleep not counted). The first shows what a
commit of one costs against a group's; the second what this machine's caches, cold after a
pause (``harness/cold.py``), add: the steady rate's cost, in process and repeatable.

CPU time moves with the machine's other processes (±20 % from run to run on a shared
machine). Under callgrind the count of instructions does not: run as
``valgrind --tool=callgrind --instr-atstart=no python -m benchmarks orders --path``, the
measured part alone is counted (instrumentation turned on and off around it with
``callgrind_control``), the same to ±0.05 % from run to run; the instructions a pair are
callgrind's ``Collected`` over the pairs printed (REST's alone: the WebSocket API's part runs
with the instrumentation off).
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import uvloop

from tickerplant.app import Tickerplant
from tickerplant.config import ServerConfig, SimulatorConfig
from tickerplant.gateway.front_door import FrontDoor
from tickerplant.market.instruments import Market
from tickerplant.protocol.ws_api import AwaitedReply, WsApiReply, WsSession
from tickerplant.venue.auth.signing import hmac_hex
from tickerplant.venue.journal.group_commit import GroupCommit

from .streams import ws_order_params

__all__ = ["GROUP", "print_path"]

GROUP = 16  # requests a group commit: the flat-out part's, about
PAUSE_S = 0.001  # before each request one at a time: a steady rate's gap, about
_SECRET = "S" * 64  # scenario.SECRET: the accounts' HMAC secret
_HEAD = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001"


class _Sink(asyncio.Transport):
    """A connection that takes every answer's bytes and keeps the first."""

    def __init__(self) -> None:
        super().__init__()
        self.first = b""
        self.ok = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writelines((data,))

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        parts = tuple(list_of_data)
        if not self.first:
            self.first = b"".join(parts)
        self.ok += bytes(parts[0][:13]) == b"HTTP/1.1 200 "

    def get_extra_info(self, name: str, default: object = None) -> object:
        return ("127.0.0.1", 1) if name == "peername" else default

    def is_closing(self) -> bool:
        return False


def _signed(method: str, query: str, key: str) -> bytes:
    # a minute's window: the requests are signed a while before they come (under callgrind, long)
    query = f"{query}&recvWindow=60000&timestamp={int(time.time() * 1000)}"
    query = f"{query}&signature={hmac_hex(_SECRET, query.encode())}"
    return (f"{method} /fapi/v1/order?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-MBX-APIKEY: {key}\r\n"
            f"Content-Length: 0\r\n\r\n").encode()  # fmt: skip


def _callgrind(on: bool) -> None:
    """Callgrind's instrumentation on or off, when this process runs under it."""
    if "vgpreload" in os.environ.get("LD_PRELOAD", ""):
        switch = "on" if on else "off"
        command = ["callgrind_control", "-i", switch, str(os.getpid())]
        subprocess.run(command, capture_output=True, check=False)


async def _measure(
    path: Path, keys: list[str], pairs: int, with_ws: bool = True
) -> tuple[float, int, int, float, int, tuple[float, float]]:
    """(CPU s, pairs measured, answers 200) over ``pairs`` after as many unmeasured, then the
    same of the WebSocket API's path (``with_ws``; else 0, 0): (its CPU s, its replies 200);
    then REST's CPU s a pair one request at a time (``_one_at_a_time``), back to back and after
    ``PAUSE_S`` each."""
    simulator = SimulatorConfig(history_s=3600.0, book_levels=20)
    weight = 10**9  # the IP's budget lifted, as the flat-out part's server has it
    config = ServerConfig(  # ports: the OS's; no admin listener
        um_port=0, cm_port=0, admin_port=0, venue_db=str(path), request_weight_per_min=weight,
        simulator=simulator,
    )  # fmt: skip
    plant = Tickerplant(config)
    await plant.start()
    try:
        listener, group = plant.listeners[Market.UM], plant.group
        assert group is not None
        doors = []
        for _ in range(GROUP):
            door = FrontDoor(listener.route, logging.getLogger("bench"), listener.limit_counters, plant.clock)
            sink = _Sink()
            door.connection_made(sink)
            doors.append((door, sink))
        door, sink = doors[0]
        door.data_received(b"GET /fapi/v1/depth?symbol=BTCUSDT&limit=5 HTTP/1.1\r\nHost: x\r\n\r\n")
        bids = json.loads(sink.first.split(b"\r\n\r\n", 1)[1])["bids"]
        price = f"{float(bids[-1][0]) * 0.9:.1f}"

        def signed(first: int, last: int) -> list[tuple[bytes, bytes]]:
            return [
                (_signed("POST", f"{_HEAD}&price={price}&newClientOrderId=p{n}", keys[n % len(keys)]),
                 _signed("DELETE", f"symbol=BTCUSDT&origClientOrderId=p{n}", keys[n % len(keys)]))
                for n in range(first, last)
            ]  # fmt: skip

        def run(requests: list[tuple[bytes, bytes]]) -> None:
            for at in range(0, len(requests), GROUP):
                chunk = list(zip(doors, requests[at : at + GROUP], strict=False))
                for (door, _), (order, _) in chunk:
                    door.data_received(order)
                group.flush()
                for (door, _), (_, cancel) in chunk:
                    door.data_received(cancel)
                group.flush()

        run(signed(0, pairs))
        measured = signed(pairs, 2 * pairs)
        gc.collect()
        ok_before = sum(sink.ok for _, sink in doors)
        _callgrind(True)
        started = time.process_time()
        run(measured)
        cpu_s = time.process_time() - started
        _callgrind(False)
        ok = sum(sink.ok for _, sink in doors) - ok_before
        ws = _measure_ws(plant, keys, price, pairs) if with_ws else (0.0, 0)
        door, _ = doors[0]
        alone = signed(2 * pairs, 2 * pairs + pairs // 2), signed(2 * pairs + pairs // 2, 3 * pairs)
        one = (_one_at_a_time(door, group, alone[0], 0.0), _one_at_a_time(door, group, alone[1], PAUSE_S))
        return cpu_s, len(measured), ok, *ws, one
    finally:
        await plant.close()


def _one_at_a_time(
    door: FrontDoor, group: GroupCommit, pairs: list[tuple[bytes, bytes]], pause_s: float
) -> float:
    """CPU s a pair of ``pairs`` on one connection, each request its own group commit, as at a
    steady rate, after ``pause_s`` of sleep each (not counted): on a machine whose caches a
    pause leaves cold (``harness/cold.py``), what a request costs when requests come apart."""
    spent_ns = 0
    for pair in pairs:
        for request in pair:
            if pause_s:
                time.sleep(pause_s)
            started = time.thread_time_ns()
            door.data_received(request)
            group.flush()
            spent_ns += time.thread_time_ns() - started
    return spent_ns / 1e9 / len(pairs)


def _measure_ws(plant: Tickerplant, keys: list[str], price: str, pairs: int) -> tuple[float, int]:
    """The WebSocket API's path: each ``order.place`` and its ``order.cancel`` (signed as
    ``benchmarks.orders.streams`` signs them) through the listener's ``WsApi.receive`` (the
    frame read, the signature's forms, the engine, the journal), ``GROUP`` sessions a group
    commit as above; (CPU s over ``pairs`` after as many unmeasured, replies 200)."""
    listener, group = plant.listeners[Market.UM], plant.group
    assert group is not None
    api, now_ms = listener.ws_api, plant.clock.now_ms
    sessions = [WsSession(now_ms()) for _ in range(GROUP)]
    ok = [0]

    def replied(reply: WsApiReply) -> None:
        ok[0] += reply.status == 200

    def frames(first: int, last: int) -> list[tuple[bytes, bytes]]:
        made = []
        for n in range(first, last):
            key = keys[n % len(keys)]
            order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                     "quantity": "0.001", "price": price, "newClientOrderId": f"w{n}",
                     "recvWindow": "60000"}  # fmt: skip
            cancel = {"symbol": "BTCUSDT", "origClientOrderId": f"w{n}", "recvWindow": "60000"}
            made.append((_ws_frame(n, "order.place", ws_order_params(key, _SECRET, order)),
                         _ws_frame(n, "order.cancel", ws_order_params(key, _SECRET, cancel))))  # fmt: skip
        return made

    def run(requests: list[tuple[bytes, bytes]]) -> None:
        for at in range(0, len(requests), GROUP):
            chunk = list(zip(sessions, requests[at : at + GROUP], strict=False))
            for side in (0, 1):  # the orders of the group, committed; then their cancels
                for session, pair in chunk:
                    reply = api.receive(pair[side], "127.0.0.1", now_ms(), True, session)
                    if isinstance(reply, AwaitedReply):
                        reply.then(replied)
                    else:
                        replied(reply)
                group.flush()

    run(frames(0, pairs))
    measured = frames(pairs, 2 * pairs)
    gc.collect()
    ok[0] = 0
    started = time.process_time()
    run(measured)
    return time.process_time() - started, ok[0]


def _ws_frame(n: int, method: str, params: dict[str, str]) -> bytes:
    return json.dumps({"id": n, "method": method, "params": params}).encode()


def print_path(make_accounts: Callable[[Path, int], list[str]], accounts: int, quick: bool) -> None:
    """``--path``: the request path's CPU a pair (see the module's docstring); ``make_accounts``
    makes the venue database's accounts, each with an HMAC key signing with ``_SECRET``."""
    pairs = 500 if quick else 2_000
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "venue.db"
        keys = make_accounts(path, accounts)
        cpu_s, measured, ok, ws_s, ws_ok, (alone_s, paused_s) = uvloop.run(_measure(path, keys, pairs))
    print(f"== the request path alone, in process: {measured:,} orders and their cancels,"
          f" {accounts} accounts, {GROUP} requests a group commit")  # fmt: skip
    print(f"  REST: {cpu_s / measured * 1e6:.1f} µs of CPU an order and its cancel"
          f" ({ok:,} answers 200 of {2 * measured:,})")  # fmt: skip
    print(f"  WebSocket API: {ws_s / measured * 1e6:.1f} µs of CPU an order and its cancel"
          f" ({ws_ok:,} replies 200 of {2 * measured:,})")  # fmt: skip
    print(f"  REST, one request at a time, each its own commit (as at a steady rate): {alone_s * 1e6:.1f} µs"
          f" a pair back to back, {paused_s * 1e6:.1f} µs with {PAUSE_S * 1000:g} ms before each request"
          f" ({paused_s / alone_s:.1f}×)")  # fmt: skip
