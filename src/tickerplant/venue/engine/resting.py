"""How the venue's resting orders fill (docs/venue.md, "How orders fill"), as makers.

- **In the one book** (the simulated market, ``feeds/simulator/simulated_book.py``): a resting order
  is quantity in the simulator's book (``hold``), in the public depth, at the back of its
  level's queue. Whatever trades it there, the simulated flow or another venue order
  taking, the book reports as a match of that public trade (its id), which
  ``settle_matched`` settles: after every delivery of the market's messages (``receive``)
  and inside the command of a venue taker, trade by trade with the taker's own fills
  (``placement.settle_taken``), in the taker's journal batch.
- **Else** (a replay's or relay's book, which trades with no one): the market's public
  trades fill it by ``matching.maker_fill``, behind the quantity the book showed at its
  price when it arrived, and the changes of that quantity (the market's `@depthDiff`)
  move it up by the engine's queue model (``Queues``, ``market/book/queue.py``), each
  message in the order the market sent them (``receive``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import msgspec

from tickerplant.market.book.followed import BookMessage
from tickerplant.market.messages import StreamMessage
from tickerplant.market.payloads.events import AggTrade
from tickerplant.market.units import to_units
from tickerplant.venue.book.matching import maker_fill
from tickerplant.venue.domain.events import Made, OrderRow
from tickerplant.venue.engine.settlement import settle
from tickerplant.venue.engine.state import EngineState
from tickerplant.venue.ledger.exposure import each_account

__all__ = ["idle", "receive", "settle_matched", "settle_pending"]

_agg = msgspec.json.Decoder(AggTrade[str])
_book = msgspec.json.Decoder(BookMessage)


def settle_matched(
    engine: EngineState, out: Made, now_ms: int, matched: list[tuple[str, int, int, int, int]] | None = None
) -> None:
    """The market's matches since the last call (the one book's; an observed market makes
    none), or those of ``matched`` taken from it, settled as maker fills of their public
    trades: the same id and time ``T`` (docs/venue.md, "How orders fill"), though settled at
    ``now_ms``, a delivery or a command after it (``settle_pending``)."""
    if matched is None:
        matched = engine.venue_market.matched()
    if not matched:
        return

    def settle_one(match: tuple[str, int, int, int, int]) -> None:
        symbol, order_id, trade_id, qty, time_ms = match
        order = engine.resting_order(symbol, order_id)
        if order is None:  # cannot be: a held order is resting until withdrawn
            return
        seat = engine.seat(order.account_id, symbol)
        order.queue_ahead = 0  # it filled: nothing is in front of it any more
        at_ms = min(time_ms, now_ms)  # never after it is settled
        settle(engine, seat, order, order.price, qty, True, at_ms, out, trade_id=trade_id)
        if not order.status.is_open:
            engine.finish(seat, order, order.status, at_ms, out)
        else:
            out.put(OrderRow(order.copy()))

    # the book reports each match once: one order's failure settles the others all the same
    each_account(matched, settle_one)


def settle_pending(engine: EngineState, symbol: str, now_ms: int, out: Made) -> None:
    """The one book's matches of ``symbol``'s resting orders not settled yet, first, before
    a command reads or changes them. Its market may step between two deliveries: a loaded
    machine's simulator catches up a batch at a time, answering between batches and
    publishing their messages after the last (``pump.py``), so a command can come while the
    book has filled an order the engine still holds open. Cancelled or amended then, the
    order left the book with nothing of it there, its fill then met no resting order and was
    lost; moved (withdrawn and rested again) it rested its filled quantity once more."""
    market = engine.venue_market
    if market.meets_itself and (matched := market.matched(symbol)):
        settle_matched(engine, out, now_ms, matched)


def idle(engine: EngineState) -> bool:
    """Whether no order rests: the market's trades fill no one (the queues' places are
    forgotten, ``Queues.forget``), and a delivery needs no ``Trades`` command."""
    if engine.has_resting():
        return False
    engine.queues.forget()
    return True


def receive(engine: EngineState, messages: Iterable[StreamMessage], now_ms: int, out: Made) -> None:
    """The market's trades fill resting orders, into ``out`` (one transaction for the lot,
    whatever one order's failure: ``Engine.apply``)."""
    if idle(engine):
        return
    settle_matched(engine, out, now_ms)
    if not engine.venue_market.meets_itself:  # an observed market: its trades fill them
        _maker_fills(engine, messages, now_ms, out)


def _maker_fills(engine: EngineState, messages: Iterable[StreamMessage], now_ms: int, out: Made) -> None:
    """The market's messages in the order sent: its trades fill the resting orders they
    reach, its depth changes move them in their queues (``Queues``)."""
    trades, queues = engine.agg_trade_streams, engine.queues
    depths = queues.depth_streams
    for stream, payload in messages:
        symbol = trades.get(stream)
        if symbol is None and (symbol := depths.get(stream)) is None:
            continue
        resting = engine.resting(symbol)
        if not resting:
            queues.forget(symbol)
            continue
        queues.fresh(symbol, resting)
        # a payload it cannot read (an upstream's, finer digits than the instrument's): passed
        # over, as the market view passes it over; the messages after it fill all the same
        if stream in trades:
            inst = engine.instruments[symbol]
            try:
                trade = _agg.decode(payload)
                price = to_units(trade.price, inst.price_decimals)
                qty = to_units(trade.qty, inst.qty_decimals)
            except (msgspec.DecodeError, ValueError):
                continue
            _trade(engine, symbol, trade, price, qty, now_ms, out)
        else:
            try:
                book = _book.decode(payload)
            except msgspec.DecodeError:
                continue
            queues.depth(symbol, book, functools.partial(engine.resting_order, symbol))


def _trade(
    engine: EngineState, symbol: str, trade: AggTrade[str], price: int, qty: int, now_ms: int, out: Made
) -> None:
    """``trade`` (at ``price`` for ``qty``, in units) fills the resting orders it reaches."""
    queues = engine.queues
    # when a trade came: its own time where the market's times are the venue's, else (a
    # relay's upstream's clock, another machine's) when it reached the venue
    came_ms = trade.trade_time if engine.venue_market.times_are_ours else now_ms
    find = functools.partial(engine.resting_order, symbol)
    reached = engine.makers.met(symbol, trade.buyer_is_maker, price, engine.resting(symbol), find)
    used = 0  # what this trade filled of the venue's orders at its price: it fills no one twice
    for order in reached:  # first come to rest first (``Order.rested``)
        if not order.status.is_open:  # expired by an earlier fill of this trade (reduce_only.trim)
            continue
        if came_ms < order.time_ms:  # a trade from before it (a warm start's past)
            continue
        ahead = order.queue_ahead
        position = queues.position(order)
        moved = maker_fill(order, position, price, qty, trade.buyer_is_maker, queues.model)
        queues.moved(order, moved.position)
        filled = moved.qty
        if filled and order.price == price:
            # the older venue orders at the price stood in front of this one (none of them
            # is in the displayed book): what they took of the trade's excess is not its
            filled = min(filled, max(0, qty - position.ahead - used))
            used += filled
        if filled:
            seat = engine.seat(order.account_id, symbol)
            settle(engine, seat, order, order.price, filled, True, now_ms, out)  # at its own price
            if not order.status.is_open:
                engine.finish(seat, order, order.status, now_ms, out)  # its row with it
                continue
        if filled or order.queue_ahead != ahead:  # its place in the queue too: a restart keeps it
            out.put(OrderRow(order.copy()))
