"""The private REST endpoints of one market, without I/O: a request's bytes, its key header,
its caller and the time in; status, body and weight out.

Each endpoint has its security type (part 1 §2) and its weight (part 1 §7.5, part 3 §2).
A request goes through part 1 §10 in order: the route (the listener's, before this), the
IP's weight charged against the budget REST market data and the WebSocket API share (a
request refused later still costs it, §7.2), then ``checks.authorize``, then the endpoint.
Every answer is JSON, a refusal ``{"code":…,"msg":…}`` with its HTTP status. Routes are
keyed by method and path, as Binance's are (``POST`` and ``DELETE /fapi/v1/listenKey`` are two
endpoints, part 4); another method on a route's path is the market's 404 ``-5000`` naming it.
A POST, PUT or DELETE is signed over its query then its body (part 1 §4.1); a GET's
parameters are its query's only (§3.1).

Served: the balances (``/fapi/v3/balance``, ``/fapi/v2/balance``, ``/dapi/v1/balance``);
with an engine (``engine.py``), the order endpoints of part 2 §3, §6 (place, test, query,
cancel, open orders, cancel all, all orders, user trades) and the account ones of part 3
§4.2–§4.6 (account, positionRisk, leverage, marginType, positionSide/dual), under
``/fapi`` or ``/dapi``. An order placement's answer carries the account's order counts
(``X-MBX-ORDER-COUNT-10S``, ``-1M``, part 1 §7.4). Weights: part 2 and part 3 §2.
The listen keys' ``POST``, ``PUT``, ``DELETE /fapi/v1/listenKey`` and ``/dapi/v1/listenKey`` (part 4
§1.1: USER_STREAM, weight 1; a stray ``listenKey``, ``timestamp`` or ``signature`` is ignored,
decision 10), with a listen-key table.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import msgspec

from tickerplant.market.instruments import Market
from tickerplant.protocol.errors import RequestRefused, mandatory, refusal
from tickerplant.protocol.request_weight import RequestWeight, rate_limit_error
from tickerplant.protocol.rest import RestAnswer
from tickerplant.venue.auth.accounts import Balance
from tickerplant.venue.auth.checks import Authorized, Keys, PrivateRequest, Security, authorize
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.order_params import parse_int, parse_symbol, refused
from tickerplant.venue.domain.orders import Order
from tickerplant.venue.engine import history
from tickerplant.venue.payloads import order_payloads
from tickerplant.venue.payloads.balances import balance_rows
from tickerplant.venue.risk import adl
from tickerplant.venue.userstream.activity import VenueActivity
from tickerplant.venue.wire import account_reads as reads
from tickerplant.venue.wire import algo_rest, amendments, batches, margin_routes, settings_routes
from tickerplant.venue.wire.account_payloads import account, balance, position_risk
from tickerplant.venue.wire.endpoint import PrivateEndpoint
from tickerplant.venue.wire.headed import Headed
from tickerplant.venue.wire.order_entry import amend_order, cancel_all, cancel_order, new_order

__all__ = [
    "NO_LISTEN_KEY", "Accounts", "CountdownTable", "Headed", "ListenKeyTable", "PrivateRest", "RoutesByBytes",
    "error_body", "private_routes",
]  # fmt: skip

NO_LISTEN_KEY = refusal(-1125, "This listenKey does not exist.")  # part 4 §1.1, HTTP 400

_KEYS = Security.USER_STREAM
_encode = msgspec.json.encode
_new = tuple.__new__  # a NamedTuple made once a request, without a Python frame


class Accounts(Keys, Protocol):
    """What the private endpoints read (``keyring.Keyring``)."""

    def balances(self, account_id: int) -> Sequence[Balance]: ...


class ListenKeyTable(Protocol):
    """Where the listen keys of the market's accounts live (``gateway/user_data.py``, over
    ``listen_keys.ListenKeys``)."""

    def start(self, account_id: int, now_ms: int) -> str: ...

    def keep_alive(self, account_id: int, now_ms: int) -> str | None: ...

    def close(self, account_id: int) -> str | None: ...


class CountdownTable(Protocol):
    """The market's ``countdownCancelAll`` countdowns (``gateway/countdowns.py``)."""

    def set(self, account_id: int, symbol: str, countdown_ms: int, now_ms: int) -> None: ...


