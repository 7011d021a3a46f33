"""An observed market's queues (a replay's or relay's book, which trades with no one): where
each venue order resting there stands in its level's queue, moved by the market's public
trades at its price and by the changes of the quantity the book displays there, by the
engine's queue model (``market/book/queue.py``; docs/venue.md, "How orders fill")."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable

from tickerplant.market.book.followed import BookMessage
from tickerplant.market.book.queue import RISK_AVERSE, Position, QueueModel
from tickerplant.market.messages import SymbolStreams
from tickerplant.venue.domain.orders import Order

__all__ = ["Queues"]

# a symbol's queue entries past ``_TIMES`` its resting orders and ``_SLACK`` are made again: a
# move leaves a stale entry, so a making again of N orders' comes every (_TIMES - 1)·N moves
# (at 2, once every N: ~30 bytecodes a move of the matching benchmark's mix; at 4, a third)
_TIMES, _SLACK = 4, 64


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
    their level is next met. Bounded by design, as ``maker_index.MakerIndex`` (there twice): a symbol's
    entries past four times its resting orders (+ ``_SLACK``) are made again from those orders,
    and a symbol with none keeps nothing."""

    __slots__ = ("_symbols", "depth_streams", "model")

    def __init__(self, model: QueueModel | None, symbols: Iterable[str]) -> None:
        self.model = RISK_AVERSE if model is None else model
        self.depth_streams = {SymbolStreams(symbol).depth: symbol for symbol in symbols}
        self._symbols: dict[str, _SymbolQueues] = {}

    def add(self, order: Order, level: int, resting: Collection[Order]) -> None:
        """``order`` joined the back of its level, which displays ``level``; ``resting``:
        the symbol's resting orders (``order`` may be one)."""
        queues = self.fresh(order.symbol, resting)
        key = (order.side.is_buy, order.price)
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
        found = None if queues is None else queues.levels.get((order.side.is_buy, order.price))
        return Position(order.queue_ahead, 0 if found is None else found.traded.get(order.order_id, 0))

    def moved(self, order: Order, position: Position) -> None:
        """``order`` is at ``position`` now (a trade's doing)."""
        order.queue_ahead = position.ahead
        queues = self._symbols.get(order.symbol)
        found = None if queues is None else queues.levels.get((order.side.is_buy, order.price))
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
            if order is None or order.price != price or order.side.is_buy is not buy:
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
        if queues is not None and queues.entries < _TIMES * len(resting) + _SLACK:
            return queues
        made = self._symbols[symbol] = _SymbolQueues()
        for order in resting:
            key = (order.side.is_buy, order.price)
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
