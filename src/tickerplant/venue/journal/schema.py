"""The journal's tables (``sqlite_journal.py`` says what each holds), made when missing, and a
journal of an earlier release brought up to date, each step all or nothing (a kill -9
halfway leaves the journal as it was)."""

from __future__ import annotations

import sqlite3

__all__ = ["FILL_COLUMNS", "prepare"]

FILL_COLUMNS = (
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
    maker_amt INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, symbol, position_side)
) WITHOUT ROWID;"""
# The history reads' indexes (``reads.py``): each read walks one of them from where
# its bounds start and stops at its limit, whatever the account's history holds.
_READS = """
CREATE INDEX IF NOT EXISTS venue_orders_by_id ON venue_orders (account_id, symbol, order_id);
CREATE INDEX IF NOT EXISTS venue_orders_by_time ON venue_orders (account_id, symbol, time_ms);
CREATE INDEX IF NOT EXISTS venue_orders_by_client_id ON venue_orders (account_id, symbol, client_order_id);
CREATE INDEX IF NOT EXISTS venue_fills_by_id ON venue_fills (account_id, symbol, trade_id);
CREATE INDEX IF NOT EXISTS venue_fills_by_time ON venue_fills (account_id, symbol, time_ms);
CREATE INDEX IF NOT EXISTS venue_fills_by_order ON venue_fills (account_id, symbol, order_id);
CREATE INDEX IF NOT EXISTS venue_fills_by_account_time ON venue_fills (account_id, time_ms);
CREATE INDEX IF NOT EXISTS venue_income_by_time ON venue_income (account_id, time_ms);
CREATE INDEX IF NOT EXISTS venue_amendments_by_order ON venue_amendments (account_id, symbol, order_id);
CREATE INDEX IF NOT EXISTS venue_margin_moves_by_time ON venue_margin_moves (account_id, symbol, time_ms);
"""
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS venue_orders (
    symbol TEXT NOT NULL, order_id INTEGER NOT NULL, account_id INTEGER NOT NULL,
    client_order_id TEXT NOT NULL, side TEXT NOT NULL, type TEXT NOT NULL, time_in_force TEXT NOT NULL,
    price INTEGER NOT NULL, orig_qty INTEGER NOT NULL, reduce_only INTEGER NOT NULL,
    good_till_ms INTEGER NOT NULL, time_ms INTEGER NOT NULL, update_ms INTEGER NOT NULL,
    status TEXT NOT NULL, executed_qty INTEGER NOT NULL, cum_quote INTEGER NOT NULL,
    cum_base INTEGER NOT NULL, queue_ahead INTEGER NOT NULL, price_match TEXT NOT NULL,
    stp_mode TEXT NOT NULL, amendments INTEGER NOT NULL DEFAULT 0,
    position_side TEXT NOT NULL DEFAULT 'BOTH', arrival_mid_x2 INTEGER NOT NULL DEFAULT 0,
    cum_base_fine TEXT NOT NULL DEFAULT '0', legacy_trigger TEXT NOT NULL DEFAULT '',
    rested INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (symbol, order_id)
) WITHOUT ROWID;
{_FILLS}
{_POSITIONS}
CREATE TABLE IF NOT EXISTS venue_account_modes (
    account_id INTEGER NOT NULL PRIMARY KEY, hedge INTEGER NOT NULL DEFAULT 0,
    multi_assets INTEGER NOT NULL DEFAULT 0, fee_burn INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS venue_wallet_changes (
    account_id INTEGER NOT NULL, asset TEXT NOT NULL, delta INTEGER NOT NULL, time_ms INTEGER NOT NULL,
    market TEXT
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
CREATE TABLE IF NOT EXISTS venue_order_counts (
    market TEXT NOT NULL, account_id INTEGER NOT NULL, window_ms INTEGER NOT NULL,
    start_ms INTEGER NOT NULL, count INTEGER NOT NULL, saved_ms INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (market, account_id, window_ms)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS venue_listen_keys (
    market TEXT NOT NULL, account_id INTEGER NOT NULL, listen_key TEXT NOT NULL, until_ms INTEGER NOT NULL,
    PRIMARY KEY (market, account_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS venue_countdowns (
    market TEXT NOT NULL, account_id INTEGER NOT NULL, symbol TEXT NOT NULL, deadline_ms INTEGER NOT NULL,
    set_ms INTEGER NOT NULL, PRIMARY KEY (market, account_id, symbol)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS venue_funded (
    symbol TEXT NOT NULL PRIMARY KEY, funding_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS venue_income (
    account_id INTEGER NOT NULL, symbol TEXT NOT NULL, kind TEXT NOT NULL, asset TEXT NOT NULL,
    amount INTEGER NOT NULL, time_ms INTEGER NOT NULL, tran_id INTEGER NOT NULL, market TEXT
);
{_READS}"""


