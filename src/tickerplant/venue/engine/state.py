"""What an engine holds for one market, and the steps every command shares: the accounts'
ledgers, their kept orders and fills, the resting orders (in the simulated book, or in the
observed market's queues), the algo orders (``algo_book.py``), the ids; an order ended
(``finish``), an order come to rest (``hold``), an order or fill restored from the journal
(a fill settled: ``settlement.py``). The commands themselves are applied by ``engine.Engine.apply``
(``placement.py``, ``amendment.py``, ``algo/``); nothing here calls back into them.
Sans-I/O: time comes in as an argument.

Memory is bounded by design: an account keeps its open orders and its last ``ORDERS_KEPT``
closed orders and ``FILLS_KEPT`` fills per symbol in memory (the journal keeps all, and the
history reads answer from it by time, ``history.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Mapping, Sequence
from fractions import Fraction
from types import MappingProxyType
from typing import Protocol

from tickerplant.market.book.queue import QueueModel
from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.messages import SymbolStreams
from tickerplant.market.units import mark_or_mid
from tickerplant.venue.auth.accounts import UM_MARGIN_ASSETS, Balance
from tickerplant.venue.book.maker_index import MakerIndex
from tickerplant.venue.book.markets import ObservedMarket, SimulatedMarket, VenueMarket
from tickerplant.venue.book.observed import Queues
from tickerplant.venue.book.ports import Journal, MarketData, OneBook
from tickerplant.venue.domain.contract import Contract
from tickerplant.venue.domain.events import Made, OrderRow, OrderUpdate, Shown
from tickerplant.venue.domain.fees import DEFAULT_FEES, Fees
from tickerplant.venue.domain.ids import first_algo_id, first_order_id
from tickerplant.venue.domain.kept import Kept
from tickerplant.venue.domain.listing import Listing
from tickerplant.venue.domain.order_params import refused
from tickerplant.venue.domain.orders import (
    Fill,
    Order,
    OrderStatus,
    PositionSide,
    new_client_order_id,
)
from tickerplant.venue.domain.outbox import Outbox
from tickerplant.venue.domain.position import FLAT
from tickerplant.venue.domain.recorded import History
from tickerplant.venue.engine.algo_book import AlgoBook
from tickerplant.venue.engine.good_till import GoodTill
from tickerplant.venue.ledger.collateral import pooled
from tickerplant.venue.ledger.exposure import Exposure
from tickerplant.venue.ledger.figures import Figures, isolated_wallets
from tickerplant.venue.ledger.ledger import Ledger
from tickerplant.venue.ledger.position_modes import PositionModes
from tickerplant.venue.ledger.seat import Seat
from tickerplant.venue.risk.adl import AdlBoard
from tickerplant.venue.risk.order_counts import OrderCounts
from tickerplant.venue.risk.reduce_only import expiring
from tickerplant.venue.risk.risk import check_margin, margin_need, margin_room

__all__ = ["Deposits", "EngineState"]

# Read by every order that closes and every account's first command: an Enum member read
# from its class goes through CPython 3.11's ``EnumType.__getattr__`` hook (~80 ns), a
# module's name ~11 ns; so bound once here. A member's text is its ``_value_``: ``value``
# is a Python-level ``enum.property`` (~140 ns).
_CM, _FILLED, _EXPIRED_IN_MATCH = Market.CM, OrderStatus.FILLED, OrderStatus.EXPIRED_IN_MATCH
_new = tuple.__new__  # an order's event and row, without the NamedTuples' generated Python __new__
# the sides an ACCOUNT_UPDATE may show, in the documented example's order (``EngineState.shown``)
_SHOWN_ONE_WAY = (PositionSide.BOTH,)
_SHOWN_HEDGED = (PositionSide.BOTH, PositionSide.LONG, PositionSide.SHORT)

Fill_ = tuple[int, int, int | None]  # a taker fill: price, quantity, its public trade id or None


class Deposits(Protocol):
    """The operator's balances (``keyring.Keyring``): a sequence handed out is never changed
    after (the balances changed: another one), so what the engine sums of it is kept while
    it is the one handed out (``EngineState.deposited``)."""

    def balances(self, account_id: int) -> Sequence[Balance]: ...


class EngineState:
    def __init__(
        self, market: Market, instruments: Sequence[Instrument], data: MarketData, deposits: Deposits,
        journal: Journal, fees: Fees = DEFAULT_FEES, client_ids: Callable[[], str] = new_client_order_id,
        book: OneBook | None = None, modes: PositionModes | None = None, ids_seed: object = 0,
        queue_model: QueueModel | None = None,
    ) -> None:  # fmt: skip
        """``client_ids``: makes the ``clientOrderId`` of an order sent without one (22 letters
        and digits; ``orders.seeded_client_ids`` for a run that replays byte for byte).
        ``book``: the simulated book takers trade in (its levels are ``data``'s), else they
        walk ``data``'s levels and trade with no one (a replay's, a relay's). ``modes``: the
        accounts' position modes, shared with the other market's engine. ``ids_seed``: where
        each symbol's order ids and the market's algo ids start (``venue/domain/ids.py``)."""
        self.market = market
        self.client_ids = client_ids
        # each symbol's instrument, contract and filters in one record (``listing.py``); the
        # three maps below hold the same objects, for the steps that need one of them
        self.listings = {inst.symbol: Listing(inst) for inst in instruments}
        self.instruments = {s: listed.inst for s, listed in self.listings.items()}
        self.contracts = {s: listed.contract for s, listed in self.listings.items()}
        self.filters = {s: listed.filters for s, listed in self.listings.items()}
        self.data = data
        self.book = book
        self.fees = fees
        self.outbox = Outbox()
        self.counts = OrderCounts(market)
        self._deposits = deposits
        # account -> the balances last handed out, and their sums per asset in this wallet
        # (``deposited``); one per account, as ``ledgers``
        self._deposited: dict[int, tuple[Sequence[Balance], dict[str, int]]] = {}
        self.journal = journal
        self.history: History | None = None  # what the journal recorded (history.py), when open
        self.ledgers: dict[int, Ledger] = {}  # every account's made so far (``ledger`` makes one)
        # (account, symbol) -> the account's seat there (``ledger/seat.py``): ``seat`` makes one,
        # the ledger's own, so that a command on the pair finds what it touches with one lookup
        self.seats: dict[tuple[int, str], Seat[Ledger]] = {}
        # symbol -> id -> its resting orders, any account's, oldest first (by id: a fill or a
        # cancel finds its order without a walk through every account's)
        self._resting: dict[str, dict[int, Order]] = {}
        self._makers = MakerIndex()  # the resting orders by price, for the market's trades (no one book)
        self.queues = Queues(queue_model, self.instruments)  # their places by ``queue_model`` (no one book)
        # the market its orders meet (book/markets.py): the one book, else the observed one
        self.venue_market: VenueMarket = (
            SimulatedMarket(book) if book is not None else ObservedMarket(data, self._makers, self.queues)
        )
        self.agg_trade_streams = {SymbolStreams(s).agg_trade: s for s in self.instruments}
        self.first_order_ids = {s: first_order_id(ids_seed, market, s) for s in self.instruments}
        self.algos = AlgoBook(self.instruments, first_algo_id(ids_seed, market))  # conditional orders (algo/)
        self.good_till = GoodTill()  # the resting GTD and GTC orders by the date they end (good_till.py)
        self.next_order_id = dict(self.first_order_ids)
        self.next_trade_id = {symbol: 1 for symbol in self.instruments}
        self.next_amendment_id = {symbol: 1 for symbol in self.instruments}
        self.next_rested = 1  # the next order to rest's place (``Order.rested``): every symbol's
        self.exposure = Exposure(instruments)  # funding and liquidation's watch (venue/clearing/funding.py)
        self.adl = AdlBoard()  # the ADL queue's quantiles, made once per 30 s window (venue/risk/adl.py)
        self.modes = modes if modes is not None else PositionModes()
        self.modes.join(self)
        self.modes.join_algos(self.algos.has_open)  # open algo orders count as open orders (-4067)

    @property
    def makers(self) -> MakerIndex:
        """The resting orders by price, which an observed market's trades reach (``book/markets.py``)."""
        return self._makers

    @makers.setter
    def makers(self, index: MakerIndex) -> None:  # one index: the observed market's is this one
        self._makers = index
        if isinstance(self.venue_market, ObservedMarket):
            self.venue_market.makers = index

    # -- state ---------------------------------------------------------------------------

    def ledger(self, account_id: int) -> Ledger:
        found = self.ledgers.get(account_id)
        if found is None:
            inverse, hedge = self.market is _CM, self.modes.is_hedged(account_id)
            found = self.ledgers[account_id] = Ledger(
                account_id, inverse=inverse, hedge=hedge, contracts=self.contracts
            )
        return found

    def seat(self, account_id: int, symbol: str) -> Seat[Ledger]:
        """The account's seat at ``symbol`` (its ledger's: ``Seat.ledger``)."""
        found = self.seats.get((account_id, symbol))
        if found is None:
            found = self.seats[(account_id, symbol)] = self.ledger(account_id).seat(symbol)
        return found

    def kept(self, account_id: int, symbol: str) -> Kept:
        return self.seat(account_id, symbol)  # a seat is its kept orders and fills

    def restore(self, order: Order) -> None:
        """An order reloaded from the journal (``sqlite_journal.load``)."""
        self.kept(order.account_id, order.symbol).add(order)
        self.next_order_id[order.symbol] = max(self.next_order_id[order.symbol], order.order_id + 1)
        self.next_rested = max(self.next_rested, order.rested + 1)
        waits = order.trigger is not None and not order.trigger.triggered  # in the algo book, not in a book
        if order.status.is_open and not waits:
            self.ledger(order.account_id).opened(order)
            self._resting.setdefault(order.symbol, {})[order.order_id] = order
            self.venue_market.restored(order, self.resting(order.symbol))
            self.good_till.add(order)

    def resting(self, symbol: str) -> Collection[Order]:
        """``symbol``'s resting orders, every account's, as they first came to rest (a moved
        order keeps its place here: their order is ``Order.rested``)."""
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

    def check_margin(
        self, seat: Seat[Ledger], contract: Contract, order: Order, qty: int, mark: Fraction | None
    ) -> None:
        """-2019 when ``qty`` more of ``order`` costs more than the account has available
        (``risk.margin_need``; ``seat``: the account's at its symbol); no mark yet: nothing to
        weigh."""
        if mark is not None:
            self.weigh(seat.ledger, contract, margin_need(self.data, seat, contract, order, qty, mark))

    def weigh(self, ledger: Ledger, contract: Contract, cost: int) -> None:
        """-2019 when ``cost`` is more than the account has available (``risk.check_margin``; a
        placement's, ``check_margin``; a move's, ``Ledger.moved_cost``), its figures read only when there
        is a cost to weigh: as integers (``Ledger.room``), or the Multi-Assets pool's."""
        if cost > 0:
            asset, isolated = contract.inst.margin_asset, contract.inst.symbol in ledger.isolated
            if ledger.multi_assets:
                room = margin_room(self.margin_figures(ledger, asset), isolated)
            else:
                deposited = self.deposited(ledger.account_id, asset)
                room = ledger.room(asset, deposited, self.contracts, self.mark, isolated)
            check_margin(cost, room)

    def order_update(
        self, seat: Seat[Ledger], execution: str, status: OrderStatus, order: Order, fill: Fill | None,
        now_ms: int, expiry: str = "", resting: int = 0, modify_id: int | None = None,
    ) -> OrderUpdate:  # fmt: skip
        """``ORDER_TRADE_UPDATE``'s values as they stand now, ``order`` copied; ``resting``: a
        new order's quantity that rests once it is accepted (part 4 §4.3 item 1: a new resting
        order's ``b``/``a`` include it); ``seat``: the account's at its symbol, whose open
        orders' values these are (``Ledger.open_values``); ``modify_id``: an amendment's."""
        buys, sells = seat.values
        if resting:
            value = self.contracts[order.symbol].order_value(resting, order.price)
            if order.side.is_buy:
                buys += value
            else:
                sells += value
        copy, values = order.copy(), (buys, sells)
        made = (now_ms, order.account_id, execution, status, copy, fill, values, expiry, modify_id)
        return _new(OrderUpdate, made)

    def shown_position(
        self, account_id: int, symbol: str, *sides: PositionSide
    ) -> tuple[Fraction | None, tuple[int, ...]]:
        """What a position shown in ``ACCOUNT_UPDATE`` needs of the engine now: the symbol's mark
        (``up``) and each side's accumulated realized PnL (``cr``, ``kept.Kept.realized``)."""
        realized = self.kept(account_id, symbol).realized
        return self.mark(symbol), tuple(realized.get(side, 0) for side in sides)

    def shown(self, ledger: Ledger, symbol: str, *changed: PositionSide) -> tuple[Shown, ...]:
        """The positions of ``symbol`` an ``ACCOUNT_UPDATE`` shows in ``P``, the ``changed``
        sides' among them (part 4 §3.4's push rules, since 2020-11-09): one-way, its one
        position; in hedge mode the symbol's ``BOTH`` entry, the changed ``LONG``/``SHORT``
        entries, and a side not changed that is isolated and initialized (a position or a
        wallet), in the order ``BOTH``, ``LONG``, ``SHORT`` (the documented example's)."""
        realized, isolated = self.kept(ledger.account_id, symbol).realized, symbol in ledger.isolated
        rows: list[Shown] = []
        for side in _SHOWN_HEDGED if ledger.hedge else _SHOWN_ONE_WAY:
            position = ledger.positions.get((symbol, side))
            amt, wallet = (position.amt, position.isolated_wallet) if position is not None else (0, 0)
            if side in changed or side is _SHOWN_ONE_WAY[0] or (isolated and (amt or wallet)):  # BOTH
                cost, made = (position.cost, position.maker_amt) if position is not None else (FLAT, 0)
                rows.append(Shown(side, amt, cost, wallet if isolated else None, realized.get(side, 0), made))
        return tuple(rows)

    def deposited(self, account_id: int, asset: str) -> int:
        """The operator's deposits of ``asset`` in this market's wallet, 1e-8: read at every
        margin check that costs, so summed once per sequence of balances handed out."""
        rows = self._deposits.balances(account_id)
        kept = self._deposited.get(account_id)
        if kept is None or kept[0] is not rows:
            sums: dict[str, int] = {}
            for b in rows:
                if b.wallet is self.market:
                    sums[b.asset] = sums.get(b.asset, 0) + b.amount
            kept = self._deposited[account_id] = (rows, sums)
        return kept[1].get(asset, 0)

    def wallet(self, ledger: Ledger, asset: str) -> int:
        """The wallet balance of ``asset``: the operator's deposits and trading's changes, 1e-8."""
        return self.deposited(ledger.account_id, asset) + ledger.changes.get(asset, 0)

    def cross_wallet(self, ledger: Ledger, asset: str, wallet: int | None = None) -> int:
        """The wallet of ``asset`` less its isolated positions' wallets (part 3 §7.8), 1e-8
        (``wallet``: the wallet, already read)."""
        isolated = isolated_wallets(ledger.positions, ledger.isolated, asset, self.contracts)
        return (self.wallet(ledger, asset) if wallet is None else wallet) - isolated

    def figures(self, account_id: int, asset: str, ledger: Ledger | None = None) -> Figures:
        """``ledger``: the account's as a command would leave it (``Ledger.with_leverage``)."""
        ledger = self.ledger(account_id) if ledger is None else ledger
        return ledger.figures(asset, self.deposited(account_id, asset), self.contracts, self.mark)

    def margin_figures(
        self, ledger: Ledger, asset: str, *, haircut: bool = True
    ) -> Figures:
        """What ``asset``'s cross positions draw on: its own figures, or in Multi-Assets mode
        the pool of every margin asset in USD (``collateral.py``)."""
        if not ledger.multi_assets:  # ``figures`` of this ledger, read in place (one call fewer)
            return ledger.figures(asset, self.deposited(ledger.account_id, asset), self.contracts, self.mark)
        figures = functools.partial(self.figures, ledger.account_id, ledger=ledger)
        return pooled(UM_MARGIN_ASSETS, figures, self.mark, haircut=haircut)

    def symbol(self, text: str) -> Instrument:
        inst = self.instruments.get(text.upper())
        if inst is None:
            raise refused(-1121, "Invalid symbol.")
        return inst

    # -- commands ------------------------------------------------------------------------

    def find(self, account_id: int, symbol: str, order_id: int | None, client_id: str | None) -> Order | None:
        """One of the account's orders by id, else by client id: the newest holding it, read
        back to the open one holding it if any (a liquidation's id skips -4116's check)."""
        orders = self.kept(account_id, symbol).orders
        if order_id is not None:
            return orders.get(order_id)
        ledger = self.ledgers.get(account_id)
        held = ledger.by_client_id.get(client_id or "") if ledger is not None else None
        held = held if held is not None and held.symbol == symbol else None
        for order in reversed(orders.values()):  # by id: kept as made or restored, in order
            if held is not None and order.order_id <= held.order_id:
                return held
            if order.client_order_id == client_id:
                return order
        return held

    def orders(self, account_id: int, symbol: str) -> list[Order]:
        return sorted(self.kept(account_id, self.symbol(symbol).symbol).orders.values(), key=_order_id)

    def fills(self, account_id: int, symbol: str) -> list[Fill]:
        return list(self.kept(account_id, self.symbol(symbol).symbol).fills)

    # -- the steps -----------------------------------------------------------------------

    def finish(
        self, seat: Seat[Ledger], order: Order, status: OrderStatus, now_ms: int, out: Made, expiry: str = ""
    ) -> None:
        """``order`` closed at ``status`` (``seat``: the account's at its symbol): its event
        (none for FILLED, whose fill's event told it) and its journal row, which share one
        copy (a closed order changes no more)."""
        if order.status is not status:
            order.move(status, now_ms)
        seat.ledger.closed(order, seat)
        resting = self._resting.get(order.symbol)
        if resting is not None and resting.get(order.order_id) is order:
            del resting[order.order_id]
            if not resting:
                del self._resting[order.symbol]
            self.venue_market.withdraw(order, now_ms)  # what of it still rests leaves the market
        if status is not _FILLED:
            # self-trade prevention's expiry is an EXPIRED execution (part 4 §3.2's `x` values)
            execution = "EXPIRED" if status is _EXPIRED_IN_MATCH else status._value_
            update = self.order_update(seat, execution, status, order, None, now_ms, expiry)
            out.events.append(update)
            out.records.append(_new(OrderRow, (update.order,)))
        else:
            out.records.append(_new(OrderRow, (order.copy(),)))

    def hold(self, order: Order, now_ms: int, ahead: int | None = None) -> None:
        """``order`` rests from now: at the back of its level (``ahead``: a restored order's
        place, at most the level), behind the venue's orders there (``Order.rested``)."""
        # the last of the venue's to come to rest: its ``rested`` the next (what orders its symbol's
        # resting orders wherever their order matters: ``MakerIndex.met``, the journal's state, a
        # restart's restore), its place among them kept as it was
        order.rested, self.next_rested = self.next_rested, self.next_rested + 1
        self.venue_market.rest(order, self.resting(order.symbol), now_ms, ahead)

    def requeue(self, order: Order, now_ms: int) -> None:
        """``order``, resting, moved to the back of the level at its price now (part 2 §5),
        behind the venue's orders there too (its ``rested`` the next, as ``hold`` says)."""
        order.rested, self.next_rested = self.next_rested, self.next_rested + 1
        self.venue_market.requeue(order, self._resting.get(order.symbol, _NONE).values(), now_ms)

    def trim(self, seat: Seat[Ledger], side: PositionSide, now_ms: int, out: Made) -> None:
        """Expire the reduce-only orders it can no longer close: ``er`` "4" (part 4 §3.1)."""
        for order in expiring(seat.ledger, seat.symbol, side):
            self.finish(seat, order, OrderStatus.EXPIRED, now_ms, out, "4")


_order_id: Callable[[Order], int] = lambda order: order.order_id  # noqa: E731
_NONE: Mapping[int, Order] = MappingProxyType({})  # a symbol with nothing resting
