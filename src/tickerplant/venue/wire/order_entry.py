"""Order entry at the wire: a request's text parsed into the engine's commands
(``domain/commands.py``) and applied, for REST's, the WebSocket API's and the batches'
``POST``/``PUT``/``DELETE …/order``.

A new order is charged to the account's order-rate limits before anything is read (a
refused order counts too, as on Binance: part 1 §7), then parsed in the account's position
mode (``reduceOnly`` is refused in hedge mode whatever its value), then applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from tickerplant.market.instruments import Market
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.algo_params import parse_legacy_conditional
from tickerplant.venue.domain.commands import Amend, Cancel, CancelAll, Place, PlaceAlgo
from tickerplant.venue.domain.order_params import (
    CONDITIONAL,
    parse_amended,
    parse_bool,
    parse_int,
    parse_new_order,
    parse_order_ref,
)
from tickerplant.venue.domain.orders import Order

__all__ = ["Placed", "amend_order", "cancel_all", "cancel_order", "new_order"]

_new = tuple.__new__


class Placed(NamedTuple):
    order: Order | None  # None: a test order, validated only
    ack: Order | None  # the order as accepted, before matching (newOrderRespType=ACK)
    counts: list[tuple[str, int]]  # X-MBX-ORDER-COUNT-* headers


def new_order(
    engine: Engine, account_id: int, params: Mapping[str, str], now_ms: int, *, test: bool = False,
    in_batch: bool = False,
) -> Placed:
    """``in_batch``: an element of a batch, which counted as one (``order_counts.py``)."""
    counts = [] if test or in_batch else engine.counts.charge(account_id, now_ms)
    hedge = engine.ledger(account_id).hedge
    if engine.legacy_conditional and params.get("type") in CONDITIONAL:  # decision 1's setting
        return _legacy_conditional(engine, account_id, params, now_ms, test, counts)
    order = parse_new_order(params, engine.instruments, now_ms, hedge)
    # Place(…), Placed(…) without the NamedTuples' generated Python __new__ (once an order each)
    outcome = engine.apply(_new(Place, (account_id, order, test)), now_ms)
    return _new(Placed, (outcome.order, outcome.ack, counts))


def _legacy_conditional(
    engine: Engine, account_id: int, params: Mapping[str, str], now_ms: int, test: bool,
    counts: list[tuple[str, int]],
) -> Placed:  # fmt: skip
    """A conditional order on ``…/v1/order`` (``algo/legacy.py``): the order it is while it
    waits for its price (a test order: checked as a new one is, nothing made)."""
    hedge = engine.ledger(account_id).hedge
    order = parse_legacy_conditional(params, engine.instruments, now_ms, hedge)
    algo = engine.apply(PlaceAlgo(account_id, order, legacy=True, test=test), now_ms).algo
    if algo is None:  # a test order: validated only
        return Placed(None, None, counts)
    shown = engine.kept(account_id, algo.symbol).orders[algo.order_id]
    return Placed(shown, shown.copy(), counts)


def amend_order(
    engine: Engine, account_id: int, params: Mapping[str, str], now_ms: int, *, in_batch: bool = False
) -> tuple[Order, list[tuple[str, int]]]:
    """``PUT …/order`` (``engine/amendment.py``): the order after the change, and the
    account's order counts after it (a modification counts: part 2 §5; ``in_batch``: an
    element of a batch, which counted as one)."""
    counts = [] if in_batch else engine.counts.charge(account_id, now_ms)
    symbol, order_id, client_id = parse_order_ref(params)
    modify_id = parse_int(params, "modifyId")  # a LONG (part 2 §5): -1102 before anything changes
    inst = engine.symbol(symbol)
    side, qty, price, match = parse_amended(params, inst)
    # USDⓈ-M's reduceOnly on a modification, a check alone (part 2 §5, since 2026-09-15)
    reduce_only = parse_bool(params, "reduceOnly") if inst.market is Market.UM else False
    ref = (account_id, inst.symbol, order_id, client_id)
    command = Amend(*ref, side, qty, price, modify_id, reduce_only, match)
    outcome = engine.apply(command, now_ms)
    assert outcome.order is not None
    return outcome.order, counts


def cancel_order(engine: Engine, account_id: int, params: Mapping[str, str], now_ms: int) -> Order:
    symbol, order_id, client_id = parse_order_ref(params)
    listed = engine.symbol(symbol).symbol
    # Cancel(…) without the NamedTuple's generated Python __new__ (once a cancel)
    outcome = engine.apply(_new(Cancel, (account_id, listed, order_id, client_id)), now_ms)
    assert outcome.order is not None
    return outcome.order


def cancel_all(engine: Engine, account_id: int, symbol: str, now_ms: int) -> None:
    engine.apply(CancelAll(account_id, engine.symbol(symbol).symbol), now_ms)
