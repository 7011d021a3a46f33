"""Decision 1's ``--legacy-conditional-orders``: the five conditional types on ``…/v1/order``,
as Binance took them before 2025-12-09 (USDⓈ-M) and before its COIN-M cutover (part 2 §1,
§3.1's "Legacy / CM" column, §3.2).

Such an order is one order from placement to its end, as the 2021 capture shows it (part 2
§3.4: a COIN-M STOP_MARKET read back once triggered and filled with its ``orderId``, ``time``
and ``stopPrice``, ``type`` MARKET and ``origType`` STOP_MARKET). Underneath, the Algo Order
service's book keeps its trigger (``engine/algo_book.py``; ``AlgoOrder.legacy``, its
``algo_id`` drawn from the symbol's order ids), so triggers, trailing, ``priceProtect`` and
``closePosition`` are the algo orders' own code. What a client sees is an order's:

- **Placed**: ``ORDER_TRADE_UPDATE`` ``x=NEW`` with ``o`` and ``ot`` its type, ``sp`` its
  stop price, ``wt``, ``cp``, ``pP`` (and ``AP``, ``cr`` for a trailing stop); no
  ``ALGO_UPDATE``. The order (``algo_order.legacy_view``) is kept beside the account's
  others and journaled as an order's row, so ``GET order``, ``openOrders`` and ``allOrders``
  list it; it reserves no margin (decision 7) and rests in no book.
- **Triggered**: ``x=EXPIRED`` with ``er`` "8" ("initial order expired after the stop order
  triggered", part 4 §3.1's list), then the order it becomes, with the same ``orderId`` and
  ``clientOrderId``: ``x=NEW`` with ``o`` MARKET (LIMIT for STOP and TAKE_PROFIT) and ``ot``
  its type, then its fills (an inference from ``er`` 8 and the capture: Binance's legacy
  sequence is not captured in the spec).
- **Cancelled** (``DELETE order``, ``allOpenOrders``, the countdown): ``x=CANCELED``; a
  ``closePosition`` order whose position closed, or that triggers with none: ``x=EXPIRED``
  ``er`` "6" (GTE condition unsatisfied); one whose order is refused at its trigger:
  ``EXPIRED`` (REJECTED underneath, with the refusal's text in the journal's row), on
  USDⓈ-M after a ``CONDITIONAL_ORDER_TRIGGER_REJECT`` with that text (part 4 §3.8).
- **Modified**: refused, as every order but a LIMIT is (-5025, COIN-M -4196; untriggered
  conditional orders cannot be modified, part 2 §4).

The algo endpoints (``openAlgoOrders``, ``algoOrder``, ``allAlgoOrders``) do not list these.
Its events are made in one place with every algo order's (``engine/algo_told.py``).
"""

from __future__ import annotations

from tickerplant.market.instruments import Market
from tickerplant.venue.domain.algo_order import AlgoOrder
from tickerplant.venue.domain.commands import Amend, Cancel, CancelAll
from tickerplant.venue.domain.events import Made
from tickerplant.venue.domain.order_params import refused
from tickerplant.venue.domain.orders import Order
from tickerplant.venue.engine import amendment, placement
from tickerplant.venue.engine.algo_told import tell_algo
from tickerplant.venue.engine.state import EngineState

__all__ = ["amend", "cancel", "cancel_all", "waiting"]


def waiting(state: EngineState, order: Order) -> AlgoOrder | None:
    """The legacy algo order ``order`` shows while it waits for its price, else None."""
    if order.trigger is None or order.trigger.triggered or not order.status.is_open:
        return None
    return state.algos.find_legacy(order.account_id, order.symbol, order.order_id)


def cancel(state: EngineState, command: Cancel, now_ms: int, out: Made) -> Order:
    """``Cancel``: a legacy conditional order waiting for its price, else an order
    (``placement.cancel``)."""
    algo = _waiting_for(state, command)
    if algo is None:  # (most cancels: an order's)
        return placement.cancel(state, command, now_ms, out)
    state.algos.close(algo, "CANCELED", now_ms)
    tell_algo(state, algo, now_ms, out)
    return state.kept(command.account_id, command.symbol).orders[algo.order_id]


def cancel_all(state: EngineState, command: CancelAll, now_ms: int, out: Made) -> None:
    """``CancelAll``: the account's orders on the symbol, its legacy conditional ones too."""
    placement.cancel_all(state, command, now_ms, out)
    for algo in state.algos.legacy_on(command.account_id, command.symbol):
        state.algos.close(algo, "CANCELED", now_ms)
        tell_algo(state, algo, now_ms, out)


def amend(state: EngineState, command: Amend, now_ms: int, out: Made) -> Order:
    """``Amend``: refused for a legacy conditional order waiting for its price, as for every
    order but a LIMIT (part 2 §4: an untriggered conditional order cannot be modified)."""
    if command.account_id in state.algos.legacy_waiting and _waiting_for(state, command) is not None:
        raise refused(-5025 if state.market is Market.UM else -4196, "Only limit order is supported.")
    return amendment.modify(state, command, now_ms, out)  # (most accounts wait for none: no call)


def _waiting_for(state: EngineState, command: Cancel | Amend) -> AlgoOrder | None:
    """The legacy order ``command`` names (by ``orderId``, else ``origClientOrderId``), if it
    waits for its price; None at once for an account with none (most commands)."""
    if command.account_id not in state.algos.legacy_waiting:
        return None
    found = state.find(command.account_id, command.symbol, command.order_id, command.client_id)
    return waiting(state, found) if found is not None else None
