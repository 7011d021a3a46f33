"""The venue's accounts and keys on the admin listener: what ``tickerplant accounts`` does,
as JSON (the commands themselves are ``venue/wire/administration.py``'s).

    GET  /api/accounts                          every account
    POST /api/accounts                          {"name", "balances": "USDT=10000,BTC=1",
                                                 "publicKey": PEM?, "permissions": "reading,trading"?,
                                                 "ips": "1.2.3.4,10.0.0.0/8"?}
                                                -> the account and its first key (an HMAC
                                                   secret answered this once)
    GET  /api/accounts/{id}                     the account, its balances, its keys, and (where
                                                this process runs the engines) its positions,
                                                open orders and recent fills per market
    POST /api/accounts/{id}/deposit             {"amounts": "USDT=100"}   -> the balances changed
    POST /api/accounts/{id}/withdraw            {"amounts": "USDT=100"}
    POST /api/accounts/{id}/disable | enable    -> the account
    POST /api/accounts/{id}/delete              -> {}
    POST /api/accounts/{id}/keys                {"publicKey"?, "permissions"?, "ips"?} -> the key
    POST /api/keys/{apiKey}/revoke              -> {}
    GET  /api/accounts/{id}/report[.json]       the account's report (``admin/reports.py``)

Every request has passed the admin listener's guard first (its host, its origin, POST with
``application/json`` only, its token beyond loopback: ``admin.guard``). A refusal is
``{"code":-1,"msg":…}``: 404 for an account or key that does not exist, 400 for anything
else the command refuses. The database is the server's (``--venue-db``), opened per
request (a command is rare; SQLite's WAL lets the server read meanwhile, and the server's
keyring sees the change at its next request). No response and no log line holds a secret
but the one made for the caller.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
from aiohttp import web

from tickerplant.admin.reports import NoSuchAccount, ReportsApi, account_in_path
from tickerplant.clock import Clock, block_for
from tickerplant.venue.auth.store import SETTLE_S, AccountStore, StoreError
from tickerplant.venue.wire import administration as admin

__all__ = ["AccountsApi"]


class _NewAccount(msgspec.Struct, forbid_unknown_fields=True):
    name: str = ""
    balances: str = ""
    publicKey: str | None = None
    permissions: str = "reading,trading"
    ips: str = ""


class _NewKey(msgspec.Struct, forbid_unknown_fields=True):
    publicKey: str | None = None
    permissions: str = "reading,trading"
    ips: str = ""


class _Amounts(msgspec.Struct, forbid_unknown_fields=True):
    amounts: str


class _Nothing(msgspec.Struct, forbid_unknown_fields=True):
    """The body of a command that takes no field (disable, enable, delete, revoke): none, or
    ``{}``; a field sent is a mistake (400), before anything is changed."""


def _nothing(body: bytes) -> None:
    msgspec.json.decode(body or b"{}", type=_Nothing)


class _Missing(LookupError):
    """No such account or key: 404."""


async def _on_the_loop(trading: Callable[[int], dict[str, Any]], account_id: int) -> dict[str, Any]:
    """``trading``'s view, read on the loop that runs the engines (this coroutine's): never
    from the thread the database's reads run in, where the loop could be changing what it
    reads meanwhile."""
    return trading(account_id)


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=msgspec.json.encode(body), status=status, content_type="application/json")


class AccountsApi:
    """The account routes of one admin listener, on the database at ``path``."""

    def __init__(
        self, path: str | Path, clock: Clock, trading: Callable[[int], dict[str, Any]] | None = None,
        asked: Callable[[int], Awaitable[Any]] | None = None,
    ) -> None:  # fmt: skip
        """``trading``: an account's positions, open orders and fills, where this process
        runs the venue's engines (``administration.trading_view``), read on the loop, which
        runs them (the commands' reads of the database run in a thread); ``asked``: the same
        asked of the process that runs them (``serve --workers``' supervisor asks the plant's
        admin listener, ``admin/workers.py``), None when it does not answer."""
        self.path = Path(path)
        self._clock = clock
        self._asked = asked if trading is None else functools.partial(_on_the_loop, trading)

    def routes(self, app: web.Application) -> None:
        add = app.router
        add.add_get("/api/accounts", self._handler(self._list))
        add.add_post("/api/accounts", self._handler(self._create))
        add.add_get("/api/accounts/{account:[0-9]+}", self._shown(self._handler(self._show)))
        add.add_post("/api/accounts/{account:[0-9]+}/{action:deposit|withdraw}", self._handler(self._deposit))
        add.add_post("/api/accounts/{account:[0-9]+}/{action:disable|enable}", self._handler(self._disable))
        add.add_post("/api/accounts/{account:[0-9]+}/delete", self._handler(self._delete))
        add.add_post("/api/accounts/{account:[0-9]+}/keys", self._handler(self._add_key))
        add.add_post("/api/keys/{key:[A-Za-z0-9]+}/revoke", self._handler(self._revoke))
        ReportsApi(self.path).routes(app)  # GET …/{id}/report and report.json (admin/reports.py)

    def _handler(
        self, command: Callable[[AccountStore, web.Request, bytes, int], Any]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        def run(request: web.Request, body: bytes, now_ms: int) -> web.Response:
            store = AccountStore(self.path)
            try:
                return _json(command(store, request, body, now_ms))
            except (_Missing, NoSuchAccount) as exc:
                return _json({"code": -1, "msg": str(exc)}, status=404)
            except (StoreError, ValueError, msgspec.DecodeError, RecursionError) as exc:
                status = 404 if str(exc).startswith("no ") else 400
                return _json({"code": -1, "msg": str(exc)}, status=status)
            finally:
                store.close()

        async def handle(request: web.Request) -> web.Response:
            body = await request.read()
            # In a thread: the database may be locked for a moment by the journal's
            # transaction of this loop's turn (venue/journal/group_commit.py), which only the loop
            # commits; waiting on the loop for it would hold every client for the busy timeout.
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(None, run, request, body, self._clock.now_ms())

        return handle

    def _shown(
        self, show: Callable[[web.Request], Awaitable[web.Response]]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        """``show``, with the trading asked of the engines, on the loop that runs them or of
        the process that does."""
        asked = self._asked
        if asked is None:
            return show

        async def handle(request: web.Request) -> web.Response:
            response = await show(request)
            if response.status != 200 or not isinstance(response.body, bytes):
                return response
            answer = msgspec.json.decode(response.body)
            answer["trading"] = await asked(account_in_path(request))
            return _json(answer)

        return handle

    # -- the commands ---------------------------------------------------------------------

    def _list(self, store: AccountStore, request: web.Request, body: bytes, now_ms: int) -> Any:
        return [admin.account_row(store, account) for account in store.accounts()]

    def _create(self, store: AccountStore, request: web.Request, body: bytes, now_ms: int) -> Any:
        asked = msgspec.json.decode(body or b"{}", type=_NewAccount)
        account, made = admin.create_account(
            store, asked.name, asked.balances, public_key=asked.publicKey, permissions=asked.permissions,
            ips=asked.ips, now_ms=now_ms,
        )  # fmt: skip
        return {"account": admin.account_row(store, account), **_new_key(made)}

    def _show(self, store: AccountStore, request: web.Request, body: bytes, now_ms: int) -> Any:
        account = store.account(account_in_path(request))
        return {
            **admin.account_row(store, account),
            "balances": [admin.balance_row(b) for b in store.balances(account.account_id)],
            "apiKeys": [admin.key_row(k) for k in store.keys(account.account_id)],
            "trading": None,  # the engines', read on the loop (``_shown``)
        }

    def _deposit(self, store: AccountStore, request: web.Request, body: bytes, now_ms: int) -> Any:
        account_id = account_in_path(request)
        store.account(account_id)
        amounts = msgspec.json.decode(body, type=_Amounts).amounts
        sign = 1 if request.match_info["action"] == "deposit" else -1
        return [admin.balance_row(b) for b in admin.deposit(store, account_id, amounts, sign, now_ms)]

    def _disable(self, store: AccountStore, request: web.Request, body: bytes, now_ms: int) -> Any:
        _nothing(body)
        account_id = account_in_path(request)
        store.set_disabled(account_id, request.match_info["action"] == "disable")
        return admin.account_row(store, store.account(account_id))

    def _delete(self, store: AccountStore, request: web.Request, body: bytes, now_ms: int) -> Any:
        _nothing(body)
        # beside the serving engines (this process's, or the plant's): what they authorized
        # settles first (``AccountStore.delete``), in the handler's thread, not on the loop
        store.delete(account_in_path(request), functools.partial(block_for, SETTLE_S))
        return {}

    def _add_key(self, store: AccountStore, request: web.Request, body: bytes, now_ms: int) -> Any:
        account_id = account_in_path(request)
        store.account(account_id)
        asked = msgspec.json.decode(body or b"{}", type=_NewKey)
        made = admin.new_key(
            store, account_id, public_key=asked.publicKey, permissions=asked.permissions, ips=asked.ips,
            now_ms=now_ms,
        )  # fmt: skip
        return _new_key(made)

    def _revoke(self, store: AccountStore, request: web.Request, body: bytes, now_ms: int) -> Any:
        _nothing(body)
        try:
            store.revoke(request.match_info["key"])
        except StoreError as exc:
            raise _Missing(str(exc)) from None
        return {}



def _new_key(made: admin.NewKey) -> dict[str, Any]:
    found = {"apiKey": made.key.api_key, "keyType": made.key.key_type.value}
    if made.secret is not None:
        found["secretKey"] = made.secret  # shown this once
    return {**found, "key": admin.key_row(made.key)}
