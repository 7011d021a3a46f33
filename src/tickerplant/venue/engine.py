"""The venue's engine for one market: orders with identity, risk → match → settle, and the
journal written before any answer (ARCHITECTURE.md, "The venue"). Sans-I/O: commands and
the market's trades in, with the time; the answer, a journal batch and events out.

A new order goes through (part 2 §8's order of checks, after ``order_params``):

1. the market: ``priceMatch`` priced from the book (-5041), PERCENT_PRICE against the mark
   (-4016 / -4024; a MARKET order whose best opposite price is already outside
   ``marketTakeBound``: -4131, COIN-M -4113), MIN_NOTIONAL unless reduce-only (-4164);
2. the account: ``positionSide`` not of the account's mode (-4061, ``position_modes.py``;
   hedge mode's closing orders are reduce-only), a duplicated open
   ``clientOrderId`` (-4116), MAX_NUM_ORDERS (-2025), a reduce-only order that cannot
   reduce (-2022), margin (-2019: the order's cost, part 3 §7.3, above the available
   balance);
3. matching (``matching.py``): a post-only order that would take (-5022) and a FOK order
   that cannot fill at once (-5021) are refused and not recorded (decision 8);
4. the order is made (its id the symbol's next), takes what it can, settles each fill
   (``margin.Contract.settle``: position, realized PnL, commission at the taker or maker
   rate, the wallet), and rests, or expires (MARKET, IOC);
5. the batch is journaled; only then is the answer made.

Resting orders fill as makers, as trades reach them (``resting.py``). Memory is
bounded by design: an account keeps its open orders and its last ``ORDERS_KEPT`` closed
orders and ``FILLS_KEPT`` fills per symbol in memory (the journal keeps all, and the
history reads answer from it by time, ``history.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Mapping, Sequence
from fractions import Fraction
from types import MappingProxyType
from typing import NamedTuple, Protocol

from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.messages import SymbolStreams
from tickerplant.market.payloads.exchange_info import order_filters
from tickerplant.market.units import mark_or_mid
from tickerplant.venue.accounts import UM_MARGIN_ASSETS, Balance
from tickerplant.venue.adl import AdlBoard
from tickerplant.venue.collateral import pooled
from tickerplant.venue.events import AccountUpdate, Batch, OrderUpdate, Outbox
from tickerplant.venue.exposure import Exposure
from tickerplant.venue.ids import first_algo_id, first_order_id
from tickerplant.venue.kept import FILLS_KEPT, ORDERS_KEPT, Kept
from tickerplant.venue.ledger import Figures, Ledger
from tickerplant.venue.maker_index import MakerIndex
from tickerplant.venue.margin import Contract, down, toward_zero
from tickerplant.venue.matching import FOK_TEXT, GTX_TEXT, walk
from tickerplant.venue.order_counts import OrderCounts
from tickerplant.venue.order_params import parse_new_order, parse_order_ref, refused
from tickerplant.venue.orders import (
    Fill,
    Order,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    new_client_order_id,
)
from tickerplant.venue.position_modes import PositionModes, closes, position_side, refuse_reduce_only
from tickerplant.venue.recorded import History
from tickerplant.venue.reduce_only import closable, rests, trim
from tickerplant.venue.resting import Journal, MarketData, OneBook, hold, settle_matched
from tickerplant.venue.risk import check_margin, check_market, price_matched
from tickerplant.venue.self_trade import prevent

__all__ = [
    "FILLS_KEPT", "ORDERS_KEPT", "Deposits", "Engine", "Fees", "Journal", "MarketData", "OneBook", "Placed",
]  # fmt: skip

Fill_ = tuple[int, int, int | None]  # a taker fill: price, quantity, its public trade id or None


class Deposits(Protocol):
    """The operator's balances (``store.Keyring``)."""

    def balances(self, account_id: int) -> list[Balance]: ...


class Fees(NamedTuple):
    maker: Fraction = Fraction(2, 10_000)  # 0.0200 % (decision 6)
    taker: Fraction = Fraction(5, 10_000)  # 0.0500 %


DEFAULT_FEES = Fees()


class Placed(NamedTuple):
    order: Order | None  # None: a test order, validated only
    ack: Order | None  # the order as accepted, before matching (newOrderRespType=ACK)
    counts: list[tuple[str, int]]  # X-MBX-ORDER-COUNT-* headers


