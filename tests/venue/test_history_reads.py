"""The history reads past what the engine keeps in memory, over a real socket: an account
with more fills on one symbol than the memory holds (1,000) reconciles its wallet against
its income and its position against its trades, and finds the fills of its first order,
as a bot that reconciles does against Binance (trading spec part 2 §6.8, part 3 §4.11);
and ``tickerplant accounts verify`` finds that the journal adds up, and says where it stops
adding up."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import aiohttp
from ports import free_port
from served_venue import account, serve, signed

from tickerplant.market.instruments import Market
from tickerplant.venue.domain.kept import FILLS_KEPT

INITIAL = Decimal(10_000_000)


async def test_past_a_thousand_fills_the_wallet_reconciles_with_income_and_the_position_with_trades(
    tmp_path: Path,
) -> None:
    path = tmp_path / "venue.db"
    made, key = account(path, "reconciler", Market.UM, "USDT", str(INITIAL))
    port = free_port()
    base = f"http://127.0.0.1:{port}/fapi"
    # a thousand fills of market orders: books as deep as the server's default
    async with serve(path, port, book_levels=1000) as _, aiohttp.ClientSession() as session:

        async def ok(method: str, endpoint: str, query: str) -> object:
            status, body = await signed(session, method, f"{base}{endpoint}", key, query)
            assert status == 200, body
            return body

        first: int | None = None
        fills = 0
        side = "BUY"
        while fills <= FILLS_KEPT + 100:  # large orders, each taking many makers in the book
            placed = await ok("POST", "/v1/order", f"symbol=BTCUSDT&side={side}&type=MARKET&quantity=20.000")
            assert isinstance(placed, dict)
            first = first or placed["orderId"]
            mine = await ok("GET", "/v1/userTrades", f"symbol=BTCUSDT&orderId={placed['orderId']}&limit=1000")
            assert isinstance(mine, list) and mine
            fills += len(mine)
            side = "SELL" if side == "BUY" else "BUY"

        # every trade, paged by id as a reconciling bot pages them
        trades: list[dict[str, object]] = []
        while True:
            after = f"&fromId={int(str(trades[-1]['id'])) + 1}" if trades else "&fromId=0"
            page = await ok("GET", "/v1/userTrades", f"symbol=BTCUSDT&limit=1000{after}")
            assert isinstance(page, list)
            if not page:
                break
            trades += page
        assert len(trades) == fills > FILLS_KEPT
        signed_qty = sum(Decimal(str(t["qty"])) * (1 if t["buyer"] else -1) for t in trades)
        positions = await ok("GET", "/v3/positionRisk", "symbol=BTCUSDT")
        assert isinstance(positions, list)
        assert sum(Decimal(p["positionAmt"]) for p in positions) == signed_qty  # v3 lists none when flat

        # the first order's fills are past the memory, and still there
        oldest = await ok("GET", "/v1/userTrades", f"symbol=BTCUSDT&orderId={first}&limit=1000")
        assert isinstance(oldest, list) and oldest and {t["orderId"] for t in oldest} == {first}
        expected = [t for t in trades if t["orderId"] == first]
        assert len(oldest) == len(expected), ([t["id"] for t in oldest], [t["id"] for t in expected])
        assert oldest == expected
        order = await ok("GET", "/v1/order", f"symbol=BTCUSDT&orderId={first}")
        assert isinstance(order, dict) and order["status"] == "FILLED"

        # every flow, paged by time as Binance's income is paged (a type at a time: one order's
        # fills share a millisecond, and both of a fill's rows past a page would not fit one)
        income: list[dict[str, object]] = []
        for kind in ("COMMISSION", "REALIZED_PNL", "FUNDING_FEE", "INSURANCE_CLEAR", "TRANSFER"):
            start = 0
            while True:
                page = await ok("GET", "/v1/income", f"incomeType={kind}&startTime={start}&limit=1000")
                assert isinstance(page, list)
                fresh = [row for row in page if row not in income]
                if not fresh:
                    break
                income += fresh
                start = int(str(page[-1]["time"]))
        assert sum(1 for row in income if row["incomeType"] == "COMMISSION") == len(trades)
        assert sum(Decimal(str(r["income"])) for r in income if r["incomeType"] == "COMMISSION") == -sum(
            Decimal(str(t["commission"])) for t in trades
        )
        balances = await ok("GET", "/v3/balance", "")
        assert isinstance(balances, list)
        wallet = next(Decimal(b["balance"]) for b in balances if b["asset"] == "USDT")
        assert wallet == sum(Decimal(str(r["income"])) for r in income)  # the opening TRANSFER included

    # the journal adds up, as `tickerplant accounts verify` checks it; a fill's commission
    # changed behind the venue's back does not
    verified = _verify(path)
    assert verified.returncode == 0 and "adds up" in verified.stdout, verified.stdout + verified.stderr
    db = sqlite3.connect(path)
    with db:
        db.execute("UPDATE venue_fills SET commission = commission + 1 WHERE trade_id = "
                   "(SELECT MIN(trade_id) FROM venue_fills)")  # fmt: skip
    db.close()
    verified = _verify(path)
    assert verified.returncode == 1
    assert f"MISMATCH   account {made}: USDT in the UM wallet" in verified.stdout
    assert f"MISMATCH   account {made}: BTCUSDT order" not in verified.stdout  # its qty holds


def _verify(path: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tickerplant.cli", "accounts", "--db", str(path), "verify"]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)
