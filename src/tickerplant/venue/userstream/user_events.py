"""The account's events on the user data stream, written from what the engine reports
(``events.OrderUpdate``, ``events.AccountUpdate``), in Binance's captured key order and
number formats (trading spec part 4 §3) and in part 4 §4.3's order (decision 9).

Order, per account, of what one command (or one batch of the market's trades) did:

1. a ``TRADE_LITE`` per fill (USDⓈ-M only, §3.3), first: before the first order or account
   event, so after the ``ALGO_UPDATE`` ``TRIGGERING`` and ``TRIGGERED`` of a trigger whose
   child filled (§4.3 item 10: the child's events come after ``TRIGGERED``, which names it);
2. then the engine's events, each fill's ``ACCOUNT_UPDATE`` (``m=ORDER``) before its
   ``ORDER_TRADE_UPDATE`` (``x=TRADE``): a taker's ``NEW``, then per fill the account and the
   trade, then the remainder's ``EXPIRED``; a maker's account and trade.

Formats (§3.0): ``ORDER_TRADE_UPDATE`` and ``ACCOUNT_UPDATE`` put ``T`` before ``E`` and
trim trailing zeros (2026 captures); ``TRADE_LITE`` puts ``E`` first and pads to the
symbol's precision; balances ``wb``/``cw`` have 8 decimals, a commission 8 or ``"0"``. All
events of one change share ``T``, and ``E`` is ``T`` (captured ``E − T`` is 0–1 ms).
COIN-M adds the account alias ``i`` after ``E`` and writes ``o`` in its documented order
(§3.2: ``ma`` after ``L``, ``rp`` after ``t``, no ``si``/``ss``/``gtd``), ``b``/``a`` in the
base asset.

Every figure is the event's own, as the engine made it (``EngineState.order_update``,
``shown``): ``b``/``a`` the open orders as that change left them, ``cr`` (the
symbol's accumulated realized PnL: every fill's on the position side, summed as they settle
and again from the journal at start, ``kept.Kept.realized``) and ``up`` (at the mark then).
Only the instruments' fixed terms (``Contract``) are read here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import msgspec

from tickerplant.market.instruments import Market
from tickerplant.market.units import fixed
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.events import (
    AccountUpdate,
    AlgoUpdate,
    BalanceUpdate,
    ConfigUpdate,
    Event,
    MarginCall,
    OrderUpdate,
)
from tickerplant.venue.domain.money import AMOUNT_SCALE, Ratio
from tickerplant.venue.domain.orders import Order, OrderStatus, OrderType, PositionSide, TimeInForce
from tickerplant.venue.payloads.algo_payloads import algo_update, trigger_reject
from tickerplant.venue.payloads.order_payloads import avg_price, decimal_text

__all__ = ["UserEvent", "written"]

UserEvent = tuple[int, str, bytes]  # (account, its ``e``, the payload)
_encode = msgspec.json.encode
# why an order expired (§3.1's `er`): an IOC's remainder "2", a MARKET order's "9"
_EXPIRY_REASON = {OrderType.MARKET: "9"}


def written(
    engine: Engine,
    events: Sequence[Event],
    alias_of: Callable[[int], str],
    failed: list[Exception] | None = None,
) -> list[UserEvent]:
    """The payloads of ``events`` (one command's, or one delivery's, as the engine's outbox
    keeps them: ``Outbox.take_made``), each account's in §4.3's order. ``alias_of``: an
    account's alias (COIN-M's ``i``). ``failed``: where an account whose payloads cannot be
    written (a venue bug met by its state) puts its error, its events of these left out and
    the other accounts' written all the same; without it, the error is raised."""
    by_account: dict[int, list[Event]] = {}
    for event in events:
        by_account.setdefault(event.account_id, []).append(event)
    out: list[UserEvent] = []
    for account_id, own in by_account.items():
        try:  # one account's payload that cannot be written costs that account's events only
            out.extend(_account_events(engine, account_id, own, alias_of))
        except Exception as error:
            if failed is None:
                raise
            failed.append(error)
    return out


