"""One account's standing in one market: its positions, per-symbol settings, the changes
trading made to its wallet, and the margin figures of part 3 §7.8 computed from them.

The wallet balance of an asset is the operator's amount (deposits less withdrawals, kept in
the accounts database by ``tickerplant accounts``) plus ``changes`` (Σ realized PnL − Σ
commission, journaled with each fill): the two never write over each other.

In hedge mode (``POST …/positionSide/dual``, one flag per account for both markets,
``position_modes.py``) an account holds a ``LONG`` and a ``SHORT`` position per symbol,
keyed with their side; one-way mode holds one ``BOTH``. Each is valued on its own; the
symbol's open-order margin counts, per decision 7, only the orders that increase exposure:
in hedge mode the opening ones (``BUY``/``LONG``, ``SELL``/``SHORT``), a closing one being
reduce-only, and both sides' add up (decision 7's "the larger of the buy and sell sides"
is one-way's, where they cannot both fill into positions; in hedge mode they can).

Figures (per margin asset, single-asset mode): §7.8's, each an integer in 1e-8 of the asset,
a sum of its positions' and sides' figures each rounded as its row is written (``figures.py``,
which holds the formulas), kept between checks as ``kept_figures.py`` says.

An isolated position (``POST …/marginType``, ``isolated.py``) is collateralised by its own
wallet (``Position.isolated_wallet``), a part of the asset's wallet: the cross wallet is the
wallet less the isolated wallets, and only cross positions draw on it. Open orders draw on
the cross wallet whatever their symbol's margin type (their margin moves into the isolated
wallet as they fill).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from tickerplant.venue.domain.contract import Contract, Position, toward_zero
from tickerplant.venue.domain.events import Income, MarginMove
from tickerplant.venue.domain.orders import Order, PositionSide, Side
from tickerplant.venue.ledger.figures import Figures, SymbolFigures, isolated_wallets
from tickerplant.venue.ledger.kept_figures import SUMS, AssetTotals, KeptAsset, position_figures
from tickerplant.venue.ledger.seat import MarginKey, Seat
from tickerplant.venue.ledger.side_margins import SideMargins
from tickerplant.venue.ledger.stamped import StampedDict, StampedSet

__all__ = ["INCOME_KEPT", "Ledger", "PositionKey", "Value"]

PositionKey = tuple[str, PositionSide]  # a position's key: its symbol and side
Value = int  # a sum of ``Contract.order_value``s
Mark = Callable[[str], Fraction | None]  # a symbol's mark (None: none yet)
_ONE_WAY, _HEDGE = (PositionSide.BOTH,), (PositionSide.LONG, PositionSide.SHORT)
_ONE_WAY_SIDE = PositionSide.BOTH
_SIDES = (*_ONE_WAY, *_HEDGE)
_BUY, _SELL = Side.BUY, Side.SELL  # per margin worked out: bound once (3.11's EnumType hook)
_BOTH = (_BUY, _SELL)

# the fields whose containers carry a version (``stamped.py``): what the figures' stamp reads
_STAMPED = (("positions", StampedDict), ("leverage", StampedDict), ("isolated", StampedSet))
INCOME_KEPT = 1000  # funding, clearance, margin-move rows kept in memory per account (the journal: all)


# an order and the (quantity, price) pairs counted for it as if resting beside the sums: a
# new order's quantity at its price; a modified order's old place taken out, its new one in
Extra = tuple[Order, tuple[tuple[int, int], ...]]


def _extra(extra: Extra | None, side: Side) -> tuple[tuple[int, int], ...]:  # what it counts on ``side``
    return extra[1] if extra is not None and extra[0].side is side else ()


@dataclass(slots=True)
class Ledger:
    account_id: int
    # the state the figures are worked out from, in containers that carry a version
    # (``stamped.py``; ``__post_init__`` stamps a plain one given, one put in their place later must be)
    positions: StampedDict[PositionKey, Position] = field(default_factory=StampedDict)
    inverse: bool = False  # its market's contracts are inverse (COIN-M): how ``Resting`` sums value
    # inverse: what an order's value is (its notional, ``Contract.order_value``)
    contracts: Mapping[str, Contract] = field(default_factory=dict, repr=False, compare=False)
    hedge: bool = False  # hedge mode (position_modes.PositionModes keeps it for both markets)
    multi_assets: bool = False  # Multi-Assets mode, USDⓈ-M only (collateral.py)
    fee_burn: bool = False  # the BNB fee discount, USDⓈ-M only: kept and shown (commands.SetFeeBurn)
    leverage: StampedDict[str, int] = field(default_factory=StampedDict)  # set by POST …/leverage
    isolated: StampedSet[str] = field(default_factory=StampedSet)  # symbols set ISOLATED
    changes: dict[str, int] = field(default_factory=dict)  # asset -> Σ realized − commission, 1e-8
    changed_ms: dict[str, int] = field(default_factory=dict)  # asset -> when ``changes`` last moved
    open_orders: dict[str, dict[int, Order]] = field(default_factory=dict)  # symbol -> id -> order
    by_client_id: dict[str, Order] = field(default_factory=dict)  # open orders by clientOrderId
    income: deque[Income] = field(default_factory=lambda: deque(maxlen=INCOME_KEPT))  # not fills'
    margin_moves: deque[MarginMove] = field(default_factory=lambda: deque(maxlen=INCOME_KEPT))
    # symbol -> the account's seat there (``seat.py``): its kept orders, its open orders as
    # decision 7's sums and their values, its open-order margin per side, found with one lookup
    seats: dict[str, Seat[Ledger]] = field(default_factory=dict, init=False, repr=False, compare=False)
    # what a check expects a change to leave, and the last mark's ratio (``side_margins.py``)
    _margins: SideMargins = field(default_factory=SideMargins, init=False, repr=False, compare=False)
    # margin asset -> the positions' parts of its symbols kept, and their sums (``kept_figures.py``)
    _totals: dict[str, AssetTotals] = field(default_factory=dict, init=False, repr=False, compare=False)
    # symbol -> its seat, once its open orders changed (``Seat.changes``: ``figures`` reads its
    # margin again; a symbol new here: they are worked out again), every such symbol counted
    _orders: dict[str, Seat[Ledger]] = field(default_factory=dict, init=False, repr=False, compare=False)
    # margin asset -> its figures and what they were worked out at (``figures``)
    _kept: dict[str, KeptAsset] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """The containers the figures' stamp reads carry a version (``stamped.py``): a plain
        one given is stamped; one put in their place later must be too (the figures read its
        ``version``: a plain one fails loudly, it cannot go unseen)."""
        for name, stamped in _STAMPED:
            if type(given := getattr(self, name)) is not stamped:
                setattr(self, name, stamped(given))

    def with_leverage(self, symbol: str, leverage: int) -> Ledger:
        """This ledger at ``leverage`` on ``symbol``, for a change checked before it is made."""
        trial = dataclasses.replace(self, leverage=StampedDict(self.leverage | {symbol: leverage}))
        # its open orders, only read (a margin kept there keeps its key); a seat it makes is its own
        trial.seats = dict(self.seats)
        return trial

    def leverage_of(self, contract: Contract) -> int:
        return self.leverage.get(contract.inst.symbol, contract.default_leverage)  # decision 6's

    def position(self, symbol: str, side: PositionSide = PositionSide.BOTH) -> Position:
        found = self.positions.get((symbol, side))
        if found is None:
            found = self.positions[(symbol, side)] = Position(side=side)
        return found

    def amount(self, symbol: str, side: PositionSide = PositionSide.BOTH) -> int:
        """The position's amount (0: none held), read without making one (``position`` would: a change)."""
        return found.amt if (found := self.positions.get((symbol, side))) is not None else 0

    def sides(self) -> tuple[PositionSide, ...]:
        """The position sides a symbol has in the account's mode (the rows reads write)."""
        return _HEDGE if self.hedge else _ONE_WAY

    def held(self, symbol: str) -> list[Position]:
        """``symbol``'s open positions, every side's."""
        return [p for side in (*_ONE_WAY, *_HEDGE) if (p := self.positions.get((symbol, side))) and p.amt]

    def seat(self, symbol: str) -> Seat[Ledger]:
        """The account's seat at ``symbol`` (``seat.py``), made at its first use."""
        found = self.seats.get(symbol)
        if found is None:
            found = self.seats[symbol] = Seat(symbol, self)
        return found

    def touch(self, order: Order, seat: Seat[Ledger] | None = None) -> None:
        """``order``, open, changed what it has left or its price (a fill, a modification):
        its count in the sums moves with it, in one pass (``seat``: its symbol's, if found)."""
        seat = self.seats.get(order.symbol) if seat is None else seat
        counted = seat.counted.get(order) if seat is not None else None
        if seat is None or counted is None:  # not resting yet (a taker's fills), or no longer
            return
        rest, qty, price, value = counted
        now_qty, now_price = order.orig_qty - order.executed_qty, order.price  # what rests of it
        now_value = self._value(seat.symbol, now_qty, now_price) if self.inverse else now_qty * now_price
        rest.move(qty, price, value, now_qty, now_price, now_value)
        seat.values[sell := order.side.is_sell] += now_value - value
        seat.counted[order] = (rest, now_qty, now_price, now_value)
        self._margins.changed(seat, sell, order, now_qty)
        seat.changes += 1  # ``_changed``, inline: a fill's and a move's (its first is no touch's)

    def _changed(self, seat: Seat[Ledger]) -> None:
        """One more change of ``seat``'s open orders (``figures`` compares the count)."""
        seat.changes += 1
        if seat.changes == 1:
            self._orders[seat.symbol] = seat

    def opened(self, order: Order, seat: Seat[Ledger] | None = None) -> None:
        symbol = order.symbol
        seat = self.seat(symbol) if seat is None else seat
        self.open_orders.setdefault(symbol, {})[order.order_id] = order
        self.by_client_id[order.client_order_id] = order
        rest = seat.rest_of(order)
        qty, price, sell = order.remaining, order.price, order.side.is_sell
        value = self._value(symbol, qty, price)
        rest.add(qty, price, value)
        seat.values[sell] += value
        seat.counted[order] = (rest, qty, price, value)
        self._margins.changed(seat, sell, order, qty)
        self._changed(seat)

    def closed(self, order: Order, seat: Seat[Ledger] | None = None) -> None:
        symbol = order.symbol
        seat = self.seat(symbol) if seat is None else seat
        self._changed(seat)
        counted = seat.counted.pop(order, None)
        if counted is not None:
            rest, qty, price, value = counted
            rest.add(-qty, price, -value)
            sell = order.side.is_sell
            seat.values[sell] -= value
            self._margins.changed(seat, sell)  # the sums stay when empty: 12 at most a symbol
        orders = self.open_orders.get(symbol)
        if orders is not None:
            orders.pop(order.order_id, None)
            if not orders:
                del self.open_orders[symbol]
        if self.by_client_id.get(order.client_order_id) is order:
            del self.by_client_id[order.client_order_id]

    def _value(self, symbol: str, qty: int, price: int) -> Value:
        """``Contract.order_value`` of ``qty`` resting at ``price`` on ``symbol``."""
        return self.contracts[symbol].order_value(qty, price) if self.inverse else qty * price

    def active_symbols(self) -> list[str]:
        """Symbols with a position or open orders, in the order they were first touched."""
        if not self.positions:
            return list(self.open_orders)
        held = [s for (s, _), p in self.positions.items() if p.amt]
        return list(dict.fromkeys([*held, *self.open_orders]))

    def symbol_figures(
        self, contract: Contract, mark: Fraction, side: PositionSide = PositionSide.BOTH
    ) -> SymbolFigures:
        """``contract``'s figures, for its position on ``side``: a hedge side's with its own
        orders (its opening ones' margin), else with all of the symbol's."""
        symbol = contract.inst.symbol
        position = self.positions.get((symbol, side)) or Position(side=side)
        leverage = self.leverage_of(contract)
        notional = contract.notional_e8(position.amt, mark) if position.amt else 0
        unrealized, position_im, maint = position_figures(contract, position, mark, leverage)
        own = side if side is not PositionSide.BOTH else None
        bid, ask = (toward_zero(contract.resting_notional(value)) for value in self.open_values(symbol, own))
        if side is PositionSide.BOTH:
            open_order_im = self.open_order_im(contract, mark)
        else:  # a hedge side's opening orders, which may all fill into it
            open_order_im = max(
                contract.side_margin(s, self.seat(symbol).rests(s, own, opening=True), mark, leverage)
                for s in _BOTH
            )
        return SymbolFigures(
            symbol, position, mark, notional, unrealized, position_im, open_order_im, maint, leverage,
            bid, ask, symbol in self.isolated,
        )  # fmt: skip

    def open_order_im(self, contract: Contract, mark: Fraction, extra: Extra | None = None) -> int:
        """``contract``'s open-order margin alone (decision 7, 1e-8: each side's rounded down,
        ``Contract.cost``), ``extra`` counted as if
        resting: what a new order's margin check needs, without the rest of
        ``symbol_figures``. Read from the sums ``Resting`` keeps, whatever the number of
        orders resting.

        Without ``extra``, each side's value is kept per symbol until one of that side's open
        orders changes, or the mark, its position, its leverage or the account's mode does:
        a margin check values every symbol the account is active on."""
        seat = self.seat(contract.inst.symbol)
        if extra is None:
            _, buys, sells = self._margins_of(seat, contract, mark)
            return buys + sells if self.hedge else max(buys, sells)
        if self.hedge and extra[0].reduce_only:  # a closing order opens nothing
            extra = None
        key = self._key(seat, contract, mark)
        buys, sells = (
            self._side_margin(seat, contract, mark, key, side, _extra(extra, side)) for side in _BOTH
        )
        return buys + sells if self.hedge else max(buys, sells)

    def _key(self, seat: Seat[Ledger], contract: Contract, mark: Fraction) -> MarginKey:
        """What a symbol's kept open-order margin was worked out at."""
        held = found.amt if (found := self.positions.get((seat.symbol, _ONE_WAY_SIDE))) is not None else 0
        leverage = self.leverage.get(seat.symbol, contract.default_leverage)  # ``leverage_of``, inline
        return self._margins.key(mark, held, leverage, self.hedge)

    def _side_margin(
        self, seat: Seat[Ledger], contract: Contract, mark: Fraction, key: MarginKey, side: Side,
        extra: tuple[tuple[int, int], ...] = (),
    ) -> int:  # fmt: skip
        """Decision 7 for ``side`` of ``contract``'s open orders (``extra`` counted as if
        resting), as the account's mode counts it: in hedge mode each side's opening orders
        may all fill, into two positions (the symbol's margin is both sides' sum); in one-way
        mode every order of the side beyond what would close the position (the larger
        side's is the symbol's)."""
        sell, leverage, ratio = side.is_sell, key[3], (key[0], key[1])
        if self.hedge:
            return contract.side_margin(side, seat.sides[2 + sell], mark, leverage, extra=extra, ratio=ratio)
        held = key[2]
        closing = (held if held > 0 else 0) if sell else (-held if held < 0 else 0)
        return contract.side_margin(side, seat.sides[sell], mark, leverage, closing, extra, ratio)

    def _margins_of(
        self, seat: Seat[Ledger], contract: Contract, mark: Fraction, key: MarginKey | None = None
    ) -> tuple[MarginKey, int, int]:
        """The key ``contract``'s margins are worked out at now (``key``: already made), and
        its buys' and sells' margins: kept, or worked out (and kept) for a side that has none
        kept."""
        key = self._key(seat, contract, mark) if key is None else key
        sides = self._margins.at(seat, key)
        buys, sells = sides
        if buys is None:
            buys = sides[0] = self._side_margin(seat, contract, mark, key, _BUY)
        if sells is None:
            sells = sides[1] = self._side_margin(seat, contract, mark, key, _SELL)
        return key, buys, sells

    def moved_cost(
        self, contract: Contract, mark: Fraction, order: Order, qty: int, price: int,
        seat: Seat[Ledger] | None = None,
    ) -> int:  # fmt: skip
        """What leaving resting ``order`` with ``qty`` at ``price`` adds to the open-order
        margin (negative: less), in one pass: the other side's read as kept, the order's
        worked out once with its old place out and its new one in (``SideMargins.expect``;
        ``seat``: its symbol's, if found)."""
        if self.hedge and order.reduce_only:  # a closing order opens nothing, wherever it rests
            return 0
        seat = self.seat(order.symbol) if seat is None else seat
        key = self._key(seat, contract, mark)
        if seat.key != key:  # ``SideMargins.at``, inline (none kept under another key): ``_margins_of``,
            seat.key, seat.margins = key, [None, None]  # inline when both are kept
        buys, sells = seat.margins
        if buys is None or sells is None:
            key, buys, sells = self._margins_of(seat, contract, mark, key)
        counted = seat.counted.get(order)
        was, at = (counted[1], counted[2]) if counted is not None else (0, order.price)
        mine = self._side_margin(seat, contract, mark, key, order.side, ((-was, at), (qty, price)))
        self._margins.expect(order, qty, price, key, mine)
        sell = order.side.is_sell
        if self.hedge:  # both sides count: only the order's moved
            return mine - (sells if sell else buys)
        other = buys if sell else sells
        return (mine if mine > other else other) - (buys if buys > sells else sells)

    def open_order_ims(
        self, contract: Contract, mark: Fraction, order: Order, qty: int, seat: Seat[Ledger] | None = None
    ) -> tuple[int, int]:
        """``open_order_im`` without and with ``qty`` more of ``order`` resting (a new order's
        margin check: its cost is the difference): the other side's margin read as kept, the
        order's side's worked out once with it (and kept as the side's if the order comes to
        rest next: ``SideMargins.changed``)."""
        seat = self.seat(order.symbol) if seat is None else seat
        key, buys, sells = self._margins_of(seat, contract, mark)
        sell = order.side.is_sell
        if self.hedge and order.reduce_only:  # a closing order opens nothing: its side's as it is
            mine = sells if sell else buys
        else:
            mine = self._side_margin(seat, contract, mark, key, order.side, ((qty, order.price),))
        self._margins.expect(order, qty, order.price, key, mine)
        if self.hedge:
            return buys + sells, (buys + mine if sell else mine + sells)
        return max(buys, sells), max(buys, mine) if sell else max(mine, sells)

    def open_values(self, symbol: str, own: PositionSide | None = None) -> tuple[Value, Value]:
        """Σ ``Resting.value`` of ``symbol``'s open orders (of ``own``; None: every side), buys,
        sells: ``b``/``a`` (order events, ``symbol_figures``) are their ``resting_notional``."""
        seat = self.seats.get(symbol)
        if seat is None:
            return 0, 0
        if own is None:  # kept as orders open, change and close (every order event reads it)
            values = seat.values
            return values[0], values[1]
        buys, sells = (sum(r.value for r in seat.rests(s, own)) for s in _BOTH)
        return buys, sells

    def figures(self, asset: str, deposited: int, contracts: Mapping[str, Contract], mark: Mark) -> Figures:
        """The totals of ``asset``: its wallet (``deposited`` plus trading's changes) and
        every active symbol margined in it, valued at ``mark`` (``_kept_asset``)."""
        return self._kept_asset(asset, deposited, contracts, mark).now()

    def room(
        self, asset: str, deposited: int, contracts: Mapping[str, Contract], mark: Mark, isolated: bool
    ) -> int:
        """What a margin check weighs a cost in ``asset`` against (``KeptAsset.room``): the
        same figures as ``figures``', read as integers."""
        return self._kept_asset(asset, deposited, contracts, mark).room(isolated)

    def _kept_asset(
        self, asset: str, deposited: int, contracts: Mapping[str, Contract], mark: Mark
    ) -> KeptAsset:
        """``asset``'s figures kept whole while what they are worked out from is as it was
        (``kept_figures.KeptAsset``), a symbol whose open orders changed since read again;
        else worked out again (``_worked_out``)."""
        changes, positions, leverage = self.changes.get(asset, 0), self.positions, self.leverage
        stamp = (deposited, changes, positions.version, leverage.version, self.isolated.version, self.hedge)
        held = list(map(SUMS, positions.values()))
        kept = self._kept.get(asset)
        if kept is None or (stale := kept.stale(stamp, held, mark)) is None:
            return self._worked_out(asset, deposited, contracts, mark, stamp, held)
        if kept.orders != len(self._orders):  # a symbol's first open orders since: counted from now
            stale += self._first_orders(kept, asset, contracts, mark)
        if not stale:
            return kept
        moved = 0
        for counted in stale:  # its margin key as kept: the mark, position, leverage and mode are
            seat = counted[0]
            _, buys, sells = self._margins_of(seat, contracts[seat.symbol], counted[1], counted[3])
            margin = buys + sells if self.hedge else max(buys, sells)
            moved += margin - counted[4]
            counted[2], counted[4] = seat.changes, margin
        kept.moved(moved)
        return kept

    def _first_orders(
        self, kept: KeptAsset, asset: str, contracts: Mapping[str, Contract], mark: Mark
    ) -> list[Any]:
        """``asset``'s symbols whose orders first changed since ``kept`` (at ``_orders``' end),
        counted in it from now as ``_worked_out`` counts them (their margin from 0; no position)."""
        new, known = [], kept.seats()
        for seat in list(self._orders.values())[kept.orders :]:
            contract, price = contracts.get(seat.symbol), mark(seat.symbol)
            if contract is None or contract.inst.margin_asset != asset or seat in known:
                continue  # not of ``asset``, or counted already (a position held)
            counted = [seat, price, 0, None if price is None else self._key(seat, contract, price), 0]
            kept.symbols.append(counted)
            if price is not None:  # none: kept, a mark coming makes it count (``_worked_out``)
                new.append(counted)
        kept.orders = len(self._orders)
        return new

    def _worked_out(
        self, asset: str, deposited: int, contracts: Mapping[str, Contract], mark: Mark,
        stamp: tuple[object, ...], held: list[Any],
    ) -> KeptAsset:  # fmt: skip
        """``figures`` worked out, and kept with what they were worked out at. Each symbol's
        positions' part is kept until its mark or what it is worked out from changes
        (``AssetTotals.value``: an order opening, filling or closing leaves it as it is);
        its open orders' margin is ``open_order_im``'s, kept per side."""
        held_part = self._totals.get(asset)
        if held_part is None:
            held_part = self._totals[asset] = AssetTotals()
        counted: set[str] = set()
        symbols: list[list[Any]] = []  # ``KeptAsset.symbols``
        open_order_im = 0
        # the active symbols and every one that had open orders (none now: its margin is 0), so
        # that a symbol whose orders open again is in the kept figures (``_orders``)
        every = dict.fromkeys([*self.active_symbols(), *self._orders]) if self.positions else self._orders
        for symbol in every:
            contract = contracts.get(symbol)
            if contract is None or contract.inst.margin_asset != asset:
                continue
            price, seat = mark(symbol), self.seat(symbol)
            if price is None:  # kept: a mark coming makes it count
                symbols.append([seat, None, 0, None, 0])
                continue
            counted.add(symbol)
            leverage = self.leverage_of(contract)
            both = held_part.value(symbol, contract, price, self.positions, leverage, symbol in self.isolated)
            amt = both.amt if both is not None else 0  # ``open_order_im``: ``_key`` of what was read here
            at = self._margins.key(price, amt, leverage, self.hedge)
            _, buys, sells = self._margins_of(seat, contract, price, at)
            margin = buys + sells if self.hedge else max(buys, sells)
            symbols.append([seat, price, seat.changes, at, margin])
            open_order_im += margin
        held_part.keep_only(counted)
        unrealized, position_im, _, maint, isolated_unrealized, isolated_im, isolated_maint = held_part.sums
        figures = Figures(
            deposited + self.changes.get(asset, 0), unrealized, position_im, open_order_im, maint,
            isolated_wallets(self.positions, self.isolated, asset, contracts),
            isolated_unrealized, isolated_im, isolated_maint,
        )  # fmt: skip
        kept = self._kept[asset] = KeptAsset(stamp, held, symbols, figures, len(self._orders))
        return kept
