"""The operator's money in the income history whenever it moved: an account made before the
server first ran, a deposit while it was killed, a withdrawal while it was stopped, each a
``TRANSFER`` row at the next start, so the wallet is the sum of the income rows, as a bot
that reconciles against Binance expects (trading spec part 3 §4.11)."""

from __future__ import annotations

import asyncio
import signal
import sys
from decimal import Decimal
from pathlib import Path

import aiohttp
from ports import free_port
from served_venue import account, serve, signed

from tickerplant.market.instruments import Market


async def _accounts(path: Path, *args: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tickerplant.cli", "accounts", "--db", str(path), *args,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert await process.wait() == 0


async def test_what_the_operator_moved_while_the_server_was_down_is_a_transfer_at_its_start(
    tmp_path: Path,
) -> None:
    path = tmp_path / "venue.db"
    made, key = account(path, "early", Market.UM, "USDT", "1000")
    port = free_port()
    base = f"http://127.0.0.1:{port}/fapi"

    async def transfers_and_wallet(session: aiohttp.ClientSession) -> tuple[list[Decimal], Decimal, Decimal]:
        status, rows = await signed(session, "GET", f"{base}/v1/income", key, "limit=1000")
        assert status == 200, rows
        status, balances = await signed(session, "GET", f"{base}/v3/balance", key, "")
        assert status == 200, balances
        wallet = next(Decimal(b["balance"]) for b in balances if b["asset"] == "USDT")
        moved = [Decimal(r["income"]) for r in rows if r["incomeType"] == "TRANSFER"]
        return moved, wallet, sum((Decimal(r["income"]) for r in rows), Decimal(0))

    async with serve(path, port) as process, aiohttp.ClientSession() as session:
        moved, wallet, income = await transfers_and_wallet(session)
        assert moved == [Decimal(1000)] and wallet == income == 1000  # made before the first start
        status, body = await signed(session, "POST", f"{base}/v1/order", key,
                                    "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.010")  # fmt: skip
        assert status == 200, body
        process.send_signal(signal.SIGKILL)
        await process.wait()
    await _accounts(path, "deposit", str(made), "USDT=7")  # while it is killed
    async with serve(path, port) as process, aiohttp.ClientSession() as session:
        moved, wallet, income = await transfers_and_wallet(session)
        assert moved == [Decimal(1000), Decimal(7)] and wallet == income
        process.send_signal(signal.SIGINT)  # a clean stop
        await process.wait()
    await _accounts(path, "withdraw", str(made), "USDT=9")  # while it is stopped
    async with serve(path, port), aiohttp.ClientSession() as session:
        moved, wallet, income = await transfers_and_wallet(session)
        assert moved == [Decimal(1000), Decimal(7), Decimal(-9)] and wallet == income  # each once