def _account_events(
    engine: Engine, account_id: int, own: list[Event], alias_of: Callable[[int], str]
) -> list[UserEvent]:
    """One account's events of a drain, in §4.3's order."""
    out: list[UserEvent] = []
    alias = alias_of(account_id) if engine.market is Market.CM else ""
    lites: list[UserEvent] = []  # written before the first order or account event
    if engine.market is Market.UM:
        for event in own:
            if isinstance(event, OrderUpdate) and event.fill is not None and event.execution == "TRADE":
                lites.append((account_id, "TRADE_LITE", _trade_lite(engine, event)))
    pending: OrderUpdate | None = None  # a trade waits for the account change it made
    for event in own:
        # (a legacy stop's expiry at its trigger, er 8, goes before: its order's fills follow it)
        triggered = isinstance(event, OrderUpdate) and event.expiry == "8"
        if lites and isinstance(event, (OrderUpdate, AccountUpdate)) and not triggered:
            out.extend(lites)
            lites = []
        if isinstance(event, ConfigUpdate):  # part 4 §3.5: `E` before `T`, as documented
            config = {"e": "ACCOUNT_CONFIG_UPDATE", "E": event.time_ms, "T": event.time_ms}
            if event.multi_assets is not None:  # the Multi-Assets mode's form (§3.5)
                written_config = _encode({**config, "ai": {"j": event.multi_assets}})
            else:
                written_config = _encode({**config, "ac": {"s": event.symbol, "l": event.leverage}})
            out.append((account_id, "ACCOUNT_CONFIG_UPDATE", written_config))
            continue
        if isinstance(event, AlgoUpdate):  # USDⓈ-M only: COIN-M has no ALGO_UPDATE (part 4 §3.7)
            if pending is not None:
                out.append((account_id, "ORDER_TRADE_UPDATE", _order_update(engine, pending, alias)))
                pending = None
            if engine.market is Market.UM and event.algo.legacy:  # refused at its trigger (algo_told.py)
                body = trigger_reject(event.algo, event.time_ms)
                out.append((account_id, "CONDITIONAL_ORDER_TRIGGER_REJECT", _encode(body)))
            elif engine.market is Market.UM:
                inst = engine.instruments[event.algo.symbol]
                avg, executed = event.child_avg_price, event.child_executed
                body = algo_update(event.algo, inst, avg, executed, event.time_ms)
                out.append((account_id, "ALGO_UPDATE", _encode(body)))
            continue
        if isinstance(event, AccountUpdate):
            out.append((account_id, "ACCOUNT_UPDATE", _account_update(engine, event, alias)))
            if pending is not None:
                out.append((account_id, "ORDER_TRADE_UPDATE", _order_update(engine, pending, alias)))
                pending = None
            continue
        if pending is not None:
            out.append((account_id, "ORDER_TRADE_UPDATE", _order_update(engine, pending, alias)))
            pending = None
        if isinstance(event, BalanceUpdate):
            out.append((account_id, "ACCOUNT_UPDATE", _balance_update(engine, event, alias)))
        elif isinstance(event, MarginCall):
            out.append((account_id, "MARGIN_CALL", _margin_call(engine, event, alias)))
        elif event.fill is not None:
            pending = event
        else:
            out.append((account_id, "ORDER_TRADE_UPDATE", _order_update(engine, event, alias)))
    if pending is not None:
        out.append((account_id, "ORDER_TRADE_UPDATE", _order_update(engine, pending, alias)))
    return out + lites  # (none left: a fill comes with its order's event)


