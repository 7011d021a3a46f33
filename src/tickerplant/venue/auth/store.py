"""The accounts database: accounts, their balances and their API keys in SQLite.

One file (``ServerConfig.venue_db``, ``tickerplant.db`` in the working directory unless
set), in WAL mode so the server reads while ``tickerplant accounts`` writes; private to its
owner (mode 0600: it holds HMAC secrets, which a server must keep in the clear to verify
signatures, spec part 1 §4.2): created so, tightened so when found looser (SQLite gives its
``-wal`` and ``-shm`` files its mode). A file of another program's (tables, none of them
``accounts``) is refused untouched; one up to date is only read until a command writes.

Schema (``_SCHEMA``; ``PRAGMA user_version`` 1):

- ``accounts``: ``account_id``, ``name``, ``alias`` (accountAlias), ``disabled``, ``created_ms``;
- ``balances``: one row per account, wallet (``um``/``cm``) and asset; ``amount`` in 1e-8, never
  negative; ``update_ms``;
- ``api_keys``: ``api_key`` (the X-MBX-APIKEY), ``account_id``, ``key_type``, ``material`` (the
  HMAC secret, or the Ed25519/RSA public key in PEM), ``reading``, ``trading``, ``networks``
  (comma-separated; empty for any address), ``disabled``, ``created_ms``;
- ``operator_changes``: one row, ``n``, raised by triggers on every change to the three tables
  above: the server's ``Keyring`` reloads when it moves, not when the venue's journal
  (``sqlite_journal.py``, the same file) commits an order.

Deleting an account deletes its balances and keys (``ON DELETE CASCADE``). Nothing grows but
by the operator's hand: accounts, keys and deposits are commands.

``AccountStore`` is the operator's read-write handle; ``keyring.Keyring`` the server's read-only view,
in memory, reloaded when another connection has committed (``PRAGMA data_version``, looked at
once per loop turn while serving), so keys made while the server runs work at once. No secret
is ever written to a log: records keep their material out of their ``repr``.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Callable, Sequence
from pathlib import Path

from tickerplant.market.instruments import Market
from tickerplant.venue.auth.accounts import Account, ApiKey, Balance, KeyType, new_alias, new_api_key
from tickerplant.venue.auth.holdings import holdings, traded_in
from tickerplant.venue.auth.rows import (
    ACCOUNT_COLUMNS,
    BALANCE_COLUMNS,
    KEY_COLUMNS,
    account_row,
    balance_row,
    key_row,
)  # fmt: skip
from tickerplant.venue.domain.money import format_amount

__all__ = ["ID_MAX", "SCHEMA_VERSION", "SETTLE_S", "AccountStore", "StoreError"]

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    account_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS balances (
    account_id INTEGER NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    wallet TEXT NOT NULL CHECK (wallet IN ('um', 'cm')),
    asset TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount >= 0),
    update_ms INTEGER NOT NULL,
    PRIMARY KEY (account_id, wallet, asset)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS api_keys (
    api_key TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    key_type TEXT NOT NULL,
    material TEXT NOT NULL,
    reading INTEGER NOT NULL,
    trading INTEGER NOT NULL,
    networks TEXT NOT NULL DEFAULT '',
    disabled INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS api_keys_by_account ON api_keys (account_id);
CREATE TABLE IF NOT EXISTS operator_changes (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
INSERT OR IGNORE INTO operator_changes (id, n) VALUES (1, 0);
""" + "".join(
    f"CREATE TRIGGER IF NOT EXISTS {table}_{verb.lower()} AFTER {verb} ON {table} "
    "BEGIN UPDATE operator_changes SET n = n + 1; END;\n"
    for table in ("accounts", "balances", "api_keys")
    for verb in ("INSERT", "UPDATE", "DELETE")
)
# The most a wallet holds, in 1e-8 units: ten billion of its asset. SQLite keeps a signed
# 64-bit integer (9.2e18, ID_MAX: no id past it); this leaves the engine's sums room under it.
MOST_UNITS, ID_MAX = 10**10 * 10**8, 2**63 - 1


class StoreError(ValueError):
    """An operator's command the database refuses (no such account, a balance below zero)."""


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)  # autocommit; transactions by hand
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA foreign_keys = ON")
    connection.execute("PRAGMA busy_timeout = 5000")  # the server reading while a command writes
    return connection


