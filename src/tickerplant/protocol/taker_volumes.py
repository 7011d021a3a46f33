"""The takers' volumes over REST, read from the klines so that they agree with them to the
unit: USDⓈ-M's `GET /futures/data/takerlongshortRatio` (python-binance's
``futures_taker_longshort_ratio``) and COIN-M's `GET /futures/data/takerBuySellVol`
(Binance's COIN-M SDK's ``taker_buy_sell_volume``).

Both take `openInterestHist`'s parameters (``open_interest.hist_window``: ``period`` 5m … 1d,
``limit`` default 30 and at most 500, ``startTime``/``endTime``, only the last 30 days): a
row for each *closed* period, ``timestamp`` its open, the first ``limit`` from a
``startTime``, else the last ``limit`` up to ``endTime`` (default now). A cold past is made
in pieces, as the klines' (``later.py``).

- USDⓈ-M (``symbol``): ``{"buySellRatio", "buyVol", "sellVol", "timestamp"}`` (the order of
  Binance's page), ``buyVol`` the period's taker buy volume, ``sellVol`` the rest of its
  volume, both with 4 decimals as Binance writes them, the ratio buy / sell rounded half up
  to 4 decimals (``"0.0000"`` for a period with no taker sell).
- COIN-M (``pair``, ``contractType`` ``ALL``, ``PERPETUAL``, ``CURRENT_QUARTER`` or
  ``NEXT_QUARTER``, as `openInterestHist` takes them; ``ALL`` sums the pair's contracts):
  ``{"pair", "contractType", "takerBuyVol", "takerSellVol", "takerBuyVolValue",
  "takerSellVolValue", "timestamp"}`` (the order of Binance's page), the volumes in
  contracts, their values in the base asset with 4 decimals (cut, as Binance's example
  writes them): the klines' taker buy volume and taker buy base volume, and the rest of
  each.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tickerplant.market.history.long_short import ratio_units
from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.plant.view import MarketView
from tickerplant.market.units import fixed, to_units
from tickerplant.protocol.later import Later, joined
from tickerplant.protocol.market_data import MarketData, Method, required_symbol
from tickerplant.protocol.open_interest import CONTRACT_TYPES, Klines, hist_times, kline_rows, pair_contracts
from tickerplant.protocol.query_values import Params

__all__ = ["four", "taker_volume_routes"]

_BASE_DECIMALS = 8  # a COIN-M kline's base volume


def taker_volume_routes(data: MarketData) -> dict[str, Method]:
    """The takers' volumes' REST route on one market listener."""
    takers = TakerVolumes(data.view, data.methods["klines"].answer)
    if data.market is Market.UM:
        return {"/futures/data/takerlongshortRatio": Method(lambda params: 1, takers.ratio)}
    return {"/futures/data/takerBuySellVol": Method(lambda params: 1, takers.coin_m)}


def four(units: int, decimals: int) -> str:
    """An amount of ``decimals`` written with 4, cut toward zero (Binance's takers' volumes)."""
    if decimals <= 4:
        return fixed(units * 10 ** (4 - decimals), 4)
    cut = abs(units) // 10 ** (decimals - 4)  # toward zero, in integers
    return fixed(-cut if units < 0 else cut, 4)


class TakerVolumes:
    """Both markets' takers' volumes (see the module's docstring), read from ``klines``."""

    def __init__(self, view: MarketView, klines: Klines) -> None:
        self.view = view
        self._klines = klines

    def _read(self, inst: Instrument, times: range, interval: str, now_ms: int) -> Any:
        asked = {"symbol": inst.symbol, "interval": interval, "startTime": str(times[0]),
                 "endTime": str(times[-1]), "limit": str(len(times))}  # fmt: skip
        return self._klines(asked, now_ms)

    def ratio(self, params: Params, now_ms: int) -> Any:
        inst = required_symbol(self.view, params).inst
        times, interval = hist_times(params, now_ms, closed_only=True)
        if not times:
            return []
        qd = inst.qty_decimals

        def rows(made: Any) -> list[dict[str, Any]]:
            out = []
            for k in kline_rows(made):
                volume, buys = to_units(k[5], qd), to_units(k[9], qd)
                sells = volume - buys
                out.append({"buySellRatio": fixed(ratio_units(buys, sells), 4), "buyVol": four(buys, qd),
                            "sellVol": four(sells, qd), "timestamp": k[0]})  # fmt: skip
            return out

        made = self._read(inst, times, interval, now_ms)
        return made.then(rows) if isinstance(made, Later) else rows(made)

    def coin_m(self, params: Params, now_ms: int) -> Any:
        views, contract = pair_contracts(self.view, params, CONTRACT_TYPES)
        contracts = [v.inst for v in views]
        times, interval = hist_times(params, now_ms, closed_only=True)
        if not times:
            return []
        pair = contracts[0].pair

        def rows(answers: Sequence[Any]) -> list[dict[str, Any]]:
            sums: dict[int, list[int]] = {}  # open time -> volume, buys (contracts), base, base buys
            for made in answers:
                for k in kline_rows(made):
                    row = sums.setdefault(k[0], [0, 0, 0, 0])
                    row[0] += int(k[5])
                    row[1] += int(k[9])
                    row[2] += to_units(k[7], _BASE_DECIMALS)
                    row[3] += to_units(k[10], _BASE_DECIMALS)
            out = []
            for t in sorted(sums):
                volume, buys, base, base_buys = sums[t]
                out.append({
                    "pair": pair, "contractType": contract, "takerBuyVol": str(buys),
                    "takerSellVol": str(volume - buys), "takerBuyVolValue": four(base_buys, _BASE_DECIMALS),
                    "takerSellVolValue": four(base - base_buys, _BASE_DECIMALS), "timestamp": t,
                })  # fmt: skip
            return out

        # each contract's klines, made one after the other (a cold past in pieces)
        made: Any = []
        for inst in contracts:
            made = joined(made, self._read(inst, times, interval, now_ms), lambda a, b: [*a, b])
        return made.then(rows) if isinstance(made, Later) else rows(made)
