"""The account, position and balance answers (part 3 §4.1–§4.3), keys in the order the
captures show, built as ordered dicts, from the ledger's figures (``ledger.py``).

- ``GET /fapi/v3/account``: totals of USDT (single-asset mode), ``assets`` the USDⓈ-M
  margin assets, ``positions`` only the symbols with a position or open orders;
  ``/fapi/v2/account`` adds ``feeTier`` … ``tradeGroupId`` first, ``marginAvailable`` to each
  asset, and one row per symbol of the market;
- ``GET /fapi/v3/positionRisk``: active symbols only; ``/fapi/v2/positionRisk`` every symbol
  (part 3 Unresolved 5), in the 2026 capture's key order;
- COIN-M ``/dapi/v1/account`` and ``/dapi/v1/positionRisk`` with ``maxQty`` and the coin
  ``notionalValue``;
- the balance rows (``balances.py``' structs) with the margin figures.

Amounts are written with 8 decimals, as the figures hold them (``ledger/figures.py``: uPnL
and notional truncated toward zero, margins rounded down, per row; totals the rows' sums);
``liquidationPrice`` part 3 §7.10's, cross or isolated (``venue/clearing/liquidation.py``);
``isolatedMargin`` an isolated position's wallet plus its uPnL, ``isolatedWallet`` its
wallet, both ``"0"`` (v2 ``"0.00000000"``) for a cross one; ``totalMaintMargin`` the cross
positions' (part 3 §7.8); ``breakEvenPrice`` is the entry moved by the commission rate
paid on opening (part 3 §7.7, ``Contract.break_even``); a flat position's entry ``"0.0"``
(COIN-M ``"0.00000000"``, its break-even too). A position row's
margins and notionals are ``"0"`` when zero (``_row``), its uPnL and ``isolatedMargin``
``"0.00000000"``, as the captures write them; the asset rows and totals keep 8 decimals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction
from typing import Any

from tickerplant.market.instruments import Market
from tickerplant.market.units import fixed
from tickerplant.venue.auth.accounts import UM_MARGIN_ASSETS, Account, Balance
from tickerplant.venue.clearing.liquidation import liquidation_price
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.money import AMOUNT_SCALE, format_amount
from tickerplant.venue.domain.orders import PositionSide
from tickerplant.venue.ledger.collateral import asset_price
from tickerplant.venue.ledger.figures import Figures, SymbolFigures
from tickerplant.venue.ledger.ledger import Ledger
from tickerplant.venue.payloads.balances import CmBalance, UmBalance
from tickerplant.venue.payloads.order_payloads import decimal_text

__all__ = ["account", "balance", "position_risk"]

_CM_FLAT = "0.00000000"  # a flat COIN-M position's entry and break-even price (part 3 §4.3)


def _amount(value: int) -> str:
    """A figure (1e-8, rounded where it was worked out: ``ledger/figures.py``)."""
    return format_amount(value)


def _row(value: int) -> str:
    """A position row's margin or notional: ``"0"`` when zero, as Binance writes an untouched
    figure (part 3 §4.3: the 2026 capture's flat isolated row has ``"notional":"0"`` and
    ``"isolatedWallet":"0"``; the v3 and v2 examples ``"openOrderInitialMargin":"0"``,
    ``"bidNotional":"0"``, ``"initialMargin":"0"``); ``unRealizedProfit`` and
    ``isolatedMargin`` keep their 8 zeros (``"0.00000000"`` in the same capture), as the asset
    totals do."""
    return format_amount(value) if value else "0"


def _isolated_margin(sf: SymbolFigures) -> str:
    """``isolatedMargin``: the wallet plus ``unRealizedProfit`` as written (each at 8 decimals,
    uPnL toward zero), so that the row's three figures add up to the unit, as Binance's do
    (part 3 §4.3); 0 for a cross position."""
    return format_amount(sf.isolated_margin_e8)


def _entry(num: int, den: int, flat: str = "0.0") -> str:
    """A price of ``num / den`` (``den`` > 0) rounded down at 8 decimals, trimmed to one;
    ``flat`` for none: USDⓈ-M's ``"0.0"`` (the 2026 capture), COIN-M's ``"0.00000000"``
    (part 3 §4.3's COIN-M example, ``_CM_FLAT``)."""
    if not num:
        return flat
    text = fixed(num * AMOUNT_SCALE // den, 8).rstrip("0")
    return text + "0" if text.endswith(".") else text


def _assets(
    engine: Engine, ledger: Ledger, balances: Sequence[Balance], coins: Sequence[str]
) -> list[tuple[str, int]]:
    """(asset, updateTime) of the wallet's assets in the balance answer's order: when the
    asset's wallet last moved, by the operator's transfer or by trading, on the engine's clock
    (``wallet.py``); the balance row's time (the wall clock's, when the operator wrote it) only
    while the engine has told nothing of the asset (every start tells the balances)."""
    held = {b.asset: b.update_ms for b in balances if b.wallet is engine.market}
    listed = UM_MARGIN_ASSETS if engine.market is Market.UM else tuple(dict.fromkeys(coins))
    moved = ledger.changed_ms
    return [(a, moved.get(a) or held.get(a, 0)) for a in [*listed, *sorted(set(held) - set(listed))]]


def _pool_share(engine: Engine, pool: Figures | None, asset: str, f: Figures) -> Figures:
    """``asset``'s figures, in Multi-Assets mode (``pool``: ``Engine.margin_figures``, made
    once per answer) its available and withdrawable amounts the pool's in that asset
    (``collateral.py``): the pool over the asset's price, the most to withdraw never more
    than the asset's own wallet."""
    if pool is None:
        return f
    price = asset_price(asset, engine.mark)
    if not price:  # no price yet: nothing of the pool can be told in it
        return f._replace(shared_e8=(0, 0))
    available, withdraw = pool.available_e8 / price, pool.max_withdraw_e8 / price  # 1e-8 of the asset, down
    shared = available.numerator // available.denominator, withdraw.numerator // withdraw.denominator
    return f._replace(shared_e8=(shared[0], min(max(0, f.wallet), shared[1])))


def _pool(engine: Engine, ledger: Ledger) -> Figures | None:
    """The account's Multi-Assets pool (None in single-asset mode)."""
    return engine.margin_figures(ledger, "USDT") if ledger.multi_assets else None


def _asset_row(asset: str, f: Figures, updated: int, *, um: bool, v2: bool) -> dict[str, Any]:
    wallet = format_amount(f.wallet)
    im = f.position_im_e8 + f.open_order_im_e8
    row: dict[str, Any] = {
        "asset": asset, "walletBalance": wallet, "unrealizedProfit": _amount(f.unrealized_e8)
    }  # fmt: skip
    row |= {
        "marginBalance": _amount(f.margin_balance_e8),
        "maintMargin": _amount(f.maint_e8),
        "initialMargin": _amount(im),
    }
    row |= {
        "positionInitialMargin": _amount(f.position_im_e8),
        "openOrderInitialMargin": _amount(f.open_order_im_e8),
    }
    if not um:
        row["maxWithdrawAmount"] = _amount(f.max_withdraw_e8)
    row |= {
        "crossWalletBalance": format_amount(f.cross_wallet),
        "crossUnPnl": _amount(f.cross_unrealized_e8),
        "availableBalance": _amount(f.available_e8),
    }
    if um:
        row["maxWithdrawAmount"] = _amount(f.max_withdraw_e8)
    if v2:
        row["marginAvailable"] = True
    row["updateTime"] = updated
    return row


def _symbol_figures(
    engine: Engine, account_id: int, symbols: Sequence[str], *, every: bool
) -> list[SymbolFigures]:
    """A row per symbol and position side. One-way mode: ``BOTH``. Hedge mode: ``every``
    (the reads that list every symbol) ``BOTH``, ``LONG`` and ``SHORT``, as part 3 §4.2–§4.3
    say of them; else the sides holding a position or open orders. A hedge account's ``BOTH``
    row holds no order (each is ``LONG``'s or ``SHORT``'s): its open-order margin and notionals
    are 0, not the symbol's again (the rows summed would count each order twice)."""
    ledger = engine.ledger(account_id)
    found = []
    for symbol in symbols:
        mark = engine.mark(symbol)
        contract, at = engine.contracts[symbol], mark if mark is not None else Fraction(0)
        if not ledger.hedge:
            found.append(ledger.symbol_figures(contract, at))
            continue
        orders = ledger.open_orders.get(symbol, {}).values()
        for side in (PositionSide.BOTH, *ledger.sides()):
            held = ledger.positions.get((symbol, side))
            if every or (held is not None and held.amt) or any(o.position_side is side for o in orders):
                sf = ledger.symbol_figures(contract, at, side)
                if side is PositionSide.BOTH:
                    sf = replace(sf, open_order_im_e8=0, bid_notional_e8=0, ask_notional_e8=0)
                found.append(sf)
    return found


def account(
    engine: Engine, who: Account, balances: Sequence[Balance], coins: Sequence[str], *, v2: bool,
    ws: bool = False,
) -> Any:  # fmt: skip
    """The account read: USDⓈ-M's ``/fapi/v2/account`` (``v2``) or ``/v3``, COIN-M's; ``ws``: the
    WebSocket API's twin, whose shapes differ (part 3 §4.2, part 1 §8.7's examples):
    ``account.status`` (v2) ends each position with ``breakEvenPrice``, ``v2/account.status``
    (v3) gives each asset ``marginAvailable`` as REST's v2 does."""
    um = engine.market is Market.UM
    rows = []
    usdt: Figures | None = None
    ledger = engine.ledger(who.account_id)
    pool = _pool(engine, ledger)
    for asset, updated in _assets(engine, ledger, balances, coins):
        f = _pool_share(engine, pool, asset, engine.figures(who.account_id, asset))
        usdt = f if asset == "USDT" else usdt
        rows.append(_asset_row(asset, f, updated, um=um, v2=(v2 or ws) and um))  # COIN-M: no marginAvailable
    if pool is not None:  # the totals are the pool's, in USD (part 3 §4.2)
        usdt = pool
    every = v2 or not um
    symbols = list(engine.instruments) if every else ledger.active_symbols()
    figures = _symbol_figures(engine, who.account_id, symbols, every=every)
    positions = [_account_position(engine, sf, v2=every, ws=ws) for sf in figures]
    if not um:
        return {"feeTier": 0, "canTrade": True, "canDeposit": True, "canWithdraw": True, "updateTime": 0,
                "assets": rows, "positions": positions}  # fmt: skip
    f = usdt or Figures(0, 0, 0, 0, 0)
    wallet = format_amount(f.wallet)
    body: dict[str, Any] = {}
    if v2:
        body = {"feeTier": 0, "feeBurn": ledger.fee_burn, "canTrade": True, "canDeposit": True,
                "canWithdraw": True, "updateTime": 0, "multiAssetsMargin": ledger.multi_assets,
                "tradeGroupId": -1}  # fmt: skip
    body |= {
        "totalInitialMargin": _amount(f.position_im_e8 + f.open_order_im_e8),
        "totalMaintMargin": _amount(f.cross_maint_e8),
        "totalWalletBalance": wallet, "totalUnrealizedProfit": _amount(f.unrealized_e8),
        "totalMarginBalance": _amount(f.margin_balance_e8),
        "totalPositionInitialMargin": _amount(f.position_im_e8),
        "totalOpenOrderInitialMargin": _amount(f.open_order_im_e8),
        "totalCrossWalletBalance": format_amount(f.cross_wallet),
        "totalCrossUnPnl": _amount(f.cross_unrealized_e8), "availableBalance": _amount(f.available_e8),
        "maxWithdrawAmount": _amount(f.max_withdraw_e8), "assets": rows, "positions": positions,
    }  # fmt: skip
    return body


def _account_position(engine: Engine, sf: SymbolFigures, *, v2: bool, ws: bool) -> dict[str, Any]:
    contract = engine.contracts[sf.symbol]
    qty = fixed(sf.position.amt, contract.inst.qty_decimals)
    if engine.market is Market.CM:
        return {
            "symbol": sf.symbol, "initialMargin": _row(sf.position_im_e8 + sf.open_order_im_e8),
            "maintMargin": _row(sf.maint_e8), "unrealizedProfit": _amount(sf.unrealized_e8),
            "positionInitialMargin": _row(sf.position_im_e8),
            "openOrderInitialMargin": _row(sf.open_order_im_e8), "leverage": str(sf.leverage),
            "isolated": sf.isolated, "positionSide": sf.side.value, "entryPrice": _entry_price(sf, _CM_FLAT),
            "maxQty": str(contract.max_notional(sf.leverage)), "notionalValue": _row(sf.notional_e8),
            "isolatedWallet": _wallet(sf), "updateTime": sf.position.update_ms, "positionAmt": qty,
            "breakEvenPrice": _entry(*_break_even(engine, sf), _CM_FLAT),
        }  # fmt: skip
    if not v2:
        return {
            "symbol": sf.symbol, "positionSide": sf.side.value, "positionAmt": qty,
            "unrealizedProfit": _amount(sf.unrealized_e8),
            "isolatedMargin": _isolated_margin(sf), "notional": _row(sf.notional_e8),
            "isolatedWallet": _wallet(sf),
            "initialMargin": _row(sf.position_im_e8 + sf.open_order_im_e8),
            "maintMargin": _row(sf.maint_e8), "updateTime": sf.position.update_ms,
        }  # fmt: skip
    return {
        "symbol": sf.symbol, "initialMargin": _row(sf.position_im_e8 + sf.open_order_im_e8),
        "maintMargin": _row(sf.maint_e8), "unrealizedProfit": _amount(sf.unrealized_e8),
        "positionInitialMargin": _row(sf.position_im_e8),
        "openOrderInitialMargin": _row(sf.open_order_im_e8),
        "leverage": str(sf.leverage), "isolated": sf.isolated, "entryPrice": _entry_price(sf),
        "maxNotional": str(contract.max_notional(sf.leverage)), "bidNotional": _row(sf.bid_notional_e8),
        "askNotional": _row(sf.ask_notional_e8), "positionSide": sf.side.value, "positionAmt": qty,
        "updateTime": sf.position.update_ms,
    } | ({"breakEvenPrice": _entry(*_break_even(engine, sf))} if ws else {})  # fmt: skip


def _wallet(sf: SymbolFigures) -> str:
    """``isolatedWallet``: ``"0"`` for a cross position, and for an isolated one with nothing in
    it, as the captures write it."""
    return _row(sf.position.isolated_wallet) if sf.isolated else "0"


def _entry_price(sf: SymbolFigures, flat: str = "0.0") -> str:
    return _entry(*sf.position.entry_ratio, flat)


def _break_even(engine: Engine, sf: SymbolFigures) -> tuple[int, int]:
    position = sf.position
    if not position.amt:
        return 0, 1
    fees, contract = engine.fees, engine.contracts[sf.symbol]
    return contract.break_even(position.amt, position.cost, position.maker_amt, fees.maker, fees.taker)


def position_risk(
    engine: Engine, account_id: int, symbol: str | None, *, v3: bool, pair: str = "", margin_asset: str = "",
    now_ms: int | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """``symbol`` (USDⓈ-M); COIN-M's ``pair`` and ``marginAsset`` narrow every symbol to
    those of the pair and of the coin (part 3 §2.2). ``adl``/``adlQuantile``: the ADL
    queue's quantile in the 30 s window of ``now_ms`` (``venue/risk/adl.py``; None: the last made)."""
    ledger = engine.ledger(account_id)
    if symbol:
        symbols = [engine.symbol(symbol).symbol]
    else:
        symbols = ledger.active_symbols() if v3 else list(engine.instruments)
    if pair or margin_asset:
        symbols = [
            s for s in symbols
            if (not pair or engine.instruments[s].pair == pair.upper())
            and (not margin_asset or engine.instruments[s].margin_asset == margin_asset.upper())
        ]  # fmt: skip
    if v3:
        symbols = [s for s in symbols if s in ledger.active_symbols()]
    rows = []
    for sf in _symbol_figures(engine, account_id, symbols, every=not v3):
        contract = engine.contracts[sf.symbol]
        inst = contract.inst
        qty = fixed(sf.position.amt, inst.qty_decimals)
        mark = decimal_text(sf.mark, 8)
        isolated = sf.isolated
        liq = _trim_zeros(decimal_text(liquidation_price(engine, ledger, sf.symbol, sf.side), 8))
        common: dict[str, Any] = {"symbol": sf.symbol}
        if v3:
            rows.append(common | {
                "positionSide": sf.side.value, "positionAmt": qty, "entryPrice": _entry_price(sf),
                "breakEvenPrice": _entry(*_break_even(engine, sf)), "markPrice": mark,
                "unRealizedProfit": _amount(sf.unrealized_e8), "liquidationPrice": liq,
                "isolatedMargin": _isolated_margin(sf) if isolated else "0",
                "notional": _row(sf.notional_e8), "marginAsset": inst.margin_asset,
                "isolatedWallet": _wallet(sf),
                "initialMargin": _row(sf.position_im_e8 + sf.open_order_im_e8),
                "maintMargin": _row(sf.maint_e8),
                "positionInitialMargin": _row(sf.position_im_e8),
                "openOrderInitialMargin": _row(sf.open_order_im_e8),
                "adl": engine.adl.of(engine, account_id, sf.symbol, sf.side, now_ms),
                "bidNotional": _row(sf.bid_notional_e8), "askNotional": _row(sf.ask_notional_e8),
                "updateTime": sf.position.update_ms,
            })  # fmt: skip
            continue
        flat = "0.0" if engine.market is Market.UM else _CM_FLAT
        row: dict[str, Any] = common | {"positionAmt": qty, "entryPrice": _entry_price(sf, flat)}
        if engine.market is Market.UM:
            row["breakEvenPrice"] = _entry(*_break_even(engine, sf))
        row |= {"markPrice": mark, "unRealizedProfit": _amount(sf.unrealized_e8), "liquidationPrice": liq,
                "leverage": str(sf.leverage)}  # fmt: skip
        cap = str(contract.max_notional(sf.leverage))
        row |= {"maxNotionalValue": cap} if engine.market is Market.UM else {"maxQty": cap}
        row |= {"marginType": "isolated" if isolated else "cross",
                "isolatedMargin": _isolated_margin(sf),
                "isAutoAddMargin": "false", "positionSide": sf.side.value}  # fmt: skip
        if engine.market is Market.UM:
            row |= {"notional": _row(sf.notional_e8), "isolatedWallet": _wallet(sf),
                    "updateTime": sf.position.update_ms,
                    "isolated": isolated,
                    "adlQuantile": engine.adl.of(engine, account_id, sf.symbol, sf.side, now_ms)}  # fmt: skip
        else:
            row |= {"notionalValue": _row(sf.notional_e8), "isolatedWallet": _wallet(sf),
                    "updateTime": sf.position.update_ms,
                    "breakEvenPrice": _entry(*_break_even(engine, sf), _CM_FLAT)}  # fmt: skip
        rows.append(row)
    return rows


def balance(engine: Engine, who: Account, balances: Sequence[Balance], coins: Sequence[str]) -> list[Any]:
    """The balance answer's rows with the margin figures (part 3 §4.1)."""
    rows: list[Any] = []
    ledger = engine.ledger(who.account_id)
    pool = _pool(engine, ledger)
    for asset, updated in _assets(engine, ledger, balances, coins):
        f = _pool_share(engine, pool, asset, engine.figures(who.account_id, asset))
        wallet, cross = format_amount(f.wallet), format_amount(f.cross_wallet)
        unrealized = _amount(f.cross_unrealized_e8)  # crossUnPnl (part 3 §4.1)
        available, withdraw = _amount(f.available_e8), _amount(f.max_withdraw_e8)
        if engine.market is Market.UM:
            rows.append(
                UmBalance(who.alias, asset, wallet, cross, unrealized, available, withdraw, True, updated)
            )
        else:
            rows.append(CmBalance(who.alias, asset, wallet, withdraw, cross, unrealized, available, updated))
    return rows


def _trim_zeros(text: str) -> str:
    """``"0"`` for no price (part 3 §7.10: flat, or a position no price liquidates)."""
    return "0" if not text.strip("0.") else text
