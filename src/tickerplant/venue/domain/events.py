"""What a command changed, as plain data: the batch the journal writes before the answer
goes, and the events the user data stream will carry (part 4: ``ORDER_TRADE_UPDATE``,
``ACCOUNT_UPDATE``), in the order they happened (part 4 §4.3: an order's ``NEW``, then per
fill its ``TRADE`` and the account change it made).

The events hold values, not wire text: the user data stream (a later step) writes them as
part 4's payloads. They are kept in a bounded outbox (``Outbox``) until it takes them.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction
from typing import NamedTuple

from tickerplant.venue.domain.algo_order import AlgoOrder
from tickerplant.venue.domain.contract import Position
from tickerplant.venue.domain.orders import Amendment, Fill, Order, OrderStatus, PositionSide

__all__ = [
    "EVENTS_KEPT",
    "AccountUpdate",
    "AlgoUpdate",
    "BalanceUpdate",
    "Batch",
    "ConfigUpdate",
    "Event",
    "Income",
    "MarginCall",
    "MarginMove",
    "OrderUpdate",
    "Outbox",
    "Setting",
]

EVENTS_KEPT = 10_000  # events waiting for the user data stream, the oldest dropped first


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
    open_values: tuple[int | Fraction, int | Fraction]
    expiry: str = ""  # er when it is not the order type's own ("5": cancelled by a liquidation)


class AccountUpdate(NamedTuple):  # a tuple: made per command, ~8× as quick as a frozen dataclass
    """``ACCOUNT_UPDATE`` with a position: the wallet and the position a fill changed
    (``m=ORDER``), or an isolated position's wallet moved (``m=MARGIN_TRANSFER``)."""

    time_ms: int
    account_id: int
    reason: str  # m: ORDER, MARGIN_TRANSFER
    asset: str
    wallet: int  # wallet balance after, 1e-8
    symbol: str
    position_amt: int  # quantity units, signed
    entry: Fraction
    cross_wallet: int  # cw: the wallet less the isolated wallets, 1e-8
    mark: Fraction | None  # the symbol's mark then (``up``), None: none yet
    # cr of each position shown, 1e-8: the position's side, then each of ``flat_sides``
    realized: tuple[int, ...]
    isolated_wallet: int | None = None  # iw of an isolated position; None: cross
    position_side: PositionSide = PositionSide.BOTH
    # the symbol's other sides, flat, shown after it: a margin type change in hedge mode has
    # both its positions in ``P`` (part 4 §4.3 item 6: "that symbol's positions")
    flat_sides: tuple[PositionSide, ...] = ()


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
    isolated: tuple[int, Fraction, int] | None = None  # the isolated position: amt, entry, iw
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
    positions: tuple[
        tuple[str, PositionSide, int, Fraction, Fraction, Fraction], ...
    ]  # s, ps, amt, mark, uPnL, MM
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
    """An account-wide mode changed: hedge mode (both markets) or Multi-Assets (USDⓈ-M)."""

    account_id: int
    hedge: bool | None = None  # None: unchanged
    multi_assets: bool | None = None


@dataclass(slots=True)
class Batch:
    """What one command changed, journaled in one transaction before its answer."""

    orders: list[Order] = field(default_factory=list)  # copies, in their state after
    fills: list[Fill] = field(default_factory=list)
    positions: list[tuple[int, str, Position]] = field(default_factory=list)  # account, symbol, copy
    changes: list[tuple[int, str, int, int]] = field(default_factory=list)  # account, asset, delta, ms
    settings: list[Setting] = field(default_factory=list)
    incomes: list[Income] = field(default_factory=list)
    algos: list[AlgoOrder] = field(default_factory=list)  # copies, in their state after
    margin_moves: list[MarginMove] = field(default_factory=list)
    amendments: list[Amendment] = field(default_factory=list)
    modes: list[ModeChange] = field(default_factory=list)
    # (symbol, funding time): the last funding settled on the symbol, whatever it charged
    # (``funding.py``: a restart settles the fundings after it that it missed)
    funded: list[tuple[str, int]] = field(default_factory=list)
    # the engine's market ("um", "cm"), stamped by its journal (``group_commit.Stamped``): whose
    # wallets ``changes`` and the symbol-less ``incomes`` are
    market: str | None = None

    def __bool__(self) -> bool:
        changed = (
            self.orders, self.fills, self.positions, self.changes, self.settings, self.incomes, self.algos,
            self.margin_moves, self.amendments, self.modes, self.funded,
        )  # fmt: skip
        return any(changed)


class Outbox:
    """The events not yet taken, at most ``EVENTS_KEPT``."""

    def __init__(self) -> None:
        self._events: deque[Event] = deque(maxlen=EVENTS_KEPT)
        self.made = 0  # events put, ever (what ``since`` counts from)

    def put(self, event: Event) -> None:
        self._events.append(event)
        self.made += 1

    def since(self, made: int) -> tuple[Event, ...]:
        """The events put since ``made`` had been (read before a command), those still kept."""
        count = min(self.made - made, len(self._events))  # read from the newest: O(count)
        return tuple(itertools.islice(reversed(self._events), count))[::-1]

    def withdraw(self, made: int) -> list[Event]:
        """The events put since ``made`` had been, taken back to be put again after one that
        must come before them (an algo order's ``TRIGGERED`` before its child's events: the
        child's id is known once it is placed); ``made`` counts as if they had not been put."""
        count = min(self.made - made, len(self._events))
        taken = [self._events.pop() for _ in range(count)][::-1]
        self.made = made
        return taken

    def take(self) -> list[Event]:
        taken = list(self._events)
        self._events.clear()
        return taken
