"""The Algo Order service's endpoints (trading spec part 2 §4.2–§4.4): each
``(service, authorized, now_ms) -> a JSON value``; ``ROUTES`` per market with security type
and weight. COIN-M has ``POST``/``DELETE /dapi/v1/algoOrder`` and ``GET
/dapi/v1/openAlgoOrders`` (part 2 §4.1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tickerplant.market.instruments import Market
from tickerplant.market.units import fixed
from tickerplant.protocol.errors import mandatory
from tickerplant.venue.algo.algo_service import AlgoService
from tickerplant.venue.auth.checks import Authorized, Security
from tickerplant.venue.domain.algo_order import AlgoOrder
from tickerplant.venue.domain.order_params import parse_int, parse_time_range
from tickerplant.venue.payloads import algo_payloads
from tickerplant.venue.payloads.order_payloads import avg_price
from tickerplant.venue.wire.headed import Headed

__all__ = ["ROUTES"]

AlgoEndpoint = Callable[[AlgoService, Authorized, int], Any]
_CANCELLED_ALL = {"code": 200, "msg": "The operation of cancel all open order is done."}
_WEEK_MS = 7 * 24 * 3600_000


def place(service: AlgoService, authorized: Authorized, now_ms: int) -> Any:
    order, counts = service.place(authorized.account.account_id, authorized.params, now_ms)
    return Headed(algo_payloads.placed(order, service.engine.instruments[order.symbol]), counts)


def cancel(service: AlgoService, authorized: Authorized, now_ms: int) -> Any:
    return algo_payloads.cancelled(service.cancel(authorized.account.account_id, authorized.params, now_ms))


def cancel_all(service: AlgoService, authorized: Authorized, now_ms: int) -> Any:
    symbol = authorized.params.get("symbol")
    if not symbol:
        raise mandatory("symbol")
    service.cancel_all(authorized.account.account_id, symbol, now_ms)
    return _CANCELLED_ALL


def query(service: AlgoService, authorized: Authorized, now_ms: int) -> Any:
    return _read(service, service.book.find(authorized.account.account_id, authorized.params))


def open_orders(service: AlgoService, authorized: Authorized, now_ms: int) -> Any:
    symbol = authorized.params.get("symbol")
    name = service.engine.symbol(symbol).symbol if symbol else None
    algo_id = parse_int(authorized.params, "algoId")
    found = service.book.open_orders(authorized.account.account_id, name)
    return [_read(service, a, listed=True) for a in found if algo_id is None or a.algo_id == algo_id]


def all_orders(service: AlgoService, authorized: Authorized, now_ms: int) -> Any:
    params = authorized.params
    symbol = params.get("symbol")
    if not symbol:
        raise mandatory("symbol")
    first = parse_int(params, "algoId")
    start, end = parse_time_range(params)
    if first is None and start is None and end is None:
        start = now_ms - _WEEK_MS
    found = service.book.orders(authorized.account.account_id, service.engine.symbol(symbol).symbol)
    chosen = [
        a for a in found
        if (first is None or a.algo_id >= first) and (start is None or a.create_ms >= start)
        and (end is None or a.create_ms <= end)
    ]  # fmt: skip
    limit = min(parse_int(params, "limit") or 500, 1000)
    return [_read(service, a, listed=True) for a in chosen[:limit]]


def _read(service: AlgoService, order: AlgoOrder, *, listed: bool = False) -> dict[str, Any]:
    engine = service.engine
    inst = engine.instruments[order.symbol]
    avg = executed = ""
    if order.child_id is not None:
        child = engine.find(order.account_id, order.symbol, order.child_id, None)
        if child is not None:
            avg, executed = avg_price(child, inst), fixed(child.executed_qty, inst.qty_decimals)
    return algo_payloads.read(order, inst, avg, executed, listed=listed)


_TRADE, _READ = Security.TRADE, Security.USER_DATA
# (method, path after /fapi or /dapi) -> (security, weight, weight without symbol, endpoint)
ROUTES: dict[Market, dict[tuple[str, str], tuple[Security, int, int, AlgoEndpoint]]] = {
    Market.UM: {
        ("POST", "/v1/algoOrder"): (_TRADE, 0, 0, place),
        ("DELETE", "/v1/algoOrder"): (_TRADE, 1, 0, cancel),
        ("DELETE", "/v1/algoOpenOrders"): (_TRADE, 1, 0, cancel_all),
        ("GET", "/v1/algoOrder"): (_READ, 1, 0, query),
        ("GET", "/v1/openAlgoOrders"): (_READ, 1, 40, open_orders),
        ("GET", "/v1/allAlgoOrders"): (_READ, 5, 0, all_orders),
    },
    Market.CM: {
        ("POST", "/v1/algoOrder"): (_TRADE, 1, 0, place),
        ("DELETE", "/v1/algoOrder"): (_TRADE, 1, 0, cancel),
        ("GET", "/v1/openAlgoOrders"): (_READ, 1, 40, open_orders),
    },
}
