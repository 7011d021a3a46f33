"""One market's conditional orders (trading spec part 2 §4), the engine's state beside its
orders: what ``/fapi/v1/algoOrder`` keeps until a price triggers it. The commands on it
(``algo/placing.py``) and the market's trigger pass (``algo/triggers.py``) are steps over
the engine's state, applied by ``Engine.apply``.

- The trigger (part 2 §4.2's table) on the latest price ``workingType`` names: the market's
  last trade (``CONTRACT_PRICE``, the default; ``last``) or the mark (``MARK_PRICE``).
- A trailing stop activates when the price reaches ``activatePrice`` (the latest price when
  none is given) and triggers once the price has come back ``callbackRate`` % from its best
  since activation (``extreme``).
- The last trade's price of each symbol is what a new order is checked against (-2021)
  and what ``CONTRACT_PRICE`` orders trigger on: every delivery with a trade notes its
  symbols' last ``@aggTrade`` payload (``note``), decoded only when read (``last_price``):
  with no order waiting on a symbol, nothing reads it until one is placed. On a symbol an
  order waits on, each trade of the delivery is read in turn (``trade_prices``).
- Nothing is reserved until triggered (decision 7); at most ``MAX_OPEN`` open per account
  across symbols; ids self-increment per market; closed ones are kept (the last
  ``ALGO_KEPT`` per account) for the reads.

Statuses (part 2 §4.3): ``NEW`` → ``TRIGGERING`` → ``TRIGGERED`` (its child's ``orderId``
in ``actualOrderId``; ``triggered`` until the child is done) → ``FINISHED``; ``CANCELED`` by
the user, or by the system when its reduce-only child has nothing to reduce (``rm``
"Reduce Only reject"); ``REJECTED`` when the child is refused otherwise (``rm`` says why);
``EXPIRED`` when a ``closePosition`` order's position is closed or turned (GTE_GTC,
``closing``), or it triggers with no position to close, and when a GTD order's
``goodTillDate`` comes before its trigger (``next_date``, ``expired``).

Memory is bounded by design: the open orders (``MAX_OPEN`` per account), the last
``ALGO_KEPT`` closed per account, one last price per listed symbol, one delivery's
trades of the symbols an order waits on (``note``), the waiting GTD orders' dates (dropped
past twice the waiting orders, ``_dated``) and the waiting legacy orders' index
(``legacy_waiting``). The conditional orders placed on ``/v1/order``
(``--legacy-conditional-orders``) share ``MAX_OPEN`` and ``ALGO_KEPT`` with the others.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from fractions import Fraction

import msgspec

from tickerplant.market.instruments import Instrument
from tickerplant.market.messages import StreamMessage
from tickerplant.market.payloads.events import AggTrade
from tickerplant.market.units import to_units
from tickerplant.venue.domain.algo_order import AlgoOrder
from tickerplant.venue.domain.ids import ALGO_IDS_FROM
from tickerplant.venue.domain.orders import PositionSide, Side

__all__ = ["ALGO_KEPT", "MAX_OPEN", "AlgoBook"]

MAX_OPEN = 200  # open algo orders per account, every symbol (part 2 §4.1)
ALGO_KEPT = 1000  # closed algo orders kept per account for the reads

_agg = msgspec.json.Decoder(AggTrade[str])


class AlgoBook:
    """One market's algo orders, and the last trade price of each of its symbols."""

    def __init__(self, instruments: Mapping[str, Instrument], first_id: int = ALGO_IDS_FROM) -> None:
        """``first_id``: the market's first algo id (``venue/domain/ids.py``)."""
        self.instruments = instruments
        self.first_id = self.next_id = first_id
        self.last: dict[str, int] = {}  # symbol -> its last trade's price, units, as last read
        self._unread: dict[str, bytes] = {}  # symbol -> a later last `@aggTrade` payload, not decoded yet
        # symbol -> this delivery's `@aggTrade` payloads, in order, while an order waits on it
        self._path: dict[str, list[bytes]] = {}
        self._open: dict[int, dict[int, AlgoOrder]] = {}  # account -> algo id -> order
        self._closed: dict[int, deque[AlgoOrder]] = {}
        # untriggered, for the price checks: a symbol is here while an order waits on it
        self.by_symbol: dict[str, dict[int, AlgoOrder]] = {}
        self.triggered: dict[int, AlgoOrder] = {}  # algo id -> an order whose child still works
        # (goodTillDate, algo id, symbol) of the untriggered GTD orders, a heap (``next_date``)
        self._dates: list[tuple[int, int, str]] = []
        # account -> client id -> its legacy orders waiting for their trigger (``algo/legacy.py``):
        # open orders of their symbols, which the order path asks of with one lookup
        self.legacy_waiting: dict[int, dict[str, AlgoOrder]] = {}

    # -- reads ------------------------------------------------------------------------------

    # ``with_legacy``: with the conditional orders placed on ``…/v1/order`` (``AlgoOrder.legacy``,
    # whose own reads are ``legacy_on``, ``find_legacy``), which the algo endpoints leave out

    def open_orders(
        self, account_id: int, symbol: str | None = None, with_legacy: bool = True
    ) -> list[AlgoOrder]:
        found = self._open.get(account_id, {}).values()
        return sorted(
            (a for a in found if (symbol is None or a.symbol == symbol) and (with_legacy or not a.legacy)),
            key=lambda a: a.algo_id,
        )

    def legacy_on(self, account_id: int, symbol: str | None = None) -> list[AlgoOrder]:
        """The account's legacy orders waiting for their trigger (on ``symbol``), by order id."""
        found = self.legacy_waiting.get(account_id, {}).values()
        return sorted((a for a in found if symbol in (None, a.symbol)), key=lambda a: a.order_id)

    def find_legacy(self, account_id: int, symbol: str, order_id: int) -> AlgoOrder | None:
        """The account's legacy order of ``order_id`` on ``symbol`` waiting for its trigger."""
        for order in self.legacy_waiting.get(account_id, {}).values():
            if order.order_id == order_id and order.symbol == symbol:
                return order
        return None

    def has_open(self, account_id: int) -> bool:
        return bool(self._open.get(account_id))

    def open_count(self, account_id: int) -> int:
        return len(self._open.get(account_id, ()))

    def orders(self, account_id: int, symbol: str, with_legacy: bool = True) -> list[AlgoOrder]:
        kept = [*self._closed.get(account_id, ()), *self._open.get(account_id, {}).values()]
        return sorted(
            (a for a in kept if a.symbol == symbol and (with_legacy or not a.legacy)), key=lambda a: a.algo_id
        )

    def every_order(self) -> list[AlgoOrder]:
        """Every account's open algo orders and the closed ones kept, by id."""
        kept = [a for orders in self._open.values() for a in orders.values()]
        kept += [a for orders in self._closed.values() for a in orders]
        return sorted(kept, key=lambda a: a.algo_id)

    def find(
        self, account_id: int, algo_id: int | None, client_id: str | None, with_legacy: bool = True
    ) -> AlgoOrder | None:
        """One of the account's algo orders by id, else by client id (the newest holding it)."""
        for order in [*self._open.get(account_id, {}).values(), *reversed(self._closed.get(account_id, ()))]:
            if order.legacy and not with_legacy:
                continue
            if (algo_id is not None and order.algo_id == algo_id) or (
                algo_id is None and order.client_algo_id == client_id
            ):
                return order
        return None

    def last_price(self, symbol: str) -> int | None:
        """``symbol``'s last trade price in price units, None before its first: the last
        ``@aggTrade`` noted, decoded at the first read after it."""
        payload = self._unread.pop(symbol, None)
        if payload is not None:
            self.last[symbol] = to_units(_agg.decode(payload).price, self.instruments[symbol].price_decimals)
        return self.last.get(symbol)

    def wants(self, priced: bool, mark: Callable[[str], Fraction | None]) -> bool:
        """Whether a delivery gives the trigger pass anything to do (``priced``: it carries a
        trade or a mark; ``mark``: the market's, None before its first): a triggered order
        whose child a command ended (a cancel, an expiry) finishes at any; a waiting order
        triggers at a price, or, on a symbol with no mark yet, at its book's mid
        (``EngineState.mark``), which any delivery may move. None of these: nothing to look
        at (most deliveries: with no algo order open, all of them; a trade's price is noted
        apart, ``note``)."""
        if self.triggered:
            return True
        waiting = self.by_symbol  # (a dict's truth: most deliveries ask with none open)
        return bool(waiting) and (priced or any(mark(symbol) is None for symbol in waiting))

    # -- changes ----------------------------------------------------------------------------

    def note(self, streams: Mapping[str, str], messages: Iterable[StreamMessage]) -> None:
        """The last ``@aggTrade`` of each symbol in ``messages`` (``streams``: the market's
        ``@aggTrade`` stream -> its symbol), kept undecoded until its price is read
        (``last_price``): a delivery with a trade costs a look at each message. On a symbol
        an order waits on, every one of them, in order (``trade_prices``): each trade is the
        latest price in its turn (part 2 §4.2), so a stop the price passes through and
        back within one delivery triggers, and a trailing stop's best price is the best."""
        unread, path, waiting = self._unread, self._path, self.by_symbol
        path.clear()  # one delivery's: the last one's were read by its trigger pass
        for stream, payload in messages:
            symbol = streams.get(stream)
            if symbol is not None:
                unread[symbol] = payload
                if symbol in waiting:
                    path.setdefault(symbol, []).append(payload)

    def trade_prices(self, symbol: str) -> Sequence[int | None]:
        """The prices of the trades noted on ``symbol`` in this delivery, in order (price
        units), else its last price alone (None before its first)."""
        payloads = self._path.pop(symbol, None)
        if not payloads:
            return [self.last_price(symbol)]
        self._unread.pop(symbol, None)
        decimals = self.instruments[symbol].price_decimals
        prices = [to_units(_agg.decode(p).price, decimals) for p in payloads]
        self.last[symbol] = prices[-1]
        return prices

    def add(self, order: AlgoOrder) -> None:
        """A new order (its id the book's next), untriggered."""
        self.next_id = max(self.next_id, order.algo_id + 1)
        self._open.setdefault(order.account_id, {})[order.algo_id] = order
        self.by_symbol.setdefault(order.symbol, {})[order.algo_id] = order
        self._dated(order)
        if order.legacy:
            self.legacy_waiting.setdefault(order.account_id, {})[order.client_algo_id] = order

    def _dated(self, order: AlgoOrder) -> None:
        """A GTD order waiting for its trigger, by its date (``next_date``). Bounded: an entry
        per waiting GTD order, those of orders no longer waiting dropped at the top or when
        they grow past twice the waiting ones."""
        if not order.good_till_ms:
            return
        heapq.heappush(self._dates, (order.good_till_ms, order.algo_id, order.symbol))
        if len(self._dates) > 2 * sum(map(len, self.by_symbol.values())) + 64:
            self._dates = [(o.good_till_ms, o.algo_id, o.symbol) for w in self.by_symbol.values()
                           for o in w.values() if o.good_till_ms]  # fmt: skip
            heapq.heapify(self._dates)

    def next_date(self) -> int | None:
        """The earliest ``goodTillDate`` of the orders waiting for their trigger, None without
        one: at it the order ends ``EXPIRED`` untriggered (``expired``), as a resting GTD
        order does at its date (``good_till.py``)."""
        dates = self._dates
        while dates and self.by_symbol.get(dates[0][2], {}).get(dates[0][1]) is None:
            heapq.heappop(dates)  # no longer waiting: triggered, cancelled, expired
        return dates[0][0] if dates else None

    def expired(self, now_ms: int) -> list[AlgoOrder]:
        """The orders waiting for their trigger whose date has come, out of the heap."""
        found = []
        while (date := self.next_date()) is not None and date <= now_ms:
            _, algo_id, symbol = heapq.heappop(self._dates)
            found.append(self.by_symbol[symbol][algo_id])
        return found

    def closing(self, account_id: int, symbol: str, side: PositionSide) -> list[AlgoOrder]:
        """The account's ``closePosition`` orders waiting on its ``side`` position of ``symbol``
        (in one-way mode, ``BOTH``: either direction's), which end when it does (GTE_GTC)."""
        return [
            a for a in self._open.get(account_id, {}).values()
            if a.close_position and a.status == "NEW" and a.symbol == symbol and a.position_side is side
        ]  # fmt: skip

    def close(self, order: AlgoOrder, status: str, now_ms: int, reason: str = "") -> None:
        order.status, order.update_ms, order.reason = status, now_ms, reason or order.reason
        self._stops_waiting(order)
        if status == "TRIGGERED":
            self.triggered[order.algo_id] = order
        elif not order.is_open:
            self.triggered.pop(order.algo_id, None)
            self._open.get(order.account_id, {}).pop(order.algo_id, None)
            self._closed.setdefault(order.account_id, deque(maxlen=ALGO_KEPT)).append(order)

    def restore(self, order: AlgoOrder) -> None:
        """One reloaded from the journal."""
        self.next_id = max(self.next_id, order.algo_id + 1)
        if order.is_open:
            self._open.setdefault(order.account_id, {})[order.algo_id] = order
            if order.status == "NEW":
                self.by_symbol.setdefault(order.symbol, {})[order.algo_id] = order
                self._dated(order)
                if order.legacy:
                    self.legacy_waiting.setdefault(order.account_id, {})[order.client_algo_id] = order
            elif order.status == "TRIGGERED":
                self.triggered[order.algo_id] = order
        else:
            self._closed.setdefault(order.account_id, deque(maxlen=ALGO_KEPT)).append(order)

    def due(
        self, symbol: str, latest: int | None, mark: int | None, now_ms: int, protect: str
    ) -> list[AlgoOrder]:
        """The untriggered orders on ``symbol`` these prices trigger, now ``TRIGGERING``
        and out of the price checks; trailing stops' best prices moved. An order sent with
        ``priceProtect`` waits while the mark and the last price are further apart than the
        symbol's ``triggerProtect`` (``protect``; part 2 §4.2's table: ``diverged``)."""
        waiting = self.by_symbol.get(symbol)
        if not waiting:
            return []
        due = []
        for order in list(waiting.values()):
            price = latest if order.working_type == "CONTRACT_PRICE" else mark
            if price is None:
                continue
            if order.type == "TRAILING_STOP_MARKET":
                if not _trailing_due(order, price):
                    continue
            elif not met(order.type, order.side, order.trigger_price, price):
                continue
            if order.price_protect and diverged(latest, mark, protect):
                continue
            order.status, order.trigger_ms, order.update_ms = "TRIGGERING", now_ms, now_ms
            self._stops_waiting(order)
            due.append(order)
        return due

    def _stops_waiting(self, order: AlgoOrder) -> None:
        """``order`` out of the price checks; its symbol too, with no other order waiting (a
        legacy one out of ``legacy_waiting``, its account too with no other left)."""
        waiting = self.by_symbol.get(order.symbol)
        if waiting is not None:
            waiting.pop(order.algo_id, None)
            if not waiting:
                del self.by_symbol[order.symbol]
        legacy = self.legacy_waiting.get(order.account_id) if order.legacy else None
        if legacy is not None and legacy.get(order.client_algo_id) is order:
            del legacy[order.client_algo_id]
            if not legacy:
                del self.legacy_waiting[order.account_id]

    def copy(self, order: AlgoOrder) -> AlgoOrder:
        return dataclasses.replace(order)


