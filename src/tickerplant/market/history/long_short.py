"""The simulated market's long/short ratios, for `futures/data/globalLongShortAccountRatio`,
`topLongShortAccountRatio` and `topLongShortPositionRatio` on both markets: each a keyed
function of the seed, the kind, the symbol (COIN-M: the pair) and the time, as the past's
prices are, so every server of a seed answers the same figures at the same moment, past
or live.

**Kinds.** The share of accounts long among all traders (``global-account``), among the
top traders by margin (``top-account``), and the share of the top traders' positions that
is long (``top-position``). Crowds of small accounts in crypto futures lean long
(Binance's `globalLongShortAccountRatio` for BTCUSDT mostly reads 1–3); top traders sit
nearer even, their positions nearest (``_LEAN``).

**Path.** The long share is ``logistic(lean + Y(t))`` at each 5-minute boundary, ``Y`` the
sum of three keyed normals linear between knots (``draws.knotted``): slow (sd 0.45, knots
three days apart), middle (0.2, six hours) and fast (0.06, half an hour), so the ratio
drifts over days and wobbles within them. It is written with 4 decimals, as Binance
writes it: the long share in units of 1e-4, the short share its complement to 1, the
ratio long / short rounded half up to 4 decimals (a 2024 capture ccxt quotes:
``"longAccount":"0.4558"``, ``"shortAccount":"0.5442"``, ``"longShortRatio":"0.8376"``,
and 4558 / 5442 = 0.83756…)."""

from __future__ import annotations

import math

from tickerplant.market.history.draws import knotted, name_key
from tickerplant.market.units import DAY_MS, HOUR_MS, MINUTE_MS, fixed

__all__ = ["KINDS", "SCALE", "LongShortRatios", "ratio_text", "ratio_units"]

KINDS = ("global-account", "top-account", "top-position")
_LEAN = {"global-account": 0.55, "top-account": 0.25, "top-position": 0.1}  # logit of the median long share
_PARTS = ((1, 3 * DAY_MS, 0.45), (2, 6 * HOUR_MS, 0.2), (3, 30 * MINUTE_MS, 0.06))  # part, knot, sd
GRID_MS = 5 * MINUTE_MS  # the finest period the ratios are published at
SCALE = 10_000  # 4 decimals (``fixed(units, 4)``)


class LongShortRatios:
    """The ratios of one seed's simulated market (see the module's docstring)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def longs(self, kind: str, name: str, times: range) -> list[int]:
        """The long share at each of ``times`` (multiples of ``GRID_MS``), in 1e-4, within
        [1, 9999]: never all one side."""
        key = name_key(self.seed, "long-short", kind, name)
        total = [_LEAN[kind]] * len(times)
        for part, knot_ms, sd in _PARTS:
            for i, z in enumerate(knotted(key, part, times, knot_ms)):
                total[i] += sd * z
        return [min(SCALE - 1, max(1, round(SCALE / (1.0 + math.exp(-y))))) for y in total]


def ratio_text(long_units: int) -> tuple[str, str, str]:
    """(long share, short share, long / short) as Binance writes them, 4 decimals each."""
    short_units = SCALE - long_units
    return fixed(long_units, 4), fixed(short_units, 4), fixed(ratio_units(long_units, short_units), 4)


def ratio_units(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` (``denominator`` ≥ 0) in units of 1e-4, rounded half away
    from zero (half up for the shares and volumes, never negative), as Binance writes its
    `futures/data` ratios: the long/short ratios, the takers', the basis rate (0 for a zero
    ``denominator``)."""
    if not denominator:
        return 0
    units = (2 * abs(numerator) * SCALE + denominator) // (2 * denominator)
    return units if numerator >= 0 else -units
