"""How the venue's resting orders fill (docs/venue.md, "How orders fill"), as makers.

- **In the one book** (the simulated market, ``feeds/simulator/held.py``): a resting order
  is quantity in the simulator's book (``hold``), in the public depth, at the back of its
  level's queue. Whatever trades it there, the simulated flow or another venue order
  taking, the book reports as a match of that public trade (its id), which
  ``settle_matched`` settles: after every delivery of the market's messages (``receive``)
  and inside the command of a venue taker (``Engine.take``), in the taker's journal batch.
- **Else** (a replay's or relay's book, which trades with no one): the market's public
  trades fill it by ``matching.maker_fill``, behind the quantity the book showed at its
  price when it arrived (``receive``).
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable
from typing import Protocol

import msgspec

from tickerplant.market.instruments import Instrument
from tickerplant.market.messages import StreamMessage
from tickerplant.market.payloads.events import AggTrade
from tickerplant.market.units import to_units
from tickerplant.venue.book.maker_index import MakerIndex
from tickerplant.venue.book.matching import maker_fill
from tickerplant.venue.book.ports import Journal, MarketData, OneBook
from tickerplant.venue.domain.events import Batch
from tickerplant.venue.domain.orders import Order, OrderStatus, Side
from tickerplant.venue.ledger.exposure import each_account
from tickerplant.venue.ledger.ledger import Ledger

__all__ = ["hold", "receive", "settle_matched"]

_agg = msgspec.json.Decoder(AggTrade[str])


class Engine(Protocol):
    """What of ``engine.Engine`` its resting orders need (the engine calls in here)."""

    book: OneBook | None
    data: MarketData
    journal: Journal
    instruments: dict[str, Instrument]
    agg_trade_streams: dict[str, str]
    makers: MakerIndex

    def resting(self, symbol: str) -> Collection[Order]: ...

    def resting_order(self, symbol: str, order_id: int) -> Order | None: ...

    def has_resting(self) -> bool: ...

    def ledger(self, account_id: int) -> Ledger: ...

    def settle(
        self, ledger: Ledger, order: Order, price: int, qty: int, maker: bool, now_ms: int, batch: Batch,
        execution: str = "TRADE", trade_id: int | None = None,
    ) -> None: ...  # fmt: skip

    def finish(
        self, ledger: Ledger, order: Order, status: OrderStatus, now_ms: int, expiry: str = ""
    ) -> None: ...


def hold(engine: Engine, order: Order, now_ms: int, ahead: int | None = None) -> None:
    """``order`` rests from now: at the back of its level (``ahead``: a restored order's
    place, at most the level)."""
    buy = order.side is Side.BUY
    if engine.book is not None:
        order.queue_ahead = engine.book.rest(
            order.symbol, order.order_id, buy, order.price, order.remaining, now_ms, ahead
        )
        return
    level = engine.data.quantity_at(order.symbol, buy, order.price)  # a lookup: the book may be deep
    order.queue_ahead = level if ahead is None else min(ahead, level)
    engine.makers.rests(order, engine.resting(order.symbol))


def settle_matched(engine: Engine, batch: Batch, now_ms: int) -> None:
    """The one book's matches since the last call, settled as maker fills of their public
    trades (same id; the time is the trade's, this moment's)."""
    book = engine.book
    if book is None:
        return

    def settle(match: tuple[str, int, int, int]) -> None:
        symbol, order_id, trade_id, qty = match
        order = engine.resting_order(symbol, order_id)
        if order is None:  # cannot be: a held order is resting until withdrawn
            return
        ledger = engine.ledger(order.account_id)
        order.queue_ahead = 0  # it filled: nothing is in front of it any more
        engine.settle(ledger, order, order.price, qty, True, now_ms, batch, trade_id=trade_id)
        if not order.status.is_open:
            engine.finish(ledger, order, order.status, now_ms)
        batch.orders.append(order.copy())

    # the book reports each match once: one order's failure settles the others all the same
    each_account(book.matched(), settle)


def receive(engine: Engine, messages: Iterable[StreamMessage], now_ms: int) -> None:
    """The market's trades fill resting orders; what they changed is journaled at once, one
    transaction for the lot."""
    if not engine.has_resting():
        return
    batch = Batch()
    try:
        if engine.book is not None:
            settle_matched(engine, batch, now_ms)
        else:
            _maker_fills(engine, messages, now_ms, batch)
    finally:  # what was settled is journaled, whatever one order's failure
        if batch:
            engine.journal.commit(batch)


def _maker_fills(engine: Engine, messages: Iterable[StreamMessage], now_ms: int, batch: Batch) -> None:
    streams = engine.agg_trade_streams
    for stream, payload in messages:
        symbol = streams.get(stream)
        if symbol is None or not engine.resting(symbol):
            continue
        trade = _agg.decode(payload)
        inst = engine.instruments[symbol]
        price, qty = to_units(trade.price, inst.price_decimals), to_units(trade.qty, inst.qty_decimals)
        find = functools.partial(engine.resting_order, symbol)
        reached = engine.makers.met(symbol, trade.buyer_is_maker, price, engine.resting(symbol), find)
        for order in reached:  # oldest first
            if not order.status.is_open:  # expired by an earlier fill of this trade (reduce_only.trim)
                continue
            if trade.trade_time < order.time_ms:  # a trade from before it (a warm start's past)
                continue
            ahead = order.queue_ahead
            filled = maker_fill(order, price, qty, trade.buyer_is_maker)
            if filled:
                ledger = engine.ledger(order.account_id)
                engine.settle(ledger, order, order.price, filled, True, now_ms, batch)  # at its own price
                if not order.status.is_open:
                    engine.finish(ledger, order, order.status, now_ms)
            if filled or order.queue_ahead != ahead:  # its place in the queue too: a restart keeps it
                batch.orders.append(order.copy())
