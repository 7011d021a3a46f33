"""A lean core, the matching benchmark's second reference: the least a venue does for the
mix's commands under Binance's rules, written as directly as Python allows. One object per
order, per account's symbol and per account, integer money, each command one function with
no layer under it. It stands between the bare book (the floor, which does none of this) and
the venue's core: the ratio it reaches is what this machine's CPython allows code of this
shape, and where 0.15 of the floor lies between the two says how far the core's shape is
from one that reaches it.

Not a venue: one symbol, one-way mode, cross margin in one asset, one leverage, no reduce-only,
no self-trade prevention, no order counts, no journal but the rows made. What it does for
each command, as the venue does (docs/venue.md):

- a GTC or IOC order: PRICE_FILTER, LOT_SIZE, PERCENT_PRICE against the mark, MIN_NOTIONAL
  (part 1 §10); its margin as if it all rested, before it takes; the taker's walk down the
  published levels, each fill's commission and the position's sums (Σqty, Σqty·price: the
  entry price is their quotient) with the realized PnL of what it closes (part 3 §4);
  decision 7's open-order margin of the side left resting
  (its orders beyond what would close the opposite position, at their prices, plus the
  loss of those priced past the mark) against the account's available balance (part 3
  §7.8), kept as running sums that every change moves; its place behind the quantity its
  level shows (hftbacktest's risk-averse queue); its events, each with a copy of the order
  and the side's open-order values (part 4 §4.3), and its journal rows;
- a move (part 2 §5): the same filters, the order found by id and its owner, side, move
  count and -5027 checked, the margin with the order at its new place against its old, its
  ``orderAmendment`` row, re-queued last at its new price;
- a cancel: the order found, its margin and sums released, its event and row.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from .parts import as_served, resting_price, taking_price

__all__ = ["Lean", "lean_loop", "revaluation", "run_lean"]

_E8 = 100_000_000  # money in 1e-8 of USDT
_WHOLE = 100 * 1000  # price units × quantity units in one USDT (BTCUSDT: 2 and 3 decimals)
_TAKER_BPS = 4  # 0.04 %
_MAX_MOVES = 10_000  # exchangeInfo's maxMoveOrderLimit
_OPEN, _FILLED, _CANCELED, _EXPIRED = 0, 2, 3, 4
Row = tuple[object, ...]


class Refused(Exception):
    def __init__(self, code: int, msg: str) -> None:
        super().__init__(code, msg)
        self.code = code


class Order:
    __slots__ = (
        "account",
        "ahead",
        "client_id",
        "cum_quote",
        "executed",
        "moves",
        "order_id",
        "price",
        "qty",
        "side",
        "status",
        "tif",
        "time_ms",
        "update_ms",
    )  # fmt: skip

    def __init__(
        self, account: int, order_id: int, side: int, tif: int, price: int, qty: int, now: int
    ) -> None:
        self.account, self.order_id, self.client_id = account, order_id, f"lean{order_id}"
        self.side, self.tif, self.price, self.qty = side, tif, price, qty
        self.executed = self.cum_quote = self.status = self.moves = self.ahead = 0
        self.time_ms = self.update_ms = now

    def copy(self) -> Row:
        return (
            self.account, self.order_id, self.client_id, self.side, self.tif, self.price, self.qty,
            self.executed, self.cum_quote, self.status, self.moves, self.time_ms, self.update_ms,
        )  # fmt: skip


class Seat:
    """An account at the symbol: its open orders, each side's sums, its position, and the
    open-order margin it counts in the account's running total."""

    __slots__ = ("amt", "cost", "open_im", "orders", "position_im", "qty", "upnl", "value")

    def __init__(self) -> None:
        self.orders: dict[int, Order] = {}
        self.qty, self.value = [0, 0], [0, 0]  # per side (buy, sell): Σ left, Σ left × price
        self.amt = self.cost = 0  # the position: signed quantity units, Σ qty × entry price
        self.open_im = self.position_im = self.upnl = 0  # what it counts in the account's sums, 1e-8


class Account:
    __slots__ = ("upnl", "used", "wallet")

    def __init__(self, wallet: int) -> None:
        self.wallet, self.upnl, self.used = wallet, 0, 0  # 1e-8; used: Σ position and open-order IM