def _fills_by_order(db: sqlite3.Connection) -> None:
    """A journal from before the one book keyed a fill by its trade alone; two venue orders
    now share a trade (a maker's and a taker's, part 4 decision 9): key it by its order too."""
    row = db.execute("SELECT sql FROM sqlite_master WHERE name = 'venue_fills'").fetchone()
    if row is None or "PRIMARY KEY (symbol, trade_id)" not in str(row[0]):
        return
    db.execute("BEGIN IMMEDIATE")  # all or nothing: a kill -9 halfway leaves the old table
    db.execute("ALTER TABLE venue_fills RENAME TO venue_fills_by_trade")
    db.execute(_FILLS)
    db.execute(f"INSERT INTO venue_fills ({FILL_COLUMNS}) SELECT {FILL_COLUMNS} FROM venue_fills_by_trade")
    db.execute("DROP TABLE venue_fills_by_trade")
    db.execute("COMMIT")


_ADDED = (
    ("venue_positions", "isolated_wallet", "INTEGER NOT NULL DEFAULT 0"),
    ("venue_orders", "amendments", "INTEGER NOT NULL DEFAULT 0"),
    ("venue_orders", "position_side", "TEXT NOT NULL DEFAULT 'BOTH'"),
    ("venue_fills", "position_side", "TEXT NOT NULL DEFAULT 'BOTH'"),
    # the mid an order arrived at (``Order.arrival_mid_x2``): 0, unknown, for the orders before
    ("venue_orders", "arrival_mid_x2", "INTEGER NOT NULL DEFAULT 0"),
    # COIN-M's fine Σ base (``Order.cum_base_fine``), as text: it outgrows SQLite's 64-bit INTEGER
    ("venue_orders", "cum_base_fine", "TEXT NOT NULL DEFAULT '0'"),
    # a legacy conditional order's ``Trigger`` as JSON (``rows.py``): '' for every order before
    ("venue_orders", "legacy_trigger", "TEXT NOT NULL DEFAULT ''"),
    # an order's place among the venue's at its price (``Order.rested``): 0, by id, before
    ("venue_orders", "rested", "INTEGER NOT NULL DEFAULT 0"),
    ("venue_account_modes", "fee_burn", "INTEGER NOT NULL DEFAULT 0"),  # the BNB fee discount: off
    ("venue_margin_moves", "position_side", "TEXT NOT NULL DEFAULT 'BOTH'"),
    # whose wallet: BTC is a COIN-M wallet and, in Multi-Assets mode, a USDⓈ-M collateral too;
    # NULL in an older journal, whose rows tell their market by their asset
    ("venue_wallet_changes", "market", "TEXT"),
    ("venue_income", "market", "TEXT"),
    # what maker fills opened of a position (``Position.maker_amt``): 0, a taker's, before
    ("venue_positions", "maker_amt", "INTEGER NOT NULL DEFAULT 0"),
    # when a window's count was read to be saved (``counts.py``): 0, unknown, before
    ("venue_order_counts", "saved_ms", "INTEGER NOT NULL DEFAULT 0"),
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
        "INSERT INTO venue_positions (account_id, symbol, position_side, amt, entry, update_ms, "
        "isolated_wallet) SELECT account_id, symbol, 'BOTH', amt, entry, update_ms, isolated_wallet "
        "FROM venue_positions_one_way"
    )
    db.execute("DROP TABLE venue_positions_one_way")
    db.execute("COMMIT")


def prepare(db: sqlite3.Connection) -> None:
    """The tables, made or brought up to date."""
    _fills_by_order(db)
    _added_columns(db)
    _positions_by_side(db)
    db.executescript(_SCHEMA)
