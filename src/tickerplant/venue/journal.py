"""The venue's journal: what the engine changed, written to the accounts database before
the answer goes (ARCHITECTURE.md, "a journal before every acknowledgement"), and read back
into the engines when the server starts.

Tables (made here if missing, beside the operator's in the same file):

- ``venue_orders``: each order's latest state, one row per (symbol, order id);
- ``venue_fills``: every fill, with the realized PnL and commission it booked;
- ``venue_positions``: each (account, symbol, position side)'s position after its last
  change (the entry price exact, as ``numerator/denominator``; an isolated position's wallet);
- ``venue_account_modes``: each account's hedge mode (both markets) and Multi-Assets mode;
- ``venue_wallet_changes``: every change trading made to a wallet (realized PnL less
  commission), summed on start; the operator's deposits stay in ``balances``;
- ``venue_settings``: per (account, symbol) leverage and margin type;
- ``venue_algo_orders``: each algo order's latest state (``algo_orders.AlgoOrder`` as JSON),
  one row per (symbol, algo id);
- ``venue_amendments``: each modification of an order (``orderAmendment``);
- ``venue_margin_moves``: isolated margin moved, by its owner (``POST …/positionMargin``) or
  by a fill;
- ``venue_income``: the flows that are not a fill's (``FUNDING_FEE``, ``INSURANCE_CLEAR``),
  each also a row of ``venue_wallet_changes``.

One transaction per command (``commit``), in WAL mode with ``synchronous = NORMAL``: a
committed transaction survives the process being killed (kill -9), not the machine losing
power (PERFORMANCE.md: about 18 µs a commit). The commits never copy the WAL into the
database themselves (``wal_autocheckpoint = 0``): that copy syncs the file and took up to
8 ms in the middle of a command, one command in three hundred; ``checkpoint`` does it on its
own connection, which the server runs in a thread once a second (``app.py``), SQLite
releasing the GIL as it writes, so the WAL stays as small as a second's commits.

The server never creates the database: until an account exists (``tickerplant accounts
create``) no order can be placed, so nothing is written.
"""

from __future__ import annotations

import sqlite3
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import msgspec

from tickerplant.market.instruments import Market
from tickerplant.venue.algo_orders import AlgoBook, AlgoOrder
from tickerplant.venue.engine import Engine
from tickerplant.venue.events import Batch, Income, MarginMove
from tickerplant.venue.margin import Position
from tickerplant.venue.orders import (
    Amendment,
    Fill,
    Order,
    OrderStatus,
    OrderType,
    PositionSide,
    Side,
    TimeInForce,
)

__all__ = ["Restorable", "SqliteJournal"]


class Restorable(Protocol):
    """What the algo orders are read back into (``algo_service.AlgoService``)."""

    book: AlgoBook

    def restore(self, order: AlgoOrder) -> None: ...


