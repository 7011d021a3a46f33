"""The basis over REST: `GET /futures/data/basis` on both markets' hosts (Binance's modular
SDKs' ``basis``), read from the klines so that it agrees with them to the unit.

Parameters as `openInterestHist`'s (``open_interest.hist_window``: ``period`` 5m … 1d,
``limit`` default 30 and at most 500, ``startTime``/``endTime``, only the last 30 days), with
``pair`` and ``contractType`` (``PERPETUAL``, ``CURRENT_QUARTER`` or ``NEXT_QUARTER``; a pair
without such a contract, -1121). A row at each of the period's boundaries up to now (the
first ``limit`` from a ``startTime``, else the last ``limit`` up to ``endTime``), priced at
that instant: ``futuresPrice`` the contract's last price then (the open of its kline that
opens at ``timestamp``, at the symbol's precision), ``indexPrice`` the pair's index then (the
open of its index price kline, 8 decimals). A boundary without both (before the contract's
listing, or a source with no index: a replay's, a relay's) has no row.

- ``basis`` = futures price − index price, 8 decimals;
- ``basisRate`` = basis / index price, rounded half away from zero to 4 decimals;
- ``annualizedBasisRate``: ``""`` for a perpetual; for a quarterly the rate as written times
  365 over the days left to its delivery, rounded alike (Binance's COIN-M example: 0.0024 ×
  365 / 31 days = ``"0.0283"``).

Keys in the order of Binance's pages: ``indexPrice``, ``contractType``, ``basisRate``,
``futuresPrice``, ``annualizedBasisRate``, ``basis``, ``pair``, ``timestamp``. Weight 0 on
USDⓈ-M and 1 on COIN-M, as their pages say.
"""

from __future__ import annotations

from typing import Any

from tickerplant.market.history.long_short import SCALE, ratio_units
from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.plant.view import MarketView
from tickerplant.market.units import DAY_MS, fixed, to_units
from tickerplant.protocol.later import joined
from tickerplant.protocol.market_data import MarketData, Method
from tickerplant.protocol.open_interest import Klines, hist_times, kline_rows, pair_contracts
from tickerplant.protocol.query_values import Params

__all__ = ["basis_routes"]

_TYPES = frozenset({"PERPETUAL", "CURRENT_QUARTER", "NEXT_QUARTER"})
_DECIMALS = 8  # the index, and the basis
_YEAR_DAYS = 365


def basis_routes(data: MarketData, index_klines: Klines) -> dict[str, Method]:
    """The basis' REST route on one market listener (``index_klines``: its
    `indexPriceKlines` answer)."""
    answers = Basis(data.view, data.methods["klines"].answer, index_klines)
    weight = 0 if data.market is Market.UM else 1
    return {"/futures/data/basis": Method(lambda params: weight, answers.answer)}


def _opens(made: Any, decimals: int) -> dict[int, int]:
    """A klines answer's open prices by open time, in units of ``decimals``."""
    return {k[0]: to_units(k[1], decimals) for k in kline_rows(made)}


class Basis:
    """`basis` (see the module's docstring), read from ``klines`` and ``index_klines``."""

    def __init__(self, view: MarketView, klines: Klines, index_klines: Klines) -> None:
        self.view = view
        self._klines = klines
        self._index = index_klines

    def answer(self, params: Params, now_ms: int) -> Any:
        views, contract = pair_contracts(self.view, params, _TYPES)
        inst = views[0].inst
        times, interval = hist_times(params, now_ms, closed_only=False)
        if not times:
            return []
        window = {"interval": interval, "startTime": str(times[0]), "endTime": str(times[-1]),
                  "limit": str(len(times))}  # fmt: skip
        futures = self._klines({"symbol": inst.symbol, **window}, now_ms)
        index = self._index({"pair": inst.pair, **window}, now_ms)

        def rows(futures: Any, index: Any) -> list[dict[str, Any]]:
            return self._rows(inst, contract, _opens(futures, _DECIMALS), _opens(index, _DECIMALS))

        return joined(futures, index, rows)

    @staticmethod
    def _rows(
        inst: Instrument, contract: str, futures: dict[int, int], index: dict[int, int]
    ) -> list[dict[str, Any]]:
        """The rows at the times both prices have (open prices by open time, 1e-8)."""
        out = []
        for t in sorted(futures.keys() & index.keys()):
            price, spot = futures[t], index[t]
            if spot <= 0:
                continue
            basis = price - spot
            rate = ratio_units(basis, spot)
            annualized = ""
            if inst.contract_type.value != "PERPETUAL":
                left_ms = inst.delivery_ms - t
                if left_ms <= 0:
                    continue
                annualized = fixed(ratio_units(rate * _YEAR_DAYS * DAY_MS, left_ms * SCALE), 4)
            out.append({
                "indexPrice": fixed(spot, _DECIMALS), "contractType": contract, "basisRate": fixed(rate, 4),
                "futuresPrice": fixed(price // 10 ** (_DECIMALS - inst.price_decimals), inst.price_decimals),
                "annualizedBasisRate": annualized, "basis": fixed(basis, _DECIMALS), "pair": inst.pair,
                "timestamp": t,
            })  # fmt: skip
        return out