def diverged(latest: int | None, mark: int | None, protect: str) -> bool:
    """Whether the last price is further from the mark than ``protect`` of it (``triggerProtect``,
    "0.0500": 5 %), the rate Binance names "the difference rate between MARK_PRICE and
    CONTRACT_PRICE" (part 2 §4.2's table; its denominator the mark, an inference). Without
    both prices there is nothing to compare: not diverged."""
    if latest is None or not mark:
        return False
    bound = Fraction(protect)
    return abs(latest - mark) * bound.denominator > bound.numerator * mark


def met(kind: str, side: Side, trigger: int, price: int) -> bool:
    """Part 2 §4.2's table: STOP types trigger going through the price away from the side's
    favour, TAKE_PROFIT types toward it."""
    stop = kind.startswith("STOP")
    if side is Side.BUY:
        return price >= trigger if stop else price <= trigger
    return price <= trigger if stop else price >= trigger


def _trailing_due(order: AlgoOrder, price: int) -> bool:
    buy = order.side is Side.BUY
    if not order.extreme:  # not activated: waits for the activation price, or (none sent, and
        # no latest price when placed: part 2 §4.2's default) activates at the first price
        at = order.activate_price
        if not at or (price <= at if buy else price >= at):
            order.extreme = price
        return False
    order.extreme = min(order.extreme, price) if buy else max(order.extreme, price)
    rate = Fraction(order.callback_rate) / 100
    return price >= order.extreme * (1 + rate) if buy else price <= order.extreme * (1 - rate)
