"""The account settings' endpoints (part 3 §2's weights): leverage, margin type, position
mode, Multi-Assets mode; each parses into its command (``domain/commands.py``), which the
engine applies (``engine/settings.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tickerplant.market.instruments import Market
from tickerplant.protocol.errors import mandatory, not_valid
from tickerplant.venue.auth.checks import Authorized, Security
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.commands import (
    SetFeeBurn,
    SetLeverage,
    SetMarginType,
    SetMultiAssets,
    SetPositionMode,
)
from tickerplant.venue.domain.contract import Contract
from tickerplant.venue.domain.order_params import parse_bool, parse_int, parse_symbol

__all__ = ["ROUTES", "Endpoint", "set_dual_side", "set_leverage", "set_margin_type", "set_multi_assets"]


def set_leverage(engine: Engine, account_id: int, symbol: str, leverage: int, now_ms: int = 0) -> Contract:
    """``symbol``'s leverage for the account (``engine/settings.change_leverage``): its contract."""
    listed = engine.symbol(symbol).symbol
    engine.apply(SetLeverage(account_id, listed, leverage), now_ms)
    return engine.contracts[listed]


def set_margin_type(engine: Engine, account_id: int, symbol: str, margin_type: str, now_ms: int = 0) -> None:
    """``symbol``'s margin type for the account, ``ISOLATED`` or ``CROSSED`` (-1130)."""
    listed = engine.symbol(symbol).symbol
    if margin_type not in ("ISOLATED", "CROSSED"):
        raise not_valid("marginType")
    engine.apply(SetMarginType(account_id, listed, margin_type == "ISOLATED"), now_ms)


def set_dual_side(engine: Engine, account_id: int, dual: bool, now_ms: int = 0) -> None:
    engine.apply(SetPositionMode(account_id, dual), now_ms)


def set_multi_assets(engine: Engine, account_id: int, on: bool, now_ms: int = 0) -> None:
    engine.apply(SetMultiAssets(account_id, on), now_ms)


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
    # as listed, not in any case: every other ENUM value is (an order's side, type, timeInForce)
    set_margin_type(engine, authorized.account.account_id, symbol, margin_type, now_ms)
    return _OK


def dual_endpoint(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    return {"dualSidePosition": engine.modes.is_hedged(authorized.account.account_id)}


def _switch(authorized: Authorized, name: str) -> bool:
    """A setting's mandatory ``"true"``/``"false"`` (-1102 when not sent)."""
    if not authorized.params.get(name.lower()):
        raise mandatory(name)
    return parse_bool(authorized.params, name)


def set_dual_endpoint(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    set_dual_side(engine, authorized.account.account_id, _switch(authorized, "dualSidePosition"), now_ms)
    return _OK


def multi_assets_endpoint(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    return {"multiAssetsMargin": engine.ledger(authorized.account.account_id).multi_assets}


def set_multi_assets_endpoint(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    set_multi_assets(engine, authorized.account.account_id, _switch(authorized, "multiAssetsMargin"), now_ms)
    return _OK


def fee_burn_endpoint(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    return {"feeBurn": engine.ledger(authorized.account.account_id).fee_burn}


def set_fee_burn_endpoint(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    """``POST /fapi/v1/feeBurn`` (part 3 §2.1: ``feeBurn`` STRING, ``"true"``/``"false"``)."""
    engine.apply(SetFeeBurn(authorized.account.account_id, _switch(authorized, "feeBurn")), now_ms)
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
        ("GET", "/v1/feeBurn"): (_READ, 30, fee_burn_endpoint),  # USDⓈ-M only (§2.1)
        ("POST", "/v1/feeBurn"): (_TRADE, 1, set_fee_burn_endpoint),
    },
    Market.CM: _BOTH,
}
