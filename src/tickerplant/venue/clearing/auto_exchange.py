"""Multi-Assets mode's automatic exchange of a negative balance, sans-I/O.

Part 3 §11 says only that negative balances "are auto-exchanged when below the
``autoAssetExchange`` threshold (income ``AUTO_EXCHANGE``)"; the rest is ours, and
docs/venue.md says so:

- an account in the mode whose wallet of a margin asset is below the threshold exchangeInfo
  gives it (``AUTO_ASSET_EXCHANGE``: -10,000 of the asset) has it brought back to zero by
  selling its other margin assets that hold a positive balance: the stablecoins first
  (USDT, USDC, FDUSD, BFUSD), then BTC, ETH, BNB;
- at each asset's price in USD (``collateral.asset_price``: 1 for a stablecoin, its USDT
  perpetual's mark otherwise), without a fee; the asset sold is rounded up to 1e-8, and the
  asset covered is given exactly its shortfall, or, when a source runs out first, all that
  source is worth, rounded down; an asset with no price yet is neither sold nor covered;
- each exchange is two wallet changes (journaled), an ``AUTO_EXCHANGE`` income row of each
  asset (the asset sold's negative, part 3 §4.11) and one ``ACCOUNT_UPDATE``
  ``m=AUTO_EXCHANGE`` with both balances in ``B``, the asset covered first (part 4 §3.4).

It runs after each delivery of the market's messages (``venue_engines.feed_engine``), after funding
and liquidations: a loss a fill realized is exchanged at the next delivery. Only accounts
in the mode are looked at (``Exposure.pooled``), and only their wallets below the threshold
cost more than a comparison.
"""

from __future__ import annotations

from decimal import Decimal

from tickerplant.market.payloads.exchange_info import AUTO_ASSET_EXCHANGE
from tickerplant.venue.clearing.transfers import TRAN_ID_SLOTS
from tickerplant.venue.domain.events import BalanceUpdate, Income, Made, WalletChange
from tickerplant.venue.engine.state import EngineState
from tickerplant.venue.ledger.collateral import asset_price
from tickerplant.venue.ledger.exposure import each_account
from tickerplant.venue.ledger.ledger import Ledger
from tickerplant.venue.ledger.wallet import change_wallet

__all__ = ["SOLD_FIRST", "THRESHOLD", "exchange_negative_balances"]

_UNITS = 10**8
THRESHOLD = int(Decimal(AUTO_ASSET_EXCHANGE) * _UNITS)  # 1e-8 of the asset
SOLD_FIRST = ("USDT", "USDC", "FDUSD", "BFUSD", "BTC", "ETH", "BNB")  # the stablecoins, then the rest
_FIRST_SLOT = 500  # of a tranId's slots (transfers.TRAN_ID_SLOTS): after a transfer's in its millisecond


def exchange_negative_balances(engine: EngineState, now_ms: int, out: Made) -> None:
    """Exchange every Multi-Assets wallet below the threshold (the module's docstring)."""
    pooled = engine.exposure.pooled  # the accounts in the mode: most often none (each delivery)
    if not pooled:
        return

    def cover(account_id: int) -> None:
        ledger = engine.ledger(account_id)
        if any(change < THRESHOLD for change in ledger.changes.values()):  # deposits are never negative
            _cover(engine, ledger, out, now_ms)

    each_account(sorted(pooled), cover)  # one account's failure covers the others all the same


def _cover(engine: EngineState, ledger: Ledger, out: Made, now_ms: int) -> None:
    for asset in SOLD_FIRST:
        wallet = engine.wallet(ledger, asset)
        price = asset_price(asset, engine.mark)
        if wallet >= THRESHOLD or price is None or price <= 0:
            continue
        for source in SOLD_FIRST:
            held = engine.wallet(ledger, source)
            source_price = asset_price(source, engine.mark)
            if source == asset or held <= 0 or source_price is None or source_price <= 0:
                continue
            # of the source, 1e-8, for the whole shortfall: ``-wallet × price / source_price``
            # (``needed / over``), the prices' numerators and denominators taken apart
            pn, pd = price.numerator, price.denominator
            sn, sd = source_price.numerator, source_price.denominator
            needed, over = -wallet * pn * sd, pd * sn
            sold = min(held, -(-needed // over))  # rounded up
            covered = -wallet if sold * over >= needed else sold * sn * pd // (sd * pn)  # rounded down
            _book(engine, ledger, out, asset, covered, source, sold, now_ms)
            wallet += covered
            if wallet >= 0:
                break


def _book(
    engine: EngineState, ledger: Ledger, out: Made, asset: str, covered: int, source: str, sold: int,
    now_ms: int,
) -> None:  # fmt: skip
    """One exchange: ``sold`` of ``source`` for ``covered`` of ``asset``, journaled and told."""
    account_id = ledger.account_id
    slot = out.count(Income)  # this command's incomes so far: each its own slot
    for moved_asset, amount in ((asset, covered), (source, -sold)):
        change_wallet(ledger, moved_asset, amount, now_ms)
        out.put(WalletChange(account_id, moved_asset, amount, now_ms))
        tran_id = now_ms * TRAN_ID_SLOTS + (_FIRST_SLOT + slot) % TRAN_ID_SLOTS
        slot += 1
        income = Income(account_id, "", "AUTO_EXCHANGE", moved_asset, amount, now_ms, tran_id)
        ledger.income.append(income)
        out.put(income)
    sold_row = (source, engine.wallet(ledger, source), -sold, engine.cross_wallet(ledger, source))
    out.put(BalanceUpdate(
        now_ms, account_id, "AUTO_EXCHANGE", asset, engine.wallet(ledger, asset), covered, "",
        engine.cross_wallet(ledger, asset), more=(sold_row,),
    ))  # fmt: skip
