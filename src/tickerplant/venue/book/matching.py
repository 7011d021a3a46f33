"""The fill model: how a venue order meets the simulated market's book and trades.

The market's book is read as levels of (price units, quantity units), best first: the
simulator's own (where a taker trades in it: ``Engine.take``, ``feeds/simulator/one_book.py``,
with public trades and impact), else the one a replay's or relay's plant publishes (walked:
it trades with no one). In the simulator's book a resting order is quantity in it, and the
book's own queue fills it (``feeds/simulator/simulated_book.py``, ``venue/engine/resting.py``); elsewhere,
what a client can observe of matching (part 2 §10) follows two rules, each the assumption
of hftbacktest's risk-averse queue model:

- **Taking** (an incoming order that crosses): it walks the opposite side's levels best
  first, one fill per level, as far as its limit price allows (a MARKET order: as far as
  ``marketTakeBound`` from the mark, decision 8); what the book cannot give expires (IOC,
  MARKET) or rests (GTC, GTD). Each fill is a taker fill at the level's price.
- **Resting** (the part of a GTC or GTD order that did not fill): it joins the back of the
  queue at its price, behind the quantity the book showed there when it arrived. A public
  trade on its side (a sell aggressor for a resting buy: ``m`` true) fills it as a maker:
  a trade *through* its price fills all that is left (the whole level went first); a trade
  *at* its price first uses up the quantity ahead, the excess fills it. A book that moves
  across a resting order without a trade does not fill it; a decrease of the level at its
  price moves it up by the engine's queue model (``market/book/queue.py``: the risk-averse
  one, by default, only clamps what is ahead to the level; ``venue/engine/resting.py``).
"""

from __future__ import annotations

from collections.abc import Iterable

from tickerplant.market.book.queue import RISK_AVERSE, Filled, Position, QueueModel
from tickerplant.venue.domain.orders import Order, Side

__all__ = ["FOK_TEXT", "GTX_TEXT", "crosses", "maker_fill", "walk"]

# the texts of matching's two refusals (part 2 §10): a post-only order that would take
# (-5022) and a FOK order that cannot fill at once (-5021), neither recorded (decision 8)
GTX_TEXT = (
    "Due to the order could not be executed as maker, the Post Only order will be rejected. "
    "The order will not be recorded in the order history"
)
FOK_TEXT = "Due to the order could not be filled immediately, the FOK order has been rejected."


def crosses(side: Side, price: int, best_opposite: int | None) -> bool:
    """Whether a limit order at ``price`` would take at once (a GTX one is refused)."""
    if best_opposite is None:
        return False
    return best_opposite <= price if side.is_buy else best_opposite >= price


def walk(levels: Iterable[tuple[int, int]], side: Side, qty: int, limit: int) -> list[tuple[int, int]]:
    """Taker fills of ``qty`` against the opposite ``levels`` (best first), no level beyond
    ``limit`` (a buy's highest price, a sell's lowest): [(price, qty), …]."""
    fills: list[tuple[int, int]] = []
    left, buy = qty, side.is_buy
    for price, available in levels:
        if left == 0 or (price > limit if buy else price < limit):
            break
        take = min(left, available)
        fills.append((price, take))
        left -= take
    return fills


def maker_fill(
    order: Order, position: Position, price: int, qty: int, buyer_is_maker: bool,
    model: QueueModel = RISK_AVERSE,
) -> Filled:  # fmt: skip
    """What a public trade of ``qty`` at ``price`` does to resting ``order``, at ``position``
    in its level's queue (see the module's docstring): its position after and the quantity
    it fills (``model``'s trade, or its trade through the price; 0 when it does not reach it)."""
    if order.side.is_buy:
        if not buyer_is_maker or price > order.price:
            return Filled(position, 0)
        through = price < order.price
    else:
        if buyer_is_maker or price < order.price:
            return Filled(position, 0)
        through = price > order.price
    if through:
        return model.through(position, order.remaining)
    return model.trade(position, qty, order.remaining)
