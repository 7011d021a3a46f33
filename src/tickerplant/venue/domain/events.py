"""What a command changed, as plain data: one ordered list of what it made (``Made``), the
events the user data stream will carry (part 4: ``ORDER_TRADE_UPDATE``, ``ACCOUNT_UPDATE``)
in the order they happened (part 4 §4.3: an order's ``NEW``, then per fill its ``TRADE``
and the account change it made) and, among them, the journal's own records of what no
event shows (``Record``: an order's state as the command left it, a position, a setting, a
queue place...). The batch the journal writes before the answer goes is derived from that
list alone (``Made.batch``): a fill and its wallet change from the ``ORDER_TRADE_UPDATE``
that tells it, everything else from its record.

The events hold values, not wire text: the user data stream (a later step) writes them as
part 4's payloads. They are kept in a bounded outbox (``outbox.Outbox``) until it takes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

from tickerplant.venue.domain.algo_order import AlgoOrder
from tickerplant.venue.domain.contract import Position
from tickerplant.venue.domain.money import Ratio
from tickerplant.venue.domain.orders import Amendment, Fill, Order, OrderStatus, PositionSide

__all__ = [
    "AccountUpdate",
    "AlgoUpdate",
    "BalanceUpdate",
    "Batch",
    "ConfigUpdate",
    "Event",
    "Funded",
    "Income",
    "Made",
    "MarginCall",
    "MarginMove",
    "OrderRow",
    "OrderUpdate",
    "PositionRow",
    "Record",
    "Setting",
    "Shown",
    "WalletChange",
]

_NONE = ()  # a table a batch does not write: one shared empty tuple, no list made for it


class OrderUpdate(NamedTuple):  # a tuple: made per command, ~8× as quick as a frozen dataclass
    """``ORDER_TRADE_UPDATE``: an order's state after one change (``x`` execution type)."""

    time_ms: int
    account_id: int
    execution: str  # x: NEW, TRADE, CANCELED, EXPIRED
    status: OrderStatus  # X
    order: Order  # a copy as it stood after the change
    fill: Fill | None  # the trade, for x=TRADE (and a liquidation's x=CALCULATED)
    # b and a as they stood after the change: the account's open orders on the symbol, per
    # side (buy, sell), as ``Resting`` sums them (``Contract.resting_notional`` of each)
    open_values: tuple[int, int]
    expiry: str = ""  # er when it is not the order type's own ("5": cancelled by a liquidation)
    modify_id: int | None = None  # M: an AMENDMENT's modifyId, when the amend sent one (part 4 §3.1)


class Shown(NamedTuple):
    """One position an ``ACCOUNT_UPDATE`` shows in ``P``, as it stood then (part 4 §3.4)."""

    side: PositionSide
    amt: int  # quantity units, signed
    cost: Ratio  # the position's sums (``position.py``): ep, up and bep are worked out from them
    isolated_wallet: int | None  # iw of an isolated position; None: cross
    realized: int  # cr, 1e-8
    maker_amt: int = 0  # what maker fills opened of it: bep's rate (``Position.maker_amt``)


class AccountUpdate(NamedTuple):  # a tuple: made per command, ~8× as quick as a frozen dataclass
    """``ACCOUNT_UPDATE`` with positions: the wallet and the positions a fill changed
    (``m=ORDER``), an isolated position's wallet moved (``m=MARGIN_TRANSFER``), a symbol's
    margin type changed (``m=MARGIN_TYPE_CHANGE``, no balance moved)."""

    time_ms: int
    account_id: int
    reason: str  # m: ORDER, MARGIN_TRANSFER, MARGIN_TYPE_CHANGE
    asset: str
    # wallet balance after and cw (the wallet less the isolated wallets), 1e-8; None when no
    # balance moved (a margin type change): ``B`` is then empty (part 4 §3.4, changed only)
    wallet: int | None
    symbol: str
    cross_wallet: int | None
    mark: Fraction | None  # the symbol's mark then (``up``), None: none yet
    # ``P``: the symbol's positions part 4 §3.4's push rules show (``EngineState.shown``)
    positions: tuple[Shown, ...]


