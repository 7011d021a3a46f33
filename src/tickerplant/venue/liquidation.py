"""Margin calls and liquidations of the accounts' positions (trading spec part 3 §7.9–§8,
decision 12), sans-I/O, checked at every mark price the plant publishes
(`<symbol>@markState`) for the accounts holding a position on that symbol, and no other.

Per account and margin asset, the cross positions together: ``margin ratio = Σ their
maintenance margin / (cross wallet + Σ their uPnL at mark)``; each isolated position alone:
``its maintenance margin / (its isolated wallet + its uPnL)`` (§7.9).

- At 80 % or more, one ``MARGIN_CALL`` (part 4 §3.6: ``cw`` and each cross position of
  the asset; an isolated position's alone, ``mt`` ``ISOLATED`` with its ``iw`` and no
  ``cw``), once per crossing: not again until the ratio has gone back below 80 %.
- At 100 % or more (or a margin balance at or below zero), liquidation, in part 4 §4.3
  item 8's order: the margin call if it was not sent; the open orders ``EXPIRED`` with
  ``er`` ``"5"`` (cross: every one on the asset's symbols, as they all draw on the cross
  wallet; isolated: the symbol's); then each cross position of the asset, the trigger's
  first (isolated: the one position), closed in full by one ``LIMIT`` ``IOC`` reduce-only
  order, client order id ``autoclose-<time><seq>`` (``<seq>`` six digits), its price the
  bankruptcy price (§7.11: where the cross wallet plus the other cross positions' uPnL, or
  an isolated position's wallet alone, is exactly lost) rounded to the tick on the safe
  side (a sell up, a buy down). It takes the book at that price or better; what
  the book cannot take, the insurance fund takes at the order's price (§8 step 6), so the
  order is always ``FILLED``. Its events: ``NEW``, then per fill ``ACCOUNT_UPDATE``
  (``m=ORDER``) and ``ORDER_TRADE_UPDATE`` ``x=CALCULATED`` with type ``LIQUIDATION``,
  no ``TRADE_LITE``. Each fill pays the taker commission as any fill does.
- Then the clearance fee (§8 step 5): ``min(collateral left, liquidated notional ×
  liquidationFee)``, the rate exchangeInfo publishes (USDⓈ-M 0.0125, COIN-M 0.015),
  booked as ``INSURANCE_CLEAR`` income and an ``ACCOUNT_UPDATE`` ``m=INSURANCE_CLEAR``
  (``B`` only). Collateral the fills left below zero is brought back to zero by the same
  row, a credit (the insurance fund covers it, §8 step 6): the cross wallet for cross
  positions, the position's isolated wallet for an isolated one, so that an isolated
  position never costs more than its wallet.

One journal batch holds the whole liquidation. Not done: Binance's partial "smart"
liquidation (§8 step 3), ADL, and refusing new orders during the liquidation (-2023): the
liquidation completes within the one call, so there is no "during".
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from typing import TYPE_CHECKING

from tickerplant.market.instruments import Market
from tickerplant.market.updates import Liquidation
from tickerplant.venue.events import BalanceUpdate, Batch, Income, MarginCall, OrderUpdate
from tickerplant.venue.funding import tran_id
from tickerplant.venue.margin import Contract, down
from tickerplant.venue.orders import Order, OrderStatus, OrderType, Side, TimeInForce

if TYPE_CHECKING:
    from tickerplant.venue.engine import Engine
    from tickerplant.venue.ledger import Ledger

__all__ = [
    "LIQUIDATION_FEE",
    "MARGIN_CALL_RATIO",
    "bankruptcy_price",
    "check",
    "liquidate",
    "liquidation_price",
]

MARGIN_CALL_RATIO = Fraction(8, 10)  # decision 12
LIQUIDATION_FEE = {Market.UM: Fraction("0.0125"), Market.CM: Fraction("0.015")}  # exchangeInfo's


def check(engine: Engine, symbol: str, now_ms: int) -> None:
    """The margin of every account holding a position on ``symbol``, at the mark now."""
    holders = engine.exposure.holders.get(symbol)
    if not holders:
        return
    asset = engine.contracts[symbol].inst.margin_asset
    called = engine.exposure.margin_called
    for account_id in sorted(holders):
        ledger = engine.ledger(account_id)
        position = ledger.positions.get(symbol)
        if position is None or not position.amt:
            holders.discard(account_id)
            continue
        isolated = symbol in ledger.isolated
        key = (account_id, symbol if isolated else asset)
        if isolated:
            mark = engine.mark(symbol)
            if mark is None:
                continue
            f = ledger.symbol_figures(engine.contracts[symbol], mark)
            balance, maint = f.isolated_margin, f.maint
        else:
            figures = engine.figures(account_id, asset)
            balance, maint = figures.cross_margin_balance, figures.cross_maint
        if maint and (balance <= 0 or maint >= balance):
            liquidate(engine, ledger, symbol, now_ms)
        elif maint and maint >= MARGIN_CALL_RATIO * balance:
            if key not in called:
                called.add(key)
                engine.outbox.put(margin_call(engine, ledger, symbol, now_ms))
        else:
            called.discard(key)
    if not holders:
        del engine.exposure.holders[symbol]


def _cross_positions(engine: Engine, ledger: Ledger, asset: str) -> list[str]:
    """The symbols of ``asset`` where the account holds a cross position."""
    return [
        s for s, p in ledger.positions.items()
        if p.amt and s not in ledger.isolated and engine.contracts[s].inst.margin_asset == asset
    ]  # fmt: skip


def margin_call(engine: Engine, ledger: Ledger, trigger: str, now_ms: int) -> MarginCall:
    """``trigger``'s margin call: its asset's cross positions, or ``trigger`` alone if isolated."""
    asset = engine.contracts[trigger].inst.margin_asset
    isolated = trigger in ledger.isolated
    rows = []
    for symbol in [trigger] if isolated else _cross_positions(engine, ledger, asset):
        mark = engine.mark(symbol)
        if mark is None:
            continue
        f = ledger.symbol_figures(engine.contracts[symbol], mark)
        rows.append((symbol, f.position.amt, mark, f.unrealized, f.maint))
    if isolated:
        wallet = ledger.positions[trigger].isolated_wallet
        return MarginCall(now_ms, ledger.account_id, None, tuple(rows), wallet)
    return MarginCall(now_ms, ledger.account_id, engine.cross_wallet(ledger, asset), tuple(rows))


def _collateral(engine: Engine, ledger: Ledger, symbol: str) -> Fraction:
    """The wallet ``symbol``'s position draws on (§7.10–§7.11): an isolated position's own,
    a cross position's the cross wallet (its callers add the other cross positions)."""
    position = ledger.positions[symbol]
    if symbol in ledger.isolated:
        return Fraction(position.isolated_wallet, 10**8)
    asset = engine.contracts[symbol].inst.margin_asset
    return Fraction(engine.cross_wallet(ledger, asset), 10**8)


