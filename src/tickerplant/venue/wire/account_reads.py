"""The account's configuration and history reads every client makes at start-up (trading
spec part 3 §4.10–§4.14, overview "What to build first"): commission rate, account and
symbol configuration, the trading-status indicators, the order-rate limits and the income
history. Each is ``(engine, authorized, now_ms) -> a JSON value``; ``ROUTES`` lists them per
market with their security type and weight (part 3 §2).

``income`` lists ``REALIZED_PNL`` and ``COMMISSION`` rows of every fill, and the flows of
their own (``FUNDING_FEE``, ``INSURANCE_CLEAR``, ``TRANSFER``, ``AUTO_EXCHANGE``), from the
journal within Binance's windows (``history.py``). ``forceOrders`` (part 3 §4.16) lists the
account's liquidation orders from the journal too.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

from tickerplant.market.instruments import Market
from tickerplant.market.units import fixed
from tickerplant.protocol.errors import mandatory, not_valid
from tickerplant.venue.auth.checks import Authorized, Security
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.order_params import parse_int, parse_time_range
from tickerplant.venue.engine import history
from tickerplant.venue.payloads.order_payloads import avg_price
from tickerplant.venue.risk.order_counts import LIMITS

__all__ = ["ROUTES", "Read"]

Read = Callable[[Engine, Authorized, int], Any]
_WEEK_MS = 7 * 24 * 3600_000  # income without a window: the last 7 days (part 3 §4.11)
# income's incomeType (part 3 §4.11): USDⓈ-M's from its SDK's enum and the doc, with ccxt's
# SPECIAL_FUNDING_FEE; COIN-M's from its SDK's enum (all types when not sent)
_UM_INCOME_TYPES = frozenset({
    "TRANSFER", "WELCOME_BONUS", "REALIZED_PNL", "FUNDING_FEE", "COMMISSION", "INSURANCE_CLEAR",
    "REFERRAL_KICKBACK", "COMMISSION_REBATE", "API_REBATE", "CONTEST_REWARD", "CROSS_COLLATERAL_TRANSFER",
    "OPTIONS_PREMIUM_FEE", "OPTIONS_SETTLE_PROFIT", "INTERNAL_TRANSFER", "AUTO_EXCHANGE",
    "DELIVERED_SETTELMENT", "COIN_SWAP_DEPOSIT", "COIN_SWAP_WITHDRAW", "POSITION_LIMIT_INCREASE_FEE",
    "STRATEGY_UMFUTURES_TRANSFER", "FEE_RETURN", "BFUSD_REWARD", "SPECIAL_FUNDING_FEE",
})  # fmt: skip
_INCOME_TYPES = {
    Market.UM: _UM_INCOME_TYPES,
    Market.CM: frozenset({
        "TRANSFER", "WELCOME_BONUS", "FUNDING_FEE", "REALIZED_PNL", "COMMISSION", "INSURANCE_CLEAR",
        "DELIVERED_SETTELMENT",
    }),
}  # fmt: skip
# forceOrders' autoCloseType (part 2 §6.9, §9's "Force-order type"; both when not sent)
_AUTO_CLOSE_TYPES = frozenset({"LIQUIDATION", "ADL"})


def _rate(value: Fraction) -> str:
    """A rate with 6 decimals, zero as ``"0"`` (part 3 §4.10's live capture)."""
    if not value:
        return "0"
    return fixed(value.numerator * 10**6 // value.denominator, 6)


def commission_rate(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    symbol = authorized.params.get("symbol")
    if not symbol:
        raise mandatory("symbol")
    inst = engine.symbol(symbol)
    rates = {
        "symbol": inst.symbol, "makerCommissionRate": _rate(engine.fees.maker),
        "takerCommissionRate": _rate(engine.fees.taker),
    }  # fmt: skip
    if engine.market is Market.UM:
        rates["rpiCommissionRate"] = "0"
    return rates


def account_config(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    """Part 3 §4.13: a VIP0 account's, its position mode and Multi-Assets mode."""
    hedge = engine.modes.is_hedged(authorized.account.account_id)
    multi = engine.ledger(authorized.account.account_id).multi_assets
    return {
        "feeTier": 0, "canTrade": authorized.key.trading, "canDeposit": True, "canWithdraw": True,
        "dualSidePosition": hedge, "updateTime": authorized.account.created_ms, "multiAssetsMargin": multi,
        "tradeGroupId": -1,
    }  # fmt: skip


def symbol_config(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    """Part 3 §4.13: always an array; every symbol without ``symbol``."""
    ledger = engine.ledger(authorized.account.account_id)
    symbol = authorized.params.get("symbol")
    chosen = [engine.symbol(symbol).symbol] if symbol else list(engine.instruments)
    rows = []
    for name in chosen:
        contract = engine.contracts[name]
        leverage = ledger.leverage_of(contract)
        rows.append({
            "symbol": name, "marginType": "ISOLATED" if name in ledger.isolated else "CROSSED",
            "isAutoAddMargin": False, "leverage": leverage,
            "maxNotionalValue": str(contract.max_notional(leverage)),
        })  # fmt: skip
    return rows


def trading_status(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    """Part 3 §4.12: a clean account trips no quantitative rule."""
    return {"indicators": {}, "updateTime": now_ms}


def order_rate_limits(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    """Part 3 §4.14: the account's order limits, as ``order_counts`` enforces them."""
    rows = []
    for window_ms, limit, interval, _ in LIMITS[engine.market]:
        seconds = interval == "TEN_SECONDS"
        unit, number = ("SECOND", window_ms // 1000) if seconds else ("MINUTE", window_ms // 60_000)
        rows.append({"rateLimitType": "ORDERS", "interval": unit, "intervalNum": number, "limit": limit})
    return rows


def income(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    """Part 3 §4.11: the account's flows, oldest first, at most ``limit`` (100, ≤ 1000),
    within Binance's windows (``history.py``)."""
    params = authorized.params
    # as listed, not in any case, as every ENUM's value (an order's side, marginType); a type
    # not of the market's list is -1130, part 3 §12's code for a bad ENUM value
    kind = params.get("incometype", "")
    if kind and kind not in _INCOME_TYPES[engine.market]:
        raise not_valid("incomeType")
    start, end = parse_time_range(params)
    limit = parse_int(params, "limit")
    limit = 100 if limit is None or limit <= 0 else min(limit, 1000)
    account_id = authorized.account.account_id
    chosen = history.flows(engine, account_id, params.get("symbol"), kind, start, end, limit, now_ms)
    linear, index = engine.market is Market.UM, {s: i for i, s in enumerate(engine.instruments)}
    rows = []
    for flow in chosen:
        # a fill's rows: its trade's (``fill_tran_id``), unique per type and account with the
        # symbol's place (§4.11)
        tran_id = flow.tran_id if flow.trade_id is None else flow.tran_id * 1000 + index[flow.symbol]
        rows.append({
            "symbol": flow.symbol, "incomeType": flow.kind, "income": fixed(flow.amount, 8),
            "asset": flow.asset, "info": flow.kind, "time": flow.time_ms,
            "tranId": tran_id if linear else str(tran_id),
            "tradeId": "" if flow.trade_id is None else str(flow.trade_id),
        })  # fmt: skip
    return rows


def force_orders(engine: Engine, authorized: Authorized, now_ms: int) -> Any:
    """Part 3 §4.16: the account's liquidation orders (``autoclose-…``), newest first as
    Binance's ``allOrders``-like window, at most ``limit`` (50, ≤ 100); no ADL here."""
    params = authorized.params
    symbol = params.get("symbol")
    # an ENUM's value as listed, not in any case, as an order's side or type is; another is
    # -1130, part 3 §12's code for a bad ENUM value, as marginType's (part 3 §4.5)
    close_type = params.get("autoclosetype") or None
    if close_type is not None and close_type not in _AUTO_CLOSE_TYPES:
        raise not_valid("autoCloseType")
    if close_type == "ADL":
        return []
    start, end = parse_time_range(params)
    limit = min(parse_int(params, "limit") or 50, 100)
    account_id = authorized.account.account_id
    rows = []
    for order in history.liquidations(engine, account_id, symbol, start, end, limit, now_ms):
        inst = engine.instruments[order.symbol]
        qd, linear = inst.qty_decimals, inst.market is Market.UM
        row: dict[str, Any] = {
            "orderId": order.order_id, "symbol": order.symbol, "pair": inst.pair,
            "status": order.status.value,
            "clientOrderId": order.client_order_id, "price": fixed(order.price, inst.price_decimals),
            "avgPrice": avg_price(order, inst), "origQty": fixed(order.orig_qty, qd),
            "executedQty": fixed(order.executed_qty, qd),
            # COIN-M's "both cumBase (coin) and cumQuote (USD)" (part 3 §4.16): the contracts' value
            "cumQuote": fixed(order.cum_quote, inst.price_decimals + qd) if linear
            else str(order.executed_qty * inst.contract_size),
            "cumBase": fixed(order.executed_qty, qd) if linear else fixed(order.cum_base, 8),
            "timeInForce": "IOC", "type": "LIMIT", "reduceOnly": False, "closePosition": False,
            "side": order.side.value, "positionSide": order.position_side.value, "stopPrice": "0",
            "workingType": "CONTRACT_PRICE",
        }  # fmt: skip
        if not linear:
            row["priceProtect"] = False
        row["origType"] = "LIMIT"
        if not linear:
            row["goodTillDate"] = 0
        row["time"], row["updateTime"] = order.time_ms, order.update_ms
        rows.append(row)
    return rows


_READ = Security.USER_DATA
# (method, path after /fapi or /dapi) -> (security, weight, read); part 3 §2's weights
ROUTES: dict[Market, dict[tuple[str, str], tuple[Security, int, Read]]] = {
    Market.UM: {
        ("GET", "/v1/commissionRate"): (_READ, 20, commission_rate),
        ("GET", "/v1/accountConfig"): (_READ, 5, account_config),
        ("GET", "/v1/symbolConfig"): (_READ, 5, symbol_config),
        ("GET", "/v1/apiTradingStatus"): (_READ, 1, trading_status),
        ("GET", "/v1/rateLimit/order"): (_READ, 1, order_rate_limits),
        ("GET", "/v1/income"): (_READ, 30, income),
        ("GET", "/v1/forceOrders"): (_READ, 20, force_orders),
    },
    Market.CM: {
        ("GET", "/v1/commissionRate"): (_READ, 20, commission_rate),
        # not in COIN-M's documents or SDK, asked by nautilus_trader at connect: USDⓈ-M's shape
        # (part 5 §3 row 18 and Unresolved 4)
        ("GET", "/v1/symbolConfig"): (_READ, 5, symbol_config),
        ("GET", "/v1/income"): (_READ, 20, income),
        ("GET", "/v1/forceOrders"): (_READ, 20, force_orders),
    },
}
# the weights without ``symbol`` where they differ (part 1 §7.5; COIN-M's forceOrders since the
# migration)
UNSCOPED: dict[Market, dict[tuple[str, str], int]] = {
    Market.UM: {("GET", "/v1/apiTradingStatus"): 10, ("GET", "/v1/forceOrders"): 50},
    Market.CM: {("GET", "/v1/forceOrders"): 50},
}
