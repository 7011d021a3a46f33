"""The simulated market's long/short ratios without sockets (market/history/long_short.py):
Binance's 4-decimal texts, a keyed function of the seed, kind, name and time."""

from __future__ import annotations

import itertools
from fractions import Fraction

from tickerplant.market.history.long_short import GRID_MS, KINDS, LongShortRatios, ratio_text
from tickerplant.market.units import DAY_MS

T0 = 1_795_000_000_000 - 1_795_000_000_000 % DAY_MS


def test_the_texts_are_binances_4_decimals_as_ccxt_quotes_them() -> None:
    assert ratio_text(4558) == ("0.4558", "0.5442", "0.8376")  # USDⓈ-M's capture
    assert ratio_text(7262) == ("0.7262", "0.2738", "2.6523")  # COIN-M's
    assert ratio_text(5000) == ("0.5000", "0.5000", "1.0000")
    assert ratio_text(1) == ("0.0001", "0.9999", "0.0001")
    assert ratio_text(9999) == ("0.9999", "0.0001", "9999.0000")
    for units in range(1, 10_000, 37):  # the ratio is long / short, rounded half up
        longs, shorts, ratio = ratio_text(units)
        exact = Fraction(units, 10_000 - units)
        assert abs(Fraction(ratio) - exact) <= Fraction(1, 20_000)
        assert Fraction(longs) + Fraction(shorts) == 1


def test_a_ratio_is_the_seeds_and_the_times_whatever_range_asks() -> None:
    times = range(T0 - 30 * DAY_MS, T0 + GRID_MS, GRID_MS)
    ratios = LongShortRatios(5)
    longs = ratios.longs("global-account", "BTCUSDT", times)
    assert all(1 <= u <= 9_999 for u in longs)
    assert max(longs) - min(longs) > 1_000  # it moves over a month
    assert max(abs(a - b) for a, b in itertools.pairwise(longs)) < 300  # smoothly
    part = range(times[1_000], times[1_010], GRID_MS)
    assert LongShortRatios(5).longs("global-account", "BTCUSDT", part) == longs[1_000:1_010]
    assert LongShortRatios(6).longs("global-account", "BTCUSDT", part) != longs[1_000:1_010]
    assert len({tuple(ratios.longs(kind, "BTCUSDT", part)) for kind in KINDS}) == 3
    assert ratios.longs("global-account", "ETHUSDT", part) != longs[1_000:1_010]
    # the crowd leans long, the top traders' positions nearest even
    mean = {kind: sum(ratios.longs(kind, "BTCUSDT", times)) / len(times) for kind in KINDS}
    assert mean["global-account"] > 5_500 and mean["global-account"] > mean["top-position"]
