"""Accounts trading beside another benchmark (the ``fanout`` and ``depth``
benchmarks "within noise of today with 100 accounts trading"): a child process on the
clients' CPU where each account places one LIMIT GTC order a second, far below the book,
and cancels it, over kept-alive REST, signed as a client signs (``scenario.signed_request``).

``TradingAccounts`` makes the accounts (each 10⁶ USDT, an HMAC key) in a venue database the
server under test is started with (``serve_args``), then ``start`` runs the child against
the server's USDⓈ-M port; ``stop`` stops it and says how many orders it placed; ``close``
removes the database.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import urllib.request
from multiprocessing.connection import Connection
from pathlib import Path

from ..harness.commands import Child, serve
from ..harness.processes import CLIENT_CPU, HOST
from .load import cancel_request, connect, make_accounts, order_query, signed_request

__all__ = ["TradingAccounts"]

_CONNECTIONS = 10  # kept-alive connections the accounts share


async def trade(pipe: Connection, port: int, keys: list[str], price: str, life_s: float) -> None:
    conns = await connect(port, min(_CONNECTIONS, len(keys)))
    placed = refused = 0
    stopping = False

    async def run(index: int) -> None:
        nonlocal placed, refused
        mine = keys[index :: len(conns)]  # this connection's accounts, one order a second each
        gap = 1.0 / len(mine)
        n = index
        due = time.monotonic()
        while not stopping:
            key = mine[(n // len(conns)) % len(mine)]
            placing = signed_request("POST", "/fapi/v1/order", order_query(price, n), key)
            answer = await conns[index].ask(placing)
            if b" 200 " in answer[:16]:
                placed += 1
                await conns[index].ask(cancel_request(n, key))
            else:
                refused += 1
            n += len(conns)
            due += gap
            await asyncio.sleep(max(0.0, due - time.monotonic()))

    tasks = [asyncio.ensure_future(run(i)) for i in range(len(conns))]
    await serve(pipe, {"count": lambda: (placed, refused)}, life_s)
    stopping = True
    await asyncio.gather(*tasks, return_exceptions=True)


class TradingAccounts:
    def __init__(self, count: int) -> None:
        self.count = count
        self._folder = tempfile.TemporaryDirectory()
        self.path = Path(self._folder.name) / "venue.db"
        self.keys = make_accounts(self.path, count) if count else []
        self._child: Child | None = None
        self._started = 0.0

    def serve_args(self) -> list[str]:
        if not self.count:
            return []
        return ["--venue-db", str(self.path), "--request-weight", "1000000000"]

    def start(self, um_port: int, life_s: float) -> None:
        if not self.count:
            return
        with urllib.request.urlopen(f"http://{HOST}:{um_port}/fapi/v1/depth?symbol=BTCUSDT&limit=5") as r:
            price = f"{float(json.loads(r.read())['bids'][-1][0]) * 0.9:.1f}"
        self._child = Child(CLIENT_CPU, trade, um_port, self.keys, price, life_s)
        self._started = time.monotonic()

    def stop(self) -> str:
        """Stop trading; what it did, for the report."""
        if self._child is None:
            return ""
        placed, refused = self._child.ask(10.0, "the traders' count", "count")
        elapsed = time.monotonic() - self._started
        self._child.close()
        self._child = None
        rate = placed / elapsed
        return f"{self.count} accounts traded {rate:,.0f} orders/s (each cancelled; {refused} refused)"

    def close(self) -> None:
        self.stop()
        self._folder.cleanup()
