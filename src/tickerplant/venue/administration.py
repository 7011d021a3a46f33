"""The operator's commands on accounts and keys, one home for ``tickerplant accounts`` and
the admin listener's ``/api/accounts`` (issue 33 item 1): each takes its arguments as the
command line and the JSON body write them (text lists: ``USDT=10000,BTC=1``,
``reading,trading``, ``1.2.3.4,10.0.0.0/8``) and answers plain values.

A new key's HMAC secret is answered once, with the key, and never again; an Ed25519 or RSA
public key in PEM is the user's, its type read from it, and no secret exists.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from tickerplant.market.instruments import Market, catalogue
from tickerplant.venue.accounts import (
    Account,
    ApiKey,
    Balance,
    KeyType,
    format_amount,
    key_type_of,
    new_secret,
    parse_balances,
    parse_networks,
)
from tickerplant.venue.store import AccountStore

__all__ = ["NewKey", "account_row", "balance_row", "create_account", "deposit", "key_row", "new_key"]

PERMISSIONS = ("reading", "trading")


class NewKey(NamedTuple):
    key: ApiKey
    secret: str | None  # the HMAC secret, shown this once; None for a public key


def coin_margined(now_ms: int) -> frozenset[str]:
    """The assets COIN-M contracts are margined in: they go to the COIN-M wallet."""
    return frozenset(inst.margin_asset for inst in catalogue(Market.CM, now_ms))


def new_key(
    store: AccountStore, account_id: int, *, public_key: str | None, permissions: str = "reading,trading",
    ips: str = "", now_ms: int,
) -> NewKey:  # fmt: skip
    """A key for the account: an HMAC secret made here, or the PEM public key given."""
    wanted, networks = _checked(public_key, permissions, ips)
    if public_key is not None:
        material, key_type, secret = public_key, key_type_of(public_key), None
    else:
        material = secret = new_secret()
        key_type = KeyType.HMAC
    key = store.add_key(
        account_id, key_type, material, reading="reading" in wanted, trading="trading" in wanted,
        networks=networks, now_ms=now_ms,
    )  # fmt: skip
    return NewKey(key, secret)


def _checked(public_key: str | None, permissions: str, ips: str) -> tuple[set[str], tuple[str, ...]]:
    wanted = set(filter(None, (p.strip() for p in permissions.split(","))))
    if not wanted <= set(PERMISSIONS):
        raise ValueError(f"{permissions!r}: permissions are reading and trading")
    networks = parse_networks(ips)
    if public_key is not None:
        key_type_of(public_key)
    return wanted, networks


def create_account(
    store: AccountStore, name: str, balances: str, *, public_key: str | None,
    permissions: str = "reading,trading", ips: str = "", now_ms: int,
) -> tuple[Account, NewKey]:  # fmt: skip
    """An account with ``balances`` (``USDT=10000,BTC=1``) and its first key."""
    parsed = parse_balances(balances, coin_margined(now_ms))
    _checked(public_key, permissions, ips)  # a bad key refuses the account too, before it is made
    account = store.create_account(name, parsed, now_ms)
    return account, new_key(
        store, account.account_id, public_key=public_key, permissions=permissions, ips=ips, now_ms=now_ms
    )


def deposit(store: AccountStore, account_id: int, amounts: str, sign: int, now_ms: int) -> list[Balance]:
    """Add (``sign`` 1) or withdraw (-1) ``amounts``; the balances after, as changed."""
    return [
        store.deposit(account_id, wallet, asset, sign * units, now_ms)
        for wallet, asset, units in parse_balances(amounts, coin_margined(now_ms))
    ]


def account_row(store: AccountStore, account: Account) -> dict[str, Any]:
    return {
        "accountId": account.account_id, "name": account.name, "alias": account.alias,
        "disabled": account.disabled, "keys": len(store.keys(account.account_id)),
        "createdTime": account.created_ms,
    }  # fmt: skip


def balance_row(balance: Balance) -> dict[str, Any]:
    wallet = "USDⓈ-M" if balance.wallet is Market.UM else "COIN-M"
    return {"wallet": wallet, "asset": balance.asset, "amount": format_amount(balance.amount),
            "updateTime": balance.update_ms}  # fmt: skip


def key_row(key: ApiKey) -> dict[str, Any]:
    """A key as the operator sees it: never its material."""
    return {
        "apiKey": key.api_key, "keyType": key.key_type.value, "permissions": key.permissions.split(",")
        if key.permissions else [], "ips": list(key.networks), "disabled": key.disabled,
        "createdTime": key.created_ms,
    }  # fmt: skip
