"""An account's per-symbol and account-wide settings: leverage (part 3 §4.4, §6.3), margin
type (§4.5) and position mode (§4.6), each journaled before its answer.

The position mode (``POST …/positionSide/dual``, ``position_modes.py``) is one per account
for both markets, as since Binance's "CM migration": a change through either market
changes both, refused with open orders (-4067, open algo orders included) or positions
(-4068) in either, and -4059 for the mode already set. No event tells it (part 4 §3.5:
none is documented).

Multi-Assets mode (§4.7, USDⓈ-M only; its margin is ``collateral.py``'s): ``POST
/fapi/v1/multiAssetsMargin`` is -4171 for the mode already set, -4167 (to turn it on) while
a symbol is margined ISOLATED, -4170 with open orders, -4172 (on) with a margin asset's
wallet below zero, -4169 (off) when a margin asset's own margin balance would not hold its
positions' initial margin; in the mode, ``POST …/marginType`` ISOLATED is -4168. A change
is ``ACCOUNT_CONFIG_UPDATE`` ``{"ai":{"j":…}}`` (part 4 §3.5).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

from tickerplant.market.instruments import Market
from tickerplant.protocol.errors import RequestRefused, mandatory
from tickerplant.venue.auth.accounts import UM_MARGIN_ASSETS
from tickerplant.venue.auth.checks import Authorized, Security
from tickerplant.venue.domain.contract import Contract
from tickerplant.venue.domain.events import AccountUpdate, Batch, ConfigUpdate, ModeChange, Setting
from tickerplant.venue.domain.order_params import parse_bool, parse_int, parse_symbol, refused
from tickerplant.venue.engine.engine import Engine

__all__ = ["set_dual_side", "set_leverage", "set_margin_type", "set_multi_assets"]


def set_leverage(engine: Engine, account_id: int, symbol: str, leverage: int, now_ms: int = 0) -> Contract:
    """``POST …/leverage`` (part 3 §4.4, §6.3): -4028 outside 1 … the symbol's maximum;
    lower with an isolated position open: -4161 (COIN-M -4150, part 2 §12); -2027 when the
    position is above the new leverage's maximum notional; -2028 when the cross margin would
    no longer hold the initial margin the lower leverage asks (its applicability to this
    endpoint is part 3 §4.4's inference). A change is
    ``ACCOUNT_CONFIG_UPDATE`` on the user data stream (part 4 §3.5, §4.3 item 6)."""
    contract = engine.contracts[engine.symbol(symbol).symbol]
    if not 1 <= leverage <= contract.max_leverage:
        raise refused(-4028, f"Leverage {leverage} is not valid")
    ledger = engine.ledger(account_id)
    held = ledger.held(contract.inst.symbol)  # hedge mode: both sides
    if held and contract.inst.symbol in ledger.isolated and leverage < ledger.leverage_of(contract):
        text = "Leverage reduction is not supported in Isolated Margin Mode with open positions"
        raise refused(-4161, text) if engine.market is Market.UM else refused(-4150, text + ".")
    mark = engine.mark(contract.inst.symbol)
    if held and mark is not None:
        size = max(abs(contract.notional(p.amt, mark)) for p in held)
        if size > contract.max_notional(leverage):
            raise refused(-2027, "Exceeded the maximum allowable position at current leverage.")
    before = ledger.leverage_of(contract)
    changed = before != leverage
    if leverage < before and (held or ledger.open_orders.get(contract.inst.symbol)):
        trial = ledger.with_leverage(contract.inst.symbol, leverage)  # checked before it is made
        f = engine.margin_figures(trial, contract.inst.margin_asset)
        if f.cross_margin_balance < f.cross_initial:
            raise refused(-2028, "Leverage is smaller than permitted: insufficient margin balance.")
    ledger.leverage[contract.inst.symbol] = leverage
    engine.journal.commit(Batch(settings=[Setting(account_id, contract.inst.symbol, leverage, None)]))
    if changed:
        engine.outbox.put(ConfigUpdate(now_ms, account_id, contract.inst.symbol, leverage))
    return contract


def set_margin_type(engine: Engine, account_id: int, symbol: str, margin_type: str, now_ms: int = 0) -> None:
    """``POST …/marginType`` (part 3 §4.5, its Unresolved 1 for open orders)."""
    inst = engine.symbol(symbol)
    if margin_type not in ("ISOLATED", "CROSSED"):
        raise RequestRefused(-1130, "Data sent for parameter 'marginType' is not valid.")
    ledger = engine.ledger(account_id)
    isolated = margin_type == "ISOLATED"
    if isolated == (inst.symbol in ledger.isolated):
        raise refused(-4046, "No need to change margin type.")
    if isolated and ledger.multi_assets:
        raise refused(-4168, "Unable to adjust to isolated-margin mode under the Multi-Assets mode.")
    if ledger.open_orders.get(inst.symbol):
        raise refused(-4067, "Position side cannot be changed if there exists open orders.")
    if ledger.held(inst.symbol):
        raise refused(-4048, "Margin type cannot be changed if there exists position.")
    (ledger.isolated.add if isolated else ledger.isolated.discard)(inst.symbol)
    engine.journal.commit(Batch(settings=[Setting(account_id, inst.symbol, None, isolated)]))
    # part 4 §4.3 item 6: ACCOUNT_UPDATE m=MARGIN_TYPE_CHANGE with the symbol's (flat) positions
    asset = inst.margin_asset
    wallet = engine.wallet(ledger, asset)
    first, *others = ledger.sides()  # hedge mode: LONG, then SHORT
    engine.outbox.put(AccountUpdate(
        now_ms, account_id, "MARGIN_TYPE_CHANGE", asset, wallet, inst.symbol, 0, Fraction(0),
        engine.cross_wallet(ledger, asset), 0 if isolated else None, first, tuple(others),
    ))  # fmt: skip


def set_dual_side(engine: Engine, account_id: int, dual: bool) -> None:
    """``POST …/positionSide/dual`` (see the module's docstring), in every market."""
    engine.modes.change(account_id, dual)
    engine.journal.commit(Batch(modes=[ModeChange(account_id, hedge=dual)]))
    engine.modes.set(account_id, dual)


def set_multi_assets(engine: Engine, account_id: int, on: bool, now_ms: int = 0) -> None:
    """``POST /fapi/v1/multiAssetsMargin`` (see the module's docstring)."""
    ledger = engine.ledger(account_id)
    if on == ledger.multi_assets:
        text = "Adjusted asset mode is currently set and does not need to be adjusted repeatedly."
        raise refused(-4171, text)
    if on and ledger.isolated:
        text = "Unable to adjust to Multi-Assets mode with symbols of USDⓈ-M Futures under isolated-margin"
        raise refused(-4167, text + " mode.")
    if ledger.open_orders:
        raise refused(-4170, "Unable to adjust Multi-Assets Mode with open orders in USDⓈ-M Futures.")
    if on and any(engine.wallet(ledger, asset) < 0 for asset in UM_MARGIN_ASSETS):
        text = "Unable to adjust Multi-Assets Mode with a negative wallet balance of margin available asset"
        raise refused(-4172, text + " in USDⓈ-M Futures account.")
    alone = [engine.figures(account_id, asset) for asset in UM_MARGIN_ASSETS]
    if not on and any(f.position_im and f.cross_margin_balance < f.position_im for f in alone):
        text = "Unable to adjust Multi-Assets Mode with insufficient margin balance in USDⓈ-M Futures."
        raise refused(-4169, text)
    engine.journal.commit(Batch(modes=[ModeChange(account_id, multi_assets=on)]))
    ledger.multi_assets = on
    (engine.exposure.pooled.add if on else engine.exposure.pooled.discard)(account_id)
    # part 4 §3.5: ACCOUNT_CONFIG_UPDATE's Multi-Assets form, {"ai":{"j":…}}
    engine.outbox.put(ConfigUpdate(now_ms, account_id, "", 0, multi_assets=on))


# -- the endpoints: (engine, authorized, now_ms) -> the answer ------------------------------


def leverage_endpoint(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    leverage = parse_int(authorized.params, "leverage")
    if leverage is None:
        raise mandatory("leverage")
    symbol = parse_symbol(authorized.params)
    contract = set_leverage(engine, authorized.account.account_id, symbol, leverage, now_ms)
    cap = str(contract.max_notional(leverage))
    named = "maxNotionalValue" if engine.market is Market.UM else "maxQty"
    return {"leverage": leverage, named: cap, "symbol": contract.inst.symbol}


def margin_type_endpoint(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    margin_type = authorized.params.get("margintype", "")
    if not margin_type:
        raise mandatory("marginType")
    symbol = parse_symbol(authorized.params)
    set_margin_type(engine, authorized.account.account_id, symbol, margin_type.upper(), now_ms)
    return _OK


def dual_endpoint(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    return {"dualSidePosition": engine.modes.is_hedged(authorized.account.account_id)}


def set_dual_endpoint(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    if not authorized.params.get("dualsideposition"):
        raise mandatory("dualSidePosition")
    set_dual_side(engine, authorized.account.account_id, parse_bool(authorized.params, "dualSidePosition"))
    return _OK


def multi_assets_endpoint(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    return {"multiAssetsMargin": engine.ledger(authorized.account.account_id).multi_assets}


def set_multi_assets_endpoint(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    if not authorized.params.get("multiassetsmargin"):
        raise mandatory("multiAssetsMargin")
    on = parse_bool(authorized.params, "multiAssetsMargin")
    set_multi_assets(engine, authorized.account.account_id, on, now_ms)
    return _OK


_OK = {"code": 200, "msg": "success"}
_TRADE, _READ = Security.TRADE, Security.USER_DATA
Endpoint = Callable[[Engine, Authorized, int], Any]
_BOTH: dict[tuple[str, str], tuple[Security, int, Endpoint]] = {
    ("POST", "/v1/leverage"): (_TRADE, 1, leverage_endpoint),
    ("POST", "/v1/marginType"): (_TRADE, 1, margin_type_endpoint),
    ("GET", "/v1/positionSide/dual"): (_READ, 30, dual_endpoint),
    ("POST", "/v1/positionSide/dual"): (_TRADE, 1, set_dual_endpoint),
}
# (method, path after /fapi or /dapi) -> (security, weight, endpoint); part 3 §2's weights
ROUTES: dict[Market, dict[tuple[str, str], tuple[Security, int, Endpoint]]] = {
    Market.UM: _BOTH | {
        ("GET", "/v1/multiAssetsMargin"): (_READ, 30, multi_assets_endpoint),  # USDⓈ-M only (§4.7)
        ("POST", "/v1/multiAssetsMargin"): (_TRADE, 1, set_multi_assets_endpoint),
    },
    Market.CM: _BOTH,
}
