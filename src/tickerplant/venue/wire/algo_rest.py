"""The Algo Order service's endpoints (trading spec part 2 §4.2–§4.4): each
``(engine, authorized, now_ms) -> a JSON value``; ``ROUTES`` per market with security type
and weight. COIN-M has the same six under ``/dapi``: Binance's migration notice lists
``POST``/``DELETE /dapi/v1/algoOrder`` and ``GET /dapi/v1/openAlgoOrders`` (part 2 §4.1); the
query of one, ``allAlgoOrders`` and ``algoOpenOrders`` ccxt calls for COIN-M trigger orders
and says it verified live (part 5 §2.1.9), and part 2's Unresolved 9 (with part 5's
Unresolved 4) settles them mirroring USDⓈ-M.

A change is parsed here into the engine's command (``PlaceAlgo``: ``algo_params.parse_new_algo``,
after the order-rate limits are charged, 1 on each window: part 2 §4.2; ``CancelAlgo``,
``CancelAllAlgos``), applied by ``Engine.apply``, and its outcome formatted; a refusal at
the parse reaches no engine and journals nothing."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from tickerplant.market.instruments import Market
from tickerplant.protocol.errors import mandatory
from tickerplant.venue.algo.placing import child_figures
from tickerplant.venue.auth.checks import Authorized, Security
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.algo_order import AlgoOrder
from tickerplant.venue.domain.algo_params import parse_algo_ref, parse_new_algo
from tickerplant.venue.domain.commands import CancelAlgo, CancelAllAlgos, PlaceAlgo
from tickerplant.venue.domain.order_params import parse_int, parse_time_range, refused
from tickerplant.venue.domain.orders import TimeInForce
from tickerplant.venue.engine.history import WINDOW_MS, window
from tickerplant.venue.payloads import algo_payloads
from tickerplant.venue.wire.headed import Headed

__all__ = ["ROUTES", "WS_TIFS", "cancel_algo", "cancel_all_algos", "new_algo", "place"]

AlgoEndpoint = Callable[[Engine, Authorized, int], Any]
_CANCELLED_ALL = {"code": 200, "msg": "The operation of cancel all open order is done."}


# The WebSocket API's ``algoOrder.place`` takes fewer times in force than REST's (part 2 §4.2:
# its enum dropped GTX, GTD and RPI); refused -1115 there, never more forgiving than Binance
WS_TIFS = (TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK)


def new_algo(
    engine: Engine, account_id: int, params: Mapping[str, str], now_ms: int,
    tifs: Collection[TimeInForce] = (),
) -> tuple[AlgoOrder, list[tuple[str, int]]]:  # fmt: skip
    """``POST …/algoOrder``'s change: the order placed, and the account's order counts after
    it (X-MBX-ORDER-COUNT-*: charged before the parse, a refused order counts too); ``tifs``:
    the times in force taken, when fewer than REST's (``WS_TIFS``)."""
    counts = engine.counts.charge(account_id, now_ms)
    new = parse_new_algo(params, engine.instruments, now_ms, engine.ledger(account_id).hedge, tifs=tifs)
    order = engine.apply(PlaceAlgo(account_id, new), now_ms).algo
    assert order is not None
    return order, counts


def cancel_algo(engine: Engine, account_id: int, params: Mapping[str, str], now_ms: int) -> AlgoOrder:
    order = engine.apply(CancelAlgo(account_id, *parse_algo_ref(params)), now_ms).algo
    assert order is not None
    return order


def cancel_all_algos(engine: Engine, account_id: int, symbol: str, now_ms: int) -> None:
    engine.apply(CancelAllAlgos(account_id, engine.symbol(symbol).symbol), now_ms)


def place(engine: Engine, authorized: Authorized, now_ms: int, tifs: Collection[TimeInForce] = ()) -> Any:
    order, counts = new_algo(engine, authorized.account.account_id, authorized.params, now_ms, tifs)
    return Headed(algo_payloads.placed(order, engine.instruments[order.symbol]), counts)


def cancel(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    order = cancel_algo(engine, authorized.account.account_id, authorized.params, now_ms)
    return algo_payloads.cancelled(order)


def cancel_all(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    symbol = authorized.params.get("symbol")
    if not symbol:
        raise mandatory("symbol")
    cancel_all_algos(engine, authorized.account.account_id, symbol, now_ms)
    return _CANCELLED_ALL


def query(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    account_id = authorized.account.account_id
    order = engine.algos.find(account_id, *parse_algo_ref(authorized.params), with_legacy=False)
    if order is None:
        raise refused(-2013, "Order does not exist.")
    return _read(engine, order)


def open_orders(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    symbol = authorized.params.get("symbol")
    name = engine.symbol(symbol).symbol if symbol else None
    algo_id = parse_int(authorized.params, "algoId")
    found = engine.algos.open_orders(authorized.account.account_id, name, with_legacy=False)
    return [_read(engine, a, listed=True) for a in found if algo_id is None or a.algo_id == algo_id]


def all_orders(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    params = authorized.params
    symbol = params.get("symbol")
    if not symbol:
        raise mandatory("symbol")
    first = parse_int(params, "algoId")
    start, end = parse_time_range(params)
    if first is None or start is not None or end is not None:  # allOrders' 7 days (-4165; COIN-M -4088)
        start, end = window(engine.market, start, end, now_ms, WINDOW_MS)
    listed = engine.symbol(symbol).symbol
    found = engine.algos.orders(authorized.account.account_id, listed, with_legacy=False)
    chosen = [
        a for a in found
        if (first is None or a.algo_id >= first) and (start is None or a.create_ms >= start)
        and (end is None or a.create_ms <= end)
    ]  # fmt: skip
    limit = min(parse_int(params, "limit") or 500, 1000)
    return [_read(engine, a, listed=True) for a in chosen[:limit]]


def _read(engine: Engine, order: AlgoOrder, *, listed: bool = False) -> dict[str, Any]:
    avg, executed = child_figures(engine, order)
    return algo_payloads.read(order, engine.instruments[order.symbol], avg, executed, listed=listed)


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
        ("DELETE", "/v1/algoOpenOrders"): (_TRADE, 1, 0, cancel_all),
        ("GET", "/v1/algoOrder"): (_READ, 1, 0, query),
        ("GET", "/v1/openAlgoOrders"): (_READ, 1, 40, open_orders),
        ("GET", "/v1/allAlgoOrders"): (_READ, 5, 0, all_orders),
    },
}
