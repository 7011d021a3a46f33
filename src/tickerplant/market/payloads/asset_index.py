"""The USDⓈ-M margin assets and their asset index (trading spec part 3 §11; the "Asset Index"
REST page): one home for what exchangeInfo's ``assets`` lists, for the USD price and the
buffers ``GET /fapi/v1/assetIndex`` publishes, and for what the venue's Multi-Assets mode
values collateral with (``venue/ledger/collateral.py``), so the three never disagree.

- The margin assets, in the order part 3 §4.1 recommends: USDT, USDC, BNB, BTC, ETH,
  FDUSD, BFUSD; each ``marginAvailable`` in exchangeInfo.
- An asset's index (its USD price): 1 for the stablecoins, the mark of ``<ASSET>USDT`` for
  BTC, ETH and BNB (as the venue reads a mark: its book's mid before any, none without a
  book).
- ``bidBuffer``: the haircut of a positive balance (``bidRate = index × (1 − bidBuffer)``):
  0.05 for BTC, ETH and BNB, Binance's for its majors; 0 for the stablecoins, which
  tickerplant values at par.
- ``askBuffer`` 0: a negative balance counts in full (``askRate = index``).
- The automatic exchange's buffers 0: it is priced at the index without a fee
  (``venue/clearing/auto_exchange.py``), so its rates are the index.

Binance's values of the buffers move with its risk settings; these are tickerplant's, fixed,
and what its venue applies.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

from tickerplant.market.units import fixed

__all__ = [
    "BID_BUFFER", "MARGIN_ASSETS", "PRICED_BY", "STABLECOINS", "asset_index_row", "asset_price",
    "index_symbol",
]

MARGIN_ASSETS = ("USDT", "USDC", "BNB", "BTC", "ETH", "FDUSD", "BFUSD")
STABLECOINS = ("USDT", "USDC", "FDUSD", "BFUSD")
PRICED_BY = {asset: f"{asset}USDT" for asset in ("BNB", "BTC", "ETH")}  # whose mark is the index
BID_BUFFER: dict[str, Fraction] = {asset: Fraction(0) for asset in STABLECOINS} | {
    asset: Fraction(5, 100) for asset in PRICED_BY
}
_DECIMALS = 8  # as the page writes every figure
_ZERO = fixed(0, _DECIMALS)


def index_symbol(asset: str) -> str:
    """``asset``'s index symbol, as REST's rows and the streams name it (``BTCUSD``; a stream
    name spells it in lowercase)."""
    return f"{asset}USD"


def asset_price(asset: str, mark: Callable[[str], Fraction | None]) -> Fraction | None:
    """``asset``'s index, its USD price: 1 for a stablecoin, its USDT perpetual's mark for
    the others (None: not a margin asset, or no price from ``mark`` yet)."""
    if asset in STABLECOINS:
        return Fraction(1)
    symbol = PRICED_BY.get(asset)
    return mark(symbol) if symbol is not None else None


def _text(value: Fraction) -> str:
    """8 decimals, rounded half up (the index and its rates are prices, not balances)."""
    units = value * 10**_DECIMALS
    return fixed((2 * units.numerator + units.denominator) // (2 * units.denominator), _DECIMALS)


def asset_index_row(asset: str, index: Fraction, time_ms: int) -> dict[str, Any]:
    """``assetIndex``'s row of ``asset`` (``<ASSET>USD``) at ``index``, in the page's key order."""
    price, bid = _text(index), BID_BUFFER[asset]
    return {
        "symbol": index_symbol(asset), "time": time_ms, "index": price,
        "bidBuffer": _text(bid), "askBuffer": _ZERO,
        "bidRate": _text(index * (1 - bid)), "askRate": price,
        "autoExchangeBidBuffer": _ZERO, "autoExchangeAskBuffer": _ZERO,
        "autoExchangeBidRate": price, "autoExchangeAskRate": price,
    }  # fmt: skip
