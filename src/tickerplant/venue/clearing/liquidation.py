"""Margin calls and liquidations of the accounts' positions (trading spec part 3 §7.9–§8,
decision 12), sans-I/O, checked at every mark price the plant publishes
(`<symbol>@markState`) for the accounts holding a position on that symbol, and no other.

Per account and margin asset (in Multi-Assets mode, the pool of every margin asset in USD,
``collateral.py``), the cross positions together: ``margin ratio = Σ their
maintenance margin / (cross wallet + Σ their uPnL at mark)``; each isolated position alone:
``its maintenance margin / (its isolated wallet + its uPnL)`` (§7.9).

- At 80 % or more, one ``MARGIN_CALL`` (part 4 §3.6: ``cw`` and each cross position of
  the asset; an isolated position's alone, ``mt`` ``ISOLATED`` with its ``iw`` and no
  ``cw``), once per crossing: not again until the ratio has gone back below 80 %.
- At 100 % or more (or a margin balance at or below zero), liquidation, in part 4 §4.3
  item 8's order: the margin call if it was not sent; the open orders ``EXPIRED`` with
  ``er`` ``"5"`` (cross: every one on the asset's symbols, as they all draw on the cross
  wallet; isolated: the symbol's); then each cross position of the asset, the most
  profitable at the mark first (isolated: the one position), closed in full by one
  ``LIMIT`` ``IOC`` reduce-only order, client order id ``autoclose-<time><seq>``
  (``<seq>`` six digits), its price the bankruptcy price (§7.11: where the cross wallet
  plus the uPnL of the cross positions still to close, or an isolated position's wallet
  alone, is exactly lost; of those positions only a loss counts, since their profit is
  realized after this one's) rounded to the tick on the safe side (a sell up, a buy down).
  It takes the book at that price or better; what the book cannot take, the insurance fund
  takes at the order's price (§8 step 6), so the order is always ``FILLED``. Its events:
  ``NEW``, then per fill ``ACCOUNT_UPDATE`` (``m=ORDER``) and ``ORDER_TRADE_UPDATE``
  ``x=CALCULATED`` with type ``LIQUIDATION``, no ``TRADE_LITE``. Each fill pays the taker
  commission as any fill does, but never more than the collateral keeps over the fills
  still to come (``payable``): a bankrupt account's last fills pay what is left, and the
  insurance fund pays no one's fee. So no fill loses more than the collateral, and no
  wallet the stream or REST shows (``wb``, ``cw``, an isolated ``iw``) passes below zero:
  each fill's figures are checked before anything is booked, and the profitable positions,
  whose gains the losing ones' bankruptcy prices count on, close first. An isolated
  position releases no margin to the cross wallet until its last fill closes it.
- Then the clearance fee (§8 step 5): ``min(collateral left, liquidated notional ×
  liquidationFee)``, the rate exchangeInfo publishes (USDⓈ-M 0.0125, COIN-M 0.015),
  booked as ``INSURANCE_CLEAR`` income and an ``ACCOUNT_UPDATE`` ``m=INSURANCE_CLEAR``
  (``B`` only); none when nothing is left. (Were the collateral left below zero, the same
  row would credit it back to zero, §8 step 6; the bounds above leave none so.)

The liquidation is in the journal batch of the delivery that made it (``Engine.apply``).
Not done: Binance's partial "smart" liquidation (§8 step 3), ADL, and refusing new orders
during the liquidation (-2023): the liquidation completes within the one call, so there is
no "during".
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from math import gcd
from typing import TYPE_CHECKING

from tickerplant.market.instruments import Market
from tickerplant.market.updates import Liquidation
from tickerplant.venue.clearing.funding import tran_id
from tickerplant.venue.domain.brackets import bracket_at
from tickerplant.venue.domain.contract import Bracket, Contract
from tickerplant.venue.domain.events import BalanceUpdate, Income, Made, MarginCall, OrderRow, WalletChange
from tickerplant.venue.domain.money import AMOUNT_SCALE
from tickerplant.venue.domain.orders import Order, OrderStatus, OrderType, PositionSide, Side, TimeInForce
from tickerplant.venue.engine.algo_told import LIQUIDATED, tell_algo
from tickerplant.venue.engine.placement import take
from tickerplant.venue.engine.settlement import settle
from tickerplant.venue.ledger.collateral import COLLATERAL_RATE, COLLATERAL_SYMBOLS
from tickerplant.venue.ledger.exposure import each_account
from tickerplant.venue.ledger.wallet import change_wallet

if TYPE_CHECKING:
    from tickerplant.venue.engine.state import EngineState
    from tickerplant.venue.ledger.ledger import Ledger, PositionKey

__all__ = [
    "LIQUIDATION_FEE",
    "MARGIN_CALL_RATIO",
    "bankruptcy_price",
    "check",
    "check_collateral",
    "liquidate",
    "liquidation_price",
    "payable",
]

# ratios as a numerator and a denominator: compared and applied to integers without a ``Fraction``
MARGIN_CALL_RATIO = (8, 10)  # decision 12
LIQUIDATION_FEE = {Market.UM: (125, 10_000), Market.CM: (15, 1_000)}  # exchangeInfo's 0.0125, 0.015


def check(engine: EngineState, symbol: str, now_ms: int, out: Made) -> None:
    """The margin of every account holding a position on ``symbol``, at the mark now; the
    liquidations it makes into ``out``."""
    holders = engine.exposure.holders.get(symbol)
    if not holders:
        return
    contract = engine.contracts[symbol]

    def judge(account_id: int) -> None:
        ledger = engine.ledger(account_id)
        held = ledger.held(symbol)
        if not held:
            holders.discard(account_id)
            return
        if symbol not in ledger.isolated:
            _judge_cross(engine, ledger, (symbol, held[0].side), now_ms, out)
            return
        mark = engine.mark(symbol)
        if mark is None:
            return
        for position in held:  # an isolated position alone, each side of a hedge account's
            if position.amt:
                f = ledger.symbol_figures(contract, mark, position.side)
                _judge(engine, ledger, (symbol, position.side), f.isolated_margin_e8, f.maint_e8, now_ms, out)

    try:
        each_account(sorted(holders), judge)  # one account's failure judges the others all the same
    finally:
        if not holders:
            del engine.exposure.holders[symbol]


def check_collateral(engine: EngineState, symbol: str, now_ms: int, out: Made) -> None:
    """A mark of ``<ASSET>USDT`` prices ``ASSET`` as collateral (``collateral.py``): the
    accounts in Multi-Assets mode that hold it are checked, whatever their positions."""
    asset = COLLATERAL_SYMBOLS.get(symbol)
    if asset is None:
        return
    judged = engine.exposure.holders.get(symbol, set())  # ``check`` judged those at this mark

    def judge(account_id: int) -> None:
        ledger = engine.ledger(account_id)
        if not engine.wallet(ledger, asset):
            return
        cross = [key for key, p in ledger.positions.items() if p.amt and key[0] not in ledger.isolated]
        if cross:
            _judge_cross(engine, ledger, cross[0], now_ms, out)

    each_account(sorted(engine.exposure.pooled - judged), judge)


def _judge_cross(engine: EngineState, ledger: Ledger, trigger: PositionKey, now_ms: int, out: Made) -> None:
    """The cross positions of ``trigger``'s asset (in Multi-Assets mode, the pool of every
    margin asset; not judged while a collateral held has no price)."""
    figures = engine.margin_figures(ledger, engine.contracts[trigger[0]].inst.margin_asset)
    if figures.priced:
        _judge(engine, ledger, trigger, figures.cross_margin_balance_e8, figures.cross_maint_e8, now_ms, out)


def _judge(
    engine: EngineState, ledger: Ledger, trigger: PositionKey, balance: int, maint: int, now_ms: int,
    out: Made,
) -> None:
    """Liquidate, call or clear ``trigger``'s margin (cross: its asset's), ``balance`` and
    ``maint`` in 1e-8 as the figures hold them (``ledger/figures.py``)."""
    key = _called_key(engine, ledger, trigger)
    called = engine.exposure.margin_called
    if maint and (balance <= 0 or maint >= balance):
        liquidate(engine, ledger, trigger, now_ms, out)
    elif maint and maint * MARGIN_CALL_RATIO[1] >= MARGIN_CALL_RATIO[0] * balance:
        if key not in called:
            called.add(key)
            out.put(margin_call(engine, ledger, trigger, now_ms))
    else:
        called.discard(key)


def _called_key(engine: EngineState, ledger: Ledger, trigger: PositionKey) -> tuple[int, str]:
    """What one margin call is about: an isolated position, or an asset's cross positions."""
    symbol, side = trigger
    if symbol in ledger.isolated:
        return ledger.account_id, f"{symbol} {side.value}"
    return ledger.account_id, engine.contracts[symbol].inst.margin_asset


