"""Orders and fills as records: the enumerations of part 2 §9, an order's life as a table,
and a fill with what it settled.

An order's identity (part 2 §3.3, §6.2): ``orderId`` increases per symbol; its
``clientOrderId`` is the caller's (``^[\\.A-Z\\:/a-z0-9_-]{1,36}$``) or one the venue makes
as Binance does (22 letters and digits); it is unique among the account's *open* orders and
may be used again once the order is closed.

An order moves only along ``TRANSITIONS`` (h11's way: a table, and one error for a move the
table does not hold). A final order never moves again.

Quantities are integer units of the symbol's quantity precision, prices of its price
precision; ``cum_quote`` is Σ price × qty in units of 10^-(price + quantity decimals), exact;
``cum_base`` (COIN-M) is Σ qty × contractSize / price in 1e-8 of the coin, each fill rounded
down. Money (realized PnL, commission) is in 1e-8 of the margin asset.
"""

from __future__ import annotations

import enum
import random
import re
import secrets
import string
from collections.abc import Callable
from typing import NamedTuple

import msgspec

__all__ = [
    "BASE_FINE",
    "CLIENT_ORDER_ID",
    "SYSTEM_CLIENT_IDS",
    "TRANSITIONS",
    "Amendment",
    "Fill",
    "IllegalTransition",
    "Order",
    "OrderStatus",
    "OrderType",
    "PositionSide",
    "Side",
    "TimeInForce",
    "Trigger",
    "client_id_allowed",
    "new_client_order_id",
    "seeded_client_ids",
]

CLIENT_ORDER_ID = re.compile(r"[.A-Z:/a-z0-9_-]{1,36}")  # part 2 §3.3
# The system orders' client ids (part 2 §3.3, part 4 §3.1's ``c``): a liquidation's
# ``autoclose-…``, an ADL's ``adl_autoclose``, a delisting's or a delivery's settlement. The
# venue knows its liquidation orders by theirs (their events' LIQUIDATION type, forceOrders,
# the order limits they do not count in), as clients do (part 5: nautilus takes them for the
# exchange's own), so a client's id may not begin with one: -4015, a decision where Binance
# leaves it open (never more forgiving: a client's order is never read as the exchange's).
SYSTEM_CLIENT_IDS = ("autoclose-", "adl_autoclose", "settlement_autoclose-", "delivery_autoclose-")
BASE_FINE = 10**24  # the units of a coin in ``Order.cum_base_fine``
_ALNUM = string.ascii_letters + string.digits


def seeded_client_ids(seed: object) -> Callable[[], str]:
    """Client order ids from a generator seeded with ``seed`` (the server's ``--seed``): the
    same session replays with the same ids. They are names, not credentials (a listen key
    or an API key never comes from here)."""
    rng = random.Random(f"{seed}/client-order-ids")
    return lambda: "".join(rng.choice(_ALNUM) for _ in range(22))


_AS_ALNUM = bytes.maketrans(bytes(range(256)), bytes(ord(_ALNUM[b % 62]) for b in range(256)))
_random_bytes = bytearray()  # the OS's randomness, read 11 KB at a time


def client_id_allowed(client_id: str) -> bool:
    """Whether a client may send ``client_id`` as its order's (``newClientOrderId``,
    ``clientAlgoId``): part 2 §3.3's pattern, and none of ``SYSTEM_CLIENT_IDS``' prefixes."""
    return CLIENT_ORDER_ID.fullmatch(client_id) is not None and not client_id.startswith(SYSTEM_CLIENT_IDS)


def new_client_order_id() -> str:
    """An id as Binance makes one when the caller sends none: 22 letters and digits
    (captures ``akNDVlw7kI2x28U5fnJ2yk``, part 2 §3.3). One read of the OS's randomness
    serves 512 ids (a read per id was a twentieth of a placement's time)."""
    if len(_random_bytes) < 22:
        _random_bytes[:] = secrets.token_bytes(22 * 512)
    drawn = bytes(_random_bytes[-22:])
    del _random_bytes[-22:]
    return drawn.translate(_AS_ALNUM).decode()


def forget_drawn_ids() -> None:
    """Drop what was read for ids to come: a forked child must draw its own, not its
    parent's next ids (``venue_engines`` registers this to run after a fork)."""
    _random_bytes.clear()


class Side(enum.Enum):
    BUY = "BUY"
    SELL = "SELL"

    # a member is only itself: hashed by identity, as Enum's hash of its name is a Python
    # call on every lookup of a key holding one (``Ledger.positions``: symbol and side)
    __hash__ = object.__hash__

    # plain attributes of each member, read by every command: ``side is Side.SELL`` reaches
    # the member through ``EnumType``'s ``__getattr__`` hook, a Python-level lookup
    sign: int  # 1 a buy, -1 a sell
    is_buy: bool
    is_sell: bool  # also the index of a side's figure in a (buys, sells) pair

    def __init__(self, value: object) -> None:  # as ``Side(text)`` is called: any value
        self.is_buy, self.is_sell = value == "BUY", value == "SELL"
        self.sign = 1 if self.is_buy else -1


