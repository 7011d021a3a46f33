"""Multi-Assets mode's margin (trading spec part 3 §4.7, §11; USDⓈ-M only): every margin
asset of the wallet (``asset_index.MARGIN_ASSETS``: USDT, USDC, BNB, BTC, ETH, FDUSD,
BFUSD) is collateral for every cross position, valued in USD.

Binance publishes the mechanics by their field names only (§11: "mechanics beyond field
names are inference"); tickerplant's, documented in docs/venue.md:

- an asset's USD price (its "asset index", ``GET /fapi/v1/assetIndex``,
  ``market/payloads/asset_index.py``, which publishes it): 1 for the stablecoins, the
  mark of ``<ASSET>USDT`` for BTC, ETH and BNB (``Engine.mark``: its book's mid before any
  mark; none without a book: the asset counts for nothing);
- a positive balance counts at its price times its collateral rate (``COLLATERAL_RATE``,
  one less the index's ``bidBuffer``: 1 for the stablecoins, 0.95 for BTC, ETH and BNB:
  Binance's haircut for its majors); a negative one counts in full, with no haircut to
  soften it (``askBuffer`` 0). The haircut decides margin
  (the margin check, the margin ratio, the liquidation price); what a liquidation may take
  is measured on the collateral's whole value (``haircut=False``), so that a
  liquidated account is never paid for the haircut it held back;
- a held asset with no price yet (its perpetual neither marked nor booked) makes the pool unpriced
  (``Figures.priced`` false): the margin check counts it as nothing, and the margin ratio
  is not judged until it has a price: no liquidation on a collateral valued at zero;
- a mark of ``<ASSET>USDT`` moves the collateral too: the accounts in the mode holding that
  asset are checked at it (``liquidation.check_collateral``), whatever their positions;
- the pooled figures (``pooled``) are the assets' figures in USD: the wallets so valued,
  their positions' unrealized PnL, initial and maintenance margins and open-order margin at
  the asset's price; ``available`` and ``maxWithdrawAmount`` follow from them as in
  single-asset mode, and an asset's own ``availableBalance`` is the pool's in that asset
  (the pool over its price). Every catalogue symbol is USDT-margined, so a position's
  figures are in USD already;
- a USDT wallet that fees, losses or funding take below zero stays there, backed by the
  other assets, until it passes the threshold of an automatic exchange
  (``auto_exchange.py``); a liquidation's commissions and clearance fee (``liquidation.py``)
  are measured on the pool.

Sans-I/O: the figures of each asset and the marks come in as functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from fractions import Fraction

from tickerplant.market.payloads.asset_index import BID_BUFFER, PRICED_BY, asset_price
from tickerplant.venue.domain.contract import down, toward_zero
from tickerplant.venue.domain.money import AMOUNT_SCALE
from tickerplant.venue.ledger.figures import Figures

__all__ = ["COLLATERAL_RATE", "COLLATERAL_SYMBOLS", "asset_price", "pooled"]

COLLATERAL_RATE: dict[str, Fraction] = {asset: 1 - buffer for asset, buffer in BID_BUFFER.items()}
COLLATERAL_SYMBOLS = {symbol: asset for asset, symbol in PRICED_BY.items()}  # whose mark prices one


def pooled(
    assets: Iterable[str], figures: Callable[[str], Figures], mark: Callable[[str], Fraction | None],
    *, haircut: bool = True,
) -> Figures:  # fmt: skip
    """The pool of ``assets`` in USD (the module docstring), as one ``Figures``, 1e-8 USD:
    its wallet the collateral value rounded down (``haircut`` false: at its whole value);
    each asset's figures at its price, rounded as the figures are (``figures.py``: uPnL
    toward zero, margins down; a stablecoin's price is 1, its figures as they are)."""
    wallet = Fraction(0)
    unrealized = position_im = open_order_im = maint = 0
    priced = True
    for asset in assets:
        price = asset_price(asset, mark)
        f = figures(asset)
        if price is None:
            priced = priced and not f.wallet
            continue
        held = f.wallet * price
        wallet += held * COLLATERAL_RATE[asset] if held > 0 and haircut else held
        if price == 1:
            unrealized, position_im = unrealized + f.unrealized_e8, position_im + f.position_im_e8
            open_order_im, maint = open_order_im + f.open_order_im_e8, maint + f.maint_e8
            continue
        unrealized += toward_zero(f.unrealized * price)
        position_im += down(f.position_im * price)
        open_order_im += down(f.open_order_im * price)
        maint += down(f.maint * price)
    return Figures(down(wallet / AMOUNT_SCALE), unrealized, position_im, open_order_im, maint, priced=priced)
