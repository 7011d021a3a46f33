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

from tickerplant.venue.domain.commands import MoveMargin
from tickerplant.venue.domain.events import AccountUpdate, Made, MarginMove, PositionRow
from tickerplant.venue.domain.order_params import refused
from tickerplant.venue.engine.state import EngineState

__all__ = ["ADD", "REDUCE", "move"]

ADD, REDUCE = 1, 2


def move(engine: EngineState, command: MoveMargin, now_ms: int, out: Made) -> None:
    """``POST …/positionMargin`` (see the module docstring; its parameters read at the wire,
    ``wire/margin_routes.py``)."""
    account_id, held, amount = command.account_id, command.position_side, command.amount
    contract = engine.contracts[command.symbol]
    ledger = engine.ledger(account_id)
    name, asset = contract.inst.symbol, contract.inst.margin_asset
    if name not in ledger.isolated:
        raise refused(-4049, "Add margin only support for isolated position.")
    position = ledger.positions.get((name, held))
    if position is None or not position.amt:
        raise refused(-4054, "Cannot add position margin: position is 0.")
    mark = engine.mark(name)
    if command.add:
        # what the cross wallet holds, not its positions' unrealized profit (part 3 §7.8)
        if amount > engine.figures(account_id, asset).max_withdraw_e8:
            raise refused(-4050, "Cross balance insufficient.")
        position.isolated_wallet += amount
    else:
        f = ledger.symbol_figures(contract, mark if mark is not None else position.entry, held)
        spare = min(position.isolated_wallet, f.isolated_margin_e8 - f.position_im_e8)  # 1e-8, as written
        if amount > spare:
            raise refused(-4051, "Isolated balance insufficient.")
        position.isolated_wallet -= amount
    kind = ADD if command.add else REDUCE
    move = MarginMove(account_id, name, kind, amount, asset, now_ms, position_side=held)
    ledger.margin_moves.append(move)
    out.put(PositionRow(account_id, name, position.copy()))
    out.put(move)
    wallet = engine.wallet(ledger, asset)
    out.put(AccountUpdate(
        now_ms, account_id, "MARGIN_TRANSFER", asset, wallet, name, engine.cross_wallet(ledger, asset),
        engine.mark(name), engine.shown(ledger, name, held),
    ))  # fmt: skip