class PositionSide(enum.Enum):
    """Which position an order trades (part 2 §3.3): ``BOTH`` in one-way mode, ``LONG`` or
    ``SHORT`` in hedge mode (``POST …/positionSide/dual``)."""

    BOTH = "BOTH"
    LONG = "LONG"
    SHORT = "SHORT"

    # a member is only itself: hashed by identity, as Enum's hash of its name is a Python
    # call on every lookup of a key holding one (``Ledger.positions``: symbol and side)
    __hash__ = object.__hash__


class OrderType(enum.Enum):
    """What ``/…/v1/order`` takes (part 2 §3.1: conditional types go to the Algo service)."""

    LIMIT = "LIMIT"
    MARKET = "MARKET"

    # plain attributes of each member, as ``Side``'s (read by every placement and move)
    is_limit: bool
    is_market: bool

    def __init__(self, value: object) -> None:  # as ``OrderType(text)`` is called: any value
        self.is_limit, self.is_market = value == "LIMIT", value == "MARKET"


class TimeInForce(enum.Enum):
    GTC = "GTC"  # rests until filled or cancelled (a year, decision 8)
    IOC = "IOC"  # takes what it can, the rest expires
    FOK = "FOK"  # all at once or refused (-5021, not recorded)
    GTX = "GTX"  # post-only: refused (-5022, not recorded) if it would take
    GTD = "GTD"  # as GTC until goodTillDate (USDⓈ-M only)


class OrderStatus(enum.Enum):
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    EXPIRED_IN_MATCH = "EXPIRED_IN_MATCH"

    __hash__ = object.__hash__  # by identity, as ``Side``'s: ``TRANSITIONS[status]`` at every move

    # NEW or PARTIALLY_FILLED: a plain attribute of each member, read by every command (a
    # property reaching ``OrderStatus.NEW`` went through ``EnumType``'s ``__getattr__`` hook)
    is_open: bool

    def __init__(self, value: object) -> None:  # as ``OrderStatus(text)`` is called: any value
        self.is_open = value in ("NEW", "PARTIALLY_FILLED")


_S = OrderStatus
# from -> the states it may move to; final states move nowhere
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    _S.NEW: frozenset({_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED, _S.EXPIRED, _S.EXPIRED_IN_MATCH}),
    _S.PARTIALLY_FILLED: frozenset(
        {_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED, _S.EXPIRED, _S.EXPIRED_IN_MATCH}
    ),
    _S.FILLED: frozenset(),
    _S.CANCELED: frozenset(),
    _S.EXPIRED: frozenset(),
    _S.EXPIRED_IN_MATCH: frozenset(),
}

# Read by every fill: an Enum member read from its class goes through CPython 3.11's
# ``EnumType.__getattr__`` hook (~80 ns), a module's name ~11 ns; so bound once here.
_FILLED, _PARTIALLY_FILLED = OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED


class IllegalTransition(RuntimeError):
    """An order asked to move where ``TRANSITIONS`` does not go: a bug, never a refusal."""


class Trigger(NamedTuple):
    """What a conditional order placed on ``…/v1/order`` was sent as, under decision 1's
    ``--legacy-conditional-orders`` (part 2 §3.1, the "Legacy / CM" column): the order keeps
    its ``orderId`` through its trigger, and its reads and events show these beside what it
    became (``origType``, ``stopPrice``, ``workingType``, …; the 2021 capture of a triggered
    COIN-M STOP_MARKET read back as ``type`` MARKET, ``origType`` STOP_MARKET, part 2 §3.4).
    The Algo Order service's book keeps its trigger (``algo/legacy.py``)."""

    type: str  # STOP, STOP_MARKET, TAKE_PROFIT, TAKE_PROFIT_MARKET or TRAILING_STOP_MARKET
    stop_price: int  # price units; 0 for a trailing stop
    working_type: str  # CONTRACT_PRICE or MARK_PRICE
    price_protect: bool
    close_position: bool
    activate_price: int  # trailing: price units (0: at the latest price)
    callback_rate: str  # trailing: as sent ("1.5"); "" otherwise
    placed_ms: int  # when it was placed: the triggered order's ``time`` (the capture's)
    # when it triggered: 0 for the order waiting for its price; else the order it became,
    # which came to rest then, behind the orders resting before (``sqlite_journal.load``)
    triggered: int


# An order's copy as it stands (the events' and the journal's snapshots, one an update): a
# Struct's copy in C, ~0.12 µs against ~0.56 for a slotted dataclass's 23-argument __init__.
_copied: Callable[[Order], Order] = getattr(msgspec.Struct, "__copy__")  # noqa: B009 (not in its stubs)


