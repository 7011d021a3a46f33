"""The private REST endpoints of one market, without I/O: a request's bytes, its key header,
its caller and the time in; status, body and weight out.

Each endpoint has its security type (part 1 §2) and its weight (part 1 §7.5, part 3 §2).
A request goes through part 1 §10 in order: the route (the listener's, before this), the
IP's weight charged against the budget REST market data and the WebSocket API share (a
request refused later still costs it, §7.2), then ``checks.authorize``, then the endpoint.
Every answer is JSON, a refusal ``{"code":…,"msg":…}`` with its HTTP status.

Routes are keyed by method and path, as Binance's are (``POST`` and ``DELETE
/fapi/v1/listenKey`` are two endpoints, part 4); another method on a route's path is the
market's 404 ``-5000`` naming that method. A POST, PUT or DELETE is signed over its query
then its body (part 1 §4.1); a GET's parameters are its query's only (§3.1).

Served so far: GET the balance of the caller's account, ``/fapi/v3/balance`` and
``/fapi/v2/balance`` (weight 5) and ``/dapi/v1/balance`` (weight 1); the listen key's
``POST``, ``PUT`` and ``DELETE /fapi/v1/listenKey`` and ``/dapi/v1/listenKey`` (part 4 §1.1:
USER_STREAM, weight 1; a stray ``listenKey``, ``timestamp`` or ``signature`` is ignored,
decision 10).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol

import msgspec

from tickerplant.market.instruments import Market
from tickerplant.protocol.errors import RequestRefused
from tickerplant.protocol.request_weight import RequestWeight, rate_limit_error
from tickerplant.protocol.rest import RestAnswer
from tickerplant.venue.accounts import Balance
from tickerplant.venue.balances import balance_rows
from tickerplant.venue.checks import Authorized, Keys, PrivateRequest, Security, authorize

__all__ = ["NO_LISTEN_KEY", "Accounts", "ListenKeyTable", "PrivateEndpoint", "PrivateRest"]

NO_LISTEN_KEY = RequestRefused(-1125, "This listenKey does not exist.")  # part 4 §1.1, HTTP 400

_encode = msgspec.json.encode


class Accounts(Keys, Protocol):
    """What the private endpoints read (``store.Keyring``)."""

    def balances(self, account_id: int) -> list[Balance]: ...


class ListenKeyTable(Protocol):
    """Where the listen keys of the market's accounts live (``gateway/user_data.py``, over
    ``listen_keys.ListenKeys``)."""

    def start(self, account_id: int, now_ms: int) -> str: ...

    def keep_alive(self, account_id: int, now_ms: int) -> str | None: ...

    def close(self, account_id: int) -> str | None: ...


class PrivateEndpoint(NamedTuple):
    security: Security
    weight: int  # REQUEST_WEIGHT (part 1 §7.5)
    answer: Callable[[Authorized, int], Any]  # (the authorized request, now) -> a JSON value


class PrivateRest:
    """The private REST surface of one market listener."""

    def __init__(
        self, market: Market, accounts: Accounts, weight: RequestWeight, coins: Sequence[str],
        listen_keys: ListenKeyTable | None = None,
    ) -> None:
        """``coins``: the assets COIN-M contracts are margined in, in the catalogue's order;
        ``listen_keys``: the market's, for the listen-key endpoints (None: not served)."""
        self.market = market
        self.weight = weight
        self._accounts = accounts
        self._coins = tuple(coins)
        self._listen_keys = listen_keys
        if market is Market.UM:
            balance = PrivateEndpoint(Security.USER_DATA, 5, self._balance)  # part 3 §2.1
            self.routes = {("GET", "/fapi/v3/balance"): balance, ("GET", "/fapi/v2/balance"): balance}
        else:
            balance = PrivateEndpoint(Security.USER_DATA, 1, self._balance)  # §2.2
            self.routes = {("GET", "/dapi/v1/balance"): balance}
        if listen_keys is not None:
            path = "/fapi/v1/listenKey" if market is Market.UM else "/dapi/v1/listenKey"
            for method, answer in (("POST", self._start), ("PUT", self._keep_alive), ("DELETE", self._close)):
                self.routes[(method, path)] = PrivateEndpoint(Security.USER_STREAM, 1, answer)

    def answer(self, route: tuple[str, str], request: PrivateRequest, now_ms: int) -> RestAnswer:
        """The answer to a request for one of ``routes``, (method, path)."""
        endpoint = self.routes[route]
        verdict = self.weight.charge(request.ip, endpoint.weight, now_ms)
        if verdict.status != 200:
            limited = rate_limit_error(verdict, request.ip, self.weight.limit)
            retry_s = -(-verdict.retry_after_ms // 1000)
            return RestAnswer(verdict.status, (_error(limited),), verdict.used, retry_s)
        try:
            authorized = authorize(request, endpoint.security, self._accounts, now_ms)
            result = endpoint.answer(authorized, now_ms)
        except RequestRefused as refused:
            return RestAnswer(refused.status, (_error(refused),), verdict.used)
        return RestAnswer(200, (_encode(result),), verdict.used)

    def _balance(self, authorized: Authorized, now_ms: int) -> Any:
        account = authorized.account
        return balance_rows(self.market, account, self._accounts.balances(account.account_id), self._coins)


    def _start(self, authorized: Authorized, now_ms: int) -> Any:
        assert self._listen_keys is not None
        return {"listenKey": self._listen_keys.start(authorized.account.account_id, now_ms)}

    def _keep_alive(self, authorized: Authorized, now_ms: int) -> Any:
        assert self._listen_keys is not None
        key = self._listen_keys.keep_alive(authorized.account.account_id, now_ms)
        if key is None:
            raise NO_LISTEN_KEY
        return {"listenKey": key}

    def _close(self, authorized: Authorized, now_ms: int) -> Any:
        assert self._listen_keys is not None
        self._listen_keys.close(authorized.account.account_id)
        return {}


def _error(refused: RequestRefused) -> bytes:
    return _encode({"code": refused.code, "msg": refused.msg})
