"""The balance endpoints' payloads (spec part 3 §4.1), keys in Binance's order.

``GET /fapi/v3/balance`` and ``/fapi/v2/balance`` share one shape; ``GET /dapi/v1/balance``
has ``withdrawAvailable`` where USDⓈ-M has ``maxWithdrawAmount``, and no
``marginAvailable``. An account with no positions and no open orders (all this step
knows) has every figure equal to its wallet balance and no unrealized PnL; the margin
arithmetic of part 3 §7 replaces these figures when positions arrive.

Which assets: USDⓈ-M lists its margin assets in a fixed order, zero balances included with
``updateTime`` 0 (part 3 §4.1's recommendation, ``UM_MARGIN_ASSETS``), then any other asset
the wallet holds; COIN-M lists one element per coin its contracts are margined in, in the
catalogue's order, then any other the wallet holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec

from tickerplant.market.instruments import Market
from tickerplant.venue.auth.accounts import UM_MARGIN_ASSETS, Account, Balance
from tickerplant.venue.domain.money import format_amount

__all__ = ["CmBalance", "UmBalance", "balance_rows"]

_ZERO = format_amount(0)


class UmBalance(msgspec.Struct, frozen=True, rename="camel"):
    """One element of ``GET /fapi/v3/balance`` (and v2), part 3 §4.1."""

    account_alias: str  # the account's short random letter string
    asset: str
    balance: str  # wallet balance: cross wallet and isolated wallets
    cross_wallet_balance: str  # wallet balance without isolated margin
    cross_un_pnl: str  # unrealized PnL of cross positions
    available_balance: str  # available for new orders
    max_withdraw_amount: str  # the most that may be transferred out
    margin_available: bool  # usable as margin in Multi-Assets mode
    update_time: int  # ms of the last change; 0 for an asset never touched


class CmBalance(msgspec.Struct, frozen=True, rename="camel"):
    """One element of ``GET /dapi/v1/balance``, part 3 §4.1."""

    account_alias: str
    asset: str
    balance: str
    withdraw_available: str  # = maxWithdrawAmount of GET /dapi/v1/account
    cross_wallet_balance: str
    cross_un_pnl: str
    available_balance: str
    update_time: int


def balance_rows(
    market: Market, account: Account, balances: Iterable[Balance], coins: Sequence[str]
) -> list[UmBalance] | list[CmBalance]:
    """The balance answer of ``market``'s wallet; ``coins``: the COIN-M margin assets, in
    the catalogue's order."""
    held = {b.asset: b for b in balances if b.wallet is market}
    listed = UM_MARGIN_ASSETS if market is Market.UM else tuple(dict.fromkeys(coins))
    assets = [*listed, *sorted(set(held) - set(listed))]
    alias = account.alias
    if market is Market.UM:
        um: list[UmBalance] = []
        for asset in assets:
            b = held.get(asset)
            wallet, updated = (format_amount(b.amount), b.update_ms) if b else (_ZERO, 0)
            um.append(UmBalance(alias, asset, wallet, wallet, _ZERO, wallet, wallet, True, updated))
        return um
    cm: list[CmBalance] = []
    for asset in assets:
        b = held.get(asset)
        wallet, updated = (format_amount(b.amount), b.update_ms) if b else (_ZERO, 0)
        cm.append(CmBalance(alias, asset, wallet, wallet, wallet, _ZERO, wallet, updated))
    return cm