class Lean:
    def __init__(self, accounts: int, bids: Sequence[tuple[int, int]], asks: Sequence[tuple[int, int]],
                 mark: int) -> None:  # fmt: skip
        self.levels = (list(asks), list(bids))  # what a buy takes, what a sell takes: best first
        self.shown = dict(bids) | dict(asks)  # the quantity each published level shows
        self.mark, self.leverage = mark, 20
        self.tick, self.min_price, self.max_price = 10, 10, 450_000_000  # BTCUSDT's filters
        self.min_qty, self.max_qty = 1, 1_000_000
        self.up, self.down, self.min_notional = 10_500, 9_500, 50 * _WHOLE  # ×1e-4 of the mark; 50 USDT
        self.accounts = {a: Account(1_000_000 * _E8) for a in range(1, accounts + 1)}
        self.seats: dict[int, Seat] = {}
        self.queues: tuple[dict[int, dict[int, Order]], dict[int, dict[int, Order]]] = ({}, {})
        self.next_id = self.next_trade = self.next_amendment = 1
        self.events: list[Row] = []
        self.rows: list[Row] = []

    def _filters(self, side: int, price: int, qty: int) -> None:
        if price < self.min_price or price > self.max_price or price % self.tick:
            raise Refused(-4014, "Price not increased by tick size.")
        if qty < self.min_qty or qty > self.max_qty:
            raise Refused(-4005, "Quantity greater than max quantity.")
        if price * 10_000 > self.mark * self.up if side == 0 else price * 10_000 < self.mark * self.down:
            raise Refused(-4016, "Limit price can't be higher than the cap.")
        if price * qty < self.min_notional:
            raise Refused(-4164, "Order's notional must be no smaller than 50")

    def _side_im(self, seat: Seat, side: int, qty: int, value: int, orders: dict[int, Order]) -> int:
        """Decision 7 for one side: its orders beyond what closes the opposite position, pro
        rata, at their prices plus the loss of those priced past the mark, over the leverage."""
        closing = -seat.amt if side == 0 else seat.amt  # the opposite position (negative: none)
        if qty <= closing or qty <= 0:
            return 0
        loss = 0
        mark = self.mark
        for order in orders.values():  # the account's few: a buy above the mark, a sell below
            if order.side == side and (order.price > mark if side == 0 else order.price < mark):
                left = order.qty - order.executed
                loss += left * (order.price - mark if side == 0 else mark - order.price)
        units = value + loss * self.leverage
        share = qty if closing <= 0 else qty - closing
        return units * share * _E8 // (_WHOLE * qty * self.leverage)

    def _margin(
        self, seat: Seat, account: Account, side: int, qty: int, value: int, keep: bool = True
    ) -> None:
        """The side's sums as they would be: refused -2019 if its open-order margin grows past
        the available balance, else (``keep``) kept, and the account's total moved."""
        other = 1 - side
        mine = self._side_im(seat, side, qty, value, seat.orders)
        theirs = self._side_im(seat, other, seat.qty[other], seat.value[other], seat.orders)
        im = mine if mine > theirs else theirs
        cost = im - seat.open_im
        if cost > 0 and cost > account.wallet + account.upnl - account.used:
            raise Refused(-2019, "Margin is insufficient.")
        if not keep:  # a taker's check: the order as if it rested, nothing kept
            return
        seat.qty[side], seat.value[side] = qty, value
        account.used += cost
        seat.open_im = im

    def _open_im(self, seat: Seat, account: Account) -> None:
        """The seat's open-order margin worked out again from its sums (no check: what
        happened, a fill or a mark, is not refused), its account's total moved with it."""
        buys = self._side_im(seat, 0, seat.qty[0], seat.value[0], seat.orders)
        sells = self._side_im(seat, 1, seat.qty[1], seat.value[1], seat.orders)
        im = buys if buys > sells else sells
        account.used += im - seat.open_im
        seat.open_im = im

    def _rest(self, order: Order) -> None:
        queue = self.queues[order.side].get(order.price)
        if queue is None:
            queue = self.queues[order.side][order.price] = {}
        queue[order.order_id] = order  # last at its price, behind what the level shows
        order.ahead = self.shown.get(order.price, 0)

    def _values(self, seat: Seat) -> tuple[int, int]:
        return seat.value[0], seat.value[1]

    def place(self, account_id: int, side: int, tif: int, price: int, qty: int, now: int) -> None:
        self._filters(side, price, qty)
        seat = self.seats.get(account_id)
        if seat is None:
            seat = self.seats[account_id] = Seat()
        account = self.accounts[account_id]
        q, v = seat.qty[side] + qty, seat.value[side] + qty * price
        self._margin(seat, account, side, q, v, tif == 0)  # as if it all rested (part 3 §7.3)
        order = Order(account_id, self.next_id, side, tif, price, qty, now)
        self.next_id += 1
        self.events.append((now, account_id, "NEW", _OPEN, order.copy(), None, self._values(seat)))
        for level_price, shown in self.levels[side]:  # the taker's walk (the levels cannot react)
            if (level_price > price if side == 0 else level_price < price) or order.executed == qty:
                break
            self._fill(seat, account, order, level_price, min(shown, qty - order.executed), now)
        left = qty - order.executed
        if left < qty:  # it took: only what rests of it counts, and its position moved, so
            # decision 7's part of either side that closes it did too
            if tif == 0:
                seat.qty[side], seat.value[side] = q - qty + left, v - (qty - left) * price
            self._open_im(seat, account)
        if left and tif == 0:
            seat.orders[order.order_id] = order
            self._rest(order)
        elif left:
            order.status = _EXPIRED
            self.events.append((now, account_id, "EXPIRED", _EXPIRED, order.copy(), None, self._values(seat)))
        self.rows.append(order.copy())

    def _fill(self, seat: Seat, account: Account, order: Order, price: int, qty: int, now: int) -> None:
        trade_id = self.next_trade
        self.next_trade += 1
        commission = qty * price * _TAKER_BPS * _E8 // (_WHOLE * 10_000)
        signed = qty if order.side == 0 else -qty
        realized = 0
        amt, cost = seat.amt, seat.cost
        if amt and (amt > 0) != (signed > 0):  # reduces: PnL against the entry price (cost / amt)
            closed = min(qty, abs(amt))
            entry_part = cost * closed // abs(amt)
            realized = (closed * price - entry_part) * (1 if amt > 0 else -1) * _E8 // _WHOLE
            seat.cost -= entry_part
            seat.amt += closed if amt < 0 else -closed
            opened = qty - closed
        else:
            opened = qty
        if opened:
            seat.amt += opened if signed > 0 else -opened
            seat.cost += opened * price
        account.wallet += realized - commission
        upnl = (seat.amt * self.mark - (seat.cost if seat.amt > 0 else -seat.cost)) * _E8 // _WHOLE
        position_im = abs(seat.amt) * self.mark * _E8 // (_WHOLE * self.leverage)
        account.upnl += upnl - seat.upnl
        account.used += position_im - seat.position_im
        seat.upnl, seat.position_im = upnl, position_im
        order.executed += qty
        order.cum_quote += qty * price
        order.status = _FILLED if order.executed == order.qty else 1
        order.update_ms = now
        fill = (trade_id, price, qty, realized, commission)
        values = self._values(seat)
        self.events.append((now, order.account, "TRADE", order.status, order.copy(), fill, values))
        self.rows.append((order.account, trade_id, order.order_id, price, qty, realized, commission))
        self.rows.append((order.account, seat.amt, seat.cost))

    def move(self, account_id: int, order_id: int, side: int, qty: int, price: int, now: int) -> None:
        self._filters(side, price, qty)
        seat = self.seats.get(account_id)
        order = seat.orders.get(order_id) if seat is not None else None
        if seat is None or order is None:
            raise Refused(-2013, "Order does not exist.")
        if side != order.side:
            raise Refused(-1117, "Invalid side.")
        if order.moves >= _MAX_MOVES:
            raise Refused(-5026, "Exceed maximum modify order limit.")
        if qty == order.qty and price == order.price:
            raise Refused(-5027, "No need to modify the order.")
        best = self.levels[side][0][0]
        if price >= best if side == 0 else price <= best:
            raise Refused(-5022, "Due to the order could not be executed as maker.")  # (the mix's moves rest)
        was, left = order.qty - order.executed, qty - order.executed
        self._margin(seat, self.accounts[account_id], side, seat.qty[side] - was + left,
                     seat.value[side] - was * order.price + left * price)  # fmt: skip
        amendment = (account_id, self.next_amendment, order_id, order.client_id, now, order.price, price,
                     order.qty, qty, order.moves + 1)  # fmt: skip
        self.next_amendment += 1
        del self.queues[side][order.price][order_id]
        order.price, order.qty, order.update_ms = price, qty, now
        order.moves += 1
        self._rest(order)
        copy = order.copy()
        self.events.append((now, account_id, "AMENDMENT", order.status, copy, None, self._values(seat)))
        self.rows.append(amendment)
        self.rows.append(copy)

    def cancel(self, account_id: int, order_id: int, now: int) -> None:
        seat = self.seats.get(account_id)
        order = seat.orders.get(order_id) if seat is not None else None
        if seat is None or order is None:
            raise Refused(-2011, "Unknown order sent.")
        side, left = order.side, order.qty - order.executed
        self._margin(seat, self.accounts[account_id], side, seat.qty[side] - left,
                     seat.value[side] - left * order.price)  # fmt: skip
        del seat.orders[order_id]
        del self.queues[side][order.price][order_id]
        order.status, order.update_ms = _CANCELED, now
        copy = order.copy()
        self.events.append((now, account_id, "CANCELED", _CANCELED, copy, None, self._values(seat)))
        self.rows.append(copy)

    def revalue(self, mark: int) -> int:
        """A new mark, as running totals kept eagerly need it (the lean core's fixed mark does
        not show it): every seat with a position or open orders valued again (its uPnL, its
        position's margin, decision 7's open-order margin, whose loss of orders priced past
        the mark moves with it) and its account's sums moved by the differences. The seats
        valued."""
        self.mark = mark
        accounts, valued = self.accounts, 0
        for account_id, seat in self.seats.items():
            amt, orders = seat.amt, seat.orders
            if not amt and not orders:
                continue
            valued += 1
            account = accounts[account_id]
            upnl = (amt * mark - (seat.cost if amt > 0 else -seat.cost)) * _E8 // _WHOLE
            position_im = (amt if amt > 0 else -amt) * mark * _E8 // (_WHOLE * self.leverage)
            account.upnl += upnl - seat.upnl
            account.used += position_im - seat.position_im
            seat.upnl, seat.position_im = upnl, position_im
            self._open_im(seat, account)
        return valued

    def apply(self, kind: str, account_id: int, a: int, b: int, c: int, d: int, now: int) -> tuple[Row, ...]:
        """The one door: a command, its events in order; its rows the journal's batch."""
        self.events, self.rows = [], []
        try:
            if kind == "move":
                self.move(account_id, a, b, c, d, now)
            elif kind == "cancel":
                self.cancel(account_id, a, now)
            else:
                self.place(account_id, a, b, c, d, now)
        except Refused:
            pass
        return tuple(self.events)


