"""The accounts database: its schema at work, its file private, secrets out of reprs, and
the server's view following the operator's commands."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from tickerplant.market.instruments import Market
from tickerplant.venue.auth.accounts import KeyType
from tickerplant.venue.auth.keyring import Keyring
from tickerplant.venue.auth.store import AccountStore, StoreError
from tickerplant.venue.domain.events import Batch
from tickerplant.venue.domain.money import parse_amount
from tickerplant.venue.journal.sqlite_journal import SqliteJournal


def test_the_file_and_its_journal_are_the_owners_alone(tmp_path: Path) -> None:
    path = tmp_path / "venue.db"
    store = AccountStore(path)
    store.create_account("a", [(Market.UM, "USDT", 1)], now_ms=1)
    for made in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        assert stat.S_IMODE(made.stat().st_mode) == 0o600, made
    store.close()
    path.chmod(0o644)
    AccountStore(path).close()  # found readable by others: tightened
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert AccountStore(path).accounts()[0].name == "a"


def test_secrets_stay_out_of_reprs(tmp_path: Path) -> None:
    store = AccountStore(tmp_path / "venue.db")
    account = store.create_account("a", [], now_ms=1)
    secret = "S" * 64
    key = store.add_key(account.account_id, KeyType.HMAC, secret, now_ms=1)
    assert secret not in repr(key) and secret not in repr(store.keys(account.account_id))
    assert key.api_key in repr(key)  # the key itself is an identifier, as Binance shows it


def test_balances_deposit_withdraw_and_never_below_zero(tmp_path: Path) -> None:
    store = AccountStore(tmp_path / "venue.db")
    account = store.create_account("a", [(Market.UM, "USDT", parse_amount("10000")), (Market.CM, "BTC", 10**8)], 5)
    aid = account.account_id
    assert [(b.wallet, b.asset, b.amount, b.update_ms) for b in store.balances(aid)] == [
        (Market.CM, "BTC", 10**8, 5), (Market.UM, "USDT", 10**12, 5)
    ]  # fmt: skip
    store.deposit(aid, Market.UM, "USDT", parse_amount("0.5"), 9)
    store.deposit(aid, Market.UM, "USDT", -parse_amount("10000.5"), 10)
    with pytest.raises(StoreError, match="below zero"):
        store.deposit(aid, Market.UM, "USDT", -1, 11)
    assert [(b.asset, b.amount, b.update_ms) for b in store.balances(aid) if b.wallet is Market.UM] == [("USDT", 0, 10)]
    with pytest.raises(StoreError, match="no account 99"):
        store.deposit(99, Market.UM, "USDT", 1, 1)


def test_delete_takes_keys_and_balances(tmp_path: Path) -> None:
    store = AccountStore(tmp_path / "venue.db")
    keep = store.create_account("keep", [(Market.UM, "USDT", 1)], 1)
    gone = store.create_account("gone", [(Market.UM, "USDT", 1)], 1)
    store.add_key(gone.account_id, KeyType.HMAC, "s", now_ms=1)
    store.delete(gone.account_id)
    assert [a.name for a in store.accounts()] == ["keep"]
    assert store.keys(gone.account_id) == [] and store.balances(gone.account_id) == []
    assert len(store.balances(keep.account_id)) == 1
    with pytest.raises(StoreError):
        store.revoke("nothing")


def test_the_servers_view_follows_the_operator(tmp_path: Path) -> None:
    path = tmp_path / "venue.db"
    keyring = Keyring(path)
    assert keyring.key("k" * 64) is None and not path.exists()  # the server never makes the file
    store = AccountStore(path)
    account = store.create_account("a", [(Market.UM, "USDT", 7)], 1)
    key = store.add_key(account.account_id, KeyType.HMAC, "s", now_ms=1)
    assert keyring.key(key.api_key) == key
    assert [b.amount for b in keyring.balances(account.account_id)] == [7]
    store.deposit(account.account_id, Market.UM, "USDT", 3, 2)
    # within a command the view holds still; the next request's key (or a delivery's
    # refresh) reads what changed
    assert [b.amount for b in keyring.balances(account.account_id)] == [7]
    keyring.refresh()
    assert [b.amount for b in keyring.balances(account.account_id)] == [10]
    store.set_disabled(account.account_id, True)
    assert keyring.key(key.api_key) == key and keyring.account(account.account_id).disabled  # type: ignore[union-attr]
    store.revoke(key.api_key)
    assert keyring.key(key.api_key) is None
    keyring.close()


def test_the_journals_commits_do_not_reload_the_servers_view(tmp_path: Path) -> None:
    """The venue's journal shares the file: its commit after every order must not make the
    server read every key, account and balance again (``operator_changes``)."""
    path = tmp_path / "venue.db"
    store = AccountStore(path)
    account = store.create_account("a", [(Market.UM, "USDT", 7)], 1)
    key = store.add_key(account.account_id, KeyType.HMAC, "s", now_ms=1)
    keyring = Keyring(path)
    assert keyring.key(key.api_key) == key and keyring.loads == 1
    journal = SqliteJournal(path)  # another connection, committing orders as the engine does
    journal.commit(Batch(changes=[(account.account_id, "USDT", -5, 2)]))
    assert keyring.key(key.api_key) == key and keyring.loads == 1
    store.deposit(account.account_id, Market.UM, "USDT", 3, 3)  # the operator's: read again
    keyring.refresh()
    assert [b.amount for b in keyring.balances(account.account_id)] == [10] and keyring.loads == 2
    store.delete(account.account_id)
    assert keyring.key(key.api_key) is None and keyring.loads == 3
    journal.close()
    keyring.close()


def test_served_the_view_is_looked_at_once_a_loop_turn(tmp_path: Path) -> None:
    """Once per turn (``once_per_turn``): the turn's first lookup queries the database, the
    others answer from it; a key revoked is refused from the next turn on."""
    path = tmp_path / "venue.db"
    store = AccountStore(path)
    account = store.create_account("a", [], now_ms=1)
    key = store.add_key(account.account_id, KeyType.HMAC, "S" * 64, now_ms=1).api_key
    keys = Keyring(path)
    turn_ends: list[Callable[[], None]] = []  # the loop's next turn, by hand
    keys.once_per_turn(turn_ends.append)
    assert keys.key(key) is not None
    queries: list[str] = []
    assert keys._db is not None
    keys._db.set_trace_callback(queries.append)
    store.revoke(key)
    assert keys.key(key) is not None and keys.key("k" * 64) is None  # the same turn: its view
    keys.refresh()
    assert queries == []
    assert len(turn_ends) == 1
    turn_ends.pop()()  # the next turn
    assert keys.key(key) is None  # its first lookup reads the revoke
    assert queries and keys.key(key) is None and len(turn_ends) == 1
    keys.close()
    store.close()


def test_a_new_databases_schema_is_made_in_one_transaction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new file's tables, indexes, triggers and schema version are made together, all or
    none, with one commit to sync: a kill midway leaves no half-made schema behind. An
    existing database is only read."""
    import sqlite3

    import tickerplant.venue.auth.store as store

    said: list[str] = []
    connect = store._connect

    def traced(path: Path) -> sqlite3.Connection:
        db = connect(path)
        db.set_trace_callback(said.append)
        return db

    monkeypatch.setattr(store, "_connect", traced)
    AccountStore(tmp_path / "v.db").close()
    made = [s.strip().rstrip(";") for s in said]
    begin = made.index("BEGIN IMMEDIATE")
    assert made[-2:] == [f"PRAGMA user_version = {store.SCHEMA_VERSION}", "COMMIT"] and made.count("COMMIT") == 1
    assert all(not s.startswith(("CREATE", "INSERT")) for s in made[:begin])  # nothing made before it
    assert sum(s.startswith("CREATE") for s in made[begin:]) == 14  # 4 tables, an index, 9 triggers
    said.clear()
    AccountStore(tmp_path / "v.db").close()
    assert not any(s.startswith(("BEGIN", "CREATE", "INSERT")) for s in said)