def _cross_positions(engine: EngineState, ledger: Ledger, asset: str) -> list[PositionKey]:
    """The positions of ``asset`` the account holds in cross margin."""
    return [
        (s, side) for (s, side), p in ledger.positions.items()
        if p.amt and s not in ledger.isolated and engine.contracts[s].inst.margin_asset == asset
    ]  # fmt: skip


def margin_call(engine: EngineState, ledger: Ledger, trigger: PositionKey, now_ms: int) -> MarginCall:
    """``trigger``'s margin call: its asset's cross positions, or ``trigger`` alone if isolated."""
    asset = engine.contracts[trigger[0]].inst.margin_asset
    isolated = trigger[0] in ledger.isolated
    rows = []
    for symbol, side in [trigger] if isolated else _cross_positions(engine, ledger, asset):
        mark = engine.mark(symbol)
        if mark is None:
            continue
        f = ledger.symbol_figures(engine.contracts[symbol], mark, side)
        rows.append((symbol, side, f.position.amt, mark, f.unrealized_e8, f.maint_e8))
    if isolated:
        wallet = ledger.positions[trigger].isolated_wallet
        return MarginCall(now_ms, ledger.account_id, None, tuple(rows), wallet)
    return MarginCall(now_ms, ledger.account_id, engine.cross_wallet(ledger, asset), tuple(rows))


