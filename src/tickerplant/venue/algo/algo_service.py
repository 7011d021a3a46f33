"""The Algo Order service of one market (trading spec part 2 §4): algo orders in, and when
a price triggers one, its child handed to the engine as an ordinary order. Sans-I/O: the
market's messages and the time come in as arguments.

Prices: the last trade of each symbol from the market's ``@aggTrade`` messages (the
``CONTRACT_PRICE`` working type), the engine's mark (``MARK_PRICE``). After each batch of
messages (``observe``) the waiting orders of the symbols whose prices moved are checked.

A trigger (part 4 §4.3 item 10): ``ALGO_UPDATE`` ``TRIGGERING``; the child placed through
``EngineState.place`` (not counted against the account's order limits) with the algo's
``clientAlgoId`` as its ``clientOrderId`` (part 4 Unresolved 14), ``MARKET`` or ``LIMIT`` at
``price``, reduce-only for ``reduceOnly`` and ``closePosition`` (the whole position, on the
side that closes it); then ``TRIGGERED`` with its ``orderId``, the child's own events, and
``FINISHED`` once the child is done (at once, for a child that filled or expired, else when
the market fills it). A refused child is ``REJECTED`` with the refusal's text; a
``closePosition`` order with no position to close ``EXPIRED``. Every change is journaled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction

import msgspec

from tickerplant.market.messages import StreamMessage, SymbolStreams
from tickerplant.market.payloads.events import AggTrade
from tickerplant.market.units import fixed, to_units
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.algo.algo_book import AlgoBook
from tickerplant.venue.domain.algo_order import AlgoOrder
from tickerplant.venue.domain.commands import NewOrder, Place
from tickerplant.venue.domain.events import AlgoUpdate, Batch, Event
from tickerplant.venue.domain.order_params import check_good_till
from tickerplant.venue.domain.orders import Order, OrderType, PositionSide, Side, TimeInForce
from tickerplant.venue.engine.placement import place
from tickerplant.venue.engine.state import EngineState
from tickerplant.venue.ledger.exposure import each_account
from tickerplant.venue.payloads.order_payloads import avg_price

__all__ = ["AlgoService"]

_agg = msgspec.json.Decoder(AggTrade[str])


class AlgoService:
    def __init__(self, engine: EngineState) -> None:
        self.engine = engine
        self.book = AlgoBook(engine.instruments, engine.client_ids, engine.first_algo_id)
        self.last: dict[str, int] = {}  # symbol -> its last trade's price, units
        self._streams = {SymbolStreams(s).agg_trade: s for s in engine.instruments}
        self._triggered: dict[int, AlgoOrder] = {}  # algo id -> an order whose child still works
        engine.modes.join_algos(lambda account_id: bool(self.book.open_orders(account_id)))

    def restore(self, order: AlgoOrder) -> None:
        self.book.restore(order)
        if order.status == "TRIGGERED":
            self._triggered[order.algo_id] = order

    # -- commands -------------------------------------------------------------------------

    def place(
        self, account_id: int, params: Mapping[str, str], now_ms: int
    ) -> tuple[AlgoOrder, list[tuple[str, int]]]:
        engine = self.engine
        counts = engine.counts.charge(account_id, now_ms)  # 1 on each window (part 2 §4.2)
        inst = engine.instruments.get(params.get("symbol", ""))
        symbol = inst.symbol if inst is not None else ""  # none: the book refuses it
        hedge = engine.ledger(account_id).hedge
        latest, mark = self.last.get(symbol), self._mark(symbol)
        order = self.book.place(account_id, params, latest, mark, hedge, now_ms)
        self._changed(order, now_ms)
        return order, counts

    def cancel(self, account_id: int, params: Mapping[str, str], now_ms: int) -> AlgoOrder:
        order = self.book.cancel(account_id, params, now_ms)
        self._changed(order, now_ms)
        return order

    def cancel_all(self, account_id: int, symbol: str, now_ms: int) -> None:
        name = self.engine.symbol(symbol).symbol
        for order in self.book.open_orders(account_id, name):
            if order.status == "NEW":
                self.book.close(order, "CANCELED", now_ms)
                self._changed(order, now_ms)

    # -- the market ---------------------------------------------------------------------

    def observe(self, messages: Iterable[StreamMessage], now_ms: int) -> None:
        """The market's batch: new last prices, then the triggers they and the marks make,
        then the triggered orders whose child is done."""
        latest: dict[str, bytes] = {}  # each symbol's last aggTrade: the one decoded
        streams = self._streams
        for stream, payload in messages:
            symbol = streams.get(stream)
            if symbol is not None:
                latest[symbol] = payload
        for symbol, payload in latest.items():
            inst = self.engine.instruments[symbol]
            self.last[symbol] = to_units(_agg.decode(payload).price, inst.price_decimals)

        def trigger(symbol: str) -> None:
            trailing = [
                (order, order.extreme) for order in self.book.by_symbol.get(symbol, {}).values()
                if order.type == "TRAILING_STOP_MARKET"
            ]  # fmt: skip
            due = self.book.due(symbol, self.last.get(symbol), self._mark(symbol), now_ms)
            # a trailing stop that activated, or whose best price moved, is journaled (no event:
            # Binance sends none), or a restart would trail from where it was placed
            moved = [
                self.book.copy(o) for o, extreme in trailing if o.extreme != extreme and o.status == "NEW"
            ]
            if moved:
                self.engine.journal.commit(Batch(algos=moved))
            each_account(due, lambda order: self._trigger(order, now_ms))

        def finish(order: AlgoOrder) -> None:
            child = self._child(order)
            if child is None or not child.status.is_open:
                self._finish(order, child, now_ms)

        # one order's failure (a venue bug met by its account's state) triggers and finishes
        # the others all the same; the first error is raised after (``each_account``)
        waiting = [s for s in self.book.by_symbol if self.book.by_symbol[s]]  # marks move on their own
        try:
            each_account(waiting, trigger)
        finally:
            each_account(list(self._triggered.values()), finish)

    def wants(self, priced: bool) -> bool:
        """Whether a delivery gives ``observe`` anything to do (``priced``: it carries a
        trade or a mark): a trade is the last price an order placed later is checked
        against (-2021), whether or not one waits; a triggered order whose child a command
        ended (a cancel, an expiry) finishes at any; a waiting order on a symbol with no
        mark yet triggers at its book's mid (``EngineState.mark``), which any delivery may move.
        None of these: nothing to look at (most deliveries: a venue order's book)."""
        if priced or self._triggered:
            return True
        waiting = [symbol for symbol, orders in self.book.by_symbol.items() if orders]
        return any(self.engine.data.mark(symbol) is None for symbol in waiting)

    def _trigger(self, order: AlgoOrder, now_ms: int) -> None:
        engine = self.engine
        inst = engine.instruments[order.symbol]
        head = engine.outbox.take()  # what came before, then TRIGGERING, then TRIGGERED, then the child's
        head.append(AlgoUpdate(now_ms, order.account_id, self.book.copy(order)))
        qty = order.qty
        if order.close_position:
            position = engine.ledger(order.account_id).position(order.symbol, order.position_side).amt
            if not (position > 0 if order.side is Side.SELL else position < 0):
                self._put(head)
                self.book.close(order, "EXPIRED", now_ms, "No position to close")
                self._changed(order, now_ms)
                return
            qty = abs(position)
        limit = order.type in ("STOP", "TAKE_PROFIT")  # a LIMIT child, else a MARKET one
        tif = order.time_in_force if limit else TimeInForce.GTC
        child = NewOrder(
            inst, order.side, OrderType.LIMIT if limit else OrderType.MARKET, tif,
            order.price if limit and order.price_match == "NONE" else 0, qty,
            # hedge mode: the position side says it closes
            order.position_side is PositionSide.BOTH and (order.reduce_only or order.close_position),
            order.client_algo_id or None, False, order.good_till_ms if tif is TimeInForce.GTD else 0,
            order.price_match if limit else "NONE", order.stp_mode, order.position_side,
        )  # fmt: skip
        try:
            if child.good_till_ms:  # still more than 600 s ahead, as a new GTD order must be
                check_good_till(child.good_till_ms, now_ms)
            batch = Batch()  # the child's steps, as ``Engine.apply`` runs a ``Place``'s
            made, _ = place(engine, Place(order.account_id, child), now_ms, batch)
            engine.journal.commit(batch)
        except RequestRefused as refusal:
            self._put(head)
            self.book.close(order, "REJECTED", now_ms, refusal.msg)
            self._changed(order, now_ms)
            return
        except Exception:  # not a refusal: a bug; the events taken stay, in their order
            self._put(head + engine.outbox.take())
            raise
        assert made is not None
        own = engine.outbox.take()
        self._put(head)
        order.child_id = made.order_id
        self.book.close(order, "TRIGGERED", now_ms)
        self._changed(order, now_ms, made)
        self._put(own)
        if made.status.is_open:
            self._triggered[order.algo_id] = order
        else:
            self._finish(order, made, now_ms)

    def _finish(self, order: AlgoOrder, child: Order | None, now_ms: int) -> None:
        self._triggered.pop(order.algo_id, None)
        self.book.close(order, "FINISHED", now_ms)
        self._changed(order, now_ms, child)

    def _child(self, order: AlgoOrder) -> Order | None:
        if order.child_id is None:
            return None
        return self.engine.find(order.account_id, order.symbol, order.child_id, None)

    def _changed(self, order: AlgoOrder, now_ms: int, child: Order | None = None) -> None:
        """Its event (with the child's figures once triggered) and its journal entry."""
        engine = self.engine
        child = child if child is not None else self._child(order)
        avg = executed = ""
        if child is not None:
            inst = engine.instruments[order.symbol]
            avg, executed = avg_price(child, inst), fixed(child.executed_qty, inst.qty_decimals)
        if order.status != "TRIGGERING":
            engine.outbox.put(AlgoUpdate(now_ms, order.account_id, self.book.copy(order), avg, executed))
        engine.journal.commit(Batch(algos=[self.book.copy(order)]))

    def _put(self, events: list[Event]) -> None:
        for event in events:
            self.engine.outbox.put(event)

    def _mark(self, symbol: str) -> int | None:
        if not symbol:
            return None
        mark = self.engine.mark(symbol)
        if mark is None:
            return None
        return int(mark * Fraction(10**self.engine.instruments[symbol].price_decimals))