def revaluation(made: Sequence[tuple[str, int, int, int]], accounts: int, bids: Sequence[tuple[int, int]],
                asks: Sequence[tuple[int, int]], mid: int, marks: int = 50) -> tuple[int, float]:  # fmt: skip
    """The seats a mark values again once the mix has run, and µs a seat: ``marks`` marks
    a tick apart each way around ``mid`` (best of them, each timed whole)."""
    lean = Lean(accounts, bids, asks, mid)
    lean_loop(made, lean, mid)
    kept = [(a.upnl, a.used) for a in lean.accounts.values()]
    lean.revalue(mid)  # the mark the mix ran at: every seat worked out again agrees with its sums
    assert kept == [(a.upnl, a.used) for a in lean.accounts.values()], "the running totals drifted"
    valued, best = 0, float("inf")
    with as_served():
        for n in range(marks):
            started = time.perf_counter()
            valued = lean.revalue(mid + (10 if n % 2 else -10))
            best = min(best, time.perf_counter() - started)
    return valued, best / max(1, valued) * 1e6


def run_lean(made: Sequence[tuple[str, int, int, int]], accounts: int, bids: Sequence[tuple[int, int]],
             asks: Sequence[tuple[int, int]], mid: int) -> float:  # fmt: skip
    """Commands a second of the mix (``scenario.commands``), placed as ``run_venue`` places them."""
    lean = Lean(accounts, bids, asks, mid)
    with as_served():
        return lean_loop(made, lean, mid)


def lean_loop(made: Sequence[tuple[str, int, int, int]], lean: Lean, mid: int) -> float:
    apply = lean.apply
    resting: list[tuple[int, int, int] | None] = []
    started = time.perf_counter()
    for now, (kind, account, side, arg) in enumerate(made, 1):
        if kind == "gtc":
            apply(kind, account, side, 0, resting_price(mid, side, arg), 1, now)
            resting.append((account, lean.next_id - 1, side))
        elif kind == "ioc":
            apply(kind, account, side, 1, taking_price(mid, side), 2, now)
        elif arg < len(resting) and (found := resting[arg]) is not None:  # (else: cancelled, skipped)
            owner, order_id, own_side = found
            if kind == "cancel":
                apply(kind, owner, order_id, 0, 0, 0, now)
                resting[arg] = None
            else:
                apply(kind, owner, order_id, own_side, 1, resting_price(mid, own_side, 1 + now % 20), now)
    return len(made) / (time.perf_counter() - started)