def _collateral(engine: EngineState, ledger: Ledger, key: PositionKey, *, haircut: bool = True) -> int:
    """The wallet a position draws on (§7.10–§7.11), 1e-8: an isolated position's own, a
    cross position's the cross wallet (its callers add the other cross positions); in
    Multi-Assets mode the pool's, at its haircut for the liquidation price and at its whole
    value for the bankruptcy price (``collateral.py``)."""
    symbol = key[0]
    if symbol in ledger.isolated:
        return ledger.positions[key].isolated_wallet
    asset = engine.contracts[symbol].inst.margin_asset
    if ledger.multi_assets:  # the pool's collateral, in USD (collateral.py)
        return engine.margin_figures(ledger, asset, haircut=haircut).wallet
    return engine.cross_wallet(ledger, asset)


def bankruptcy_price(contract: Contract, amt: int, entry: Fraction, collateral: Fraction) -> Fraction | None:
    """§7.11: the price at which ``collateral`` (wallet + the other positions' uPnL) is lost
    by the position ``amt`` opened at ``entry``; None where no price loses it (an inverse
    short's collateral above its value)."""
    q = contract.qty(amt)
    if not contract.inverse:
        return entry - collateral / q
    inverse = 1 / entry + collateral / (q * contract.inst.contract_size)
    return 1 / inverse if inverse > 0 else None


def liquidation_price(
    engine: EngineState, ledger: Ledger, symbol: str, side: PositionSide = PositionSide.BOTH
) -> Fraction:
    """§7.10: the mark at which the position on ``symbol`` and ``side`` meets its maintenance
    margin. Cross: the other symbols' cross positions held at their marks (their MM
    ``TMM1``, their uPnL ``UPNL1``), and a hedge account's two sides of ``symbol`` moving
    together, so that both share one price (§7.10's rules); isolated: its wallet alone.
    Recomputed with the brackets the notionals at that price fall in; 0 when flat or when
    no positive price liquidates it."""
    contract = engine.contracts[symbol]
    position = ledger.positions.get((symbol, side))
    if position is None or not position.amt:
        return Fraction(0)
    wallet = Fraction(_collateral(engine, ledger, (symbol, side)), 10**8)
    moving = [position]
    if symbol not in ledger.isolated:
        moving = ledger.held(symbol)
        for other, other_side in _cross_positions(engine, ledger, contract.inst.margin_asset):
            mark = engine.mark(other)
            if other != symbol and mark is not None:
                f = ledger.symbol_figures(engine.contracts[other], mark, other_side)
                wallet += Fraction(f.unrealized_e8 - f.maint_e8, AMOUNT_SCALE)
    coin = _moving_collateral(engine, ledger, symbol)  # Multi-Assets: collateral priced by this mark
    if coin:
        wallet -= coin * (engine.mark(symbol) or 0)  # it moves with the price, below
    size = contract.inst.contract_size
    brackets = [contract.brackets[0]] * len(moving)
    price = Fraction(0)
    for _ in contract.brackets:  # at most once per bracket, as §7.10 recomputes
        qs = [contract.qty(p.amt) for p in moving]
        cum = sum((b.cum for b in brackets), Fraction(0))
        if contract.inverse:
            at_entry = sum((q / p.entry for q, p in zip(qs, moving, strict=True)), Fraction(0))
            below = (wallet + cum) / size + at_entry
            above = sum((abs(q) * b.mmr + q for q, b in zip(qs, brackets, strict=True)), Fraction(0))
            price = above / below if below else Fraction(0)
        else:
            below = sum((abs(q) * b.mmr - q for q, b in zip(qs, brackets, strict=True)), Fraction(0)) - coin
            at_entry = sum((q * p.entry for q, p in zip(qs, moving, strict=True)), Fraction(0))
            price = (wallet + cum - at_entry) / below if below else Fraction(0)
        if price <= 0:
            return Fraction(0)
        fits = [_bracket(contract, abs(contract.notional(p.amt, price))) for p in moving]
        if fits == brackets:
            break
        brackets = fits
    return price