def bankruptcy_price(contract: Contract, amt: int, entry: Fraction, collateral: Fraction) -> Fraction | None:
    """§7.11: the price at which ``collateral`` (wallet + the other positions' uPnL) is lost
    by the position ``amt`` opened at ``entry``; None where no price loses it (an inverse
    short's collateral above its value)."""
    q = contract.qty(amt)
    if not contract.inverse:
        return entry - collateral / q
    inverse = 1 / entry + collateral / (q * contract.inst.contract_size)
    return 1 / inverse if inverse > 0 else None


def liquidation_price(engine: Engine, ledger: Ledger, symbol: str) -> Fraction:
    """§7.10, one-way: the mark at which the position on ``symbol`` meets its maintenance
    margin; cross: the other cross positions of its asset held at their marks (their MM
    ``TMM1``, their uPnL ``UPNL1``); isolated: its wallet alone. Recomputed with the bracket
    the notional at that price falls in; 0 when flat or when no positive price liquidates it."""
    contract = engine.contracts[symbol]
    position = ledger.positions.get(symbol)
    if position is None or not position.amt:
        return Fraction(0)
    wallet = _collateral(engine, ledger, symbol)
    if symbol not in ledger.isolated:
        for other in _cross_positions(engine, ledger, contract.inst.margin_asset):
            mark = engine.mark(other)
            if other != symbol and mark is not None:
                f = ledger.symbol_figures(engine.contracts[other], mark)
                wallet += f.unrealized - f.maint
    q = contract.qty(position.amt)
    size = contract.inst.contract_size
    bracket = contract.brackets[0]
    price = Fraction(0)
    for _ in contract.brackets:  # at most once per bracket, as §7.10 recomputes
        if contract.inverse:
            below = (wallet + bracket.cum) / size + q / position.entry
            price = (abs(q) * bracket.mmr + q) / below if below else Fraction(0)
        else:
            below = abs(q) * bracket.mmr - q
            price = (wallet + bracket.cum - q * position.entry) / below if below else Fraction(0)
        if price <= 0:
            return Fraction(0)
        notional = abs(contract.notional(position.amt, price))
        fits = next((b for b in contract.brackets if notional <= b.cap), contract.brackets[-1])
        if fits is bracket:
            break
        bracket = fits
    return price


