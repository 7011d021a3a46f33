"""How the venue's resting orders fill (docs/venue.md, "How orders fill"), as makers.

- **In the one book** (the simulated market, ``feeds/simulator/held.py``): a resting order
  is quantity in the simulator's book (``hold``), in the public depth, at the back of its
  level's queue. Whatever trades it there, the simulated flow or another venue order
  taking, the book reports as a match of that public trade (its id), which
  ``settle_matched`` settles: after every delivery of the market's messages (``receive``)
  and inside the command of a venue taker (``Engine.take``), in the taker's journal batch.
- **Else** (a replay's or relay's book, which trades with no one): the market's public
  trades fill it by ``matching.maker_fill``, behind the quantity the book showed at its
  price when it arrived, and the changes of that quantity (the market's `@depthDiff`)
  move it up by the engine's queue model (``Queues``, ``market/book/queue.py``), each
  message in the order the market sent them (``receive``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterable
from typing import Protocol

import msgspec

from tickerplant.market.book.followed import BookMessage
from tickerplant.market.book.queue import RISK_AVERSE, Position, QueueModel
from tickerplant.market.instruments import Instrument
from tickerplant.market.messages import StreamMessage, SymbolStreams
from tickerplant.market.payloads.events import AggTrade
from tickerplant.market.units import to_units
from tickerplant.venue.book.maker_index import MakerIndex
from tickerplant.venue.book.matching import maker_fill
from tickerplant.venue.book.ports import Journal, MarketData, OneBook
from tickerplant.venue.domain.events import Batch
from tickerplant.venue.domain.orders import Order, OrderStatus, Side
from tickerplant.venue.ledger.exposure import each_account
from tickerplant.venue.ledger.ledger import Ledger

__all__ = ["Queues", "hold", "receive", "settle_matched"]

_agg = msgspec.json.Decoder(AggTrade[str])
_book = msgspec.json.Decoder(BookMessage)
_SLACK = 64  # a symbol's queue entries past twice its resting orders and this are made again


class _Level:
    """The resting orders at one price of an observed book: the displayed quantity last
    read there (None: not read yet), and per order id what traded at the price since."""

    __slots__ = ("seen", "traded")

    def __init__(self, seen: int | None) -> None:
        self.seen = seen
        self.traded: dict[int, int] = {}


class _SymbolQueues:
    __slots__ = ("entries", "levels")

    def __init__(self) -> None:
        self.levels: dict[tuple[bool, int], _Level] = {}  # (a buy, price) -> its orders
        self.entries = 0  # order ids in the levels, stale ones too


class Queues:
    """The observed market's queue positions (a replay's or relay's book, no one book):
    ``model`` (``market/book/queue.py``; None: risk-averse) moves each resting order's
    ``queue_ahead`` (its place, journaled) by the public trades at its price and by the
    changes of the quantity the book displays there, which it reads from the market's
    `@depthDiff`, in the order sent. Beside ``queue_ahead`` it keeps what the model needs:
    per level holding resting orders the quantity last read, per order what traded at its
    price since.

    A level first read after the order came (a restored order's, until its level changes)
    has no quantity to start from: the first change there only clamps ``ahead`` to the new
    quantity. Orders that leave (filled, cancelled, amended elsewhere) are dropped when
    their level is next met. Bounded by design, as ``maker_index.MakerIndex``: a symbol's
    entries past twice its resting orders (+ ``_SLACK``) are made again from those orders,
    and a symbol with none keeps nothing."""

    __slots__ = ("_symbols", "depth_streams", "model")

    def __init__(self, model: QueueModel | None, symbols: Iterable[str]) -> None:
        self.model = RISK_AVERSE if model is None else model
        self.depth_streams = {SymbolStreams(symbol).depth: symbol for symbol in symbols}
        self._symbols: dict[str, _SymbolQueues] = {}

    def rests(self, order: Order, level: int, resting: Collection[Order]) -> None:
        """``order`` joined the back of its level, which displays ``level``; ``resting``:
        the symbol's resting orders (``order`` may be one)."""
        queues = self.fresh(order.symbol, resting)
        key = (order.side is Side.BUY, order.price)
        found = queues.levels.get(key)
        if found is None:
            found = queues.levels[key] = _Level(level)
        elif found.seen is None:
            found.seen = level
        if order.order_id not in found.traded:
            queues.entries += 1
        found.traded[order.order_id] = 0

    def position(self, order: Order) -> Position:
        queues = self._symbols.get(order.symbol)
        found = None if queues is None else queues.levels.get((order.side is Side.BUY, order.price))
        return Position(order.queue_ahead, 0 if found is None else found.traded.get(order.order_id, 0))

    def moved(self, order: Order, position: Position) -> None:
        """``order`` is at ``position`` now (a trade's doing)."""
        order.queue_ahead = position.ahead
        queues = self._symbols.get(order.symbol)
        found = None if queues is None else queues.levels.get((order.side is Side.BUY, order.price))
        if found is not None and order.order_id in found.traded:
            found.traded[order.order_id] = position.traded

    def depth(self, symbol: str, event: BookMessage, find: Callable[[int], Order | None]) -> None:
        """A `@depthDiff` of ``symbol``'s book: the levels it changes where orders rest move
        them by the model (``find``: a resting order by id)."""
        queues = self._symbols.get(symbol)
        if queues is None or not queues.levels:
            return
        if event.snapshot:
            if not event.u:  # no book in sync (market/book/followed.py): nothing displayed is known
                return
            given = {(True, p): q for p, q in event.b} | {(False, p): q for p, q in event.a}
            for key in list(queues.levels):
                self._changed(queues, key, given.get(key, 0), find)
            return
        for buy, changes in ((True, event.b), (False, event.a)):
            for price, qty in changes:
                if (buy, price) in queues.levels:
                    self._changed(queues, (buy, price), qty, find)

    def forget(self, symbol: str | None = None) -> None:
        """``symbol`` has no resting order (None: no symbol has)."""
        if symbol is None:
            self._symbols.clear()
        else:
            self._symbols.pop(symbol, None)

    def _changed(
        self, queues: _SymbolQueues, key: tuple[bool, int], new: int, find: Callable[[int], Order | None]
    ) -> None:
        found = queues.levels[key]
        prev, traded = found.seen, found.traded
        buy, price = key
        for order_id, since in list(traded.items()):
            order = find(order_id)
            if order is None or order.price != price or (order.side is Side.BUY) is not buy:
                del traded[order_id]  # it left the level
                queues.entries -= 1
                continue
            if prev is None:  # no quantity to start from: the risk-averse clamp, whatever the model
                moved = RISK_AVERSE.depth(Position(order.queue_ahead), new, new)
            else:
                moved = self.model.depth(Position(order.queue_ahead, since), prev, new)
            order.queue_ahead = moved.ahead
            traded[order_id] = moved.traded
        found.seen = new
        if not traded:
            del queues.levels[key]

    def fresh(self, symbol: str, resting: Collection[Order]) -> _SymbolQueues:
        """``symbol``'s levels, made (again) from ``resting``, its resting orders, when absent
        or stale (at its first message or order, and past the bound)."""
        queues = self._symbols.get(symbol)
        if queues is not None and queues.entries < 2 * len(resting) + _SLACK:
            return queues
        made = self._symbols[symbol] = _SymbolQueues()
        for order in resting:
            key = (order.side is Side.BUY, order.price)
            was = None if queues is None else queues.levels.get(key)
            found = made.levels.get(key)
            if found is None:
                found = made.levels[key] = _Level(None if was is None else was.seen)
            found.traded[order.order_id] = 0 if was is None else was.traded.get(order.order_id, 0)
        made.entries = len(resting)
        return made

    def __len__(self) -> int:
        """The order entries held, stale ones too (the bound's measure)."""
        return sum(queues.entries for queues in self._symbols.values())


class Engine(Protocol):
    """What of ``engine.Engine`` its resting orders need (the engine calls in here)."""

    book: OneBook | None
    data: MarketData
    journal: Journal
    instruments: dict[str, Instrument]
    agg_trade_streams: dict[str, str]
    makers: MakerIndex
    queues: Queues

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
    order.queue_ahead = engine.queues.model.arrive(level, ahead).ahead
    resting = engine.resting(order.symbol)
    engine.makers.rests(order, resting)
    engine.queues.rests(order, level, resting)


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
        engine.queues.forget()
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
        if stream in trades:
            _trade(engine, symbol, _agg.decode(payload), now_ms, batch)
        else:
            queues.depth(symbol, _book.decode(payload), functools.partial(engine.resting_order, symbol))


def _trade(engine: Engine, symbol: str, trade: AggTrade[str], now_ms: int, batch: Batch) -> None:
    inst, queues = engine.instruments[symbol], engine.queues
    price, qty = to_units(trade.price, inst.price_decimals), to_units(trade.qty, inst.qty_decimals)
    find = functools.partial(engine.resting_order, symbol)
    reached = engine.makers.met(symbol, trade.buyer_is_maker, price, engine.resting(symbol), find)
    for order in reached:  # oldest first
        if not order.status.is_open:  # expired by an earlier fill of this trade (reduce_only.trim)
            continue
        if trade.trade_time < order.time_ms:  # a trade from before it (a warm start's past)
            continue
        moved = maker_fill(order, queues.position(order), price, qty, trade.buyer_is_maker, queues.model)
        queues.moved(order, moved.position)
        if moved.qty:
            ledger = engine.ledger(order.account_id)
            engine.settle(ledger, order, order.price, moved.qty, True, now_ms, batch)  # at its own price
            if not order.status.is_open:
                engine.finish(ledger, order, order.status, now_ms)
            batch.orders.append(order.copy())
