"""Transfers into and out of a futures wallet as the account's owner sees them: the
operator's deposits and withdrawals (``tickerplant accounts deposit|withdraw``, the admin
API), whichever process made them (``keyring.Keyring`` notices each balance that moved).

On Binance a transfer from spot into futures is ``ACCOUNT_UPDATE`` with ``"m":"DEPOSIT"``,
``bc`` the amount, ``"P":[]`` and ``E = T + 1``, one out is ``"m":"WITHDRAW"`` with a
negative ``bc`` (trading part 4 §3.4, "Transfers"; §5 item 7); the income history has a
``TRANSFER`` row (part 3 §4.11). Each is journaled with the income, as a funding fee is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from tickerplant.market.instruments import Market
from tickerplant.venue.auth.accounts import Balance
from tickerplant.venue.domain.events import BalanceUpdate, Income, Made
from tickerplant.venue.engine.state import EngineState
from tickerplant.venue.ledger.wallet import moved_at

__all__ = ["TRAN_ID_SLOTS", "settle_transfers", "unseen_transfers"]

TRAN_ID_SLOTS = 1000  # a symbol-less income row's tranId: the time's milliseconds, then a slot


def unseen_transfers(
    balances: Iterable[Balance], wallet: Market, transferred: Mapping[tuple[int, str], int]
) -> list[tuple[int, str, int]]:
    """What the operator moved that no ``TRANSFER`` row tells yet, per (account, asset) of
    ``wallet``: its balance less the transfers journaled (``transferred``). At a start this
    is an account's opening balance when it was made before the server first ran, and what
    was deposited or withdrawn while the server was down: the income history then sums to
    the wallet, as a bot that reconciles expects (part 3 §4.11)."""
    moved = []
    for balance in balances:
        if balance.wallet is wallet:
            change = balance.amount - transferred.get((balance.account_id, balance.asset), 0)
            if change:
                moved.append((balance.account_id, balance.asset, change))
    return moved


def settle_transfers(
    engine: EngineState, moved: Iterable[tuple[int, str, int]], now_ms: int, out: Made
) -> None:
    """``moved``: (account, asset, change in 1e-8) of this engine's wallet, as the operator
    changed them; each told to the account's user data stream and kept as income."""
    for slot, (account_id, asset, change) in enumerate(moved):
        if not change:
            continue
        ledger = engine.ledger(account_id)
        tran_id = now_ms * TRAN_ID_SLOTS + slot % TRAN_ID_SLOTS
        income = Income(account_id, "", "TRANSFER", asset, change, now_ms, tran_id)
        ledger.income.append(income)
        moved_at(ledger, asset, now_ms)  # the balance's updateTime, on the engine's clock
        out.put(income)
        wallet = engine.wallet(ledger, asset)
        reason = "DEPOSIT" if change > 0 else "WITHDRAW"
        cross = engine.cross_wallet(ledger, asset)
        out.put(BalanceUpdate(now_ms, account_id, reason, asset, wallet, change, "", cross))