# A Struct, not a dataclass: made and copied in C (~5× as quick), and untracked by the
# collector (gc=False: its fields are numbers, text and enum members, which hold no cycle
# through it), which walked every retained order at each full collection. eq=False: one
# order is itself only, compared and hashed by identity.
class Order(msgspec.Struct, eq=False, gc=False):
    account_id: int
    symbol: str
    order_id: int
    client_order_id: str
    side: Side
    type: OrderType
    time_in_force: TimeInForce
    price: int  # price units; 0 for MARKET
    orig_qty: int  # quantity units
    reduce_only: bool
    good_till_ms: int  # GTD's goodTillDate; 0 otherwise
    time_ms: int  # created (reads' ``time``)
    update_ms: int  # the last change (``updateTime``)
    status: OrderStatus = OrderStatus.NEW
    executed_qty: int = 0
    cum_quote: int = 0  # Σ price × qty, units of 10^-(price decimals + quantity decimals)
    cum_base: int = 0  # COIN-M: Σ qty × contractSize / price, 1e-8 of the coin
    queue_ahead: int = 0  # the maker fill model's quantity ahead at its price (matching.py)
    price_match: str = "NONE"  # echoed (part 2 §3.3)
    stp_mode: str = "NONE"  # selfTradePreventionMode, echoed (decision 8)
    amendments: int = 0  # times modified (orderAmendment's ``count``)
    position_side: PositionSide = PositionSide.BOTH
    # the best bid plus the best ask when the order arrived: twice the mid, exact in price
    # units (a one-tick spread's mid is half a tick); 0 when a side was empty, for an order
    # the venue made (a liquidation's) and for one journaled before it was kept. What the
    # run's report measures slippage against (report/figures.py).
    arrival_mid_x2: int = 0
    # COIN-M: Σ qty × contractSize / price in 1e-24 of the coin (``BASE_FINE``), from which
    # avgPrice's harmonic mean is worked out: ``cum_base`` rounds each fill down at 1e-8, which
    # moved a one-fill order's average off its price (200 / 0.00209744 = 95354.33671 for a fill
    # at 95354.2); 0 for an order journaled before it was kept (the average from ``cum_base``)
    cum_base_fine: int = 0
    # a legacy conditional order's (``Trigger``); None for every other order
    trigger: Trigger | None = None
    # its place among the venue's orders at its price: the engine's count of orders come to
    # rest (``EngineState.hold``, ``requeue``) when it last joined its level's queue, placed
    # or modified (it loses its place, part 2 §5); 0 for one journaled before it was kept
    rested: int = 0

    @property
    def remaining(self) -> int:
        return self.orig_qty - self.executed_qty

    @property
    def shown_type(self) -> str:
        """``type`` as its reads and events give it: a legacy conditional order's as it was sent
        until its trigger (``Trigger``), what it became after."""
        trigger = self.trigger
        return self.type._value_ if trigger is None or trigger.triggered else trigger.type

    copy = _copied  # this order as it stands (the events' and the journal's copies)

    def move(self, status: OrderStatus, now_ms: int) -> None:
        if status not in TRANSITIONS[self.status]:
            raise IllegalTransition(
                f"order {self.symbol}#{self.order_id}: {self.status.value} -> {status.value}"
            )
        self.status = status
        self.update_ms = now_ms

    def fill(self, price: int, qty: int, base: int, now_ms: int, base_fine: int = 0) -> None:
        """Book a fill of ``qty`` at ``price`` (COIN-M: its ``base`` in 1e-8 and in 1e-24 of the
        coin) and move to PARTIALLY_FILLED or FILLED."""
        self.executed_qty += qty
        self.cum_quote += price * qty
        self.cum_base += base
        self.cum_base_fine += base_fine
        self.move(_FILLED if self.remaining == 0 else _PARTIALLY_FILLED, now_ms)


class Fill(NamedTuple):  # a tuple: made per command, ~8× as quick as a frozen dataclass
    """One trade of one order: what ``userTrades`` lists and what settled the account."""

    account_id: int
    symbol: str
    trade_id: int  # per symbol, increasing
    order_id: int
    side: Side
    price: int  # price units
    qty: int  # quantity units
    base: int  # COIN-M: qty × contractSize / price in 1e-8 of the coin (baseQty); 0 on USDⓈ-M
    realized_pnl: int  # 1e-8 of the margin asset
    commission: int  # 1e-8 of the margin asset
    commission_asset: str
    maker: bool
    time_ms: int
    position_side: PositionSide = PositionSide.BOTH


class Amendment(NamedTuple):  # a tuple: made per move, ~8× as quick as a frozen dataclass
    """One modification of an order (``GET …/orderAmendment``, part 2 §5)."""

    account_id: int
    symbol: str
    amendment_id: int  # per symbol, increasing
    order_id: int
    client_order_id: str
    time_ms: int
    price_before: int  # price units
    price_after: int
    qty_before: int  # quantity units
    qty_after: int
    nth: int  # the order's modifications so far, this one included (the row's ``count``)
    modify_id: int | None  # the caller's `modifyId`, echoed
