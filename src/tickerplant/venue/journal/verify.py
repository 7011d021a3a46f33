"""A venue database checked against itself (``tickerplant accounts verify``): what the
journal holds must add up, as a bot that reconciles expects it to (trading spec part 3
§4.11; docs/venue.md, "History").

- **The file**: SQLite's ``PRAGMA integrity_check`` is ``ok``.
- **Wallets**: per account, asset and market, what trading changed (``venue_wallet_changes``)
  is the sum of its income rows but the operator's transfers: each fill's realized PnL
  less its commission, and every other flow (funding, clearance, automatic exchange). The
  operator's deposits are balances, not trading (``store.py``), so they are left out on
  both sides.
- **Positions**: per account, symbol and position side, the journaled amount is the sum of
  its fills (bought less sold).
- **Orders**: each order's executed quantity is the sum of its fills.

Read-only, on a connection the caller opens; it may run beside a live server (SQLite's WAL
gives it one snapshot: every figure is read in one transaction).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import NamedTuple

__all__ = ["Finding", "Tally", "verify"]


class Finding(NamedTuple):
    """One thing that does not add up: ``what`` (its place), the journal's figure and the
    sum it should equal, in the journal's integer units."""

    what: str
    journaled: int
    summed: int


class Tally(NamedTuple):
    """What was checked, and what did not add up."""

    wallets: int
    positions: int
    orders: int
    findings: list[Finding]


def verify(db: sqlite3.Connection, markets: Mapping[str, str]) -> Tally:
    """Check the database behind ``db``; ``markets``: each listed symbol's market (``um``,
    ``cm``), which tells whose wallet a fill's money is (a journal's rows without a market
    go by it too)."""
    findings: list[Finding] = []
    db.execute("BEGIN")  # one snapshot of every table
    try:
        (integrity,) = db.execute("PRAGMA integrity_check").fetchone()
        if integrity != "ok":
            findings.append(Finding(f"the file: {integrity}", 0, 0))
            return Tally(0, 0, 0, findings)
        wallets = _wallets(db, markets, findings)
        positions = _positions(db, findings)
        orders = _orders(db, findings)
    finally:
        db.execute("ROLLBACK")
    return Tally(wallets, positions, orders, findings)


def _wallets(db: sqlite3.Connection, markets: Mapping[str, str], findings: list[Finding]) -> int:
    journaled: dict[tuple[int, str, str], int] = {}
    summed: dict[tuple[int, str, str], int] = {}
    for account, asset, market, total in db.execute(
        "SELECT account_id, asset, market, SUM(delta) FROM venue_wallet_changes GROUP BY 1, 2, 3"
    ):
        key = (account, asset, market or "")
        journaled[key] = journaled.get(key, 0) + int(total)
    for account, symbol, asset, total in db.execute(
        "SELECT account_id, symbol, commission_asset, SUM(realized_pnl - commission) FROM venue_fills "
        "GROUP BY 1, 2, 3"
    ):
        key = (account, asset, markets.get(symbol, ""))
        summed[key] = summed.get(key, 0) + int(total)
    for account, symbol, asset, market, total in db.execute(
        "SELECT account_id, symbol, asset, market, SUM(amount) FROM venue_income WHERE kind != 'TRANSFER' "
        "GROUP BY 1, 2, 3, 4"
    ):
        key = (account, asset, market or markets.get(symbol, ""))
        summed[key] = summed.get(key, 0) + int(total)
    # an older journal's changes carry no market: theirs is where the fills and flows are
    for (account, asset, market), total in list(journaled.items()):
        if not market:
            del journaled[(account, asset, market)]
            home = next((k for k in summed if k[:2] == (account, asset)), (account, asset, ""))
            journaled[home] = journaled.get(home, 0) + total
    for key in sorted(journaled.keys() | summed.keys()):
        if journaled.get(key, 0) != summed.get(key, 0):
            account, asset, market = key
            what = f"account {account}: {asset} in the {market.upper() or '?'} wallet, trading's changes"
            findings.append(Finding(what, journaled.get(key, 0), summed.get(key, 0)))
    return len(journaled.keys() | summed.keys())


def _positions(db: sqlite3.Connection, findings: list[Finding]) -> int:
    journaled = {
        (account, symbol, side): int(amt)
        for account, symbol, side, amt in db.execute(
            "SELECT account_id, symbol, position_side, amt FROM venue_positions"
        )
    }
    summed = {
        (account, symbol, side): int(total)
        for account, symbol, side, total in db.execute(
            "SELECT account_id, symbol, position_side, SUM(CASE side WHEN 'BUY' THEN qty ELSE -qty END) "
            "FROM venue_fills GROUP BY 1, 2, 3"
        )
    }
    for key in sorted(journaled.keys() | summed.keys()):
        if journaled.get(key, 0) != summed.get(key, 0):
            account, symbol, side = key
            what = f"account {account}: the {symbol} {side} position"
            findings.append(Finding(what, journaled.get(key, 0), summed.get(key, 0)))
    return len(journaled)


def _orders(db: sqlite3.Connection, findings: list[Finding]) -> int:
    count = 0
    for account, symbol, order_id, executed, filled in db.execute(
        "SELECT o.account_id, o.symbol, o.order_id, o.executed_qty, coalesce(SUM(f.qty), 0) "
        "FROM venue_orders AS o LEFT JOIN venue_fills AS f "
        "ON f.symbol = o.symbol AND f.order_id = o.order_id AND f.account_id = o.account_id "
        "GROUP BY o.symbol, o.order_id, o.account_id"
    ):
        count += 1
        if executed != filled:
            what = f"account {account}: {symbol} order {order_id}'s executed quantity"
            findings.append(Finding(what, int(executed), int(filled)))
    return count
