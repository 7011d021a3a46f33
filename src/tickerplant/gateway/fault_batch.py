"""``-1008`` in a batch, decided order by order (docs/faults.md, "Order entry").

Part 1 §6.2 503 (4): the system-level throttle applies to ``POST /fapi/v1/batchOrders`` and
spares reduce-only and close-position orders (``decider.throttle_exempt``). A batch's answer is
one element per order, in the input's order, each an order or its own ``{"code","msg"}``, with
HTTP 200 (part 2 §7). So, as Binance does, a throttled batch is decided per order: the exempt
ones are performed (alone, as the batch they make), the others get the ``-1008`` element in
their slot. A batch none of whose orders is exempt is refused whole, 503 ``-1008``, as a single
order is (nothing reached the engine; what Binance answers then is not documented).

The throttle's window and draw are the request's (one draw a batch, as for any fault); only
the exemption is per order.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from tickerplant.faults import answers
from tickerplant.protocol.errors import RequestRefused
from tickerplant.protocol.rest import RestAnswer
from tickerplant.venue.auth.checks import Authorized
from tickerplant.venue.wire.batches import elements
from tickerplant.venue.wire.rest import PrivateRest

__all__ = ["BATCH_ROUTES", "batch_orders", "throttled_batch"]

# the batches of new orders -1008 applies to (part 1 §6.2 503 (4); COIN-M's as UM's)
BATCH_ROUTES = frozenset({("POST", "/fapi/v1/batchOrders"), ("POST", "/dapi/v1/batchOrders")})
_THROTTLED_ITEM = answers.THROTTLED.body  # {"code":-1008,"msg":"…"}, an element's error (part 2 §7)
_items = msgspec.json.Decoder(list[msgspec.Raw])


def batch_orders(route: tuple[str, str], params: dict[str, str]) -> list[dict[str, str]] | None:
    """A new-order batch's orders, each as a request's parameters; None: not such a batch,
    or one the venue refuses whole (``-1130``, ``-4082``: then it meets a fault whole)."""
    if route not in BATCH_ROUTES:
        return None
    try:
        return elements(params)
    except RequestRefused:
        return None


def throttled_batch(
    private: PrivateRest, route: tuple[str, str], authorized: Authorized, used: int, now_ms: int,
    orders: Sequence[dict[str, str]], passing: Sequence[bool],
) -> RestAnswer:  # fmt: skip
    """The batch with only its ``passing`` orders performed, the others' slots ``-1008``."""
    kept = [order for order, passes in zip(orders, passing, strict=True) if passes]
    params = dict(authorized.params)
    # the names lower-cased and the values text, as ``elements`` reads them again: the same orders
    params["batchorders"] = msgspec.json.encode(kept).decode()
    answer = private.perform(route, authorized._replace(params=params), used, now_ms)
    if answer.status != 200:
        return answer  # refused whole by the venue: as it says
    performed = iter(_items.decode(answer.body))
    parts = [bytes(next(performed)) if passes else _THROTTLED_ITEM for passes in passing]
    return answer._replace(parts=(b"[" + b",".join(parts) + b"]",))
