"""A plain reference venue: one USDⓈ-M market's order entry, book and accounts written as
naively as possible, the oracle of ``test_reference_oracle.py`` (STYLE.md: "the naive book is
kept as the oracle in property tests"; exchange-core keeps its naive book the same way).

It shares no logic with the engine: only the vocabulary (``Side``, ``OrderStatus`` …) and
the facts the exchange publishes (each symbol's filters, the fee rates, the default
leverage). Everything is recomputed from lists on every question, with ``Fraction``:

- **The book** (the simulated market's one book, docs/venue.md "How orders fill"): per
  symbol the published quantity at each price (which takers consume) and one list of the
  venue's resting orders in the order they joined. At a price a taker meets the published
  quantity first (it was there before any venue order came: nothing refills it), then the
  venue's orders oldest first, one fill each (part 2 §10: one trade per maker order).
- **Accounts**: a deposit, and per symbol the list of fills; a position's amount and entry
  price are replayed from that list by part 3 §7.7 (an increase averages, a reduction keeps
  the entry and realizes ``n × (fill − EP) × side``, a flip opens the rest at the fill);
  the wallet is the deposit + Σ realized − Σ commission (§7.8, §10: commission rounded
  down, PnL toward zero, at 8 decimals).
- **Margin** (§7.3, §7.8; docs/venue.md "Margin", decision 7): available = wallet + uPnL −
  Σ |notional| / L − Σ open-order margin, at the mark. A symbol's open-order margin is, per
  side, Σ (q × p / L + q × open loss) over its open orders, times the share beyond the
  quantity that would close the opposite position; the larger side counts. A LIMIT order
  costs the growth of its symbol's open-order margin with it resting; a MARKET order its
  increasing part at the assumed price (best ask × 1.0005 for a buy, max(best bid, mark)
  for a sell); a modification its added quantity at the new price. Refused (-2019) when
  the cost is positive and above the available balance.
- **Refusals**, in part 2 §8's order: PERCENT_PRICE (-4016/-4024) or a MARKET order's
  ``marketTakeBound`` (-4131), MIN_NOTIONAL (-4164; -5029 for a modification), margin
  (-2019), post-only crossing (-5022), FOK not fillable (-5021); cancels of an order that
  is not the account's open one (-2011), modifications of one (-2013), to the same price
  and quantity (-5027).
- **Self-trade prevention** (part 2 §3.3, §10) at the book's granularity the venue
  documents: the taker's own resting orders on the other side at prices its walk reaches
  are met; ``EXPIRE_MAKER``/``EXPIRE_BOTH`` expire them, ``EXPIRE_TAKER``/``EXPIRE_BOTH``
  stop the taker before the best of them (it then expires in match). IOC, GTC and MARKET
  only; ``NONE`` trades with itself.

Not modelled (the oracle's subset): reduce-only, hedge mode, isolated margin, GTD,
priceMatch, leverage changes, the market's own trades, marks' liquidations and funding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

from tickerplant.market.instruments import Instrument
from tickerplant.market.payloads.exchange_info import order_filters
from tickerplant.venue.domain.contract import DEFAULT_LEVERAGE
from tickerplant.venue.domain.fees import DEFAULT_FEES
from tickerplant.venue.domain.orders import OrderStatus, OrderType, Side, TimeInForce

__all__ = ["RefOrder", "ReferenceVenue", "Refused"]

SCALE = 10**8  # money in 1e-8 (part 3 §10: 8 decimals)
OPEN = (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)


class Refused(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class RefOrder:
    order_id: int
    account: int
    symbol: str
    side: Side
    type: OrderType
    tif: TimeInForce
    price: int  # price units; 0 for MARKET
    qty: int  # quantity units
    stp: str
    fills: list[tuple[int, int]] = field(default_factory=list)  # (price units, quantity units)
    status: OrderStatus = OrderStatus.NEW
    events: list[tuple[str, str]] = field(default_factory=list)  # (x, X) of each ORDER_TRADE_UPDATE

    @property
    def executed(self) -> int:
        return sum(q for _, q in self.fills)

    @property
    def remaining(self) -> int:
        return self.qty - self.executed

    @property
    def avg_price(self) -> Fraction:
        executed = self.executed
        return Fraction(sum(p * q for p, q in self.fills), executed) if executed else Fraction(0)

    def event(self, execution: str) -> None:
        self.events.append((execution, self.status.value))


def _sign(side: Side) -> int:
    return 1 if side is Side.BUY else -1


def position_of(fills: list[tuple[int, Fraction]]) -> tuple[int, Fraction]:
    """Part 3 §7.7 replayed over signed fills (quantity units, price): amount and entry."""
    amt, entry = 0, Fraction(0)
    for signed, price in fills:
        if amt == 0 or (amt > 0) == (signed > 0):
            entry = (abs(amt) * entry + abs(signed) * price) / (abs(amt) + abs(signed))
            amt += signed
        else:
            left = amt + signed
            if left == 0:
                entry = Fraction(0)
            elif (left > 0) != (amt > 0):
                entry = price
            amt = left
    return amt, entry


class ReferenceVenue:
    """One market, one-way mode, cross margin, every account at the default leverage."""

    def __init__(
        self, instruments: list[Instrument], levels: dict[str, tuple[dict[int, int], dict[int, int]]],
        marks: dict[str, Fraction], deposits: dict[int, int], first_ids: dict[str, int],
    ) -> None:  # fmt: skip
        """``levels``: per symbol the published (bids, asks), price units -> quantity units;
        ``deposits``: each account's USDT in 1e-8; ``first_ids``: each symbol's first order id."""
        self.inst = {i.symbol: i for i in instruments}
        self.filters = {i.symbol: order_filters(i) for i in instruments}
        self.public = {s: (dict(b), dict(a)) for s, (b, a) in levels.items()}
        self.marks = marks
        self.deposits = dict(deposits)
        self.next_id = dict(first_ids)
        self.orders: list[RefOrder] = []  # every order accepted, in order
        self.queue: dict[str, list[RefOrder]] = {s: [] for s in self.inst}  # resting, as they joined
        self.fills: dict[tuple[int, str], list[tuple[int, Fraction]]] = {}  # (account, symbol)
        self.booked: dict[int, list[int]] = {a: [] for a in deposits}  # realized − commission per fill

    # -- units -----------------------------------------------------------------------------

    def price(self, symbol: str, units: int) -> Fraction:
        return Fraction(units, 10 ** self.inst[symbol].price_decimals)

    def qty(self, symbol: str, units: int) -> Fraction:
        return Fraction(units, 10 ** self.inst[symbol].qty_decimals)

    # -- what a reader sees ----------------------------------------------------------------

    def wallet(self, account: int) -> int:
        return self.deposits[account] + sum(self.booked[account])

    def position(self, account: int, symbol: str) -> tuple[int, Fraction]:
        return position_of(self.fills.get((account, symbol), []))

    def open_orders(self, account: int, symbol: str | None = None) -> list[RefOrder]:
        return [
            o for o in self.orders
            if o.account == account and o.status in OPEN and symbol in (None, o.symbol)
        ]  # fmt: skip

    def levels(self, symbol: str, bids: bool) -> list[tuple[int, int]]:
        """One side of the one book, best first: the published quantity and the venue's."""
        total = dict(self.public[symbol][0 if bids else 1])
        for order in self.queue[symbol]:
            if (order.side is Side.BUY) == bids:
                total[order.price] = total.get(order.price, 0) + order.remaining
        return sorted(total.items(), reverse=bids)

    # -- margin (part 3 §7.3, §7.8) ---------------------------------------------------------

    def open_order_margin(self, account: int, symbol: str, extra: tuple[Side, int, int] | None = None) -> Fraction:
        """The symbol's open-order margin, ``extra`` (side, quantity, price) as if resting."""
        mark, leverage = self.marks[symbol], DEFAULT_LEVERAGE
        amt, _ = self.position(account, symbol)
        larger = Fraction(0)
        for side in (Side.BUY, Side.SELL):
            rests = [(o.remaining, o.price) for o in self.open_orders(account, symbol) if o.side is side]
            if extra is not None and extra[0] is side:
                rests.append((extra[1], extra[2]))
            total = sum((q for q, _ in rests), 0)
            closing = max(0, -_sign(side) * amt)  # what would close the opposite position
            if total <= closing:
                continue
            cost = sum(
                (self.qty(symbol, q) * self.price(symbol, p) / leverage
                 + self.qty(symbol, q) * max(Fraction(0), _sign(side) * (self.price(symbol, p) - mark))
                 for q, p in rests),
                Fraction(0),
            )  # fmt: skip
            larger = max(larger, cost * (total - closing) / total)
        return larger

    def available(self, account: int) -> Fraction:
        free = Fraction(self.wallet(account), SCALE)
        for symbol in self.inst:
            mark = self.marks[symbol]
            amt, entry = self.position(account, symbol)
            size = self.qty(symbol, amt)
            free += size * (mark - entry) - abs(size * mark) / DEFAULT_LEVERAGE
            free -= self.open_order_margin(account, symbol)
        return max(Fraction(0), free)

    def check_margin(self, account: int, cost: Fraction) -> None:
        if cost > 0 and cost > self.available(account):
            raise Refused(-2019)

    # -- the checks that read the market (part 2 §8, §10) ------------------------------------

    def check_price(self, symbol: str, side: Side, price: int) -> None:
        f, mark = self.filters[symbol], self.marks[symbol]
        if side is Side.BUY and self.price(symbol, price) > mark * Fraction(f.multiplier_up):
            raise Refused(-4016)
        if side is Side.SELL and self.price(symbol, price) < mark * Fraction(f.multiplier_down):
            raise Refused(-4024)

    def market_limit(self, symbol: str, side: Side) -> int:
        """How far a MARKET order may take: ``marketTakeBound`` from the mark, on the tick."""
        f, tick, mark = self.filters[symbol], self.inst[symbol].tick, self.marks[symbol]
        bound = Fraction(f.market_take_bound)
        edge = mark * (1 + _sign(side) * bound) * 10 ** self.inst[symbol].price_decimals
        limit = math.floor(edge / tick) * tick if side is Side.BUY else math.ceil(edge / tick) * tick
        best = next(iter(self.levels(symbol, side is Side.SELL)), None)
        if best is not None and (best[0] > limit if side is Side.BUY else best[0] < limit):
            raise Refused(-4131)
        return limit

    def walk(self, symbol: str, side: Side, qty: int, limit: int) -> list[tuple[int, int]]:
        """What ``qty`` would take of the other side up to ``limit``: (price, quantity)."""
        taken, left = [], qty
        for price, available in self.levels(symbol, side is Side.SELL):
            if left == 0 or (price > limit if side is Side.BUY else price < limit):
                break
            taken.append((price, min(left, available)))
            left -= taken[-1][1]
        return taken

    # -- the commands ----------------------------------------------------------------------

    def place(
        self, account: int, symbol: str, side: Side, kind: OrderType, tif: TimeInForce, price: int, qty: int,
        stp: str,
    ) -> RefOrder:  # fmt: skip
        f, mark = self.filters[symbol], self.marks[symbol]
        if kind is OrderType.MARKET:
            price, tif = 0, TimeInForce.GTC  # a MARKET order reports GTC (part 2 §3.4)
            limit = self.market_limit(symbol, side)
            notional = self.qty(symbol, qty) * mark
        else:
            self.check_price(symbol, side, price)
            limit = price
            notional = self.qty(symbol, qty) * self.price(symbol, price)
        if notional < Fraction(f.min_notional):
            raise Refused(-4164)
        if kind is OrderType.LIMIT:
            without = self.open_order_margin(account, symbol)
            self.check_margin(account, self.open_order_margin(account, symbol, (side, qty, price)) - without)
        else:
            self.check_margin(account, self.market_cost(account, symbol, side, qty))
        walked = self.walk(symbol, side, qty, limit)
        if tif is TimeInForce.GTX and walked:
            raise Refused(-5022)
        if tif is TimeInForce.FOK and sum(q for _, q in walked) < qty:
            raise Refused(-5021)
        order = RefOrder(self.next_id[symbol], account, symbol, side, kind, tif, price, qty, stp)
        self.next_id[symbol] += 1
        self.orders.append(order)
        order.event("NEW")
        stopped = self.take(order, qty, limit, walked)
        if order.status in OPEN:
            if stopped:
                self.end(order, OrderStatus.EXPIRED_IN_MATCH)
            elif kind is OrderType.MARKET or tif is TimeInForce.IOC:
                self.end(order, OrderStatus.EXPIRED)
            else:
                self.queue[symbol].append(order)
        return order

    def market_cost(self, account: int, symbol: str, side: Side, qty: int) -> Fraction:
        """§7.3 for a MARKET order: its part that increases the position, at the assumed price."""
        best = next(iter(self.levels(symbol, side is Side.SELL)), None)
        if best is None:
            return Fraction(0)
        mark, best_price = self.marks[symbol], self.price(symbol, best[0])
        assumed = best_price * Fraction(10005, 10000) if side is Side.BUY else max(best_price, mark)
        amt, _ = self.position(account, symbol)
        increasing = self.qty(symbol, max(0, qty - max(0, -_sign(side) * amt)))
        return increasing * assumed / DEFAULT_LEVERAGE + increasing * max(Fraction(0), _sign(side) * (assumed - mark))

    def take(self, taker: RefOrder, qty: int, limit: int, walked: list[tuple[int, int]]) -> bool:
        """``taker`` trades ``qty`` in the one book, trade by trade (part 4 §4.3: the account
        as it stands after each); whether its own order stopped it (self-trade prevention).
        Within one trade the maker's side is booked first: the two sides are one account's
        only in a self-trade, where the spec gives no order (the resting order was first)."""
        if not walked:
            return False
        symbol, buy = taker.symbol, taker.side is Side.BUY
        stopped = False
        effective = taker.type is OrderType.MARKET or taker.tif in (TimeInForce.IOC, TimeInForce.GTC)
        if taker.stp != "NONE" and effective:
            deepest = walked[-1][0]
            met = [
                o for o in self.queue[symbol]
                if o.account == taker.account and o.side is not taker.side
                and (o.price <= deepest if buy else o.price >= deepest)
            ]  # fmt: skip
            if met and taker.stp in ("EXPIRE_MAKER", "EXPIRE_BOTH"):
                for order in met:
                    self.end(order, OrderStatus.EXPIRED_IN_MATCH)
            if met and taker.stp in ("EXPIRE_TAKER", "EXPIRE_BOTH"):
                tick = self.inst[symbol].tick
                limit = min(o.price for o in met) - tick if buy else max(o.price for o in met) + tick
                stopped = True
        public = self.public[symbol][1 if buy else 0]
        left = qty
        while left:
            prices = [p for p in public] + [o.price for o in self.queue[symbol] if o.side is not taker.side]
            reachable = [p for p in prices if (p <= limit if buy else p >= limit)]
            if not reachable:
                break
            price = min(reachable) if buy else max(reachable)
            if public.get(price):  # the published quantity is ahead of every venue order
                part = min(left, public[price])
                public[price] -= part
                if not public[price]:
                    del public[price]
                self.settle(taker, price, part, maker=False)
            else:
                maker = next(o for o in self.queue[symbol] if o.price == price and o.side is not taker.side)
                part = min(left, maker.remaining)
                self.settle(maker, price, part, maker=True)  # one trade: its maker side first
                self.settle(taker, price, part, maker=False)
                if maker.status is OrderStatus.FILLED:
                    self.queue[symbol].remove(maker)
            left -= part
        return stopped

    def settle(self, order: RefOrder, price: int, qty: int, *, maker: bool) -> None:
        """A fill: the position's list, realized PnL and commission in the wallet (§7.7, §10)."""
        symbol, account = order.symbol, order.account
        fills = self.fills.setdefault((account, symbol), [])
        amt, entry = position_of(fills)
        fill_price, size = self.price(symbol, price), self.qty(symbol, qty)
        realized = Fraction(0)
        if amt and (amt > 0) != (order.side is Side.BUY):
            closed = min(size, abs(self.qty(symbol, amt)))
            realized = closed * (fill_price - entry) * (1 if amt > 0 else -1)
        rate = DEFAULT_FEES.maker if maker else DEFAULT_FEES.taker
        commission = math.floor(size * fill_price * rate * SCALE)  # rounded down
        self.booked[account].append(math.trunc(realized * SCALE) - commission)  # PnL toward zero
        fills.append((_sign(order.side) * qty, fill_price))
        order.fills.append((price, qty))
        order.status = OrderStatus.FILLED if order.remaining == 0 else OrderStatus.PARTIALLY_FILLED
        order.event("TRADE")

    def end(self, order: RefOrder, status: OrderStatus) -> None:
        order.status = status
        if order in self.queue[order.symbol]:
            self.queue[order.symbol].remove(order)
        order.event("EXPIRED" if status is OrderStatus.EXPIRED_IN_MATCH else status.value)

    def find(self, account: int, symbol: str, order_id: int) -> RefOrder | None:
        return next((o for o in self.orders if (o.account, o.symbol, o.order_id) == (account, symbol, order_id)), None)

    def cancel(self, account: int, symbol: str, order_id: int) -> RefOrder:
        order = self.find(account, symbol, order_id)
        if order is None or order.status not in OPEN:
            raise Refused(-2011)
        self.end(order, OrderStatus.CANCELED)
        return order

    def cancel_all(self, account: int, symbol: str) -> None:
        for order in self.open_orders(account, symbol):
            self.end(order, OrderStatus.CANCELED)

    def amend(self, account: int, symbol: str, order_id: int, side: Side, qty: int, price: int) -> RefOrder:
        """Part 2 §5: a new price and quantity in place, re-queued at the back."""
        order = self.find(account, symbol, order_id)
        if order is None or order.status not in OPEN:
            raise Refused(-2013)
        if order.type is not OrderType.LIMIT:
            raise Refused(-5025)
        if side is not order.side:
            raise Refused(-1117)
        if (qty, price) == (order.qty, order.price):
            raise Refused(-5027)
        self.check_price(symbol, side, price)
        if self.qty(symbol, qty) * self.price(symbol, price) < Fraction(self.filters[symbol].min_notional):
            raise Refused(-5029)
        crossing = self.walk(symbol, side, qty - order.executed, price) if qty > order.executed else []
        if qty <= order.executed or (order.tif is TimeInForce.GTX and crossing):
            self.end(order, OrderStatus.CANCELED)  # the amendment cancels it (part 2 §5)
            return order
        added = qty - order.qty
        if added > 0:
            without = self.open_order_margin(account, symbol)
            self.check_margin(account, self.open_order_margin(account, symbol, (side, added, price)) - without)
        order.qty, order.price = qty, price
        order.event("AMENDMENT")
        self.queue[symbol].remove(order)
        stopped = self.take(order, qty - order.executed, price, crossing)
        if stopped and order.status in OPEN:
            self.end(order, OrderStatus.EXPIRED_IN_MATCH)
        elif order.status in OPEN:
            self.queue[symbol].append(order)
        return order
