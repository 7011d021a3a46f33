"""The operator's commands on a venue database (docs/venue.md, "Accounts"; docs/report.md):
``tickerplant accounts …`` (its accounts, keys and balances, and ``verify``) and
``tickerplant report``. Each refusal, a database that cannot be opened among them, is one
line and exit status 1, never a traceback."""

from __future__ import annotations

import argparse
import functools
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tickerplant.venue.auth.store import AccountStore
    from tickerplant.venue.wire.administration import NewKey

__all__ = ["accounts", "report"]


def accounts(args: argparse.Namespace, db: str) -> None:
    """``tickerplant accounts …`` on the database ``db`` (``venue/auth/store.py``). A secret is
    printed once, when its key is made, and never again; a refusal is the command's error."""
    from tickerplant.clock import SystemClock
    from tickerplant.venue.auth.store import AccountStore, StoreError

    if args.action == "verify":
        _verify(db)
        return
    if args.action != "create" and not Path(db).exists():  # a typo'd --db made an empty one
        raise SystemExit(f"tickerplant accounts: no database at {db} (`accounts create` makes one)")
    try:
        store = AccountStore(db)
    except StoreError as exc:
        raise SystemExit(f"tickerplant accounts: {exc}") from None
    try:
        _accounts(args, store, SystemClock().now_ms())
    except BrokenPipeError:  # a reader gone (``list | head``): ``cli.main`` ends it quietly
        raise
    except (StoreError, ValueError, OSError) as exc:
        raise SystemExit(f"tickerplant accounts: {exc}") from None
    finally:
        store.close()


def _accounts(args: argparse.Namespace, store: AccountStore, now_ms: int) -> None:
    from tickerplant.venue.domain.money import format_amount
    from tickerplant.venue.wire import administration as admin

    action = args.action
    if action == "create":
        public_key = args.public_key.read_text() if args.public_key is not None else None
        account, made = admin.create_account(
            store, args.name, args.balance, public_key=public_key, permissions=args.permissions, ips=args.ip,
            now_ms=now_ms,
        )  # fmt: skip
        print(f"account    {account.account_id}" + (f" ({account.name})" if account.name else ""))
        _print_new_key(made)
    elif action == "list":
        for account in store.accounts():
            state = "disabled" if account.disabled else "enabled"
            keys = len(store.keys(account.account_id))
            print(f"{account.account_id}\t{account.name}\t{account.alias}\t{state}\t{keys} keys")
    elif action == "show":
        account = store.account(args.account)
        print(f"account    {account.account_id} ({account.name}), alias {account.alias}, "
              f"{'disabled' if account.disabled else 'enabled'}")  # fmt: skip
        for b in store.balances(account.account_id):
            print(f"balance    {b.wallet.name} {b.asset} {format_amount(b.amount)}")
        _print_keys(store, account.account_id)
    elif action in ("deposit", "withdraw"):
        sign = 1 if action == "deposit" else -1
        for balance in admin.deposit(store, args.account, args.amounts, sign, now_ms):
            print(f"balance    {balance.wallet.name} {balance.asset} {format_amount(balance.amount)}")
    elif action in ("disable", "enable"):
        store.set_disabled(args.account, action == "disable")
    elif action == "delete":  # beside a serving server, what it authorized settles first
        store.delete(args.account, _settle(store.path))
    elif args.keys_action == "add":
        public_key = args.public_key.read_text() if args.public_key is not None else None
        store.account(args.account)
        made = admin.new_key(
            store, args.account, public_key=public_key, permissions=args.permissions, ips=args.ip,
            now_ms=now_ms,
        )  # fmt: skip
        _print_new_key(made)
    elif args.keys_action == "list":
        store.account(args.account)  # "no account N", as every other command on one says
        _print_keys(store, args.account)
    else:
        store.revoke(args.api_key)


def _verify(db: str) -> None:
    """``tickerplant accounts verify`` (``venue/journal/verify.py``): what was checked, each thing
    that does not add up; exit status 1 when any does."""
    from tickerplant.clock import SystemClock
    from tickerplant.market.instruments import Market, catalogue
    from tickerplant.venue.journal.verify import verify

    if not Path(db).exists():
        raise SystemExit(f"tickerplant accounts: no database at {db}")
    now = SystemClock().now_ms()
    markets = {inst.symbol: market.value for market in Market for inst in catalogue(market, now)}

    def market_of(symbol: str) -> str:  # a contract no longer listed: its quote asset tells
        return markets.get(symbol) or ("cm" if symbol.split("_")[0].endswith("USD") else "um")

    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None)
    try:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and "accounts" not in tables:  # another program's database
            raise SystemExit(f"tickerplant accounts: {db} is not a tickerplant database")
        if "venue_fills" not in tables:  # no server has opened it yet: nothing journaled, nothing to add up
            print("checked    nothing journaled yet (no server has opened it): adds up")
            return
        symbols = [row[0] for row in connection.execute("SELECT DISTINCT symbol FROM venue_fills")]
        tally = verify(connection, {symbol: market_of(symbol) for symbol in symbols} | markets)
    except sqlite3.Error as exc:  # not a database, a journal of another release
        raise SystemExit(f"tickerplant accounts: cannot verify {db}: {exc}") from None
    finally:
        connection.close()
    for found in tally.findings:
        print(f"MISMATCH   {found.what}: journaled {found.journaled}, summed {found.summed} (units)")
    verdict = "does not add up" if tally.findings else "adds up"
    checked = f"{tally.wallets} wallets, {tally.positions} positions, {tally.orders} orders"
    print(f"checked    {checked}: {verdict}")
    if tally.findings:
        raise SystemExit(1)


def report(db: str, account: int, out: Path, start: str | None, end: str | None, asset: str | None) -> None:
    """``tickerplant report``: the account's report written into ``out`` (docs/report.md)."""
    from tickerplant.report.write import NoJournal, parse_range, write_report

    try:
        start_ms, end_ms = parse_range(start or None, end or None)
        made = write_report(db, account, out, start_ms=start_ms, end_ms=end_ms, asset=asset)
    except (NoJournal, ValueError, OSError) as exc:
        raise SystemExit(f"tickerplant report: {exc}") from None
    except sqlite3.Error as exc:  # not a database
        raise SystemExit(f"tickerplant report: cannot read {db}: {exc}") from None
    print(f"report     {made.html}\nfigures    {made.json}")


def _print_new_key(made: NewKey) -> None:
    print(f"api key    {made.key.api_key}")
    if made.secret is not None:
        print(f"secret     {made.secret}")
        print("           (shown once: keep it; tickerplant shows it never again)")
    else:
        print(f"key type   {made.key.key_type.value} (sign with its private key)")


def _print_keys(store: AccountStore, account_id: int) -> None:
    for key in store.keys(account_id):
        where = ",".join(key.networks) or "any IP"
        state = " disabled" if key.disabled else ""
        print(f"key        {key.api_key} {key.key_type.value} {key.permissions or 'none'} {where}{state}")


def _settle(database: Path) -> Callable[[], None] | None:
    """``AccountStore.delete``'s wait while a server journals ``database`` (None: no server)."""
    from tickerplant.clock import block_for
    from tickerplant.venue.auth.store import SETTLE_S
    from tickerplant.venue.journal.writer_lock import journaled

    return functools.partial(block_for, SETTLE_S) if journaled(database) else None
