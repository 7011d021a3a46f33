"""An algo order's change told and journaled (``tell_algo``): its ``ALGO_UPDATE`` and its row;
for one placed on ``/v1/order`` under ``--legacy-conditional-orders`` (``algo/legacy.py``),
its order's ``ORDER_TRADE_UPDATE`` instead, the order kept and journaled as an order's. One
home for every change: placed, cancelled, triggered, finished (``algo/``), and expired with
the position it closed (``settlement.py``)."""

from __future__ import annotations

from tickerplant.venue.domain.algo_order import AlgoOrder, legacy_view
from tickerplant.venue.domain.events import AlgoRow, AlgoUpdate, Made, OrderRow
from tickerplant.venue.engine.state import EngineState

__all__ = ["GOOD_TILL_PASSED", "LIQUIDATED", "tell_algo"]

GOOD_TILL_PASSED = "Good till date passed"  # ``rm`` of a GTD order expired untriggered
LIQUIDATED = "Liquidated"  # ``rm`` of a legacy order its account's liquidation expired
# ``er`` of a legacy order's EXPIRED by its status (part 4 §3.1's list): its order refused "0";
# triggered "8" (initial order expired after the stop order triggered); a ``closePosition``
# order whose position closed "6" (GTE condition unsatisfied). Its goodTillDate passed ("0")
# and its account liquidated ("5") are their callers' (``expiry``).
_EXPIRY = {"EXPIRED": "6", "REJECTED": "0", "TRIGGERED": "8"}


def tell_algo(
    state: EngineState, algo: AlgoOrder, now_ms: int, out: Made, figures: tuple[str, str] = ("", ""),
    before: tuple[int, int] | None = None, expiry: str = "",
) -> None:  # fmt: skip
    """``algo``'s event (``figures``: its child's average price and executed quantity; none
    for ``TRIGGERING``, which its trigger tells itself) and its row. A legacy one's is its
    order's: none while it triggers or once finished (the order it became tells itself), and
    once triggered the order it was expires (its id is the new order's now: not kept again),
    its ``b``/``a`` the account's open orders ``before`` the order it became was placed;
    ``expiry``: a legacy order's ``er`` when it is not its status's (``_EXPIRY``)."""
    status = algo.status
    if not algo.legacy:
        if status != "TRIGGERING":
            out.events.append(AlgoUpdate(now_ms, algo.account_id, state.algos.copy(algo), *figures))
    elif status not in ("TRIGGERING", "FINISHED"):
        if status == "REJECTED":  # its order refused at the trigger: USDⓈ-M's legacy
            # CONDITIONAL_ORDER_TRIGGER_REJECT says why (part 4 §3.8; ``user_events`` writes it)
            out.events.append(AlgoUpdate(now_ms, algo.account_id, state.algos.copy(algo), *figures))
        shown, seat = legacy_view(algo), state.seat(algo.account_id, algo.symbol)
        expiry = expiry or _EXPIRY.get(status, "")
        execution = "EXPIRED" if expiry else status
        update = state.order_update(seat, execution, shown.status, shown, None, now_ms, expiry)
        out.events.append(update if before is None else update._replace(open_values=before))
        if status != "TRIGGERED":
            seat.add(shown)
            out.records.append(OrderRow(shown.copy()))
    out.records.append(AlgoRow(state.algos.copy(algo)))