_CANCELLED_ALL = {"code": 200, "msg": "The operation of cancel all open order is done."}


class PrivateRest:
    """The private REST surface of one market listener."""

    def __init__(
        self, market: Market, accounts: Accounts, weight: RequestWeight, coins: Sequence[str],
        engine: Engine | None = None, listen_keys: ListenKeyTable | None = None,
        countdowns: CountdownTable | None = None, activity: VenueActivity | None = None,
        fill_fields: bool = False,
    ) -> None:  # fmt: skip
        """``coins``: the assets COIN-M contracts are margined in, in the catalogue's order;
        ``engine``: the market's order engine, None for the balance endpoints alone;
        ``listen_keys``: the market's, for the listen-key endpoints (None: not served);
        ``countdowns``: the market's ``countdownCancelAll`` timers; ``activity``: where
        refused trading requests are counted, by code; ``fill_fields``: placement, modify and
        cancel answers carry ``avgPrice`` and ``cumQuote``/``cumBase`` (decision 1)."""
        self.market, self.weight, self.accounts = market, weight, accounts
        self.coins = tuple(coins)
        self.engine = engine
        self._listen_keys, self._countdowns, self._activity = listen_keys, countdowns, activity
        self._fill_fields = fill_fields
        self.venue_now: Callable[[], int] | None = None  # a replay's venue: its time, not the request's
        um = market is Market.UM
        p = "/fapi" if um else "/dapi"
        balance = PrivateEndpoint(Security.USER_DATA, 5 if um else 1, self._balance)  # part 3 §2
        if um:
            self.routes = {("GET", "/fapi/v3/balance"): balance, ("GET", "/fapi/v2/balance"): balance}
        else:
            self.routes = {("GET", "/dapi/v1/balance"): balance}
        if listen_keys is not None:
            for method, answer in (("POST", self._start), ("PUT", self._keep_alive), ("DELETE", self._close)):
                self.routes[(method, f"{p}/v1/listenKey")] = PrivateEndpoint(Security.USER_STREAM, 1, answer)
        if engine is None:
            return
        trade, read = Security.TRADE, Security.USER_DATA
        account_weight, brackets = 5, (f"{p}/v1/leverageBracket", 0) if um else (f"{p}/v2/leverageBracket", 2)
        self.routes |= {
            ("POST", f"{p}/v1/order"): PrivateEndpoint(trade, 0, self._place),
            ("POST", f"{p}/v1/order/test"): PrivateEndpoint(trade, 0, self._test),
            ("GET", f"{p}/v1/order"): PrivateEndpoint(read, 1, self._query),
            ("DELETE", f"{p}/v1/order"): PrivateEndpoint(trade, 1, self._cancel),
            ("GET", f"{p}/v1/openOrder"): PrivateEndpoint(read, 1, self._open_order),
            ("GET", f"{p}/v1/openOrders"): PrivateEndpoint(read, 1, self._open_orders, 40),
            ("DELETE", f"{p}/v1/allOpenOrders"): PrivateEndpoint(trade, 1, self._cancel_all),
            ("GET", f"{p}/v1/allOrders"): PrivateEndpoint(read, 5, self._all_orders),
            ("GET", f"{p}/v1/userTrades"): PrivateEndpoint(read, 5, self._user_trades),
            ("GET", brackets[0]): PrivateEndpoint(read, 1, self._brackets, brackets[1]),  # COIN-M: 2 unscoped
            ("PUT", f"{p}/v1/order"): PrivateEndpoint(trade, 0 if um else 1, self._modify),  # part 2 §5
            ("POST", f"{p}/v1/batchOrders"): PrivateEndpoint(trade, 5, self._place_batch),  # part 2 §7
            ("PUT", f"{p}/v1/batchOrders"): PrivateEndpoint(trade, 5, self._modify_batch),
            ("DELETE", f"{p}/v1/batchOrders"): PrivateEndpoint(trade, 1, self._cancel_batch),
        }
        if countdowns is not None:  # part 2 §6.7
            self.routes[("POST", f"{p}/v1/countdownCancelAll")] = PrivateEndpoint(trade, 10, self._countdown)
        for (method, path), (security, cost, unscoped, asks) in algo_rest.ROUTES[market].items():
            endpoint = PrivateEndpoint(security, cost, functools.partial(asks, engine), unscoped)
            self.routes[(method, p + path)] = endpoint
        tables = (settings_routes.ROUTES, margin_routes.ROUTES, reads.ROUTES, amendments.ROUTES, adl.ROUTES)
        for table in tables:
            for (method, path), (security, cost, changes) in table[market].items():
                served = functools.partial(changes, engine)
                unscoped = reads.UNSCOPED[market].get((method, path), 0)  # (only reads' keys are in it)
                self.routes[(method, p + path)] = PrivateEndpoint(security, cost, served, unscoped)
        if um:
            self.routes |= {
                ("GET", "/fapi/v2/account"): PrivateEndpoint(read, account_weight, self._account_v2),
                ("GET", "/fapi/v3/account"): PrivateEndpoint(read, account_weight, self._account_v3),
                ("GET", "/fapi/v2/positionRisk"): PrivateEndpoint(read, 5, self._risk_v2),
                ("GET", "/fapi/v3/positionRisk"): PrivateEndpoint(read, 5, self._risk_v3),
            }
        else:
            self.routes |= {
                ("GET", "/dapi/v1/account"): PrivateEndpoint(read, account_weight, self._account_v2),
                ("GET", "/dapi/v1/positionRisk"): PrivateEndpoint(read, 1, self._risk_v2),
                ("GET", "/dapi/v1/leverageBracket"): PrivateEndpoint(read, 1, self._pair_brackets),  # by pair
            }

    def answer(self, route: tuple[str, str], request: PrivateRequest, now_ms: int) -> RestAnswer:
        """The answer to a request for one of ``routes``, (method, path): admitted, performed."""
        endpoint = self.routes[route]
        admitted = self._admit(endpoint, request, now_ms)
        if isinstance(admitted, RestAnswer):
            return admitted
        authorized, used = admitted
        return self._perform(endpoint, authorized, used, now_ms)

    def admit(
        self, route: tuple[str, str], request: PrivateRequest, now_ms: int
    ) -> tuple[Authorized, int] | RestAnswer:
        """Part 1 §10's steps before the endpoint: the IP's weight, then ``authorize``; the request
        authorized and the weight used, or the refusal (``--workers``: ``wire/forwarded.py``)."""
        return self._admit(self.routes[route], request, now_ms)

    def perform(self, route: tuple[str, str], authorized: Authorized, used: int, now_ms: int) -> RestAnswer:
        """The endpoint's answer to an admitted request (``used``: the IP's weight)."""
        return self._perform(self.routes[route], authorized, used, now_ms)

    def _admit(
        self, endpoint: PrivateEndpoint, request: PrivateRequest, now_ms: int
    ) -> tuple[Authorized, int] | RestAnswer:
        verdict = self.weight.charge(request.ip, endpoint.weight_of(request), now_ms)
        if verdict.status != 200:
            limited = rate_limit_error(verdict, request.ip, self.weight.limit)
            retry_s = -(-verdict.retry_after_ms // 1000)
            return RestAnswer(verdict.status, (error_body(limited),), verdict.used, retry_s)
        try:
            return authorize(request, endpoint.security, self.accounts, now_ms), verdict.used
        except RequestRefused as refused:
            return self._refused(endpoint, refused, verdict.used)

    def _perform(self, endpoint: PrivateEndpoint, authorized: Authorized, used: int, now: int) -> RestAnswer:
        try:
            result = endpoint.answer(authorized, self.venue_ms(endpoint.security, now))
        except RequestRefused as refused:
            return self._refused(endpoint, refused, used)
        if type(result) is Headed:  # (_new: RestAnswer(200, …) without its Python __new__)
            return _new(RestAnswer, (200, (_encode(result.value),), used, None, result.header_lines()))
        return _new(RestAnswer, (200, (_encode(result),), used, None, b""))

    def venue_ms(self, security: Security, now_ms: int) -> int:
        """The time an endpoint answers at: a replay's venue's (``venue_now``), but a listen
        key's, the server's."""
        return now_ms if self.venue_now is None or security is _KEYS else self.venue_now()

    def _refused(self, endpoint: PrivateEndpoint, refused: RequestRefused, used: int) -> RestAnswer:
        if self._activity is not None and endpoint.security is Security.TRADE:
            self._activity.refused(refused.code)
        return RestAnswer(refused.status, (error_body(refused),), used, refused.retry_after_s)

    # -- balances and account ------------------------------------------------------------

    def _balance(self, authorized: Authorized, now_ms: int) -> Any:
        who = authorized.account
        balances = self.accounts.balances(who.account_id)
        if self.engine is None:
            return balance_rows(self.market, who, balances, self.coins)
        return balance(self.engine, who, balances, self.coins)

    def account_answer(self, authorized: Authorized, *, v2: bool, ws: bool = False) -> Any:
        """The account read (``account_payloads.account``; ``ws``: the WebSocket API's twin)."""
        who = authorized.account
        return account(self._engine, who, self.accounts.balances(who.account_id), self.coins, v2=v2, ws=ws)

    def _account_v2(self, authorized: Authorized, now_ms: int) -> Any:
        return self.account_answer(authorized, v2=True)

    def _account_v3(self, authorized: Authorized, now_ms: int) -> Any:
        return self.account_answer(authorized, v2=False)

    def _risk_v2(self, authorized: Authorized, now_ms: int) -> Any:
        params = authorized.params
        if self.market is Market.UM:
            account_id, symbol = authorized.account.account_id, params.get("symbol")
            return position_risk(self._engine, account_id, symbol, v3=False, now_ms=now_ms)
        pair, asset = params.get("pair", ""), params.get("marginasset", "")  # COIN-M's filters
        account_id = authorized.account.account_id
        return position_risk(
            self._engine, account_id, None, v3=False, pair=pair, margin_asset=asset, now_ms=now_ms
        )

    def _risk_v3(self, authorized: Authorized, now_ms: int) -> Any:
        symbol = authorized.params.get("symbol")
        return position_risk(self._engine, authorized.account.account_id, symbol, v3=True, now_ms=now_ms)

    # -- orders --------------------------------------------------------------------------

    @property
    def _engine(self) -> Engine:
        assert self.engine is not None  # the routes that use it exist only with one
        return self.engine

    def _place(self, authorized: Authorized, now_ms: int) -> Any:
        engine = self._engine  # (a property: read once an order)
        placed = new_order(engine, authorized.account.account_id, authorized.params, now_ms)
        assert placed.order is not None and placed.ack is not None
        shown = placed.order if authorized.params.get("neworderresptype") == "RESULT" else placed.ack
        return _new(Headed, (self._ack(shown), placed.counts))

    def _ack(self, order: Order) -> dict[str, Any]:
        return order_payloads.placed(order, self._engine.instruments[order.symbol], self._fill_fields)

    def _test(self, authorized: Authorized, now_ms: int) -> Any:
        new_order(self._engine, authorized.account.account_id, authorized.params, now_ms, test=True)
        return {}

    def _query(self, authorized: Authorized, now_ms: int) -> Any:
        account_id = authorized.account.account_id
        order = history.order(self._engine, account_id, authorized.params, now_ms, open_only=False)
        return order_payloads.read(order, self._engine.instruments[order.symbol])

    def _open_order(self, authorized: Authorized, now_ms: int) -> Any:
        account_id = authorized.account.account_id
        order = history.order(self._engine, account_id, authorized.params, now_ms, open_only=True)
        return order_payloads.read(order, self._engine.instruments[order.symbol])

    def _cancel(self, authorized: Authorized, now_ms: int) -> Any:
        order = cancel_order(self._engine, authorized.account.account_id, authorized.params, now_ms)
        return self._ack(order)

    def _modify(self, authorized: Authorized, now_ms: int) -> Any:
        params = authorized.params
        order, counts = amend_order(self._engine, authorized.account.account_id, params, now_ms)
        return Headed(self._modified(order, authorized.params), counts)

    def _modified(self, order: Order, params: Mapping[str, str]) -> dict[str, Any]:
        inst, modify_id = self._engine.instruments[order.symbol], params.get("modifyid")
        return order_payloads.modified(order, inst, modify_id, self._fill_fields)

    def _place_batch(self, authorized: Authorized, now_ms: int) -> Any:
        engine, account_id = self._engine, authorized.account.account_id
        items = batches.elements(authorized.params)
        counts = engine.counts.charge(account_id, now_ms, batch=True)  # the batch counts once

        def place(item: dict[str, str]) -> Any:
            placed = new_order(engine, account_id, item, now_ms, in_batch=True)
            assert placed.order is not None and placed.ack is not None
            shown = placed.order if item.get("neworderresptype") == "RESULT" else placed.ack
            return self._ack(shown)

        return Headed(batches.each(items, place), counts)

    def _modify_batch(self, authorized: Authorized, now_ms: int) -> Any:
        engine, account_id = self._engine, authorized.account.account_id
        items = batches.elements(authorized.params)
        counts = engine.counts.charge(account_id, now_ms, batch=True)  # the batch counts once

        def change(item: dict[str, str]) -> Any:
            order, _ = amend_order(engine, account_id, item, now_ms, in_batch=True)
            return self._modified(order, item)

        return Headed(batches.each(items, change), counts)

    def _cancel_batch(self, authorized: Authorized, now_ms: int) -> Any:
        engine, params = self._engine, authorized.params
        symbol = parse_symbol(authorized.params)
        ids = batches.id_list(params, "orderIdList")  # an empty list is none sent
        client_ids = batches.id_list(params, "origClientOrderIdList") if ids is None else None
        if ids is None and client_ids is None:
            raise refused(-1102, batches.NEITHER_LIST)
        symbol = engine.symbol(symbol).symbol  # the batch's one symbol, before any order: -1121 (400)
        refs = [{"symbol": symbol, "orderid": str(i)} for i in ids or ()] + [
            {"symbol": symbol, "origclientorderid": c} for c in client_ids or ()
        ]

        def cancel(ref: dict[str, str]) -> Any:
            order = cancel_order(engine, authorized.account.account_id, ref, now_ms)
            return self._ack(order)

        return batches.each(refs, cancel)

    def _open_orders(self, authorized: Authorized, now_ms: int) -> Any:
        engine = self._engine
        orders = history.asked_open_orders(engine, authorized.account.account_id, authorized.params)
        return [order_payloads.read(o, engine.instruments[o.symbol]) for o in orders]

    def _countdown(self, authorized: Authorized, now_ms: int) -> Any:
        """Part 2 §6.7: ``countdownTime`` ms from now (0 stops it); the answer's a string."""
        symbol = self._engine.symbol(parse_symbol(authorized.params)).symbol
        countdown = parse_int(authorized.params, "countdownTime")
        if countdown is None:
            raise mandatory("countdownTime")
        assert self._countdowns is not None
        self._countdowns.set(authorized.account.account_id, symbol, countdown, now_ms)
        return {"symbol": symbol, "countdownTime": str(countdown)}

    def _cancel_all(self, authorized: Authorized, now_ms: int) -> Any:
        cancel_all(self._engine, authorized.account.account_id, parse_symbol(authorized.params), now_ms)
        return _CANCELLED_ALL

    def _all_orders(self, authorized: Authorized, now_ms: int) -> Any:
        engine, params = self._engine, authorized.params
        orders = history.orders(engine, authorized.account.account_id, params, now_ms)
        return [order_payloads.read(o, engine.instruments[o.symbol]) for o in orders]

    def _user_trades(self, authorized: Authorized, now_ms: int) -> Any:
        engine, params = self._engine, authorized.params
        fills = history.trades(engine, authorized.account.account_id, params, now_ms)
        return [order_payloads.trade(f, engine.instruments[f.symbol]) for f in fills]

    # -- settings ------------------------------------------------------------------------

    def _brackets(self, authorized: Authorized, now_ms: int) -> Any:
        """Part 3 §4.9: every symbol's brackets, USDⓈ-M's an object for one ``symbol``, COIN-M's
        a list even then (its doc has no other form); COIN-M's edges in the coin."""
        engine = self._engine
        symbol = authorized.params.get("symbol")
        chosen = [engine.symbol(symbol).symbol] if symbol else list(engine.instruments)
        rows = [{"symbol": name, "brackets": self._bracket_rows(name)} for name in chosen]
        return rows[0] if symbol and self.market is Market.UM else rows

    def _pair_brackets(self, authorized: Authorized, now_ms: int) -> Any:
        """COIN-M's legacy ``GET /dapi/v1/leverageBracket`` (part 3 §4.9): by ``pair``, the
        brackets of the pair's first listed symbol (its perpetual), a list even for one."""
        engine, pair = self._engine, authorized.params.get("pair")
        firsts: dict[str, str] = {}
        for name, inst in engine.instruments.items():
            firsts.setdefault(inst.pair, name)
        if pair and pair.upper() not in firsts:
            raise refused(-1121, "Invalid symbol.")
        chosen = [(pair.upper(), firsts[pair.upper()])] if pair else list(firsts.items())
        return [{"pair": name, "brackets": self._bracket_rows(first)} for name, first in chosen]

    def _bracket_rows(self, symbol: str) -> list[dict[str, Any]]:
        um = self.market is Market.UM
        rows = []
        for number, b in enumerate(self._engine.contracts[symbol].brackets, 1):
            edges = {"qtyCap": b.cap, "qtyFloor": b.floor}
            if um:
                edges = {"notionalCap": b.cap, "notionalFloor": b.floor}
            rows.append({"bracket": number, "initialLeverage": b.initial_leverage, **edges,
                         "maintMarginRatio": float(b.mmr), "cum": float(b.cum)})  # fmt: skip
        return rows

    # -- listen keys (part 4 §1.1) ---------------------------------------------------------

    def _start(self, authorized: Authorized, now_ms: int) -> Any:
        assert self._listen_keys is not None
        return {"listenKey": self._listen_keys.start(authorized.account.account_id, now_ms)}

    def _keep_alive(self, authorized: Authorized, now_ms: int) -> Any:
        assert self._listen_keys is not None
        key = self._listen_keys.keep_alive(authorized.account.account_id, now_ms)
        if key is None:
            raise NO_LISTEN_KEY()
        return {"listenKey": key}

    def _close(self, authorized: Authorized, now_ms: int) -> Any:
        assert self._listen_keys is not None
        self._listen_keys.close(authorized.account.account_id)
        return {}


# (method, path) as bytes -> the surface serving the route and the route, as ``routes`` keys it
RoutesByBytes = dict[tuple[bytes, bytes], tuple["PrivateRest", tuple[str, str]]]


def private_routes(*surfaces: PrivateRest | None) -> RoutesByBytes:
    """Every route of ``surfaces`` by its method and path as bytes (a listener finds a
    private request by them before it decodes anything); a later surface's over an earlier's."""
    return {
        (method.encode(), path.encode()): (surface, (method, path))
        for surface in surfaces
        if surface is not None
        for method, path in surface.routes
    }


def error_body(refused: RequestRefused) -> bytes:
    """A refusal's JSON body, as every private answer writes one."""
    return _encode({"code": refused.code, "msg": refused.msg})
