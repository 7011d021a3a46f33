"""The start-up calls outside futures that futures clients make (overview decision 11;
trading part 5 §2.1.1, §2.2, §4 items 1 and 2), answered from what the venue knows,
truthfully and minimally, so that a client loads at its defaults.

ccxt's ``load_markets`` with API keys calls ``GET /sapi/v1/capital/config/getall`` and
``GET /sapi/v1/margin/allPairs`` (``fetch_currencies``, on its ``sapi`` base URL), and its
``binance`` class also ``GET /api/v3/exchangeInfo`` and ``GET
/sapi/v1/margin/isolated/allPairs`` (``fetch_markets``, spot); none is wrapped in a
``try``: one 404 and the bot stops before its first order. python-binance's ``Client()``
and ``AsyncClient.create()`` call ``GET /api/v3/ping`` (and ``/api/v3/time``), the spot
paths ``protocol/rest.py`` serves beside the market's own.

What the venue knows:

- ``capital/config/getall`` (Binance's "All Coins' Information", USER_DATA, weight 10):
  one row per asset the venue has (every USDⓈ-M margin asset, every base asset and every
  COIN-M margin coin of both markets' contracts, by name), with Binance's keys in its
  order. The venue has no spot wallet, no deposits and no withdrawals of its own (the
  operator funds the futures wallets, ``transfers.py``): ``free`` and the other amounts
  are ``"0"``, ``depositAllEnable`` and ``withdrawAllEnable`` false, ``networkList``
  empty; ``name`` is the code (the venue knows no other). ccxt reads ``coin``, ``name``,
  ``isLegalMoney``, ``trading`` and ``networkList`` (part 5 §2.1.1); with currencies
  fetched it takes no others from the markets, so every asset a market names is listed.
- ``margin/allPairs`` (MARKET_DATA: the key only, weight 1) and ``margin/isolated/allPairs``
  (USER_DATA, weight 10; its page asks for ``timestamp``): ``[]``, the venue has no margin
  pairs.

Two more that ccxt's ``binancecoinm`` reaches at its defaults: its ``defaultType`` is
``spot`` (inherited from its ``binance`` class), so ``fetch_trading_fees()`` asks spot's
``GET /sapi/v1/asset/tradeFee`` and ``fetch_my_liquidations()`` without a symbol asks the
margin wallet's ``GET /sapi/v1/margin/forceLiquidationRec``; Binance answers both 200, and
a 404 here would stop a bot that works there. Both USER_DATA, weight 1 (Binance's wallet and
margin pages):

- ``asset/tradeFee``: one row per spot symbol, and the venue lists none (``GET
  /api/v3/exchangeInfo``'s ``symbols`` is empty): ``[]``; a ``symbol`` sent names no spot
  symbol of the venue: ``-1121`` ``Invalid symbol.``
- ``margin/forceLiquidationRec``: the margin account's liquidations, a page of them
  (``{"rows": [...], "total": n}``); the venue has no margin account: ``{"rows": [], "total": 0}``,
  its LONG parameters (``startTime``, ``endTime``, ``current``, ``size``) read as every
  endpoint reads them (``-1102`` naming one that is not a number).

Security types and weights are Binance's (its wallet and margin pages); the checks are the
futures endpoints' own (``checks.authorize`` through ``PrivateRest.admit``), so an unsigned
or wrongly signed request gets the same codes as on ``/fapi``. Both market listeners serve
them, with the same answers: a user points a client's ``sapi`` and ``api`` base URLs at
either (docs/venue.md, "Start-up calls outside futures").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.payloads.asset_index import MARGIN_ASSETS
from tickerplant.protocol.request_weight import RequestWeight
from tickerplant.venue.auth.checks import Authorized, Security
from tickerplant.venue.domain.order_params import parse_int, refused
from tickerplant.venue.wire.endpoint import PrivateEndpoint
from tickerplant.venue.wire.rest import Accounts, PrivateRest

__all__ = ["coin_rows", "outside_rest", "venue_assets"]

_NOTHING = "0"  # an amount the venue never holds: Binance writes zero as "0" here


def venue_assets(instruments: Iterable[Instrument]) -> tuple[str, ...]:
    """Every asset the venue has: the USDⓈ-M wallet's margin assets, and each contract's
    base asset and margin asset (COIN-M's coins), sorted by name as Binance lists coins.
    COIN-M's quote ``USD`` is a unit of account, never held: not an asset."""
    names = set(MARGIN_ASSETS)
    for inst in instruments:
        names.update((inst.base_asset, inst.margin_asset))
    return tuple(sorted(names))


def coin_rows(assets: Sequence[str]) -> list[dict[str, Any]]:
    """``GET /sapi/v1/capital/config/getall``'s rows, Binance's keys in its order."""
    zero = _NOTHING
    rows = []
    for coin in assets:
        row: dict[str, Any] = {"coin": coin, "depositAllEnable": False, "withdrawAllEnable": False}
        row["name"] = coin
        row |= {"free": zero, "locked": zero, "freeze": zero, "withdrawing": zero}
        row |= {"ipoing": zero, "ipoable": zero, "storage": zero}
        row |= {"isLegalMoney": False, "trading": True, "networkList": []}
        rows.append(row)
    return rows


def outside_rest(
    market: Market, accounts: Accounts, weight: RequestWeight, assets: Sequence[str]
) -> PrivateRest:
    """A listener's surface for the calls outside futures: ``PrivateRest``'s admission
    (the IP's weight, then the checks of part 1 §10) over these routes alone. Nothing in
    it reads an account's state, so under ``--workers`` a gateway answers it itself."""
    rows = coin_rows(assets)

    def coins(authorized: Authorized, now_ms: int) -> Any:
        return rows

    def no_pairs(authorized: Authorized, now_ms: int) -> Any:
        return []

    def spot_fees(authorized: Authorized, now_ms: int) -> Any:
        if authorized.params.get("symbol"):  # the venue lists no spot symbol to name
            raise refused(-1121, "Invalid symbol.")
        return []

    def no_liquidations(authorized: Authorized, now_ms: int) -> Any:
        for name in ("startTime", "endTime", "current", "size"):  # LONGs, read as every endpoint's
            parse_int(authorized.params, name)
        return {"rows": [], "total": 0}

    liquidations = PrivateEndpoint(Security.USER_DATA, 1, no_liquidations)

    rest = PrivateRest(market, accounts, weight, ())
    rest.routes = {
        ("GET", "/sapi/v1/capital/config/getall"): PrivateEndpoint(Security.USER_DATA, 10, coins),
        ("GET", "/sapi/v1/margin/allPairs"): PrivateEndpoint(Security.MARKET_DATA, 1, no_pairs),
        ("GET", "/sapi/v1/margin/isolated/allPairs"): PrivateEndpoint(Security.USER_DATA, 10, no_pairs),
        ("GET", "/sapi/v1/asset/tradeFee"): PrivateEndpoint(Security.USER_DATA, 1, spot_fees),
        ("GET", "/sapi/v1/margin/forceLiquidationRec"): liquidations,
    }
    return rest