def liquidate(engine: Engine, ledger: Ledger, trigger: str, now_ms: int) -> None:
    """Close the positions ``trigger``'s margin holds (see the module docstring)."""
    account_id = ledger.account_id
    asset = engine.contracts[trigger].inst.margin_asset
    isolated = trigger in ledger.isolated
    key = (account_id, trigger if isolated else asset)
    if key not in engine.exposure.margin_called:
        engine.outbox.put(margin_call(engine, ledger, trigger, now_ms))
    batch = Batch()
    for symbol, orders in list(ledger.open_orders.items()):
        if symbol == trigger or (not isolated and engine.contracts[symbol].inst.margin_asset == asset):
            for order in sorted(orders.values(), key=lambda o: o.order_id):
                engine.finish(ledger, order, OrderStatus.EXPIRED, now_ms, expiry="5")
                batch.orders.append(dataclasses.replace(order))
    symbols = [trigger] if isolated else _cross_positions(engine, ledger, asset)
    symbols.sort(key=lambda s: s != trigger)
    liquidated = Fraction(0)
    before = ledger.changes.get(asset, 0)
    left = ledger.positions[trigger].isolated_wallet  # an isolated position's collateral
    for symbol in symbols:
        liquidated += _close(engine, ledger, symbol, now_ms, batch)
    if isolated:  # its wallet, less what its fills booked, is what is left of it
        left += ledger.changes.get(asset, 0) - before
    else:
        left = engine.cross_wallet(ledger, asset)
    fee = min(left, down(liquidated * LIQUIDATION_FEE[engine.market]))
    if fee:
        ledger.changes[asset] = ledger.changes.get(asset, 0) - fee
        batch.changes.append((account_id, asset, -fee, now_ms))
        income = Income(
            account_id, trigger, "INSURANCE_CLEAR", asset, -fee, now_ms, tran_id(engine, trigger, now_ms)
        )
        ledger.income.append(income)
        batch.incomes.append(income)
        wallet = engine.wallet(ledger, asset)
        cross = engine.cross_wallet(ledger, asset)
        engine.outbox.put(
            BalanceUpdate(now_ms, account_id, "INSURANCE_CLEAR", asset, wallet, -fee, trigger, cross)
        )
    engine.exposure.margin_called.discard(key)
    engine.journal.commit(batch)


def _close(engine: Engine, ledger: Ledger, symbol: str, now_ms: int, batch: Batch) -> Fraction:
    """One position closed by its liquidation order; the notional it liquidated."""
    contract = engine.contracts[symbol]
    inst = contract.inst
    position = ledger.positions[symbol]
    amt = position.amt
    side = Side.SELL if amt > 0 else Side.BUY
    collateral = _collateral(engine, ledger, symbol)
    if symbol not in ledger.isolated:
        for other in _cross_positions(engine, ledger, inst.margin_asset):
            mark = engine.mark(other)
            if other != symbol and mark is not None:
                held = ledger.positions[other]
                collateral += engine.contracts[other].pnl(held.amt, held.entry, mark)
    price = bankruptcy_price(contract, amt, position.entry, collateral)
    if price is None:  # no price loses it: at the mark
        price = engine.mark(symbol) or position.entry
    ticks = price * contract.price_one / inst.tick
    whole = (
        -(-ticks.numerator // ticks.denominator)
        if side is Side.SELL
        else ticks.numerator // ticks.denominator
    )
    limit = max(1, whole) * inst.tick
    exposure = engine.exposure
    exposure.sequence += 1
    client_id = f"autoclose-{now_ms}{exposure.sequence % 10**6:06d}"
    order = Order(
        ledger.account_id, symbol, engine.next_order_id[symbol], client_id, side, OrderType.LIMIT,
        TimeInForce.IOC, limit, abs(amt), True, 0, now_ms, now_ms,
    )  # fmt: skip
    engine.next_order_id[symbol] += 1
    engine.kept(ledger.account_id, symbol).add(order)
    engine.outbox.put(
        OrderUpdate(now_ms, ledger.account_id, "NEW", order.status, dataclasses.replace(order), None)
    )
    fills = engine.take(symbol, side, abs(amt), limit, now_ms, batch)
    rest = abs(amt) - sum(qty for _, qty, _ in fills)
    if rest:  # the insurance fund takes what the book cannot, at the order's price
        book = engine.book  # in the one book, a public trade too
        public = book.print_trade(symbol, side is Side.BUY, rest, limit, now_ms) if book is not None else None
        fills.append((limit, rest, public))
    notional = Fraction(0)
    for fill_price, qty, trade_id in fills:
        engine.settle(ledger, order, fill_price, qty, False, now_ms, batch, "CALCULATED", trade_id)
        notional += abs(contract.notional(qty, contract.price(fill_price)))
    batch.orders.append(dataclasses.replace(order))
    average = order.cum_quote // order.executed_qty
    exposure.liquidations.append(
        Liquidation(symbol, now_ms, side is Side.BUY, order.orig_qty, limit, average, order.executed_qty)
    )
    return notional
