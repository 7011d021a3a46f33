"""Self-trade prevention in the one book (part 2 §3.4 "selfTradePreventionMode", §10 "STP"):
when a taker would meet a resting order of its own account, ``EXPIRE_TAKER`` expires the
taker there, ``EXPIRE_MAKER`` the resting orders it would meet, ``EXPIRE_BOTH`` both; an
expired order ends ``EXPIRED_IN_MATCH``. Effective for IOC, GTC and GTD orders (and MARKET,
which behave IOC); ``NONE`` (the default, decision 8) and FOK let an account trade with
itself.

At the book's granularity: the resting orders met are the account's own on the opposite
side at a price the taker's walk reaches; a taker stopped by its own order takes only the
levels better than that order's price (not the quantity in front of it at that price).
"""

from __future__ import annotations

from tickerplant.venue.domain.events import Made
from tickerplant.venue.domain.orders import Order, OrderStatus, OrderType, Side, TimeInForce
from tickerplant.venue.engine.state import EngineState

__all__ = ["prevent"]

_EFFECTIVE = frozenset({TimeInForce.IOC, TimeInForce.GTC, TimeInForce.GTD})


def prevent(
    engine: EngineState, taker: Order, limit: int, deepest: int, now_ms: int, out: Made
) -> tuple[int, bool]:
    """The taker's limit after prevention, and whether it stops there (expires in match);
    the resting orders its mode expires are finished into ``out``. ``deepest``: the last
    price its walk reaches."""
    mode, side, symbol, account_id = taker.stp_mode, taker.side, taker.symbol, taker.account_id
    if mode == "NONE" or (taker.type is not OrderType.MARKET and taker.time_in_force not in _EFFECTIVE):
        return limit, False
    buy = side is Side.BUY
    own = engine.ledger(account_id).open_orders.get(symbol, {})  # the account's resting orders, oldest first
    met = [
        o for o in own.values()
        if o.side is not side and (o.price <= deepest if buy else o.price >= deepest)
    ]  # fmt: skip
    if not met:
        return limit, False
    if mode in ("EXPIRE_MAKER", "EXPIRE_BOTH"):
        seat = engine.seat(account_id, symbol)
        for order in met:
            engine.finish(seat, order, OrderStatus.EXPIRED_IN_MATCH, now_ms, out)
        if mode == "EXPIRE_MAKER":
            return limit, False
    tick = engine.instruments[symbol].tick
    if buy:
        return min(o.price for o in met) - tick, True
    return max(o.price for o in met) + tick, True