@dataclass(frozen=True, slots=True)
class BalanceUpdate:
    """``ACCOUNT_UPDATE`` that moves a balance (``B``): a funding fee (``m=FUNDING_FEE``,
    with ``a.S`` the symbol), a clearance fee (``INSURANCE_CLEAR``), a transfer. ``"P":[]``
    unless the fee was an isolated position's: then that position (part 4 §3.4)."""

    time_ms: int
    account_id: int
    reason: str
    asset: str
    wallet: int  # wallet balance after, 1e-8
    change: int  # bc: the change, 1e-8
    symbol: str  # a.S for FUNDING_FEE
    cross_wallet: int  # cw, 1e-8
    isolated: tuple[int, Ratio, int, int] | None = None  # the isolated position: amt, sums, iw, maker_amt
    position_side: PositionSide = PositionSide.BOTH  # the isolated position's
    # the isolated position's mark and cr (1e-8) then, as ``AccountUpdate`` holds them
    mark: Fraction | None = None
    realized: int = 0
    # more balances the same change moved, after it in ``B``: (asset, wallet, bc, cw), 1e-8
    # (an automatic exchange's asset sold, ``auto_exchange.py``)
    more: tuple[tuple[str, int, int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class MarginCall:
    """``MARGIN_CALL``: the cross wallet and, per position of the asset, its figures; or one
    isolated position's (no ``cw``, its wallet in ``iw``)."""

    time_ms: int
    account_id: int
    cross_wallet: int | None  # 1e-8; None: an isolated position's call
    # s, ps, amt, mark, then uPnL and MM in 1e-8
    positions: tuple[tuple[str, PositionSide, int, Fraction, int, int], ...]
    isolated_wallet: int = 0  # the isolated position's, 1e-8


@dataclass(frozen=True, slots=True)
class MarginMove:
    """An isolated position's wallet moved between it and the cross wallet: by its owner
    (``POST …/positionMargin``, ``USER_ADJUST``) or by a fill (``TRADE``: the margin an
    opening brings, what a reduction releases). One row of ``GET …/positionMargin/history``
    (part 3 §4.8)."""

    account_id: int
    symbol: str
    kind: int  # type: 1 added, 2 reduced
    amount: int  # 1e-8, positive
    asset: str
    time_ms: int
    delta_type: str = "USER_ADJUST"
    position_side: PositionSide = PositionSide.BOTH


@dataclass(frozen=True, slots=True)
class Income:
    """A flow that is not a fill's (those are the fills): ``FUNDING_FEE``, ``INSURANCE_CLEAR``."""

    account_id: int
    symbol: str
    kind: str  # incomeType
    asset: str
    amount: int  # signed, 1e-8
    time_ms: int
    tran_id: int


@dataclass(frozen=True, slots=True)
class AlgoUpdate:
    """``ALGO_UPDATE``: an algo order's state after one change (part 4 §3.7)."""

    time_ms: int
    account_id: int
    algo: AlgoOrder  # a copy as it stood after the change
    child_avg_price: str = ""  # the triggered order's average fill price and executed
    child_executed: str = ""  # quantity, as the reads write them ("" before the trigger)


@dataclass(frozen=True, slots=True)
class ConfigUpdate:
    """``ACCOUNT_CONFIG_UPDATE``: a symbol's leverage changed, or (``multi_assets`` not
    None) the Multi-Assets mode (part 4 §3.5)."""

    time_ms: int
    account_id: int
    symbol: str
    leverage: int
    multi_assets: bool | None = None


Event = OrderUpdate | AccountUpdate | AlgoUpdate | ConfigUpdate | BalanceUpdate | MarginCall


@dataclass(frozen=True, slots=True)
class Setting:
    """A per-symbol setting changed: leverage or margin type."""

    account_id: int
    symbol: str
    leverage: int | None  # None: unchanged
    isolated: bool | None


@dataclass(frozen=True, slots=True)
class ModeChange:
    """An account-wide mode changed: hedge mode (both markets), Multi-Assets or the BNB fee
    discount (USDⓈ-M)."""

    account_id: int
    hedge: bool | None = None  # None: unchanged
    multi_assets: bool | None = None
    fee_burn: bool | None = None


class OrderRow(NamedTuple):
    """An order as the command left it (its status, fills, queue place, price...), journaled
    whether or not an event told its last change (a queue place is told to nobody)."""

    order: Order  # a copy


class PositionRow(NamedTuple):
    """A position as the command left it."""

    account_id: int
    symbol: str
    position: Position  # a copy


class WalletChange(NamedTuple):
    """A change of a wallet that is not a fill's (a fill's is its realized PnL less its
    commission): a funding fee, a clearance fee, an automatic exchange's."""

    account_id: int
    asset: str
    delta: int  # 1e-8
    time_ms: int


class AlgoRow(NamedTuple):
    """An algo order as the command left it (a trailing stop's best price too)."""

    algo: AlgoOrder  # a copy


class Funded(NamedTuple):
    """The last funding time settled on a symbol, whatever it charged (``funding.py``: a
    restart settles the fundings after it that it missed)."""

    symbol: str
    funding_ms: int


Record = (
    OrderRow | PositionRow | WalletChange | AlgoRow | Funded | Setting | ModeChange | Income | MarginMove
    | Amendment
)


class Made:
    """What one command made, in order: its events and the journal's records (the module's
    docstring). The steps put into it; ``Engine.apply`` derives the journal's batch from it
    (``batch``) and hands its events to the user data stream (``events``). Kept as two
    lists, each in the order its items came: the batch is per table, so how an event and a
    record interleave never matters. A step that knows what it made appends to its list
    (``events`` or ``records``, typed); ``put`` sorts an item of either kind."""

    __slots__ = ("events", "records")

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.records: list[Record] = []

    def put(self, item: Event | Record) -> None:
        if type(item) in _EVENT_TYPES:
            self.events.append(item)  # type: ignore[arg-type]
        else:
            self.records.append(item)  # type: ignore[arg-type]

    def mark(self) -> tuple[int, int]:
        """Where the next items go (``withdraw``'s argument)."""
        return len(self.events), len(self.records)

    def withdraw(self, mark: tuple[int, int]) -> list[Event | Record]:
        """The items put since ``mark``, taken back to be put again after one that must come
        before them (an algo order's ``TRIGGERED`` before its child's events: the child's id
        is known once it is placed)."""
        events, records = mark
        taken: list[Event | Record] = [*self.events[events:], *self.records[records:]]
        del self.events[events:], self.records[records:]
        return taken

    def count(self, kind: type) -> int:
        """The records of ``kind`` put so far."""
        return sum(1 for record in self.records if type(record) is kind)

    def batch(self) -> Batch | None:
        """The journal's batch, derived from the items alone: the one place that says which
        item is which row; None when there is nothing to journal (every record is a row,
        and an event only a fill's). Most commands change one order and nothing else (a
        placement that rests, a cancel, a move: its row and its amendment's): their batch
        holds those two tables and the others stay ``Batch``'s shared empty tuple."""
        for event in self.events:
            if type(event) is OrderUpdate and event.fill is not None:
                return self._every_table()
        orders: list[Order] = []
        amendments: Sequence[Amendment] = _NONE  # a move's one, most often none: no list made
        for record in self.records:
            if type(record) is OrderRow:
                orders.append(record.order)
            elif type(record) is Amendment:  # a move's row, beside its order's: second
                amendments = [*amendments, record]
            else:
                return self._every_table()
        return Batch(orders, amendments=amendments) if orders or amendments else None

    def _every_table(self) -> Batch:
        """``batch`` when a command made more than orders' rows: each table's rows in the
        order they came (a command's wallet changes: its fills', then the others')."""
        orders: list[Order] = []
        fills: list[Fill] = []
        positions: list[tuple[int, str, Position]] = []
        changes: list[tuple[int, str, int, int]] = []
        algos: list[AlgoOrder] = []
        funded: list[tuple[str, int]] = []
        for event in self.events:
            if type(event) is OrderUpdate and event.fill is not None:
                fill = event.fill  # a fill, and the wallet change it made (part 3 §7.8)
                fills.append(fill)
                delta = fill.realized_pnl - fill.commission
                changes.append((fill.account_id, fill.commission_asset, delta, fill.time_ms))
        as_they_stand: list[Record] = []
        for record in self.records:
            if type(record) is OrderRow:
                orders.append(record.order)
            elif type(record) is PositionRow:
                positions.append((record.account_id, record.symbol, record.position))
            elif type(record) is WalletChange:
                changes.append((record.account_id, record.asset, record.delta, record.time_ms))
            elif type(record) is AlgoRow:
                algos.append(record.algo)
            elif type(record) is Funded:
                funded.append((record.symbol, record.funding_ms))
            else:  # the records that are rows as they stand (an amendment among them)
                as_they_stand.append(record)
        batch = Batch(orders, fills, positions, changes, algos=algos, funded=funded)
        for kind, table in _ROWS.items() if as_they_stand else ():
            rows = [record for record in as_they_stand if type(record) is kind]
            if rows:
                setattr(batch, table, rows)
        return batch


@dataclass(slots=True, init=False)
class Batch:
    """What one command changed, journaled in one transaction before its answer. A table it
    does not write is one shared empty tuple (``_NONE``), no list made for it."""

    orders: list[Order]  # copies, in their state after
    fills: Sequence[Fill] = _NONE
    positions: Sequence[tuple[int, str, Position]] = _NONE  # account, symbol, copy
    changes: Sequence[tuple[int, str, int, int]] = _NONE  # account, asset, delta, ms
    settings: Sequence[Setting] = _NONE
    incomes: Sequence[Income] = _NONE
    algos: Sequence[AlgoOrder] = _NONE  # copies, in their state after
    margin_moves: Sequence[MarginMove] = _NONE
    amendments: Sequence[Amendment] = _NONE
    modes: Sequence[ModeChange] = _NONE
    # (symbol, funding time): the last funding settled on the symbol, whatever it charged
    # (``funding.py``: a restart settles the fundings after it that it missed)
    funded: Sequence[tuple[str, int]] = _NONE
    # (account, listen key, until ms; "" once closed): the market's listen keys, which are not
    # the engine's but are journaled as its commands are (``gateway/user_data.py``)
    listen_keys: Sequence[tuple[int, str, int]] = _NONE
    # (account, symbol, deadline ms, 0 once stopped or run out; set ms): the market's
    # countdownCancelAll countdowns, the gateway's too, journaled alike (``gateway/countdowns.py``)
    countdowns: Sequence[tuple[int, str, int, int]] = _NONE
    # the engine's market ("um", "cm"), stamped by its journal (``group_commit.Stamped``): whose
    # wallets ``changes`` and the symbol-less ``incomes`` are
    market: str | None = None

    def __init__(
        self, orders: list[Order] | None = None, fills: Sequence[Fill] = _NONE,
        positions: Sequence[tuple[int, str, Position]] = _NONE,
        changes: Sequence[tuple[int, str, int, int]] = _NONE, settings: Sequence[Setting] = _NONE,
        incomes: Sequence[Income] = _NONE, algos: Sequence[AlgoOrder] = _NONE,
        margin_moves: Sequence[MarginMove] = _NONE, amendments: Sequence[Amendment] = _NONE,
        modes: Sequence[ModeChange] = _NONE, funded: Sequence[tuple[str, int]] = _NONE,
        market: str | None = None, listen_keys: Sequence[tuple[int, str, int]] = _NONE,
        countdowns: Sequence[tuple[int, str, int, int]] = _NONE,
    ) -> None:  # fmt: skip
        self.orders = [] if orders is None else orders
        self.fills = fills
        self.positions = positions
        self.changes = changes
        self.settings = settings
        self.incomes = incomes
        self.algos = algos
        self.margin_moves = margin_moves
        self.amendments = amendments
        self.modes = modes
        self.funded = funded
        self.listen_keys = listen_keys
        self.countdowns = countdowns
        self.market = market

    def __bool__(self) -> bool:
        return bool(
            self.orders or self.fills or self.positions or self.changes or self.settings or self.incomes
            or self.algos or self.margin_moves or self.amendments or self.modes or self.funded
            or self.listen_keys or self.countdowns
        )


_EVENT_TYPES = frozenset((OrderUpdate, AccountUpdate, AlgoUpdate, ConfigUpdate, BalanceUpdate, MarginCall))
# the records that are rows as they stand: their list in ``Batch``
_ROWS: dict[type, str] = {
    Setting: "settings", ModeChange: "modes", Income: "incomes", MarginMove: "margin_moves",
    Amendment: "amendments",
}  # fmt: skip
