"""The operator's commands on accounts and keys, one home for ``tickerplant accounts`` and
the admin listener's ``/api/accounts``: each takes its arguments as the
command line and the JSON body write them (text lists: ``USDT=10000,BTC=1``,
``reading,trading``, ``1.2.3.4,10.0.0.0/8``) and answers plain values.

A new key's HMAC secret is answered once, with the key, and never again; an Ed25519 or RSA
public key in PEM is the user's, its type read from it, and no secret exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from tickerplant.market.instruments import Market, catalogue
from tickerplant.venue.auth.accounts import (
    Account,
    ApiKey,
    Balance,
    KeyType,
    key_type_of,
    new_secret,
    parse_balances,
    parse_networks,
)
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.money import format_amount
from tickerplant.venue.payloads import order_payloads
from tickerplant.venue.wire.account_payloads import position_risk

__all__ = [
    "NAME_MOST", "NewKey", "account_row", "balance_row", "create_account", "deposit", "key_row", "new_key",
    "trading_view",
]

RECENT_FILLS = 20  # fills the operator's view shows per market

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
    if "reading" not in wanted:  # refused everywhere (part 1 §9.2): a key no request could use
        raise ValueError(f"{permissions!r}: a key reads (reading, or reading,trading)")
    networks = parse_networks(ips)
    if public_key is not None:
        key_type_of(public_key)
    return wanted, networks


NAME_MOST = 64  # an account name's characters


def create_account(
    store: AccountStore, name: str, balances: str, *, public_key: str | None,
    permissions: str = "reading,trading", ips: str = "", now_ms: int,
) -> tuple[Account, NewKey]:  # fmt: skip
    """An account with ``balances`` (``USDT=10000,BTC=1``) and its first key; ``name`` at most
    ``NAME_MOST`` characters, none a control character (a tab or a newline forged a row of
    ``tickerplant accounts list``'s tab-separated lines)."""
    if len(name) > NAME_MOST or any(not character.isprintable() for character in name):
        raise ValueError(f"an account's name is at most {NAME_MOST} printable characters, no tab nor newline")
    parsed = parse_balances(balances, coin_margined(now_ms))
    _checked(public_key, permissions, ips)  # a bad key refuses the account too, before it is made
    account = store.create_account(name, parsed, now_ms)
    return account, new_key(
        store, account.account_id, public_key=public_key, permissions=permissions, ips=ips, now_ms=now_ms
    )


def deposit(store: AccountStore, account_id: int, amounts: str, sign: int, now_ms: int) -> list[Balance]:
    """Add (``sign`` 1) or withdraw (-1) ``amounts``, all or none; the balances after, as
    changed."""
    parsed = parse_balances(amounts, coin_margined(now_ms))
    if not parsed:  # a change of nothing is a mistake, not an answer of none
        raise ValueError("nothing to move: ASSET=AMOUNT,…")
    return store.transfer(account_id, [(wallet, asset, sign * units) for wallet, asset, units in parsed],
                          now_ms)  # all or none: one transaction  # fmt: skip


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


def trading_view(engines: Mapping[Market, Engine], account_id: int) -> dict[str, Any]:
    """What the account holds in each market's engine, for the operator (the dashboard's
    accounts page): positions at mark (positionRisk v3's rows), open orders (the reads'
    shape) and the last ``RECENT_FILLS`` fills (userTrades' rows), newest last."""
    view: dict[str, Any] = {}
    for market, engine in engines.items():
        ledger = engine.ledgers.get(account_id)  # looked up, never made: a read changes nothing
        if ledger is None:  # never traded in this market
            view[market.value] = {"positions": [], "openOrders": [], "fills": []}
            continue
        symbols = ledger.active_symbols()
        seats = (engine.seats.get((account_id, s)) for s in engine.instruments)
        fills = sorted((f for seat in seats if seat is not None for f in seat.fills), key=lambda f: f.time_ms)
        orders = engine.open_orders(account_id, None)
        view[market.value] = {
            "positions": position_risk(engine, account_id, None, v3=True) if symbols else [],
            "openOrders": [order_payloads.read(o, engine.instruments[o.symbol]) for o in orders],
            "fills": [order_payloads.trade(f, engine.instruments[f.symbol]) for f in fills[-RECENT_FILLS:]],
        }
    return view
