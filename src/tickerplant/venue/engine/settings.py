"""An account's per-symbol and account-wide settings: leverage (part 3 §4.4, §6.3), margin
type (§4.5) and position mode (§4.6), each journaled before its answer.

The position mode (``POST …/positionSide/dual``, ``position_modes.py``) is one per account
for both markets, as since Binance's "CM migration": a change through either market
changes both, refused with open orders (-4067, open algo orders included) or positions
(-4068) in either, and -4059 for the mode already set. No event tells it (part 4 §3.5:
none is documented).

Multi-Assets mode (§4.7, USDⓈ-M only; its margin is ``collateral.py``'s): ``POST
/fapi/v1/multiAssetsMargin`` is -4171 for the mode already set, -4167 (to turn it on) while
a symbol is margined ISOLATED, -4170 with open orders (algo orders included, as -4067 counts
them), -4172 with a margin asset's wallet below zero (either way: turned off, the debt would
stay with no collateral behind it and nothing exchanging it), -4169 (off) when a margin
asset's own margin balance would not hold its positions' initial margin; in the mode,
``POST …/marginType`` ISOLATED is -4168. A change is ``ACCOUNT_CONFIG_UPDATE``
``{"ai":{"j":…}}`` (part 4 §3.5).

The BNB fee discount (``POST /fapi/v1/feeBurn``, part 3 §2.1, USDⓈ-M only) is kept, journaled
and shown (``GET /fapi/v1/feeBurn``, the v2 account's ``feeBurn``); commission is charged in
the margin asset all the same, as part 3 §10 allows ("Simulator may ignore BNB"). No event
tells it.
"""

from __future__ import annotations

from tickerplant.market.instruments import Market
from tickerplant.venue.auth.accounts import UM_MARGIN_ASSETS
from tickerplant.venue.domain.commands import (
    SetFeeBurn,
    SetLeverage,
    SetMarginType,
    SetMultiAssets,
    SetPositionMode,
)
from tickerplant.venue.domain.events import AccountUpdate, ConfigUpdate, Made, ModeChange, Setting
from tickerplant.venue.domain.order_params import refused
from tickerplant.venue.engine.state import EngineState
from tickerplant.venue.risk.position_cap import CAP_TEXT

__all__ = [
    "change_fee_burn", "change_leverage", "change_margin_type", "change_multi_assets", "change_position_mode",
]  # fmt: skip


def change_leverage(engine: EngineState, command: SetLeverage, now_ms: int, out: Made) -> None:
    """``POST …/leverage`` (part 3 §4.4, §6.3): -4028 outside 1 … the symbol's maximum;
    lower with an isolated position open: -4161 (COIN-M -4150, part 2 §12); -2027 when the
    position is above the new leverage's maximum notional; -2028 when the cross margin would
    no longer hold the initial margin the lower leverage asks (its applicability to this
    endpoint is part 3 §4.4's inference). A change is
    ``ACCOUNT_CONFIG_UPDATE`` on the user data stream (part 4 §3.5, §4.3 item 6)."""
    account_id, leverage = command.account_id, command.leverage
    contract = engine.contracts[command.symbol]
    if not 1 <= leverage <= contract.max_leverage:
        raise refused(-4028, f"Leverage {leverage} is not valid")
    ledger = engine.ledger(account_id)
    held = ledger.held(contract.inst.symbol)  # hedge mode: both sides
    if held and contract.inst.symbol in ledger.isolated and leverage < ledger.leverage_of(contract):
        text = "Leverage reduction is not supported in Isolated Margin Mode with open positions"
        raise refused(-4161, text) if engine.market is Market.UM else refused(-4150, text + ".")
    mark = engine.mark(contract.inst.symbol)
    if mark is not None and any(contract.past_cap(p.amt, mark, leverage) for p in held):
        raise refused(-2027, CAP_TEXT)
    before = ledger.leverage_of(contract)
    changed = before != leverage
    if leverage < before and (held or ledger.open_orders.get(contract.inst.symbol)):
        trial = ledger.with_leverage(contract.inst.symbol, leverage)  # checked before it is made
        f = engine.margin_figures(trial, contract.inst.margin_asset)
        if f.cross_margin_balance_e8 < f.cross_initial_e8:
            raise refused(-2028, "Leverage is smaller than permitted: insufficient margin balance.")
    ledger.leverage[contract.inst.symbol] = leverage
    out.put(Setting(account_id, contract.inst.symbol, leverage, None))
    if changed:
        out.put(ConfigUpdate(now_ms, account_id, contract.inst.symbol, leverage))


