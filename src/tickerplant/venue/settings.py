"""An account's per-symbol and account-wide settings: leverage (part 3 §4.4, §6.3), margin
type (§4.5) and position mode (§4.6), each journaled before its answer.

The venue keeps one-way mode only: ``POST …/positionSide/dual`` with ``true`` is refused
(after Binance's own checks for open orders and positions, -4067 and -4068) with -1130
naming the parameter; with ``false`` it is -4059, as Binance answers a mode already set.
"""

from __future__ import annotations

from tickerplant.market.instruments import Market
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.engine import Engine
from tickerplant.venue.events import Batch, ConfigUpdate, Setting
from tickerplant.venue.margin import Contract
from tickerplant.venue.order_params import refused

__all__ = ["set_dual_side", "set_leverage", "set_margin_type"]


def set_leverage(engine: Engine, account_id: int, symbol: str, leverage: int, now_ms: int = 0) -> Contract:
    """``POST …/leverage`` (part 3 §4.4, §6.3): -4028 outside 1 … the symbol's maximum;
    lower with an isolated position open: -4161 (COIN-M -4150, part 2 §12); -2027 when the
    position is above the new leverage's maximum notional. A change is
    ``ACCOUNT_CONFIG_UPDATE`` on the user data stream (part 4 §3.5, §4.3 item 6)."""
    contract = engine.contracts[engine.symbol(symbol).symbol]
    if not 1 <= leverage <= contract.max_leverage:
        raise refused(-4028, f"Leverage {leverage} is not valid")
    ledger = engine.ledger(account_id)
    position = ledger.position(contract.inst.symbol)
    if position.amt and contract.inst.symbol in ledger.isolated and leverage < ledger.leverage_of(contract):
        text = "Leverage reduction is not supported in Isolated Margin Mode with open positions"
        raise refused(-4161, text) if engine.market is Market.UM else refused(-4150, text + ".")
    mark = engine.mark(contract.inst.symbol)
    if position.amt and mark is not None:
        size = abs(contract.notional(position.amt, mark))
        if size > contract.max_notional(leverage):
            raise refused(-2027, "Exceeded the maximum allowable position at current leverage.")
    changed = ledger.leverage_of(contract) != leverage
    ledger.leverage[contract.inst.symbol] = leverage
    engine.journal.commit(Batch(settings=[Setting(account_id, contract.inst.symbol, leverage, None)]))
    if changed:
        engine.outbox.put(ConfigUpdate(now_ms, account_id, contract.inst.symbol, leverage))
    return contract


def set_margin_type(engine: Engine, account_id: int, symbol: str, margin_type: str) -> None:
    """``POST …/marginType`` (part 3 §4.5, its Unresolved 1 for open orders)."""
    inst = engine.symbol(symbol)
    if margin_type not in ("ISOLATED", "CROSSED"):
        raise RequestRefused(-1130, "Data sent for parameter 'marginType' is not valid.")
    ledger = engine.ledger(account_id)
    isolated = margin_type == "ISOLATED"
    if isolated == (inst.symbol in ledger.isolated):
        raise refused(-4046, "No need to change margin type.")
    if ledger.open_orders.get(inst.symbol):
        raise refused(-4067, "Position side cannot be changed if there exists open orders.")
    if ledger.position(inst.symbol).amt:
        raise refused(-4048, "Margin type cannot be changed if there exists position.")
    (ledger.isolated.add if isolated else ledger.isolated.discard)(inst.symbol)
    engine.journal.commit(Batch(settings=[Setting(account_id, inst.symbol, None, isolated)]))


def set_dual_side(engine: Engine, account_id: int, dual: bool) -> None:
    """``POST …/positionSide/dual`` (see the module's docstring)."""
    ledger = engine.ledger(account_id)
    if not dual:
        raise refused(-4059, "No need to change position side.")
    if ledger.open_orders:
        raise refused(-4067, "Position side cannot be changed if there exists open orders.")
    if any(p.amt for p in ledger.positions.values()):
        raise refused(-4068, "Position side cannot be changed if there exists position.")
    raise RequestRefused(-1130, "Data sent for parameter 'dualSidePosition' is not valid.")
