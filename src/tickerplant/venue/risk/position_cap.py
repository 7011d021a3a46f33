"""The largest position the account's leverage allows (trading spec part 3 §6.3, "Placing
orders"): after a new order, the position on its side with every opening order of that side
filled, the new one with it, must not be worth more than the cap of the highest bracket
whose initial leverage is at least the account's (``Contract.past_cap``, ``max_notional``: USDⓈ-M's
``maxNotionalValue``, COIN-M's ``maxQty``), else ``-2027`` "Exceeded the maximum allowable
position at current leverage.". A raised quantity of a resting order (``PUT …/order``) is
weighed alike, as the new order it becomes.

- The position a side can reach: in one-way mode a buy's is the long the position becomes
  with every open buy filled (a short position is closed first), a sell's the short; in
  hedge mode the side's own position (``LONG`` or ``SHORT``) with its opening orders. An
  order that only closes reaches nothing and passes, and reduce-only orders are not asked
  (§6.3's exemption; hedge mode's closing orders are reduce-only, ``position_modes.py``).
- It is valued at the mark, as the position's notional is (§7.1) and as the leverage change
  weighs it (``settings.change_leverage``): §6.3 leaves the open orders' price to inference.
- Checked before the margin (``-2019``): a cap is the bracket's, whatever the balance.
"""

from __future__ import annotations

from fractions import Fraction

from tickerplant.venue.domain.contract import Contract
from tickerplant.venue.domain.order_params import refused
from tickerplant.venue.domain.orders import Order
from tickerplant.venue.domain.resting import slot_base
from tickerplant.venue.ledger.ledger import Ledger
from tickerplant.venue.ledger.seat import Seat

__all__ = ["CAP_TEXT", "check_position_cap"]

CAP_TEXT = "Exceeded the maximum allowable position at current leverage."


def check_position_cap(
    seat: Seat[Ledger], contract: Contract, order: Order, qty: int, mark: Fraction | None
) -> None:
    """-2027 when ``qty`` more of ``order`` (new, or a resting one's added quantity: its own
    rest counted already) would let its side reach past the cap; no mark yet: nothing to
    value it at."""
    if mark is None or qty <= 0:
        return
    ledger = seat.ledger
    position = ledger.positions.get((order.symbol, order.position_side))
    held = position.amt if position is not None else 0
    # what rests opening on the side: its position side's slot of orders not reduce-only (``Seat.rests``'
    # one slot when opening, read straight: a placement's)
    rest = seat.slots[slot_base(order.position_side) + (2 if order.side.is_sell else 0)]
    resting = rest.qty if rest is not None else 0
    reach = (-held if order.side.is_sell else held) + resting + qty
    if reach > 0 and contract.past_cap(reach, mark, ledger.leverage_of(contract)):
        raise refused(-2027, CAP_TEXT)
