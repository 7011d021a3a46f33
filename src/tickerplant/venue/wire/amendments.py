"""``GET …/orderAmendment`` (part 2 §5): an order's modifications, as the doc writes them.
The modifications themselves are ``engine/amendment.py``'s."""

from __future__ import annotations

from typing import Any

from tickerplant.market.instruments import Market
from tickerplant.market.units import fixed
from tickerplant.venue.auth.checks import Authorized, Security
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.order_params import parse_int, parse_time_range
from tickerplant.venue.engine import history

__all__ = ["ROUTES", "amendments"]

AMENDMENTS_LIMIT = 50, 100  # orderAmendment's rows: without `limit`, and at most (part 2 §5)


def _trimmed(units: int, decimals: int) -> str:
    text = fixed(units, decimals)
    return text.rstrip("0").rstrip(".") if "." in text else text


def amendments(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    """``GET …/orderAmendment`` (part 2 §5): one order's modifications, oldest first, the
    last ``limit`` (50, at most 100) within ``startTime``/``endTime`` (inclusive); prices and
    quantities as the doc writes them, trailing zeros trimmed; ``modifyId`` when one was sent.
    The past 3 months of them, from the journal (``history.py``)."""
    params = authorized.params
    account_id = authorized.account.account_id
    order = history.order(engine, account_id, params, now_ms, open_only=False)
    inst = engine.instruments[order.symbol]
    start, end = parse_time_range(params)
    limit = min(parse_int(params, "limit") or AMENDMENTS_LIMIT[0], AMENDMENTS_LIMIT[1])
    pd, qd = inst.price_decimals, inst.qty_decimals
    rows = []
    for a in history.amendments(engine, account_id, order, start, end, limit, now_ms):
        change: dict[str, Any] = {
            "price": {"before": _trimmed(a.price_before, pd), "after": _trimmed(a.price_after, pd)},
            "origQty": {"before": _trimmed(a.qty_before, qd), "after": _trimmed(a.qty_after, qd)},
            "count": a.nth,
        }
        if a.modify_id is not None:
            change["modifyId"] = a.modify_id
        rows.append({"amendmentId": a.amendment_id, "symbol": inst.symbol, "pair": inst.pair,
                     "orderId": a.order_id, "clientOrderId": a.client_order_id, "time": a.time_ms,
                     "amendment": change})  # fmt: skip
    return rows


_AMENDMENTS = {("GET", "/v1/orderAmendment"): (Security.USER_DATA, 1, amendments)}  # part 1 §7
ROUTES = {Market.UM: _AMENDMENTS, Market.CM: _AMENDMENTS}  # (method, path after /fapi or /dapi)
