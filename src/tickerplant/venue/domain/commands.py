"""The venue's commands: every change asked of an engine, typed, with integer fields:
a client's, parsed and validated at the wire (``wire/order_entry.py``, ``wire/algo_rest.py``),
and the market's (its deliveries of trades, marks and fundings, the algo orders' triggers,
the operator's transfers), made by the
shell that feeds the engine (``venue_engines.py``); each applied by ``Engine.apply``
(docs/venue.md, "Commands in, events out").

A command names the account it acts for; prices and quantities are the symbol's units;
times are milliseconds of the market's clock. ``Outcome`` is what applying one gives back:
the order (or algo order) it made or changed, and the events it caused, in order (what the user data
stream says; the journal's batch for the same change was committed once, before the
outcome is returned).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from tickerplant.market.derivatives.mark_streams import FundingEvent
from tickerplant.market.instruments import Instrument
from tickerplant.market.messages import StreamMessage
from tickerplant.venue.domain.algo_order import AlgoOrder
from tickerplant.venue.domain.events import Event
from tickerplant.venue.domain.orders import Order, OrderType, PositionSide, Side, TimeInForce, Trigger

__all__ = [
    "AlgoTriggers", "Amend", "AutoExchange", "Cancel", "CancelAlgo", "CancelAll", "CancelAllAlgos", "Command",
    "ExpireGoodTill", "Marks", "MissedFundings", "MoveMargin", "NewAlgoOrder", "NewOrder", "Outcome", "Place",
    "PlaceAlgo", "SetFeeBurn", "SetLeverage", "SetMarginType", "SetMultiAssets", "SetPositionMode", "Trades",
    "Transfers",
]


class NewOrder(NamedTuple):  # a tuple: made per command, ~8× as quick as a frozen dataclass
    inst: Instrument
    side: Side
    type: OrderType
    time_in_force: TimeInForce  # GTC for MARKET, as Binance reports it (part 2 §3.4)
    price: int  # price units; 0 for MARKET and for a priceMatch order until priced
    qty: int  # quantity units
    reduce_only: bool
    client_order_id: str | None  # None: the venue makes one
    result: bool  # newOrderRespType=RESULT
    good_till_ms: int  # GTD, seconds precision; 0 otherwise
    price_match: str  # "NONE" or one of order_params.PRICE_MATCHES
    stp_mode: str  # applied where the venue's orders meet in the simulated book (self_trade.py)
    position_side: PositionSide = PositionSide.BOTH  # as sent; the account's mode is the engine's check
    # a triggered legacy conditional order's (``algo/legacy.py``): the id it keeps and what it
    # was placed as; 0 and None for every other order
    order_id: int = 0
    trigger: Trigger | None = None


class Place(NamedTuple):
    """A new order for ``account_id`` (the order-rate limits are the wire's to charge,
    before it parses: a refused order counts too). ``test``: validated only (``/order/test``)."""

    account_id: int
    order: NewOrder
    test: bool = False


class Cancel(NamedTuple):
    """Cancel one order, by ``order_id``, else by ``client_id`` (part 2 §6.1)."""

    account_id: int
    symbol: str  # as listed
    order_id: int | None
    client_id: str | None


class CancelAll(NamedTuple):
    """Cancel every open order of the account on ``symbol`` (``DELETE allOpenOrders``)."""

    account_id: int
    symbol: str  # as listed


class Amend(NamedTuple):
    """Modify an open LIMIT order in place (``PUT …/order``, part 2 §5): by ``order_id``,
    else ``client_id``; its new quantity and price, ``side`` as sent (it must be the
    order's); ``modify_id``: the caller's id of the change, echoed; ``reduce_only``: the
    USDⓈ-M ``reduceOnly`` sent, a check alone (since 2026-09-15, part 2 §1: the original
    must be reduce-only, -5047, and then MIN_NOTIONAL is not checked); ``price_match``: a
    USDⓈ-M mode that prices it from the book instead of ``price`` (0 then)."""

    account_id: int
    symbol: str  # as listed
    order_id: int | None
    client_id: str | None
    side: Side
    qty: int
    price: int
    modify_id: int | None = None
    reduce_only: bool = False
    price_match: str = "NONE"  # "NONE" or one of order_params.PRICE_MATCHES


class SetLeverage(NamedTuple):
    """``POST …/leverage`` (part 3 §4.4)."""

    account_id: int
    symbol: str  # as listed
    leverage: int


class SetMarginType(NamedTuple):
    """``POST …/marginType`` (part 3 §4.5): ISOLATED (``isolated``) or CROSSED."""

    account_id: int
    symbol: str  # as listed
    isolated: bool


class SetPositionMode(NamedTuple):
    """``POST …/positionSide/dual`` (part 3 §4.6): hedge mode or one-way, in every market."""

    account_id: int
    hedge: bool


class SetMultiAssets(NamedTuple):
    """``POST /fapi/v1/multiAssetsMargin`` (part 3 §4.7, USDⓈ-M only)."""

    account_id: int
    on: bool


class SetFeeBurn(NamedTuple):
    """``POST /fapi/v1/feeBurn`` (part 3 §2.1): the BNB fee discount on or off. Kept and shown
    (``GET /fapi/v1/feeBurn``, the v2 account's ``feeBurn``); commission stays in the margin
    asset, as part 3 §10 allows a simulator ("Simulator may ignore BNB")."""

    account_id: int
    on: bool


class MoveMargin(NamedTuple):
    """``POST …/positionMargin`` (part 3 §4.8): ``amount`` (1e-8) into (``add``) or out of
    an isolated position's wallet."""

    account_id: int
    symbol: str  # as listed
    position_side: PositionSide
    add: bool
    amount: int


class NewAlgoOrder(NamedTuple):
    """A conditional order as parsed at the wire (``algo_params.parse_new_algo``, part 2 §4.2):
    what the type does not use is zero or empty."""

    inst: Instrument
    side: Side
    type: str  # one of ``algo_order.TYPES``
    time_in_force: TimeInForce  # GTC but for STOP and TAKE_PROFIT (the child's, a LIMIT's)
    qty: int  # quantity units; 0 with close_position
    price: int  # STOP/TAKE_PROFIT's limit price, price units; 0 otherwise, and with price_match
    trigger_price: int  # price units; 0 for a trailing stop
    working_type: str  # CONTRACT_PRICE or MARK_PRICE
    close_position: bool
    reduce_only: bool
    price_protect: bool
    activate_price: int  # trailing: price units (0: activated at the latest price)
    callback_rate: str  # trailing: as sent ("1.5", checked 0.1–20); "" otherwise
    stp_mode: str
    price_match: str  # "NONE" or one of order_params.PRICE_MATCHES
    good_till_ms: int  # GTD, seconds precision; 0 otherwise
    position_side: PositionSide  # as sent; the account's mode is the engine's check
    client_algo_id: str | None  # None: the venue makes one


class PlaceAlgo(NamedTuple):
    """``POST …/algoOrder`` (part 2 §4.2) for ``account_id`` (the order-rate limits are the
    wire's to charge, before it parses)."""

    account_id: int
    order: NewAlgoOrder
    # placed on ``…/v1/order`` (decision 1's ``--legacy-conditional-orders``): an order's id
    # and events, not an algo order's (``algo/legacy.py``); ``test``: ``/order/test``'s,
    # validated only (part 2 §3.5: exactly as a new one)
    legacy: bool = False
    test: bool = False


class CancelAlgo(NamedTuple):
    """``DELETE …/algoOrder`` (part 2 §4.3): by ``algo_id``, else ``client_algo_id``."""

    account_id: int
    algo_id: int | None
    client_algo_id: str | None


class CancelAllAlgos(NamedTuple):
    """``DELETE …/algoOpenOrders``: the account's untriggered algo orders on ``symbol``."""

    account_id: int
    symbol: str  # as listed


class AlgoTriggers(NamedTuple):
    """A delivery of the market's messages to the algo orders (``algo/triggers.py``): its
    last trades, then the triggers the prices make, then the triggered orders whose child
    is done."""

    messages: Sequence[StreamMessage]  # as delivered: not copied


class Transfers(NamedTuple):
    """The operator's deposits and withdrawals the keyring saw: (account, asset, change in
    1e-8) of this market's wallet, each a ``TRANSFER`` and a ``BALANCE_UPDATE``."""

    moved: tuple[tuple[int, str, int], ...]


class Trades(NamedTuple):
    """A delivery of the market's messages, its trades filling resting orders (the one
    book's matches, or an observed market's trades and depth)."""

    messages: Sequence[StreamMessage]  # as delivered: not copied


class Marks(NamedTuple):
    """A delivery of the market's marks and fundings: funding fees, margin calls,
    liquidations (``clearing/watch.py``)."""

    messages: Sequence[StreamMessage]  # as delivered: not copied


class MissedFundings(NamedTuple):
    """The fundings that fell while the server was down, from the past's history
    (``clearing/funding_catch_up.py``)."""

    events: tuple[FundingEvent, ...]


class AutoExchange(NamedTuple):
    """Multi-Assets wallets below the threshold exchanged back (``clearing/auto_exchange.py``)."""


class ExpireGoodTill(NamedTuple):
    """The resting orders whose date has come, ended: a GTD order's ``goodTillDate``, a GTC
    order's year (``engine/good_till.py``)."""


Command = (
    Place | Cancel | CancelAll | Amend | SetLeverage | SetMarginType | SetPositionMode | SetMultiAssets
    | SetFeeBurn | MoveMargin | PlaceAlgo | CancelAlgo | CancelAllAlgos | Transfers | Trades | Marks
    | AlgoTriggers | MissedFundings | AutoExchange | ExpireGoodTill
)


class Outcome(NamedTuple):
    """What a command did: the order it made or changed (None: a test order, or a command
    on many orders), the order as first accepted (a placement's ACK), its events, and the
    algo order an algo command made or changed."""

    order: Order | None
    ack: Order | None
    events: tuple[Event, ...]
    algo: AlgoOrder | None = None
