"""Where the venue's id sequences start: Binance's magnitudes, drawn from the seed.

- **Order ids** (``orderId``) increase per symbol (part 2 §10 "Ids"); Binance's futures
  order ids have 11 or 12 digits (``88937381063``, ``215456450616``, ``262065925771`` in
  parts 2 and 4's captures). Each symbol's sequence starts at a value drawn from the seed,
  the market and the symbol in ``[ORDER_IDS_FROM, ORDER_IDS_TO)``: past 2³², so a client
  that keeps an order id in 32 bits fails here as it would on Binance, and under 2⁵³, so a
  JavaScript client reads it exactly (part 2 §10).
- **Algo ids** (``algoId``) are a sequence of their own, one per market: the Algo Order
  service's captures show 16 digits (``1000000033225453`` beside the order id
  ``88937381063`` of its child, part 4 §3.1; ``2000000002162519`` and ``3000000000003505``
  in part 1 §8.8's WebSocket API examples). They start at ``ALGO_IDS_FROM`` plus a drawn offset
  under 10⁸, so an algo id is never the order id of any symbol (those stay under 10¹²), and
  a table keyed by the exchange's id holds a stop-loss and a market order side by side.
  One sequence for the market's symbols, because `DELETE /fapi/v1/algoOrder` names an algo
  order by its id alone. A conditional order placed on ``/v1/order`` under
  ``--legacy-conditional-orders`` has one of each: its algo id, and the order id of its
  symbol's sequence that its reads and events give it (``AlgoOrder.order_id``).

The same seed gives the same starts; a restart goes on from what the journal holds (the
engine's and the algo book's ``restore``).
"""

from __future__ import annotations

import random

from tickerplant.market.instruments import Market

__all__ = ["ALGO_IDS_FROM", "ORDER_IDS_FROM", "ORDER_IDS_TO", "first_algo_id", "first_order_id"]

ORDER_IDS_FROM = 10**10  # 11 digits, above 2**32 (4,294,967,296)
ORDER_IDS_TO = 4 * 10**11  # a start leaves each symbol room for 6 * 10**11 orders in 12 digits
ALGO_IDS_FROM = 10**15  # 16 digits: every algo id is above every order id


def first_order_id(seed: object, market: Market, symbol: str) -> int:
    """The first order id of ``symbol`` on ``market`` for ``seed``."""
    return random.Random(f"{seed}/order-ids/{market.value}/{symbol}").randrange(ORDER_IDS_FROM, ORDER_IDS_TO)


def first_algo_id(seed: object, market: Market) -> int:
    """The first algo id of ``market`` for ``seed``."""
    return ALGO_IDS_FROM + random.Random(f"{seed}/algo-ids/{market.value}").randrange(10**7, 10**8)
