"""The accounts database's rows as the venue's records (``store.py`` holds the schema): what
the operator's handle and the server's view (``keyring.py``) both read."""

from __future__ import annotations

import sqlite3

from tickerplant.market.instruments import Market
from tickerplant.venue.auth.accounts import Account, ApiKey, Balance, KeyType

__all__ = [
    "ACCOUNT_COLUMNS", "BALANCE_COLUMNS", "KEY_COLUMNS", "account_row", "balance_row", "key_row",
    "operator_changes",
]  # fmt: skip

KEY_COLUMNS = "api_key, account_id, key_type, material, reading, trading, networks, disabled, created_ms"
ACCOUNT_COLUMNS = "account_id, name, alias, disabled, created_ms"
BALANCE_COLUMNS = "account_id, wallet, asset, amount, update_ms"


def operator_changes(db: sqlite3.Connection) -> int | None:
    """``operator_changes.n``; None in a file made before the table (read everything)."""
    try:
        row = db.execute("SELECT n FROM operator_changes WHERE id = 1").fetchone()
    except sqlite3.OperationalError:
        return None
    return None if row is None else int(row[0])


def key_row(row: tuple[object, ...]) -> ApiKey:
    api_key, account_id, key_type, material, reading, trading, networks, disabled, created_ms = row
    return ApiKey(
        str(api_key), int(str(account_id)), KeyType(key_type), str(material), bool(reading), bool(trading),
        tuple(filter(None, str(networks).split(","))), bool(disabled), int(str(created_ms)),
    )  # fmt: skip


def account_row(row: tuple[object, ...]) -> Account:
    account_id, name, alias, disabled, created_ms = row
    return Account(int(str(account_id)), str(name), str(alias), bool(disabled), int(str(created_ms)))


def balance_row(row: tuple[object, ...]) -> Balance:
    account_id, wallet, asset, amount, update_ms = row
    return Balance(int(str(account_id)), Market(wallet), str(asset), int(str(amount)), int(str(update_ms)))
