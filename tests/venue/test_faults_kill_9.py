"""A fault changes what a client is told and when, never what the venue holds, kill -9
included (docs/faults.md): a real `tickerplant serve --faults FILE` answers every ETHUSDT
order 503 "Unknown error…" with the order placed, and acknowledges every BTCUSDT order late
(slow-ack); killed at once after the answers, it comes back with every one of those orders,
the ones told 503 and the ones acknowledged."""

from __future__ import annotations

import signal
from decimal import Decimal
from pathlib import Path

import aiohttp
from ports import free_port
from served_venue import account, serve, signed

from tickerplant.market.instruments import Market

PROFILE = """
name = "placed-but-told-otherwise"

[[fault]]
kind = "unknown-error"   # 503 -1000, every order placed
symbols = ["ETHUSDT"]
rate = 1.0
placed = 1.0

[[fault]]
kind = "slow-ack"        # placed at once, the answer 300 ms late
symbols = ["BTCUSDT"]
rate = 1.0
delay_ms = 300
"""


async def test_orders_placed_behind_a_fault_survive_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "venue.db"
    _, key = account(db, "alice", Market.UM, "USDT", "100000")
    profile = tmp_path / "faults.toml"
    profile.write_text(PROFILE)
    port = free_port()
    base = f"http://127.0.0.1:{port}/fapi"
    told: dict[str, int] = {}
    async with serve(db, port, options=("--faults", str(profile))) as process, aiohttp.ClientSession() as session:
        for symbol in ("ETHUSDT", "BTCUSDT"):
            _, depth = await signed(session, "GET", f"{base}/v1/depth", key, f"symbol={symbol}&limit=5")
            below = Decimal(depth["bids"][-1][0]) - 500  # on the tick: a whole number below the bid
            for i in range(3):
                query = (f"symbol={symbol}&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.010&price={below}"
                         f"&newClientOrderId={symbol}-{i}")  # fmt: skip
                status, body = await signed(session, "POST", f"{base}/v1/order", key, query)
                told[f"{symbol}-{i}"] = status
                if symbol == "ETHUSDT":
                    assert (status, body["code"]) == (503, -1000), body
                else:
                    assert status == 200 and body["clientOrderId"] == f"{symbol}-{i}", body
        process.send_signal(signal.SIGKILL)  # at once: no clean shutdown, no flush
        await process.wait()
    assert process.returncode in (-signal.SIGKILL, 255)

    async with serve(db, port), aiohttp.ClientSession() as session:  # no profile: the truth as it is
        kept = []
        for symbol in ("ETHUSDT", "BTCUSDT"):
            status, orders = await signed(session, "GET", f"{base}/v1/openOrders", key, f"symbol={symbol}")
            assert status == 200, orders
            kept += sorted(o["clientOrderId"] for o in orders)
    assert kept == [f"ETHUSDT-{i}" for i in range(3)] + [f"BTCUSDT-{i}" for i in range(3)]