class Engine:
    def __init__(
        self, market: Market, instruments: Sequence[Instrument], data: MarketData, deposits: Deposits,
        journal: Journal, fees: Fees = DEFAULT_FEES, client_ids: Callable[[], str] = new_client_order_id,
        book: OneBook | None = None, modes: PositionModes | None = None, ids_seed: object = 0,
    ) -> None:  # fmt: skip
        """``client_ids``: makes the ``clientOrderId`` of an order sent without one (22 letters
        and digits; ``orders.seeded_client_ids`` for a run that replays byte for byte).
        ``book``: the simulated book takers trade in (its levels are ``data``'s), else they
        walk ``data``'s levels and trade with no one (a replay's, a relay's). ``modes``: the
        accounts' position modes, shared with the other market's engine. ``ids_seed``: where
        each symbol's order ids and the market's algo ids start (``venue/ids.py``)."""
        self.market = market
        self.client_ids = client_ids
        self.instruments = {inst.symbol: inst for inst in instruments}
        self.contracts = {inst.symbol: Contract(inst) for inst in instruments}
        self.filters = {inst.symbol: order_filters(inst) for inst in instruments}
        self.data = data
        self.book = book
        self.fees = fees
        self.outbox = Outbox()
        self.counts = OrderCounts(market)
        self._deposits = deposits
        self.journal = journal
        self.history: History | None = None  # what the journal recorded (history.py), when open
        self._ledgers: dict[int, Ledger] = {}
        self._kept: dict[tuple[int, str], Kept] = {}
        # symbol -> id -> its resting orders, any account's, oldest first (by id: a fill or a
        # cancel finds its order without a walk through every account's)
        self._resting: dict[str, dict[int, Order]] = {}
        self.makers = MakerIndex()  # the resting orders by price, for the market's trades (no one book)
        self.agg_trade_streams = {SymbolStreams(s).agg_trade: s for s in self.instruments}
        self.first_order_ids = {s: first_order_id(ids_seed, market, s) for s in self.instruments}
        self.first_algo_id = first_algo_id(ids_seed, market)
        self.next_order_id = dict(self.first_order_ids)
        self.next_trade_id = {symbol: 1 for symbol in self.instruments}
        self.next_amendment_id = {symbol: 1 for symbol in self.instruments}
        self.exposure = Exposure(instruments)  # funding and liquidation's watch (venue/funding.py)
        self.adl = AdlBoard()  # the ADL queue's quantiles, made once per 30 s window (venue/adl.py)
        self.modes = modes if modes is not None else PositionModes()
        self.modes.join(self)

    # -- state ---------------------------------------------------------------------------

    def ledger(self, account_id: int) -> Ledger:
        found = self._ledgers.get(account_id)
        if found is None:
            inverse, hedge = self.market is Market.CM, self.modes.is_hedged(account_id)
            found = self._ledgers[account_id] = Ledger(account_id, inverse=inverse, hedge=hedge)
        return found

    def kept(self, account_id: int, symbol: str) -> Kept:
        found = self._kept.get((account_id, symbol))
        if found is None:
            found = self._kept[(account_id, symbol)] = Kept()
        return found

    def restore(self, order: Order) -> None:
        """An order reloaded from the journal (``journal.load``)."""
        self.kept(order.account_id, order.symbol).add(order)
        self.next_order_id[order.symbol] = max(self.next_order_id[order.symbol], order.order_id + 1)
        if order.status.is_open:
            self.ledger(order.account_id).opened(order)
            self._resting.setdefault(order.symbol, {})[order.order_id] = order
            if self.book is not None:  # back into the simulated book, at its place at most the level
                hold(self, order, order.update_ms, order.queue_ahead)
            else:  # its place as journaled
                self.makers.rests(order, self.resting(order.symbol))

    def resting(self, symbol: str) -> Collection[Order]:
        """``symbol``'s resting orders, every account's, oldest first."""
        return self._resting.get(symbol, _NONE).values()

    def resting_order(self, symbol: str, order_id: int) -> Order | None:
        return self._resting.get(symbol, _NONE).get(order_id)

    def has_resting(self) -> bool:
        return bool(self._resting)

    def restore_fill(self, fill: Fill) -> None:
        self.kept(fill.account_id, fill.symbol).add_fill(fill)
        self.next_trade_id[fill.symbol] = max(self.next_trade_id[fill.symbol], fill.trade_id + 1)

    def mark(self, symbol: str) -> Fraction | None:
        """The mark price; without one yet, the book's mid, else None (``mark_or_mid``)."""
        mark = self.data.mark(symbol)
        if mark is not None:
            return mark
        levels = functools.partial(self.data.levels, symbol)
        return mark_or_mid(None, levels, self.instruments[symbol].price_decimals)

    def deposited(self, account_id: int, asset: str) -> int:
        return sum(
            b.amount
            for b in self._deposits.balances(account_id)
            if b.wallet is self.market and b.asset == asset
        )

    def wallet(self, ledger: Ledger, asset: str) -> int:
        """The wallet balance of ``asset``: the operator's deposits and trading's changes, 1e-8."""
        return self.deposited(ledger.account_id, asset) + ledger.changes.get(asset, 0)

    def cross_wallet(self, ledger: Ledger, asset: str) -> int:
        """The wallet of ``asset`` less its isolated positions' wallets (part 3 §7.8), 1e-8."""
        return self.wallet(ledger, asset) - ledger.isolated_wallets(asset, self.contracts)

    def figures(self, account_id: int, asset: str, known: tuple[str, Fraction] | None = None) -> Figures:
        """``known``: a symbol's open-order margin, already valued (``Ledger.figures``)."""
        ledger = self.ledger(account_id)
        return ledger.figures(asset, self.deposited(account_id, asset), self.contracts, self.mark, known)

    def margin_figures(
        self, ledger: Ledger, asset: str, *, haircut: bool = True, known: tuple[str, Fraction] | None = None
    ) -> Figures:
        """What ``asset``'s cross positions draw on: its own figures, or in Multi-Assets mode
        the pool of every margin asset in USD (``collateral.py``)."""
        if not ledger.multi_assets:
            return self.figures(ledger.account_id, asset, known)
        figures = functools.partial(self.figures, ledger.account_id)
        return pooled(UM_MARGIN_ASSETS, figures, self.mark, haircut=haircut)

    def symbol(self, text: str) -> Instrument:
        inst = self.instruments.get(text.upper())
        if inst is None:
            raise refused(-1121, "Invalid symbol.")
        return inst

    # -- commands ------------------------------------------------------------------------

    def place(
        self, account_id: int, params: Mapping[str, str], now_ms: int, *, test: bool = False,
        counted: bool = True,
    ) -> Placed:  # fmt: skip
        """``counted``: against the account's order limits (not a triggered algo order's)."""
        counts = self.counts.charge(account_id, now_ms) if counted and not test else []
        ledger = self.ledger(account_id)
        refuse_reduce_only(params, ledger.hedge)
        new = parse_new_order(params, self.instruments, self.filters, now_ms)
        symbol = new.inst.symbol
        contract = self.contracts[symbol]
        mark = self.mark(symbol)
        price = price_matched(new, self.data.levels) if new.price_match != "NONE" else new.price
        if ledger.hedge and closes(params, new.side):  # reduce-only (position_modes.py)
            new = new._replace(reduce_only=True)
        limit = check_market(new, price, mark, self.contracts[symbol], self.filters[symbol], self.data.levels)
        held = position_side(params, ledger.hedge)
        if new.client_order_id is not None and new.client_order_id in ledger.by_client_id:
            raise refused(-4116, "clientOrderId is duplicated")
        if len(ledger.open_orders.get(symbol, ())) >= self.filters[symbol].max_num_orders:
            raise refused(-2025, "Reach max open order limit.")
        qty = new.qty
        if new.reduce_only:  # never beyond the position, its other reduce-only orders counted
            can = closable(ledger, symbol, held, new.side, others=rests(new))
            if not can or (qty > can and rests(new)):  # reduce_only.py
                raise refused(-2022, "ReduceOnly Order is rejected.")
            qty = min(qty, can)
        order = Order(
            account_id, symbol, 0, new.client_order_id or "", new.side, new.type, new.time_in_force, price,
            new.qty, new.reduce_only, new.good_till_ms, now_ms, now_ms, price_match=new.price_match,
            stp_mode=new.stp_mode, position_side=held,
        )  # fmt: skip
        if not new.reduce_only:
            check_margin(self, ledger, contract, order, qty, mark)
        walked = walk(self.data.levels(symbol, new.side is Side.SELL), new.side, qty, limit)
        if new.time_in_force is TimeInForce.GTX and walked:
            raise refused(-5022, GTX_TEXT)
        if new.time_in_force is TimeInForce.FOK and sum(q for _, q in walked) < new.qty:
            raise refused(-5021, FOK_TEXT)
        if test:
            return Placed(None, None, counts)
        batch = Batch()
        fills: list[Fill_] = []
        stopped = False
        if walked:
            fills, stopped = self.take_for(order, qty, limit, walked[-1][0], now_ms, batch)
        return Placed(*self._accept(ledger, order, qty, fills, now_ms, batch, stopped), counts)

    def take_for(
        self, order: Order, qty: int, limit: int, deepest: int, now_ms: int, batch: Batch
    ) -> tuple[list[Fill_], bool]:
        """``order`` taking (``deepest``: the last price its walk reaches): in the one book,
        where an account's orders may meet, self-trade prevention first; its fills, and
        whether it stopped at its own resting order (it then expires in match)."""
        stopped = False
        if self.book is not None:
            limit, stopped = prevent(self, order, limit, deepest, now_ms, batch)
        return self.take(order.symbol, order.side, qty, limit, now_ms, batch), stopped

    def take(self, symbol: str, side: Side, qty: int, limit: int, now_ms: int, batch: Batch) -> list[Fill_]:
        """A taker's fills, no level beyond ``limit``: traded in the simulated book when there
        is one (public trades, whose ids they carry; the resting orders it met are settled
        into ``batch``), else walked over ``data``'s levels (the venue's own ids, None)."""
        if self.book is not None:
            fills: list[Fill_] = list(self.book.take(symbol, side is Side.BUY, qty, limit, now_ms))
            settle_matched(self, batch, now_ms)
            return fills
        return [(p, q, None) for p, q in walk(self.data.levels(symbol, side is Side.SELL), side, qty, limit)]

    def _accept(
        self, ledger: Ledger, order: Order, qty: int, fills: list[Fill_], now_ms: int, batch: Batch,
        stopped: bool = False,  # by its own resting order (self_trade.py): it expires in match
    ) -> tuple[Order, Order]:  # fmt: skip
        symbol = order.symbol
        order.order_id = self.next_order_id[symbol]
        self.next_order_id[symbol] += 1
        while not order.client_order_id or order.client_order_id in ledger.by_client_id:
            order.client_order_id = self.client_ids()
        self.kept(ledger.account_id, symbol).add(order)
        ack = order.copy()
        self.outbox.put(OrderUpdate(now_ms, ledger.account_id, "NEW", order.status, ack, None))
        for price, filled, trade_id in fills:
            self.settle(ledger, order, price, filled, False, now_ms, batch, trade_id=trade_id)
        if order.status.is_open:
            if stopped:
                self.finish(ledger, order, OrderStatus.EXPIRED_IN_MATCH, now_ms)
            elif (
                order.type is OrderType.MARKET
                or order.time_in_force is TimeInForce.IOC
                or order.executed_qty >= qty
            ):
                self.finish(ledger, order, OrderStatus.EXPIRED, now_ms)  # the rest of an IOC, a MARKET
            else:
                hold(self, order, now_ms)
                ledger.opened(order)
                self._resting.setdefault(symbol, {})[order.order_id] = order
                if order.reduce_only:
                    trim(self, ledger, symbol, order.position_side, now_ms, batch)
        batch.orders.append(order.copy())
        self.journal.commit(batch)
        return order, ack

    def cancel(self, account_id: int, params: Mapping[str, str], now_ms: int) -> Order:
        symbol, order_id, client_id = parse_order_ref(params)
        self.symbol(symbol)
        order = self.find(account_id, symbol, order_id, client_id)
        if order is None or not order.status.is_open:
            raise refused(-2011, "Unknown order sent.")
        self.finish(self.ledger(account_id), order, OrderStatus.CANCELED, now_ms)
        self.journal.commit(Batch(orders=[order.copy()]))
        return order

    def cancel_all(self, account_id: int, symbol: str, now_ms: int) -> None:
        ledger = self.ledger(account_id)
        batch = Batch()
        for order in list(ledger.open_orders.get(self.symbol(symbol).symbol, {}).values()):
            self.finish(ledger, order, OrderStatus.CANCELED, now_ms)
            batch.orders.append(order.copy())
        if batch:
            self.journal.commit(batch)

    def find(self, account_id: int, symbol: str, order_id: int | None, client_id: str | None) -> Order | None:
        """One of the account's orders by id, else by client id: the newest holding it, read
        back to the open one holding it if any (a liquidation's id skips -4116's check)."""
        orders = self.kept(account_id, symbol).orders
        if order_id is not None:
            return orders.get(order_id)
        ledger = self._ledgers.get(account_id)
        held = ledger.by_client_id.get(client_id or "") if ledger is not None else None
        held = held if held is not None and held.symbol == symbol else None
        for order in reversed(orders.values()):  # by id: kept as made or restored, in order
            if held is not None and order.order_id <= held.order_id:
                return held
            if order.client_order_id == client_id:
                return order
        return held

    def open_orders(self, account_id: int, symbol: str | None) -> list[Order]:
        ledger = self.ledger(account_id)
        symbols = [self.symbol(symbol).symbol] if symbol else list(ledger.open_orders)
        return [o for s in symbols for o in sorted(ledger.open_orders.get(s, {}).values(), key=_order_id)]

    def orders(self, account_id: int, symbol: str) -> list[Order]:
        return sorted(self.kept(account_id, self.symbol(symbol).symbol).orders.values(), key=_order_id)

    def fills(self, account_id: int, symbol: str) -> list[Fill]:
        return list(self.kept(account_id, self.symbol(symbol).symbol).fills)

    # -- the steps -----------------------------------------------------------------------

    def settle(
        self, ledger: Ledger, order: Order, price: int, qty: int, maker: bool, now_ms: int, batch: Batch,
        execution: str = "TRADE",  # a liquidation's fills: CALCULATED
        trade_id: int | None = None,  # the public trade's, in the one book; else the venue's own
        fee_cap: int | None = None,  # a liquidation's fill: at most this commission (``liquidation.payable``)
    ) -> None:  # fmt: skip
        contract = self.contracts[order.symbol]
        fill_price = contract.price(price)
        position = ledger.position(order.symbol, order.position_side)
        self.exposure.hold(order.account_id, order.symbol)
        held = position.amt
        realized = toward_zero(contract.settle(position, order.side, qty, fill_price, now_ms))
        commission = contract.commission(qty, fill_price, self.fees.maker if maker else self.fees.taker)
        commission = commission if fee_cap is None else min(commission, fee_cap)
        asset = contract.inst.margin_asset
        delta = realized - commission
        ledger.changes[asset] = ledger.changes.get(asset, 0) + delta
        isolated = order.symbol in ledger.isolated
        if isolated:  # part 3 §7.8: the isolated wallet takes the fill's margin, fee and PnL
            mark, leverage = self.mark(order.symbol) or fill_price, ledger.leverage_of(contract)
            booked = (realized, commission, mark, leverage)
            release = execution != "CALCULATED"  # a liquidation releases none before its close
            moved = contract.isolate(position, held, order.side, qty, fill_price, *booked, release=release)
            if move := ledger.margin_moved(order.symbol, order.position_side, moved, asset, now_ms):
                batch.margin_moves.append(move)
        if trade_id is None:
            trade_id = self.next_trade_id[order.symbol]
            self.next_trade_id[order.symbol] += 1
        base = down(abs(contract.notional(qty, fill_price))) if contract.inverse else 0  # COIN-M's baseQty
        fill = Fill(
            order.account_id, order.symbol, trade_id, order.order_id, order.side, price, qty,
            base, realized, commission, asset, maker, now_ms, order.position_side,
        )  # fmt: skip
        order.fill(price, qty, fill.base, now_ms)
        ledger.touch(order)  # what it has left changed: its open-order margin too
        self.kept(order.account_id, order.symbol).add_fill(fill)
        batch.fills.append(fill)
        batch.changes.append((order.account_id, asset, delta, now_ms))
        batch.positions.append((order.account_id, order.symbol, position.copy()))
        self.outbox.put(
            OrderUpdate(now_ms, order.account_id, execution, order.status, order.copy(), fill)
        )
        wallet = self.wallet(ledger, asset)
        self.outbox.put(AccountUpdate(
            now_ms, order.account_id, "ORDER", asset, wallet, order.symbol, position.amt, position.entry,
            self.cross_wallet(ledger, asset), position.isolated_wallet if isolated else None, position.side,
        ))  # fmt: skip
        if ledger.open_orders.get(order.symbol):  # what its reduce-only orders can still close
            trim(self, ledger, order.symbol, position.side, now_ms, batch)

    def finish(
        self, ledger: Ledger, order: Order, status: OrderStatus, now_ms: int, expiry: str = ""
    ) -> None:
        if order.status is not status:
            order.move(status, now_ms)
        ledger.closed(order)
        resting = self._resting.get(order.symbol)
        if resting is not None and resting.get(order.order_id) is order:
            del resting[order.order_id]
            if not resting:
                del self._resting[order.symbol]
            if self.book is not None:  # what of it still rests leaves the simulated book
                self.book.withdraw(order.symbol, order.order_id, now_ms)
        if status is not OrderStatus.FILLED:
            # self-trade prevention's expiry is an EXPIRED execution (part 4 §3.2's `x` values)
            execution = "EXPIRED" if status is OrderStatus.EXPIRED_IN_MATCH else status.value
            self.outbox.put(
                OrderUpdate(
                    now_ms, order.account_id, execution, status, order.copy(), None, expiry
                )
            )


_order_id: Callable[[Order], int] = lambda order: order.order_id  # noqa: E731
_NONE: Mapping[int, Order] = MappingProxyType({})  # a symbol with nothing resting
