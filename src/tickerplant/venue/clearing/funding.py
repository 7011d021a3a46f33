"""Funding of the accounts' positions (trading spec part 3 §9), sans-I/O.

The plant publishes each funding on the internal `<symbol>@fundingEvent` stream
(``market/derivatives/mark_streams.FundingEvent``: the funding time ``T``, the rate ``r``
and the mark ``p`` at that time), which the engine receives after the listener's view. At
each one, every position on the symbol pays or receives ``notional × rate``, the notional
at that mark (USDⓈ-M ``q × mark`` in the margin asset; COIN-M ``q × contractSize / mark``
in the coin): a positive rate has longs pay shorts. The amount is truncated toward zero at
8 decimals (part 3 §4.3's rule for notional), so worked example A's long pays exactly
``30 500 × 0.0001 = 3.05`` and example B's ``0.00001923``.

Each payment is journaled with its wallet change and a ``FUNDING_FEE`` income row
(``time`` the funding time, ``tradeId`` ``""``), and reported as ``ACCOUNT_UPDATE``
``m=FUNDING_FEE`` with only the asset in ``B``, ``"P":[]`` for a cross position, the
position for an isolated one (whose own wallet pays it, part 3 §7.8), and ``a.S`` the
symbol (part 4 §3.4, §4.3 item 5).

A funding is charged once: not again when its event comes back (a restart's or a warm
start's history, the view's duplicates), nor when it was told more than a minute after its
time (the FAQ's "1 minute deviation"; a replay's warm-up publishes its past fundings, told at
its start). Lateness is the event's ``E`` against its ``T``, both on the source's clock,
never the venue's ``now``: a relay's times are its upstream's (§4.6's ``E`` and ``T``), which
may run minutes or years apart from this server's, and against ``now`` each funding it tells
would be taken for history (an upstream behind) or charged however late it was told (one
ahead). The simulator and a replay tell a funding at their own time. The last funding time
settled on each symbol is journaled (``Batch.funded``), whatever it charged: the fundings
after it that fell while the server was down are settled at the next start
(``funding_catch_up.py``), through this same code, to the positions that stood unchanged
across them (``missed``).
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

from tickerplant.market.derivatives.mark_streams import FundingEvent
from tickerplant.venue.domain.contract import Position
from tickerplant.venue.domain.events import (
    BalanceUpdate,
    Funded,
    Income,
    Made,
    PositionRow,
    WalletChange,
)
from tickerplant.venue.domain.orders import PositionSide
from tickerplant.venue.ledger.exposure import each_account
from tickerplant.venue.ledger.wallet import change_wallet

if TYPE_CHECKING:
    from tickerplant.venue.engine.state import EngineState
    from tickerplant.venue.ledger.ledger import Ledger

__all__ = ["FUNDING_LATE_MS", "settle_funding", "tran_id"]

FUNDING_LATE_MS = 60_000  # a funding told later than this after its time is history, not a charge


def tran_id(engine: EngineState, symbol: str, time_ms: int, side: PositionSide = PositionSide.BOTH) -> int:
    """An income row's ``tranId``: unique per type and account (part 3 §4.11), a hedge
    account's two sides included."""
    shift = 500 if side is PositionSide.SHORT else 0
    return time_ms * 1000 + (list(engine.instruments).index(symbol) + shift) % 1000


def settle_funding(
    engine: EngineState, symbol: str, event: FundingEvent, now_ms: int, out: Made, *, missed: bool = False
) -> None:
    """Charge ``event`` (a funding of ``symbol``) to every position on it, journaled. A live
    event is charged to the positions as they stand when it arrives; a ``missed`` one (a
    funding time that fell while the server was down, ``funding_catch_up.py``) to those
    unchanged since before its time, the positions held at it (part 3 §9: "positions open at
    the pre-specified funding times"), and whatever its age."""
    exposure = engine.exposure
    if exposure.funded_ms.get(symbol, -1) >= event.T:
        return
    if not missed and event.E - FUNDING_LATE_MS > event.T:  # told late, by the source's clock
        return
    try:
        rate, mark = Fraction(event.r), Fraction(event.p)
    except ValueError:  # a delivery contract's "" rate: no funding
        return
    exposure.funded_ms[symbol] = event.T
    out.put(Funded(symbol, event.T))  # settled, whatever it charges
    if mark <= 0:  # none published (a replay's funding file without mark-price klines):
        mark = engine.mark(symbol) or mark  # the book's mid, as the venue values it (docs/venue.md)
    if not rate or mark <= 0:
        return

    def charge(account_id: int) -> None:
        ledger = engine.ledger(account_id)
        for position in ledger.held(symbol):  # hedge mode: each side pays its own
            if missed and position.update_ms >= event.T:  # opened or changed after it
                continue
            _charge(engine, ledger, symbol, position, event, rate, mark, out, now_ms)

    # one account's failure charges the others all the same (what was charged is in ``out``)
    each_account(sorted(exposure.holders.get(symbol, ())), charge)


def _charge(
    engine: EngineState, ledger: Ledger, symbol: str, position: Position, event: FundingEvent, rate: Fraction,
    mark: Fraction, out: Made, now_ms: int,
) -> None:  # fmt: skip
    """One position's funding fee (nothing when it rounds to zero), booked and sent."""
    contract = engine.contracts[symbol]
    asset = contract.inst.margin_asset
    account_id = ledger.account_id
    fee = contract.funding_fee(position.amt, mark, rate)
    if not fee:
        return
    change_wallet(ledger, asset, fee, event.T)
    out.put(WalletChange(account_id, asset, fee, event.T))
    income = Income(
        account_id,
        symbol,
        "FUNDING_FEE",
        asset,
        fee,
        event.T,
        tran_id(engine, symbol, event.T, position.side),
    )
    ledger.income.append(income)
    out.put(income)
    shown, shown_mark, shown_realized = None, None, 0  # the position, shown when isolated
    if symbol in ledger.isolated:  # paid from, or into, the position's own wallet
        position.isolated_wallet += fee
        out.put(PositionRow(account_id, symbol, position.copy()))
        shown = (position.amt, position.cost, position.isolated_wallet, position.maker_amt)
        shown_mark, (shown_realized,) = engine.shown_position(account_id, symbol, position.side)
    wallet = engine.wallet(ledger, asset)
    cross = engine.cross_wallet(ledger, asset)
    out.put(BalanceUpdate(
        now_ms, account_id, "FUNDING_FEE", asset, wallet, fee, symbol, cross, shown, position.side,
        shown_mark, shown_realized,
    ))  # fmt: skip