def change_margin_type(engine: EngineState, command: SetMarginType, now_ms: int, out: Made) -> None:
    """``POST …/marginType`` (part 3 §4.5, its Unresolved 1 for open orders)."""
    account_id, isolated = command.account_id, command.isolated
    inst = engine.instruments[command.symbol]
    ledger = engine.ledger(account_id)
    if isolated == (inst.symbol in ledger.isolated):
        raise refused(-4046, "No need to change margin type.")
    if isolated and ledger.multi_assets:
        raise refused(-4168, "Unable to adjust to isolated-margin mode under the Multi-Assets mode.")
    if ledger.open_orders.get(inst.symbol) or engine.algos.legacy_on(account_id, inst.symbol):  # (its
        # legacy stops waiting too: open orders of the symbol, ``algo/legacy.py``)
        raise refused(-4067, "Position side cannot be changed if there exists open orders.")
    if ledger.held(inst.symbol):
        raise refused(-4048, "Margin type cannot be changed if there exists position.")
    (ledger.isolated.add if isolated else ledger.isolated.discard)(inst.symbol)
    out.put(Setting(account_id, inst.symbol, None, isolated))
    # part 4 §4.3 item 6: ACCOUNT_UPDATE m=MARGIN_TYPE_CHANGE with the symbol's (flat) positions,
    # every side's margin type changed (in hedge mode BOTH, LONG, SHORT: §3.4's push rules), and
    # no balance (it is refused while a position is open, -4048)
    shown = engine.shown(ledger, inst.symbol, *ledger.sides())
    out.put(AccountUpdate(
        now_ms, account_id, "MARGIN_TYPE_CHANGE", inst.margin_asset, None, inst.symbol, None,
        engine.mark(inst.symbol), shown,
    ))  # fmt: skip


def change_position_mode(engine: EngineState, command: SetPositionMode, now_ms: int, out: Made) -> None:
    """``POST …/positionSide/dual`` (see the module's docstring), in every market."""
    engine.modes.change(command.account_id, command.hedge)  # its checks, in both markets
    out.put(ModeChange(command.account_id, hedge=command.hedge))
    engine.modes.set(command.account_id, command.hedge)


def change_fee_burn(engine: EngineState, command: SetFeeBurn, now_ms: int, out: Made) -> None:
    """``POST /fapi/v1/feeBurn``: the discount's setting, journaled; no event tells it."""
    out.put(ModeChange(command.account_id, fee_burn=command.on))
    engine.ledger(command.account_id).fee_burn = command.on


def change_multi_assets(engine: EngineState, command: SetMultiAssets, now_ms: int, out: Made) -> None:
    """``POST /fapi/v1/multiAssetsMargin`` (see the module's docstring)."""
    account_id, on = command.account_id, command.on
    ledger = engine.ledger(account_id)
    if on == ledger.multi_assets:
        text = "Adjusted asset mode is currently set and does not need to be adjusted repeatedly."
        raise refused(-4171, text)
    if on and ledger.isolated:
        text = "Unable to adjust to Multi-Assets mode with symbols of USDⓈ-M Futures under isolated-margin"
        raise refused(-4167, text + " mode.")
    if ledger.open_orders or engine.algos.has_open(account_id):  # algo orders too, as -4067 counts them
        raise refused(-4170, "Unable to adjust Multi-Assets Mode with open orders in USDⓈ-M Futures.")
    alone = [engine.figures(account_id, asset) for asset in UM_MARGIN_ASSETS]
    if not on and any(f.position_im_e8 and f.cross_margin_balance_e8 < f.position_im_e8 for f in alone):
        text = "Unable to adjust Multi-Assets Mode with insufficient margin balance in USDⓈ-M Futures."
        raise refused(-4169, text)
    # either way: left below zero, a wallet's debt is no longer backed by the other assets
    if any(engine.wallet(ledger, asset) < 0 for asset in UM_MARGIN_ASSETS):
        text = "Unable to adjust Multi-Assets Mode with a negative wallet balance of margin available asset"
        raise refused(-4172, text + " in USDⓈ-M Futures account.")
    out.put(ModeChange(account_id, multi_assets=on))
    ledger.multi_assets = on
    (engine.exposure.pooled.add if on else engine.exposure.pooled.discard)(account_id)
    # part 4 §3.5: ACCOUNT_CONFIG_UPDATE's Multi-Assets form, {"ai":{"j":…}}
    out.put(ConfigUpdate(now_ms, account_id, "", 0, multi_assets=on))
