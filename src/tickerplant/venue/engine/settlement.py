"""A fill settled (``settle``): the position, its realized PnL and commission, the wallet (an
isolated position's too, part 3 §7.8), the fill kept, its events (``ORDER_TRADE_UPDATE``,
``ACCOUNT_UPDATE``) and journal rows; then what the fill ends: the reduce-only orders it
leaves nothing to close (``EngineState.trim``) and the ``closePosition`` algo orders of a
position it closed or turned (GTE_GTC, part 2 §4.3). One step every fill takes: a taker's
(``placement.py``), a resting order's (``resting.py``), a liquidation's (``clearing/``)."""

from __future__ import annotations

from tickerplant.venue.domain.events import AccountUpdate, Made, MarginMove, PositionRow
from tickerplant.venue.domain.orders import Fill, Order
from tickerplant.venue.engine.algo_told import tell_algo
from tickerplant.venue.engine.state import EngineState
from tickerplant.venue.ledger.ledger import Ledger
from tickerplant.venue.ledger.seat import Seat
from tickerplant.venue.ledger.wallet import change_wallet

__all__ = ["settle"]


def settle(
    state: EngineState, seat: Seat[Ledger], order: Order, price: int, qty: int, maker: bool, now_ms: int,
    out: Made,
    execution: str = "TRADE",  # a liquidation's fills: CALCULATED
    trade_id: int | None = None,  # the public trade's, in the one book; else the venue's own
    fee_cap: int | None = None,  # a liquidation's fill: at most this commission (``liquidation.payable``)
    will_rest: bool = False,  # a new taker whose remainder will rest: its event's ``b``/``a`` hold it
) -> None:  # fmt: skip
    """``qty`` of ``order`` filled at ``price`` (``seat``: the account's at its symbol)."""
    ledger = seat.ledger
    contract = state.contracts[order.symbol]
    position = ledger.position(order.symbol, order.position_side)
    state.exposure.hold(order.account_id, order.symbol)
    before = position.amt
    realized = contract.settle(position, order.side, qty, price, now_ms, maker)
    commission = contract.commission(qty, price, state.fees.maker if maker else state.fees.taker)
    commission = commission if fee_cap is None else min(commission, fee_cap)
    asset = contract.inst.margin_asset
    delta = realized - commission
    change_wallet(ledger, asset, delta, now_ms)
    isolated = order.symbol in ledger.isolated
    if isolated:  # part 3 §7.8: the isolated wallet takes the fill's margin, fee and PnL
        fill_price = contract.price(price)  # exact, a Fraction: made only where it is read
        mark, leverage = state.mark(order.symbol) or fill_price, ledger.leverage_of(contract)
        booked = (realized, commission, mark, leverage)
        release = execution != "CALCULATED"  # a liquidation releases none before its close
        moved = contract.isolate(position, before, order.side, qty, fill_price, *booked, release=release)
        if moved:  # a ``TRADE`` row of the position margin history (part 3 §7.8)
            kind = 1 if moved > 0 else 2
            move = MarginMove(order.account_id, order.symbol, kind, abs(moved), asset, now_ms, "TRADE",
                              order.position_side)  # fmt: skip
            ledger.margin_moves.append(move)
            out.records.append(move)
    if trade_id is None:
        trade_id = state.next_trade_id[order.symbol]
        state.next_trade_id[order.symbol] += 1
    base, fine = contract.bases(qty, price) if contract.inverse else (0, 0)  # COIN-M's baseQty
    fill = Fill(
        order.account_id, order.symbol, trade_id, order.order_id, order.side, price, qty,
        base, realized, commission, asset, maker, now_ms, order.position_side,
    )  # fmt: skip
    order.fill(price, qty, base, now_ms, fine)
    ledger.touch(order, seat)  # what it has left changed: its open-order margin too
    seat.add_fill(fill)
    out.records.append(PositionRow(order.account_id, order.symbol, position.copy()))
    # the fill and its wallet change (``delta``) are journaled from this event (``Made.batch``)
    # part 4 §3.1: ``b``/``a`` are the side's open orders after the fill, this one among them
    # while a remainder is left to rest (not counted in ``seat.values`` until it rests)
    left = order.orig_qty - order.executed_qty if will_rest else 0
    out.events.append(state.order_update(seat, execution, order.status, order, fill, now_ms, resting=left))
    wallet = state.wallet(ledger, asset)
    out.events.append(AccountUpdate(
        now_ms, order.account_id, "ORDER", asset, wallet, order.symbol,
        state.cross_wallet(ledger, asset, wallet), state.mark(order.symbol),
        state.shown(ledger, order.symbol, position.side),
    ))  # fmt: skip
    if ledger.open_orders.get(order.symbol):  # what its reduce-only orders can still close
        state.trim(seat, position.side, now_ms, out)
    if before and (not position.amt or (before > 0) != (position.amt > 0)):  # closed or turned: GTE_GTC
        for algo in state.algos.closing(order.account_id, order.symbol, position.side):
            state.algos.close(algo, "EXPIRED", now_ms, "No position to close")  # (part 2 §4.3)
            tell_algo(state, algo, now_ms, out)