def _moving_collateral(engine: EngineState, ledger: Ledger, symbol: str) -> Fraction:
    """In Multi-Assets mode, the coin a cross position on ``<ASSET>USDT`` also holds as
    collateral, at its rate (``collateral.py``): its value moves with the same mark, so the
    liquidation price counts it as it counts the position."""
    asset = COLLATERAL_SYMBOLS.get(symbol)
    if asset is None or not ledger.multi_assets or symbol in ledger.isolated:
        return Fraction(0)
    coins = Fraction(engine.wallet(ledger, asset), 10**8)
    return coins * COLLATERAL_RATE[asset] if coins > 0 else coins


def _bracket(contract: Contract, notional: Fraction) -> Bracket:
    return bracket_at(contract.brackets, notional.numerator, notional.denominator)


def liquidate(engine: EngineState, ledger: Ledger, trigger: PositionKey, now_ms: int, out: Made) -> None:
    """Close the positions ``trigger``'s margin holds (see the module docstring), into ``out``."""
    account_id = ledger.account_id
    symbol = trigger[0]
    asset = engine.contracts[symbol].inst.margin_asset
    isolated = symbol in ledger.isolated
    key = _called_key(engine, ledger, trigger)
    if key not in engine.exposure.margin_called:
        out.put(margin_call(engine, ledger, trigger, now_ms))
    def margined(other: str, side: PositionSide) -> bool:  # an order the liquidated margin holds
        on = other == symbol if isolated else engine.contracts[other].inst.margin_asset == asset
        return on and (not isolated or side is trigger[1])  # an isolated side's own

    for other, orders in list(ledger.open_orders.items()):
        seat = ledger.seat(other)
        for order in sorted(orders.values(), key=lambda o: o.order_id):
            if margined(other, order.position_side):
                engine.finish(seat, order, OrderStatus.EXPIRED, now_ms, out, expiry="5")
    for algo in engine.algos.legacy_on(account_id):  # the legacy stops waiting: open orders too
        if margined(algo.symbol, algo.position_side):
            engine.algos.close(algo, "EXPIRED", now_ms, LIQUIDATED)
            tell_algo(engine, algo, now_ms, out, expiry="5")  # (part 4 §3.1: liquidated)
    positions = [trigger] if isolated else _cross_positions(engine, ledger, asset)
    gains = {at: _unrealized(engine, ledger, at) for at in positions}
    positions.sort(key=lambda at: (-gains[at], at != trigger))  # the most profitable first
    liquidated, over = 0, 1  # Σ |notional| of every fill, exact: ``liquidated / over`` of the asset
    before = ledger.changes.get(asset, 0)
    left = ledger.positions[trigger].isolated_wallet  # an isolated position's collateral
    for n, position_key in enumerate(positions):
        losses = min(Fraction(0), sum((gains[other] for other in positions[n + 1 :]), Fraction(0)))
        liquidated, over = _close(engine, ledger, position_key, losses, now_ms, out, (liquidated, over))
    if isolated:  # its wallet, less what its fills booked, is what is left of it
        left += ledger.changes.get(asset, 0) - before
    elif ledger.multi_assets:  # the pool's collateral left, at its whole value (collateral.py)
        left = engine.margin_figures(ledger, asset, haircut=False).wallet
    else:
        left = engine.cross_wallet(ledger, asset)
    rate, per = LIQUIDATION_FEE[engine.market]  # the fee on the notional, rounded down (§10)
    fee = min(left, liquidated * rate * AMOUNT_SCALE // (over * per))
    if fee:
        change_wallet(ledger, asset, -fee, now_ms)
        out.put(WalletChange(account_id, asset, -fee, now_ms))
        tran = tran_id(engine, symbol, now_ms, trigger[1])
        income = Income(account_id, symbol, "INSURANCE_CLEAR", asset, -fee, now_ms, tran)
        ledger.income.append(income)
        out.put(income)
        wallet = engine.wallet(ledger, asset)
        cross = engine.cross_wallet(ledger, asset)
        out.put(
            BalanceUpdate(now_ms, account_id, "INSURANCE_CLEAR", asset, wallet, -fee, symbol, cross)
        )
    engine.exposure.margin_called.discard(key)


def _unrealized(engine: EngineState, ledger: Ledger, key: PositionKey) -> Fraction:
    """A position's uPnL at its mark; 0 without one."""
    mark = engine.mark(key[0])
    position = ledger.positions[key]
    return Fraction(0) if mark is None else engine.contracts[key[0]].unrealized(position, mark)


def payable(collateral: int, realized: Sequence[int], fees: Sequence[int]) -> list[int]:
    """The commission each fill of a liquidation order pays, in fill order (1e-8): its taker
    commission, but never more than ``collateral`` keeps at its lowest over the fills still
    to book (their ``realized`` PnL), so that no fill takes the wallet below zero and the
    insurance fund never pays a fee (part 3 §8 step 6: the fund takes the position at the
    bankruptcy price, where the collateral is exactly lost, and has nothing to pay beyond).
    The caller's bound: ``collateral`` plus the realized PnL of the first fills, however
    many, is never below zero (no fill is worse than the bankruptcy price of that
    ``collateral``)."""
    lowest = list(realized)  # lowest[i]: the least Σ realized[i..k] over k ≥ i
    for i in range(len(lowest) - 2, -1, -1):
        lowest[i] += min(0, lowest[i + 1])
    paid = []
    for pnl, fee, low in zip(realized, fees, lowest, strict=True):
        paid.append(max(0, min(fee, collateral + low)))
        collateral += pnl - paid[-1]
    return paid


def _close(
    engine: EngineState, ledger: Ledger, key: PositionKey, losses: Fraction, now_ms: int, out: Made,
    notional: tuple[int, int],
) -> tuple[int, int]:  # fmt: skip
    """One position closed by its liquidation order; ``notional`` (a numerator and a
    denominator in the margin asset) with the notional it liquidated added, in lowest terms.
    ``losses``: the uPnL of the cross positions still to close after it, if below zero
    (§7.11's UPNL1: their profit is left out, as it is realized only after this one's loss)."""
    symbol = key[0]
    contract = engine.contracts[symbol]
    inst = contract.inst
    position = ledger.positions[key]
    amt, entry, cost = position.amt, position.entry, position.cost
    side = Side.SELL if amt > 0 else Side.BUY
    wallet = _collateral(engine, ledger, key, haircut=False)  # what its fills book into, 1e-8
    price = bankruptcy_price(contract, amt, entry, Fraction(wallet, 10**8) + losses)
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
        TimeInForce.IOC, limit, abs(amt), True, 0, now_ms, now_ms, position_side=position.side,
    )  # fmt: skip
    engine.next_order_id[symbol] += 1
    seat = engine.seat(ledger.account_id, symbol)
    seat.add(order)
    out.put(engine.order_update(seat, "NEW", order.status, order, None, now_ms))
    fills = take(engine, symbol, side, abs(amt), limit, now_ms, out)
    rest = abs(amt) - sum(qty for _, qty, _ in fills)
    if rest:  # the insurance fund takes what the book cannot, at the order's price
        public = engine.venue_market.print_trade(symbol, side, rest, limit, now_ms)  # the one book's: public
        fills.append((limit, rest, public))
    # checked, then booked: each fill's commission is what the collateral can pay
    realized = [contract.realized(amt, cost, qty, p) for p, qty, _ in fills]
    fees = [contract.commission(qty, p, engine.fees.taker) for p, qty, _ in fills]
    total, over = notional
    for (fill_price, qty, trade_id), fee in zip(fills, payable(wallet, realized, fees), strict=True):
        settle(engine, seat, order, fill_price, qty, False, now_ms, out, "CALCULATED", trade_id, fee)
        num, den = contract.fill_notional(qty, fill_price)  # qty > 0: positive
        total, over = total * den + num * over, over * den
        g = gcd(total, over)
        total, over = total // g, over // g
    out.put(OrderRow(order.copy()))
    average = order.cum_quote // order.executed_qty
    exposure.liquidations.append(
        Liquidation(symbol, now_ms, side is Side.BUY, order.orig_qty, limit, average, order.executed_qty)
    )
    return total, over
