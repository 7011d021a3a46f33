"""Isolated margin moved by its owner (trading spec part 3 §4.8): ``POST …/positionMargin``
adds to or takes from an isolated position's wallet, ``GET …/positionMargin/history``
lists those moves. How fills, funding and liquidation move that wallet is ``contract.py``'s
``Contract.isolate``, ``funding.py`` and ``liquidation.py``'s.

Checks, in this order (part 3 §4.8's codes; their order is ours): the mandatory parameters
(-1102), ``type`` 1 or 2 (-1130), ``positionSide`` ``BOTH`` in one-way mode, ``LONG`` or
``SHORT`` in hedge mode (-4060), a positive amount with at most 8 decimals (-4055; more
decimals -1111), the symbol margined ``ISOLATED`` (-4049), a position to hold it (-4054);
adding more than the cross wallet holds free (``maxWithdrawAmount``: the cross positions'
unrealized profit is no money to move, -4050); taking more than the position can spare
(-4051): at most its wallet, and never so much that its isolated margin (wallet + uPnL)
falls below its initial margin at mark, so unrealized profit never leaves it.

A move is journaled (the position with its new wallet, and the move), then told to the user
data stream as ``ACCOUNT_UPDATE`` ``m=MARGIN_TRANSFER``: the wallet unchanged, ``cw`` the
cross wallet after, the position with its new ``iw`` (the reason is one of part 4 §3.4's;
no capture of this event exists, so its use here is an inference).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import msgspec

from tickerplant.market.instruments import Market
from tickerplant.market.units import fixed
from tickerplant.protocol.errors import RequestRefused, mandatory
from tickerplant.venue.auth.checks import Authorized, Security
from tickerplant.venue.domain.events import AccountUpdate, Batch, MarginMove
from tickerplant.venue.domain.money import AMOUNT_DECIMALS, AMOUNT_SCALE
from tickerplant.venue.domain.order_params import (
    decimal_units,
    parse_int,
    parse_symbol,
    parse_time_range,
    refused,
)
from tickerplant.venue.domain.orders import PositionSide
from tickerplant.venue.engine import history
from tickerplant.venue.engine.engine import Engine
from tickerplant.venue.engine.settings import Endpoint

__all__ = ["ROUTES", "margin_history", "move_margin"]

ADD, REDUCE = 1, 2
_HISTORY_LIMIT = 500  # rows without `limit` (part 3 §4.8)


def _amount(text: str) -> int:
    """``amount`` in 1e-8 (``AMOUNT_SCALE``), written as a decimal parameter is (-1100)."""
    units = decimal_units(text, "amount", AMOUNT_DECIMALS)
    if units <= 0:
        raise refused(-4055, "Amount must be positive.")
    return units


def move_margin(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    """``POST …/positionMargin`` (see the module docstring)."""
    params = authorized.params
    symbol, text = parse_symbol(params), params.get("amount")
    if not text:
        raise mandatory("amount")
    kind = parse_int(params, "type")
    if kind is None:
        raise mandatory("type")
    if kind not in (ADD, REDUCE):
        raise RequestRefused(-1130, "Data sent for parameter 'type' is not valid.")
    contract = engine.contracts[engine.symbol(symbol).symbol]
    account_id = authorized.account.account_id
    ledger = engine.ledger(account_id)
    side = params.get("positionside", "BOTH").upper()
    if side not in ("LONG", "SHORT") if ledger.hedge else side != "BOTH":  # part 3 §4.8
        raise refused(-4060, "Invalid position side.")
    held = PositionSide(side)
    amount = _amount(text)
    name, asset = contract.inst.symbol, contract.inst.margin_asset
    if name not in ledger.isolated:
        raise refused(-4049, "Add margin only support for isolated position.")
    position = ledger.positions.get((name, held))
    if position is None or not position.amt:
        raise refused(-4054, "Cannot add position margin: position is 0.")
    mark = engine.mark(name)
    if kind == ADD:
        # what the cross wallet holds, not its positions' unrealized profit (part 3 §7.8)
        if Fraction(amount, AMOUNT_SCALE) > engine.figures(account_id, asset).max_withdraw:
            raise refused(-4050, "Cross balance insufficient.")
        position.isolated_wallet += amount
    else:
        f = ledger.symbol_figures(contract, mark if mark is not None else position.entry, held)
        spare = min(Fraction(position.isolated_wallet, AMOUNT_SCALE), f.isolated_margin - f.position_im)
        if Fraction(amount, AMOUNT_SCALE) > spare:
            raise refused(-4051, "Isolated balance insufficient.")
        position.isolated_wallet -= amount
    move = MarginMove(account_id, name, kind, amount, asset, now_ms, position_side=held)
    ledger.margin_moves.append(move)
    engine.journal.commit(
        Batch(positions=[(account_id, name, position.copy())], margin_moves=[move])
    )
    wallet = engine.wallet(ledger, asset)
    engine.outbox.put(
        AccountUpdate(
            now_ms, account_id, "MARGIN_TRANSFER", asset, wallet, name, position.amt, position.entry,
            engine.cross_wallet(ledger, asset), position.isolated_wallet, held,
        )
    )  # fmt: skip
    # the doc's answer carries the amount as a JSON number (part 3 §4.8): written from the
    # units, exact, never through a float
    text = fixed(amount, 8).rstrip("0")
    number = msgspec.Raw((text + "0" if text.endswith(".") else text).encode())
    return {"amount": number, "code": 200, "msg": "Successfully modify position margin.", "type": kind}


def margin_history(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    """``GET …/positionMargin/history``: the account's moves on ``symbol``, oldest first,
    at most ``limit`` (500); ``type`` and ``startTime``/``endTime`` narrow them; the past 30
    days, from the journal (``history.py``)."""
    params = authorized.params
    name = engine.symbol(parse_symbol(params)).symbol
    kind = parse_int(params, "type")
    start, end = parse_time_range(params)
    limit = parse_int(params, "limit") or _HISTORY_LIMIT
    rows = []
    account_id = authorized.account.account_id
    for move in history.margin_moves(engine, account_id, name, kind, start, end, limit, now_ms):
        row: dict[str, Any] = {"symbol": name, "type": move.kind, "deltaType": move.delta_type,
                               "amount": fixed(move.amount, 8), "asset": move.asset, "time": move.time_ms,
                               "positionSide": move.position_side.value}  # fmt: skip
        rows.append(row)
    return rows


_MOVES: dict[tuple[str, str], tuple[Security, int, Endpoint]] = {
    ("POST", "/v1/positionMargin"): (Security.TRADE, 1, move_margin),
    ("GET", "/v1/positionMargin/history"): (Security.TRADE, 1, margin_history),  # part 1 §7: TRADE (sic)
}
ROUTES = {Market.UM: _MOVES, Market.CM: _MOVES}  # (method, path after /fapi or /dapi), as settings'
