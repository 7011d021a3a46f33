"""Isolated margin's endpoints (part 3 §4.8): ``POST …/positionMargin`` parsed into a
``MoveMargin`` (applied by ``engine/isolated.py``) and ``GET …/positionMargin/history``."""

from __future__ import annotations

from typing import Any

import msgspec

from tickerplant.market.instruments import Market
from tickerplant.market.units import fixed
from tickerplant.protocol.errors import mandatory, not_valid
from tickerplant.venue.auth.checks import Authorized, Security
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import MoveMargin
from tickerplant.venue.domain.money import AMOUNT_DECIMALS
from tickerplant.venue.domain.order_params import (
    decimal_units,
    parse_int,
    parse_symbol,
    parse_time_range,
    refused,
)
from tickerplant.venue.domain.orders import PositionSide
from tickerplant.venue.engine import history
from tickerplant.venue.engine.isolated import ADD, REDUCE
from tickerplant.venue.wire.settings_routes import Endpoint

__all__ = ["ROUTES", "margin_history", "move_margin"]

_HISTORY_LIMIT = 500  # rows without `limit` (part 3 §4.8)


def _amount(text: str) -> int:
    """``amount`` in 1e-8 (``AMOUNT_SCALE``), written as a decimal parameter is (-1100)."""
    units = decimal_units(text, "amount", AMOUNT_DECIMALS)
    if units <= 0:
        raise refused(-4055, "Amount must be positive.")
    return units


def move_margin(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    """``POST …/positionMargin`` (part 3 §4.8; the checks' order: ``engine/isolated.py``)."""
    params = authorized.params
    symbol, text = parse_symbol(params), params.get("amount")
    if not text:
        raise mandatory("amount")
    kind = parse_int(params, "type")
    if kind is None:
        raise mandatory("type")
    if kind not in (ADD, REDUCE):
        raise not_valid("type")
    listed = engine.symbol(symbol).symbol
    account_id = authorized.account.account_id
    # as listed, not in any case, as an order's positionSide (part 2 §9; -4060 alike, part 3 §4.8)
    side = params.get("positionside", "BOTH")
    if side not in ("LONG", "SHORT") if engine.ledger(account_id).hedge else side != "BOTH":  # part 3 §4.8
        raise refused(-4060, "Invalid position side.")
    amount = _amount(text)
    engine.apply(MoveMargin(account_id, listed, PositionSide(side), kind == ADD, amount), now_ms)
    # the doc's answer carries the amount as a JSON number (part 3 §4.8): written from the
    # units, exact, never through a float
    text = fixed(amount, 8).rstrip("0")
    number = msgspec.Raw((text + "0" if text.endswith(".") else text).encode())
    return {"amount": number, "code": 200, "msg": "Successfully modify position margin.", "type": kind}


def margin_history(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    """``GET …/positionMargin/history``: the account's moves on ``symbol``, oldest first,
    at most ``limit`` (500); ``type`` and ``startTime``/``endTime`` narrow them; the past 30
    days, from the journal (``history.py``). A COIN-M row has no ``deltaType`` (part 3 §4.8:
    ``amount, asset, symbol, time, type, positionSide``, in that order)."""
    params = authorized.params
    name = engine.symbol(parse_symbol(params)).symbol
    kind = parse_int(params, "type")
    start, end = parse_time_range(params)
    limit = parse_int(params, "limit") or _HISTORY_LIMIT
    rows = []
    account_id = authorized.account.account_id
    um = engine.market is Market.UM
    for move in history.margin_moves(engine, account_id, name, kind, start, end, limit, now_ms):
        amount, side = fixed(move.amount, 8), move.position_side.value
        if um:
            rows.append({"symbol": name, "type": move.kind, "deltaType": move.delta_type, "amount": amount,
                         "asset": move.asset, "time": move.time_ms, "positionSide": side})  # fmt: skip
        else:
            rows.append({"amount": amount, "asset": move.asset, "symbol": name, "time": move.time_ms,
                         "type": move.kind, "positionSide": side})  # fmt: skip
    return rows


_MOVES: dict[tuple[str, str], tuple[Security, int, Endpoint]] = {
    ("POST", "/v1/positionMargin"): (Security.TRADE, 1, move_margin),
    ("GET", "/v1/positionMargin/history"): (Security.TRADE, 1, margin_history),  # part 1 §7: TRADE (sic)
}
ROUTES = {Market.UM: _MOVES, Market.CM: _MOVES}  # (method, path after /fapi or /dapi), as settings'
