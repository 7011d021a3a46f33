"""The server's view of the accounts database (``store.py`` holds its schema and the operator's
handle): keys, accounts and balances in memory, reloaded when another connection committed."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from tickerplant.market.instruments import Market
from tickerplant.venue.auth import rows as stored
from tickerplant.venue.auth.accounts import Account, ApiKey, Balance

__all__ = ["Keyring"]

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
        # each account's, a tuple: never changed once handed out (``EngineState.deposited`` sums
        # one once), a new one at each load
        self._balances: dict[int, tuple[Balance, ...]] = {}
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

    def balances(self, account_id: int) -> tuple[Balance, ...]:
        return self._balances.get(account_id, ())

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
        changes = stored.operator_changes(db)
        if changes is not None and changes == self._changes:
            self._version = version  # another writer's commit (the journal's): nothing of ours moved
            self._writer_seen = seen
            return
        try:
            with db:
                db.execute("BEGIN")  # one snapshot of the three tables
                changes = stored.operator_changes(db)
                rows = db.execute(f"SELECT {stored.KEY_COLUMNS} FROM api_keys")
                keys = [stored.key_row(row) for row in rows]
                rows = db.execute(f"SELECT {stored.ACCOUNT_COLUMNS} FROM accounts")
                accounts = [stored.account_row(row) for row in rows]
                rows = db.execute(f"SELECT {stored.BALANCE_COLUMNS} FROM balances ORDER BY 1, 2, 3")
                balances = [stored.balance_row(row) for row in rows]
        except sqlite3.OperationalError:  # no tables yet: the file is being made
            return
        self._version = version
        self._changes = changes
        self._writer_seen = seen
        self.loads += 1
        self._keys = {key.api_key: key for key in keys}
        self._accounts = {account.account_id: account for account in accounts}
        before = {(b.wallet, b.account_id, b.asset): b.amount for bs in self._balances.values() for b in bs}
        held: dict[int, list[Balance]] = {}
        for balance in balances:
            held.setdefault(balance.account_id, []).append(balance)
        self._balances = {account_id: tuple(rows) for account_id, rows in held.items()}
        if self.loads > 1:  # what moved since the last load (the first is where it stood)
            after = {(b.wallet, b.account_id, b.asset): b.amount for b in balances}
            for key in sorted(before.keys() | after.keys(), key=lambda k: (k[0].value, k[1], k[2])):
                change = after.get(key, 0) - before.get(key, 0)
                if change and len(self._moved) < _MOVED_KEPT:
                    self._moved.append((*key, change))