_FILL_COLUMNS = (
    "symbol, trade_id, account_id, order_id, side, price, qty, base, realized_pnl, commission, "
    "commission_asset, maker, time_ms"
)  # a fill's columns before hedge mode (position_side was added after)
_FILLS = """CREATE TABLE IF NOT EXISTS venue_fills (
    symbol TEXT NOT NULL, trade_id INTEGER NOT NULL, account_id INTEGER NOT NULL,
    order_id INTEGER NOT NULL, side TEXT NOT NULL, price INTEGER NOT NULL, qty INTEGER NOT NULL,
    base INTEGER NOT NULL, realized_pnl INTEGER NOT NULL, commission INTEGER NOT NULL,
    commission_asset TEXT NOT NULL, maker INTEGER NOT NULL, time_ms INTEGER NOT NULL,
    position_side TEXT NOT NULL DEFAULT 'BOTH',
    PRIMARY KEY (symbol, trade_id, order_id)
) WITHOUT ROWID;"""
_POSITIONS = """CREATE TABLE IF NOT EXISTS venue_positions (
    account_id INTEGER NOT NULL, symbol TEXT NOT NULL, position_side TEXT NOT NULL, amt INTEGER NOT NULL,
    entry TEXT NOT NULL, update_ms INTEGER NOT NULL, isolated_wallet INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, symbol, position_side)
) WITHOUT ROWID;"""
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS venue_orders (
    symbol TEXT NOT NULL, order_id INTEGER NOT NULL, account_id INTEGER NOT NULL,
    client_order_id TEXT NOT NULL, side TEXT NOT NULL, type TEXT NOT NULL, time_in_force TEXT NOT NULL,
    price INTEGER NOT NULL, orig_qty INTEGER NOT NULL, reduce_only INTEGER NOT NULL,
    good_till_ms INTEGER NOT NULL, time_ms INTEGER NOT NULL, update_ms INTEGER NOT NULL,
    status TEXT NOT NULL, executed_qty INTEGER NOT NULL, cum_quote INTEGER NOT NULL,
    cum_base INTEGER NOT NULL, queue_ahead INTEGER NOT NULL, price_match TEXT NOT NULL,
    stp_mode TEXT NOT NULL, amendments INTEGER NOT NULL DEFAULT 0,
    position_side TEXT NOT NULL DEFAULT 'BOTH',
    PRIMARY KEY (symbol, order_id)
) WITHOUT ROWID;
{_FILLS}
{_POSITIONS}
CREATE TABLE IF NOT EXISTS venue_account_modes (
    account_id INTEGER NOT NULL PRIMARY KEY, hedge INTEGER NOT NULL DEFAULT 0,
    multi_assets INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS venue_wallet_changes (
    account_id INTEGER NOT NULL, asset TEXT NOT NULL, delta INTEGER NOT NULL, time_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS venue_algo_orders (
    symbol TEXT NOT NULL, algo_id INTEGER NOT NULL, state TEXT NOT NULL, PRIMARY KEY (symbol, algo_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS venue_settings (
    account_id INTEGER NOT NULL, symbol TEXT NOT NULL, leverage INTEGER, isolated INTEGER,
    PRIMARY KEY (account_id, symbol)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS venue_amendments (
    symbol TEXT NOT NULL, amendment_id INTEGER NOT NULL, account_id INTEGER NOT NULL,
    order_id INTEGER NOT NULL, client_order_id TEXT NOT NULL, time_ms INTEGER NOT NULL,
    price_before INTEGER NOT NULL, price_after INTEGER NOT NULL, qty_before INTEGER NOT NULL,
    qty_after INTEGER NOT NULL, count INTEGER NOT NULL, modify_id INTEGER,
    PRIMARY KEY (symbol, amendment_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS venue_margin_moves (
    account_id INTEGER NOT NULL, symbol TEXT NOT NULL, kind INTEGER NOT NULL, amount INTEGER NOT NULL,
    asset TEXT NOT NULL, time_ms INTEGER NOT NULL, delta_type TEXT NOT NULL,
    position_side TEXT NOT NULL DEFAULT 'BOTH'
);
CREATE TABLE IF NOT EXISTS venue_income (
    account_id INTEGER NOT NULL, symbol TEXT NOT NULL, kind TEXT NOT NULL, asset TEXT NOT NULL,
    amount INTEGER NOT NULL, time_ms INTEGER NOT NULL, tran_id INTEGER NOT NULL
);
"""


def _fills_by_order(db: sqlite3.Connection) -> None:
    """A journal from before the one book keyed a fill by its trade alone; two venue orders
    now share a trade (a maker's and a taker's, part 4 decision 9): key it by its order too."""
    row = db.execute("SELECT sql FROM sqlite_master WHERE name = 'venue_fills'").fetchone()
    if row is None or "PRIMARY KEY (symbol, trade_id)" not in str(row[0]):
        return
    db.execute("BEGIN IMMEDIATE")  # all or nothing: a kill -9 halfway leaves the old table
    db.execute("ALTER TABLE venue_fills RENAME TO venue_fills_by_trade")
    db.execute(_FILLS)
    db.execute(f"INSERT INTO venue_fills ({_FILL_COLUMNS}) SELECT {_FILL_COLUMNS} FROM venue_fills_by_trade")
    db.execute("DROP TABLE venue_fills_by_trade")
    db.execute("COMMIT")


_ADDED = (
    ("venue_positions", "isolated_wallet", "INTEGER NOT NULL DEFAULT 0"),
    ("venue_orders", "amendments", "INTEGER NOT NULL DEFAULT 0"),
    ("venue_orders", "position_side", "TEXT NOT NULL DEFAULT 'BOTH'"),
    ("venue_fills", "position_side", "TEXT NOT NULL DEFAULT 'BOTH'"),
    ("venue_margin_moves", "position_side", "TEXT NOT NULL DEFAULT 'BOTH'"),
)


def _added_columns(db: sqlite3.Connection) -> None:
    """A journal from before isolated margin has no wallet per position, one from before
    ``orderAmendment`` no count of an order's amendments (0: it told none), one from before
    hedge mode no position side (all were one-way's ``BOTH``). Its positions were all
    margined as cross, whatever the symbol's setting said: an open one on a symbol set
    ``ISOLATED`` would come back isolated with an empty wallet and be liquidated at the
    first mark, so its symbol goes back to cross (the owner may set it again once flat)."""
    for table, column, kind in _ADDED:
        columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
        if not columns or column in columns:
            continue
        db.execute("BEGIN IMMEDIATE")  # all or nothing, as _fills_by_order
        db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        settings = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'venue_settings'").fetchone()
        if column == "isolated_wallet" and settings is not None:
            db.execute(
                "UPDATE venue_settings SET isolated = 0 WHERE isolated AND EXISTS (SELECT 1 FROM "
                "venue_positions AS p WHERE p.account_id = venue_settings.account_id "
                "AND p.symbol = venue_settings.symbol AND p.amt != 0)"
            )
        db.execute("COMMIT")


def _positions_by_side(db: sqlite3.Connection) -> None:
    """A journal from before hedge mode keyed a position by (account, symbol): its rows are
    one-way positions, ``BOTH``."""
    columns = [row[1] for row in db.execute("PRAGMA table_info(venue_positions)")]
    if not columns or "position_side" in columns:
        return
    db.execute("BEGIN IMMEDIATE")  # all or nothing, as _fills_by_order
    db.execute("ALTER TABLE venue_positions RENAME TO venue_positions_one_way")
    db.execute(_POSITIONS)
    db.execute(
        "INSERT INTO venue_positions SELECT account_id, symbol, 'BOTH', amt, entry, update_ms, "
        "isolated_wallet "
        "FROM venue_positions_one_way"
    )
    db.execute("DROP TABLE venue_positions_one_way")
    db.execute("COMMIT")


_ORDER_COLUMNS = (
    "symbol, order_id, account_id, client_order_id, side, type, time_in_force, price, orig_qty, reduce_only, "
    "good_till_ms, time_ms, update_ms, status, executed_qty, cum_quote, cum_base, queue_ahead, price_match, "
    "stp_mode, amendments, position_side"
)


def _order_row(o: Order) -> tuple[object, ...]:
    return (
        o.symbol, o.order_id, o.account_id, o.client_order_id, o.side.value, o.type.value,
        o.time_in_force.value, o.price, o.orig_qty, o.reduce_only, o.good_till_ms, o.time_ms, o.update_ms,
        o.status.value, o.executed_qty, o.cum_quote, o.cum_base, o.queue_ahead, o.price_match, o.stp_mode,
        o.amendments, o.position_side.value,
    )  # fmt: skip


def _order(row: tuple[object, ...]) -> Order:
    (symbol, order_id, account_id, client_id, side, kind, tif, price, orig_qty, reduce_only, good_till,
     time_ms, update_ms, status, executed, cum_quote, cum_base, queue_ahead, price_match,
     stp, amendments, position_side) = row  # fmt: skip
    return Order(
        int(str(account_id)), str(symbol), int(str(order_id)), str(client_id), Side(side), OrderType(kind),
        TimeInForce(tif), int(str(price)), int(str(orig_qty)), bool(reduce_only), int(str(good_till)),
        int(str(time_ms)), int(str(update_ms)), OrderStatus(status), int(str(executed)), int(str(cum_quote)),
        int(str(cum_base)), int(str(queue_ahead)), str(price_match), str(stp), int(str(amendments)),
        PositionSide(position_side),
    )  # fmt: skip


def _fill(row: tuple[object, ...]) -> Fill:
    (symbol, trade_id, account_id, order_id, side, price, qty, base, pnl, commission, asset, maker, time_ms,
     position_side) = row  # fmt: skip
    return Fill(
        int(str(account_id)), str(symbol), int(str(trade_id)), int(str(order_id)), Side(side),
        int(str(price)),
        int(str(qty)), int(str(base)), int(str(pnl)), int(str(commission)), str(asset), bool(maker),
        int(str(time_ms)), PositionSide(position_side),
    )  # fmt: skip


class SqliteJournal:
    """The engines' journal in the accounts database at ``path`` (opened at the first
    commit or load that finds the file)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        self.commits = 0

    def _open(self) -> sqlite3.Connection | None:
        if self._db is None and self.path.exists():
            db = sqlite3.connect(f"file:{self.path}?mode=rw", uri=True, isolation_level=None)
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")  # WAL: a commit survives kill -9
            db.execute("PRAGMA busy_timeout = 5000")  # beside `tickerplant accounts` writing
            db.execute("PRAGMA wal_autocheckpoint = 0")  # off the loop: `checkpoint`
            _fills_by_order(db)
            _added_columns(db)
            _positions_by_side(db)
            db.executescript(_SCHEMA)
            self._db = db
        return self._db

    def commit(self, batch: Batch) -> None:
        db = self._open()
        if db is None:  # no database, so no account: no batch can exist
            raise RuntimeError(f"no venue database at {self.path}")
        with db:
            db.execute("BEGIN IMMEDIATE")
            if batch.orders:
                db.executemany(
                    f"INSERT OR REPLACE INTO venue_orders ({_ORDER_COLUMNS}) VALUES ({', '.join('?' * 22)})",
                    [_order_row(o) for o in batch.orders],
                )
            if batch.fills:
                db.executemany(
                    f"INSERT INTO venue_fills ({_FILL_COLUMNS}, position_side) VALUES ({', '.join('?' * 14)})",  # noqa: E501
                    [(f.symbol, f.trade_id, f.account_id, f.order_id, f.side.value, f.price, f.qty, f.base,
                      f.realized_pnl, f.commission, f.commission_asset, f.maker, f.time_ms,
                      f.position_side.value)
                     for f in batch.fills],
                )  # fmt: skip
            if batch.positions:
                db.executemany(
                    "INSERT OR REPLACE INTO venue_positions VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(a, s, p.side.value, p.amt, f"{p.entry.numerator}/{p.entry.denominator}", p.update_ms,
                      p.isolated_wallet)
                     for a, s, p in batch.positions],
                )  # fmt: skip
            if batch.changes:
                db.executemany("INSERT INTO venue_wallet_changes VALUES (?, ?, ?, ?)", batch.changes)
            if batch.incomes:
                db.executemany(
                    "INSERT INTO venue_income VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(i.account_id, i.symbol, i.kind, i.asset, i.amount, i.time_ms, i.tran_id)
                     for i in batch.incomes],
                )  # fmt: skip
            if batch.amendments:
                db.executemany(
                    "INSERT INTO venue_amendments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(a.symbol, a.amendment_id, a.account_id, a.order_id, a.client_order_id, a.time_ms,
                      a.price_before, a.price_after, a.qty_before, a.qty_after, a.count, a.modify_id)
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
            for m in batch.modes:
                db.execute(
                    "INSERT INTO venue_account_modes VALUES (?, coalesce(?, 0), coalesce(?, 0)) "
                    "ON CONFLICT DO UPDATE SET hedge = coalesce(?, hedge), "
                    "multi_assets = coalesce(?, multi_assets)",
                    (m.account_id, m.hedge, m.multi_assets, m.hedge, m.multi_assets),
                )
        self.commits += 1

    def checkpoint(self) -> None:
        """Copy the WAL's committed transactions into the database (``PASSIVE``: commits go
        on meanwhile), on a connection of its own, so that a thread may run it."""
        if not self.path.exists():
            return
        db = sqlite3.connect(f"file:{self.path}?mode=rw", uri=True, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout = 5000")
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            db.close()

    def load(self, engine: Engine) -> None:
        """Everything journaled about ``engine``'s symbols, back into it."""
        db = self._open()
        if db is None:
            return
        symbols = engine.instruments
        for account_id, hedge, multi_assets in db.execute("SELECT * FROM venue_account_modes"):
            engine.modes.set(account_id, bool(hedge))  # first: the ledgers below are made in it
            if multi_assets and engine.market is Market.UM:
                engine.ledger(account_id).multi_assets = True
                engine.exposure.pooled.add(account_id)
        for row in db.execute(f"SELECT {_ORDER_COLUMNS} FROM venue_orders ORDER BY symbol, order_id"):
            if row[0] in symbols:
                engine.restore(_order(row))
        for row in db.execute(
            f"SELECT {_FILL_COLUMNS}, position_side FROM venue_fills ORDER BY symbol, trade_id"
        ):
            if row[0] in symbols:
                engine.restore_fill(_fill(row))
        for account_id, symbol, side, amt, entry, update_ms, isolated_wallet in db.execute(
            "SELECT account_id, symbol, position_side, amt, entry, update_ms, isolated_wallet "
            "FROM venue_positions"
        ):
            if symbol in symbols:
                position = Position(amt, Fraction(entry), update_ms, isolated_wallet, PositionSide(side))
                engine.ledger(account_id).positions[(symbol, position.side)] = position
                engine.exposure.hold(account_id, symbol)
        assets = {inst.margin_asset for inst in symbols.values()}
        rows = db.execute("SELECT account_id, asset, SUM(delta) FROM venue_wallet_changes GROUP BY 1, 2")
        for account_id, asset, total in rows:
            if asset in assets:
                engine.ledger(account_id).changes[asset] = int(total)
        for account_id, symbol, leverage, isolated in db.execute("SELECT * FROM venue_settings"):
            if symbol in symbols:
                ledger = engine.ledger(account_id)
                if leverage is not None:
                    ledger.leverage[symbol] = int(leverage)
                if isolated:
                    ledger.isolated.add(symbol)
        for row in db.execute("SELECT * FROM venue_income ORDER BY time_ms, tran_id"):
            income = Income(*row)
            if income.symbol in symbols:
                engine.ledger(income.account_id).income.append(income)
                if income.kind == "FUNDING_FEE":
                    funded = engine.exposure.funded_ms
                    funded[income.symbol] = max(funded.get(income.symbol, 0), income.time_ms)

        for row in db.execute("SELECT * FROM venue_amendments ORDER BY symbol, amendment_id"):
            symbol, amendment_id, account_id, *rest = row
            if symbol in symbols:
                amendment = Amendment(account_id, symbol, amendment_id, *rest)
                engine.kept(account_id, symbol).amendments.append(amendment)
                engine.next_amendment_id[symbol] = max(engine.next_amendment_id[symbol], amendment_id + 1)
        for account_id, symbol, kind, amount, asset, time_ms, delta_type, side in db.execute(
            "SELECT * FROM venue_margin_moves ORDER BY time_ms"
        ):
            move = MarginMove(
                account_id, symbol, kind, amount, asset, time_ms, delta_type, PositionSide(side)
            )
            if move.symbol in symbols:
                engine.ledger(move.account_id).margin_moves.append(move)

    def load_algos(self, service: Restorable) -> None:
        """The algo orders journaled on ``service``'s symbols, back into it."""
        db = self._open()
        if db is None:
            return
        for symbol, _, state in db.execute("SELECT * FROM venue_algo_orders ORDER BY symbol, algo_id"):
            if symbol in service.book.instruments:
                service.restore(msgspec.json.decode(state, type=AlgoOrder))

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
