"""A batch's rows (``domain/events.Batch``) written into the journal's tables within the
caller's transaction (``sqlite_journal.SqliteJournal``'s ``commit`` and ``stage``): each
table's statement in one place."""

from __future__ import annotations

import sqlite3

import msgspec

from tickerplant.venue.domain.events import Batch
from tickerplant.venue.domain.orders import Order
from tickerplant.venue.journal.countdown_rows import write_countdowns
from tickerplant.venue.journal.listen_key_rows import write_listen_keys
from tickerplant.venue.journal.rows import ORDER_COLUMNS, order_row
from tickerplant.venue.journal.schema import FILL_COLUMNS

__all__ = ["ORDER_UPSERT", "one_row", "write", "write_orders"]


def one_row(batch: Batch) -> bool:
    """Whether ``batch`` is a single order's row and nothing else: one statement, which needs
    no savepoint (SQLite's statement journal undoes a failing statement's own changes and
    keeps the transaction's earlier ones)."""
    return len(batch.orders) == 1 and not (
        batch.fills or batch.positions or batch.changes or batch.settings or batch.incomes
        or batch.algos or batch.margin_moves or batch.amendments or batch.modes or batch.funded
        or batch.listen_keys or batch.countdowns
    )  # fmt: skip


# An order written again (its cancel, a fill, an amendment, its expiry) is updated in place,
# its indexed columns left as they are: they never change once it is accepted. So its entries
# in the history indexes (``schema._READS``, each keyed by account first: three parts of the
# file) stay put, and only the table's own leaf, where the newest orders are, goes to the WAL
# at the next commit; replacing the row would delete and insert those entries again, three
# more pages a write. The ``WHERE`` holds the rule: a row that would change them changes
# nothing, and ``write_orders`` raises.
_ORDER_KEY = ("symbol", "order_id")  # the table's primary key: the conflict
_ORDER_INDEXED = ("account_id", "client_order_id", "time_ms")  # in the history indexes' keys
ORDER_UPSERT = (
    f"INSERT INTO venue_orders ({ORDER_COLUMNS}) VALUES ({', '.join('?' * len(ORDER_COLUMNS.split(',')))}) "
    f"ON CONFLICT ({', '.join(_ORDER_KEY)}) DO UPDATE SET "
    + ", ".join(
        f"{c} = excluded.{c}"
        for c in (c.strip() for c in ORDER_COLUMNS.split(","))
        if c not in _ORDER_KEY + _ORDER_INDEXED
    )
    + " WHERE "
    + " AND ".join(f"{c} = excluded.{c}" for c in _ORDER_INDEXED)
)


def write_orders(db: sqlite3.Connection, orders: list[Order]) -> None:
    """``orders``' rows, within the caller's transaction: the whole of a batch that is one
    order's row (``stage``), without ``write``'s look at every other kind of row."""
    before = db.total_changes
    # one order (most often): its row in a tuple, no list comprehension's frame
    db.executemany(ORDER_UPSERT, (order_row(orders[0]),) if len(orders) == 1 else map(order_row, orders))
    if db.total_changes - before != len(orders):  # an order's identity changed: a bug
        raise sqlite3.IntegrityError(f"an order's account, client id or time changed: {orders}")


def write(db: sqlite3.Connection, batch: Batch) -> None:
    """``batch``'s rows, within the caller's transaction."""
    if batch.orders:
        write_orders(db, batch.orders)
    if batch.fills:
        db.executemany(
            f"INSERT INTO venue_fills ({FILL_COLUMNS}, position_side) VALUES ({', '.join('?' * 14)})",
            [(f.symbol, f.trade_id, f.account_id, f.order_id, f.side.value, f.price, f.qty, f.base,
              f.realized_pnl, f.commission, f.commission_asset, f.maker, f.time_ms,
              f.position_side.value)
             for f in batch.fills],
        )  # fmt: skip
    if batch.positions:
        db.executemany(
            "INSERT OR REPLACE INTO venue_positions (account_id, symbol, position_side, amt, entry, "
            "update_ms, isolated_wallet, maker_amt) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(a, s, p.side.value, p.amt, "/".join(map(str, p.entry_ratio)), p.update_ms,
              p.isolated_wallet, p.maker_amt)
             for a, s, p in batch.positions],
        )  # fmt: skip
    if batch.changes:
        db.executemany(
            "INSERT INTO venue_wallet_changes (account_id, asset, delta, time_ms, market) "
            "VALUES (?, ?, ?, ?, ?)",
            [(*change, batch.market) for change in batch.changes],
        )
    if batch.incomes:
        db.executemany(
            "INSERT INTO venue_income (account_id, symbol, kind, asset, amount, time_ms, tran_id, market) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(i.account_id, i.symbol, i.kind, i.asset, i.amount, i.time_ms, i.tran_id, batch.market)
             for i in batch.incomes],
        )  # fmt: skip
    if batch.amendments:
        db.executemany(
            "INSERT INTO venue_amendments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(a.symbol, a.amendment_id, a.account_id, a.order_id, a.client_order_id, a.time_ms,
              a.price_before, a.price_after, a.qty_before, a.qty_after, a.nth, a.modify_id)
             for a in batch.amendments],
        )  # fmt: skip
    if batch.margin_moves:
        db.executemany(
            "INSERT INTO venue_margin_moves VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(m.account_id, m.symbol, m.kind, m.amount, m.asset, m.time_ms, m.delta_type,
              m.position_side.value)
             for m in batch.margin_moves],
        )  # fmt: skip
    if batch.algos:
        db.executemany(
            "INSERT OR REPLACE INTO venue_algo_orders VALUES (?, ?, ?)",
            [(a.symbol, a.algo_id, msgspec.json.encode(a).decode()) for a in batch.algos],
        )
    for s in batch.settings:
        db.execute(
            "INSERT INTO venue_settings VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
            "leverage = coalesce(excluded.leverage, leverage), "
            "isolated = coalesce(excluded.isolated, isolated)",
            (s.account_id, s.symbol, s.leverage, s.isolated),
        )
    if batch.funded:
        db.executemany(
            "INSERT INTO venue_funded VALUES (?, ?) ON CONFLICT DO UPDATE SET "
            "funding_ms = max(funding_ms, excluded.funding_ms)",
            batch.funded,
        )
    if batch.listen_keys:
        write_listen_keys(db, batch.market, batch.listen_keys)
    if batch.countdowns:
        write_countdowns(db, batch.market, batch.countdowns)
    for m in batch.modes:
        db.execute(
            "INSERT INTO venue_account_modes (account_id, hedge, multi_assets, fee_burn) "
            "VALUES (?, coalesce(?, 0), coalesce(?, 0), coalesce(?, 0)) "
            "ON CONFLICT DO UPDATE SET hedge = coalesce(?, hedge), "
            "multi_assets = coalesce(?, multi_assets), fee_burn = coalesce(?, fee_burn)",
            (m.account_id, m.hedge, m.multi_assets, m.fee_burn, m.hedge, m.multi_assets, m.fee_burn),
        )