def _tables(path: Path) -> set[str]:
    """The tables of the database at ``path``, read without changing it."""
    probe = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {str(row[0]) for row in probe.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        probe.close()


class AccountStore:
    """The operator's handle on the database (``tickerplant accounts``)."""

    def __init__(self, path: Path | str) -> None:
        """``StoreError`` for a path that is no database: a directory, a file of something
        else, one that cannot be made or written; nothing of it is changed then."""
        self.path = Path(path)
        try:
            if self.path.is_dir():
                raise StoreError(f"{self.path} is a directory, not a database file")
            if not self.path.exists():
                os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            elif (tables := _tables(self.path)) and "accounts" not in tables:  # another program's: untouched
                held = ", ".join(sorted(tables)[:5])
                raise StoreError(f"{self.path} is not a tickerplant database: it holds other tables ({held})")
            self._db = _connect(self.path)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the database {self.path}: {exc}") from None
        try:
            if self._db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:  # else read alone
                # one transaction: all of it or none (a failure rolls back as the connection
                # closes), and one commit to sync, not one a statement (~8 of a new file's ~40 ms)
                made = f"PRAGMA user_version = {SCHEMA_VERSION};"
                self._db.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}{made}COMMIT;")
        except sqlite3.Error as exc:  # "file is not a database", "attempt to write a readonly database"
            self._db.close()
            raise StoreError(f"cannot open the database {self.path}: {exc}") from None
        if stat.S_IMODE(self.path.stat().st_mode) & 0o077:
            self.path.chmod(0o600)  # it holds secrets: the owner's alone (once it is known to be ours)

    def close(self) -> None:
        self._db.close()

    def create_account(self, name: str, balances: list[tuple[Market, str, int]], now_ms: int) -> Account:
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            cursor = self._db.execute(
                "INSERT INTO accounts (name, alias, created_ms) VALUES (?, ?, ?)", (name, new_alias(), now_ms)
            )
            account_id = int(cursor.lastrowid or 0)
            for wallet, asset, units in balances:
                self._change(account_id, wallet, asset, units, now_ms)
        return self.account(account_id)

    def add_key(
        self, account_id: int, key_type: KeyType, material: str, *, reading: bool = True,
        trading: bool = True, networks: tuple[str, ...] = (), now_ms: int,
    ) -> ApiKey:  # fmt: skip
        self.account(account_id)
        key = ApiKey(new_api_key(), account_id, key_type, material, reading, trading, networks, False, now_ms)
        self._db.execute(
            f"INSERT INTO api_keys ({KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key.api_key, account_id, key_type.value, material, reading, trading, ",".join(networks), False,
             now_ms),
        )
        return key

    def accounts(self) -> list[Account]:
        rows = self._db.execute(f"SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY account_id")
        return [account_row(row) for row in rows]

    def account(self, account_id: int) -> Account:
        if not 0 < account_id <= ID_MAX:  # (past SQLite's INTEGER, a query would overflow)
            raise StoreError(f"no account {account_id}")
        row = self._db.execute(
            f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE account_id = ?", (account_id,)
        ).fetchone()
        if row is None:
            raise StoreError(f"no account {account_id}")
        return account_row(row)

    def balances(self, account_id: int) -> list[Balance]:
        rows = self._db.execute(
            f"SELECT {BALANCE_COLUMNS} FROM balances WHERE account_id = ? ORDER BY wallet, asset",
            (account_id,),
        )
        return [balance_row(row) for row in rows]

    def keys(self, account_id: int) -> list[ApiKey]:
        rows = self._db.execute(
            f"SELECT {KEY_COLUMNS} FROM api_keys WHERE account_id = ? ORDER BY created_ms, api_key",
            (account_id,),
        )
        return [key_row(row) for row in rows]

    def deposit(self, account_id: int, wallet: Market, asset: str, units: int, now_ms: int) -> Balance:
        """Add ``units`` (negative: withdraw) to a wallet's asset; StoreError below zero."""
        return self.transfer(account_id, [(wallet, asset, units)], now_ms)[0]

    def transfer(
        self, account_id: int, changes: Sequence[tuple[Market, str, int]], now_ms: int
    ) -> list[Balance]:
        """Add each ``(wallet, asset, units)`` (negative units: withdraw) in one transaction:
        all or none (StoreError for one that would fall below zero or pass the most), one
        write lock however many (the server's journal waits on it: ``accounts.MOST_CHANGES``)."""
        self.account(account_id)
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            return [self._change(account_id, *change, now_ms) for change in changes]

    def set_disabled(self, account_id: int, disabled: bool) -> None:
        self.account(account_id)
        self._db.execute("UPDATE accounts SET disabled = ? WHERE account_id = ?", (disabled, account_id))

    def delete(self, account_id: int, settle: Callable[[], object] | None = None) -> None:
        """Delete an account with its balances and keys; StoreError while the journal holds an
        open order, an untriggered or triggering algo order or a position of it (they would
        rest, be funded and liquidated for an account nobody sees), read in the delete's own
        transaction. ``settle`` (a server journals the database, reading the operator's changes
        once a turn: ``Keyring.once_per_turn``): the account disabled first, what the server
        authorized before is journaled while ``settle`` waits (``SETTLE_S``), then the holdings
        read; refused, the account is left as it was."""
        disabling = not self.account(account_id).disabled and settle is not None
        if disabling:  # else an order authorized before the delete, journaled after, rested unseen
            self.set_disabled(account_id, True)
        try:
            if settle is not None:
                settle()
            self._delete(account_id)
        except BaseException:  # refused, failed or interrupted (another's disable meanwhile undone)
            if disabling:
                self.set_disabled(account_id, False)
            raise

    def _delete(self, account_id: int) -> None:
        for attempt in range(_DELETE_TRIES):
            last = attempt == _DELETE_TRIES - 1
            try:
                with self._db:
                    # read without the write lock (a server's commits would wait while a long
                    # history is read); the delete takes it, refused at once if the server holds
                    # it (SQLITE_BUSY: no busy handler inside a read) or committed since the read
                    # (SQLITE_BUSY_SNAPSHOT): read again. The last try locks from the start.
                    self._db.execute("BEGIN IMMEDIATE" if last else "BEGIN DEFERRED")
                    if held := holdings(self._db, account_id):
                        raise StoreError(
                            f"account {account_id} still holds {', '.join(held)}: cancel its orders and "
                            "close its positions first (`accounts disable` stops it trading meanwhile)"
                        )
                    self._db.execute("DELETE FROM accounts WHERE account_id = ?", (account_id,))
                return
            except sqlite3.OperationalError as exc:
                if last or exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                    raise
                if exc.sqlite_errorcode == sqlite3.SQLITE_BUSY:  # the server's transaction: wait for
                    self._db.execute("BEGIN IMMEDIATE")  # its commit as a writer waits (busy_timeout),
                    self._db.execute("ROLLBACK")  # and let go at once

    def revoke(self, api_key: str) -> None:
        """Remove a key: from now on it is unknown (-2015)."""
        if self._db.execute("DELETE FROM api_keys WHERE api_key = ?", (api_key,)).rowcount == 0:
            raise StoreError("no such API key")

    def _change(self, account_id: int, wallet: Market, asset: str, units: int, now_ms: int) -> Balance:
        row = self._db.execute(
            "SELECT amount FROM balances WHERE account_id = ? AND wallet = ? AND asset = ?",
            (account_id, wallet.value, asset),
        ).fetchone()
        amount = (row[0] if row else 0) + units
        if amount < 0:
            raise StoreError(f"{asset} in the {wallet.name} wallet would fall below zero")
        if units < 0:  # a withdrawal: the wallet is this row and what trading changed
            traded = traded_in(self._db, account_id, wallet.value, asset)
            if amount + traded < 0:
                held = format_amount(amount - units + traded)
                where = f"{asset} in the {wallet.name} wallet"
                raise StoreError(f"{where} would fall below zero (it holds {held})")
        if amount > MOST_UNITS:
            most = f"{MOST_UNITS // 10**8:,}"
            raise StoreError(f"{asset} in the {wallet.name} wallet would pass {most}, the most it holds")
        self._db.execute(
            "INSERT INTO balances (account_id, wallet, asset, amount, update_ms) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT DO UPDATE SET amount = excluded.amount, update_ms = excluded.update_ms",
            (account_id, wallet.value, asset, amount, now_ms),
        )
        return Balance(account_id, wallet, asset, amount, now_ms)


_DELETE_TRIES = 5  # reads of an account's holdings the server's commits may outdate, the last locked
SETTLE_S = 1.0  # ``delete``'s settle: far longer than a turn from authorization to commit
