"""The accounts database: accounts, their balances and their API keys in SQLite.

One file (``ServerConfig.venue_db``, ``tickerplant.db`` in the working directory unless
set), in WAL mode so the server reads while ``tickerplant accounts`` writes. The file is
private to its owner (mode 0600: it holds HMAC secrets, which a server must keep in the
clear to verify signatures, spec part 1 §4.2): created so, tightened so when found looser,
and SQLite gives its ``-wal`` and ``-shm`` files the database's mode.

Schema (``_SCHEMA``; ``PRAGMA user_version`` 1):

- ``accounts``: ``account_id``, ``name``, ``alias`` (accountAlias), ``disabled``, ``created_ms``;
- ``balances``: one row per account, wallet (``um``/``cm``) and asset; ``amount`` in units
  of 1e-8, never negative; ``update_ms``;
- ``api_keys``: ``api_key`` (the X-MBX-APIKEY), ``account_id``, ``key_type``, ``material``
  (the HMAC secret, or the Ed25519/RSA public key in PEM), ``reading``, ``trading``,
  ``networks`` (comma-separated; empty for any address), ``disabled``, ``created_ms``;
- ``operator_changes``: one row, ``n``, raised by triggers on every change to the three
  tables above: the server's ``Keyring`` reloads when it moves, not when the venue's
  journal (``sqlite_journal.py``, the same file) commits an order.

Deleting an account deletes its balances and keys (foreign keys, ``ON DELETE CASCADE``).
Nothing grows but by the operator's hand: accounts, keys and deposits are commands.

``AccountStore`` is the operator's read-write handle; ``Keyring`` the server's read-only
view, held in memory and reloaded when another connection has committed
(``PRAGMA data_version``, looked at once per loop turn while serving), so keys made while
the server runs work at once. No secret is ever written to a log: records keep their
material out of their ``repr``.
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
from tickerplant.venue.domain.money import format_amount

__all__ = ["ID_MAX", "SCHEMA_VERSION", "SETTLE_S", "AccountStore", "Keyring", "StoreError"]

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
_KEY_COLUMNS = "api_key, account_id, key_type, material, reading, trading, networks, disabled, created_ms"
_ACCOUNT_COLUMNS = "account_id, name, alias, disabled, created_ms"
_BALANCE_COLUMNS = "account_id, wallet, asset, amount, update_ms"


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


def _operator_changes(db: sqlite3.Connection) -> int | None:
    """``operator_changes.n``; None in a file made before the table (read everything)."""
    try:
        row = db.execute("SELECT n FROM operator_changes WHERE id = 1").fetchone()
    except sqlite3.OperationalError:
        return None
    return None if row is None else int(row[0])


def _key(row: tuple[object, ...]) -> ApiKey:
    api_key, account_id, key_type, material, reading, trading, networks, disabled, created_ms = row
    return ApiKey(
        str(api_key), int(str(account_id)), KeyType(key_type), str(material), bool(reading), bool(trading),
        tuple(filter(None, str(networks).split(","))), bool(disabled), int(str(created_ms)),
    )  # fmt: skip


def _account(row: tuple[object, ...]) -> Account:
    account_id, name, alias, disabled, created_ms = row
    return Account(int(str(account_id)), str(name), str(alias), bool(disabled), int(str(created_ms)))


def _balance(row: tuple[object, ...]) -> Balance:
    account_id, wallet, asset, amount, update_ms = row
    return Balance(int(str(account_id)), Market(wallet), str(asset), int(str(amount)), int(str(update_ms)))


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
            self._db = _connect(self.path)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the database {self.path}: {exc}") from None
        try:
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
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
            f"INSERT INTO api_keys ({_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key.api_key, account_id, key_type.value, material, reading, trading, ",".join(networks), False,
             now_ms),
        )
        return key

    def accounts(self) -> list[Account]:
        rows = self._db.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts ORDER BY account_id")
        return [_account(row) for row in rows]

    def account(self, account_id: int) -> Account:
        if not 0 < account_id <= ID_MAX:  # (past SQLite's INTEGER, a query would overflow)
            raise StoreError(f"no account {account_id}")
        row = self._db.execute(
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE account_id = ?", (account_id,)
        ).fetchone()
        if row is None:
            raise StoreError(f"no account {account_id}")
        return _account(row)

    def balances(self, account_id: int) -> list[Balance]:
        rows = self._db.execute(
            f"SELECT {_BALANCE_COLUMNS} FROM balances WHERE account_id = ? ORDER BY wallet, asset",
            (account_id,),
        )
        return [_balance(row) for row in rows]

    def keys(self, account_id: int) -> list[ApiKey]:
        rows = self._db.execute(
            f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE account_id = ? ORDER BY created_ms, api_key",
            (account_id,),
        )
        return [_key(row) for row in rows]

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
_MOVED_KEPT = 4096  # balance moves kept until the engines take them (they do within a second)


class Keyring:
    """The server's view of the database: keys, accounts and balances in memory, read
    again whenever another connection has committed since (``PRAGMA data_version``). A
    database not yet made knows no key: every key is -2015 until the operator creates an
    account, and the server never creates the file itself.

    Only ``key`` (the first look of every signed request) and ``refresh`` (each delivery of
    the market's messages) look for changes: ``account`` and ``balances``, asked many times
    within one command, answer from the view as it stood then, so a command sees one
    snapshot of the operator's tables.

    Without a loop each look queries (one ``PRAGMA`` when nothing changed). Served
    (``once_per_turn``), the first look of a loop turn queries and the others of the turn
    answer from it: the operator's change committed before a turn began is seen by every
    request the turn answers, so a key revoked is refused from the next request sent after
    the revoke, not a request later; a change committed while a turn runs is seen from the
    next."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        self._version = -1
        self._changes: int | None = None  # operator_changes.n at the last load
        self.loads = 0  # times the tables were read
        self._keys: dict[str, ApiKey] = {}
        self._accounts: dict[int, Account] = {}
        self._balances: dict[int, list[Balance]] = {}
        # balances the operator moved since the last look: (wallet, account, asset, change)
        self._moved: list[tuple[Market, int, str, int]] = []
        self._schedule: Callable[[Callable[[], None]], object] | None = None  # once_per_turn's
        self._looked = False  # looked in this loop turn (once_per_turn)
        self._writer: Callable[[], int | None] | None = None  # beside_writer's
        self._writer_seen: int | None = None  # its version at the last look that read ours

    def once_per_turn(self, schedule: Callable[[Callable[[], None]], object]) -> None:
        """Look for changes at most once per loop turn from now on: ``schedule`` is the
        loop's ``call_soon``, which forgets the look at the next turn's start."""
        self._schedule = schedule

    def beside_writer(self, version: Callable[[], int | None]) -> None:
        """Look at this connection only when ``version`` moved: ``PRAGMA data_version`` on the
        connection this process commits its journal with (``SqliteJournal.data_version``;
        None while it is not open), which moves at another connection's commit, an
        operator's, and never at its own. This connection's moves at the journal's commits
        too, and the first statement after one re-reads the pages: its ``PRAGMA`` and the
        look at ``operator_changes`` cost ~17 µs, once a turn after each commit, where the
        journal's ``PRAGMA`` costs ~3 (an order a turn at a steady rate: each turn)."""
        self._writer = version

    def key(self, api_key: str) -> ApiKey | None:
        if not self._looked:
            self._look()
        return self._keys.get(api_key)

    def account(self, account_id: int) -> Account | None:
        return self._accounts.get(account_id)

    def balances(self, account_id: int) -> list[Balance]:
        return self._balances.get(account_id, [])

    def every_balance(self) -> list[Balance]:
        """Every account's balances, as the view stands."""
        return [balance for balances in self._balances.values() for balance in balances]

    def refresh(self) -> None:
        """Read again what another connection changed (as any lookup does)."""
        if not self._looked:
            self._look()

    def moved(self, wallet: Market) -> list[tuple[int, str, int]]:
        """The balances of ``wallet`` the operator changed since this was last asked, as
        (account, asset, change in 1e-8), each once (``venue/clearing/transfers.py``)."""
        if not self._moved:  # asked at every delivery of the market's messages: most find none
            return []
        mine = [(a, asset, change) for w, a, asset, change in self._moved if w is wallet]
        self._moved = [m for m in self._moved if m[0] is not wallet]
        return mine

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _look(self) -> None:
        self._refresh()
        if self._schedule is not None:
            self._looked = True
            self._schedule(self._next_turn)

    def _next_turn(self) -> None:
        self._looked = False

    def _refresh(self) -> None:
        seen = self._writer() if self._writer is not None else None
        if seen is not None and seen == self._writer_seen:
            return  # no commit but the journal's since the last look that read ours
        db = self._db
        if db is None:
            if not self.path.exists():
                return
            db = self._db = sqlite3.connect(f"file:{self.path}?mode=rw", uri=True, isolation_level=None)
            db.execute("PRAGMA busy_timeout = 5000")
        version = int(db.execute("PRAGMA data_version").fetchone()[0])
        if version == self._version:
            self._writer_seen = seen
            return
        changes = _operator_changes(db)
        if changes is not None and changes == self._changes:
            self._version = version  # another writer's commit (the journal's): nothing of ours moved
            self._writer_seen = seen
            return
        try:
            with db:
                db.execute("BEGIN")  # one snapshot of the three tables
                changes = _operator_changes(db)
                keys = [_key(row) for row in db.execute(f"SELECT {_KEY_COLUMNS} FROM api_keys")]
                accounts = [_account(row) for row in db.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts")]
                rows = db.execute(f"SELECT {_BALANCE_COLUMNS} FROM balances ORDER BY 1, 2, 3")
                balances = [_balance(row) for row in rows]
        except sqlite3.OperationalError:  # no tables yet: the file is being made
            return
        self._version = version
        self._changes = changes
        self._writer_seen = seen
        self.loads += 1
        self._keys = {key.api_key: key for key in keys}
        self._accounts = {account.account_id: account for account in accounts}
        before = {(b.wallet, b.account_id, b.asset): b.amount for bs in self._balances.values() for b in bs}
        self._balances = {}
        for balance in balances:
            self._balances.setdefault(balance.account_id, []).append(balance)
        if self.loads > 1:  # what moved since the last load (the first is where it stood)
            after = {(b.wallet, b.account_id, b.asset): b.amount for b in balances}
            for key in sorted(before.keys() | after.keys(), key=lambda k: (k[0].value, k[1], k[2])):
                change = after.get(key, 0) - before.get(key, 0)
                if change and len(self._moved) < _MOVED_KEPT:
                    self._moved.append((*key, change))