def _trim(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def _eight(units: int) -> str:
    """Units of 1e-8 with 8 decimals, zero as ``"0"`` (a commission, a realized PnL)."""
    return fixed(units, 8) if units else "0"


def _order_update(engine: Engine, event: OrderUpdate, alias: str) -> bytes:
    order, fill = event.order, event.fill
    inst = engine.instruments[order.symbol]
    pd, qd = inst.price_decimals, inst.qty_decimals
    um = inst.market is Market.UM
    # b/a as the change left them (USDⓈ-M the quote's notional, COIN-M the base asset's
    # quantity, §3.2: both ``resting_notional``, linear and inverse)
    contract = engine.contracts[order.symbol]
    bids, asks = (contract.resting_notional(value) for value in event.open_values)
    liquidation = order.client_order_id.startswith("autoclose-")
    kind = "LIQUIDATION" if liquidation else order.shown_type  # part 4 §4.3 item 8
    trigger = order.trigger  # a legacy conditional order's (``algo/legacy.py``): ``ot`` as sent
    original = kind if trigger is None else trigger.type
    o: dict[str, Any] = {
        "s": order.symbol, "c": order.client_order_id, "S": order.side.value, "o": kind,
        "f": "GTC" if order.type is OrderType.MARKET else order.time_in_force.value,
        "q": _trim(fixed(order.orig_qty, qd)),
        "p": "0" if order.type is OrderType.MARKET else _trim(fixed(order.price, pd)),
        "ap": _trim(avg_price(order, inst)) if order.executed_qty else "0",
        "sp": _trim(fixed(trigger.stop_price, pd)) if trigger is not None else "0",
        "x": event.execution, "X": event.status.value, "i": order.order_id,
    }  # fmt: skip
    if event.modify_id is not None:  # an amend's modifyId, as text, after i (part 4 §3.1, Unresolved 10)
        o["M"] = str(event.modify_id)
    o |= {
        "l": _trim(fixed(fill.qty, qd)) if fill else "0", "z": _trim(fixed(order.executed_qty, qd)),
        "L": _trim(fixed(fill.price, pd)) if fill else "0",
    }  # fmt: skip
    commission = _eight(fill.commission) if fill else "0"
    if um:
        o |= {"n": commission, "N": inst.margin_asset}
    else:
        o |= {"ma": inst.margin_asset, "N": inst.margin_asset, "n": commission}
    o |= {"T": event.time_ms, "t": fill.trade_id if fill else 0}
    realized = _eight(fill.realized_pnl) if fill else "0"
    if not um:
        o["rp"] = realized
    o |= {
        "b": _trim(decimal_text(bids, 8)), "a": _trim(decimal_text(asks, 8)), "m": bool(fill and fill.maker),
        "R": order.reduce_only, "wt": trigger.working_type if trigger is not None else "CONTRACT_PRICE",
        "ot": original, "ps": order.position_side.value, "cp": trigger is not None and trigger.close_position,
    }  # fmt: skip
    if trigger is not None and trigger.type == "TRAILING_STOP_MARKET":  # the doc's example's places
        o |= {"AP": _trim(fixed(trigger.activate_price, pd)), "cr": trigger.callback_rate}
    protect = trigger is not None and trigger.price_protect
    if um:
        o |= {"rp": realized, "pP": protect, "si": 0, "ss": 0}
    else:
        o["pP"] = protect
    o |= {"V": order.stp_mode, "pm": order.price_match}
    if um:
        o["gtd"] = order.good_till_ms
    o["er"] = _expiry_reason(event, order)
    head: dict[str, Any] = {"e": "ORDER_TRADE_UPDATE", "T": event.time_ms, "E": event.time_ms}
    if not um:
        head["i"] = alias
    head["o"] = o
    return _encode(head)


def _expiry_reason(event: OrderUpdate, order: Order) -> str:
    """``er`` (part 4 §3.1): an expiry's reason, the step's (``expiry``: "5", a liquidation's)
    or its kind's: an IOC's or a MARKET's remainder ("2", "9"), and an order expired in match
    by self-trade prevention "1", an IOC's remainder so "3"; "0" for every other event."""
    if event.status is OrderStatus.EXPIRED:
        return event.expiry or _EXPIRY_REASON.get(order.type, "2")
    if event.status is OrderStatus.EXPIRED_IN_MATCH:
        return event.expiry or ("3" if order.time_in_force is TimeInForce.IOC else "1")
    return "0"


def _trade_lite(engine: Engine, event: OrderUpdate) -> bytes:
    order, fill = event.order, event.fill
    assert fill is not None
    inst = engine.instruments[order.symbol]
    pd, qd = inst.price_decimals, inst.qty_decimals
    price = 0 if order.type is OrderType.MARKET else order.price
    return _encode(
        {
            "e": "TRADE_LITE", "E": event.time_ms, "T": event.time_ms, "s": order.symbol,
            "q": fixed(order.orig_qty, qd), "p": fixed(price, pd),
            "m": fill.maker, "c": order.client_order_id, "S": order.side.value, "L": fixed(fill.price, pd),
            "l": fixed(fill.qty, qd), "t": fill.trade_id, "i": order.order_id,
        }
    )  # fmt: skip


def _position(
    engine: Engine, symbol: str, amt: int, cost: Ratio, isolated_wallet: int | None,
    side: PositionSide, mark: Fraction | None, realized: int, maker_amt: int,
) -> dict[str, Any]:  # fmt: skip
    """One ``P`` element (part 4 §3.4): ``mt`` lower case, ``iw`` an isolated position's wallet;
    ``up`` at ``mark`` and ``cr`` ``realized``, as they stood when the event was made. The
    entry price, ``up`` and the break-even price ``entry × (1 ± the rate paid on opening)``
    (``maker_amt``) are worked out from the position's sums in integers, written at 8
    decimals: the prices rounded down, ``up`` truncated toward zero (a loss's last digit as
    positionRisk and the account write it)."""
    inst = engine.instruments[symbol]
    ep = up = bep = "0"
    if amt:
        contract = engine.contracts[symbol]
        num, den = contract.entry_ratio(abs(amt), cost)
        ep = _floor_text(num, den)
        if mark is not None and (pnl := contract.unrealized_at(amt, cost, mark))[0]:
            up = _toward_zero_text(*pnl)  # as the REST reads write it (part 3 §4.3, §7.5)
        fees = engine.fees
        bep = _floor_text(*contract.break_even(amt, cost, maker_amt, fees.maker, fees.taker))
    return {
        "s": symbol, "pa": _trim(fixed(amt, inst.qty_decimals)), "ep": ep, "cr": _eight(realized), "up": up,
        "mt": "cross" if isolated_wallet is None else "isolated",
        "iw": "0" if isolated_wallet is None else fixed(isolated_wallet, 8),
        "ps": side.value, "ma": inst.margin_asset, "bep": bep,
    }  # fmt: skip


def _toward_zero_text(num: int, den: int) -> str:
    """``num / den`` (``den`` > 0) truncated toward zero at 8 decimals, trailing zeros trimmed."""
    units = abs(num) * AMOUNT_SCALE // den
    return _trim(fixed(units if num >= 0 else -units, 8))


def _floor_text(num: int, den: int) -> str:
    """``num / den`` (``den`` > 0) rounded down at 8 decimals, trailing zeros trimmed."""
    return _trim(fixed(num * AMOUNT_SCALE // den, 8))


def _account_update(engine: Engine, event: AccountUpdate, alias: str) -> bytes:
    head: dict[str, Any] = {"e": "ACCOUNT_UPDATE", "T": event.time_ms, "E": event.time_ms}
    if engine.market is Market.CM:
        head["i"] = alias
    rows = [
        _position(engine, event.symbol, amt, cost, wallet, side, event.mark, realized, made)
        for side, amt, cost, wallet, realized, made in event.positions
    ]
    balances = []  # only changed balances (part 4 §3.4): none for a margin type change
    if event.wallet is not None and event.cross_wallet is not None:
        wallet, cross = fixed(event.wallet, 8), fixed(event.cross_wallet, 8)
        balances.append({"a": event.asset, "wb": wallet, "cw": cross, "bc": "0"})
    head["a"] = {"B": balances, "P": rows, "m": event.reason}
    return _encode(head)


def _balance_update(engine: Engine, event: BalanceUpdate, alias: str) -> bytes:
    """A balance (part 4 §3.4): ``B``, ``P`` (``[]``, or the isolated position a funding fee
    was paid from), ``m`` (a funding fee, a clearance fee, a transfer), then ``S`` (funding
    only)."""
    wallet, cross = fixed(event.wallet, 8), fixed(event.cross_wallet, 8)
    # a transfer's E is T + 1, as captured (part 4 §5, "Transfer in/out")
    sent = event.time_ms + 1 if event.reason in ("DEPOSIT", "WITHDRAW") else event.time_ms
    head: dict[str, Any] = {"e": "ACCOUNT_UPDATE", "T": event.time_ms, "E": sent}
    if engine.market is Market.CM:
        head["i"] = alias
    change = _trim(fixed(event.change, 8))
    a: dict[str, Any] = {"B": [{"a": event.asset, "wb": wallet, "cw": cross, "bc": change}]}
    for asset, more_wallet, more_change, more_cross in event.more:  # an exchange's other asset
        a["B"].append({"a": asset, "wb": fixed(more_wallet, 8), "cw": fixed(more_cross, 8),
                       "bc": _trim(fixed(more_change, 8))})  # fmt: skip
    a["P"] = []
    if event.isolated is not None:
        amt, cost, isolated_wallet, made = event.isolated
        side, mark, realized = event.position_side, event.mark, event.realized
        shown = _position(engine, event.symbol, amt, cost, isolated_wallet, side, mark, realized, made)
        a["P"] = [shown]
    a["m"] = event.reason
    if event.reason == "FUNDING_FEE":  # last: part 4 Unresolved 10's ``B P m S``
        a["S"] = event.symbol
    head["a"] = a
    return _encode(head)


def _margin_call(engine: Engine, event: MarginCall, alias: str) -> bytes:
    """Part 4 §3.6: ``E`` first, no ``T``; COIN-M's ``i`` after ``E``."""
    head: dict[str, Any] = {"e": "MARGIN_CALL", "E": event.time_ms}
    if engine.market is Market.CM:
        head["i"] = alias
    if event.cross_wallet is not None:  # only for a crossed position's call (part 4 §3.6)
        head["cw"] = fixed(event.cross_wallet, 8)
    kind, iw = ("CROSSED", "0")
    if event.cross_wallet is None:
        kind, iw = "ISOLATED", fixed(event.isolated_wallet, 8)
    rows = []
    for symbol, side, amt, mark, unrealized, maint in event.positions:
        inst = engine.instruments[symbol]
        rows.append({
            "s": symbol, "ps": side.value, "pa": _trim(fixed(amt, inst.qty_decimals)), "mt": kind, "iw": iw,
            "mp": _trim(decimal_text(mark, 8)), "up": _signed(unrealized), "mm": _trim(fixed(maint, 8)),
        })  # fmt: skip
    head["p"] = rows
    return _encode(head)


def _signed(units: int) -> str:
    """1e-8 units, trailing zeros trimmed."""
    return _trim(fixed(units, 8))
